//! The tamper-evident audit log: appending to the hash chain, reading, and verifying.
use crate::model::audit::{AuditEvent, AuditPage, DashboardSummary};
use crate::model::Role;
use crate::server::db::{self, audit::AuditRow, Db, Tx};
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

/// Where the request came from.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
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

/// Appends one event inside the caller's transaction, so it commits or rolls back with the change.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    meta: &RequestMeta,
    entry: Entry<'_>,
) -> Result<i64, sqlx::Error> {
    let (seq, prev_hash) = db::audit::claim_next(tx).await?;
    let details = entry.details.to_string();
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
    Ok(seq)
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

fn row_of<'a>(e: &'a AuditEvent, prev_hash: &'a str) -> AuditRow<'a> {
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

#[derive(Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: i64,
    /// The first event whose link is broken, and why.
    pub first_broken: Option<(i64, String)>,
}

/// Walks the whole chain in order and reports the first broken link.
pub async fn verify(db: &Db) -> Result<VerifyReport, sqlx::Error> {
    let (head_seq, head_hash) = db::audit::head(&db.pool).await?;
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let rows = db::audit::chain_slice(&db.pool, expected_seq - 1, 5000).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let e = &r.event;
            let broken = |why: &str| {
                Ok(VerifyReport {
                    checked,
                    first_broken: Some((e.seq, why.to_string())),
                })
            };
            if e.seq != expected_seq {
                return broken(&format!(
                    "expected event {expected_seq} next but found {} (deleted or inserted events)",
                    e.seq
                ));
            }
            if r.prev_hash != expected_prev {
                return broken("its previous-hash does not match the event before it");
            }
            if chain_hash(&row_of(e, &r.prev_hash)) != e.hash {
                return broken("its content does not match its hash (edited)");
            }
            expected_prev = e.hash.clone();
            expected_seq += 1;
            checked += 1;
        }
    }
    if checked != head_seq || expected_prev != head_hash {
        return Ok(VerifyReport {
            checked,
            first_broken: Some((checked + 1, format!("the chain ends at {checked} but the head records {head_seq} events (truncated)"))),
        });
    }
    Ok(VerifyReport {
        checked,
        first_broken: None,
    })
}

pub const PAGE_SIZE: i64 = 50;

pub async fn page(db: &Db, before: Option<i64>) -> Result<AuditPage, sqlx::Error> {
    let mut events = db::audit::page(&db.pool, before, PAGE_SIZE + 1).await?;
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
