//! SQL for users, their name tokens and GUIDs.
/// The bind value of dynamically built queries (apps and support build theirs too).
pub use super::user_list::Arg;
use super::{Engine, Tx};
use crate::model::users::{mailbox_key, PersonProfile, UserDetail, UserStatus, UserSummary};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// A user row as written by the service (already validated).
pub struct UserRow<'a> {
    pub id: &'a str,
    pub guid_id: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub display_name: &'a str,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub status: UserStatus,
    pub source: &'a str,
    pub external_id: Option<&'a str>,
    pub attributes: &'a str,
    pub employee_number: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub now: i64,
}

pub(super) const SUMMARY: &str =
    "id, guid_id, email, display_name, status, source, external_id, created_at, last_sign_in_at";
pub(super) const DETAIL: &str = "id, guid_id, email, email_verified, display_name, given_name, family_name, phone, status, source, \
                      external_id, attributes, created_at, updated_at, last_sign_in_at, deprovisioned_at, version";

/// A new person, with the profile of its first account.
pub async fn insert_guid(
    tx: &mut Tx,
    id: &str,
    now: i64,
    profile: &PersonProfile,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guids (id, created_at, display_name, email, phone) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(now)
    .bind(profile.display_name.as_deref())
    .bind(profile.email.as_deref())
    .bind(profile.phone.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_user(tx: &mut Tx, u: &UserRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, guid_id, email, email_verified, display_name, sort_name, given_name, family_name, phone, \
         status, source, external_id, attributes, created_at, updated_at, last_sign_in_at, version, email_key, employee_number, user_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 0, 1, $15, $16, $17)",
    )
    .bind(u.id)
    .bind(u.guid_id)
    .bind(u.email)
    .bind(u.email_verified as i64)
    .bind(u.display_name)
    .bind(u.display_name.to_lowercase())
    .bind(u.given_name)
    .bind(u.family_name)
    .bind(u.phone)
    .bind(u.status.as_str())
    .bind(u.source)
    .bind(u.external_id)
    .bind(u.attributes)
    .bind(u.now)
    .bind(mailbox_key(u.email))
    .bind(u.employee_number)
    .bind(u.user_name)
    .execute(&mut **tx)
    .await?;
    replace_tokens(tx, u).await?;
    super::outbox::user_changed(tx, u.id, u.now).await
}

/// Updates the editable fields if `version` is still current; false when someone else changed it first.
pub async fn update_user(tx: &mut Tx, u: &UserRow<'_>, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET email = $1, display_name = $2, sort_name = $3, given_name = $4, family_name = $5, phone = $6, \
         source = $7, external_id = $8, attributes = $9, updated_at = $10, version = version + 1, email_key = $13, \
         employee_number = $14, user_name = $15 WHERE id = $11 AND version = $12",
    )
    .bind(u.email)
    .bind(u.display_name)
    .bind(u.display_name.to_lowercase())
    .bind(u.given_name)
    .bind(u.family_name)
    .bind(u.phone)
    .bind(u.source)
    .bind(u.external_id)
    .bind(u.attributes)
    .bind(u.now)
    .bind(u.id)
    .bind(version)
    .bind(mailbox_key(u.email))
    .bind(u.employee_number)
    .bind(u.user_name)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    replace_tokens(tx, u).await?;
    super::groups::rename_member(tx, u.id, &u.display_name.to_lowercase()).await?;
    super::outbox::user_changed(tx, u.id, u.now).await?;
    Ok(true)
}

pub async fn set_status(
    tx: &mut Tx,
    id: &str,
    status: UserStatus,
    now: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let deprovisioned_at = (status == UserStatus::Deprovisioned).then_some(now);
    let done = sqlx::query(
        "UPDATE users SET status = $1, deprovisioned_at = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5",
    )
    .bind(status.as_str())
    .bind(deprovisioned_at)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::outbox::user_changed(tx, id, now).await?;
    Ok(true)
}

pub async fn set_guid(tx: &mut Tx, user_id: &str, guid: &str, now: i64) -> Result<(), sqlx::Error> {
    // The person the account leaves hears of it first, then the one it joins.
    super::outbox::user_changed(tx, user_id, now).await?;
    sqlx::query(
        "UPDATE users SET guid_id = $1, updated_at = $2, version = version + 1 WHERE id = $3",
    )
    .bind(guid)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    super::outbox::user_changed(tx, user_id, now).await
}

/// Lowercase words of the names, each at most 64 characters.
pub fn name_tokens(parts: &[&str]) -> Vec<String> {
    let mut tokens: Vec<String> = parts
        .iter()
        .flat_map(|p| p.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(64).collect())
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The name tokens of `u`, each carrying its sort name (a name search reads them in name order).
async fn replace_tokens(tx: &mut Tx, u: &UserRow<'_>) -> Result<(), sqlx::Error> {
    let user_id = u.id;
    let sort_name = u.display_name.to_lowercase();
    let parts = [
        u.display_name,
        u.given_name.unwrap_or(""),
        u.family_name.unwrap_or(""),
    ];
    sqlx::query("DELETE FROM user_name_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for token in name_tokens(&parts) {
        sqlx::query("INSERT INTO user_name_tokens (token, user_id, sort_name) VALUES ($1, $2, $3)")
            .bind(token)
            .bind(user_id)
            .bind(&sort_name)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn get(exec: &mut Tx, id: &str) -> Result<Option<UserDetail>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {DETAIL} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **exec)
        .await?;
    row.as_ref().map(detail).transpose()
}

pub async fn get_pool(pool: &AnyPool, id: &str) -> Result<Option<UserDetail>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {DETAIL} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(detail).transpose()
}

pub async fn id_by_email(tx: &mut Tx, email: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn id_by_external(
    tx: &mut Tx,
    source: &str,
    external_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE source = $1 AND external_id = $2")
        .bind(source)
        .bind(external_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn accounts_of_guid(pool: &AnyPool, guid: &str) -> Result<Vec<UserSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {SUMMARY} FROM users WHERE guid_id = $1 ORDER BY created_at, id"
    ))
    .bind(guid)
    .fetch_all(pool)
    .await?;
    rows.iter().map(summary).collect()
}

/// A GUID row: created_at, merged_into and the person's profile.
pub struct GuidRow {
    pub created_at: i64,
    pub merged_into: Option<String>,
    pub profile: PersonProfile,
}

const GUID_COLUMNS: &str = "id, created_at, merged_into, display_name, email, phone";

fn guid_row(r: &AnyRow) -> Result<GuidRow, sqlx::Error> {
    Ok(GuidRow {
        created_at: r.try_get("created_at")?,
        merged_into: r.try_get("merged_into")?,
        profile: PersonProfile {
            display_name: r.try_get("display_name")?,
            email: r.try_get("email")?,
            phone: r.try_get("phone")?,
        },
    })
}

pub async fn guid(pool: &AnyPool, id: &str) -> Result<Option<GuidRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {GUID_COLUMNS} FROM guids WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(guid_row).transpose()
}

pub async fn guid_in_tx(tx: &mut Tx, id: &str) -> Result<Option<GuidRow>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {GUID_COLUMNS} FROM guids WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(guid_row).transpose()
}

pub async fn set_guid_profile(
    tx: &mut Tx,
    id: &str,
    profile: &PersonProfile,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guids SET display_name = $1, email = $2, phone = $3 WHERE id = $4")
        .bind(profile.display_name.as_deref())
        .bind(profile.email.as_deref())
        .bind(profile.phone.as_deref())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn absorbed_into(pool: &AnyPool, id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM guids WHERE merged_into = $1 ORDER BY merged_at")
        .bind(id)
        .fetch_all(pool)
        .await
}

/// Moves every account of `absorbed` to `survivor` and records the merge; returns the moved user ids.
pub async fn merge_guids(
    tx: &mut Tx,
    survivor: &str,
    absorbed: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let moved: Vec<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE guid_id = $1 ORDER BY id")
            .bind(absorbed)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query(
        "UPDATE users SET guid_id = $1, updated_at = $2, version = version + 1 WHERE guid_id = $3",
    )
    .bind(survivor)
    .bind(now)
    .bind(absorbed)
    .execute(&mut **tx)
    .await?;
    // Earlier merges into the absorbed GUID now resolve directly to the survivor.
    sqlx::query("UPDATE guids SET merged_into = $1 WHERE merged_into = $2")
        .bind(survivor)
        .bind(absorbed)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE guids SET merged_into = $1, merged_at = $2 WHERE id = $3")
        .bind(survivor)
        .bind(now)
        .bind(absorbed)
        .execute(&mut **tx)
        .await?;
    // The person keeps what they were given: the absorbed GUID's assignments move along.
    sqlx::query(
        "INSERT INTO app_assignments (application_id, guid_id, assigned_at) \
         SELECT application_id, $1, assigned_at FROM app_assignments WHERE guid_id = $2 \
         ON CONFLICT (application_id, guid_id) DO NOTHING",
    )
    .bind(survivor)
    .bind(absorbed)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM app_assignments WHERE guid_id = $1")
        .bind(absorbed)
        .execute(&mut **tx)
        .await?;
    super::outbox::person_changed(tx, absorbed, now).await?;
    super::outbox::person_changed(tx, survivor, now).await?;
    Ok(moved)
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
}

pub(super) fn summary(r: &AnyRow) -> Result<UserSummary, sqlx::Error> {
    Ok(UserSummary {
        id: r.try_get("id")?,
        guid: r.try_get("guid_id")?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        status: status(r)?,
        source: r.try_get("source")?,
        external_id: r.try_get("external_id")?,
        created_at: r.try_get("created_at")?,
        last_sign_in_at: r.try_get("last_sign_in_at")?,
    })
}

fn status(r: &AnyRow) -> Result<UserStatus, sqlx::Error> {
    let s: String = r.try_get("status")?;
    UserStatus::parse(&s).map_err(|e| sqlx::Error::Decode(e.into()))
}

pub(super) fn detail(r: &AnyRow) -> Result<UserDetail, sqlx::Error> {
    Ok(UserDetail {
        id: r.try_get("id")?,
        guid: r.try_get("guid_id")?,
        email: r.try_get("email")?,
        email_verified: r.try_get::<i64, _>("email_verified")? != 0,
        display_name: r.try_get("display_name")?,
        given_name: r.try_get("given_name")?,
        family_name: r.try_get("family_name")?,
        phone: r.try_get("phone")?,
        status: status(r)?,
        source: r.try_get("source")?,
        external_id: r.try_get("external_id")?,
        attributes: r.try_get("attributes")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_sign_in_at: r.try_get("last_sign_in_at")?,
        deprovisioned_at: r.try_get("deprovisioned_at")?,
        restorable_until: None,
        version: r.try_get("version")?,
    })
}

/// The users with these emails (at most a few hundred per call).
pub async fn by_emails(pool: &AnyPool, emails: &[&str]) -> Result<Vec<UserDetail>, sqlx::Error> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {DETAIL} FROM users WHERE email IN ({})",
        super::placeholders(emails.len())
    );
    let mut q = sqlx::query(&sql);
    for e in emails {
        q = q.bind(*e);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter().map(detail).collect()
}

/// (source, external_id, email) of the users holding any of these external ids.
pub async fn by_external_ids(
    pool: &AnyPool,
    ids: &[&str],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT source, external_id, email FROM users WHERE external_id IN ({})",
        super::placeholders(ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("source")?,
                r.try_get("external_id")?,
                r.try_get("email")?,
            ))
        })
        .collect()
}

/// The users with these ids, by name (at most a few hundred per call).
pub async fn summaries_by_ids(
    pool: &AnyPool,
    ids: &[String],
) -> Result<Vec<UserSummary>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {SUMMARY} FROM users WHERE id IN ({}) ORDER BY sort_name, id",
        super::placeholders(ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter().map(summary).collect()
}

/// The field a unique-constraint violation is about (`email` or `external_id`), if it is one:
/// two writers that both checked "nobody has it" race to the constraint, and the loser gets
/// the same field error as a sequential duplicate.
pub fn unique_violation(e: &sqlx::Error) -> Option<&'static str> {
    let db = e.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    // PostgreSQL names the constraint; SQLite lists the columns in the message.
    let what = db.constraint().unwrap_or(db.message());
    if what.contains("external_id") {
        Some("external_id")
    } else if what.contains("email") {
        Some("email")
    } else {
        None
    }
}

/// Row locks for a read-then-write on PostgreSQL (`FOR UPDATE`, taken in id order so two
/// transactions over overlapping users queue instead of deadlocking). SQLite needs none: a
/// write transaction holds the database lock from its start (`BEGIN IMMEDIATE`).
pub async fn lock_users(tx: &mut Tx, engine: Engine, ids: &[&str]) -> Result<(), sqlx::Error> {
    lock_rows(tx, engine, "users", "id", ids).await
}

/// Locks the users holding these emails, in id order (see `lock_users`).
pub async fn lock_users_by_email(
    tx: &mut Tx,
    engine: Engine,
    emails: &[&str],
) -> Result<(), sqlx::Error> {
    lock_rows(tx, engine, "users", "email", emails).await
}

/// Locks these GUID rows in id order (see `lock_users`); a merge locks both sides before reading them.
pub async fn lock_guids(tx: &mut Tx, engine: Engine, ids: &[&str]) -> Result<(), sqlx::Error> {
    lock_rows(tx, engine, "guids", "id", ids).await
}

/// Locks every account of these GUIDs in id order (see `lock_users`).
pub async fn lock_accounts_of(
    tx: &mut Tx,
    engine: Engine,
    guids: &[&str],
) -> Result<(), sqlx::Error> {
    lock_rows(tx, engine, "users", "guid_id", guids).await
}

async fn lock_rows(
    tx: &mut Tx,
    engine: Engine,
    table: &str,
    column: &str,
    values: &[&str],
) -> Result<(), sqlx::Error> {
    if engine != Engine::Postgres || values.is_empty() {
        return Ok(());
    }
    for chunk in values.chunks(1000) {
        let sql = format!(
            "SELECT id FROM {table} WHERE {column} IN ({}) ORDER BY id FOR UPDATE",
            super::placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for v in chunk {
            q = q.bind(*v);
        }
        q.fetch_all(&mut **tx).await?;
    }
    Ok(())
}

/// Claims unique values (`email:...`, `external_id:source/id`) that this transaction is about to
/// check and write, so two writers of the same new value queue on PostgreSQL and the second one
/// sees the first one's row (transaction-scoped advisory locks, taken in sorted order before any
/// row lock). SQLite needs none (see `lock_users`).
pub async fn claim_unique_values(
    tx: &mut Tx,
    engine: Engine,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    if engine != Engine::Postgres || keys.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    // Sorted here and in the query, so every transaction claims in the same order. The lock
    // function returns void, which the Any driver cannot decode: count the claims instead.
    for chunk in keys.chunks(1000) {
        let values: Vec<String> = (1..=chunk.len()).map(|i| format!("(${i})")).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) \
             FROM (VALUES {}) AS v(k) ORDER BY k COLLATE \"C\") AS claimed",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for key in chunk {
            q = q.bind(*key);
        }
        q.fetch_one(&mut **tx).await?;
    }
    Ok(())
}
