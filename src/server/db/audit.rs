//! SQL for the audit log.
use super::Tx;
use crate::model::audit::{AuditEvent, Checkpoint};
use sqlx::{AnyPool, Row};

/// A row about to be appended; `seq`, `prev_hash` and `hash` are filled in by the chain.
pub struct AuditRow<'a> {
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_subject: Option<&'a str>,
    pub actor_email: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Takes the next position in the chain and returns it with the current head hash. The UPDATE
/// locks the head row until the transaction ends, so appends are serialized across instances.
pub async fn claim_next(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn insert(tx: &mut Tx, r: &AuditRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (seq, occurred_at, actor_subject, actor_email, actor_role, action, \
         target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(r.seq)
    .bind(r.occurred_at)
    .bind(r.actor_subject)
    .bind(r.actor_email)
    .bind(r.actor_role)
    .bind(r.action)
    .bind(r.target_type)
    .bind(r.target_id)
    .bind(r.outcome)
    .bind(r.client_ip)
    .bind(r.user_agent)
    .bind(r.details)
    .bind(r.prev_hash)
    .bind(r.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(r.hash)
        .execute(&mut **tx)
        .await?;
    super::webhooks::announce(tx, r.seq, r.action, r.occurred_at).await?;
    if r.outcome == "success" {
        super::ssf::announce(tx, r.seq, r.action, r.target_id, r.details, r.occurred_at).await?;
    }
    Ok(())
}

const COLUMNS: &str =
    "seq, occurred_at, actor_subject, actor_email, actor_role, action, target_type, \
                       target_id, outcome, client_ip, user_agent, details, prev_hash, hash";

/// One event by its position in the chain.
pub async fn by_seq(pool: &AnyPool, seq: i64) -> Result<Option<AuditEvent>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq = $1"
    ))
    .bind(seq)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(event_from_row)
    .transpose()
}

/// Newest first, strictly older than `before` (keyset pagination on the primary key).
pub async fn page(
    pool: &AnyPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Events in chain order, from `after` (exclusive), for verification: an export slice with no
/// filter.
pub async fn chain_slice(
    db: &super::Db,
    after: i64,
    limit: i64,
) -> Result<Vec<ChainRow>, sqlx::Error> {
    export_slice(db, &Filter::default(), after, limit).await
}

pub struct ChainRow {
    pub event: AuditEvent,
    pub prev_hash: String,
}

pub async fn head(pool: &AnyPool) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await
}

/// Count of events with `action` at or after `since_ms`.
pub async fn count_action_since(
    pool: &AnyPool,
    action: &str,
    outcome: &str,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND outcome = $2 AND occurred_at >= $3",
    )
    .bind(action)
    .bind(outcome)
    .bind(since_ms)
    .fetch_one(pool)
    .await
}

pub async fn count_outcome_since(
    pool: &AnyPool,
    outcome: &str,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE outcome = $1 AND occurred_at >= $2")
        .bind(outcome)
        .bind(since_ms)
        .fetch_one(pool)
        .await
}

/// A row of `SELECT {COLUMNS}` (every reader here selects exactly those), read by position:
/// exports read millions, and a look-up by column name for each field showed in their profile.
fn event_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: r.try_get(0)?,
        occurred_at: r.try_get(1)?,
        actor_subject: r.try_get(2)?,
        actor_email: r.try_get(3)?,
        actor_role: r.try_get(4)?,
        action: r.try_get(5)?,
        target_type: r.try_get(6)?,
        target_id: r.try_get(7)?,
        outcome: r.try_get(8)?,
        client_ip: r.try_get(9)?,
        user_agent: r.try_get(10)?,
        details: r.try_get(11)?,
        hash: r.try_get(13)?,
    })
}

fn chain_row_from_row(r: &sqlx::any::AnyRow) -> Result<ChainRow, sqlx::Error> {
    Ok(ChainRow {
        prev_hash: r.try_get(12)?,
        event: event_from_row(r)?,
    })
}

/// The newest events about one target.
pub async fn by_target(
    pool: &AnyPool,
    target_type: &str,
    target_id: &str,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE target_type = $1 AND target_id = $2 ORDER BY seq DESC LIMIT $3"
    ))
    .bind(target_type)
    .bind(target_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// The newest events about one target done by one actor.
pub async fn by_target_and_actor(
    pool: &AnyPool,
    target_type: &str,
    target_id: &str,
    actor_email: &str,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE target_type = $1 AND target_id = $2 AND actor_email = $3 \
         ORDER BY seq DESC LIMIT $4"
    ))
    .bind(target_type)
    .bind(target_id)
    .bind(actor_email)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Which events to read; every part is optional. Built by `service::audit::AuditFilter`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only events at or after this position (from the time range).
    pub min_seq: Option<i64>,
    /// Only events before this position (time range end, or the keyset cursor).
    pub max_seq: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `user.` for the whole area.
    pub action_prefix: Option<String>,
    /// The area's known actions: search reads each one's index and merges (fast for any area).
    pub area_actions: Vec<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
    pub ip: Option<String>,
}

enum Bind {
    Int(i64),
    Text(String),
}

fn where_clause(f: &Filter, binds: &mut Vec<Bind>) -> String {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut push = |cond: &str, b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        sql.push_str(&format!(" AND {cond} ${}", binds.len()));
    };
    if let Some(v) = f.min_seq {
        push("seq >=", Bind::Int(v), binds);
    }
    if let Some(v) = f.max_seq {
        push("seq <", Bind::Int(v), binds);
    }
    // The time bounds are already position bounds (`min_seq`, `max_seq`); the exact times are
    // checked too, but written `+occurred_at` so no planner picks that index over `seq` order.
    if let Some(v) = f.from_ms {
        push("+occurred_at >=", Bind::Int(v), binds);
    }
    if let Some(v) = f.to_ms {
        push("+occurred_at <", Bind::Int(v), binds);
    }
    for (column, value) in [
        ("actor_email", &f.actor),
        ("action", &f.action),
        ("target_type", &f.target_type),
        ("target_id", &f.target_id),
        ("outcome", &f.outcome),
        ("client_ip", &f.ip),
    ] {
        if let Some(v) = value {
            push(&format!("{column} ="), Bind::Text(v.clone()), binds);
        }
    }
    if let Some(p) = &f.action_prefix {
        // Not an index range: exports read in `seq` order and filter (see `search` for pages).
        binds.push(Bind::Text(p.clone()));
        sql.push_str(&format!(
            " AND substr(action, 1, {}) = ${}",
            p.chars().count(),
            binds.len()
        ));
    }
    sql
}

async fn fetch(
    pool: &AnyPool,
    sql: &str,
    binds: Vec<Bind>,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(i),
            Bind::Text(s) => q.bind(s),
        };
    }
    q.fetch_all(pool).await
}

/// Matching events, newest first (keyset on `seq` through `max_seq`). A whole area is read as
/// one `(action, seq)` index scan per action of the area, each limited, then merged.
pub async fn search(
    pool: &AnyPool,
    f: &Filter,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let mut binds = Vec::new();
    let sql = if f.action_prefix.is_some() && !f.area_actions.is_empty() {
        let mut parts = Vec::new();
        for (i, action) in f.area_actions.iter().enumerate() {
            let one = Filter {
                action: Some(action.clone()),
                action_prefix: None,
                area_actions: Vec::new(),
                ..f.clone()
            };
            let mut part = format!("SELECT * FROM (SELECT {COLUMNS} FROM audit_events");
            part.push_str(&where_clause(&one, &mut binds));
            binds.push(Bind::Int(limit));
            part.push_str(&format!(
                " ORDER BY seq DESC LIMIT ${}) AS area{i}",
                binds.len()
            ));
            parts.push(part);
        }
        binds.push(Bind::Int(limit));
        format!(
            "{} ORDER BY seq DESC LIMIT ${}",
            parts.join(" UNION ALL "),
            binds.len()
        )
    } else {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
        sql.push_str(&where_clause(f, &mut binds));
        binds.push(Bind::Int(limit));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", binds.len()));
        sql
    };
    fetch(pool, &sql, binds)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

/// Matching events in chain order after `after` (exclusive), with their previous hash: exports.
pub async fn export_slice(
    db: &super::Db,
    f: &Filter,
    after: i64,
    limit: i64,
) -> Result<Vec<ChainRow>, sqlx::Error> {
    // One lower bound on `seq`, not two: SQLite's planner uses only one of them for the rowid
    // range and filters by the other, which made every slice start over from `min_seq`.
    let after = after.max(f.min_seq.map_or(0, |m| m - 1));
    let f = Filter {
        min_seq: None,
        ..f.clone()
    };
    let mut binds = Vec::new();
    let mut inner = format!("SELECT {COLUMNS} FROM audit_events");
    inner.push_str(&where_clause(&f, &mut binds));
    binds.push(Bind::Int(after));
    inner.push_str(&format!(" AND seq > ${}", binds.len()));
    binds.push(Bind::Int(limit));
    inner.push_str(&format!(" ORDER BY seq ASC LIMIT ${}", binds.len()));
    // PostgreSQL hands rows over quickly and builds JSON slowly (json_agg halved the export's
    // throughput there): plain rows.
    if db.engine == super::Engine::Postgres {
        return fetch(&db.pool, &inner, binds)
            .await?
            .iter()
            .map(chain_row_from_row)
            .collect();
    }
    // SQLite packs the whole slice into one JSON array: one row to hand over instead of
    // thousands (each row crossing its worker thread costs more than the JSON does). It
    // aggregates in the subquery's order; an `ORDER BY` inside the aggregate would sort again
    // through a temporary b-tree. The order is checked below.
    let sql = format!(
        "SELECT CAST(json_group_array(json_array({COLUMNS})) AS TEXT) AS slice FROM ({inner}) AS s"
    );
    let rows = fetch(&db.pool, &sql, binds).await?;
    let Some(packed) = rows
        .first()
        .map(|r| r.try_get::<Option<String>, _>("slice"))
        .transpose()?
        .flatten()
    else {
        return Ok(Vec::new());
    };
    type Packed = (
        i64,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let unpacked: Vec<Packed> =
        serde_json::from_str(&packed).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let mut out = Vec::with_capacity(unpacked.len());
    for r in unpacked {
        if out.last().is_some_and(|p: &ChainRow| p.event.seq >= r.0) {
            return Err(sqlx::Error::Protocol("export slice out of order".into()));
        }
        out.push(ChainRow {
            prev_hash: r.12,
            event: AuditEvent {
                seq: r.0,
                occurred_at: r.1,
                actor_subject: r.2,
                actor_email: r.3,
                actor_role: r.4,
                action: r.5,
                target_type: r.6,
                target_id: r.7,
                outcome: r.8,
                client_ip: r.9,
                user_agent: r.10,
                details: r.11,
                hash: r.13,
            },
        });
    }
    Ok(out)
}

/// How many events an export of `f` will write. Without column conditions the chain has no gaps
/// between the position bounds, so the count comes from the primary key's ends, not a scan.
pub async fn count_matching(pool: &AnyPool, f: &Filter) -> Result<u64, sqlx::Error> {
    let positions_only = f.actor.is_none()
        && f.action.is_none()
        && f.action_prefix.is_none()
        && f.target_type.is_none()
        && f.target_id.is_none()
        && f.outcome.is_none()
        && f.ip.is_none();
    let mut binds = Vec::new();
    let sql = if positions_only {
        let bounds = Filter {
            min_seq: f.min_seq,
            max_seq: f.max_seq,
            ..Default::default()
        };
        // Two subqueries: SQLite answers a lone MIN or MAX from the index's end, not both at once.
        let low = where_clause(&bounds, &mut binds);
        let high = where_clause(&bounds, &mut binds);
        format!(
            "SELECT COALESCE((SELECT MAX(seq) FROM audit_events{high}) - (SELECT MIN(seq) FROM audit_events{low}) + 1, 0)"
        )
    } else {
        format!(
            "SELECT COUNT(*) FROM audit_events{}",
            where_clause(f, &mut binds)
        )
    };
    let rows = fetch(pool, &sql, binds).await?;
    let n: i64 = match rows.first() {
        Some(r) => r.try_get(0)?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

/// The position of the first event at or after `ms` (events are appended in time order, so a
/// time range becomes a range of positions, which every index can use).
pub async fn first_seq_at(pool: &AnyPool, ms: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT seq FROM audit_events WHERE occurred_at >= $1 ORDER BY occurred_at LIMIT 1",
    )
    .bind(ms)
    .fetch_optional(pool)
    .await
}

pub async fn latest_checkpoint_seq(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_checkpoints")
        .fetch_one(pool)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// Records a checkpoint; a second one for the same position is ignored.
pub async fn insert_checkpoint(pool: &AnyPool, cp: &Checkpoint) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, created_at, public_key, signature) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
    )
    .bind(cp.seq)
    .bind(&cp.hash)
    .bind(cp.created_at)
    .bind(cp.public_key.as_deref())
    .bind(cp.signature.as_deref())
    .execute(pool)
    .await?;
    Ok(())
}

/// Checkpoints, newest first.
pub async fn checkpoints(pool: &AnyPool, limit: i64) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, hash, created_at, public_key, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Checkpoint {
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                created_at: r.try_get("created_at")?,
                public_key: r.try_get("public_key")?,
                signature: r.try_get("signature")?,
            })
        })
        .collect()
}

/// An audit row that owns its values (bulk seeding).
pub struct OwnedAuditRow {
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_subject: Option<String>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl OwnedAuditRow {
    pub fn as_row(&self) -> AuditRow<'_> {
        AuditRow {
            seq: self.seq,
            occurred_at: self.occurred_at,
            actor_subject: self.actor_subject.as_deref(),
            actor_email: self.actor_email.as_deref(),
            actor_role: self.actor_role.as_deref(),
            action: &self.action,
            target_type: self.target_type.as_deref(),
            target_id: self.target_id.as_deref(),
            outcome: &self.outcome,
            client_ip: self.client_ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            details: &self.details,
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        }
    }
}

/// (seq, hash) of the last archived-and-removed event; (0, zeros) when nothing was removed.
pub async fn anchor(pool: &AnyPool) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

/// The anchor, read inside a write transaction (after appending, which serializes purges).
pub async fn anchor_in(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

/// Moves the anchor and removes the events up to it (the trigger allows exactly those).
pub async fn purge_through(tx: &mut Tx, seq: i64, hash: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE audit_anchor SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// The details of the newest `audit.purge` event, if any.
pub async fn last_purge_details(pool: &AnyPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'audit.purge' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

pub async fn hash_at(pool: &AnyPool, seq: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1")
        .bind(seq)
        .fetch_optional(pool)
        .await
}
