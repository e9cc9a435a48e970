//! The page guard (console pages need a session and the page's permission) and the few plain
//! server-rendered pages that exist outside the Leptos app: sign-in errors and "no role".
use crate::model::access::page_permission;
use crate::server::auth::authorize;
use crate::server::service::audit::RequestMeta;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::{Method, StatusCode};
use tower_sessions::Session;

/// Anonymous visitors of a console page go to the sign-in and come back; signed-in people without
/// the page's permission get a 403 page (audited by the guard).
pub async fn guard_pages(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let Some(permission) = page_permission(&path) else {
        return next.run(request).await;
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    match authorize(&state, &session, meta, permission, &path).await {
        Ok(_) => next.run(request).await,
        Err(crate::model::AppError::Unauthenticated) => {
            let return_to = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/login?return_to={}", encode(return_to))).into_response()
        }
        Err(e) => plain_page(
            StatusCode::FORBIDDEN,
            "Access denied",
            &format!("{e} Ask an administrator if you need this page."),
            Some(("/", "Back to the dashboard")),
        ),
    }
}

pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small standalone page (no scripts) in the console's style.
pub fn plain_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let link = link
        .map(|(href, text)| {
            format!(
                r#"<p class="mt-6"><a class="btn-primary" href="{}">{}</a></p>"#,
                escape(href),
                escape(text)
            )
        })
        .unwrap_or_default();
    // Quoted by a person reporting the problem, and found in the logs by it.
    let reference = crate::server::http::request_id::current()
        .map(|id| {
            format!(
                r#"<p class="mt-6 text-sm text-slate-500">Request id: <code id="request-id">{}</code></p>"#,
                escape(&id)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Gatehouse</title><link rel="stylesheet" href="/pkg/gatehouse.css"><link rel="icon" href="/favicon.ico"></head>
<body class="min-h-screen bg-slate-50 text-slate-900"><main class="mx-auto max-w-lg p-8 mt-16 card" role="main">
<h1 class="text-2xl font-semibold" id="page-title">{title}</h1><p class="mt-4" id="page-message">{message}</p>{link}{reference}</main></body></html>"#,
        title = escape(title),
        message = escape(message),
    );
    (status, Html(body)).into_response()
}
