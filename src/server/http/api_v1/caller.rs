//! Who is calling the management API. A middleware authenticates the bearer token (never a
//! cookie), applies the token's rate limit and adds the `RateLimit` headers to every answer;
//! handlers then turn the caller into the same `Authorized` the console's guard builds, for one
//! permission, so the services cannot tell the two edges apart. Denials are audited as in the
//! console.
use super::problem::{Kind, Problem};
use crate::model::api::TokenKind;
use crate::model::{Permission, Principal, Role};
use crate::server::auth::Authorized;
use crate::server::http::request_id::RequestId;
use crate::server::service::api_rate::RateState;
use crate::server::service::audit::{self, ApiCall, Entry, Outcome, RequestMeta};
use crate::server::service::token_auth::Caller;
use crate::server::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue};

/// An authenticated caller of the API, as the middleware leaves it for the handlers.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub caller: Caller,
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl ApiCaller {
    /// The caller may use `permission` (its token holds the scope, and a personal token's owner
    /// still has a role that grants it); otherwise the denial is audited and answered 403.
    pub async fn authorize(
        &self,
        state: &AppState,
        permission: Permission,
        what: &str,
    ) -> Result<Authorized, Problem> {
        let authorized = Authorized {
            principal: self.principal.clone(),
            permission,
            meta: self.meta.clone(),
        };
        if self.principal.can(permission) {
            return Ok(authorized);
        }
        let entry = Entry::new("access.denied", Outcome::Denied).details(serde_json::json!({
            "permission": permission.as_str(),
            "resource": what.chars().take(300).collect::<String>(),
        }));
        if let Err(e) = audit::record_alone(&state.db, &authorized.actor(), &self.meta, entry).await
        {
            tracing::error!(error = %e, "could not audit an API access denial");
        }
        let scope = crate::model::api::Scope::for_permission(permission)
            .map(|s| s.as_str())
            .unwrap_or("(none: console only)");
        Err(problem(
            state,
            Kind::Forbidden,
            format!(
                "This token may not {}; it needs the scope {scope}.",
                permission.describe()
            ),
        ))
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<ApiCaller>()
            .cloned()
            .ok_or_else(|| problem(state, Kind::Unauthenticated, "A bearer token is required."))
    }
}

/// A problem of this API, with the request's id as its instance.
pub fn problem(state: &AppState, kind: Kind, detail: impl Into<String>) -> Problem {
    Problem::new(&state.config.public_url, kind, detail)
        .with_instance(crate::server::http::request_id::current())
}

/// The token in `Authorization: Bearer <token>`, if that is what the header holds (the
/// management API, SCIM sources and Shared Signals receivers all authenticate this way).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The principal a token acts as: a service account holds exactly its token's scopes; a
/// personal token the scopes its owner's confirmed role still grants.
fn principal_of(caller: &Caller) -> Principal {
    let token = &caller.token;
    let (subject, role) = match token.kind {
        TokenKind::Service => (format!("sat:{}", token.id), Role::Admin),
        TokenKind::Personal => (
            format!("pat:{}", token.id),
            caller.owner_role.unwrap_or(Role::Auditor),
        ),
    };
    let scopes = token
        .scopes
        .iter()
        .map(|s| s.permission())
        .filter(|p| token.kind == TokenKind::Service || role.has(*p))
        .collect();
    Principal {
        subject,
        email: token.owner_email.clone(),
        name: token.name.clone(),
        role,
        scopes: Some(scopes),
    }
}

/// Authenticates and rate-limits every request to the protected part of the API.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(presented) = bearer(request.headers()).map(str::to_string) else {
        return problem(
            &state,
            Kind::Unauthenticated,
            "Send a token in the Authorization header: `Authorization: Bearer ght_...`.",
        )
        .into_response();
    };
    let now_ms = state.clock.now_ms();
    let caller = match state.tokens.authenticate(&presented, now_ms).await {
        Ok(Ok(caller)) => caller,
        Ok(Err(refusal)) => {
            return problem(&state, Kind::Unauthenticated, refusal.message()).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read an API token");
            return problem(
                &state,
                Kind::Unavailable,
                "Tokens cannot be checked right now; try again shortly.",
            )
            .into_response();
        }
    };
    let rate = state.api_rate.check(&caller.token.id, now_ms);
    if !rate.allowed {
        let mut res = problem(
            &state,
            Kind::RateLimited,
            format!(
                "This token made {} requests this minute, its limit; try again in {} s.",
                rate.limit, rate.reset_secs
            ),
        )
        .into_response();
        rate_headers(res.headers_mut(), rate);
        if let Ok(v) = HeaderValue::from_str(&rate.reset_secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let (mut parts, body) = request.into_parts();
    let mut meta = match RequestMeta::from_request_parts(&mut parts, &state).await {
        Ok(meta) => meta,
        Err(never) => match never {},
    };
    meta.api = Some(ApiCall {
        token_id: caller.token.id.clone(),
        token_kind: caller.token.kind.as_str(),
        request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
    });
    if parts.method == http::Method::GET && reads_personal_data(parts.uri.path()) {
        state.tokens.count_personal_read(&caller.token.id);
    }
    request = Request::from_parts(parts, body);
    let principal = principal_of(&caller);
    crate::server::http::request_id::note_principal(&principal.subject);
    request.extensions_mut().insert(ApiCaller {
        caller,
        principal,
        meta,
    });
    let mut res = next.run(request).await;
    rate_headers(res.headers_mut(), rate);
    res
}

/// Paths whose answers hold people's data, counted per token for privacy reviews.
fn reads_personal_data(path: &str) -> bool {
    [
        "/api/v1/users",
        "/api/v1/people",
        "/api/v1/devices",
        "/api/v1/groups",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
fn rate_headers(headers: &mut HeaderMap, rate: RateState) {
    let policy = format!("\"per-token\";q={};w=60", rate.limit);
    let now = format!("\"per-token\";r={};t={}", rate.remaining, rate.reset_secs);
    if let (Ok(p), Ok(n)) = (HeaderValue::from_str(&policy), HeaderValue::from_str(&now)) {
        headers.insert("ratelimit-policy", p);
        headers.insert("ratelimit", n);
    }
}
