//! SQL for the GUIDs page, duplicate candidates and purging expired deprovisioned accounts.
use super::Tx;
use crate::model::users::{DuplicateCandidate, DuplicateReason, GuidSummary, PersonProfile};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

const SUMMARY: &str = "g.id, g.created_at, g.display_name, g.email, g.phone, \
     (SELECT COUNT(*) FROM users u WHERE u.guid_id = g.id) AS accounts";

fn summary(r: &AnyRow) -> Result<GuidSummary, sqlx::Error> {
    Ok(GuidSummary {
        guid: r.try_get("id")?,
        created_at: r.try_get("created_at")?,
        profile: PersonProfile {
            display_name: r.try_get("display_name")?,
            email: r.try_get("email")?,
            phone: r.try_get("phone")?,
        },
        accounts: r.try_get("accounts")?,
    })
}

/// People, newest first, one keyset page after `(created_at, id)`. Absorbed GUIDs are left out.
pub async fn page(
    pool: &AnyPool,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<GuidSummary>, sqlx::Error> {
    let rows = match after {
        None => {
            sqlx::query(&format!(
                "SELECT {SUMMARY} FROM guids g WHERE g.merged_into IS NULL \
                 ORDER BY g.created_at DESC, g.id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        Some((at, id)) => {
            sqlx::query(&format!(
                "SELECT {SUMMARY} FROM guids g WHERE g.merged_into IS NULL AND (g.created_at, g.id) < ($1, $2) \
                 ORDER BY g.created_at DESC, g.id DESC LIMIT $3"
            ))
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(summary).collect()
}

/// GUIDs starting with `prefix`, absorbed ones included (they resolve to their survivor).
pub async fn by_prefix(
    pool: &AnyPool,
    prefix: &str,
    limit: i64,
) -> Result<Vec<GuidSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {SUMMARY} FROM guids g WHERE g.id >= $1 AND g.id < $2 ORDER BY g.id LIMIT $3"
    ))
    .bind(prefix)
    .bind(format!("{prefix}\u{10FFFF}"))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(summary).collect()
}

pub async fn by_ids(pool: &AnyPool, ids: &[String]) -> Result<Vec<GuidSummary>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {SUMMARY} FROM guids g WHERE g.id IN ({}) ORDER BY g.display_name, g.id",
        super::placeholders(ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter().map(summary).collect()
}

/// The join that finds two accounts of different people sharing evidence, per reason.
fn pair_join(reason: DuplicateReason) -> (&'static str, &'static str) {
    match reason {
        DuplicateReason::Phone => ("a.phone", "b.phone = a.phone AND a.phone IS NOT NULL"),
        DuplicateReason::VerifiedEmail => (
            "a.email_key",
            "b.email_key = a.email_key AND a.email_verified = 1 AND b.email_verified = 1",
        ),
        DuplicateReason::ExternalId => (
            "a.external_id",
            "b.external_id = a.external_id AND a.external_id IS NOT NULL AND b.source <> a.source",
        ),
        DuplicateReason::EmployeeNumber => (
            "a.employee_number",
            "b.employee_number = a.employee_number AND a.employee_number IS NOT NULL",
        ),
    }
}

fn candidate(r: &AnyRow, reason: DuplicateReason) -> Result<DuplicateCandidate, sqlx::Error> {
    Ok(DuplicateCandidate {
        guid: r.try_get("g1")?,
        display_name: r.try_get::<Option<String>, _>("n1")?.unwrap_or_default(),
        other_guid: r.try_get("g2")?,
        other_display_name: r.try_get::<Option<String>, _>("n2")?.unwrap_or_default(),
        reason,
        evidence: r.try_get("evidence")?,
    })
}

/// Pairs of people sharing evidence of `reason`, ordered by the evidence; keyset after
/// `(evidence, guid, other_guid)`.
pub async fn duplicate_pairs(
    pool: &AnyPool,
    reason: DuplicateReason,
    after: Option<(String, String, String)>,
    limit: i64,
) -> Result<Vec<DuplicateCandidate>, sqlx::Error> {
    let (key, join) = pair_join(reason);
    let mut sql = format!(
        "SELECT DISTINCT {key} AS evidence, a.guid_id AS g1, b.guid_id AS g2, ga.display_name AS n1, gb.display_name AS n2 \
         FROM users a JOIN users b ON {join} AND b.guid_id > a.guid_id \
         JOIN guids ga ON ga.id = a.guid_id JOIN guids gb ON gb.id = b.guid_id"
    );
    let rows = match after {
        None => {
            sql.push_str(" ORDER BY evidence, g1, g2 LIMIT $1");
            sqlx::query(&sql).bind(limit).fetch_all(pool).await?
        }
        Some((e, g1, g2)) => {
            sql.push_str(&format!(
                " WHERE ({key}, a.guid_id, b.guid_id) > ($1, $2, $3) ORDER BY evidence, g1, g2 LIMIT $4"
            ));
            sqlx::query(&sql)
                .bind(e)
                .bind(g1)
                .bind(g2)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    };
    rows.iter().map(|r| candidate(r, reason)).collect()
}

/// Other people sharing evidence with the accounts of `guid`.
pub async fn duplicates_of(
    pool: &AnyPool,
    guid: &str,
    reason: DuplicateReason,
    limit: i64,
) -> Result<Vec<DuplicateCandidate>, sqlx::Error> {
    let (key, join) = pair_join(reason);
    let sql = format!(
        "SELECT DISTINCT {key} AS evidence, a.guid_id AS g1, b.guid_id AS g2, ga.display_name AS n1, gb.display_name AS n2 \
         FROM users a JOIN users b ON {join} AND b.guid_id <> a.guid_id \
         JOIN guids ga ON ga.id = a.guid_id JOIN guids gb ON gb.id = b.guid_id \
         WHERE a.guid_id = $1 ORDER BY evidence, g2 LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(guid)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| candidate(r, reason)).collect()
}

/// Deprovisioned accounts whose restore window ended before `cutoff`: (id, guid, email).
pub async fn expired_deprovisioned(
    pool: &AnyPool,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, guid_id, email FROM users WHERE deprovisioned_at IS NOT NULL AND deprovisioned_at < $1 \
         AND status = 'deprovisioned' ORDER BY deprovisioned_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("guid_id")?, r.try_get("email")?)))
        .collect()
}

/// What a purge removed or changed with an account, each object named for the audit record.
#[derive(Debug, Default, serde::Serialize)]
pub struct Purged {
    pub api_keys: Vec<serde_json::Value>,
    pub factors: Vec<serde_json::Value>,
    pub devices: Vec<serde_json::Value>,
    pub enrollment_links: Vec<serde_json::Value>,
    /// Applications this account owned: they stay, without an owner.
    pub applications_unowned: Vec<serde_json::Value>,
    /// Groups the account was a member of.
    pub groups_left: Vec<serde_json::Value>,
}

/// Reads `sql` (one `$1`: the user id) as JSON objects: `text` columns, then `times` (integers).
async fn named(
    tx: &mut Tx,
    sql: &str,
    id: &str,
    text: &[&str],
    times: &[&str],
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(sql).bind(id).fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            for c in text {
                let v: Option<String> = r.try_get(*c)?;
                o.insert((*c).to_string(), serde_json::json!(v));
            }
            for c in times {
                let v: Option<i64> = r.try_get(*c)?;
                o.insert((*c).to_string(), serde_json::json!(v));
            }
            Ok(serde_json::Value::Object(o))
        })
        .collect()
}

/// Deletes one account if it is still deprovisioned past `cutoff`, with its API keys, MFA
/// factors, devices and re-enrollment links, and clears it as owner of applications; returns
/// each of them by name. `None` when it was restored (or purged) meanwhile. The account's row is
/// locked first (PostgreSQL), so nothing can be added to it between the reading and the deletion.
pub async fn purge_user(tx: &mut Tx, id: &str, cutoff: i64) -> Result<Option<Purged>, sqlx::Error> {
    let lock = if super::staff::is_postgres(tx) {
        " FOR UPDATE"
    } else {
        ""
    };
    let found: Option<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM users WHERE id = $1 AND status = 'deprovisioned' AND deprovisioned_at < $2{lock}"
    ))
    .bind(id)
    .bind(cutoff)
    .fetch_optional(&mut **tx)
    .await?;
    if found.is_none() {
        return Ok(None);
    }
    let guid: String = sqlx::query_scalar("SELECT guid_id FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let purged = Purged {
        api_keys: named(
            tx,
            "SELECT id, name, application_id, revoked_at FROM api_keys WHERE owner_user_id = $1 ORDER BY id",
            id,
            &["id", "name", "application_id"],
            &["revoked_at"],
        )
        .await?,
        factors: named(
            tx,
            "SELECT id, kind, label FROM mfa_factors WHERE user_id = $1 ORDER BY id",
            id,
            &["id", "kind", "label"],
            &[],
        )
        .await?,
        devices: named(
            tx,
            "SELECT id, name, platform, fingerprint, trust_state FROM devices WHERE owner_user_id = $1 ORDER BY id",
            id,
            &["id", "name", "platform", "fingerprint", "trust_state"],
            &[],
        )
        .await?,
        enrollment_links: named(
            tx,
            "SELECT reset_id, created_at, expires_at, used_at FROM enrollment_links WHERE user_id = $1 ORDER BY created_at, reset_id",
            id,
            &["reset_id"],
            &["created_at", "expires_at", "used_at"],
        )
        .await?,
        applications_unowned: named(
            tx,
            "SELECT id, name FROM applications WHERE owner_user_id = $1 ORDER BY id",
            id,
            &["id", "name"],
            &[],
        )
        .await?,
        groups_left: named(
            tx,
            "SELECT g.id, g.name FROM group_members m JOIN directory_groups g ON g.id = m.group_id \
             WHERE m.user_id = $1 ORDER BY g.id",
            id,
            &["id", "name"],
            &[],
        )
        .await?,
    };
    // The Groups listing the account are sent again without it.
    super::outbox::groups_of_user_changed(tx, id, super::now_ms()).await?;
    for sql in [
        "UPDATE directory_groups SET member_count = member_count - 1 \
         WHERE id IN (SELECT group_id FROM group_members WHERE user_id = $1)",
        "DELETE FROM group_members WHERE user_id = $1",
        "DELETE FROM api_keys WHERE owner_user_id = $1",
        "DELETE FROM mfa_factors WHERE user_id = $1",
        "DELETE FROM devices WHERE owner_user_id = $1",
        "DELETE FROM enrollment_links WHERE user_id = $1",
        "DELETE FROM user_name_tokens WHERE user_id = $1",
        "UPDATE applications SET owner_user_id = NULL WHERE owner_user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    // Targets that made an account for the person hear of it (the last account gone: deleted).
    super::outbox::person_changed(tx, &guid, super::now_ms()).await?;
    Ok(Some(purged))
}
