//! Keeping a console session's role true to the identity provider. The role is derived from the
//! person's groups with the role map in force on every request (`session::current`); the groups
//! themselves are asked of the provider again every `GATEHOUSE_ROLE_RECHECK_SECS` of activity
//! and at once before sensitive acts. When the provider no longer vouches for the person, or
//! their groups no longer map to a role, the session ends (audited).
use crate::model::{AppError, Principal};
use crate::server::auth::guard::Freshness;
use crate::server::auth::oidc::Recheck;
use crate::server::auth::session::{self, SignedIn};
use crate::server::service::audit::{Actor, RequestMeta};
use crate::server::service::console_sessions;
use crate::server::service::token_auth;
use crate::server::AppState;
use tower_sessions::Session;

/// While the provider cannot be reached, a session keeps its role for at most this many
/// re-check intervals after its last successful check; then requests get 503 until it answers.
const GRACE_INTERVALS: i64 = 2;
/// How long to wait before asking an unreachable provider again (seconds).
const RETRY_AFTER_SECS: i64 = 30;

pub async fn confirm_role(
    state: &AppState,
    session: &Session,
    mut signed_in: SignedIn,
    key: Option<&str>,
    meta: &RequestMeta,
    freshness: Freshness,
) -> Result<Principal, AppError> {
    let now = state.clock.now_secs();
    let every = state.config.role_recheck.as_secs() as i64;
    let age = now - signed_in.checked_at;
    if freshness == Freshness::Recent && age < every {
        return Ok(signed_in.principal);
    }
    let answer = state
        .oidc
        .recheck(
            &signed_in.principal.subject,
            signed_in.access_token.as_deref(),
            signed_in.refresh_token.as_deref(),
        )
        .await;
    let actor = Actor::of(&signed_in.principal);
    match answer {
        Ok(Recheck::Current {
            groups,
            access_token,
            refresh_token,
        }) => {
            if let Some(groups) = groups {
                signed_in.groups = groups;
            }
            signed_in.access_token = Some(access_token);
            signed_in.refresh_token = refresh_token;
            signed_in.checked_at = now;
            let Some(role) = state.config.oidc.role_for(&signed_in.groups) else {
                end(state, session, key, &actor, meta, "role_removed").await;
                lose_tokens(state, &actor, meta, &signed_in.principal.subject).await;
                return Err(AppError::Unauthenticated);
            };
            signed_in.principal.role = role;
            if let Err(e) =
                token_auth::owner_confirmed(&state.db, &signed_in.principal, now * 1000).await
            {
                tracing::warn!(error = %e, "could not record the confirmed role for personal tokens");
            }
            if let Err(e) = session::update(session, &signed_in).await {
                tracing::warn!(error = %e, "could not store the confirmed role");
            }
            if let Some(key) = key {
                if let Err(e) = console_sessions::confirmed(&state.db, key, role.as_str()).await {
                    tracing::warn!(error = %e, "could not record the role check");
                }
            }
            Ok(signed_in.principal)
        }
        Ok(Recheck::Refused(why)) => {
            tracing::info!(reason = %why, "identity provider refused a session's tokens");
            end(state, session, key, &actor, meta, "refused_by_provider").await;
            lose_tokens(state, &actor, meta, &signed_in.principal.subject).await;
            Err(AppError::Unauthenticated)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not confirm a session's role at the identity provider");
            let unavailable = || {
                AppError::Unavailable(
                    "Your role cannot be confirmed with the identity provider right now; try again shortly.".into(),
                )
            };
            if freshness == Freshness::Now || age >= every * GRACE_INTERVALS {
                return Err(unavailable());
            }
            // Ask again shortly rather than on every request while the provider is down.
            signed_in.checked_at = now - every + RETRY_AFTER_SECS;
            let _ = session::update(session, &signed_in).await;
            Ok(signed_in.principal)
        }
    }
}

async fn end(
    state: &AppState,
    session: &Session,
    key: Option<&str>,
    actor: &Actor,
    meta: &RequestMeta,
    reason: &str,
) {
    if let Some(key) = key {
        if let Err(e) = console_sessions::ended(&state.db, key, actor, meta, reason).await {
            tracing::error!(error = %e, "could not record the end of a session");
        }
    }
    let _ = session.flush().await;
}

/// The provider no longer vouches for the person: their personal tokens stop working too.
async fn lose_tokens(state: &AppState, actor: &Actor, meta: &RequestMeta, subject: &str) {
    let now_ms = state.clock.now_secs() * 1000;
    if let Err(e) = token_auth::owner_lost(&state.db, actor, meta, subject, now_ms).await {
        tracing::error!(error = %e, "could not revoke the personal tokens of a person without role");
    }
}
