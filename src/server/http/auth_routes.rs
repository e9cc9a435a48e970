//! `/login`, `/auth/callback`, `/logout`: the OpenID Connect sign-in and sign-out.
use crate::model::access::page_permission;
use crate::model::Principal;
use crate::server::auth::oidc::OidcError;
use crate::server::auth::session::{self, SignedIn};
use crate::server::http::pages::{encode, plain_page};
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::token_auth;
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

/// Where to go after signing in: only a console page of this site. The value is resolved as a
/// URL against the public URL, the way a browser would (backslashes, control characters, dot
/// segments and encodings included), and kept only if the origin is unchanged and the path is a
/// page (never an export, an API call, or the sign-in routes themselves).
fn safe_return_to(raw: Option<&str>, public_url: &str) -> String {
    let fallback = || "/".to_string();
    let (Some(raw), Ok(base)) = (raw, url::Url::parse(&format!("{public_url}/"))) else {
        return fallback();
    };
    if raw.chars().any(|c| c.is_control()) || !raw.starts_with('/') {
        return fallback();
    }
    let Ok(target) = base.join(raw) else {
        return fallback();
    };
    if target.origin() != base.origin() || target.username() != "" || target.password().is_some() {
        return fallback();
    }
    let path = target.path();
    let last = path.rsplit('/').next().unwrap_or_default();
    if page_permission(path).is_none() || last.contains('.') {
        return fallback();
    }
    match target.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<LoginParams>,
) -> Response {
    let return_to = safe_return_to(params.return_to.as_deref(), &state.config.public_url);
    if session::current(&session, &state).await.is_some() {
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
    // Only a callback answering a sign-in this browser started may touch the session or write
    // to the audit log; anything else (a cross-site GET, a replay, noise) is refused quietly.
    let Some(pending) = session::take_pending(&session).await else {
        return refused_page(
            "This sign-in response does not belong to a sign-in started in this browser, or it was already used.",
        );
    };
    let state_matches = params
        .state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s.as_bytes(), pending.state.as_bytes()));
    if !state_matches {
        return refused_page(
            "The sign-in response does not match the sign-in that was started (state mismatch).",
        );
    }
    match complete_sign_in(&state, &session, &meta, pending, params).await {
        Ok(response) => response,
        Err(f) => {
            let _ = session.flush().await;
            let client = meta
                .client_ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
            let limited = client.is_some_and(|ip| {
                let limited = state
                    .sign_in_failures
                    .is_limited(&ip, crate::server::db::now_ms());
                state.sign_in_failures.fail(ip, crate::server::db::now_ms());
                limited
            });
            if limited {
                return plain_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Sign-in failed",
                    "Too many failed sign-ins from this address; wait a minute and try again.",
                    None,
                );
            }
            let entry = Entry::new("auth.sign_in", Outcome::Failed).details(
                serde_json::json!({ "reason": f.reason, "message": bounded(&f.message, 300) }),
            );
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

fn refused_page(message: &str) -> Response {
    plain_page(
        StatusCode::BAD_REQUEST,
        "Sign-in failed",
        message,
        Some(("/login", "Try signing in again")),
    )
}

/// At most `max` characters of text that came from a request.
fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    pending: crate::server::auth::oidc::PendingSignIn,
    params: CallbackParams,
) -> Result<Response, Failure> {
    if let Some(error) = params.error {
        let detail = params.error_description.unwrap_or_default();
        return Err(failure(
            "provider_error",
            format!(
                "The identity provider refused the sign-in: {} {}",
                bounded(&error, 100),
                bounded(&detail, 200)
            )
            .trim()
            .to_string(),
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
        let entry = Entry::new("auth.sign_in", Outcome::Denied).details(
            serde_json::json!({ "reason": "no_role", "groups": bounded_groups(&identity.groups) }),
        );
        if let Err(e) = audit::record_alone(&state.db, &actor, meta, entry).await {
            tracing::error!(error = %e, "could not audit a sign-in without role");
        }
        let now_ms = state.clock.now_secs() * 1000;
        if let Err(e) =
            token_auth::owner_lost(&state.db, &actor, meta, &identity.subject, now_ms).await
        {
            tracing::error!(error = %e, "could not revoke the personal tokens of a person without role");
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
        scopes: None,
    };
    let now = state.clock.now_secs();
    let signed_in = SignedIn {
        principal: principal.clone(),
        signed_in_at: now,
        last_seen: now,
        id_token: identity.id_token,
        groups: identity.groups.clone(),
        access_token: Some(identity.access_token),
        refresh_token: identity.refresh_token,
        checked_at: now,
    };
    let actor = Actor {
        subject: Some(principal.subject.clone()),
        email: Some(principal.email.clone()),
        role: Some(role),
    };
    let entry = Entry::new("auth.sign_in", Outcome::Success)
        .details(serde_json::json!({ "groups": bounded_groups(&identity.groups) }));
    let email = principal.email.trim().to_lowercase();
    crate::server::service::support::record_sign_in(
        &state.db,
        &actor,
        meta,
        entry,
        &email,
        identity.email_verified,
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
    if let Err(e) = token_auth::owner_confirmed(&state.db, &principal, now * 1000).await {
        tracing::error!(error = %e, "could not record the confirmed role for personal tokens");
    }
    let session_id = session::establish(session, &signed_in).await.map_err(|e| {
        tracing::error!(error = %e, "could not establish the session");
        failure(
            "internal",
            "Sign-in could not be completed; please try again.",
        )
    })?;
    let key = crate::server::service::console_sessions::key(&session_id);
    if let Err(e) =
        crate::server::service::console_sessions::started(&state.db, &key, &actor, meta).await
    {
        tracing::error!(error = %e, "could not record the console session");
    }
    Ok(Redirect::to(&pending.return_to).into_response())
}

/// The groups as stored in the audit log: at most 50, each at most 200 characters.
fn bounded_groups(groups: &[String]) -> Vec<String> {
    groups.iter().take(50).map(|g| bounded(g, 200)).collect()
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
    let Some(signed_in) = session::current(&session, &state).await else {
        let _ = session.flush().await;
        return Redirect::to("/signin?signed_out=1").into_response();
    };
    let actor = Actor::of(&signed_in.principal);
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
    if let Some(id) = session::id(&session) {
        let key = crate::server::service::console_sessions::key(&id);
        let _ = crate::server::service::console_sessions::ended(
            &state.db,
            &key,
            &actor,
            &meta,
            "signed_out",
        )
        .await;
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
    fn return_to_is_a_page_of_this_site_only() {
        let base = "https://gatehouse.example.com";
        let ok = |raw: &str| safe_return_to(Some(raw), base);
        assert_eq!(ok("/audit?x=1"), "/audit?x=1");
        assert_eq!(ok("/users/u_1"), "/users/u_1");
        assert_eq!(ok("/"), "/");
        // Other sites, however spelled: browsers normalise all of these to another origin.
        for evil in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n//evil.example",
            "/%09/evil.example",
            "/%5c%5cevil.example",
            "///evil.example",
            "/.//evil.example",
            "/users/..//evil.example",
            "https:evil.example",
            "javascript:alert(1)",
            " /audit",
            "/@evil.example",
        ] {
            let got = ok(evil);
            assert!(
                got.starts_with('/') && !got.starts_with("//") && !got.contains("evil.example")
                    || got == "/",
                "{evil:?} gave {got:?}"
            );
            assert!(
                url::Url::parse(base).unwrap().join(&got).unwrap().origin()
                    == url::Url::parse(base).unwrap().origin(),
                "{evil:?} leaves the site as {got:?}"
            );
        }
        // Not pages: the sign-in routes, exports, API calls, unknown paths.
        for not_page in [
            "/login",
            "/logout",
            "/auth/callback?code=x",
            "/users/export.csv?q=a",
            "/audit/export.ndjson",
            "/api/users/list",
            "/enroll/abc",
            "/nowhere",
        ] {
            assert_eq!(ok(not_page), "/", "{not_page}");
        }
        assert_eq!(safe_return_to(None, base), "/");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
