//! SQL for applications, their client secrets and assignments, and API keys.
use super::users::Arg;
use super::Tx;
use crate::model::apps::*;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};

/// An application as written by the service (already validated).
pub struct AppRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub owner_user_id: Option<&'a str>,
    pub kind: AppKind,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub grant_types: &'a [GrantType],
    pub scopes: &'a [String],
    pub pkce_required: bool,
    pub now: i64,
}

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn parse_list<T: serde::de::DeserializeOwned>(raw: &str) -> Vec<T> {
    serde_json::from_str(raw).unwrap_or_default()
}

pub async fn insert_app(tx: &mut Tx, a: &AppRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO applications (id, name, name_key, owner_user_id, kind, redirect_uris, post_logout_redirect_uris, \
         grant_types, scopes, pkce_required, status, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $11, 1)",
    )
    .bind(a.id)
    .bind(a.name)
    .bind(a.name.to_lowercase())
    .bind(a.owner_user_id)
    .bind(a.kind.as_str())
    .bind(json_list(a.redirect_uris))
    .bind(json_list(a.post_logout_redirect_uris))
    .bind(json_list(a.grant_types))
    .bind(json_list(a.scopes))
    .bind(a.pkce_required as i64)
    .bind(a.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes new values if the row is still at `version`; false when someone changed it meanwhile.
pub async fn update_app(tx: &mut Tx, a: &AppRow<'_>, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE applications SET name = $2, name_key = $3, owner_user_id = $4, kind = $5, redirect_uris = $6, \
         post_logout_redirect_uris = $7, grant_types = $8, scopes = $9, pkce_required = $10, updated_at = $11, \
         version = version + 1 WHERE id = $1 AND version = $12",
    )
    .bind(a.id)
    .bind(a.name)
    .bind(a.name.to_lowercase())
    .bind(a.owner_user_id)
    .bind(a.kind.as_str())
    .bind(json_list(a.redirect_uris))
    .bind(json_list(a.post_logout_redirect_uris))
    .bind(json_list(a.grant_types))
    .bind(json_list(a.scopes))
    .bind(a.pkce_required as i64)
    .bind(a.now)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_app_status(
    tx: &mut Tx,
    id: &str,
    status: AppStatus,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE applications SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn app_id_by_name(tx: &mut Tx, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM applications WHERE name_key = $1")
        .bind(name.to_lowercase())
        .fetch_optional(&mut **tx)
        .await
}

const APP: &str = "a.id, a.name, a.kind, a.status, a.owner_user_id, u.email AS owner_email, a.redirect_uris, \
                   a.post_logout_redirect_uris, a.grant_types, a.scopes, a.pkce_required, a.created_at, a.updated_at, a.version";

fn kind_of(r: &AnyRow) -> Result<AppKind, sqlx::Error> {
    AppKind::parse(&r.try_get::<String, _>("kind")?).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn status_of(r: &AnyRow) -> Result<AppStatus, sqlx::Error> {
    AppStatus::parse(&r.try_get::<String, _>("status")?).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn app_detail(r: &AnyRow) -> Result<AppDetail, sqlx::Error> {
    Ok(AppDetail {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: kind_of(r)?,
        status: status_of(r)?,
        owner_user_id: r.try_get("owner_user_id")?,
        owner_email: r.try_get("owner_email")?,
        redirect_uris: parse_list(&r.try_get::<String, _>("redirect_uris")?),
        post_logout_redirect_uris: parse_list(
            &r.try_get::<String, _>("post_logout_redirect_uris")?,
        ),
        grant_types: parse_list(&r.try_get::<String, _>("grant_types")?),
        scopes: parse_list(&r.try_get::<String, _>("scopes")?),
        pkce_required: r.try_get::<i64, _>("pkce_required")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
        secrets: Vec::new(),
        assigned_people: 0,
        active_keys: 0,
    })
}

/// The application's own fields (secrets and counts are filled by [`app_extras`]).
pub async fn get_app<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> Result<Option<AppDetail>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {APP} FROM applications a LEFT JOIN users u ON u.id = a.owner_user_id WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(app_detail).transpose()
}

/// Fills the secrets, the number of assigned people and of usable keys.
pub async fn app_extras(pool: &AnyPool, app: &mut AppDetail, now: i64) -> Result<(), sqlx::Error> {
    app.secrets = secrets_of(pool, &app.id).await?;
    app.assigned_people = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM app_assignments WHERE application_id = $1",
    )
    .bind(&app.id)
    .fetch_one(pool)
    .await?;
    app.active_keys = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM api_keys WHERE application_id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(&app.id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(())
}

/// One keyset page ordered by name. `prefix` matches the start of the name (lowercase).
pub async fn page_apps(
    pool: &AnyPool,
    prefix: Option<&str>,
    filters: &[(&str, String)],
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(AppSummary, String)>, sqlx::Error> {
    let mut sql = String::from(
        "SELECT a.id, a.name, a.name_key, a.kind, a.status, u.email AS owner_email, a.created_at \
         FROM applications a LEFT JOIN users u ON u.id = a.owner_user_id WHERE 1 = 1",
    );
    let mut args = Vec::new();
    if let Some(p) = prefix {
        args.push(Arg::Text(p.to_string()));
        args.push(Arg::Text(format!("{p}\u{10FFFF}")));
        sql.push_str(&format!(
            " AND a.name_key >= ${} AND a.name_key < ${}",
            args.len() - 1,
            args.len()
        ));
    }
    for (column, value) in filters {
        args.push(Arg::Text(value.clone()));
        sql.push_str(&format!(" AND a.{column} = ${}", args.len()));
    }
    if let Some((key, id)) = after {
        args.push(Arg::Text(key));
        args.push(Arg::Text(id));
        sql.push_str(&format!(
            " AND (a.name_key, a.id) > (${}, ${})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(" ORDER BY a.name_key, a.id LIMIT ${}", args.len()));
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok((
                AppSummary {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind: kind_of(r)?,
                    status: status_of(r)?,
                    owner_email: r.try_get("owner_email")?,
                    created_at: r.try_get("created_at")?,
                },
                r.try_get::<String, _>("name_key")?,
            ))
        })
        .collect()
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

// --- client secrets ---

pub async fn insert_secret(
    tx: &mut Tx,
    id: &str,
    app_id: &str,
    hash: &str,
    hint: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO client_secrets (id, application_id, secret_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(app_id)
    .bind(hash)
    .bind(hint)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives every still-valid secret of the application except `keep` a deadline (never later
/// than one it already has). Returns the ids it changed.
pub async fn expire_other_secrets(
    tx: &mut Tx,
    app_id: &str,
    keep: &str,
    deadline: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE client_secrets SET expires_at = $3 WHERE application_id = $1 AND id <> $2 \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) RETURNING id",
    )
    .bind(app_id)
    .bind(keep)
    .bind(deadline)
    .fetch_all(&mut **tx)
    .await
}

/// Revokes one secret; false when it is not the application's or already revoked.
pub async fn revoke_secret(
    tx: &mut Tx,
    app_id: &str,
    secret_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE client_secrets SET revoked_at = $3 WHERE application_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(app_id)
    .bind(secret_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn secrets_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    app_id: &str,
) -> Result<Vec<ClientSecretInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, hint, created_at, expires_at, revoked_at FROM client_secrets \
         WHERE application_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20",
    )
    .bind(app_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClientSecretInfo {
                id: r.try_get("id")?,
                hint: r.try_get("hint")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

// --- assignments ---

/// Counts (0 or more) how a person (`{guid}`) is assigned to an application (`{app}`): directly,
/// or through a group one of their accounts is a member of. Index lookups only.
fn assigned_sql(app: &str, guid: &str) -> String {
    format!(
        "((SELECT COUNT(*) FROM app_assignments d WHERE d.application_id = {app} AND d.guid_id = {guid}) + \
          (SELECT COUNT(*) FROM users pu JOIN group_members pm ON pm.user_id = pu.id \
           JOIN app_group_assignments pg ON pg.group_id = pm.group_id AND pg.application_id = {app} \
           WHERE pu.guid_id = {guid}))"
    )
}

/// Assigns a person; false when they already were.
pub async fn assign(tx: &mut Tx, app_id: &str, guid: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO app_assignments (application_id, guid_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (application_id, guid_id) DO NOTHING",
    )
    .bind(app_id)
    .bind(guid)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::outbox::person_changed(tx, guid, now).await?;
    Ok(true)
}

pub async fn unassign(tx: &mut Tx, app_id: &str, guid: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM app_assignments WHERE application_id = $1 AND guid_id = $2")
            .bind(app_id)
            .bind(guid)
            .execute(&mut **tx)
            .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::outbox::person_changed(tx, guid, super::now_ms()).await?;
    Ok(true)
}

/// The most recently assigned people (with their profile), newest first.
pub async fn assignments(
    pool: &AnyPool,
    app_id: &str,
    limit: i64,
) -> Result<Vec<Assignment>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.guid_id, g.display_name, g.email, s.assigned_at FROM app_assignments s \
         JOIN guids g ON g.id = s.guid_id WHERE s.application_id = $1 \
         ORDER BY s.assigned_at DESC, s.guid_id LIMIT $2",
    )
    .bind(app_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Assignment {
                guid: r.try_get("guid_id")?,
                display_name: r.try_get("display_name")?,
                email: r.try_get("email")?,
                assigned_at: r.try_get("assigned_at")?,
            })
        })
        .collect()
}

/// The applications a person is assigned to (directly or through a group), each with whether
/// the assignment is direct.
pub async fn apps_of_guid(
    pool: &AnyPool,
    guid: &str,
) -> Result<Vec<(AppSummary, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id, a.name, a.kind, a.status, u.email AS owner_email, a.created_at, \
         (SELECT COUNT(*) FROM app_assignments d WHERE d.application_id = a.id AND d.guid_id = $1) AS direct \
         FROM applications a LEFT JOIN users u ON u.id = a.owner_user_id \
         WHERE a.id IN (SELECT s.application_id FROM app_assignments s WHERE s.guid_id = $1 \
           UNION SELECT pg.application_id FROM users pu JOIN group_members pm ON pm.user_id = pu.id \
           JOIN app_group_assignments pg ON pg.group_id = pm.group_id WHERE pu.guid_id = $1) \
         ORDER BY a.name_key LIMIT 500",
    )
    .bind(guid)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                AppSummary {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind: kind_of(r)?,
                    status: status_of(r)?,
                    owner_email: r.try_get("owner_email")?,
                    created_at: r.try_get("created_at")?,
                },
                r.try_get::<i64, _>("direct")? > 0,
            ))
        })
        .collect()
}

// --- API keys ---

pub struct KeyRow<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    pub owner_user_id: Option<&'a str>,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub secret_hash: &'a str,
    pub expires_at: Option<i64>,
    pub now: i64,
}

pub async fn insert_key(tx: &mut Tx, k: &KeyRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, application_id, owner_user_id, name, scopes, secret_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(k.id)
    .bind(k.application_id)
    .bind(k.owner_user_id)
    .bind(k.name)
    .bind(json_list(k.scopes))
    .bind(k.secret_hash)
    .bind(k.now)
    .bind(k.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const KEY: &str = "k.id, k.name, k.application_id, a.name AS application_name, k.owner_user_id, u.email AS owner_email, \
                   k.scopes, k.created_at, k.expires_at, k.revoked_at, k.replaced_by, k.last_used_at, k.use_count";
const KEY_FROM: &str = "FROM api_keys k JOIN applications a ON a.id = k.application_id \
                        LEFT JOIN users u ON u.id = k.owner_user_id";

fn key_summary(r: &AnyRow, now: i64) -> Result<KeySummary, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let expires_at: Option<i64> = r.try_get("expires_at")?;
    let revoked_at: Option<i64> = r.try_get("revoked_at")?;
    let replaced_by: Option<String> = r.try_get("replaced_by")?;
    let status = if revoked_at.is_some() {
        KeyStatus::Revoked
    } else if expires_at.is_some_and(|e| e <= now) {
        KeyStatus::Expired
    } else if replaced_by.is_some() {
        KeyStatus::Rotating
    } else {
        KeyStatus::Active
    };
    Ok(KeySummary {
        prefix: format!("ghk_{id}"),
        id,
        name: r.try_get("name")?,
        application_id: r.try_get("application_id")?,
        application_name: r.try_get("application_name")?,
        owner_user_id: r.try_get("owner_user_id")?,
        owner_email: r.try_get("owner_email")?,
        scopes: parse_list(&r.try_get::<String, _>("scopes")?),
        created_at: r.try_get("created_at")?,
        expires_at,
        revoked_at,
        replaced_by,
        last_used_at: r.try_get("last_used_at")?,
        use_count: r.try_get("use_count")?,
        status,
    })
}

pub async fn get_key<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
    now: i64,
) -> Result<Option<KeySummary>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {KEY} {KEY_FROM} WHERE k.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(|r| key_summary(r, now)).transpose()
}

/// Which keys a list shows.
#[derive(Default)]
pub struct KeyFilter {
    pub application_id: Option<String>,
    pub owner_user_id: Option<String>,
    /// active, revoked or expired.
    pub status: Option<&'static str>,
    /// Expires after now and before this.
    pub expiring_before: Option<i64>,
    /// Not used since this (never used included).
    pub unused_since: Option<i64>,
}

/// One keyset page, newest first; `after` is the last (created_at, id) seen.
pub async fn page_keys(
    pool: &AnyPool,
    f: &KeyFilter,
    after: Option<(i64, String)>,
    limit: i64,
    now: i64,
) -> Result<Vec<KeySummary>, sqlx::Error> {
    let mut sql = format!("SELECT {KEY} {KEY_FROM} WHERE 1 = 1");
    let mut args = Vec::new();
    // PostgreSQL refuses a bound parameter that no clause uses, so `now` is bound when needed.
    let now_at = |args: &mut Vec<Arg>| {
        args.push(Arg::Int(now));
        args.len()
    };
    if let Some(app) = &f.application_id {
        args.push(Arg::Text(app.clone()));
        sql.push_str(&format!(" AND k.application_id = ${}", args.len()));
    }
    if let Some(owner) = &f.owner_user_id {
        args.push(Arg::Text(owner.clone()));
        sql.push_str(&format!(" AND k.owner_user_id = ${}", args.len()));
    }
    match f.status {
        Some("active") => {
            let n = now_at(&mut args);
            sql.push_str(&format!(
                " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ${n})"
            ))
        }
        Some("revoked") => sql.push_str(" AND k.revoked_at IS NOT NULL"),
        Some("expired") => {
            let n = now_at(&mut args);
            sql.push_str(&format!(
                " AND k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.expires_at <= ${n}"
            ))
        }
        _ => {}
    }
    if let Some(before) = f.expiring_before {
        let n = now_at(&mut args);
        args.push(Arg::Int(before));
        sql.push_str(&format!(
            " AND k.revoked_at IS NULL AND k.expires_at > ${n} AND k.expires_at <= ${}",
            args.len()
        ));
    }
    if let Some(since) = f.unused_since {
        args.push(Arg::Int(since));
        sql.push_str(&format!(
            " AND k.revoked_at IS NULL AND k.last_used_at < ${n} AND k.created_at < ${n}",
            n = args.len()
        ));
    }
    if let Some((created, id)) = after {
        args.push(Arg::Int(created));
        args.push(Arg::Text(id));
        sql.push_str(&format!(
            " AND (k.created_at, k.id) < (${}, ${})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(
        " ORDER BY k.created_at DESC, k.id DESC LIMIT ${}",
        args.len()
    ));
    let rows = bind_all(sqlx::query(&sql), args).fetch_all(pool).await?;
    rows.iter().map(|r| key_summary(r, now)).collect()
}

pub async fn revoke_key(tx: &mut Tx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_key_expiry(
    tx: &mut Tx,
    id: &str,
    expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET expires_at = $2 WHERE id = $1")
        .bind(id)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_replaced_by(tx: &mut Tx, id: &str, by: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET replaced_by = $2 WHERE id = $1")
        .bind(id)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Everything the verification endpoint needs about one key, in one query.
#[derive(Clone, Debug)]
pub struct KeyForVerify {
    pub id: String,
    pub secret_hash: String,
    pub application_id: String,
    pub application_name: String,
    pub application_active: bool,
    pub owner_user_id: Option<String>,
    pub owner_email: Option<String>,
    pub owner_active: bool,
    /// For a personal key: the owner's person is still assigned to the application.
    pub owner_assigned: bool,
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
    pub revoked: bool,
}

pub async fn key_for_verify(pool: &AnyPool, id: &str) -> Result<Option<KeyForVerify>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT k.id, k.secret_hash, k.application_id, a.name AS application_name, a.status AS app_status, \
         k.owner_user_id, u.email AS owner_email, u.status AS owner_status, k.scopes, a.scopes AS app_scopes, k.expires_at, k.revoked_at, \
         {} AS assigned \
         FROM api_keys k JOIN applications a ON a.id = k.application_id \
         LEFT JOIN users u ON u.id = k.owner_user_id WHERE k.id = $1",
        assigned_sql("k.application_id", "u.guid_id")
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let owner_user_id: Option<String> = r.try_get("owner_user_id")?;
    let owner_status: Option<String> = r.try_get("owner_status")?;
    Ok(Some(KeyForVerify {
        id: r.try_get("id")?,
        secret_hash: r.try_get("secret_hash")?,
        application_id: r.try_get("application_id")?,
        application_name: r.try_get("application_name")?,
        application_active: r.try_get::<String, _>("app_status")? == "active",
        owner_active: owner_user_id.is_none() || owner_status.as_deref() == Some("active"),
        owner_assigned: owner_user_id.is_none() || r.try_get::<i64, _>("assigned")? > 0,
        owner_user_id,
        owner_email: r.try_get("owner_email")?,
        scopes: {
            // A scope the application no longer has is no longer granted.
            let app: Vec<String> = parse_list(&r.try_get::<String, _>("app_scopes")?);
            parse_list::<String>(&r.try_get::<String, _>("scopes")?)
                .into_iter()
                .filter(|s| app.contains(s))
                .collect()
        },
        expires_at: r.try_get("expires_at")?,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    }))
}

/// Adds usage counted in memory: `(key id, last used at, uses)` per key.
pub async fn record_usage(tx: &mut Tx, usage: &[(String, i64, i64)]) -> Result<(), sqlx::Error> {
    for (id, at, uses) in usage {
        sqlx::query(
            "UPDATE api_keys SET use_count = use_count + $3, \
             last_used_at = CASE WHEN last_used_at < $2 THEN $2 ELSE last_used_at END WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .bind(uses)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Audit events after `seq` that can change a key's validity (for the verification cache).
pub async fn key_events_after(
    pool: &AnyPool,
    seq: i64,
) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, action, target_id FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 5000",
    )
    .bind(seq)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("seq")?,
                r.try_get("action")?,
                r.try_get("target_id")?,
            ))
        })
        .collect()
}

pub async fn head_seq(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_events")
        .fetch_one(pool)
        .await
}

pub async fn is_assigned(tx: &mut Tx, app_id: &str, guid: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT {}", assigned_sql("$1", "$2")))
        .bind(app_id)
        .bind(guid)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}
