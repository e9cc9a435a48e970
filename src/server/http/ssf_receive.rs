//! `POST /ssf/receive`: where every registered transmitter pushes its Security Event Tokens
//! (RFC 8935), Gatehouse as receiver. Public: a token is authenticated by its signature, never
//! by a cookie or the receivers' bearer tokens of `/ssf/*`. Accepted: 202, empty; refused: 400
//! `{"err", "description"}` with the RFC 8935 §2.4 code (service/ssf_receive.rs).
use crate::server::service::audit::RequestMeta;
use crate::server::service::ssf_receive::{self, Received};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

/// Bodies are read within the server's general limit; a token over 64 KiB is refused (and
/// audited) by the pipeline with an RFC 8935 error rather than a bare 413.
pub fn router() -> Router<AppState> {
    Router::new().route("/ssf/receive", post(receive))
}

fn error(status: StatusCode, err: &str, description: &str) -> Response {
    let body = json!({ "err": err, "description": description }).to_string();
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn receive(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let now = state.clock.now_ms();
    match ssf_receive::receive(&state.db, &meta, content_type, &body, now).await {
        Received::Accepted => StatusCode::ACCEPTED.into_response(),
        Received::Refused(r) => error(StatusCode::BAD_REQUEST, r.err, &r.description),
        Received::Unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The token could not be recorded now; send it again shortly.",
        ),
    }
}
