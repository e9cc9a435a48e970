//! Provisioning sources: the rules. A source's bearer token is shown once and stored as a
//! SHA-256 hash; every change is audited in the transaction that makes it.
use crate::model::sources::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, sources::SourceRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::secrets;
use serde_json::json;

/// What a source id may be: the `source` its users carry (lowercase letters, digits, `-`, `_`).
fn check_id(raw: &str) -> Result<String, String> {
    let id = raw.trim().to_lowercase();
    if id.is_empty() {
        return Err("Id is required: a short name such as entra-emea".into());
    }
    if id.len() > 64 {
        return Err("Id is longer than 64 characters".into());
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("Id may hold only letters, digits, - and _".into());
    }
    if id == crate::model::groups::CONSOLE_SOURCE {
        return Err("console is the console's own source; choose another id".into());
    }
    Ok(id)
}

fn parse(input: &SourceInput) -> Result<(String, String, Vec<String>, String), AppError> {
    let mut errors = Vec::new();
    let id = check_id(&input.id)
        .map_err(|e| errors.push(("id".to_string(), e)))
        .ok();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push((
            "name".to_string(),
            "Name is required, at most 100 characters".to_string(),
        ));
    }
    let mut owned = Vec::new();
    for a in &input.owned_attributes {
        if !OWNABLE_ATTRIBUTES.iter().any(|(k, _)| k == a) {
            errors.push((
                "owned_attributes".into(),
                format!("{a} is not an attribute a source can own"),
            ));
        } else if !owned.contains(a) {
            owned.push(a.clone());
        }
    }
    let rule = if input.match_rule.trim().is_empty() {
        "none".to_string()
    } else {
        input.match_rule.trim().to_string()
    };
    if !MATCH_RULES.iter().any(|(k, _)| *k == rule) {
        errors.push((
            "match_rule".into(),
            format!("{rule} is not a matching rule"),
        ));
    }
    match (errors.is_empty(), id) {
        (true, Some(id)) => Ok((id, name, owned, rule)),
        _ => Err(AppError::Fields(errors)),
    }
}

/// A new token for a source: `(token, hash, hint)`.
fn new_token() -> (String, String, String) {
    let token = secrets::new_source_token();
    let hash = secrets::hash_hex(&token);
    let hint = secrets::hint(&token);
    (token, hash, hint)
}

pub async fn create(
    db: &Db,
    auth: &Authorized,
    input: &SourceInput,
) -> Result<NewSourceToken, AppError> {
    let (id, name, owned, rule) = parse(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    if db::sources::get(&db.pool, &id)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(AppError::invalid(
            "id",
            format!("A source with the id {id} exists"),
        ));
    }
    let (token, hash, hint) = new_token();
    db::sources::insert(
        &mut tx,
        &SourceRow {
            id: &id,
            name: &name,
            token_hash: &hash,
            token_hint: &hint,
            owned_attributes: &owned,
            match_rule: &rule,
            now: db::now_ms(),
        },
    )
    .await
    .map_err(internal)?;
    let entry = Entry::new("source.create", Outcome::Success)
        .target("source", &id)
        .details(json!({ "name": name, "owned_attributes": owned, "match_rule": rule, "token_shown": true }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(NewSourceToken {
        source: get(db, &id).await?,
        token,
    })
}

/// A new token; the old one stops at once (the client is reconfigured with the new one).
pub async fn rotate_token(
    db: &Db,
    auth: &Authorized,
    id: &str,
) -> Result<NewSourceToken, AppError> {
    let (token, hash, hint) = new_token();
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::sources::set_token(&mut tx, id, &hash, &hint, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound("The provisioning source".into()));
    }
    let entry = Entry::new("source.token.rotate", Outcome::Success)
        .target("source", id)
        .details(json!({ "token_shown": true }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(NewSourceToken {
        source: get(db, id).await?,
        token,
    })
}

pub async fn set_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
) -> Result<SourceDetail, AppError> {
    if status != "active" && status != "disabled" {
        return Err(AppError::invalid("status", "Status is active or disabled"));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::sources::set_status(&mut tx, id, status, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound("The provisioning source".into()));
    }
    let entry = Entry::new("source.status", Outcome::Success)
        .target("source", id)
        .details(json!({ "after": status }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    get(db, id).await
}

pub async fn get(db: &Db, id: &str) -> Result<SourceDetail, AppError> {
    let mut source = db::sources::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The provisioning source".into()))?;
    source.errors = db::sources::errors(&db.pool, id).await.map_err(internal)?;
    Ok(source)
}

pub async fn list(db: &Db) -> Result<Vec<SourceDetail>, AppError> {
    db::sources::list(&db.pool).await.map_err(internal)
}
