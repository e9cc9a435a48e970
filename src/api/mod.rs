//! Server functions: the browser's API. Each one names its permission through the guard, then
//! calls a domain service. Nothing else happens here.
pub mod apps;
pub mod audit;
pub mod audit_sinks;
pub mod groups;
pub mod jobs;
pub mod provisioning;
pub mod revocations;
pub mod session;
pub mod sessions;
pub mod signal_transmitters;
pub mod signals;
pub mod sources;
pub mod support;
pub mod system;
pub mod tokens;
pub mod users;
pub mod webhooks;
