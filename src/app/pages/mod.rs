//! One module per console area.
mod audit;
mod dashboard;
mod not_found;
mod signin;

pub use audit::AuditLog;
pub use dashboard::Dashboard;
pub use not_found::NotFound;
pub use signin::SignIn;
