//! SQL for the management API's credentials: service accounts, tokens and idempotency records.
use super::Tx;
use crate::model::api::{Scope, ServiceAccount, TokenKind, TokenSummary};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

fn scopes_json(scopes: &[Scope]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())
}

fn scopes_of(raw: &str) -> Vec<Scope> {
    serde_json::from_str(raw).unwrap_or_default()
}

pub struct AccountRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub owner_email: &'a str,
    pub description: &'a str,
    pub scopes: &'a [Scope],
    pub now: i64,
}

pub async fn insert_account(tx: &mut Tx, a: &AccountRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO service_accounts (id, name, name_key, owner_email, description, scopes, status, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7, 1)",
    )
    .bind(a.id)
    .bind(a.name)
    .bind(a.name.to_lowercase())
    .bind(a.owner_email)
    .bind(a.description)
    .bind(scopes_json(a.scopes))
    .bind(a.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `false` when the version is stale (someone else changed it first).
pub async fn update_account(
    tx: &mut Tx,
    a: &AccountRow<'_>,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE service_accounts SET name = $2, name_key = $3, owner_email = $4, description = $5, scopes = $6, \
         updated_at = $7, version = version + 1 WHERE id = $1 AND version = $8",
    )
    .bind(a.id)
    .bind(a.name)
    .bind(a.name.to_lowercase())
    .bind(a.owner_email)
    .bind(a.description)
    .bind(scopes_json(a.scopes))
    .bind(a.now)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_account_status(
    tx: &mut Tx,
    id: &str,
    status: &str,
    now: i64,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE service_accounts SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1 AND version = $4",
    )
    .bind(id)
    .bind(status)
    .bind(now)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn account_id_by_name(tx: &mut Tx, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM service_accounts WHERE name_key = $1")
        .bind(name.to_lowercase())
        .fetch_optional(&mut **tx)
        .await
}

const ACCOUNT: &str =
    "SELECT id, name, owner_email, description, scopes, status, created_at, updated_at, version \
                       FROM service_accounts";

fn account(r: &AnyRow) -> Result<ServiceAccount, sqlx::Error> {
    Ok(ServiceAccount {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        owner_email: r.try_get("owner_email")?,
        description: r.try_get("description")?,
        scopes: scopes_of(&r.try_get::<String, _>("scopes")?),
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

pub async fn get_account(pool: &AnyPool, id: &str) -> Result<Option<ServiceAccount>, sqlx::Error> {
    let row = sqlx::query(&format!("{ACCOUNT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(account).transpose()
}

/// Newest first, a keyset page after `(created_at, id)` of the last row seen.
pub async fn page_accounts(
    pool: &AnyPool,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<ServiceAccount>, sqlx::Error> {
    let rows = match after {
        Some((at, id)) => {
            sqlx::query(&format!(
                "{ACCOUNT} WHERE (created_at < $1 OR (created_at = $1 AND id < $2)) \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            ))
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "{ACCOUNT} ORDER BY created_at DESC, id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(account).collect()
}

pub struct TokenRow<'a> {
    pub id: &'a str,
    pub kind: TokenKind,
    pub service_account_id: Option<&'a str>,
    pub owner_subject: Option<&'a str>,
    pub owner_email: &'a str,
    pub name: &'a str,
    pub scopes: &'a [Scope],
    pub secret_hash: &'a str,
    pub created_by: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert_token(tx: &mut Tx, t: &TokenRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (id, kind, service_account_id, owner_subject, owner_email, name, scopes, secret_hash, \
         created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(t.id)
    .bind(t.kind.as_str())
    .bind(t.service_account_id)
    .bind(t.owner_subject)
    .bind(t.owner_email)
    .bind(t.name)
    .bind(scopes_json(t.scopes))
    .bind(t.secret_hash)
    .bind(t.created_by)
    .bind(t.now)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const TOKEN: &str =
    "SELECT id, kind, service_account_id, owner_email, name, scopes, created_by, created_at, \
                     expires_at, revoked_at, last_used_at, use_count, personal_reads FROM api_tokens";

fn token(r: &AnyRow) -> Result<TokenSummary, sqlx::Error> {
    let kind: String = r.try_get("kind")?;
    Ok(TokenSummary {
        id: r.try_get("id")?,
        kind: if kind == "service" {
            TokenKind::Service
        } else {
            TokenKind::Personal
        },
        service_account_id: r.try_get("service_account_id")?,
        owner_email: r.try_get("owner_email")?,
        name: r.try_get("name")?,
        scopes: scopes_of(&r.try_get::<String, _>("scopes")?),
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
        last_used_at: r.try_get("last_used_at")?,
        use_count: r.try_get("use_count")?,
        personal_reads: r.try_get("personal_reads")?,
    })
}

pub async fn get_token(pool: &AnyPool, id: &str) -> Result<Option<TokenSummary>, sqlx::Error> {
    let row = sqlx::query(&format!("{TOKEN} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(token).transpose()
}

/// A service account's tokens, newest first (an account holds a handful).
pub async fn tokens_of_account(
    pool: &AnyPool,
    account_id: &str,
) -> Result<Vec<TokenSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{TOKEN} WHERE service_account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100"
    ))
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(token).collect()
}

/// A person's personal tokens, newest first.
pub async fn tokens_of_person(
    pool: &AnyPool,
    subject: &str,
) -> Result<Vec<TokenSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{TOKEN} WHERE owner_subject = $1 ORDER BY created_at DESC, id DESC LIMIT 100"
    ))
    .bind(subject)
    .fetch_all(pool)
    .await?;
    rows.iter().map(token).collect()
}

/// Every staff member's personal tokens, newest first, a keyset page after `(created_at, id)`.
pub async fn page_personal_tokens(
    pool: &AnyPool,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<TokenSummary>, sqlx::Error> {
    let rows = match after {
        Some((at, id)) => {
            sqlx::query(&format!(
                "{TOKEN} WHERE kind = 'personal' AND (created_at < $1 OR (created_at = $1 AND id < $2)) \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            ))
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "{TOKEN} WHERE kind = 'personal' ORDER BY created_at DESC, id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(token).collect()
}

/// Whose personal token this is (`None` for a service token or an unknown id).
pub async fn token_owner_subject(pool: &AnyPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    let owner: Option<Option<String>> =
        sqlx::query_scalar("SELECT owner_subject FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(owner.flatten())
}

pub async fn revoke_token(tx: &mut Tx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Brings a token's end forward (a rotation's grace period); never extends it.
pub async fn shorten_token(tx: &mut Tx, id: &str, until: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_tokens SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What authenticating a presented token needs, in one read.
#[derive(Clone, Debug)]
pub struct TokenForAuth {
    pub summary: TokenSummary,
    pub owner_subject: Option<String>,
    pub secret_hash: String,
    /// The service account's status (`active` or `disabled`); `None` for personal tokens.
    pub account_status: Option<String>,
    /// Personal tokens: the owner's role as last confirmed by the identity provider, and when.
    pub owner_role: Option<String>,
    pub owner_confirmed_at: Option<i64>,
}

pub async fn token_for_auth(pool: &AnyPool, id: &str) -> Result<Option<TokenForAuth>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.id, t.kind, t.service_account_id, t.owner_email, t.name, t.scopes, t.created_by, t.created_at, \
         t.expires_at, t.revoked_at, t.last_used_at, t.use_count, t.personal_reads, t.owner_subject, t.secret_hash, \
         s.status AS account_status, o.role AS owner_role, o.confirmed_at AS owner_confirmed_at \
         FROM api_tokens t LEFT JOIN service_accounts s ON s.id = t.service_account_id \
         LEFT JOIN token_owners o ON o.subject = t.owner_subject WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(TokenForAuth {
            summary: token(&r)?,
            owner_subject: r.try_get("owner_subject")?,
            secret_hash: r.try_get("secret_hash")?,
            account_status: r.try_get("account_status")?,
            owner_role: r.try_get("owner_role")?,
            owner_confirmed_at: r.try_get("owner_confirmed_at")?,
        })
    })
    .transpose()
}

/// Records the role the identity provider just confirmed for a staff member.
pub async fn note_owner(
    tx: &mut Tx,
    subject: &str,
    email: &str,
    role: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO token_owners (subject, email, role, confirmed_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (subject) DO UPDATE SET email = $2, role = $3, confirmed_at = $4",
    )
    .bind(subject)
    .bind(email)
    .bind(role)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The staff member lost their role: forgets it and revokes their personal tokens; returns the
/// ids revoked.
pub async fn drop_owner(tx: &mut Tx, subject: &str, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("DELETE FROM token_owners WHERE subject = $1")
        .bind(subject)
        .execute(&mut **tx)
        .await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM api_tokens WHERE owner_subject = $1 AND revoked_at IS NULL",
    )
    .bind(subject)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE owner_subject = $1 AND revoked_at IS NULL",
    )
    .bind(subject)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(ids)
}

/// Usage counted in memory, written in one transaction: (token id, last used, uses, reads of
/// people's data).
pub async fn record_usage(
    tx: &mut Tx,
    usage: &[(String, i64, i64, i64)],
) -> Result<(), sqlx::Error> {
    for (id, at, uses, reads) in usage {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = CASE WHEN last_used_at > $2 THEN last_used_at ELSE $2 END, \
             use_count = use_count + $3, personal_reads = personal_reads + $4 WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .bind(uses)
        .bind(reads)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A stored answer to a creating POST.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

pub async fn idempotent_answer(
    pool: &AnyPool,
    token_id: &str,
    key: &str,
    since: i64,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT request_hash, status, body, location FROM api_idempotency \
         WHERE token_id = $1 AND key = $2 AND created_at > $3",
    )
    .bind(token_id)
    .bind(key)
    .bind(since)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(StoredAnswer {
            request_hash: r.try_get("request_hash")?,
            status: r.try_get::<i64, _>("status")? as u16,
            body: r.try_get("body")?,
            location: r.try_get("location")?,
        })
    })
    .transpose()
}

/// Stores the answer in the transaction that made the change, so a retry can never create twice:
/// a concurrent first attempt with the same key fails on the primary key and rolls back.
pub async fn store_answer(
    tx: &mut Tx,
    token_id: &str,
    key: &str,
    answer: &StoredAnswer,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_idempotency (token_id, key, request_hash, status, body, location, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token_id)
    .bind(key)
    .bind(&answer.request_hash)
    .bind(answer.status as i64)
    .bind(&answer.body)
    .bind(&answer.location)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets answers older than `before` (the clean-up tick).
pub async fn forget_answers(pool: &AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Fills in the answer of a key claimed with [`store_answer`] (status 0 while in progress).
pub async fn complete_answer(
    pool: &AnyPool,
    token_id: &str,
    key: &str,
    answer: &StoredAnswer,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_idempotency SET status = $3, body = $4, location = $5 WHERE token_id = $1 AND key = $2",
    )
    .bind(token_id)
    .bind(key)
    .bind(answer.status as i64)
    .bind(&answer.body)
    .bind(&answer.location)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up a claimed key whose request failed on our side, so a retry may run again.
pub async fn release_key(pool: &AnyPool, token_id: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_idempotency WHERE token_id = $1 AND key = $2")
        .bind(token_id)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
