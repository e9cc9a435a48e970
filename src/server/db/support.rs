//! SQL for MFA factors, devices, MFA resets and re-enrollment links.
use super::users::Arg;
use super::Tx;
use crate::model::support::*;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

// ------------------------------------------------------------------------------------ factors --

const FACTOR: &str = "id, user_id, kind, label, status, enrolled_at, last_used_at, credential_id, \
                      authenticator_name, aaguid, phone, email, codes_left";

fn factor(r: &AnyRow) -> Result<Factor, sqlx::Error> {
    let bad = |e: String| sqlx::Error::Decode(e.into());
    Ok(Factor {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: FactorKind::parse(&r.try_get::<String, _>("kind")?).map_err(bad)?,
        label: r.try_get("label")?,
        status: FactorStatus::parse(&r.try_get::<String, _>("status")?).map_err(bad)?,
        enrolled_at: r.try_get("enrolled_at")?,
        last_used_at: r.try_get("last_used_at")?,
        credential_id: r.try_get("credential_id")?,
        authenticator_name: r.try_get("authenticator_name")?,
        aaguid: r.try_get("aaguid")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
        codes_left: r.try_get("codes_left")?,
    })
}

pub async fn factors_of(pool: &AnyPool, user_id: &str) -> Result<Vec<Factor>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {FACTOR} FROM mfa_factors WHERE user_id = $1 ORDER BY enrolled_at, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(factor).collect()
}

pub async fn factors_of_tx(tx: &mut Tx, user_id: &str) -> Result<Vec<Factor>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {FACTOR} FROM mfa_factors WHERE user_id = $1 ORDER BY enrolled_at, id"
    ))
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(factor).collect()
}

pub async fn insert_factor(tx: &mut Tx, f: &Factor) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO mfa_factors ({FACTOR}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&f.id)
    .bind(&f.user_id)
    .bind(f.kind.as_str())
    .bind(&f.label)
    .bind(f.status.as_str())
    .bind(f.enrolled_at)
    .bind(f.last_used_at)
    .bind(f.credential_id.as_deref())
    .bind(f.authenticator_name.as_deref())
    .bind(f.aaguid.as_deref())
    .bind(f.phone.as_deref())
    .bind(f.email.as_deref())
    .bind(f.codes_left)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete_factor(tx: &mut Tx, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many factors and devices each of these users has.
pub async fn counts_of(
    pool: &AnyPool,
    user_ids: &[String],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(200) {
        let list = super::placeholders(chunk.len());
        let sql = format!(
            "SELECT u.id, (SELECT COUNT(*) FROM mfa_factors f WHERE f.user_id = u.id) AS factors, \
             (SELECT COUNT(*) FROM devices d WHERE d.owner_user_id = u.id) AS devices \
             FROM users u WHERE u.id IN ({list})"
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(pool).await? {
            out.push((
                r.try_get("id")?,
                r.try_get("factors")?,
                r.try_get("devices")?,
            ));
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------ devices --

const DEVICE: &str = "d.id, d.owner_user_id, u.email AS owner_email, u.guid_id AS owner_guid, d.name, d.platform, \
                      d.os_version, d.kind, d.fingerprint, d.trust_state, d.remembered, d.first_seen_at, \
                      d.last_seen_at, d.last_ip";

fn device(r: &AnyRow) -> Result<Device, sqlx::Error> {
    let bad = |e: String| sqlx::Error::Decode(e.into());
    Ok(Device {
        id: r.try_get("id")?,
        owner_user_id: r.try_get("owner_user_id")?,
        owner_email: r.try_get("owner_email")?,
        owner_guid: r.try_get("owner_guid")?,
        name: r.try_get("name")?,
        platform: r.try_get("platform")?,
        os_version: r.try_get("os_version")?,
        kind: DeviceKind::parse(&r.try_get::<String, _>("kind")?).map_err(bad)?,
        fingerprint: r.try_get("fingerprint")?,
        trust_state: TrustState::parse(&r.try_get::<String, _>("trust_state")?).map_err(bad)?,
        remembered: r.try_get::<i64, _>("remembered")? != 0,
        first_seen_at: r.try_get("first_seen_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        last_ip: r.try_get("last_ip")?,
    })
}

pub struct NewDevice<'a> {
    pub id: &'a str,
    pub owner_user_id: &'a str,
    pub name: &'a str,
    pub platform: &'a str,
    pub os_version: &'a str,
    pub kind: DeviceKind,
    pub fingerprint: &'a str,
    pub trust_state: TrustState,
    pub last_ip: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_device(tx: &mut Tx, d: &NewDevice<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO devices (id, owner_user_id, name, platform, os_version, kind, fingerprint, trust_state, \
         remembered, first_seen_at, last_seen_at, last_ip, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $10, $9)",
    )
    .bind(d.id)
    .bind(d.owner_user_id)
    .bind(d.name)
    .bind(d.platform)
    .bind(d.os_version)
    .bind(d.kind.as_str())
    .bind(d.fingerprint)
    .bind(d.trust_state.as_str())
    .bind(d.now)
    .bind(d.last_ip)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn device_tx(tx: &mut Tx, id: &str) -> Result<Option<Device>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DEVICE} FROM devices d JOIN users u ON u.id = d.owner_user_id WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(device).transpose()
}

pub async fn devices_of_users(
    pool: &AnyPool,
    user_ids: &[String],
) -> Result<Vec<Device>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(200) {
        let sql = format!(
            "SELECT {DEVICE} FROM devices d JOIN users u ON u.id = d.owner_user_id \
             WHERE d.owner_user_id IN ({}) ORDER BY d.last_seen_at DESC, d.id DESC",
            super::placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(pool).await? {
            out.push(device(&r)?);
        }
    }
    out.sort_by(|a, b| (b.last_seen_at, &b.id).cmp(&(a.last_seen_at, &a.id)));
    Ok(out)
}

/// The filters of a devices page, already checked.
#[derive(Default)]
pub struct DeviceFilter {
    pub owner_user_id: Option<String>,
    pub device_id: Option<String>,
    pub state: Option<TrustState>,
    pub platform: Option<String>,
    /// Only devices last seen before this time.
    pub seen_before: Option<i64>,
}

/// One keyset page, most recently seen first; `after` is the last (last_seen_at, id) shown.
pub async fn device_page(
    pool: &AnyPool,
    f: &DeviceFilter,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<Device>, sqlx::Error> {
    let mut sql = format!(
        "SELECT {DEVICE} FROM devices d JOIN users u ON u.id = d.owner_user_id WHERE 1 = 1"
    );
    let mut args = Vec::new();
    if let Some(o) = &f.owner_user_id {
        args.push(Arg::Text(o.clone()));
        sql.push_str(&format!(" AND d.owner_user_id = ${}", args.len()));
    }
    if let Some(d) = &f.device_id {
        args.push(Arg::Text(d.clone()));
        sql.push_str(&format!(" AND d.id = ${}", args.len()));
    }
    if let Some(s) = f.state {
        args.push(Arg::Text(s.as_str().into()));
        sql.push_str(&format!(" AND d.trust_state = ${}", args.len()));
    }
    if let Some(p) = &f.platform {
        args.push(Arg::Text(p.clone()));
        sql.push_str(&format!(" AND d.platform = ${}", args.len()));
    }
    if let Some(t) = f.seen_before {
        args.push(Arg::Int(t));
        sql.push_str(&format!(" AND d.last_seen_at < ${}", args.len()));
    }
    if let Some((at, id)) = after {
        args.push(Arg::Int(at));
        args.push(Arg::Text(id));
        sql.push_str(&format!(
            " AND (d.last_seen_at, d.id) < (${}, ${})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(
        " ORDER BY d.last_seen_at DESC, d.id DESC LIMIT ${}",
        args.len()
    ));
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter().map(device).collect()
}

pub async fn set_trust(
    tx: &mut Tx,
    id: &str,
    state: TrustState,
    now: i64,
) -> Result<bool, sqlx::Error> {
    // Leaving "trusted" also forgets "remember this device".
    let done = sqlx::query(
        "UPDATE devices SET trust_state = $1, remembered = CASE WHEN $1 = 'trusted' THEN remembered ELSE 0 END, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(state.as_str())
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_device(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM devices WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The MFA reset's part: every trusted device of the user becomes untrusted and nothing of the
/// user's stays remembered. Returns the ids of the devices whose trust was withdrawn.
pub async fn revoke_trust_of_user(
    tx: &mut Tx,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM devices WHERE owner_user_id = $1 AND (trust_state = 'trusted' OR remembered <> 0) ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE devices SET trust_state = CASE WHEN trust_state = 'trusted' THEN 'untrusted' ELSE trust_state END, \
         remembered = 0, updated_at = $1 WHERE owner_user_id = $2 AND (trust_state = 'trusted' OR remembered <> 0)",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(ids)
}

/// Up to `limit` devices not blocked and last seen before `before` (for the bulk block).
pub async fn stale_unblocked(
    tx: &mut Tx,
    before: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, trust_state FROM devices WHERE trust_state IN ('trusted', 'untrusted') \
         AND last_seen_at < $1 ORDER BY last_seen_at, id LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("trust_state")?)))
        .collect()
}

pub async fn count_stale_unblocked(pool: &AnyPool, before: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM devices WHERE trust_state IN ('trusted', 'untrusted') AND last_seen_at < $1",
    )
    .bind(before)
    .fetch_one(pool)
    .await
}

// ------------------------------------------------------------------------- resets and links --

pub struct ResetRow<'a> {
    pub id: &'a str,
    pub agent_email: &'a str,
    pub user_id: &'a str,
    pub user_email: &'a str,
    pub ticket: &'a str,
    pub reason: &'a str,
    pub note: &'a str,
    pub checks: &'a str,
    pub factors_removed: i64,
    pub devices_untrusted: i64,
    pub now: i64,
}

pub async fn insert_reset(tx: &mut Tx, r: &ResetRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mfa_resets (id, agent_email, user_id, user_email, ticket, reason, note, checks, \
         factors_removed, devices_untrusted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(r.id)
    .bind(r.agent_email)
    .bind(r.user_id)
    .bind(r.user_email)
    .bind(r.ticket)
    .bind(r.reason)
    .bind(r.note)
    .bind(r.checks)
    .bind(r.factors_removed)
    .bind(r.devices_untrusted)
    .bind(r.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Resets the agent completed since `since`.
pub async fn resets_by_agent_since(
    tx: &mut Tx,
    agent_email: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM mfa_resets WHERE agent_email = $1 AND created_at >= $2",
    )
    .bind(agent_email)
    .bind(since)
    .fetch_one(&mut **tx)
    .await
}

pub async fn recent_resets(
    pool: &AnyPool,
    agent_email: &str,
    limit: i64,
) -> Result<Vec<ResetRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, agent_email, user_id, user_email, ticket, reason, created_at, factors_removed FROM mfa_resets \
         WHERE agent_email = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(agent_email)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ResetRecord {
                id: r.try_get("id")?,
                agent_email: r.try_get("agent_email")?,
                user_id: r.try_get("user_id")?,
                user_email: r.try_get("user_email")?,
                ticket: r.try_get("ticket")?,
                reason: r.try_get("reason")?,
                created_at: r.try_get("created_at")?,
                factors_removed: r.try_get("factors_removed")?,
            })
        })
        .collect()
}

pub async fn insert_link(
    tx: &mut Tx,
    token_hash: &str,
    user_id: &str,
    reset_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO enrollment_links (token_hash, user_id, reset_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(reset_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Earlier unused links of the user stop working when a new reset issues one.
pub async fn expire_links_of(tx: &mut Tx, user_id: &str, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE enrollment_links SET expires_at = $1 WHERE user_id = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

pub struct LinkRow {
    pub user_id: String,
    pub reset_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn link_tx(tx: &mut Tx, token_hash: &str) -> Result<Option<LinkRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT user_id, reset_id, expires_at, used_at FROM enrollment_links WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(LinkRow {
            user_id: r.try_get("user_id")?,
            reset_id: r.try_get("reset_id")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Marks the link used, only if it still is unused (a second, concurrent use finds nothing).
pub async fn use_link(tx: &mut Tx, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE enrollment_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Failed sign-ins reported for a user since `since` (events `user.sign_in` with outcome failed).
pub async fn failed_sign_ins_since(
    pool: &AnyPool,
    user_id: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE target_type = 'user' AND target_id = $1 \
         AND action = 'user.sign_in' AND outcome = 'failed' AND occurred_at >= $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(pool)
    .await
}
