//! Authentication (OIDC sign-in, sessions) and authorization (the permission guard).
pub mod guard;
pub mod oidc;
pub mod recheck;
pub mod session;

pub use guard::{authorize, authorize_fresh, require, require_fresh, Authorized};
