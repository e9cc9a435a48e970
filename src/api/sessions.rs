//! Console sessions: who is signed in, and ending a session (administrators).
use crate::model::sessions::ConsoleSession;
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard, auth::guard::fail, service::console_sessions};

/// Open console sessions, newest first; the caller's own is marked.
#[server(prefix = "/api", endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<ConsoleSession>, AppError> {
    let (state, auth) = guard::require(Permission::ManageSessions).await?;
    let own = guard::own_session_key().await;
    let absolute = state.config.session_absolute.as_millis() as i64;
    console_sessions::list(&state.db, &auth, own.as_deref(), absolute)
        .await
        .map_err(fail)
}

/// Ends a console session: its next request finds it signed out. Audited.
#[server(prefix = "/api", endpoint = "sessions/end")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    let (state, auth) = guard::require_fresh(Permission::ManageSessions).await?;
    console_sessions::end(&state.db, &auth, &id)
        .await
        .map_err(fail)
}
