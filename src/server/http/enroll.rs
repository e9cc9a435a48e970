//! The public re-enrollment link `/enroll/<token>` that an MFA reset hands to the person. Opening
//! it only shows a button (link scanners in mail clients do not use it up); pressing the button
//! uses the link once.
use crate::server::http::pages::{escape, plain_page};
use crate::server::service::audit::RequestMeta;
use crate::server::service::support::{self, LinkProblem};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

fn refused(problem: LinkProblem) -> Response {
    let status = match problem {
        LinkProblem::Unknown => StatusCode::NOT_FOUND,
        LinkProblem::Used | LinkProblem::Expired => StatusCode::GONE,
    };
    plain_page(status, "Re-enrollment link", problem.message(), None)
}

fn failed() -> Response {
    plain_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Re-enrollment link",
        "Something went wrong on our side; please try again in a moment.",
        None,
    )
}

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match support::check_link(&state.db, &token).await {
        Err(_) => failed(),
        Ok(Err(problem)) => refused(problem),
        Ok(Ok(())) => {
            let body = format!(
                r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up your sign-in again · Gatehouse</title><link rel="stylesheet" href="/pkg/gatehouse.css"><link rel="icon" href="/favicon.ico"></head>
<body class="min-h-screen bg-slate-50 text-slate-900"><main class="mx-auto max-w-lg p-8 mt-16 card" role="main">
<h1 class="text-2xl font-semibold" id="page-title">Set up your sign-in again</h1>
<p class="mt-4" id="page-message">Your multi-factor authentication was reset by the support desk. This link works once: continue to register a new authenticator.</p>
<form method="post" action="/enroll/{token}" class="mt-6"><button type="submit" class="btn-primary" id="enroll-continue">Continue</button></form>
</main></body></html>"#,
                token = escape(&token)
            );
            (StatusCode::OK, Html(body)).into_response()
        }
    }
}

pub async fn consume(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
) -> Response {
    match support::use_link(&state.db, &meta, &token).await {
        Err(_) => failed(),
        Ok(Err(problem)) => refused(problem),
        Ok(Ok(_)) => plain_page(
            StatusCode::OK,
            "Link accepted",
            "Your re-enrollment link has been used. Register your new authenticator with your identity provider now; this link will not work again.",
            None,
        ),
    }
}
