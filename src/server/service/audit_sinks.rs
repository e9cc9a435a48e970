//! Audit sinks (issue 17): the destinations the audit log is streamed to for the security team's
//! SIEM — a Splunk HTTP Event Collector, an NDJSON webhook or a syslog server — configured in the
//! console or in `GATEHOUSE_AUDIT_SINKS`, and their state (cursor, lag, last error). Each change
//! is one transaction with its audit record; a token is sealed before it is stored and never
//! returned. The delivery itself is service/audit_stream.rs.
use crate::model::audit_sinks::{
    AuditSinkInput, AuditSinkView, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE,
};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::config_audit_stream::{AuditStreamPolicy, EnvSink};
use crate::server::db::{
    self, audit_sinks::Credential, audit_sinks::Sink, audit_sinks::SinkRow, Db,
};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::provisioning::check_outbound_url;
use crate::server::service::sealed::{self, SecretsKey};
use crate::server::ssf_verify::clip;
use serde_json::{json, Value};

const CONFLICT: &str = "This sink was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const NOT_FOUND: &str = "The audit sink";
const FROM_ENV: &str = "This sink comes from GATEHOUSE_AUDIT_SINKS: change or remove it there (pausing, resuming and replaying work here).";
const MAX_NAME: usize = 100;
const MAX_TOKEN: usize = 4096;

/// A sink's settings as the checks leave them.
pub(crate) struct Valid {
    pub name: String,
    pub kind: &'static str,
    pub format: &'static str,
    pub url: String,
    /// Empty: none given.
    pub token: String,
    pub batch_size: i64,
    pub from_seq: Option<i64>,
}

fn one_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// `tcp://host:port`. Syslog over TLS is not offered yet (docs/decisions.md).
fn check_syslog_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    if raw.is_empty() {
        return Err("URL is required: tcp://host:port".into());
    }
    if raw.starts_with("tls://") {
        return Err("URL: syslog over TLS (tls://) is not supported yet; use tcp:// to a relay on a trusted network, or an HEC or NDJSON sink over HTTPS".into());
    }
    if !raw.starts_with("tcp://") {
        return Err("URL of a syslog sink is tcp://host:port".into());
    }
    let url = url::Url::parse(raw).map_err(|e| format!("URL is not tcp://host:port ({e})"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("URL names no host: tcp://host:port")?;
    let port = url.port().ok_or("URL needs a port: tcp://host:514")?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.path().is_empty()
    {
        return Err("URL is tcp://host:port and nothing more".into());
    }
    Ok(format!("tcp://{host}:{port}"))
}

/// The collector's base URL; the full event or collector path is accepted too.
fn hec_base(url: String) -> String {
    for suffix in [
        "/services/collector/event/1.0",
        "/services/collector/event",
        "/services/collector",
    ] {
        if let Some(base) = url.strip_suffix(suffix) {
            return base.to_string();
        }
    }
    url
}

/// The console's checks, also applied to GATEHOUSE_AUDIT_SINKS: (field, message) for each
/// problem.
pub(crate) fn check(input: &AuditSinkInput) -> Result<Valid, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.into(), message));
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME || !one_line(&name) {
        bad(
            "name",
            format!("Name: 1 to {MAX_NAME} characters on one line"),
        );
    }
    let kind = match input.kind.trim() {
        "hec" => Some("hec"),
        "ndjson" => Some("ndjson"),
        "syslog" => Some("syslog"),
        other => {
            bad(
                "kind",
                format!("Kind is hec, ndjson or syslog, not {:?}", clip(other, 40)),
            );
            None
        }
    };
    let format = match input.format.trim() {
        "" | "gatehouse" => "gatehouse",
        "ocsf" => "ocsf",
        other => {
            bad(
                "format",
                format!("Format is gatehouse or ocsf, not {:?}", clip(other, 40)),
            );
            "gatehouse"
        }
    };
    let url = match kind {
        Some("syslog") => check_syslog_url(&input.url),
        Some("hec") => check_outbound_url(&input.url, "URL").map(hec_base),
        Some(_) => check_outbound_url(&input.url, "URL"),
        None => Ok(String::new()),
    }
    .unwrap_or_else(|m| {
        bad("url", m);
        String::new()
    });
    let token = input.token.trim().to_string();
    if token.chars().count() > MAX_TOKEN || !one_line(&token) {
        bad(
            "token",
            format!("Token: at most {MAX_TOKEN} characters on one line"),
        );
    } else if kind == Some("syslog") && !token.is_empty() {
        bad(
            "token",
            "Token: a syslog sink sends none; leave it empty".into(),
        );
    }
    let batch_size = match input.batch_size.trim() {
        "" => DEFAULT_BATCH_SIZE,
        raw => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
            _ => {
                bad(
                    "batch_size",
                    format!("Batch size: a whole number from 1 to {MAX_BATCH_SIZE}"),
                );
                DEFAULT_BATCH_SIZE
            }
        },
    };
    let from_seq = match input.from_seq.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                bad(
                    "from_seq",
                    "Start from: an event number from 1 (empty: from now on)".into(),
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Valid {
        name,
        kind: kind.unwrap_or("ndjson"),
        format,
        url,
        token,
        batch_size,
        from_seq,
    })
}

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
fn seal(key: Option<&SecretsKey>, token: &str, id: &str) -> Result<(String, String), AppError> {
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
async fn check_start(db: &Db, field: &str, from: i64) -> Result<(), AppError> {
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

fn new_id() -> String {
    format!(
        "{}{}",
        db::audit_sinks::ID_PREFIX,
        uuid::Uuid::new_v4().simple()
    )
}

fn details(id: &str, v: &Valid, source: &str) -> Value {
    json!({
        "sink": id, "name": v.name, "kind": v.kind, "format": v.format, "url": v.url,
        "batch_size": v.batch_size, "token": !v.token.is_empty(), "source": source,
    })
}

async fn record(
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
async fn insert(
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

// ------------------------------------------------------------ GATEHOUSE_AUDIT_SINKS --

/// Makes the stored sinks of the environment what `GATEHOUSE_AUDIT_SINKS` says, at start: new
/// ones are made (their cursor before their own creation record, or before `from_seq`), changed
/// ones updated (the cursor stays), ones no longer listed removed; each change audited as
/// Gatehouse itself. A console sink of the same name stops the start.
pub async fn apply_env(db: &Db, policy: &AuditStreamPolicy) -> Result<(), String> {
    let failed = |e: sqlx::Error| format!("cannot apply GATEHOUSE_AUDIT_SINKS: {e}");
    for (id, name) in db::audit_sinks::from_env(&db.pool).await.map_err(failed)? {
        if !policy.sinks.iter().any(|s| s.name == name) {
            remove_env(db, &id, &name)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for s in &policy.sinks {
        let existing = db::audit_sinks::by_name(&db.pool, &s.name)
            .await
            .map_err(failed)?;
        match existing {
            Some(sink) if sink.source != "env" => {
                return Err(format!(
                    "GATEHOUSE_AUDIT_SINKS: the sink {:?} is also configured in the console; rename one of them",
                    s.name
                ))
            }
            Some(sink) => update_env(db, policy, s, &sink)
                .await
                .map_err(|e| format!("GATEHOUSE_AUDIT_SINKS, sink {:?}: {e}", s.name))?,
            None => create_env(db, policy, s)
                .await
                .map_err(|e| format!("GATEHOUSE_AUDIT_SINKS, sink {:?}: {e}", s.name))?,
        }
    }
    Ok(())
}

fn valid_of(s: &EnvSink) -> Valid {
    Valid {
        name: s.name.clone(),
        kind: match s.kind.as_str() {
            "hec" => "hec",
            "syslog" => "syslog",
            _ => "ndjson",
        },
        format: if s.format == "ocsf" {
            "ocsf"
        } else {
            "gatehouse"
        },
        url: s.url.clone(),
        token: s.token.expose().to_string(),
        batch_size: s.batch_size,
        from_seq: s.from_seq,
    }
}

async fn create_env(db: &Db, policy: &AuditStreamPolicy, s: &EnvSink) -> Result<(), AppError> {
    let valid = valid_of(s);
    if let Some(from) = valid.from_seq {
        check_start(db, "from_seq", from).await?;
    }
    let id = new_id();
    let sealed = seal(policy.secrets_key.as_ref(), &valid.token, &id)?;
    let made = insert(
        db,
        &Actor::system(),
        &RequestMeta::default(),
        &id,
        &valid,
        "env",
        &sealed,
    )
    .await;
    match made {
        // Another instance starting at the same moment made it first.
        Err(AppError::Invalid { field, .. }) if field == "name" => Ok(()),
        other => other,
    }
}

async fn update_env(
    db: &Db,
    policy: &AuditStreamPolicy,
    s: &EnvSink,
    sink: &Sink,
) -> Result<(), AppError> {
    let valid = valid_of(s);
    let token_now = match (&policy.secrets_key, sink.credential_sealed.is_empty()) {
        (_, true) => Some(String::new()),
        (Some(key), false) => key.open(&sink.credential_sealed, &sink.id).ok(),
        (None, false) => None,
    };
    let same = sink.kind == valid.kind
        && sink.format == valid.format
        && sink.url == valid.url
        && sink.batch_size == valid.batch_size
        && token_now.as_deref() == Some(valid.token.as_str());
    if same {
        return Ok(());
    }
    let sealed = seal(policy.secrets_key.as_ref(), &valid.token, &sink.id)?;
    let credential = Credential {
        sealed: &sealed.0,
        hint: &sealed.1,
    };
    let row = SinkRow {
        id: &sink.id,
        name: &valid.name,
        kind: valid.kind,
        format: valid.format,
        url: &valid.url,
        batch_size: valid.batch_size,
        now: db::now_ms(),
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::audit_sinks::update(&mut tx, &row, sink.version, Some(&credential))
        .await
        .map_err(internal)?
    {
        // Another instance starting at the same moment updated it first.
        return Ok(());
    }
    let d = details(&sink.id, &valid, "env");
    record(
        &mut tx,
        &Actor::system(),
        &RequestMeta::default(),
        "audit.sink.update",
        &sink.id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)
}

async fn remove_env(db: &Db, id: &str, name: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::audit_sinks::delete(&mut tx, id)
        .await
        .map_err(internal)?;
    let d = json!({ "sink": id, "name": name, "source": "env",
                    "reason": "no longer in GATEHOUSE_AUDIT_SINKS" });
    record(
        &mut tx,
        &Actor::system(),
        &RequestMeta::default(),
        "audit.sink.delete",
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, url: &str) -> AuditSinkInput {
        AuditSinkInput {
            name: "SIEM".into(),
            kind: kind.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn urls_follow_the_kind() {
        let v = check(&input(
            "hec",
            "https://splunk.example.com:8088/services/collector/event/",
        ))
        .unwrap();
        assert_eq!(v.url, "https://splunk.example.com:8088");
        assert_eq!(v.format, "gatehouse");
        assert_eq!(v.batch_size, DEFAULT_BATCH_SIZE);
        let v = check(&input("ndjson", "http://127.0.0.1:9000/in")).unwrap();
        assert_eq!(v.url, "http://127.0.0.1:9000/in");
        let v = check(&input("syslog", " tcp://siem.example.com:6514 ")).unwrap();
        assert_eq!(v.url, "tcp://siem.example.com:6514");
        for (kind, url, expected) in [
            ("ndjson", "http://siem.example.com/in", "https"),
            ("hec", "ftp://splunk.example.com", "https"),
            ("syslog", "tls://siem.example.com:6514", "TLS"),
            ("syslog", "udp://siem.example.com:514", "tcp://host:port"),
            ("syslog", "tcp://siem.example.com", "port"),
            ("syslog", "tcp://siem.example.com:514/x", "nothing more"),
        ] {
            let errors = check(&input(kind, url)).err().unwrap_or_default();
            assert!(
                errors
                    .iter()
                    .any(|(f, m)| f == "url" && m.contains(expected)),
                "{kind} {url}: {errors:?}"
            );
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = check(&AuditSinkInput {
            name: " ".into(),
            kind: "kafka".into(),
            format: "cef".into(),
            url: "https://x.example.com".into(),
            token: "a\nb".into(),
            batch_size: "0".into(),
            from_seq: "-3".into(),
        })
        .err()
        .unwrap();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "kind", "format", "token", "batch_size", "from_seq"]
        );
        let errors = check(&AuditSinkInput {
            token: "secret".into(),
            ..input("syslog", "tcp://127.0.0.1:514")
        })
        .err()
        .unwrap();
        assert_eq!(errors[0].0, "token");
    }
}
