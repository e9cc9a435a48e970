//! Baseline security headers on every response. HTML pages rendered by Leptos set their own
//! Content-Security-Policy with a per-response nonce (see `app::shell`); everything else gets a
//! policy that allows nothing.
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderValue};

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_asset = is_static_asset(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if state.config.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // Pages, server function answers and exports carry personal data: no cache may keep them.
    // Only the built assets (content-hashed by name or public) may be cached.
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        );
    }
    response
}

/// The built CSS, JS and wasm, and the icon: public, no personal data.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

/// GET routes that do something beyond showing a page (downloads of personal data that are
/// audited): started only from this site, never from a link elsewhere or a redirect chain
/// through another site.
fn is_side_effecting_get(path: &str) -> bool {
    path.ends_with("/export.csv") || path.ends_with("/export.ndjson")
}

/// The policy for a Leptos-rendered page with this nonce.
pub fn page_csp(nonce: &str, issuer_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self' {issuer_origin}"
    )
}

/// `scheme://host:port` of a URL, for CSP source lists.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

/// Refuses state-changing requests that a browser marks as coming from another site
/// (`Sec-Fetch-Site`), a second line behind SameSite=Lax cookies. Non-browser clients do not
/// send the header and are unaffected.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    let site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let cross = matches!(site, Some("cross-site") | Some("same-site"));
    if cross && (!safe || is_side_effecting_get(request.uri().path())) {
        return crate::server::http::pages::plain_page(
            http::StatusCode::FORBIDDEN,
            "Refused",
            "This request came from another site. Start it from the Gatehouse page itself.",
            Some(("/", "Go to the dashboard")),
        );
    }
    next.run(request).await
}

/// A server function whose arguments could not be read fails before any handler code runs, and
/// Leptos answers 500. That is the caller's mistake: answer 400 (the body already says why).
pub async fn bad_arguments_are_400(request: Request, next: Next) -> Response {
    let is_server_fn = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_server_fn || response.status() != http::StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if bytes.starts_with(b"{\"Request\"") {
        parts.status = http::StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
