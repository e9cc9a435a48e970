//! SQL for the outbox: messages written in the transaction of the change they announce, and the
//! queue operations of the delivery worker (a lease per target, the head of its queue, the
//! outcome of an attempt).
//!
//! A SCIM target's message says only "this person changed" (its subject is the GUID) or "this
//! group changed" (`group:<group id>`); the worker reads the person or group as they are when it
//! delivers, so messages can be merged and never carry stale data.
use super::Tx;
use crate::model::provisioning::DeliveryFailure;
use sqlx::{AnyPool, Row};

/// The targets that must hear about person `p.g`: they have an account for them, or their
/// application is assigned to them directly or through a group of one of their accounts.
const RELEVANT_TARGETS: &str = "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
     SELECT t.id, p.g, $2, 'pending', $2 FROM provisioning_targets t, p \
     WHERE EXISTS (SELECT 1 FROM provisioned_accounts a WHERE a.target_id = t.id AND a.guid_id = p.g) \
        OR EXISTS (SELECT 1 FROM app_assignments x WHERE x.application_id = t.application_id AND x.guid_id = p.g) \
        OR EXISTS (SELECT 1 FROM app_group_assignments ag JOIN group_members m ON m.group_id = ag.group_id \
                   JOIN users u ON u.id = m.user_id WHERE ag.application_id = t.application_id AND u.guid_id = p.g)";

/// Announces a change to a person (GUID) to every target concerned.
pub async fn person_changed(tx: &mut Tx, guid: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("WITH p (g) AS (SELECT $1) {RELEVANT_TARGETS}"))
        .bind(guid)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Announces a change to an account's person.
pub async fn user_changed(tx: &mut Tx, user_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "WITH p (g) AS (SELECT guid_id FROM users WHERE id = $1) {RELEVANT_TARGETS}"
    ))
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Announces to an application's targets that every member of a group changed (the group was
/// assigned or unassigned).
pub async fn group_changed_for_app(
    tx: &mut Tx,
    app_id: &str,
    group_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT DISTINCT t.id, u.guid_id, $3, 'pending', $3 FROM provisioning_targets t \
         JOIN group_members m ON m.group_id = $2 JOIN users u ON u.id = m.user_id \
         WHERE t.application_id = $1",
    )
    .bind(app_id)
    .bind(group_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Announces to the targets of every application assigned to a group that all its members
/// changed (the group is being deleted). Call before the members are removed.
pub async fn group_dissolving(tx: &mut Tx, group_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT DISTINCT t.id, u.guid_id, $2, 'pending', $2 FROM app_group_assignments ag \
         JOIN provisioning_targets t ON t.application_id = ag.application_id \
         JOIN group_members m ON m.group_id = ag.group_id JOIN users u ON u.id = m.user_id \
         WHERE ag.group_id = $1",
    )
    .bind(group_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The subject of a SCIM target's message about a group (person subjects are GUIDs, `g_…`).
pub const GROUP_SUBJECT_PREFIX: &str = "group:";

/// The group a message is about, when its subject is a group's.
pub fn group_of_subject(subject: &str) -> Option<&str> {
    subject.strip_prefix(GROUP_SUBJECT_PREFIX)
}

/// Announces a change to a group (name, members, deletion) to the targets that send it: those
/// whose application is assigned the group, and those holding a Group Gatehouse made for it
/// (so an unassigned or deleted group is removed there). Call after the members' own messages,
/// so a new member's account is made before the group that lists them.
pub async fn group_changed(tx: &mut Tx, group_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT t.id, $2, $3, 'pending', $3 FROM provisioning_targets t \
         WHERE EXISTS (SELECT 1 FROM app_group_assignments ag \
                       WHERE ag.application_id = t.application_id AND ag.group_id = $1) \
            OR EXISTS (SELECT 1 FROM provisioned_groups pg WHERE pg.target_id = t.id AND pg.group_id = $1)",
    )
    .bind(group_id)
    .bind(format!("{GROUP_SUBJECT_PREFIX}{group_id}"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Announces a change to every group an account belongs to (it is leaving them all: purge).
/// Call before the memberships are removed.
pub async fn groups_of_user_changed(
    tx: &mut Tx,
    user_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    for group_id in groups {
        group_changed(tx, &group_id, now).await?;
    }
    Ok(())
}

/// Announces an application's group to its target (the group was assigned or unassigned).
/// Call after `group_changed_for_app`, so the members' accounts go first.
pub async fn group_for_app(
    tx: &mut Tx,
    app_id: &str,
    group_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT t.id, $2, $3, 'pending', $3 FROM provisioning_targets t WHERE t.application_id = $1",
    )
    .bind(app_id)
    .bind(format!("{GROUP_SUBJECT_PREFIX}{group_id}"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues one group for one target (the worker's own requeue, see `scim_out::regroup`).
pub async fn group_for_target(
    tx: &mut Tx,
    target_id: &str,
    group_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         VALUES ($1, $2, $3, 'pending', $3)",
    )
    .bind(target_id)
    .bind(format!("{GROUP_SUBJECT_PREFIX}{group_id}"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// After the worker deleted a person's account in a target: every Group Gatehouse made there is
/// sent again, since the person's memberships are already gone and cannot say which listed them.
pub async fn groups_made_in_target(
    tx: &mut Tx,
    target_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT target_id, $2 || group_id, $3, 'pending', $3 FROM provisioned_groups \
         WHERE target_id = $1 ORDER BY group_id",
    )
    .bind(target_id)
    .bind(GROUP_SUBJECT_PREFIX)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A new target hears of everyone assigned to its application, directly or through a group.
pub async fn everyone_assigned(
    tx: &mut Tx,
    target_id: &str,
    app_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT $1, g, $3, 'pending', $3 FROM ( \
           SELECT guid_id AS g FROM app_assignments WHERE application_id = $2 \
           UNION SELECT u.guid_id AS g FROM app_group_assignments ag \
             JOIN group_members m ON m.group_id = ag.group_id JOIN users u ON u.id = m.user_id \
             WHERE ag.application_id = $2) AS people ORDER BY g",
    )
    .bind(target_id)
    .bind(app_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    // Then its groups, after the people: their accounts exist when the groups are made.
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT $1, $3 || group_id, $4, 'pending', $4 FROM app_group_assignments \
         WHERE application_id = $2 ORDER BY group_id",
    )
    .bind(target_id)
    .bind(app_id)
    .bind(GROUP_SUBJECT_PREFIX)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The table holding a target: the outbox serves provisioning targets (`pt_…`), webhook
/// endpoints (`wh_…`) and Shared Signals streams (`ssf_…`), which carry the same status,
/// lease and success columns.
fn targets_table(target_id: &str) -> &'static str {
    if target_id.starts_with(super::webhooks::ID_PREFIX) {
        "webhook_endpoints"
    } else if target_id.starts_with(super::ssf::ID_PREFIX) {
        "ssf_streams"
    } else {
        "provisioning_targets"
    }
}

/// Targets whose oldest pending message is due and that no live instance holds.
pub async fn due_targets(pool: &AnyPool, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT t.id FROM (SELECT id, status, lease_until FROM provisioning_targets \
                            UNION ALL SELECT id, status, lease_until FROM webhook_endpoints \
                            UNION ALL SELECT id, status, lease_until FROM ssf_streams \
                            WHERE configured = 1) t \
         WHERE t.status = 'active' AND t.lease_until < $1 \
         AND (SELECT o.next_attempt_at FROM outbox o WHERE o.target_id = t.id AND o.state = 'pending' \
              ORDER BY o.seq LIMIT 1) <= $1 ORDER BY t.id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Takes (or extends) the target's lease; false when another instance holds it.
pub async fn lease(
    pool: &AnyPool,
    target_id: &str,
    owner: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE {} SET lease_owner = $1, lease_until = $2 \
         WHERE id = $3 AND (lease_until < $4 OR lease_owner = $1)",
        targets_table(target_id)
    ))
    .bind(owner)
    .bind(until)
    .bind(target_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release(pool: &AnyPool, target_id: &str, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE {} SET lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2",
        targets_table(target_id)
    ))
    .bind(target_id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

pub struct Message {
    pub seq: i64,
    pub subject: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
}

/// The oldest pending message of a target: messages go out in order, so a later one waits
/// while this one is retried.
pub async fn head(pool: &AnyPool, target_id: &str) -> Result<Option<Message>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, subject, attempts, next_attempt_at FROM outbox \
         WHERE target_id = $1 AND state = 'pending' ORDER BY seq LIMIT 1",
    )
    .bind(target_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Message {
            seq: r.try_get("seq")?,
            subject: r.try_get("subject")?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
        })
    })
    .transpose()
}

/// The newest pending message about the same person: delivering the person as they are now
/// answers all of them.
pub async fn newest_about(
    pool: &AnyPool,
    target_id: &str,
    subject: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) FROM outbox WHERE target_id = $1 AND subject = $2 AND state = 'pending'",
    )
    .bind(target_id)
    .bind(subject)
    .fetch_one(pool)
    .await
}

/// Marks a person's messages up to `upto` delivered, if this instance still holds the target.
pub async fn delivered(
    db: &super::Db,
    target_id: &str,
    owner: &str,
    subject: &str,
    upto: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let held = sqlx::query(&format!(
        "UPDATE {} SET last_success_at = $1 WHERE id = $2 AND lease_owner = $3",
        targets_table(target_id)
    ))
    .bind(now)
    .bind(target_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if held.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE outbox SET state = 'delivered', done_at = $1, last_error = NULL \
         WHERE target_id = $2 AND subject = $3 AND state = 'pending' AND seq <= $4",
    )
    .bind(now)
    .bind(target_id)
    .bind(subject)
    .bind(upto)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a failed attempt: the message is tried again at `retry_at`, or is dead when `None`.
pub async fn failed(
    pool: &AnyPool,
    seq: i64,
    error: &str,
    now: i64,
    retry_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
         state = CASE WHEN $2 = 1 THEN 'pending' ELSE 'dead' END, next_attempt_at = $3, \
         done_at = CASE WHEN $2 = 1 THEN NULL ELSE $4 END WHERE seq = $5 AND state = 'pending'",
    )
    .bind(error)
    .bind(retry_at.is_some() as i64)
    .bind(retry_at.unwrap_or(now))
    .bind(now)
    .bind(seq)
    .execute(pool)
    .await?;
    Ok(())
}

/// Dead-lettered and waiting messages are due now again, with their attempts counted afresh.
pub async fn retry_now(tx: &mut Tx, target_id: &str, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, done_at = NULL \
         WHERE target_id = $2 AND (state = 'dead' OR (state = 'pending' AND attempts > 0))",
    )
    .bind(now)
    .bind(target_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Every message from `seq` on is sent again, in order (delivered ones too).
pub async fn replay_from(
    tx: &mut Tx,
    target_id: &str,
    seq: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, done_at = NULL \
         WHERE target_id = $2 AND seq >= $3 AND state <> 'pending'",
    )
    .bind(now)
    .bind(target_id)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Pending and dead-lettered message counts of a target.
pub async fn counts(pool: &AnyPool, target_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
                COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS dead \
         FROM outbox WHERE target_id = $1 AND state <> 'delivered'",
    )
    .bind(target_id)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("pending")?, row.try_get("dead")?))
}

/// The newest failures (retrying or dead), at most `limit`.
pub async fn failures(
    pool: &AnyPool,
    target_id: &str,
    limit: i64,
) -> Result<Vec<DeliveryFailure>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, subject, state, attempts, last_error, next_attempt_at, done_at FROM outbox \
         WHERE target_id = $1 AND state <> 'delivered' AND last_error IS NOT NULL \
         ORDER BY seq DESC LIMIT $2",
    )
    .bind(target_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            let at = if state == "dead" {
                r.try_get::<Option<i64>, _>("done_at")?.unwrap_or(0)
            } else {
                r.try_get("next_attempt_at")?
            };
            Ok(DeliveryFailure {
                seq: r.try_get("seq")?,
                guid: r.try_get("subject")?,
                state,
                attempts: r.try_get("attempts")?,
                error: r
                    .try_get::<Option<String>, _>("last_error")?
                    .unwrap_or_default(),
                at,
            })
        })
        .collect()
}

/// Messages about a person not yet delivered to a target, and the newest error among them.
pub async fn about_person(
    pool: &AnyPool,
    target_id: &str,
    guid: &str,
) -> Result<(i64, Option<String>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(CASE WHEN last_error IS NOT NULL THEN seq END) AS failing FROM outbox \
         WHERE target_id = $1 AND subject = $2 AND state <> 'delivered'",
    )
    .bind(target_id)
    .bind(guid)
    .fetch_one(pool)
    .await?;
    let n: i64 = row.try_get("n")?;
    let failing: Option<i64> = row.try_get("failing")?;
    let error = match failing {
        Some(seq) => sqlx::query_scalar("SELECT last_error FROM outbox WHERE seq = $1")
            .bind(seq)
            .fetch_optional(pool)
            .await?
            .flatten(),
        None => None,
    };
    Ok((n, error))
}
