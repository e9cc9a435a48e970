//! SQL for revoke everywhere and sign out everywhere: what one action on a person reaches (their
//! accounts, keys, staff tokens and console sessions), the outbox messages it wrote, and the
//! record of the action with its targets.
use super::Tx;
use crate::model::revocations::{Revocation, RevocationKind, RevocationPreview};
use crate::model::users::UserDetail;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// Takes the audit chain's lock now rather than at the first record. Every Security Event Token
/// is queued by an audit append (`db::ssf::announce`), so while this transaction holds the lock
/// no other one can queue a token: the tokens after [`outbox_high_water`] are this action's.
pub async fn hold_audit_chain(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest outbox message visible now.
pub async fn outbox_high_water(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM outbox")
        .fetch_one(&mut **tx)
        .await
}

/// Every account of a person, oldest first.
pub async fn accounts(tx: &mut Tx, guid: &str) -> Result<Vec<UserDetail>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM users WHERE guid_id = $1 ORDER BY created_at, id",
        super::users::DETAIL
    ))
    .bind(guid)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(super::users::detail).collect()
}

/// `(id, name)` of every key owned by these accounts that still works (not revoked, not expired).
pub async fn live_keys(
    tx: &mut Tx,
    user_ids: &[String],
    now: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT id, name FROM api_keys WHERE revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $1) AND owner_user_id IN ({}) ORDER BY created_at, id",
        placeholders_from(2, user_ids.len())
    );
    let mut q = sqlx::query(&sql).bind(now);
    for id in user_ids {
        q = q.bind(id);
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

/// `(id, name, owner email)` of the live personal tokens of staff with one of `emails`
/// (lowercase): issued under that email, or to a subject that signed in with it since.
pub async fn live_staff_tokens(
    tx: &mut Tx,
    emails: &[String],
    now: i64,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let list = placeholders_from(2, emails.len());
    let sql = format!(
        "SELECT id, name, owner_email FROM api_tokens WHERE kind = 'personal' \
         AND revoked_at IS NULL AND expires_at > $1 AND (LOWER(owner_email) IN ({list}) \
         OR owner_subject IN (SELECT subject FROM token_owners WHERE LOWER(email) IN ({list})) \
         OR owner_subject IN (SELECT subject FROM console_sessions WHERE LOWER(email) IN ({list}))) \
         ORDER BY created_at, id"
    );
    let mut q = sqlx::query(&sql).bind(now);
    for e in emails {
        q = q.bind(e);
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("name")?,
                r.try_get("owner_email")?,
            ))
        })
        .collect()
}

/// `(session id, email, role)` of the open console sessions of staff with one of `emails`.
pub async fn open_staff_sessions(
    tx: &mut Tx,
    emails: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT id, email, role FROM console_sessions WHERE ended_at IS NULL \
         AND LOWER(email) IN ({}) ORDER BY signed_in_at, id",
        placeholders_from(1, emails.len())
    );
    let mut q = sqlx::query(&sql);
    for e in emails {
        q = q.bind(e);
    }
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?, r.try_get("role")?)))
        .collect()
}

/// A message this action wrote to an outbox target: (target id, target name, console id, seq).
pub struct Written {
    pub target_id: String,
    pub name: String,
    pub page_id: String,
    pub seq: i64,
}

fn written(r: &AnyRow) -> Result<Written, sqlx::Error> {
    Ok(Written {
        target_id: r.try_get("target_id")?,
        name: r.try_get("name")?,
        page_id: r.try_get("page_id")?,
        seq: r.try_get("seq")?,
    })
}

/// The messages about the person written after `after` to provisioning targets, with their
/// application (a message says only "this person changed", so every one about them counts).
pub async fn application_messages(
    tx: &mut Tx,
    after: i64,
    guid: &str,
) -> Result<Vec<Written>, sqlx::Error> {
    sqlx::query(
        "SELECT o.target_id AS target_id, a.name AS name, a.id AS page_id, o.seq AS seq \
         FROM outbox o JOIN provisioning_targets t ON t.id = o.target_id \
         JOIN applications a ON a.id = t.application_id \
         WHERE o.seq > $1 AND o.subject = $2 ORDER BY a.name, o.target_id, o.seq",
    )
    .bind(after)
    .bind(guid)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(written)
    .collect()
}

/// The tokens of `event_types` queued after `after` for every stream, with the receiver.
/// Called while holding the audit chain ([`hold_audit_chain`]), so they are this action's.
pub async fn receiver_messages(
    tx: &mut Tx,
    after: i64,
    event_types: &[&str],
) -> Result<Vec<Written>, sqlx::Error> {
    let sql = format!(
        "SELECT o.target_id AS target_id, s.name AS name, s.id AS page_id, o.seq AS seq \
         FROM outbox o JOIN ssf_events e ON e.jti = o.subject AND e.stream_id = o.target_id \
         JOIN ssf_streams s ON s.id = o.target_id \
         WHERE o.seq > $1 AND e.event_type IN ({}) ORDER BY s.name, o.target_id, o.seq",
        placeholders_from(2, event_types.len())
    );
    let mut q = sqlx::query(&sql).bind(after);
    for t in event_types {
        q = q.bind(*t);
    }
    q.fetch_all(&mut **tx).await?.iter().map(written).collect()
}

pub struct NewRevocation<'a> {
    pub id: &'a str,
    pub guid: &'a str,
    pub kind: RevocationKind,
    pub actor: &'a str,
    pub reason: &'a str,
    pub ticket: &'a str,
    pub now: i64,
}

pub async fn insert(tx: &mut Tx, r: &NewRevocation<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO revocations (id, guid_id, kind, actor, reason, ticket, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id)
    .bind(r.guid)
    .bind(r.kind.as_str())
    .bind(r.actor)
    .bind(r.reason)
    .bind(r.ticket)
    .bind(r.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One target of an action as stored; an outbound target's state is read from its messages.
#[derive(Clone, Debug, Default)]
pub struct TargetRow {
    pub kind: String,
    pub target_id: String,
    pub name: String,
    pub href: String,
    pub detail: String,
    pub messages: Vec<i64>,
}

pub async fn insert_target(
    tx: &mut Tx,
    revocation_id: &str,
    ord: i64,
    t: &TargetRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO revocation_targets (revocation_id, ord, kind, target_id, name, href, detail, messages) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(revocation_id)
    .bind(ord)
    .bind(&t.kind)
    .bind(&t.target_id)
    .bind(&t.name)
    .bind(&t.href)
    .bind(&t.detail)
    .bind(serde_json::to_string(&t.messages).unwrap_or_else(|_| "[]".into()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const REVOCATION: &str =
    "SELECT id, guid_id, kind, actor, reason, ticket, created_at, settled_at, outcome FROM revocations";

/// A revocation and, once settled, each target's outcome as recorded (JSON).
fn revocation(r: &AnyRow) -> Result<(Revocation, String), sqlx::Error> {
    let settled_at: i64 = r.try_get("settled_at")?;
    Ok((
        Revocation {
            id: r.try_get("id")?,
            guid: r.try_get("guid_id")?,
            kind: RevocationKind::parse(&r.try_get::<String, _>("kind")?),
            actor: r.try_get("actor")?,
            reason: r.try_get("reason")?,
            ticket: r.try_get("ticket")?,
            created_at: r.try_get("created_at")?,
            settled_at: (settled_at > 0).then_some(settled_at),
        },
        r.try_get("outcome")?,
    ))
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<(Revocation, String)>, sqlx::Error> {
    sqlx::query(&format!("{REVOCATION} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(revocation)
        .transpose()
}

/// A person's actions, newest first.
pub async fn of_person(
    pool: &AnyPool,
    guid: &str,
    limit: i64,
) -> Result<Vec<Revocation>, sqlx::Error> {
    sqlx::query(&format!(
        "{REVOCATION} WHERE guid_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(guid)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| revocation(r).map(|(rev, _)| rev))
    .collect()
}

/// Actions not settled yet, oldest first.
pub async fn open(pool: &AnyPool, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM revocations WHERE settled_at = 0 ORDER BY created_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn targets<'e, E>(e: E, id: &str) -> Result<Vec<TargetRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT kind, target_id, name, href, detail, messages FROM revocation_targets \
         WHERE revocation_id = $1 ORDER BY ord",
    )
    .bind(id)
    .fetch_all(e)
    .await?
    .iter()
    .map(|r| {
        Ok(TargetRow {
            kind: r.try_get("kind")?,
            target_id: r.try_get("target_id")?,
            name: r.try_get("name")?,
            href: r.try_get("href")?,
            detail: r.try_get("detail")?,
            messages: serde_json::from_str(&r.try_get::<String, _>("messages")?)
                .unwrap_or_default(),
        })
    })
    .collect()
}

/// Where an outbox message stands.
#[derive(Clone, Debug)]
pub struct MessageState {
    pub seq: i64,
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
}

/// The states of these messages (a message dropped with its receiver's stream is absent).
pub async fn message_states<'c, C>(conn: C, seqs: &[i64]) -> Result<Vec<MessageState>, sqlx::Error>
where
    C: sqlx::Acquire<'c, Database = sqlx::Any>,
{
    let mut conn = conn.acquire().await?;
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(500) {
        let sql = format!(
            "SELECT seq, state, attempts, last_error FROM outbox WHERE seq IN ({})",
            super::placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q.bind(*s);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(MessageState {
                seq: r.try_get("seq")?,
                state: r.try_get("state")?,
                attempts: r.try_get("attempts")?,
                error: r.try_get("last_error")?,
            });
        }
    }
    Ok(out)
}

/// Marks the action settled with each target's outcome, unless someone already did: exactly
/// one caller gets `true`.
pub async fn settle(tx: &mut Tx, id: &str, now: i64, outcome: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE revocations SET settled_at = $1, outcome = $2 WHERE id = $3 AND settled_at = 0",
    )
    .bind(now.max(1))
    .bind(outcome)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What an action on the person would reach now, for the console's warning (`emails`
/// lowercase). Receivers are counted by the caller, which knows what their streams deliver.
pub async fn preview(
    pool: &AnyPool,
    guid: &str,
    emails: &[String],
    now: i64,
) -> Result<RevocationPreview, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let accounts = accounts(&mut tx, guid).await?;
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let keys = if ids.is_empty() {
        0
    } else {
        live_keys(&mut tx, &ids, now).await?.len() as i64
    };
    let (tokens, sessions) = if emails.is_empty() {
        (0, 0)
    } else {
        (
            live_staff_tokens(&mut tx, emails, now).await?.len() as i64,
            open_staff_sessions(&mut tx, emails).await?.len() as i64,
        )
    };
    let applications: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM provisioning_targets t \
         WHERE EXISTS (SELECT 1 FROM provisioned_accounts a WHERE a.target_id = t.id AND a.guid_id = $1) \
            OR EXISTS (SELECT 1 FROM app_assignments x WHERE x.application_id = t.application_id AND x.guid_id = $1) \
            OR EXISTS (SELECT 1 FROM app_group_assignments ag JOIN group_members m ON m.group_id = ag.group_id \
                       JOIN users u ON u.id = m.user_id WHERE ag.application_id = t.application_id AND u.guid_id = $1)",
    )
    .bind(guid)
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    Ok(RevocationPreview {
        suspendable: accounts
            .iter()
            .filter(|a| a.status == crate::model::users::UserStatus::Active)
            .count() as i64,
        accounts: accounts.len() as i64,
        keys,
        tokens,
        sessions,
        applications,
        receivers: 0,
    })
}

/// The events requested by every stream that would hear a change now (configured, enabled or
/// paused).
pub async fn listening_streams(pool: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT events_requested FROM ssf_streams WHERE configured = 1 AND status IN ('active', 'paused')",
    )
    .fetch_all(pool)
    .await
}

/// `$from, $from+1, ...` for an `IN (...)` list of `n` values after `from - 1` other parameters.
fn placeholders_from(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
