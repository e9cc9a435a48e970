//! Console sessions as administrators see them.
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// SHA-256 of the session id: names the session without being able to use it.
    pub id: String,
    pub subject: String,
    pub email: String,
    pub role: String,
    /// Unix milliseconds.
    pub signed_in_at: i64,
    /// When the role was last confirmed at the identity provider (Unix milliseconds).
    pub last_checked_at: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// This is the viewer's own session.
    pub current: bool,
}
