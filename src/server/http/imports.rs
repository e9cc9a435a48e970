//! `POST /users/import`: the CSV upload (a plain multipart form, so it works before the page has
//! hydrated). The file is handed to an import job; the browser goes to the job's progress page.
use crate::model::{AppError, Permission};
use crate::server::auth::authorize;
use crate::server::http::pages::plain_page;
use crate::server::service::audit::RequestMeta;
use crate::server::service::jobs::import::{self, MAX_IMPORT_BYTES};
use crate::server::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use tower_sessions::Session;

/// Room for the file plus the multipart framing.
pub const MAX_UPLOAD: usize = MAX_IMPORT_BYTES + 64 * 1024;

pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_UPLOAD)
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let auth = match authorize(
        &state,
        &session,
        meta,
        Permission::WriteUsers,
        "/users/import",
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(_) => {
            return refused(AppError::invalid(
                "file",
                "Send the file as a form upload (multipart/form-data).",
            ))
        }
    };
    let mut file = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => return too_large_or_bad(e),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return too_large_or_bad(e),
        }
    }
    let Some((name, bytes)) = file else {
        return refused(AppError::invalid("file", "Choose a CSV file to import."));
    };
    let permit = match state.heavy.try_start(&auth.principal.email) {
        Ok(p) => p,
        Err(e) => return refused(e),
    };
    match import::start(&state.db, &auth, &name, bytes, permit).await {
        Ok(job) => Redirect::to(&format!("/users/jobs/{job}")).into_response(),
        Err(e) => refused(e),
    }
}

fn too_large_or_bad(e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return plain_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Import refused",
            &format!(
                "The file is larger than {} MB; split it into smaller files.",
                MAX_IMPORT_BYTES / 1024 / 1024
            ),
            Some(("/users/import", "Back to the import")),
        );
    }
    refused(AppError::invalid(
        "file",
        format!("The upload could not be read: {}", e.body_text()),
    ))
}

fn refused(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match &e {
        AppError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    };
    plain_page(
        status,
        "Import refused",
        &message,
        Some(("/users/import", "Back to the import")),
    )
}
