//! Service accounts and management API tokens: the rules. Tokens are shown once and stored as a
//! hash; a service account's tokens hold a subset of its scopes, a personal token a subset of its
//! creator's role. Every change is audited in its transaction. Minting credentials is a console
//! act only (the edges that call these functions are console server functions), so a stolen
//! token can never mint another.
use crate::model::api::{
    parse_scopes, IssuedToken, Scope, ServiceAccount, TokenKind, TokenSummary,
};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, api_tokens::AccountRow, api_tokens::TokenRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::secrets;
use serde::{Deserialize, Serialize};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;
pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;
/// A service account's token lives at most a year: rotation is part of owning one.
pub const MAX_SERVICE_TOKEN_DAYS: i64 = 366;
/// How long a rotated-out token keeps working, so its scripts can switch to the new one.
pub const ROTATION_GRACE_MS: i64 = DAY_MS;
const ACCOUNT_CONFLICT: &str = "This service account was changed by someone else since you opened it. Reload to see their changes, then make yours again.";

/// The longest a personal token may live (`GATEHOUSE_PAT_MAX_DAYS`).
pub fn pat_max_days(config: &crate::server::Config) -> i64 {
    config.api.pat_max_days
}

/// What an administrator fills in for a service account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountInput {
    pub name: String,
    pub owner_email: String,
    pub description: String,
    pub scopes: Vec<String>,
}

struct ValidAccount {
    name: String,
    owner_email: String,
    description: String,
    scopes: Vec<Scope>,
}

fn validate_account(input: &AccountInput) -> Result<ValidAccount, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push((
            "name".into(),
            "Name is required: what the account automates".into(),
        ));
    } else if name.chars().count() > MAX_NAME {
        errors.push((
            "name".into(),
            format!("Name is longer than {MAX_NAME} characters"),
        ));
    }
    let owner_email = input.owner_email.trim().to_lowercase();
    if owner_email.is_empty() {
        errors.push((
            "owner_email".into(),
            "An owner is required: who answers for this account".into(),
        ));
    } else if !owner_email.contains('@') || owner_email.chars().count() > 254 {
        errors.push((
            "owner_email".into(),
            format!("{owner_email:?} is not an email address"),
        ));
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push((
            "description".into(),
            format!("Description is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    let scopes = match parse_scopes(&input.scopes) {
        Ok(s) if s.is_empty() => {
            errors.push(("scopes".into(), "Choose at least one scope".into()));
            Vec::new()
        }
        Ok(s) => s,
        Err(unknown) => {
            errors.push((
                "scopes".into(),
                format!("Unknown scopes: {}", unknown.join(", ")),
            ));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(ValidAccount {
        name,
        owner_email,
        description,
        scopes,
    })
}

fn scope_names(scopes: &[Scope]) -> Vec<&'static str> {
    scopes.iter().map(|s| s.as_str()).collect()
}

pub async fn create_account(
    db: &Db,
    auth: &Authorized,
    input: &AccountInput,
) -> Result<ServiceAccount, AppError> {
    let v = validate_account(input)?;
    let now = db::now_ms();
    let id = format!("sa_{}", uuid::Uuid::new_v4().simple());
    let mut tx = db.begin_write().await.map_err(internal)?;
    if db::api_tokens::account_id_by_name(&mut tx, &v.name)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(AppError::invalid(
            "name",
            format!("A service account named {:?} exists", v.name),
        ));
    }
    let row = AccountRow {
        id: &id,
        name: &v.name,
        owner_email: &v.owner_email,
        description: &v.description,
        scopes: &v.scopes,
        now,
    };
    db::api_tokens::insert_account(&mut tx, &row)
        .await
        .map_err(internal)?;
    let entry = Entry::new("service_account.create", Outcome::Success)
        .target("service_account", &id)
        .details(
            json!({ "name": v.name, "owner": v.owner_email, "scopes": scope_names(&v.scopes) }),
        );
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    get_account(db, &id).await
}

pub async fn get_account(db: &Db, id: &str) -> Result<ServiceAccount, AppError> {
    db::api_tokens::get_account(&db.pool, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The service account".into()))
}

/// What a new token is: its name, scopes and lifetime in days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenInput {
    pub name: String,
    pub scopes: Vec<String>,
    /// Days until it expires; required.
    pub days: String,
}

fn validate_token(
    input: &TokenInput,
    allowed: &[Scope],
    max_days: i64,
    now: i64,
) -> Result<(String, Vec<Scope>, i64), AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push((
            "name".into(),
            "Name is required: where the token is used".into(),
        ));
    } else if name.chars().count() > MAX_NAME {
        errors.push((
            "name".into(),
            format!("Name is longer than {MAX_NAME} characters"),
        ));
    }
    let scopes = match parse_scopes(&input.scopes) {
        Ok(s) if s.is_empty() => {
            errors.push(("scopes".into(), "Choose at least one scope".into()));
            Vec::new()
        }
        Ok(s) => {
            let beyond: Vec<&str> = s
                .iter()
                .filter(|x| !allowed.contains(x))
                .map(|x| x.as_str())
                .collect();
            if !beyond.is_empty() {
                errors.push((
                    "scopes".into(),
                    format!(
                        "Not allowed here: {} (the most is: {})",
                        beyond.join(", "),
                        scope_names(allowed).join(", ")
                    ),
                ));
            }
            s
        }
        Err(unknown) => {
            errors.push((
                "scopes".into(),
                format!("Unknown scopes: {}", unknown.join(", ")),
            ));
            Vec::new()
        }
    };
    let expires_at = match input.days.trim().parse::<i64>() {
        Ok(d) if (1..=max_days).contains(&d) => now + d * DAY_MS,
        _ => {
            errors.push((
                "days".into(),
                format!(
                    "A token expires after 1 to {max_days} days; {:?} is not that",
                    input.days.trim()
                ),
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok((name, scopes, expires_at))
}

async fn issue(
    db: &Db,
    auth: &Authorized,
    row: TokenRow<'_>,
    token: String,
) -> Result<IssuedToken, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::api_tokens::insert_token(&mut tx, &row)
        .await
        .map_err(internal)?;
    let entry = Entry::new("api_token.create", Outcome::Success)
        .target("api_token", row.id)
        .details(json!({
            "kind": row.kind.as_str(), "name": row.name, "service_account": row.service_account_id,
            "owner": row.owner_email, "scopes": scope_names(row.scopes), "expires_at": row.expires_at,
            "secret_shown": true,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    let summary = db::api_tokens::get_token(&db.pool, row.id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    Ok(IssuedToken { summary, token })
}

/// A token for a service account, holding at most the account's scopes.
pub async fn issue_service_token(
    db: &Db,
    auth: &Authorized,
    account_id: &str,
    input: &TokenInput,
) -> Result<IssuedToken, AppError> {
    let account = get_account(db, account_id).await?;
    if account.status != "active" {
        return Err(AppError::Conflict(format!(
            "{} is disabled; enable it first",
            account.name
        )));
    }
    let now = db::now_ms();
    let (name, scopes, expires_at) =
        validate_token(input, &account.scopes, MAX_SERVICE_TOKEN_DAYS, now)?;
    let (id, token) = secrets::new_token();
    let hash = secrets::hash_hex(&token);
    let row = TokenRow {
        id: &id,
        kind: TokenKind::Service,
        service_account_id: Some(&account.id),
        owner_subject: None,
        owner_email: &account.owner_email,
        name: &name,
        scopes: &scopes,
        secret_hash: &hash,
        created_by: &auth.principal.email,
        now,
        expires_at,
    };
    issue(db, auth, row, token.clone()).await
}

/// A personal token of the signed-in person, holding at most what their role allows.
pub async fn issue_personal_token(
    db: &Db,
    auth: &Authorized,
    input: &TokenInput,
    max_days: i64,
) -> Result<IssuedToken, AppError> {
    let allowed: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| auth.principal.can(s.permission()))
        .collect();
    let now = db::now_ms();
    let (name, scopes, expires_at) = validate_token(input, &allowed, max_days, now)?;
    let (id, token) = secrets::new_token();
    let hash = secrets::hash_hex(&token);
    let row = TokenRow {
        id: &id,
        kind: TokenKind::Personal,
        service_account_id: None,
        owner_subject: Some(&auth.principal.subject),
        owner_email: &auth.principal.email,
        name: &name,
        scopes: &scopes,
        secret_hash: &hash,
        created_by: &auth.principal.email,
        now,
        expires_at,
    };
    issue(db, auth, row, token.clone()).await
}

/// Revokes a token at once (every instance's cache learns of it from the audit record).
pub async fn revoke(db: &Db, auth: &Authorized, id: &str) -> Result<TokenSummary, AppError> {
    let id = id.trim();
    let token = db::api_tokens::get_token(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The token".into()))?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::api_tokens::revoke_token(&mut tx, id, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict("That token is already revoked.".into()));
    }
    let entry = Entry::new("api_token.revoke", Outcome::Success)
        .target("api_token", id)
        .details(
            json!({ "kind": token.kind.as_str(), "name": token.name, "owner": token.owner_email }),
        );
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    db::api_tokens::get_token(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)
}

/// Enables or disables a service account; a disabled account's tokens stop working at once.
/// `version` guards against acting on a stale view.
pub async fn set_account_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
    version: i64,
) -> Result<ServiceAccount, AppError> {
    let status = match status.trim() {
        s @ ("active" | "disabled") => s,
        other => {
            return Err(AppError::invalid(
                "status",
                format!("Unknown status {other:?}; use active or disabled"),
            ))
        }
    };
    let before = get_account(db, id).await?;
    if before.version != version {
        return Err(AppError::Conflict(ACCOUNT_CONFLICT.into()));
    }
    if before.status == status {
        return Ok(before);
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::api_tokens::set_account_status(&mut tx, &before.id, status, db::now_ms(), version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(ACCOUNT_CONFLICT.into()));
    }
    let entry = Entry::new("service_account.status", Outcome::Success)
        .target("service_account", &before.id)
        .details(json!({ "name": before.name, "before": before.status, "after": status }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    get_account(db, &before.id).await
}

/// Replaces a service token: a new one with the same account, name, scopes and lifetime, while
/// the old one keeps working for [`ROTATION_GRACE_MS`] (or until its own end, if sooner).
pub async fn rotate(db: &Db, auth: &Authorized, id: &str) -> Result<IssuedToken, AppError> {
    let now = db::now_ms();
    let old = db::api_tokens::get_token(&db.pool, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The token".into()))?;
    let Some(account_id) = old.service_account_id.clone() else {
        return Err(AppError::Conflict(
            "A personal token is not rotated: its owner creates a new one and revokes this one."
                .into(),
        ));
    };
    if old.revoked_at.is_some() || old.expires_at <= now {
        return Err(AppError::Conflict(format!(
            "{} is no longer valid; issue a new token instead",
            old.name
        )));
    }
    let account = get_account(db, &account_id).await?;
    if account.status != "active" {
        return Err(AppError::Conflict(format!(
            "{} is disabled; enable it first",
            account.name
        )));
    }
    // The account's scopes may have narrowed since: the new token never holds more than it may.
    let scopes: Vec<Scope> = old
        .scopes
        .iter()
        .copied()
        .filter(|s| account.scopes.contains(s))
        .collect();
    if scopes.is_empty() {
        return Err(AppError::Conflict(format!(
            "None of this token's scopes is still allowed for {}; issue a new token instead",
            account.name
        )));
    }
    let lifetime = (old.expires_at - old.created_at).clamp(DAY_MS, MAX_SERVICE_TOKEN_DAYS * DAY_MS);
    let (new_id, token) = secrets::new_token();
    let hash = secrets::hash_hex(&token);
    let row = TokenRow {
        id: &new_id,
        kind: TokenKind::Service,
        service_account_id: Some(&account.id),
        owner_subject: None,
        owner_email: &account.owner_email,
        name: &old.name,
        scopes: &scopes,
        secret_hash: &hash,
        created_by: &auth.principal.email,
        now,
        expires_at: now + lifetime,
    };
    let until = (now + ROTATION_GRACE_MS).min(old.expires_at);
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::api_tokens::insert_token(&mut tx, &row)
        .await
        .map_err(internal)?;
    // Nothing shortened means the old token already ends sooner (or was just revoked): either
    // way it does not outlive the grace period.
    db::api_tokens::shorten_token(&mut tx, &old.id, until)
        .await
        .map_err(internal)?;
    let entry = Entry::new("api_token.rotate", Outcome::Success)
        .target("api_token", &old.id)
        .details(json!({
            "new_token": new_id, "service_account": account.id, "name": old.name,
            "scopes": scope_names(&scopes), "expires_at": row.expires_at,
            "grace_seconds": ROTATION_GRACE_MS / 1000, "old_token_valid_until": until,
            "secret_shown": true,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    let summary = db::api_tokens::get_token(&db.pool, &new_id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    Ok(IssuedToken { summary, token })
}

/// A staff member revokes one of their own personal tokens. Anyone else's token is "not found",
/// so its id is not confirmed to exist.
pub async fn revoke_own(db: &Db, auth: &Authorized, id: &str) -> Result<TokenSummary, AppError> {
    let owner = db::api_tokens::token_owner_subject(&db.pool, id.trim())
        .await
        .map_err(internal)?;
    if owner.as_deref() != Some(auth.principal.subject.as_str()) {
        return Err(AppError::NotFound("The token".into()));
    }
    revoke(db, auth, id).await
}
