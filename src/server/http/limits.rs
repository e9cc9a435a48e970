//! Request bodies are read up to a limit before any handler runs: an oversized body answers 413
//! and a body that cannot be read 400 on every route, and neither reaches a handler (which would
//! report it as a server error). Routes with a larger allowance (the CSV import) set their own.
use crate::server::http::pages::plain_page;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use http_body_util::BodyExt;

/// Server functions and forms carry small documents.
pub const MAX_BODY: usize = 256 * 1024;

/// Paths that stream a larger upload and enforce their own limit.
fn own_limit(path: &str) -> Option<usize> {
    (path == "/users/import" || path == "/api/v1/jobs/user-import")
        .then_some(crate::server::http::imports::MAX_UPLOAD)
}

pub async fn limit_body(request: Request, next: Next) -> Response {
    let limit = own_limit(request.uri().path()).unwrap_or(MAX_BODY);
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    if own_limit(request.uri().path()).is_some() {
        // Streamed by its handler within the same limit.
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(limit),
        Err(_) => {
            return plain_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The request body could not be read.",
                None,
            )
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large(limit: usize) -> Response {
    plain_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request too large",
        &format!(
            "The request is larger than this address accepts ({} KiB).",
            limit / 1024
        ),
        None,
    )
}
