//! Webhook endpoints: the rules for configuring them, their delivery state, and "retry now",
//! "replay from here" and secret rotation. Each change is one transaction with its audit
//! record; the signing secret is sealed before it is stored and returned only once.
use crate::model::webhooks::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, webhooks::EndpointRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::provisioning::{
    check_outbound_url, parse_delivery_status, parse_max_attempts,
};
use crate::server::service::sealed::{self, SecretsKey};
use crate::server::service::webhook_out;
use serde_json::json;

const CONFLICT: &str = "This webhook endpoint was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const MAX_DESCRIPTION: usize = 200;
const MAX_EVENT_LEN: usize = 100;

/// `*`, or dot-separated lowercase words (`user`, `application.provisioning.update`).
fn check_event(raw: &str) -> Result<String, String> {
    let event = raw.trim();
    let word = |w: &str| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if event == "*" || (event.len() <= MAX_EVENT_LEN && event.split('.').all(word)) {
        Ok(event.to_string())
    } else {
        Err(format!(
            "Events: {event:?} is not `*`, an area (user) or an action (user.update)"
        ))
    }
}

struct Valid {
    url: String,
    description: String,
    events: Vec<String>,
    status: &'static str,
    max_attempts: i64,
}

fn parse(input: &WebhookInput) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut field = |name: &str, m: String| errors.push((name.into(), m));
    let url = check_outbound_url(&input.url, "URL")
        .map_err(|m| field("url", m))
        .unwrap_or_default();
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        field(
            "description",
            format!("Description: at most {MAX_DESCRIPTION} characters on one line"),
        );
    }
    let mut events: Vec<String> = Vec::new();
    // Blank entries are the console's empty "specific action" box.
    for raw in input.events.iter().filter(|e| !e.trim().is_empty()) {
        match check_event(raw) {
            Ok(e) if !events.contains(&e) => events.push(e),
            Ok(_) => {}
            Err(m) => field("events", m),
        }
    }
    if events.is_empty() {
        field("events", "Choose at least one event or area".into());
    } else if events.len() > MAX_EVENTS {
        field("events", format!("At most {MAX_EVENTS} events or areas"));
    }
    events.sort();
    let status = parse_delivery_status(&input.status)
        .map_err(|m| field("status", m))
        .unwrap_or("active");
    let max_attempts = parse_max_attempts(&input.max_attempts)
        .map_err(|m| field("max_attempts", m))
        .unwrap_or(1);
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(Valid {
        url,
        description,
        events,
        status,
        max_attempts,
    })
}

fn need_key(key: Option<&SecretsKey>) -> Result<&SecretsKey, AppError> {
    key.ok_or_else(|| {
        AppError::invalid(
            "url",
            "Gatehouse cannot keep a signing secret: GATEHOUSE_SECRETS_KEY is not set (docs/operations.md)",
        )
    })
}

fn details(id: &str, v: &Valid) -> serde_json::Value {
    json!({
        "endpoint": id, "url": v.url, "description": v.description, "events": v.events,
        "status": v.status, "max_attempts": v.max_attempts,
    })
}

/// Makes an endpoint; the answer carries its signing secret, which is never shown again.
pub async fn create(
    db: &Db,
    auth: &Authorized,
    key: Option<&SecretsKey>,
    input: &WebhookInput,
) -> Result<WebhookWithSecret, AppError> {
    let valid = parse(input)?;
    let key = need_key(key)?;
    let id = format!(
        "{}{}",
        db::webhooks::ID_PREFIX,
        uuid::Uuid::new_v4().simple()
    );
    let secret = webhook_out::new_secret();
    let row = EndpointRow {
        id: &id,
        url: &valid.url,
        description: &valid.description,
        status: valid.status,
        max_attempts: valid.max_attempts,
        now: db::now_ms(),
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::webhooks::insert(
        &mut tx,
        &row,
        &key.seal(&secret, &id),
        &sealed::hint(&secret),
    )
    .await
    .map_err(internal)?;
    db::webhooks::set_events(&mut tx, &id, &valid.events)
        .await
        .map_err(internal)?;
    let entry = Entry::new("webhook.create", Outcome::Success)
        .target("webhook", &id)
        .details(details(&id, &valid));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(WebhookWithSecret {
        endpoint: view(db, &id).await?,
        secret,
    })
}

/// Changes an endpoint against the version the administrator saw.
pub async fn update(
    db: &Db,
    auth: &Authorized,
    id: &str,
    version: i64,
    input: &WebhookInput,
) -> Result<WebhookView, AppError> {
    let valid = parse(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let row = EndpointRow {
        id,
        url: &valid.url,
        description: &valid.description,
        status: valid.status,
        max_attempts: valid.max_attempts,
        now: db::now_ms(),
    };
    if !db::webhooks::update(&mut tx, &row, version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    db::webhooks::set_events(&mut tx, id, &valid.events)
        .await
        .map_err(internal)?;
    let entry = Entry::new("webhook.update", Outcome::Success)
        .target("webhook", id)
        .details(details(id, &valid));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// A new signing secret, effective for the next delivery; returned once.
pub async fn rotate_secret(
    db: &Db,
    auth: &Authorized,
    key: Option<&SecretsKey>,
    id: &str,
) -> Result<WebhookWithSecret, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let key = need_key(key)?;
    let secret = webhook_out::new_secret();
    db::webhooks::set_secret(
        &mut tx,
        id,
        &key.seal(&secret, id),
        &sealed::hint(&secret),
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let entry = Entry::new("webhook.rotate_secret", Outcome::Success).target("webhook", id);
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(WebhookWithSecret {
        endpoint: view(db, id).await?,
        secret,
    })
}

/// Removes an endpoint and its undelivered messages.
pub async fn delete(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let (pending, _) = db::outbox::counts(&db.pool, id).await.map_err(internal)?;
    db::webhooks::delete(&mut tx, id).await.map_err(internal)?;
    let entry = Entry::new("webhook.delete", Outcome::Success)
        .target("webhook", id)
        .details(json!({ "endpoint": id, "undelivered": pending }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// Every endpoint with its counts (failures only on the endpoint's own page).
pub async fn list(db: &Db) -> Result<Vec<WebhookView>, AppError> {
    let mut all = db::webhooks::list(&db.pool).await.map_err(internal)?;
    let counts = db::outbox_lists::counts_of_all(&db.pool, db::outbox_lists::Targets::Webhooks)
        .await
        .map_err(internal)?;
    let events = db::webhooks::all_events(&db.pool).await.map_err(internal)?;
    for e in &mut all {
        e.events = events
            .iter()
            .filter(|(id, _)| *id == e.id)
            .map(|(_, event)| event.clone())
            .collect();
        (e.pending, e.dead) = counts.get(&e.id).copied().unwrap_or_default();
    }
    Ok(all)
}

/// One endpoint with its delivery state and newest failures, or 404.
pub async fn view(db: &Db, id: &str) -> Result<WebhookView, AppError> {
    let mut e = db::webhooks::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The webhook endpoint".into()))?;
    e.events = db::webhooks::events(&db.pool, id).await.map_err(internal)?;
    (e.pending, e.dead) = db::outbox::counts(&db.pool, id).await.map_err(internal)?;
    e.failures = db::outbox::failures(&db.pool, id, 20)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|f| WebhookFailure {
            seq: f.seq,
            event: f.guid.parse().unwrap_or(0),
            state: f.state,
            attempts: f.attempts,
            error: f.error,
            at: f.at,
        })
        .collect();
    Ok(e)
}

async fn locked(tx: &mut db::Tx, id: &str) -> Result<i64, AppError> {
    db::webhooks::version_for_update(tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The webhook endpoint".into()))
}

/// Dead-lettered and waiting messages are sent again now.
pub async fn retry_now(db: &Db, auth: &Authorized, id: &str) -> Result<WebhookView, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let count = db::outbox::retry_now(&mut tx, id, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("webhook.retry", Outcome::Success)
        .target("webhook", id)
        .details(json!({ "endpoint": id, "messages": count }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Every message from `seq` on is sent again, in order (delivered ones too).
pub async fn replay_from(
    db: &Db,
    auth: &Authorized,
    id: &str,
    seq: i64,
) -> Result<WebhookView, AppError> {
    if seq < 1 {
        return Err(AppError::invalid(
            "seq",
            "Give the message number to replay from",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let count = db::outbox::replay_from(&mut tx, id, seq, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("webhook.replay", Outcome::Success)
        .target("webhook", id)
        .details(json!({ "endpoint": id, "from": seq, "messages": count }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

#[cfg(test)]
mod tests {
    use super::check_event;

    #[test]
    fn events_are_everything_areas_or_actions() {
        for ok in [
            "*",
            "user",
            "user.update",
            "application.provisioning.update",
            "api_key",
        ] {
            assert_eq!(check_event(&format!(" {ok} ")).unwrap(), ok);
        }
        for bad in [
            "",
            "User",
            "user.",
            ".user",
            "user..update",
            "user.*",
            "1user",
            "a b",
        ] {
            assert!(check_event(bad).is_err(), "{bad:?} accepted");
        }
    }
}
