//! SQL for Shared Signals transmitters (Gatehouse as receiver): their registration, cached keys
//! and counters, and the tokens received from them (`ssf_received`, the replay guard).
use super::Tx;
use crate::model::ssf::{ReceivedSet, TransmitterView};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// Transmitter ids start with this.
pub const ID_PREFIX: &str = "sst_";

/// What the administrator set, already checked.
pub struct TransmitterRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub issuer: &'a str,
    pub jwks_uri: &'a str,
    pub audience: &'a str,
    pub source_id: Option<&'a str>,
    pub max_age_seconds: i64,
    pub now: i64,
}

/// A transmitter as the receive pipeline needs it, with its cached JWKS.
#[derive(Clone, Debug)]
pub struct Transmitter {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    pub source_id: Option<String>,
    pub active: bool,
    pub max_age_seconds: i64,
    pub jwks: String,
    pub jwks_fetched_at: i64,
}

const VIEW: &str =
    "id, name, issuer, jwks_uri, audience, source_id, status, max_age_seconds, jwks, \
                    jwks_fetched_at, created_at, updated_at, version, last_received_at, \
                    received_count, rejected_count, last_error";

const TRANSMITTER: &str = "id, name, issuer, jwks_uri, audience, source_id, status, \
                           max_age_seconds, jwks, jwks_fetched_at";

fn view(r: &AnyRow) -> Result<TransmitterView, sqlx::Error> {
    let jwks: String = r.try_get("jwks")?;
    Ok(TransmitterView {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        issuer: r.try_get("issuer")?,
        jwks_uri: r.try_get("jwks_uri")?,
        audience: r.try_get("audience")?,
        source_id: r.try_get("source_id")?,
        status: r.try_get("status")?,
        max_age_seconds: r.try_get("max_age_seconds")?,
        key_count: crate::server::ssf_verify::usable_keys(&jwks).len(),
        keys_fetched_at: r.try_get("jwks_fetched_at")?,
        last_received_at: r.try_get("last_received_at")?,
        received: r.try_get("received_count")?,
        rejected: r.try_get("rejected_count")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

fn transmitter(r: &AnyRow) -> Result<Transmitter, sqlx::Error> {
    Ok(Transmitter {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        issuer: r.try_get("issuer")?,
        jwks_uri: r.try_get("jwks_uri")?,
        audience: r.try_get("audience")?,
        source_id: r.try_get("source_id")?,
        active: r.try_get::<String, _>("status")? == "active",
        max_age_seconds: r.try_get("max_age_seconds")?,
        jwks: r.try_get("jwks")?,
        jwks_fetched_at: r.try_get("jwks_fetched_at")?,
    })
}

/// Every transmitter, oldest first (configuration: there are few).
pub async fn list(pool: &AnyPool) -> Result<Vec<TransmitterView>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {VIEW} FROM ssf_transmitters ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(view).collect()
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<TransmitterView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {VIEW} FROM ssf_transmitters WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(view)
    .transpose()
}

/// The id of the transmitter with this issuer.
pub async fn id_by_issuer(pool: &AnyPool, issuer: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM ssf_transmitters WHERE issuer = $1")
        .bind(issuer)
        .fetch_optional(pool)
        .await
}

/// The transmitter whose tokens carry this `iss`, with its cached keys.
pub async fn by_issuer(pool: &AnyPool, issuer: &str) -> Result<Option<Transmitter>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {TRANSMITTER} FROM ssf_transmitters WHERE issuer = $1"
    ))
    .bind(issuer)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(transmitter)
    .transpose()
}

pub async fn by_id(pool: &AnyPool, id: &str) -> Result<Option<Transmitter>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {TRANSMITTER} FROM ssf_transmitters WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(transmitter)
    .transpose()
}

/// The transmitter's version, read in a change's transaction; `None` when it does not exist.
pub async fn version_for_update(tx: &mut Tx, id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM ssf_transmitters WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Another transmitter (not `except`) already has this issuer.
pub async fn issuer_taken(
    tx: &mut Tx,
    issuer: &str,
    except: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM ssf_transmitters WHERE issuer = $1")
            .bind(issuer)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some_and(|id| Some(id.as_str()) != except))
}

/// Keys as fetched when the transmitter was registered or changed: the JWKS (JSON, '' none),
/// when, and why the fetch failed ('' when it did not).
pub struct Keys<'a> {
    pub jwks: &'a str,
    pub fetched_at: i64,
    pub error: &'a str,
}

pub async fn insert(
    tx: &mut Tx,
    r: &TransmitterRow<'_>,
    keys: &Keys<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ssf_transmitters (id, name, issuer, jwks_uri, audience, source_id, status, \
         max_age_seconds, jwks, jwks_fetched_at, last_error, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $11, $11, 1)",
    )
    .bind(r.id)
    .bind(r.name)
    .bind(r.issuer)
    .bind(r.jwks_uri)
    .bind(r.audience)
    .bind(r.source_id)
    .bind(r.max_age_seconds)
    .bind(keys.jwks)
    .bind(keys.fetched_at)
    .bind(keys.error)
    .bind(r.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Changes what the administrator set if the transmitter is still at `version`; `keys` when
/// they were fetched again for it (a new issuer or key address), else the cached ones stay.
pub async fn update(
    tx: &mut Tx,
    r: &TransmitterRow<'_>,
    version: i64,
    keys: Option<&Keys<'_>>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ssf_transmitters SET name = $1, issuer = $2, jwks_uri = $3, audience = $4, \
         source_id = $5, max_age_seconds = $6, updated_at = $7, version = version + 1 \
         WHERE id = $8 AND version = $9",
    )
    .bind(r.name)
    .bind(r.issuer)
    .bind(r.jwks_uri)
    .bind(r.audience)
    .bind(r.source_id)
    .bind(r.max_age_seconds)
    .bind(r.now)
    .bind(r.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(k) = keys {
        sqlx::query(
            "UPDATE ssf_transmitters SET jwks = $1, jwks_fetched_at = $2, last_error = $3 \
             WHERE id = $4",
        )
        .bind(k.jwks)
        .bind(k.fetched_at)
        .bind(k.error)
        .bind(r.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

pub async fn set_status(tx: &mut Tx, id: &str, status: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_transmitters SET status = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3",
    )
    .bind(status)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM ssf_received WHERE transmitter_id = $1",
        "DELETE FROM ssf_transmitters WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Claims the right to fetch the keys again after an unknown `kid`: at most once per
/// `interval_ms` per transmitter, across instances (the row is the clock).
pub async fn claim_refetch(
    pool: &AnyPool,
    id: &str,
    now: i64,
    interval_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ssf_transmitters SET jwks_fetched_at = $1 WHERE id = $2 AND jwks_fetched_at <= $3",
    )
    .bind(now)
    .bind(id)
    .bind(now - interval_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keeps freshly fetched keys (JWKS JSON) and the address they came from (it may have been
/// discovered just now); clears the last error.
pub async fn store_keys(
    exec: &mut Tx,
    id: &str,
    jwks_uri: &str,
    jwks: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_transmitters SET jwks_uri = $1, jwks = $2, jwks_fetched_at = $3, \
         last_error = '' WHERE id = $4",
    )
    .bind(jwks_uri)
    .bind(jwks)
    .bind(now)
    .bind(id)
    .execute(&mut **exec)
    .await?;
    Ok(())
}

/// Keeps why fetching the keys failed (the cached keys stay).
pub async fn keys_failed(
    exec: &mut Tx,
    id: &str,
    error: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ssf_transmitters SET jwks_fetched_at = $1, last_error = $2 WHERE id = $3")
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(&mut **exec)
        .await?;
    Ok(())
}

/// Counts a refused token and keeps why.
pub async fn count_rejected(pool: &AnyPool, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_transmitters SET rejected_count = rejected_count + 1, last_error = $1 \
         WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims a token's `jti` for this transmitter in the transaction that applies it; `false`
/// when it was received before (a replay). On PostgreSQL a concurrent duplicate waits for the
/// first one's commit, then finds it.
pub async fn claim_jti(
    tx: &mut Tx,
    transmitter_id: &str,
    jti: &str,
    event_type: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO ssf_received (transmitter_id, jti, received_at, event_type, result) \
         VALUES ($1, $2, $3, $4, 'ignored') ON CONFLICT (transmitter_id, jti) DO NOTHING",
    )
    .bind(transmitter_id)
    .bind(jti)
    .bind(now)
    .bind(event_type)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a claimed token did, and the transmitter's counters.
pub async fn finish_received(
    tx: &mut Tx,
    transmitter_id: &str,
    jti: &str,
    result: &str,
    user_id: Option<&str>,
    summary: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_received SET result = $1, user_id = $2, summary = $3 \
         WHERE transmitter_id = $4 AND jti = $5",
    )
    .bind(result)
    .bind(user_id)
    .bind(summary)
    .bind(transmitter_id)
    .bind(jti)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE ssf_transmitters SET received_count = received_count + 1, last_received_at = $1 \
         WHERE id = $2",
    )
    .bind(now)
    .bind(transmitter_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The newest tokens received from a transmitter, newest first.
pub async fn recent(
    pool: &AnyPool,
    transmitter_id: &str,
    limit: i64,
) -> Result<Vec<ReceivedSet>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT jti, event_type, received_at, result, user_id, summary FROM ssf_received \
         WHERE transmitter_id = $1 ORDER BY received_at DESC, jti DESC LIMIT $2",
    )
    .bind(transmitter_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReceivedSet {
                jti: r.try_get("jti")?,
                event_type: r.try_get("event_type")?,
                received_at: r.try_get("received_at")?,
                result: r.try_get("result")?,
                user_id: r.try_get("user_id")?,
                summary: r.try_get("summary")?,
            })
        })
        .collect()
}

/// Forgets received `jti`s older than twice each transmitter's max age (one indexed range
/// delete per transmitter); returns how many rows went.
pub async fn prune_received(pool: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    let ages = sqlx::query("SELECT id, max_age_seconds FROM ssf_transmitters")
        .fetch_all(pool)
        .await?;
    let mut pruned = 0;
    for r in ages {
        let id: String = r.try_get("id")?;
        let max_age: i64 = r.try_get("max_age_seconds")?;
        let done =
            sqlx::query("DELETE FROM ssf_received WHERE transmitter_id = $1 AND received_at < $2")
                .bind(&id)
                .bind(now - 2 * max_age * 1000)
                .execute(pool)
                .await?;
        pruned += done.rows_affected();
    }
    Ok(pruned)
}
