//! SQL for audit sinks (issue 17). A sink is a cursor over the audit chain: its events are read
//! from `audit_events` itself (db/audit.rs, `chain_slice`), never queued. The worker's writes
//! name the lease owner, and the cursor moves only from the value it read (compare-and-set), so
//! an instance that lost its sink, or a replay made meanwhile, is never overwritten.
use super::Tx;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

pub const ID_PREFIX: &str = "snk_";

/// A sink as stored; views carry the credential's hint, never the sealed value.
#[derive(Clone, Debug)]
pub struct Sink {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub format: String,
    pub url: String,
    pub credential_sealed: String,
    pub credential_hint: String,
    pub status: String,
    pub source: String,
    pub batch_size: i64,
    pub cursor: i64,
    pub delivered_at: i64,
    pub last_error: String,
    pub last_error_at: i64,
    pub failures: i64,
    pub next_attempt_at: i64,
    pub ack_id: Option<i64>,
    pub ack_through: i64,
    pub ack_since: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

const COLUMNS: &str = "id, name, kind, format, url, credential_sealed, credential_hint, status, \
                       source, batch_size, cursor_seq, delivered_at, last_error, last_error_at, \
                       failures, next_attempt_at, ack_id, ack_through, ack_since, created_at, \
                       updated_at, version";

fn sink(r: &AnyRow) -> Result<Sink, sqlx::Error> {
    Ok(Sink {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        format: r.try_get("format")?,
        url: r.try_get("url")?,
        credential_sealed: r.try_get("credential_sealed")?,
        credential_hint: r.try_get("credential_hint")?,
        status: r.try_get("status")?,
        source: r.try_get("source")?,
        batch_size: r.try_get("batch_size")?,
        cursor: r.try_get("cursor_seq")?,
        delivered_at: r.try_get("delivered_at")?,
        last_error: r.try_get("last_error")?,
        last_error_at: r.try_get("last_error_at")?,
        failures: r.try_get("failures")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        ack_id: r.try_get("ack_id")?,
        ack_through: r.try_get("ack_through")?,
        ack_since: r.try_get("ack_since")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

/// Every sink, oldest first (there are few: this is configuration, not data).
pub async fn list(pool: &AnyPool) -> Result<Vec<Sink>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_sinks ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(sink).collect()
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<Sink>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM audit_sinks WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(sink)
        .transpose()
}

pub async fn by_name(pool: &AnyPool, name: &str) -> Result<Option<Sink>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_sinks WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(sink)
    .transpose()
}

/// (id, name) of the sinks that came from GATEHOUSE_AUDIT_SINKS.
pub async fn from_env(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM audit_sinks WHERE source = 'env' ORDER BY id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

/// The sink's version, locked for a change (the UPDATE takes the row lock on PostgreSQL);
/// `None` when it does not exist.
pub async fn version_for_update(tx: &mut Tx, id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("UPDATE audit_sinks SET version = version WHERE id = $1 RETURNING version")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Whether another sink has this name.
pub async fn name_taken(
    tx: &mut Tx,
    name: &str,
    except: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_sinks WHERE name = $1 AND id <> $2")
            .bind(name)
            .bind(except.unwrap_or(""))
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

/// A sink's configuration, as written by a person or from the environment.
pub struct SinkRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub format: &'a str,
    pub url: &'a str,
    pub batch_size: i64,
    pub now: i64,
}

/// A sealed credential and its hint; both empty: none.
pub struct Credential<'a> {
    pub sealed: &'a str,
    pub hint: &'a str,
}

pub async fn insert(
    tx: &mut Tx,
    s: &SinkRow<'_>,
    credential: &Credential<'_>,
    source: &str,
    cursor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_sinks (id, name, kind, format, url, credential_sealed, credential_hint, \
         status, source, batch_size, cursor_seq, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $11, 1)",
    )
    .bind(s.id)
    .bind(s.name)
    .bind(s.kind)
    .bind(s.format)
    .bind(s.url)
    .bind(credential.sealed)
    .bind(credential.hint)
    .bind(source)
    .bind(s.batch_size)
    .bind(cursor)
    .bind(s.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Changes the sink if it is still at `version` (a new credential when one is given); false
/// when someone changed it first. A pending acknowledgement and the backoff are dropped: the
/// next attempt goes to the destination as it is now, at once.
pub async fn update(
    tx: &mut Tx,
    s: &SinkRow<'_>,
    version: i64,
    credential: Option<&Credential<'_>>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET name = $1, kind = $2, format = $3, url = $4, batch_size = $5, \
         updated_at = $6, version = version + 1, ack_id = NULL, failures = 0, next_attempt_at = 0 \
         WHERE id = $7 AND version = $8",
    )
    .bind(s.name)
    .bind(s.kind)
    .bind(s.format)
    .bind(s.url)
    .bind(s.batch_size)
    .bind(s.now)
    .bind(s.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(c) = credential {
        sqlx::query(
            "UPDATE audit_sinks SET credential_sealed = $1, credential_hint = $2 WHERE id = $3",
        )
        .bind(c.sealed)
        .bind(c.hint)
        .bind(s.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// `active` or `paused`; resuming retries at once.
pub async fn set_status(tx: &mut Tx, id: &str, status: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_sinks SET status = $1, updated_at = $2, version = version + 1, failures = 0, \
         next_attempt_at = 0 WHERE id = $3",
    )
    .bind(status)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replay: delivery goes on after `cursor`, at once; a pending acknowledgement is dropped.
pub async fn set_cursor(tx: &mut Tx, id: &str, cursor: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_sinks SET cursor_seq = $1, updated_at = $2, ack_id = NULL, failures = 0, \
         next_attempt_at = 0 WHERE id = $3",
    )
    .bind(cursor)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM audit_sinks WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// When the first event after `seq` happened (Unix ms), for the lag in seconds.
pub async fn first_after(pool: &AnyPool, seq: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT occurred_at FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 1")
        .bind(seq)
        .fetch_optional(pool)
        .await
}

// ---------------------------------------------------------------------- the worker's part --

/// Active sinks with something to do (events after their cursor, or an acknowledgement to
/// ask for), not failing until later, and held by no live instance.
pub async fn due(pool: &AnyPool, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM audit_sinks WHERE status = 'active' AND lease_until < $1 \
         AND next_attempt_at <= $1 \
         AND (ack_id IS NOT NULL OR cursor_seq < (SELECT seq FROM audit_head WHERE id = 1)) \
         ORDER BY id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Takes (or extends) the sink's lease; false when another instance holds it.
pub async fn lease(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET lease_owner = $1, lease_until = $2 \
         WHERE id = $3 AND (lease_until < $4 OR lease_owner = $1)",
    )
    .bind(owner)
    .bind(until)
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release(pool: &AnyPool, id: &str, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_sinks SET lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Events `from + 1 ..= to` were acknowledged: the cursor moves from `from` to `to`, if it is
/// still at `from` and this instance still holds the sink. False otherwise (nothing changed).
pub async fn advance(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET cursor_seq = $1, delivered_at = $2, failures = 0, \
         next_attempt_at = 0, ack_id = NULL WHERE id = $3 AND cursor_seq = $4 AND lease_owner = $5",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .bind(from)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The HEC accepted events `cursor + 1 ..= through` and will confirm them as acknowledgement
/// `ack_id`; the cursor stays until it does.
pub async fn await_ack(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    cursor: i64,
    ack_id: i64,
    through: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET ack_id = $1, ack_through = $2, ack_since = $3 \
         WHERE id = $4 AND cursor_seq = $5 AND lease_owner = $6",
    )
    .bind(ack_id)
    .bind(through)
    .bind(now)
    .bind(id)
    .bind(cursor)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The HEC confirmed acknowledgement `ack_id`: the cursor moves to the batch's last event, if
/// nothing (a replay, a change) intervened.
pub async fn acknowledged(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    cursor: i64,
    ack_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET cursor_seq = ack_through, delivered_at = $1, failures = 0, \
         next_attempt_at = 0, ack_id = NULL \
         WHERE id = $2 AND cursor_seq = $3 AND ack_id = $4 AND lease_owner = $5",
    )
    .bind(now)
    .bind(id)
    .bind(cursor)
    .bind(ack_id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A failed attempt: kept as the last error, retried at `retry_at`. The cursor stays; with
/// `drop_ack` a pending acknowledgement is given up (its events are sent again).
pub async fn failed(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    error: &str,
    now: i64,
    retry_at: i64,
    drop_ack: bool,
) -> Result<(), sqlx::Error> {
    let sql = if drop_ack {
        "UPDATE audit_sinks SET failures = failures + 1, last_error = $1, last_error_at = $2, \
         next_attempt_at = $3, ack_id = NULL WHERE id = $4 AND lease_owner = $5"
    } else {
        "UPDATE audit_sinks SET failures = failures + 1, last_error = $1, last_error_at = $2, \
         next_attempt_at = $3 WHERE id = $4 AND lease_owner = $5"
    };
    sqlx::query(sql)
        .bind(error)
        .bind(now)
        .bind(retry_at)
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?;
    Ok(())
}

/// Events `from + 1 ..= to` no longer exist (audit retention removed them before this sink
/// delivered them): the cursor passes over them, and `note` says so as the last error.
pub async fn skip(
    pool: &AnyPool,
    id: &str,
    owner: &str,
    from: i64,
    to: i64,
    note: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE audit_sinks SET cursor_seq = $1, last_error = $2, last_error_at = $3 \
         WHERE id = $4 AND cursor_seq = $5 AND lease_owner = $6",
    )
    .bind(to)
    .bind(note)
    .bind(now)
    .bind(id)
    .bind(from)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
