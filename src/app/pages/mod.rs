//! One module per console area.
mod audit;
mod dashboard;
mod devices;
mod guid;
mod guids;
mod import;
mod not_found;
mod signin;
mod support;
mod user_detail;
mod user_form;
mod user_new;
mod users;

pub use audit::AuditLog;
pub use dashboard::Dashboard;
pub use devices::Devices;
pub use guid::GuidPage;
pub use guids::Guids;
pub use import::{ImportUsers, JobPage};
pub use not_found::NotFound;
pub use signin::SignIn;
pub use support::SupportDesk;
pub use user_detail::UserDetailPage;
pub use user_new::NewUser;
pub use users::Users;
