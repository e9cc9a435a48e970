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

/// Deletes one account if it is still deprovisioned past `cutoff`; false when it was restored meanwhile.
pub async fn purge_user(tx: &mut Tx, id: &str, cutoff: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM user_name_tokens WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query(
        "DELETE FROM users WHERE id = $1 AND status = 'deprovisioned' AND deprovisioned_at < $2",
    )
    .bind(id)
    .bind(cutoff)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
