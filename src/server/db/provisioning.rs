//! SQL for provisioning targets (an application's SCIM service provider) and the accounts
//! Gatehouse made in them.
use super::Tx;
use crate::model::provisioning::{ProvisionedAccount, TargetView};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

pub struct TargetRow<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    pub base_url: &'a str,
    pub credential_sealed: &'a str,
    pub credential_hint: &'a str,
    pub attributes: &'a [String],
    pub preferred_source: Option<&'a str>,
    pub status: &'a str,
    pub max_attempts: i64,
    pub reconcile_every_hours: i64,
    pub now: i64,
}

/// What the worker needs to deliver to a target.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    pub application_id: String,
    pub base_url: String,
    pub credential_sealed: String,
    pub attributes: Vec<String>,
    pub preferred_source: Option<String>,
    pub max_attempts: i64,
}

const VIEW: &str =
    "id, application_id, base_url, credential_hint, attributes, preferred_source, status, \
                    max_attempts, version, created_at, updated_at, last_success_at, \
                    reconcile_every_hours, reconcile_next_at";

fn attributes(r: &AnyRow) -> Result<Vec<String>, sqlx::Error> {
    Ok(serde_json::from_str(&r.try_get::<String, _>("attributes")?).unwrap_or_default())
}

fn view(r: &AnyRow) -> Result<TargetView, sqlx::Error> {
    Ok(TargetView {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        base_url: r.try_get("base_url")?,
        credential_hint: r.try_get("credential_hint")?,
        attributes: attributes(r)?,
        preferred_source: r.try_get("preferred_source")?,
        status: r.try_get("status")?,
        max_attempts: r.try_get("max_attempts")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_success_at: r.try_get("last_success_at")?,
        pending: 0,
        dead: 0,
        accounts: 0,
        active_accounts: 0,
        groups: 0,
        failures: Vec::new(),
        reconcile_every_hours: r.try_get("reconcile_every_hours")?,
        reconcile_next_at: r.try_get("reconcile_next_at")?,
    })
}

pub async fn view_of_app(pool: &AnyPool, app_id: &str) -> Result<Option<TargetView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {VIEW} FROM provisioning_targets WHERE application_id = $1"
    ))
    .bind(app_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(view)
    .transpose()
}

/// The target's id, version and sealed credential, locked for a change.
pub async fn for_update(
    tx: &mut Tx,
    app_id: &str,
) -> Result<Option<(String, i64, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, version, credential_sealed FROM provisioning_targets WHERE application_id = $1",
    )
    .bind(app_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("version")?,
            r.try_get("credential_sealed")?,
        ))
    })
    .transpose()
}

pub async fn insert(tx: &mut Tx, t: &TargetRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO provisioning_targets (id, application_id, base_url, credential_sealed, credential_hint, \
         attributes, preferred_source, status, max_attempts, created_at, updated_at, version, \
         reconcile_every_hours, reconcile_next_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1, $11, $12)",
    )
    .bind(t.id)
    .bind(t.application_id)
    .bind(t.base_url)
    .bind(t.credential_sealed)
    .bind(t.credential_hint)
    .bind(serde_json::to_string(t.attributes).unwrap_or_else(|_| "[]".into()))
    .bind(t.preferred_source)
    .bind(t.status)
    .bind(t.max_attempts)
    .bind(t.now)
    .bind(t.reconcile_every_hours)
    .bind(next_reconcile(t))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The first scheduled reconciliation: one period after the schedule is set; 0 when off.
fn next_reconcile(t: &TargetRow<'_>) -> i64 {
    if t.reconcile_every_hours > 0 {
        t.now + t.reconcile_every_hours * 3_600_000
    } else {
        0
    }
}

/// Updates a target if it is still at `version`; its credential only when `new_credential`.
pub async fn update(
    tx: &mut Tx,
    t: &TargetRow<'_>,
    version: i64,
    new_credential: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provisioning_targets SET base_url = $1, \
         credential_sealed = CASE WHEN $11 = 1 THEN $2 ELSE credential_sealed END, \
         credential_hint = CASE WHEN $11 = 1 THEN $3 ELSE credential_hint END, \
         attributes = $4, preferred_source = $5, status = $6, max_attempts = $7, updated_at = $8, \
         reconcile_next_at = CASE WHEN reconcile_every_hours = $12 THEN reconcile_next_at ELSE $13 END, \
         reconcile_every_hours = $12, version = version + 1 WHERE id = $9 AND version = $10",
    )
    .bind(t.base_url)
    .bind(t.credential_sealed)
    .bind(t.credential_hint)
    .bind(serde_json::to_string(t.attributes).unwrap_or_else(|_| "[]".into()))
    .bind(t.preferred_source)
    .bind(t.status)
    .bind(t.max_attempts)
    .bind(t.now)
    .bind(t.id)
    .bind(version)
    .bind(new_credential as i64)
    .bind(t.reconcile_every_hours)
    .bind(next_reconcile(t))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn target(pool: &AnyPool, id: &str) -> Result<Option<Target>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, application_id, base_url, credential_sealed, attributes, preferred_source, max_attempts \
         FROM provisioning_targets WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Target {
            id: r.try_get("id")?,
            application_id: r.try_get("application_id")?,
            base_url: r.try_get("base_url")?,
            credential_sealed: r.try_get("credential_sealed")?,
            attributes: attributes(&r)?,
            preferred_source: r.try_get("preferred_source")?,
            max_attempts: r.try_get("max_attempts")?,
        })
    })
    .transpose()
}

/// Accounts made in a target, and how many of them are active.
pub async fn account_counts(pool: &AnyPool, target_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(CASE WHEN active = 1 THEN 1 END) AS active FROM provisioned_accounts WHERE target_id = $1",
    )
    .bind(target_id)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("n")?, row.try_get("active")?))
}

/// The account Gatehouse made for a person: its id there and whether it was left active.
pub struct Account {
    pub remote_id: String,
    pub active: bool,
}

pub async fn account(
    pool: &AnyPool,
    target_id: &str,
    guid: &str,
) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT remote_id, active FROM provisioned_accounts WHERE target_id = $1 AND guid_id = $2",
    )
    .bind(target_id)
    .bind(guid)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Account {
            remote_id: r.try_get("remote_id")?,
            active: r.try_get::<i64, _>("active")? != 0,
        })
    })
    .transpose()
}

pub async fn save_account(
    pool: &AnyPool,
    target_id: &str,
    guid: &str,
    remote_id: &str,
    user_id: &str,
    active: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO provisioned_accounts (target_id, guid_id, remote_id, user_id, active, synced_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target_id, guid_id) DO UPDATE SET \
         remote_id = excluded.remote_id, user_id = excluded.user_id, active = excluded.active, \
         synced_at = excluded.synced_at",
    )
    .bind(target_id)
    .bind(guid)
    .bind(remote_id)
    .bind(user_id)
    .bind(active as i64)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn forget_account(
    pool: &AnyPool,
    target_id: &str,
    guid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM provisioned_accounts WHERE target_id = $1 AND guid_id = $2")
        .bind(target_id)
        .bind(guid)
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether a person may use an application: assigned directly, or through a group of one of
/// their accounts.
pub async fn is_assigned(pool: &AnyPool, app_id: &str, guid: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM app_assignments WHERE application_id = $1 AND guid_id = $2) \
           OR EXISTS (SELECT 1 FROM app_group_assignments ag JOIN group_members m ON m.group_id = ag.group_id \
                      JOIN users u ON u.id = m.user_id WHERE ag.application_id = $1 AND u.guid_id = $2) \
         THEN 1 ELSE 0 END",
    )
    .bind(app_id)
    .bind(guid)
    .fetch_one(pool)
    .await?;
    Ok(n == 1)
}

/// A person's accounts in every application with a target: there or not, and what is pending.
pub async fn accounts_of_person(
    pool: &AnyPool,
    guid: &str,
) -> Result<Vec<(String, ProvisionedAccount)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.id AS target_id, a.id AS app_id, a.name AS app_name, p.remote_id, p.active, p.synced_at \
         FROM provisioning_targets t JOIN applications a ON a.id = t.application_id \
         LEFT JOIN provisioned_accounts p ON p.target_id = t.id AND p.guid_id = $1 \
         WHERE p.guid_id IS NOT NULL \
            OR EXISTS (SELECT 1 FROM outbox o WHERE o.target_id = t.id AND o.subject = $1 AND o.state <> 'delivered') \
         ORDER BY a.name_key, a.id",
    )
    .bind(guid)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let remote_id: Option<String> = r.try_get("remote_id")?;
            let active: Option<i64> = r.try_get("active")?;
            let state = match (&remote_id, active) {
                (Some(_), Some(1)) => "active",
                (Some(_), _) => "inactive",
                _ => "none",
            };
            Ok((
                r.try_get("target_id")?,
                ProvisionedAccount {
                    application_id: r.try_get("app_id")?,
                    application_name: r.try_get("app_name")?,
                    state: state.into(),
                    remote_id,
                    synced_at: r.try_get::<Option<i64>, _>("synced_at")?.unwrap_or(0),
                    pending: 0,
                    last_error: None,
                },
            ))
        })
        .collect()
}
