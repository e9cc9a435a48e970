//! SQL for matching the subjects of received Security Event Tokens (Gatehouse as receiver) to
//! accounts and devices, and the one write a sign-in event makes outside the console's rules.
use super::Tx;
use sqlx::Row;

/// Users with this (normalized) email, within a source when given.
pub async fn users_by_email(
    tx: &mut Tx,
    email: &str,
    source: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    match source {
        Some(source) => {
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1 AND source = $2")
                .bind(email)
                .bind(source)
                .fetch_all(&mut **tx)
                .await
        }
        None => {
            sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_all(&mut **tx)
                .await
        }
    }
}

/// `(id, source)` of the users a query finds.
async fn ids_and_sources(
    tx: &mut Tx,
    sql: &str,
    value: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(sql).bind(value).fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("source")?)))
        .collect()
}

fn within(rows: Vec<(String, String)>, source: Option<&str>) -> Vec<String> {
    rows.into_iter()
        .filter(|(_, s)| source.is_none_or(|want| want == s))
        .map(|(id, _)| id)
        .collect()
}

/// The user with this id, if any (within a source when given).
pub async fn user_by_id(
    tx: &mut Tx,
    id: &str,
    source: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let rows = ids_and_sources(tx, "SELECT id, source FROM users WHERE id = $1", id).await?;
    Ok(within(rows, source).into_iter().next())
}

/// The accounts of a person (GUID), following merges to the surviving GUID.
pub async fn users_of_guid(
    tx: &mut Tx,
    guid: &str,
    source: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut guid = guid.to_string();
    // A merged GUID points at its survivor; a chain is short (one hop per merge).
    for _ in 0..8 {
        let merged: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM guids WHERE id = $1")
                .bind(&guid)
                .fetch_optional(&mut **tx)
                .await?;
        match merged {
            Some(Some(next)) => guid = next,
            Some(None) => break,
            None => return Ok(Vec::new()),
        }
    }
    let rows = ids_and_sources(
        tx,
        "SELECT id, source FROM users WHERE guid_id = $1 ORDER BY id",
        &guid,
    )
    .await?;
    Ok(within(rows, source))
}

/// Moves a user's last sign-in forward to `at` (never back). Not a change of the account's
/// data: its version stays, so an administrator's open edit is not invalidated.
pub async fn note_sign_in(tx: &mut Tx, user_id: &str, at: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2 AND last_sign_in_at < $1")
            .bind(at)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Devices (ids) whose id or fingerprint is `opaque`, among these owners when given (both
/// look-ups are indexed).
pub async fn devices_matching(
    tx: &mut Tx,
    opaque: &str,
    owners: Option<&[String]>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut found: Vec<String> = Vec::new();
    for sql in [
        "SELECT id, owner_user_id FROM devices WHERE id = $1",
        "SELECT id, owner_user_id FROM devices WHERE fingerprint = $1 ORDER BY id",
    ] {
        let rows = sqlx::query(sql).bind(opaque).fetch_all(&mut **tx).await?;
        for r in rows {
            let id: String = r.try_get("id")?;
            let owner: String = r.try_get("owner_user_id")?;
            if owners.is_none_or(|list| list.contains(&owner)) && !found.contains(&id) {
                found.push(id);
            }
        }
    }
    Ok(found)
}
