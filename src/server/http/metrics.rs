//! `/metrics` (issue 17): on the main listener behind `GATEHOUSE_METRICS_TOKEN`, alone on the
//! private listener of `GATEHOUSE_METRICS_BIND`; and the layer that counts every request by
//! route (the matched path: a raw path can hold an enrollment token), method and status.
use crate::server::http::request_id::UNMATCHED;
use crate::server::metrics::{Metrics, CONTENT_TYPE};
use crate::server::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Counts and times each request. Applied per route (`Router::layer`), so the route is matched
/// here; the fallback (static files, unknown paths) is `(unmatched)`, as in the logs.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics.note_request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The standard methods by name, any other as `other`: a client inventing methods must not
/// add series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `/metrics` on the main listener: only with `Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>`;
/// without a configured token it does not exist (404).
pub async fn with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics.token else {
        return (StatusCode::NOT_FOUND, "Not found\n").into_response();
    };
    let presented = crate::server::http::api_v1::caller::bearer(&headers);
    if !presented.is_some_and(|p| token_matches(p, token.expose())) {
        let mut res = (
            StatusCode::UNAUTHORIZED,
            "Send Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>\n",
        )
            .into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gatehouse metrics\""),
        );
        return res;
    }
    exposition(&state).await
}

/// The private listener's only route: no authentication, the address is the protection.
pub fn private_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

async fn open(State(state): State<AppState>) -> Response {
    exposition(&state).await
}

async fn exposition(state: &AppState) -> Response {
    let body = state.metrics.render(&state.db).await;
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Compares digests in constant time: neither the token's bytes nor its length show in the
/// time taken.
fn token_matches(presented: &str, expected: &str) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    presented.as_slice().ct_eq(expected.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::middleware;
    use tower::ServiceExt;

    async fn enroll() -> &'static str {
        "ok"
    }

    #[tokio::test]
    async fn routes_are_matched_paths_and_a_token_in_the_path_never_shows() {
        let metrics = Arc::new(Metrics::new());
        let app = Router::new()
            .route("/enroll/{token}", get(enroll))
            .layer(middleware::from_fn_with_state(metrics.clone(), track));
        for path in ["/enroll/secret-token-123", "/nowhere/secret-token-456"] {
            app.clone()
                .oneshot(
                    http::Request::get(path)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
        }
        let text = metrics.encode();
        assert!(!text.contains("secret-token"), "{text}");
        assert!(
            text.contains(
                "gatehouse_http_requests_total{route=\"/enroll/{token}\",method=\"GET\",status=\"200\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gatehouse_http_requests_total{route=\"(unmatched)\",method=\"GET\",status=\"404\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gatehouse_http_request_duration_seconds_count{route=\"/enroll/{token}\",method=\"GET\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::CONNECT), "other");
    }

    #[test]
    fn only_the_whole_token_matches() {
        let token = "0123456789abcdef0123456789abcdef";
        assert!(token_matches(token, token));
        assert!(!token_matches("0123456789abcdef0123456789abcdee", token));
        assert!(!token_matches("0123456789abcdef", token));
        assert!(!token_matches("", token));
        assert!(!token_matches(&format!("{token}0"), token));
    }
}
