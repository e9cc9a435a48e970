//! The permission guard. Every server function and data handler gets its principal from here,
//! and denials are audited here, so no page or endpoint can forget either.
use crate::model::{AppError, Permission, Principal};
use crate::server::auth::recheck;
use crate::server::auth::session;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::console_sessions;
use crate::server::AppState;
use tower_sessions::Session;

/// Proof that the principal holds `permission`. Services that change data take one of these.
#[derive(Clone, Debug)]
pub struct Authorized {
    pub principal: Principal,
    pub permission: Permission,
    pub meta: RequestMeta,
}

impl Authorized {
    /// Who the audit log names: the person, or for an API call the token (`sat:`/`pat:` id)
    /// with its owner's email; a service account acts under no console role.
    pub fn actor(&self) -> Actor {
        let mut actor = Actor::of(&self.principal);
        let via_token = self
            .meta
            .api
            .as_ref()
            .is_some_and(|call| call.token_kind == "service");
        // A provisioning source (`scim:<id>`) and a Shared Signals transmitter (`sst:<id>`)
        // act under no console role either.
        let system = ["scim:", "sst:"]
            .iter()
            .any(|p| self.principal.subject.starts_with(p));
        if via_token || system {
            actor.role = None;
        }
        actor
    }
}

/// How fresh the role must be for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Confirmed at the identity provider within `GATEHOUSE_ROLE_RECHECK_SECS`.
    Recent,
    /// Confirmed now, before a sensitive act (MFA reset, merge, purge, key or secret issue,
    /// export, ending a session).
    Now,
}

/// Checks the session against a permission; audits and refuses when it is not held.
pub async fn authorize(
    state: &AppState,
    session: &Session,
    meta: RequestMeta,
    permission: Permission,
    what: &str,
) -> Result<Authorized, AppError> {
    authorize_with(state, session, meta, permission, what, Freshness::Recent).await
}

/// [`authorize`], with the role confirmed at the identity provider first.
pub async fn authorize_fresh(
    state: &AppState,
    session: &Session,
    meta: RequestMeta,
    permission: Permission,
    what: &str,
) -> Result<Authorized, AppError> {
    authorize_with(state, session, meta, permission, what, Freshness::Now).await
}

async fn authorize_with(
    state: &AppState,
    session: &Session,
    meta: RequestMeta,
    permission: Permission,
    what: &str,
    freshness: Freshness,
) -> Result<Authorized, AppError> {
    let Some(signed_in) = session::current(session, state).await else {
        return Err(AppError::Unauthenticated);
    };
    let key = session::id(session).map(|id| console_sessions::key(&id));
    if let Some(key) = &key {
        if console_sessions::is_ended(&state.db, key)
            .await
            .map_err(crate::server::internal)?
        {
            let _ = session.flush().await;
            return Err(AppError::Unauthenticated);
        }
    }
    let principal =
        recheck::confirm_role(state, session, signed_in, key.as_deref(), &meta, freshness).await?;
    crate::server::http::request_id::note_principal(&principal.subject);
    if principal.can(permission) {
        return Ok(Authorized {
            principal,
            permission,
            meta,
        });
    }
    let actor = Actor::of(&principal);
    let entry = Entry::new("access.denied", Outcome::Denied).details(serde_json::json!({
        "permission": permission.as_str(),
        "resource": what.chars().take(300).collect::<String>(),
    }));
    if let Err(e) = audit::record_alone(&state.db, &actor, &meta, entry).await {
        tracing::error!(error = %e, "could not audit an access denial");
    }
    Err(AppError::Forbidden(permission.describe().to_string()))
}

/// For server functions: reads the request's session and metadata, then [`authorize`]s.
/// On failure the HTTP status of the server function's response is set to match the error.
pub async fn require(permission: Permission) -> Result<(AppState, Authorized), AppError> {
    require_with(permission, Freshness::Recent).await
}

/// [`require`] for sensitive acts: the role is confirmed at the identity provider first.
pub async fn require_fresh(permission: Permission) -> Result<(AppState, Authorized), AppError> {
    require_with(permission, Freshness::Now).await
}

async fn require_with(
    permission: Permission,
    freshness: Freshness,
) -> Result<(AppState, Authorized), AppError> {
    let result = async {
        let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Internal)?;
        let (session, meta) = leptos_axum::extract::<(Session, RequestMeta)>()
            .await
            .map_err(|_| AppError::Internal)?;
        let name = server_fn_name();
        let authorized =
            authorize_with(&state, &session, meta, permission, &name, freshness).await?;
        Ok((state, authorized))
    }
    .await;
    result.map_err(fail)
}

/// The hashed id of the caller's console session (server functions only).
pub async fn own_session_key() -> Option<String> {
    let session = leptos_axum::extract::<Session>().await.ok()?;
    session::id(&session).map(|id| console_sessions::key(&id))
}

/// Sets the response status for an error returned by a server function, and passes it on.
pub fn fail(error: AppError) -> AppError {
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(error.status()) {
            res.set_status(status);
        }
    }
    error
}

fn server_fn_name() -> String {
    leptos::prelude::use_context::<http::request::Parts>()
        .map(|p| p.uri.path().to_string())
        .unwrap_or_default()
}
