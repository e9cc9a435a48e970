//! Authentication (OIDC sign-in, sessions) and authorization (the permission guard).
pub mod guard;
pub mod oidc;
pub mod session;

pub use guard::{authorize, require, Authorized};
