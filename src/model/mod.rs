//! Types shared by the server and the browser. Nothing here touches I/O.
pub mod access;
pub mod api;
pub mod apps;
pub mod audit;
pub mod audit_sinks;
pub mod error;
pub mod groups;
pub mod jobs;
pub mod provisioning;
pub mod reconcile;
pub mod revocations;
pub mod sessions;
pub mod sources;
pub mod ssf;
pub mod support;
pub mod system;
pub mod time;
pub mod users;
pub mod webhooks;

pub use access::{Permission, Principal, Role};
pub use error::AppError;
