use crate::model::{AppError, Principal};
use leptos::prelude::*;

/// The signed-in person, or `None` when signed out. Needs no permission: it only tells the
/// caller about themselves.
#[server(prefix = "/api", endpoint = "me")]
pub async fn current_principal() -> Result<Option<Principal>, AppError> {
    use crate::server::auth::session;
    let state = use_context::<crate::server::AppState>().ok_or(AppError::Internal)?;
    let s = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|_| AppError::Internal)?;
    Ok(session::current(&s, &state).await.map(|s| s.principal))
}

/// Whether the identity provider has been reached (for the sign-in page). Public.
#[server(prefix = "/api", endpoint = "idp_status")]
pub async fn idp_reachable() -> Result<bool, AppError> {
    let state = use_context::<crate::server::AppState>().ok_or(AppError::Internal)?;
    if state.oidc.is_ready() {
        return Ok(true);
    }
    Ok(state.oidc.discover().await.is_ok())
}
