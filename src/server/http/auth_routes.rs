//! `/login`, `/auth/callback`, `/logout`: the OpenID Connect sign-in and sign-out.
use crate::model::Principal;
use crate::server::auth::oidc::OidcError;
use crate::server::auth::session::{self, SignedIn};
use crate::server::http::pages::{encode, plain_page};
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Deserialize)]
pub struct LoginParams {
    return_to: Option<String>,
}

/// Only local paths, so the sign-in cannot be turned into an open redirect.
fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.starts_with("/login") =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<LoginParams>,
) -> Response {
    let return_to = safe_return_to(params.return_to.as_deref());
    if session::current(&session, state.timeouts()).await.is_some() {
        return Redirect::to(&return_to).into_response();
    }
    match state.oidc.begin(return_to.clone()).await {
        Ok((url, pending)) => {
            if let Err(e) = session::set_pending(&session, &pending).await {
                tracing::error!(error = %e, "could not store the pending sign-in");
                return plain_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sign-in failed",
                    "Could not start the sign-in; please try again.",
                    Some(("/signin", "Try again")),
                );
            }
            Redirect::to(&url).into_response()
        }
        Err(_) => Redirect::to(&format!(
            "/signin?error=idp_unreachable&return_to={}",
            encode(&return_to)
        ))
        .into_response(),
    }
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why a sign-in did not complete: the audit reason code and what the person is told.
struct Failure {
    reason: &'static str,
    message: String,
}

fn failure(reason: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        reason,
        message: message.into(),
    }
}

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Query(params): Query<CallbackParams>,
) -> Response {
    match complete_sign_in(&state, &session, &meta, params).await {
        Ok(response) => response,
        Err(f) => {
            let _ = session.flush().await;
            let entry = Entry::new("auth.sign_in", Outcome::Failed)
                .details(serde_json::json!({ "reason": f.reason, "message": f.message }));
            if let Err(e) = audit::record_alone(&state.db, &Actor::default(), &meta, entry).await {
                tracing::error!(error = %e, "could not audit a failed sign-in");
            }
            plain_page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                &f.message,
                Some(("/login", "Try signing in again")),
            )
        }
    }
}

async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    params: CallbackParams,
) -> Result<Response, Failure> {
    let pending = session::take_pending(session).await.ok_or_else(|| {
        failure("no_pending_sign_in", "This sign-in response does not belong to a sign-in started in this browser, or it was already used.")
    })?;
    if let Some(error) = params.error {
        let detail = params.error_description.unwrap_or_default();
        return Err(failure(
            "provider_error",
            format!("The identity provider refused the sign-in: {error} {detail}")
                .trim()
                .to_string(),
        ));
    }
    let returned_state = params
        .state
        .ok_or_else(|| failure("missing_state", "The sign-in response carried no state."))?;
    if !constant_time_eq(returned_state.as_bytes(), pending.state.as_bytes()) {
        return Err(failure(
            "state_mismatch",
            "The sign-in response does not match the sign-in that was started (state mismatch).",
        ));
    }
    if let Some(iss) = params.iss {
        if iss.trim_end_matches('/') != state.oidc.issuer() {
            return Err(failure(
                "issuer_mismatch",
                "The sign-in response came from an unexpected issuer.",
            ));
        }
    }
    let code = params
        .code
        .ok_or_else(|| failure("missing_code", "The sign-in response carried no code."))?;
    let identity = state
        .oidc
        .complete(&pending, code)
        .await
        .map_err(|e| match e {
            OidcError::Unreachable => failure(
                "idp_unreachable",
                "The identity provider is unreachable; please try again shortly.",
            ),
            OidcError::CodeRejected(d) => failure(
                "code_rejected",
                format!("The identity provider did not accept the sign-in code ({d})."),
            ),
            OidcError::InvalidIdToken(d) => failure(
                "invalid_id_token",
                format!("The identity token could not be verified ({d})."),
            ),
            OidcError::Incomplete(d) => failure(
                "incomplete_identity",
                format!("The identity provider sent an incomplete identity ({d})."),
            ),
        })?;

    let Some(role) = state.config.oidc.role_for(&identity.groups) else {
        let actor = Actor {
            subject: Some(identity.subject.clone()),
            email: Some(identity.email.clone()),
            role: None,
        };
        let entry = Entry::new("auth.sign_in", Outcome::Denied)
            .details(serde_json::json!({ "reason": "no_role", "groups": identity.groups }));
        if let Err(e) = audit::record_alone(&state.db, &actor, meta, entry).await {
            tracing::error!(error = %e, "could not audit a sign-in without role");
        }
        let _ = session.flush().await;
        let message = format!(
            "You signed in as {}, but your account has no Gatehouse role. Ask an administrator to add you to one of the groups mapped to a role.",
            identity.email
        );
        return Ok(plain_page(
            StatusCode::FORBIDDEN,
            "No access to Gatehouse",
            &message,
            None,
        ));
    };

    let principal = Principal {
        subject: identity.subject,
        email: identity.email,
        name: identity.name,
        role,
    };
    let now = chrono::Utc::now().timestamp();
    let signed_in = SignedIn {
        principal: principal.clone(),
        signed_in_at: now,
        last_seen: now,
        id_token: identity.id_token,
    };
    let actor = Actor {
        subject: Some(principal.subject.clone()),
        email: Some(principal.email.clone()),
        role: Some(role),
    };
    let entry = Entry::new("auth.sign_in", Outcome::Success)
        .details(serde_json::json!({ "groups": identity.groups }));
    let email = principal.email.trim().to_lowercase();
    // Placeholder until the sign-in change carries the ID token's claim: `identity.email_verified`.
    let email_verified = true;
    crate::server::service::support::record_sign_in(
        &state.db,
        &actor,
        meta,
        entry,
        &email,
        email_verified,
        role,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "could not audit a sign-in");
        failure(
            "internal",
            "Sign-in could not be recorded; please try again.",
        )
    })?;
    session::establish(session, &signed_in).await.map_err(|e| {
        tracing::error!(error = %e, "could not establish the session");
        failure(
            "internal",
            "Sign-in could not be completed; please try again.",
        )
    })?;
    Ok(Redirect::to(&pending.return_to).into_response())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sign-out is a POST (from the console's sign-out button) so another site cannot sign people out.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
) -> Response {
    let signed_out_url = format!("{}/signin?signed_out=1", state.config.public_url);
    let Some(signed_in) = session::current(&session, state.timeouts()).await else {
        let _ = session.flush().await;
        return Redirect::to("/signin?signed_out=1").into_response();
    };
    let p = &signed_in.principal;
    let actor = Actor {
        subject: Some(p.subject.clone()),
        email: Some(p.email.clone()),
        role: Some(p.role),
    };
    if let Err(e) = audit::record_alone(
        &state.db,
        &actor,
        &meta,
        Entry::new("auth.sign_out", Outcome::Success),
    )
    .await
    {
        tracing::error!(error = %e, "could not audit a sign-out");
    }
    let _ = session.flush().await;
    match state.oidc.logout_url(&signed_in.id_token, &signed_out_url) {
        Some(url) => Redirect::to(&url).into_response(),
        None => Redirect::to("/signin?signed_out=1").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_is_local_only() {
        assert_eq!(safe_return_to(Some("/audit?x=1")), "/audit?x=1");
        assert_eq!(safe_return_to(Some("//evil.example/")), "/");
        assert_eq!(safe_return_to(Some("https://evil.example/")), "/");
        assert_eq!(safe_return_to(Some("/\\evil.example")), "/");
        assert_eq!(safe_return_to(Some("/login")), "/");
        assert_eq!(safe_return_to(None), "/");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
