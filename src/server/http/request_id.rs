//! A request id on every response (`X-Request-Id`), in every log line of the request (the
//! tracing span) and on every error page, so a person's report can be matched to the logs.
//! The span also carries the method, the route (the matched path, `/users/{id}`, never the
//! raw path, which can hold an enrollment token), and once known the principal's id, the
//! status and the latency; one `gatehouse::access` line per request closes it.
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::field::Empty;
use tracing::Instrument;

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The request being handled on this task.
#[derive(Clone)]
struct Current {
    id: String,
    span: tracing::Span,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// The id of the request being handled on this task, if any (for error pages).
pub fn current() -> Option<String> {
    CURRENT.try_with(|c| c.id.clone()).ok()
}

/// Names who is calling in the request's log lines: a person's subject at the identity
/// provider, `sat:`/`pat:` and a token's id, `scim:` and a source's id, `ssf:` and a receiver's
/// id, `key:` and a gateway key's id. Never a secret: ids only.
pub fn note_principal(id: &str) {
    let _ = CURRENT.try_with(|c| {
        c.span.record("principal", id);
    });
}

/// What the log calls a request that matched no route (static files, unknown pages).
pub(crate) const UNMATCHED: &str = "(unmatched)";

pub async fn attach(mut request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = uuid::Uuid::new_v4().simple().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    // Applied to each route (Router::layer), so the route is already matched here.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
        principal = Empty,
        status = Empty,
        latency_ms = Empty,
    );
    let current = Current {
        id: id.clone(),
        span: span.clone(),
    };
    let mut response = CURRENT
        .scope(current, next.run(request).instrument(span.clone()))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    // Hundredths of a millisecond: key verifications take well under one.
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(target: "gatehouse::access", "request failed");
        } else {
            tracing::info!(target: "gatehouse::access", "request done");
        }
    });
    response
}
