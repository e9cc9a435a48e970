//! The tamper-evident audit log: appending to the hash chain, reading, and verifying.
use crate::model::audit::{
    AuditEvent, AuditPage, AuditQuery, DashboardSummary, ExportTicket, QUICK_RANGES,
};
use crate::model::jobs::{JobReport, JobState};
use crate::model::time::parse_utc;
use crate::model::AppError;
use crate::model::Role;
use crate::server::auth::Authorized;
use crate::server::db::{self, audit::AuditRow, Db, Tx};
use crate::server::internal;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Who did it. Unknown parts stay `None` (e.g. a sign-in that failed before we learned who).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub subject: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
}

impl Actor {
    /// A signed-in person acting under their role.
    pub fn of(principal: &crate::model::Principal) -> Actor {
        Actor {
            subject: Some(principal.subject.clone()),
            email: Some(principal.email.clone()),
            role: Some(principal.role),
        }
    }

    /// Gatehouse itself: schedulers and other background work.
    pub fn system() -> Actor {
        Actor {
            subject: Some("gatehouse".into()),
            email: Some("system".into()),
            role: None,
        }
    }
}

/// Where the request came from.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Set for calls of the management API: recorded in every event the call writes.
    pub api: Option<ApiCall>,
}

/// Which token made a management API call, and the request's id (to match the logs).
#[derive(Clone, Debug, Default)]
pub struct ApiCall {
    pub token_id: String,
    pub token_kind: &'static str,
    pub request_id: Option<String>,
}

/// What happened.
pub struct Entry<'a> {
    pub action: &'a str,
    pub target: Option<(&'a str, &'a str)>,
    pub outcome: Outcome,
    pub details: serde_json::Value,
}

impl<'a> Entry<'a> {
    pub fn new(action: &'a str, outcome: Outcome) -> Self {
        Entry {
            action,
            target: None,
            outcome,
            details: serde_json::json!({}),
        }
    }
    pub fn target(mut self, kind: &'a str, id: &'a str) -> Self {
        self.target = Some((kind, id));
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Details larger than this are replaced by a note of their size: a request can never make the
/// log store an unbounded amount of text (fields are bounded where they are read, this is the
/// last line).
const MAX_DETAILS: usize = 64 * 1024;

fn bounded_details(details: String) -> String {
    if details.len() <= MAX_DETAILS {
        return details;
    }
    serde_json::json!({ "truncated": true, "size": details.len() }).to_string()
}

/// Appends one event inside the caller's transaction, so it commits or rolls back with the change.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    meta: &RequestMeta,
    entry: Entry<'_>,
) -> Result<i64, sqlx::Error> {
    let (seq, prev_hash) = db::audit::claim_next(tx).await?;
    let details = bounded_details(with_api_call(entry.details, meta).to_string());
    let mut row = AuditRow {
        seq,
        occurred_at: db::now_ms(),
        actor_subject: actor.subject.as_deref(),
        actor_email: actor.email.as_deref(),
        actor_role: actor.role.map(Role::as_str),
        action: entry.action,
        target_type: entry.target.map(|t| t.0),
        target_id: entry.target.map(|t| t.1),
        outcome: entry.outcome.as_str(),
        client_ip: meta.client_ip.as_deref(),
        user_agent: meta.user_agent.as_deref(),
        details: &details,
        prev_hash: &prev_hash,
        hash: "",
    };
    let hash = chain_hash(&row);
    row.hash = &hash;
    db::audit::insert(tx, &row).await?;
    crate::server::metrics::note_audit_append();
    Ok(seq)
}

/// The event's details, with the API token and request id when the change came through the API.
fn with_api_call(details: serde_json::Value, meta: &RequestMeta) -> serde_json::Value {
    let Some(call) = &meta.api else {
        return details;
    };
    let via = serde_json::json!({
        "token": call.token_id, "kind": call.token_kind, "request_id": call.request_id,
    });
    match details {
        serde_json::Value::Object(mut map) => {
            map.insert("via_api".into(), via);
            serde_json::Value::Object(map)
        }
        serde_json::Value::Null => serde_json::json!({ "via_api": via }),
        other => serde_json::json!({ "value": other, "via_api": via }),
    }
}

/// Records an event that is not part of another change (sign-in failures, denials), in its own transaction.
pub async fn record_alone(
    db: &Db,
    actor: &Actor,
    meta: &RequestMeta,
    entry: Entry<'_>,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seq = record(&mut tx, actor, meta, entry).await?;
    tx.commit().await?;
    Ok(seq)
}

/// SHA-256 over the JSON array of the event's fields in a fixed order, ending with the previous
/// hash. Documented in docs/audit-chain.md so that anyone can recompute it.
pub fn chain_hash(r: &AuditRow<'_>) -> String {
    let canonical = serde_json::json!([
        r.seq,
        r.occurred_at,
        r.actor_subject,
        r.actor_email,
        r.actor_role,
        r.action,
        r.target_type,
        r.target_id,
        r.outcome,
        r.client_ip,
        r.user_agent,
        r.details,
        r.prev_hash,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

pub(crate) fn row_of<'a>(e: &'a AuditEvent, prev_hash: &'a str) -> AuditRow<'a> {
    AuditRow {
        seq: e.seq,
        occurred_at: e.occurred_at,
        actor_subject: e.actor_subject.as_deref(),
        actor_email: e.actor_email.as_deref(),
        actor_role: e.actor_role.as_deref(),
        action: &e.action,
        target_type: e.target_type.as_deref(),
        target_id: e.target_id.as_deref(),
        outcome: &e.outcome,
        client_ip: e.client_ip.as_deref(),
        user_agent: e.user_agent.as_deref(),
        details: &e.details,
        prev_hash,
        hash: &e.hash,
    }
}

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub use super::audit_verify::{verify, Trust, VerifyReport};

/// Starts "Verify integrity" as a job (so long chains show progress) and returns its id. The
/// verification and its result are audited. `trust` holds the configured keys (and checkpoint
/// directory) the checkpoints are checked with; `permit` is held while the job runs.
pub async fn start_verify(
    db: &Db,
    trust: Trust,
    auth: &Authorized,
    permit: crate::server::service::heavy::Permit,
) -> Result<String, AppError> {
    let (total, _) = db::audit::head(&db.pool).await.map_err(internal)?;
    let id = crate::server::service::jobs::new_job_id();
    db::jobs::insert(
        &db.pool,
        &id,
        "audit.verify",
        &auth.principal.email,
        JobState::Running,
        total.max(0) as u64,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let (db, auth, job) = (db.clone(), auth.clone(), id.clone());
    tokio::spawn(async move {
        let _running = permit;
        let mut report = JobReport::default();
        let (state, summary, outcome, details, done) = match super::audit_verify::verify_reporting(
            &db,
            &trust,
            Some(&job),
        )
        .await
        {
            Ok(VerifyReport {
                checked,
                first_broken: None,
                authenticated,
                ..
            }) => (
                JobState::Done,
                format!(
                    "Verified {checked} events{}: the chain is intact.",
                    if authenticated {
                        ", every checkpoint signed by the configured key"
                    } else {
                        " (no signing or verify key is configured: checkpoints compared by hash only)"
                    }
                ),
                Outcome::Success,
                serde_json::json!({ "checked": checked, "intact": true }),
                checked,
            ),
            Ok(VerifyReport {
                checked,
                first_broken: Some((seq, why)),
                ..
            }) => {
                report.problem(0, format!("event {seq}"), why.clone());
                (
                    JobState::Done,
                    format!("The chain is broken at event {seq}: {why}. The {checked} events before it are intact."),
                    Outcome::Failed,
                    serde_json::json!({ "checked": checked, "intact": false, "first_broken": seq, "why": why }),
                    checked,
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "audit verification stopped");
                (
                    JobState::Failed,
                    "Verification stopped by an error; try again.".to_string(),
                    Outcome::Failed,
                    serde_json::json!({ "error": true }),
                    0,
                )
            }
        };
        let entry = Entry::new("audit.verify", outcome)
            .target("job", &job)
            .details(details);
        if let Err(e) = record_alone(&db, &auth.actor(), &auth.meta, entry).await {
            tracing::error!(error = %e, "could not audit a verification");
        }
        let _ = db::jobs::finish(
            &db.pool,
            &job,
            state,
            done.max(0) as u64,
            &summary,
            &report,
            db::now_ms(),
        )
        .await;
    });
    Ok(id)
}

pub const PAGE_SIZE: i64 = 50;

pub async fn dashboard(db: &Db) -> Result<DashboardSummary, sqlx::Error> {
    let since = db::now_ms() - 24 * 60 * 60 * 1000;
    let (audit_events, _) = db::audit::head(&db.pool).await?;
    Ok(DashboardSummary {
        audit_events,
        sign_ins_24h: db::audit::count_action_since(&db.pool, "auth.sign_in", "success", since)
            .await?,
        denied_24h: db::audit::count_outcome_since(&db.pool, "denied", since).await?,
        recent: db::audit::page(&db.pool, None, 5).await?,
    })
}

/// Turns the page's filters into a database filter; bad input is refused with the reason.
pub async fn filter_of(db: &Db, q: &AuditQuery) -> Result<db::audit::Filter, AppError> {
    let text = |v: &str| {
        let t = v.trim();
        (!t.is_empty()).then(|| t.to_string())
    };
    let mut f = db::audit::Filter {
        actor: text(&q.actor),
        target_type: text(&q.target_type),
        target_id: text(&q.target_id),
        ip: text(&q.ip),
        ..Default::default()
    };
    match text(&q.action) {
        Some(a) if a.ends_with(".*") => {
            f.area_actions = crate::model::audit::ACTION_GROUPS
                .iter()
                .find(|(_, all, _)| *all == a)
                .map(|(_, _, actions)| actions.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            f.action_prefix = Some(a.trim_end_matches('*').to_string());
        }
        other => f.action = other,
    }
    if let Some(o) = text(&q.outcome) {
        if !["success", "denied", "failed"].contains(&o.as_str()) {
            return Err(AppError::invalid(
                "outcome",
                format!("unknown outcome {o:?}; use success, denied or failed"),
            ));
        }
        f.outcome = Some(o);
    }
    let now = db::now_ms();
    f.from_ms = match (text(&q.from), text(&q.range)) {
        (Some(from), _) => Some(parse_utc(&from, false).map_err(|e| AppError::invalid("from", e))?),
        (None, Some(r)) => match QUICK_RANGES.iter().find(|(k, _, _)| *k == r) {
            Some((_, _, span)) => Some(now - span),
            None => {
                return Err(AppError::invalid(
                    "range",
                    format!("unknown range {r:?}; use 1h, 24h, 7d or 30d"),
                ))
            }
        },
        (None, None) => None,
    };
    if let Some(to) = text(&q.to) {
        f.to_ms = Some(parse_utc(&to, true).map_err(|e| AppError::invalid("to", e))?);
    }
    if let (Some(a), Some(b)) = (f.from_ms, f.to_ms) {
        if b <= a {
            return Err(AppError::invalid(
                "to",
                "The end of the range is before its start.",
            ));
        }
    }
    // Time bounds become position bounds, so every index (which ends in seq) can serve the query.
    if let Some(from) = f.from_ms {
        f.min_seq = Some(
            db::audit::first_seq_at(&db.pool, from)
                .await
                .map_err(internal)?
                .unwrap_or(i64::MAX),
        );
    }
    if let Some(to) = f.to_ms {
        f.max_seq = db::audit::first_seq_at(&db.pool, to)
            .await
            .map_err(internal)?;
    }
    Ok(f)
}

/// One page of matching events, newest first.
pub async fn search(db: &Db, q: &AuditQuery) -> Result<AuditPage, AppError> {
    let mut f = filter_of(db, q).await?;
    if let Some(before) = q.before {
        f.max_seq = Some(f.max_seq.map_or(before, |m| m.min(before)));
    }
    let mut events = db::audit::search(&db.pool, &f, PAGE_SIZE + 1)
        .await
        .map_err(internal)?;
    let next_before = if events.len() as i64 > PAGE_SIZE {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_before,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat, String> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "ndjson" | "jsonl" => Ok(ExportFormat::Ndjson),
            other => Err(format!("unknown format {other:?}; use csv or ndjson")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }
}

pub const EXPORT_COLUMNS: [&str; 15] = [
    "seq",
    "occurred_at",
    "occurred_at_utc",
    "actor_subject",
    "actor_email",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "client_ip",
    "user_agent",
    "details",
    "prev_hash",
    "hash",
];

/// Matching events in chain order, as CSV or NDJSON chunks, read from the database a slice at a
/// time (constant memory for any size). Each line carries `prev_hash` and `hash`, so the file can
/// be checked against the chain without database access (docs/audit-chain.md).
///
/// The next slice is read while this one is formatted (at most two slices in memory): the
/// database and the formatting each take one core instead of waiting for each other.
pub fn export_stream(
    db: Db,
    filter: db::audit::Filter,
    format: ExportFormat,
    job: Option<ExportJob>,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    const SLICE: i64 = 5000;
    type Pending = tokio::task::JoinHandle<Result<Vec<db::audit::ChainRow>, sqlx::Error>>;
    fn fetch(db: &Db, filter: &db::audit::Filter, after: i64) -> Pending {
        let (db, filter) = (db.clone(), filter.clone());
        tokio::spawn(async move { db::audit::export_slice(&db, &filter, after, SLICE).await })
    }
    let first = fetch(&db, &filter, 0);
    futures::stream::unfold(
        Some((db, filter, first, true, job)),
        move |state| async move {
            let (db, filter, pending, first, mut job) = state?;
            let slice = match pending.await {
                Ok(result) => result,
                Err(e) => Err(sqlx::Error::Protocol(format!("export task: {e}"))),
            };
            match slice {
                Ok(rows) => {
                    let more = rows.len() as i64 == SLICE;
                    let next = match rows.last() {
                        Some(last) if more => Some(fetch(&db, &filter, last.event.seq)),
                        _ => None,
                    };
                    let mut out = String::with_capacity(rows.len() * 512 + 256);
                    if first && format == ExportFormat::Csv {
                        out.push_str(&EXPORT_COLUMNS.join(","));
                        out.push('\n');
                    }
                    for r in &rows {
                        match format {
                            ExportFormat::Csv => push_csv(&mut out, r),
                            ExportFormat::Ndjson => push_ndjson(&mut out, r),
                        }
                    }
                    if let Some(j) = job.as_mut() {
                        j.advance(&db, rows.len() as u64, more).await;
                    }
                    let next = next.map(|pending| (db, filter, pending, false, job));
                    if out.is_empty() && next.is_none() {
                        return None;
                    }
                    Some((Ok(out), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    if let Some(j) = job {
                        j.fail(&db).await;
                    }
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        },
    )
}

/// The job an export reports its progress to (prepared by [`start_export`]).
pub struct ExportJob {
    id: String,
    total: u64,
    done: u64,
}

impl ExportJob {
    /// The prepared job `id` if it belongs to `email` and has not started; it starts now.
    pub async fn claim(db: &Db, id: &str, email: &str) -> Option<ExportJob> {
        let (job, actor) = db::jobs::get(&db.pool, id).await.ok().flatten()?;
        if job.kind != "audit.export" || actor != email || job.state != JobState::Validating {
            return None;
        }
        let job = ExportJob {
            id: id.to_string(),
            total: job.total,
            done: 0,
        };
        job.write(db, JobState::Running).await;
        Some(job)
    }

    async fn write(&self, db: &Db, state: JobState) {
        let result = if state.finished() {
            let summary = format!("{} events exported", self.done);
            db::jobs::finish(
                &db.pool,
                &self.id,
                state,
                self.done,
                &summary,
                &JobReport::default(),
                db::now_ms(),
            )
            .await
        } else {
            db::jobs::progress(
                &db.pool,
                &self.id,
                state,
                self.total,
                self.done,
                db::now_ms(),
            )
            .await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record export progress");
        }
    }

    async fn advance(&mut self, db: &Db, rows: u64, more: bool) {
        self.done += rows;
        self.total = self.total.max(self.done);
        let state = if more {
            JobState::Running
        } else {
            JobState::Done
        };
        self.write(db, state).await;
    }

    async fn fail(self, db: &Db) {
        self.write(db, JobState::Failed).await;
    }
}

/// Checks the filter, counts the matching events and records a job the download will update.
pub async fn start_export(
    db: &Db,
    auth: &Authorized,
    q: &AuditQuery,
    format: &str,
) -> Result<ExportTicket, AppError> {
    let format = ExportFormat::parse(format).map_err(|e| AppError::invalid("format", e))?;
    let filter = filter_of(db, q).await?;
    let total = db::audit::count_matching(&db.pool, &filter)
        .await
        .map_err(internal)?;
    let id = crate::server::service::jobs::new_job_id();
    db::jobs::insert(
        &db.pool,
        &id,
        "audit.export",
        &auth.principal.email,
        JobState::Validating,
        total,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let qs = q.to_query_string(false);
    let sep = if qs.is_empty() { "" } else { "&" };
    Ok(ExportTicket {
        url: format!("/audit/export.{}?{qs}{sep}job={id}", format.as_str()),
        job: id,
        total,
    })
}

/// One exported event: the fields in [`EXPORT_COLUMNS`] order, borrowed (no copy per field).
#[derive(serde::Serialize)]
struct ExportLine<'a> {
    seq: i64,
    occurred_at: i64,
    occurred_at_utc: &'a str,
    actor_subject: Option<&'a str>,
    actor_email: Option<&'a str>,
    actor_role: Option<&'a str>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    outcome: &'a str,
    client_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    details: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

fn push_ndjson(out: &mut String, r: &db::audit::ChainRow) {
    let e = &r.event;
    let mut utc = String::with_capacity(23);
    crate::model::time::push_utc(&mut utc, e.occurred_at);
    let line = ExportLine {
        seq: e.seq,
        occurred_at: e.occurred_at,
        occurred_at_utc: &utc,
        actor_subject: e.actor_subject.as_deref(),
        actor_email: e.actor_email.as_deref(),
        actor_role: e.actor_role.as_deref(),
        action: &e.action,
        target_type: e.target_type.as_deref(),
        target_id: e.target_id.as_deref(),
        outcome: &e.outcome,
        client_ip: e.client_ip.as_deref(),
        user_agent: e.user_agent.as_deref(),
        details: &e.details,
        prev_hash: &r.prev_hash,
        hash: &e.hash,
    };
    // Serializing a struct of strings and numbers cannot fail.
    if let Ok(text) = serde_json::to_string(&line) {
        out.push_str(&text);
    }
    out.push('\n');
}

fn push_csv(out: &mut String, r: &db::audit::ChainRow) {
    use std::fmt::Write;
    let e = &r.event;
    let _ = write!(out, "{},{},", e.seq, e.occurred_at);
    crate::model::time::push_utc(out, e.occurred_at);
    fn o(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or_default()
    }
    let fields = [
        o(&e.actor_subject),
        o(&e.actor_email),
        o(&e.actor_role),
        &e.action,
        o(&e.target_type),
        o(&e.target_id),
        &e.outcome,
        o(&e.client_ip),
        o(&e.user_agent),
        &e.details,
        &r.prev_hash,
        &e.hash,
    ];
    for f in fields {
        out.push(',');
        crate::server::http::csv::push_field(out, f);
    }
    out.push('\n');
}

/// Recomputes one exported NDJSON event's hash: true when it matches the chain's record.
pub fn exported_line_is_intact(line: &serde_json::Value) -> bool {
    let s = |k: &str| line.get(k).and_then(|v| v.as_str());
    let (Some(seq), Some(at)) = (line["seq"].as_i64(), line["occurred_at"].as_i64()) else {
        return false;
    };
    let (Some(action), Some(outcome), Some(details), Some(prev), Some(hash)) = (
        s("action"),
        s("outcome"),
        s("details"),
        s("prev_hash"),
        s("hash"),
    ) else {
        return false;
    };
    let row = AuditRow {
        seq,
        occurred_at: at,
        actor_subject: s("actor_subject"),
        actor_email: s("actor_email"),
        actor_role: s("actor_role"),
        action,
        target_type: s("target_type"),
        target_id: s("target_id"),
        outcome,
        client_ip: s("client_ip"),
        user_agent: s("user_agent"),
        details,
        prev_hash: prev,
        hash,
    };
    chain_hash(&row) == hash
}
