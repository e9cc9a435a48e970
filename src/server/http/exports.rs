//! Streamed exports: any filtered users view as CSV, and any filtered view of the audit log as CSV
//! or NDJSON, page by page from the database to the browser in constant memory. Every export is
//! itself audited with its filter.
use crate::model::audit::AuditQuery;
use crate::model::users::{UserQuery, UserSummary, MAX_SELECTION};
use crate::model::{AppError, Permission};
use crate::server::auth::{authorize_fresh, Authorized};
use crate::server::http::pages::plain_page;
use crate::server::service::audit::{self, Entry, ExportFormat, Outcome, RequestMeta};
use crate::server::service::heavy::Permit;
use crate::server::service::user_list::Matcher;
use crate::server::AppState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use tower_sessions::Session;

pub async fn users_csv(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Query(query): Query<UserQuery>,
    Query(selection): Query<Selection>,
) -> Response {
    let auth = match authorize_fresh(
        &state,
        &session,
        meta,
        Permission::ExportUsers,
        "/users/export.csv",
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return error_page(e),
    };
    let ids: Vec<String> = selection
        .ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match users_export_body(&state, &auth, &query, ids).await {
        Ok(body) => csv_response(body),
        Err(e) => error_page(e),
    }
}

/// Starts a users export for an authorized caller: the selected users (`ids`) or every user
/// matching `query`, audited, streamed page by page. The console's download and the API's share it.
pub async fn users_export_body(
    state: &AppState,
    auth: &Authorized,
    query: &UserQuery,
    ids: Vec<String>,
) -> Result<Body, AppError> {
    let permit = state.heavy.try_start(&auth.principal.email)?;
    let filtered = [&query.q, &query.status, &query.source]
        .iter()
        .any(|f| !f.trim().is_empty());
    if !ids.is_empty() && filtered {
        return Err(AppError::invalid(
            "ids",
            "The link names both selected users and a filter; export either the selection or the filter.",
        ));
    }
    // Refuses a bad filter (e.g. an unknown status) before anything is audited or sent.
    let matcher = Matcher::parse(query)?;
    if ids.len() > MAX_SELECTION {
        return Err(AppError::invalid(
            "ids",
            format!("At most {MAX_SELECTION} users can be exported one by one; export the whole filter instead."),
        ));
    }
    let filter = if ids.is_empty() {
        serde_json::json!({ "q": query.q, "status": query.status, "source": query.source, "sort": query.sort.as_str() })
    } else {
        serde_json::json!({ "selection": ids })
    };
    let entry = Entry::new("users.export", Outcome::Success)
        .details(serde_json::json!({ "filter": filter, "format": "csv" }));
    if let Err(e) = audit::record_alone(&state.db, &auth.actor(), &auth.meta, entry).await {
        tracing::error!(error = %e, "could not audit an export");
        return Err(AppError::Internal);
    }
    // Each step yields one page as CSV; `None` as the cursor state means the export is finished.
    let header_row =
        "id,guid,email,display_name,status,source,external_id,created_at_ms,last_sign_in_at_ms\n";
    if !ids.is_empty() {
        return match crate::server::db::users::summaries_by_ids(&state.db.pool, &ids).await {
            Ok(users) => {
                let mut out = String::from(header_row);
                for u in &users {
                    push_row(&mut out, u);
                }
                Ok(Body::from(out))
            }
            Err(e) => {
                tracing::error!(error = %e, "selection export failed");
                Err(AppError::Internal)
            }
        };
    }
    // Every matching user, search or not, a keyset page at a time in constant memory.
    let stream = futures::stream::unfold(
        (state.clone(), matcher, Some(String::new())),
        move |(state, matcher, after)| async move {
            let after = after?;
            match matcher.page(&state.db, &after, EXPORT_PAGE).await {
                Ok(page) => {
                    let mut out = String::with_capacity(page.users.len() * 160 + 100);
                    if after.is_empty() {
                        out.push_str(header_row);
                    }
                    for u in &page.users {
                        push_row(&mut out, u);
                    }
                    Some((Ok::<_, std::io::Error>(out), (state, matcher, page.next)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "users export stopped");
                    Some((
                        Err(std::io::Error::other("export failed")),
                        (state, matcher, None),
                    ))
                }
            }
        },
    );
    Ok(Body::from_stream(hold(permit, stream)))
}

/// The stream, holding `permit` until it ends (or the download is abandoned).
fn hold<S: futures::Stream>(permit: Permit, stream: S) -> impl futures::Stream<Item = S::Item> {
    use futures::StreamExt;
    stream.map(move |item| {
        let _running = &permit;
        item
    })
}

/// Users per page of a streamed export.
const EXPORT_PAGE: i64 = 500;

/// `?ids=u_1,u_2`: export these users only (a selection on the users page).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Selection {
    ids: String,
}

pub fn csv_response(body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gatehouse-users.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

fn error_page(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    plain_page(
        status,
        "Export refused",
        &e.to_string(),
        Some(("/users", "Back to users")),
    )
}

fn push_row(out: &mut String, u: &UserSummary) {
    let fields = [
        u.id.as_str(),
        u.guid.as_str(),
        u.email.as_str(),
        u.display_name.as_str(),
        u.status.as_str(),
        u.source.as_str(),
        u.external_id.as_deref().unwrap_or(""),
    ];
    for f in fields {
        super::csv::push_field(out, f);
        out.push(',');
    }
    out.push_str(&format!("{},{}\n", u.created_at, u.last_sign_in_at));
}

/// `GET /audit/export.csv` and `/audit/export.ndjson`: any filtered view of the audit log, in
/// chain order with its hashes, streamed from the database in constant memory. Auditors only;
/// each export is audited with its filter.
pub async fn audit_csv(
    state: State<AppState>,
    session: Session,
    meta: RequestMeta,
    query: Query<AuditQuery>,
    job: Query<ExportJobParam>,
) -> Response {
    audit_export(state, session, meta, query, job, ExportFormat::Csv).await
}

pub async fn audit_ndjson(
    state: State<AppState>,
    session: Session,
    meta: RequestMeta,
    query: Query<AuditQuery>,
    job: Query<ExportJobParam>,
) -> Response {
    audit_export(state, session, meta, query, job, ExportFormat::Ndjson).await
}

/// `?job=` names the progress job the page prepared (`audit/start_export`).
#[derive(serde::Deserialize)]
pub struct ExportJobParam {
    job: Option<String>,
}

async fn audit_export(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Query(query): Query<AuditQuery>,
    Query(job): Query<ExportJobParam>,
    format: ExportFormat,
) -> Response {
    let path = format!("/audit/export.{}", format.as_str());
    let auth = match authorize_fresh(&state, &session, meta, Permission::ExportAudit, &path).await {
        Ok(a) => a,
        Err(e) => return audit_error_page(e),
    };
    // A link that was already used (or is someone else's) still downloads, without progress.
    let progress = match &job.job {
        Some(id) => audit::ExportJob::claim(&state.db, id, &auth.principal.email).await,
        None => None,
    };
    match audit_export_body(&state, &auth, &query, format, progress).await {
        Ok(body) => export_response(format, body),
        Err(e) => audit_error_page(e),
    }
}

/// Starts an export of the audit log for an authorized caller: takes a heavy-work permit,
/// checks the filter, audits the export and returns the streamed body. The console's download
/// and the API's share it.
pub async fn audit_export_body(
    state: &AppState,
    auth: &Authorized,
    query: &AuditQuery,
    format: ExportFormat,
    progress: Option<audit::ExportJob>,
) -> Result<Body, AppError> {
    let permit = state.heavy.try_start(&auth.principal.email)?;
    let filter = audit::filter_of(&state.db, query).await?;
    let entry = Entry::new("audit.export", Outcome::Success).details(serde_json::json!({
        "format": format.as_str(),
        "filter": non_empty_fields(query),
    }));
    if let Err(e) = audit::record_alone(&state.db, &auth.actor(), &auth.meta, entry).await {
        tracing::error!(error = %e, "could not audit an export");
        return Err(AppError::Internal);
    }
    Ok(Body::from_stream(hold(
        permit,
        audit::export_stream(state.db.clone(), filter, format, progress),
    )))
}

/// The download answer of an audit export.
pub fn export_response(format: ExportFormat, body: Body) -> Response {
    let (content_type, name) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "gatehouse-audit.csv"),
        ExportFormat::Ndjson => ("application/x-ndjson", "gatehouse-audit.ndjson"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn audit_error_page(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    plain_page(
        status,
        "Export refused",
        &e.to_string(),
        Some(("/audit", "Back to the audit log")),
    )
}

/// The filter as a JSON object of the fields that are set, for the audit record.
fn non_empty_fields(query: &AuditQuery) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(all)) = serde_json::to_value(query) {
        for (k, v) in all {
            if !(v.is_null() || v.as_str() == Some("")) {
                map.insert(k, v);
            }
        }
    }
    serde_json::Value::Object(map)
}
