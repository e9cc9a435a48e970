//! Shared Signals (SSF 1.0), Gatehouse as transmitter: the discovery document and JWKS
//! (public), and under `/ssf` the stream management API a registered receiver calls with its
//! bearer token (never a cookie). Handlers call service/ssf_streams.rs; errors answer
//! `{"err", "description"}` as RFC 8935 does for push.
use crate::model::ssf::ReceiverView;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db;
use crate::server::http::api_v1::caller::bearer;
use crate::server::service::audit::RequestMeta;
use crate::server::service::{secrets, ssf_streams};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

/// The receiver calling, as the middleware leaves it for the handlers.
#[derive(Clone)]
pub struct SsfCaller {
    pub receiver: ReceiverView,
    pub auth: Authorized,
}

impl FromRequestParts<AppState> for SsfCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Response> {
        parts
            .extensions
            .get::<SsfCaller>()
            .cloned()
            .ok_or_else(unauthorized)
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    let managed = Router::new()
        .route(
            "/ssf/streams",
            get(read)
                .post(create)
                .patch(update)
                .put(replace)
                .delete(delete),
        )
        .route("/ssf/status", get(status).post(set_status))
        .route("/ssf/subjects:add", post(add_subject))
        .route("/ssf/subjects:remove", post(remove_subject))
        .route("/ssf/verify", post(verify))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/.well-known/ssf-configuration", get(configuration))
        .route("/.well-known/jwks.json", get(jwks))
        .merge(managed)
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error(status: StatusCode, err: &str, description: &str) -> Response {
    answer(status, json!({ "err": err, "description": description }))
}

fn unauthorized() -> Response {
    let mut res = error(
        StatusCode::UNAUTHORIZED,
        "authentication_failed",
        "Send the receiver's token: Authorization: Bearer ghr_...",
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"gatehouse-ssf\""),
    );
    res
}

fn failed(e: AppError) -> Response {
    let (status, err) = match &e {
        AppError::Request(_) | AppError::Invalid { .. } | AppError::Fields(_) => {
            (StatusCode::BAD_REQUEST, "invalid_request")
        }
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    };
    let description = match &e {
        AppError::Request(m) => m.clone(),
        other => other.to_string(),
    };
    error(status, err, &description)
}

/// Off until a signing key is configured: a receiver must not be told of a transmitter that
/// cannot sign.
fn no_key() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "This Gatehouse is not a Shared Signals transmitter (GATEHOUSE_SSF_SIGNING_KEY is not set)",
    )
}

async fn configuration(State(state): State<AppState>) -> Response {
    if state.config.outbox.ssf_keys.is_none() {
        return no_key();
    }
    answer(
        StatusCode::OK,
        ssf_streams::metadata(&state.config.public_url),
    )
}

async fn jwks(State(state): State<AppState>) -> Response {
    match &state.config.outbox.ssf_keys {
        Some(keys) => answer(StatusCode::OK, keys.jwks()),
        None => no_key(),
    }
}

/// Authenticates every management request by the receiver's token.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.config.outbox.ssf_keys.is_none() {
        return no_key();
    }
    let Some(token) = bearer(request.headers()) else {
        return unauthorized();
    };
    let receiver = match db::ssf::by_token(&state.db.pool, &secrets::hash_hex(token)).await {
        Ok(Some(r)) => r,
        Ok(None) => return unauthorized(),
        Err(e) => {
            tracing::error!(error = %e, "could not read a Shared Signals receiver");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Receivers cannot be checked right now; try again shortly.",
            );
        }
    };
    let (mut parts, body) = request.into_parts();
    let meta = match RequestMeta::from_request_parts(&mut parts, &state).await {
        Ok(meta) => meta,
        Err(never) => match never {},
    };
    let auth = ssf_streams::caller(&receiver, meta);
    crate::server::http::request_id::note_principal(&auth.principal.subject);
    let mut request = Request::from_parts(parts, body);
    request
        .extensions_mut()
        .insert(SsfCaller { receiver, auth });
    next.run(request).await
}

fn body_json(body: &Bytes) -> Result<Value, AppError> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::Request(format!("the body is not JSON ({e})")))
}

#[derive(Deserialize)]
struct StreamQuery {
    stream_id: Option<String>,
}

async fn read(State(state): State<AppState>, c: SsfCaller, q: Query<StreamQuery>) -> Response {
    let issuer = &state.config.public_url;
    match q.stream_id.as_deref() {
        None if c.receiver.configured => answer(
            StatusCode::OK,
            json!([ssf_streams::config(&c.receiver, issuer)]),
        ),
        None => answer(StatusCode::OK, json!([])),
        Some(id) => match ssf_streams::own(&c.receiver, Some(id)) {
            Ok(()) => answer(StatusCode::OK, ssf_streams::config(&c.receiver, issuer)),
            Err(e) => failed(e),
        },
    }
}

async fn create(State(state): State<AppState>, c: SsfCaller, body: Bytes) -> Response {
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let key = state.config.outbox.secrets_key.as_ref();
    match ssf_streams::create(&state.db, key, &c.receiver, &c.auth, &body).await {
        Ok(r) => answer(
            StatusCode::CREATED,
            ssf_streams::config(&r, &state.config.public_url),
        ),
        Err(e) => failed(e),
    }
}

async fn change(state: &AppState, c: &SsfCaller, body: &Bytes, replace: bool) -> Response {
    let body = match body_json(body) {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    let key = state.config.outbox.secrets_key.as_ref();
    let issuer = &state.config.public_url;
    match ssf_streams::update(&state.db, key, &c.receiver, &c.auth, issuer, &body, replace).await {
        Ok(r) => answer(StatusCode::OK, ssf_streams::config(&r, issuer)),
        Err(e) => failed(e),
    }
}

async fn update(State(state): State<AppState>, c: SsfCaller, body: Bytes) -> Response {
    change(&state, &c, &body, false).await
}

async fn replace(State(state): State<AppState>, c: SsfCaller, body: Bytes) -> Response {
    change(&state, &c, &body, true).await
}

async fn delete(State(state): State<AppState>, c: SsfCaller, q: Query<StreamQuery>) -> Response {
    match ssf_streams::delete(&state.db, &c.receiver, &c.auth, q.stream_id.as_deref()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e),
    }
}

async fn status(c: SsfCaller, q: Query<StreamQuery>) -> Response {
    match ssf_streams::own(&c.receiver, q.stream_id.as_deref()) {
        Ok(()) => answer(StatusCode::OK, ssf_streams::status(&c.receiver)),
        Err(e) => failed(e),
    }
}

async fn set_status(State(state): State<AppState>, c: SsfCaller, body: Bytes) -> Response {
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    match ssf_streams::set_status(&state.db, &c.receiver, &c.auth, &body).await {
        Ok(r) => answer(StatusCode::OK, ssf_streams::status(&r)),
        Err(e) => failed(e),
    }
}

async fn add_subject(c: SsfCaller, body: Bytes) -> Response {
    match body_json(&body).map(|b| ssf_streams::check_subject(&c.receiver, &b)) {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) | Err(e) => failed(e),
    }
}

async fn remove_subject(c: SsfCaller, body: Bytes) -> Response {
    match body_json(&body).map(|b| ssf_streams::check_subject(&c.receiver, &b)) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) | Err(e) => failed(e),
    }
}

async fn verify(State(state): State<AppState>, c: SsfCaller, body: Bytes) -> Response {
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(e) => return failed(e),
    };
    match ssf_streams::verify(&state.db, &c.receiver, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e),
    }
}
