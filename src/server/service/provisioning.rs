//! Provisioning targets: the rules for configuring an application's SCIM target, its state,
//! and the console's "retry now" and "replay from here". Each change is one transaction with
//! its audit record; the credential is sealed before it is stored and never returned or logged.
use crate::model::provisioning::*;
use crate::model::reconcile::MAX_RECONCILE_EVERY_HOURS;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, provisioning::TargetRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::sealed::{self, SecretsKey};
use serde_json::json;

const CONFLICT: &str = "This provisioning target was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const MAX_CREDENTIAL: usize = 4096;

/// Targets must be HTTPS; plain HTTP only on this machine (tests, a local relay).
fn check_base_url(raw: &str) -> Result<String, String> {
    check_outbound_url(raw, "Base URL")
}

/// An address Gatehouse sends to (a SCIM target, a webhook endpoint): HTTPS, plain HTTP only
/// on this machine, without credentials, query or fragment (credentials are kept sealed).
pub(crate) fn check_outbound_url(raw: &str, label: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    if raw.is_empty() {
        return Err(format!("{label} is required"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("{label} is not a URL ({e})"))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(format!("{label} must use https (http only for localhost)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{label} must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{label} must not have a query or a fragment"));
    }
    Ok(raw.to_string())
}

/// `active` (the default) or `paused`.
pub(crate) fn parse_delivery_status(raw: &str) -> Result<&'static str, String> {
    match raw.trim() {
        "" | "active" => Ok("active"),
        "paused" => Ok("paused"),
        other => Err(format!("Status is active or paused, not {other:?}")),
    }
}

/// Attempts before a message is dead-lettered; empty means the default.
pub(crate) fn parse_max_attempts(raw: &str) -> Result<i64, String> {
    match raw.trim() {
        "" => Ok(DEFAULT_MAX_ATTEMPTS),
        raw => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_MAX_ATTEMPTS).contains(&n) => Ok(n),
            _ => Err(format!(
                "Attempts must be a whole number from 1 to {MAX_MAX_ATTEMPTS}"
            )),
        },
    }
}

struct Valid {
    base_url: String,
    credential: Option<String>,
    attributes: Vec<String>,
    preferred_source: Option<String>,
    status: &'static str,
    max_attempts: i64,
    reconcile_every_hours: i64,
}

async fn parse(tx: &mut db::Tx, input: &TargetInput, creating: bool) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let base_url = check_base_url(&input.base_url)
        .map_err(|m| errors.push(("base_url".into(), m)))
        .unwrap_or_default();
    let credential = input.credential.trim();
    let credential = if credential.is_empty() {
        if creating {
            errors.push(("credential".into(), "The bearer token is required".into()));
        }
        None
    } else if credential.len() > MAX_CREDENTIAL || credential.chars().any(char::is_control) {
        errors.push((
            "credential".into(),
            format!("The bearer token must be at most {MAX_CREDENTIAL} characters, without control characters"),
        ));
        None
    } else {
        Some(credential.to_string())
    };
    let mut attributes = Vec::new();
    for a in &input.attributes {
        match OPTIONAL_ATTRIBUTES.iter().find(|(name, _)| name == a) {
            Some((name, _)) if !attributes.iter().any(|x| x == name) => {
                attributes.push(name.to_string())
            }
            Some(_) => {}
            None => errors.push((
                "attributes".into(),
                format!("Attributes: {a:?} is not one Gatehouse sends"),
            )),
        }
    }
    let preferred = input.preferred_source.trim();
    let preferred_source = if preferred.is_empty() {
        None
    } else {
        let known =
            preferred == "console" || db::sources::exists(tx, preferred).await.map_err(internal)?;
        if !known {
            errors.push((
                "preferred_source".into(),
                format!("No provisioning source has the id {preferred:?}"),
            ));
        }
        Some(preferred.to_string())
    };
    let status = parse_delivery_status(&input.status)
        .map_err(|m| errors.push(("status".into(), m)))
        .unwrap_or("active");
    let max_attempts = parse_max_attempts(&input.max_attempts)
        .map_err(|m| errors.push(("max_attempts".into(), m)))
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let reconcile_every_hours = match input.reconcile_every_hours.trim() {
        "" => 0,
        raw => match raw.parse::<i64>() {
            Ok(n) if (0..=MAX_RECONCILE_EVERY_HOURS).contains(&n) => n,
            _ => {
                errors.push((
                    "reconcile_every_hours".into(),
                    format!("Reconcile every: a whole number of hours from 0 (off) to {MAX_RECONCILE_EVERY_HOURS}"),
                ));
                0
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(Valid {
        reconcile_every_hours,
        base_url,
        credential,
        attributes,
        preferred_source,
        status,
        max_attempts,
    })
}

async fn app_exists(tx: &mut db::Tx, app_id: &str) -> Result<(), AppError> {
    db::apps::get_app(&mut **tx, app_id)
        .await
        .map_err(internal)?
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound("The application".into()))
}

/// Creates or changes an application's target. `version` is the one the administrator saw
/// (`None` when there was no target yet). A new target starts with everyone assigned.
pub async fn configure(
    db: &Db,
    auth: &Authorized,
    key: Option<&SecretsKey>,
    app_id: &str,
    version: Option<i64>,
    input: &TargetInput,
) -> Result<TargetView, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    app_exists(&mut tx, app_id).await?;
    let existing = db::provisioning::for_update(&mut tx, app_id)
        .await
        .map_err(internal)?;
    let valid = parse(&mut tx, input, existing.is_none()).await?;
    let Some(key) = key else {
        return Err(AppError::invalid(
            "credential",
            "Gatehouse cannot store a target's credential: GATEHOUSE_SECRETS_KEY is not set (docs/operations.md)",
        ));
    };
    let now = db::now_ms();
    let id = existing
        .as_ref()
        .map(|(id, _, _)| id.clone())
        .unwrap_or_else(|| format!("pt_{}", uuid::Uuid::new_v4().simple()));
    let (sealed_credential, hint) = match (&valid.credential, &existing) {
        (Some(c), _) => (key.seal(c, &id), sealed::hint(c)),
        (None, Some((_, _, stored))) => (stored.clone(), String::new()),
        // parse() refused a new target without one.
        (None, None) => {
            return Err(AppError::invalid(
                "credential",
                "The bearer token is required",
            ))
        }
    };
    let row = TargetRow {
        id: &id,
        application_id: app_id,
        base_url: &valid.base_url,
        credential_sealed: &sealed_credential,
        credential_hint: &hint,
        attributes: &valid.attributes,
        preferred_source: valid.preferred_source.as_deref(),
        status: valid.status,
        max_attempts: valid.max_attempts,
        reconcile_every_hours: valid.reconcile_every_hours,
        now,
    };
    let created = match existing {
        None => {
            db::provisioning::insert(&mut tx, &row)
                .await
                .map_err(internal)?;
            db::outbox::everyone_assigned(&mut tx, &id, app_id, now)
                .await
                .map_err(internal)?;
            true
        }
        Some((_, current, _)) => {
            if version != Some(current)
                || !db::provisioning::update(&mut tx, &row, current, valid.credential.is_some())
                    .await
                    .map_err(internal)?
            {
                return Err(AppError::Conflict(CONFLICT.into()));
            }
            false
        }
    };
    let entry = Entry::new("application.provisioning.update", Outcome::Success)
        .target("application", app_id)
        .details(json!({
            "target": id, "created": created, "base_url": valid.base_url,
            "attributes": valid.attributes, "preferred_source": valid.preferred_source,
            "status": valid.status, "max_attempts": valid.max_attempts,
            "credential_changed": valid.credential.is_some(),
            "reconcile_every_hours": valid.reconcile_every_hours,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view(db, app_id).await?.ok_or(AppError::Internal)
}

/// The application's target with its delivery state, or `None` when it has none.
pub async fn view(db: &Db, app_id: &str) -> Result<Option<TargetView>, AppError> {
    let Some(mut t) = db::provisioning::view_of_app(&db.pool, app_id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    (t.pending, t.dead) = db::outbox::counts(&db.pool, &t.id)
        .await
        .map_err(internal)?;
    (t.accounts, t.active_accounts) = db::provisioning::account_counts(&db.pool, &t.id)
        .await
        .map_err(internal)?;
    t.groups = db::provisioned_groups::count(&db.pool, &t.id)
        .await
        .map_err(internal)?;
    t.failures = db::outbox::failures(&db.pool, &t.id, 20)
        .await
        .map_err(internal)?;
    Ok(Some(t))
}

/// An application with a target, or 404.
pub async fn view_required(db: &Db, app_id: &str) -> Result<TargetView, AppError> {
    view(db, app_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The application's provisioning target".into()))
}

async fn target_id(tx: &mut db::Tx, app_id: &str) -> Result<String, AppError> {
    app_exists(tx, app_id).await?;
    db::provisioning::for_update(tx, app_id)
        .await
        .map_err(internal)?
        .map(|(id, _, _)| id)
        .ok_or_else(|| AppError::NotFound("The application's provisioning target".into()))
}

/// Dead-lettered and waiting messages are sent again now.
pub async fn retry_now(db: &Db, auth: &Authorized, app_id: &str) -> Result<TargetView, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let id = target_id(&mut tx, app_id).await?;
    let count = db::outbox::retry_now(&mut tx, &id, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("application.provisioning.retry", Outcome::Success)
        .target("application", app_id)
        .details(json!({ "target": id, "messages": count }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view_required(db, app_id).await
}

/// Every message from `seq` on is sent again, in order.
pub async fn replay_from(
    db: &Db,
    auth: &Authorized,
    app_id: &str,
    seq: i64,
) -> Result<TargetView, AppError> {
    if seq < 1 {
        return Err(AppError::invalid(
            "seq",
            "Give the message number to replay from",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    let id = target_id(&mut tx, app_id).await?;
    let count = db::outbox::replay_from(&mut tx, &id, seq, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("application.provisioning.replay", Outcome::Success)
        .target("application", app_id)
        .details(json!({ "target": id, "from": seq, "messages": count }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view_required(db, app_id).await
}

/// A person's accounts in the applications that provision: there or not, pending, failing.
pub async fn of_person(db: &Db, guid: &str) -> Result<Vec<ProvisionedAccount>, AppError> {
    let rows = db::provisioning::accounts_of_person(&db.pool, guid.trim())
        .await
        .map_err(internal)?;
    let mut out = Vec::with_capacity(rows.len());
    for (target_id, mut account) in rows {
        (account.pending, account.last_error) =
            db::outbox::about_person(&db.pool, &target_id, guid.trim())
                .await
                .map_err(internal)?;
        out.push(account);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::check_base_url;

    #[test]
    fn targets_are_https_urls_without_credentials_query_or_fragment() {
        assert_eq!(
            check_base_url(" https://app.example.com/scim/v2/ ").unwrap(),
            "https://app.example.com/scim/v2"
        );
        assert!(check_base_url("http://127.0.0.1:4180/t1").is_ok());
        assert!(check_base_url("http://localhost/scim").is_ok());
        for bad in [
            "",
            "http://app.example.com/scim",
            "ftp://app.example.com",
            "https://user:pw@app.example.com/scim",
            "https://app.example.com/scim?x=1",
            "https://app.example.com/scim#top",
            "not a url",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad:?} accepted");
        }
    }
}
