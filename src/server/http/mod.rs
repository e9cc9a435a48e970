//! HTTP edges: sign-in routes, health probes, the page guard, security headers.
pub mod api_v1;
pub mod auth_routes;
pub mod client_ip;
pub mod csv;
pub mod enroll;
pub mod exports;
pub mod headers;
pub mod health;
pub mod imports;
pub mod keys_api;
pub mod limits;
pub mod meta;
pub mod pages;
pub mod request_id;
pub mod scim;
pub mod ssf;
pub mod ssf_receive;
