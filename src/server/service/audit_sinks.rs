//! Audit sinks (issue 17): the destinations the audit log is streamed to for the security team's
//! SIEM — a Splunk HTTP Event Collector, an NDJSON webhook or a syslog server — configured in the
//! console (here) or in `GATEHOUSE_AUDIT_SINKS` (audit_sinks_env.rs), and their state (cursor,
//! lag, last error). Each change is one transaction with its audit record; a token is sealed
//! before it is stored and never returned. The delivery itself is service/audit_stream.rs.
use super::audit_sink_checks::{check, one_line, Valid};
use crate::model::audit_sinks::{AuditSinkInput, AuditSinkView};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{
    self, audit_sinks::Credential, audit_sinks::Sink, audit_sinks::SinkRow, Db,
};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::sealed::{self, SecretsKey};
use crate::server::ssf_verify::clip;
use serde_json::{json, Value};

const CONFLICT: &str = "This sink was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const NOT_FOUND: &str = "The audit sink";
const FROM_ENV: &str = "This sink comes from GATEHOUSE_AUDIT_SINKS: change or remove it there (pausing, resuming and replaying work here).";

fn taken() -> AppError {
    AppError::invalid("name", "Name: another sink has this name")
}

fn unique_failed(e: sqlx::Error) -> AppError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => taken(),
        _ => internal(e),
    }
}

fn hec_needs_token() -> AppError {
    AppError::invalid(
        "token",
        "Token: a Splunk HTTP Event Collector needs its HEC token",
    )
}

/// Seals a token for the sink `id`; empty stays empty (no key needed).
pub(super) fn seal(
    key: Option<&SecretsKey>,
    token: &str,
    id: &str,
) -> Result<(String, String), AppError> {
    if token.is_empty() {
        return Ok((String::new(), String::new()));
    }
    let key = key.ok_or_else(|| {
        AppError::invalid(
            "token",
            "Gatehouse cannot keep a token: GATEHOUSE_SECRETS_KEY is not set",
        )
    })?;
    Ok((key.seal(token, id), sealed::hint(token)))
}

/// The first event a new sink may start from must exist: after the retention anchor, at most
/// one past the chain's head.
pub(super) async fn check_start(db: &Db, field: &str, from: i64) -> Result<(), AppError> {
    let (head, _) = db::audit::head(&db.pool).await.map_err(internal)?;
    let (anchor, _) = db::audit::anchor(&db.pool).await.map_err(internal)?;
    if from <= anchor {
        return Err(AppError::invalid(
            field,
            format!(
                "Events up to {anchor} were removed by audit retention; start from {} or later",
                anchor + 1
            ),
        ));
    }
    if from > head + 1 {
        return Err(AppError::invalid(
            field,
            format!(
                "The chain's last event is {head}; start from {} at most",
                head + 1
            ),
        ));
    }
    Ok(())
}

pub(super) fn new_id() -> String {
    format!(
        "{}{}",
        db::audit_sinks::ID_PREFIX,
        uuid::Uuid::new_v4().simple()
    )
}

pub(super) fn details(id: &str, v: &Valid, source: &str) -> Value {
    json!({
        "sink": id, "name": v.name, "kind": v.kind, "format": v.format, "url": v.url,
        "batch_size": v.batch_size, "token": !v.token.is_empty(), "source": source,
    })
}

pub(super) async fn record(
    tx: &mut db::Tx,
    actor: &Actor,
    meta: &RequestMeta,
    action: &str,
    id: &str,
    d: Value,
) -> Result<i64, AppError> {
    let entry = Entry::new(action, Outcome::Success)
        .target("audit_sink", id)
        .details(d);
    audit::record(tx, actor, meta, entry)
        .await
        .map_err(internal)
}

/// Inserts a sink whose cursor starts before `from_seq`, or before its own creation record:
/// the first event it sends is the one saying it was made.
pub(super) async fn insert(
    db: &Db,
    actor: &Actor,
    meta: &RequestMeta,
    id: &str,
    valid: &Valid,
    source: &str,
    sealed: &(String, String),
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    if db::audit_sinks::name_taken(&mut tx, &valid.name, None)
        .await
        .map_err(internal)?
    {
        return Err(taken());
    }
    let mut d = details(id, valid, source);
    d["from_seq"] = json!(valid.from_seq);
    let seq = record(&mut tx, actor, meta, "audit.sink.create", id, d).await?;
    let row = SinkRow {
        id,
        name: &valid.name,
        kind: valid.kind,
        format: valid.format,
        url: &valid.url,
        batch_size: valid.batch_size,
        now: db::now_ms(),
    };
    let credential = Credential {
        sealed: &sealed.0,
        hint: &sealed.1,
    };
    let cursor = valid.from_seq.map_or(seq - 1, |from| from - 1);
    db::audit_sinks::insert(&mut tx, &row, &credential, source, cursor)
        .await
        .map_err(unique_failed)?;
    tx.commit().await.map_err(internal)
}

/// Makes a sink. Its token is sealed and never shown again.
pub async fn create(
    db: &Db,
    auth: &Authorized,
    key: Option<&SecretsKey>,
    input: &AuditSinkInput,
) -> Result<AuditSinkView, AppError> {
    let valid = check(input).map_err(AppError::Fields)?;
    if valid.kind == "hec" && valid.token.is_empty() {
        return Err(hec_needs_token());
    }
    if let Some(from) = valid.from_seq {
        check_start(db, "from_seq", from).await?;
    }
    let id = new_id();
    let sealed = seal(key, &valid.token, &id)?;
    insert(
        db,
        &auth.actor(),
        &auth.meta,
        &id,
        &valid,
        "console",
        &sealed,
    )
    .await?;
    view(db, &id).await
}

/// Changes a sink against the version the administrator saw. An empty token keeps the stored
/// one (a syslog sink keeps none). The cursor stays: delivery goes on where it was, to the
/// destination as it is now.
pub async fn update(
    db: &Db,
    auth: &Authorized,
    key: Option<&SecretsKey>,
    id: &str,
    version: i64,
    input: &AuditSinkInput,
) -> Result<AuditSinkView, AppError> {
    let valid = check(input).map_err(AppError::Fields)?;
    let current = stored(db, id).await?;
    if current.source == "env" {
        return Err(AppError::Conflict(FROM_ENV.into()));
    }
    if current.version != version {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let new_credential = if !valid.token.is_empty() {
        Some(seal(key, &valid.token, id)?)
    } else if valid.kind == "syslog" {
        Some((String::new(), String::new()))
    } else if valid.kind == "hec" && current.credential_sealed.is_empty() {
        return Err(hec_needs_token());
    } else {
        None
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    if db::audit_sinks::name_taken(&mut tx, &valid.name, Some(id))
        .await
        .map_err(internal)?
    {
        return Err(taken());
    }
    let row = SinkRow {
        id,
        name: &valid.name,
        kind: valid.kind,
        format: valid.format,
        url: &valid.url,
        batch_size: valid.batch_size,
        now: db::now_ms(),
    };
    let credential = new_credential
        .as_ref()
        .map(|(sealed, hint)| Credential { sealed, hint });
    if !db::audit_sinks::update(&mut tx, &row, version, credential.as_ref())
        .await
        .map_err(unique_failed)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let mut d = details(id, &valid, "console");
    d["token_changed"] = json!(!valid.token.is_empty());
    record(
        &mut tx,
        &auth.actor(),
        &auth.meta,
        "audit.sink.update",
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// `active` (sending) or `paused` (the cursor waits; nothing is lost).
pub async fn set_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
) -> Result<AuditSinkView, AppError> {
    let (stored_status, action) = match status.trim() {
        "active" => ("active", "audit.sink.resume"),
        "paused" => ("paused", "audit.sink.pause"),
        other => {
            return Err(AppError::invalid(
                "status",
                format!("Status is active or paused, not {:?}", clip(other, 40)),
            ))
        }
    };
    stored(db, id).await?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::audit_sinks::set_status(&mut tx, id, stored_status, db::now_ms())
        .await
        .map_err(internal)?;
    let d = json!({ "sink": id, "status": stored_status });
    record(&mut tx, &auth.actor(), &auth.meta, action, id, d).await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Sends every event from `from` on again, in order (the SIEM lost them, or a new index needs
/// them): the cursor moves back to `from - 1`.
pub async fn replay_from(
    db: &Db,
    auth: &Authorized,
    id: &str,
    from: i64,
) -> Result<AuditSinkView, AppError> {
    if from < 1 {
        return Err(AppError::invalid(
            "from",
            "Give the event number to replay from (1 or more)",
        ));
    }
    let current = stored(db, id).await?;
    check_start(db, "from", from).await?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::audit_sinks::set_cursor(&mut tx, id, from - 1, db::now_ms())
        .await
        .map_err(internal)?;
    let d = json!({ "sink": id, "from": from, "cursor_before": current.cursor });
    record(
        &mut tx,
        &auth.actor(),
        &auth.meta,
        "audit.sink.replay",
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Removes a sink; nothing more is sent to it.
pub async fn delete(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let current = view(db, id).await?;
    if current.source == "env" {
        return Err(AppError::Conflict(FROM_ENV.into()));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::audit_sinks::delete(&mut tx, id)
        .await
        .map_err(internal)?;
    let d = json!({ "sink": id, "name": current.name, "kind": current.kind, "url": current.url,
                    "cursor": current.cursor, "undelivered": current.lag_events });
    record(
        &mut tx,
        &auth.actor(),
        &auth.meta,
        "audit.sink.delete",
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)
}

/// Every sink with its state, oldest first.
pub async fn list(db: &Db) -> Result<Vec<AuditSinkView>, AppError> {
    let (head, _) = db::audit::head(&db.pool).await.map_err(internal)?;
    let now = db::now_ms();
    let mut out = Vec::new();
    for s in db::audit_sinks::list(&db.pool).await.map_err(internal)? {
        out.push(view_of(db, s, head, now).await.map_err(internal)?);
    }
    Ok(out)
}

/// One sink with its state, or 404.
pub async fn view(db: &Db, id: &str) -> Result<AuditSinkView, AppError> {
    let s = stored(db, id).await?;
    let (head, _) = db::audit::head(&db.pool).await.map_err(internal)?;
    view_of(db, s, head, db::now_ms()).await.map_err(internal)
}

async fn stored(db: &Db, id: &str) -> Result<Sink, AppError> {
    // Checked before the look-up: PostgreSQL refuses a NUL in a text parameter.
    if id.len() > 100 || !one_line(id) {
        return Err(AppError::NotFound(NOT_FOUND.into()));
    }
    db::audit_sinks::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

async fn locked(tx: &mut db::Tx, id: &str) -> Result<i64, AppError> {
    db::audit_sinks::version_for_update(tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

/// Lag: events after the cursor up to `head`, and seconds since the first of them happened.
pub(crate) async fn view_of(
    db: &Db,
    s: Sink,
    head: i64,
    now: i64,
) -> Result<AuditSinkView, sqlx::Error> {
    let lag_events = (head - s.cursor).max(0);
    let lag_seconds = if lag_events > 0 {
        db::audit_sinks::first_after(&db.pool, s.cursor)
            .await?
            .map_or(0, |at| ((now - at) / 1000).max(0))
    } else {
        0
    };
    Ok(AuditSinkView {
        token_hint: s.credential_hint,
        awaiting_ack: s.ack_id.is_some(),
        id: s.id,
        name: s.name,
        kind: s.kind,
        format: s.format,
        url: s.url,
        status: s.status,
        source: s.source,
        batch_size: s.batch_size,
        cursor: s.cursor,
        head,
        lag_events,
        lag_seconds,
        delivered_at: s.delivered_at,
        last_error: s.last_error,
        last_error_at: s.last_error_at,
        failures: s.failures,
        next_attempt_at: s.next_attempt_at,
        created_at: s.created_at,
        updated_at: s.updated_at,
        version: s.version,
    })
}
