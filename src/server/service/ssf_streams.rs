//! The SSF 1.0 stream management API as a registered receiver uses it: create, read, update,
//! replace and delete its one stream, its status, subjects and verification. The receiver is
//! the actor of each change's audit record. Gatehouse pushes (RFC 8935) only, and speaks of
//! every person (default subjects: all), so subject requests are accepted and not kept
//! (docs/decisions.md, "Shared Signals").
use crate::model::ssf::ReceiverView;
use crate::model::{AppError, Principal, Role};
use crate::server::auth::Authorized;
use crate::server::db::{self, ssf::StreamConfig, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome, RequestMeta};
use crate::server::service::provisioning::check_outbound_url;
use crate::server::service::sealed::SecretsKey;
use crate::server::service::ssf::stored_status;
use crate::server::ssf_events::{SUPPORTED, VERIFICATION};
use serde_json::{json, Value};

pub const PUSH: &str = "urn:ietf:rfc:8935";
pub const POLL: &str = "urn:ietf:rfc:8936";
/// Seconds between verification requests a receiver may make.
pub const MIN_VERIFICATION_INTERVAL: i64 = 10;
const MAX_EVENTS_REQUESTED: usize = 50;
const MAX_DESCRIPTION: usize = 200;

/// The receiver calling, as the audit log names it.
pub fn caller(receiver: &ReceiverView, meta: RequestMeta) -> Authorized {
    Authorized {
        principal: Principal {
            subject: format!("ssf:{}", receiver.id),
            email: format!("receiver:{}", receiver.id),
            name: receiver.name.clone(),
            role: Role::Admin,
            scopes: Some(Vec::new()),
        },
        permission: crate::model::Permission::ManageSignals,
        meta,
    }
}

/// The stream configuration as SSF shows it (the Authorization value is never shown).
pub fn config(r: &ReceiverView, issuer: &str) -> Value {
    let mut c = json!({
        "stream_id": r.id,
        "iss": issuer,
        "aud": r.audience,
        "events_supported": SUPPORTED,
        "events_requested": r.events_requested,
        "events_delivered": r.events_delivered,
        "delivery": { "method": PUSH, "endpoint_url": r.endpoint_url },
        "min_verification_interval": MIN_VERIFICATION_INTERVAL,
    });
    if !r.description.is_empty() {
        c["description"] = json!(r.description);
    }
    c
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::Request(message.into())
}

fn not_found() -> AppError {
    AppError::NotFound("The stream".into())
}

/// The caller's own configured stream named by `stream_id`; anything else is 404.
pub fn own(r: &ReceiverView, stream_id: Option<&str>) -> Result<(), AppError> {
    match stream_id {
        Some(id) if id == r.id && r.configured => Ok(()),
        Some(_) => Err(not_found()),
        None => Err(bad("stream_id is required")),
    }
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, AppError> {
    let list = v
        .as_array()
        .ok_or_else(|| bad(format!("{name} must be an array of strings")))?;
    if list.len() > MAX_EVENTS_REQUESTED {
        return Err(bad(format!(
            "{name}: at most {MAX_EVENTS_REQUESTED} event types"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for e in list {
        let e = e
            .as_str()
            .ok_or_else(|| bad(format!("{name} must be an array of strings")))?;
        if e.len() > 300 {
            return Err(bad(format!(
                "{name}: an event type is at most 300 characters"
            )));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_string());
        }
    }
    Ok(out)
}

/// Receiver-supplied properties, validated; `None` where the body does not give them.
struct Given {
    endpoint_url: Option<String>,
    authorization: Option<Option<String>>,
    events_requested: Option<Vec<String>>,
    description: Option<String>,
}

fn given(body: &Value) -> Result<Given, AppError> {
    if !body.is_object() {
        return Err(bad("the body must be a JSON object"));
    }
    let mut g = Given {
        endpoint_url: None,
        authorization: None,
        events_requested: None,
        description: None,
    };
    if let Some(delivery) = body.get("delivery") {
        let method = delivery["method"].as_str().unwrap_or_default();
        if method == POLL {
            return Err(bad(
                "delivery: Gatehouse delivers by push only (urn:ietf:rfc:8935)",
            ));
        }
        if method != PUSH {
            return Err(bad("delivery.method must be urn:ietf:rfc:8935"));
        }
        let url = delivery["endpoint_url"].as_str().unwrap_or_default();
        g.endpoint_url = Some(check_outbound_url(url, "delivery.endpoint_url").map_err(bad)?);
        g.authorization = Some(match delivery.get("authorization_header") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() <= 2000 && !s.chars().any(char::is_control) => {
                Some(s.clone())
            }
            Some(_) => {
                return Err(bad(
                    "delivery.authorization_header must be one line of at most 2000 characters",
                ))
            }
        });
    }
    if let Some(events) = body.get("events_requested") {
        g.events_requested = Some(strings(events, "events_requested")?);
    }
    if let Some(d) = body.get("description") {
        let d = d
            .as_str()
            .ok_or_else(|| bad("description must be a string"))?
            .trim();
        if d.chars().any(char::is_control) {
            return Err(bad("description must be one line"));
        }
        g.description = Some(d.chars().take(MAX_DESCRIPTION).collect());
    }
    Ok(g)
}

/// SSF: transmitter-supplied properties may be sent back, but must match.
fn unchanged(body: &Value, current: &Value) -> Result<(), AppError> {
    for name in ["iss", "aud", "events_supported", "events_delivered"] {
        if let Some(v) = body.get(name) {
            if v != &current[name] {
                return Err(bad(format!(
                    "{name} is set by the transmitter and cannot be changed"
                )));
            }
        }
    }
    Ok(())
}

async fn save(
    db: &Db,
    key: Option<&SecretsKey>,
    receiver: &ReceiverView,
    auth: &Authorized,
    g: &Given,
    action: &str,
) -> Result<(), AppError> {
    let endpoint_url = g
        .endpoint_url
        .clone()
        .unwrap_or_else(|| receiver.endpoint_url.clone());
    if endpoint_url.is_empty() {
        return Err(bad(
            "delivery is required: {\"method\": \"urn:ietf:rfc:8935\", \"endpoint_url\": ...}",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    let current_sealed = current_authorization(&mut tx, &receiver.id).await?;
    let authorization_sealed = match &g.authorization {
        None => current_sealed,
        Some(None) => String::new(),
        Some(Some(value)) => match key {
            Some(key) => key.seal(value, &receiver.id),
            None => {
                return Err(bad(
                    "delivery.authorization_header cannot be kept: the transmitter has no GATEHOUSE_SECRETS_KEY",
                ))
            }
        },
    };
    let events = g
        .events_requested
        .clone()
        .unwrap_or_else(|| receiver.events_requested.clone());
    let description = g
        .description
        .clone()
        .unwrap_or_else(|| receiver.description.clone());
    let c = StreamConfig {
        endpoint_url: &endpoint_url,
        authorization_sealed: &authorization_sealed,
        events_requested: &events,
        description: &description,
    };
    db::ssf::configure(&mut tx, &receiver.id, &c, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new(action, Outcome::Success)
        .target("ssf_receiver", &receiver.id)
        .details(json!({
            "stream_id": receiver.id, "endpoint_url": endpoint_url,
            "events_requested": events, "description": description,
            "authorization_header": !authorization_sealed.is_empty(),
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

async fn current_authorization(tx: &mut db::Tx, id: &str) -> Result<String, AppError> {
    db::ssf::authorization_sealed(tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)
}

async fn fresh(db: &Db, id: &str) -> Result<ReceiverView, AppError> {
    db::ssf::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)
}

/// POST: the receiver's one stream; 409 when it already has it.
pub async fn create(
    db: &Db,
    key: Option<&SecretsKey>,
    receiver: &ReceiverView,
    auth: &Authorized,
    body: &Value,
) -> Result<ReceiverView, AppError> {
    if receiver.configured {
        return Err(AppError::Conflict(
            "This receiver already has its stream; change it with PATCH or PUT, or DELETE it first"
                .into(),
        ));
    }
    let g = given(body)?;
    if g.endpoint_url.is_none() {
        return Err(bad(
            "delivery is required: Gatehouse delivers by push (urn:ietf:rfc:8935)",
        ));
    }
    save(db, key, receiver, auth, &g, "ssf.stream.create").await?;
    fresh(db, &receiver.id).await
}

/// PATCH (`replace` false) or PUT (`replace` true) of the receiver's stream.
pub async fn update(
    db: &Db,
    key: Option<&SecretsKey>,
    receiver: &ReceiverView,
    auth: &Authorized,
    issuer: &str,
    body: &Value,
    replace: bool,
) -> Result<ReceiverView, AppError> {
    own(receiver, body["stream_id"].as_str())?;
    unchanged(body, &config(receiver, issuer))?;
    let mut g = given(body)?;
    if replace {
        if g.endpoint_url.is_none() {
            return Err(bad(
                "PUT replaces the whole configuration: delivery is required",
            ));
        }
        g.events_requested.get_or_insert_with(Vec::new);
        g.description.get_or_insert_with(String::new);
    }
    let action = if replace {
        "ssf.stream.replace"
    } else {
        "ssf.stream.update"
    };
    save(db, key, receiver, auth, &g, action).await?;
    fresh(db, &receiver.id).await
}

/// DELETE: the stream ends and what was queued for it is dropped; the registration stays.
pub async fn delete(
    db: &Db,
    receiver: &ReceiverView,
    auth: &Authorized,
    stream_id: Option<&str>,
) -> Result<(), AppError> {
    own(receiver, stream_id)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::ssf::unconfigure(&mut tx, &receiver.id, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("ssf.stream.delete", Outcome::Success)
        .target("ssf_receiver", &receiver.id)
        .details(json!({ "stream_id": receiver.id }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

pub fn status(r: &ReceiverView) -> Value {
    let mut s = json!({ "stream_id": r.id, "status": r.status });
    if !r.status_reason.is_empty() {
        s["reason"] = json!(r.status_reason);
    }
    s
}

/// POST status: the receiver pauses, disables or enables its stream.
pub async fn set_status(
    db: &Db,
    receiver: &ReceiverView,
    auth: &Authorized,
    body: &Value,
) -> Result<ReceiverView, AppError> {
    own(receiver, body["stream_id"].as_str())?;
    let wanted = body["status"]
        .as_str()
        .ok_or_else(|| bad("status is required: enabled, paused or disabled"))?;
    let stored = stored_status(wanted).map_err(|e| bad(e.to_string()))?;
    let reason: String = body["reason"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::ssf::set_status(&mut tx, &receiver.id, stored, &reason, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("ssf.stream.status", Outcome::Success)
        .target("ssf_receiver", &receiver.id)
        .details(json!({ "stream_id": receiver.id, "status": wanted, "reason": reason }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    fresh(db, &receiver.id).await
}

/// Add or remove a subject: checked, not kept (every person's events are sent).
pub fn check_subject(receiver: &ReceiverView, body: &Value) -> Result<(), AppError> {
    own(receiver, body["stream_id"].as_str())?;
    match body.get("subject") {
        Some(s) if s["format"].is_string() => Ok(()),
        _ => Err(bad(
            "subject is required: a subject identifier with its format (RFC 9493)",
        )),
    }
}

/// POST verification: queues a verification event echoing `state`; 429 when asked again
/// within the interval.
pub async fn verify(db: &Db, receiver: &ReceiverView, body: &Value) -> Result<(), AppError> {
    own(receiver, body["stream_id"].as_str())?;
    let state = match body.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 1000 => Some(s.clone()),
        Some(_) => return Err(bad("state must be a string of at most 1000 characters")),
    };
    let now = db::now_ms();
    if receiver.verified_at > 0 && now - receiver.verified_at < MIN_VERIFICATION_INTERVAL * 1000 {
        return Err(AppError::RateLimited(format!(
            "one verification per {MIN_VERIFICATION_INTERVAL} seconds (min_verification_interval)"
        )));
    }
    let mut event = json!({});
    if let Some(state) = state {
        event["state"] = json!(state);
    }
    let claims = json!({
        "jti": uuid::Uuid::new_v4().simple().to_string(),
        "iat": now / 1000,
        "aud": receiver.audience,
        "sub_id": { "format": "opaque", "id": receiver.id },
        "events": { VERIFICATION: event },
    });
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::ssf::set_verified(&mut tx, &receiver.id, now)
        .await
        .map_err(internal)?;
    db::ssf::enqueue(&mut tx, &receiver.id, VERIFICATION, &claims, now)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// What `/.well-known/ssf-configuration` says (SSF 1.0 §7.1 and the CAEP interoperability
/// profile's required fields).
pub fn metadata(issuer: &str) -> Value {
    json!({
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "delivery_methods_supported": [PUSH],
        "configuration_endpoint": format!("{issuer}/ssf/streams"),
        "status_endpoint": format!("{issuer}/ssf/status"),
        "add_subject_endpoint": format!("{issuer}/ssf/subjects:add"),
        "remove_subject_endpoint": format!("{issuer}/ssf/subjects:remove"),
        "verification_endpoint": format!("{issuer}/ssf/verify"),
        "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6750" }],
        "default_subjects": "ALL",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_push_delivery_to_a_checked_url_is_taken() {
        let ok =
            given(&json!({"delivery": {"method": PUSH, "endpoint_url": "https://r.example/ev"}}))
                .unwrap();
        assert_eq!(ok.endpoint_url.as_deref(), Some("https://r.example/ev"));
        assert!(given(&json!({"delivery": {"method": POLL}})).is_err());
        assert!(
            given(&json!({"delivery": {"method": PUSH, "endpoint_url": "http://r.example"}}))
                .is_err()
        );
        assert!(given(&json!({"events_requested": "x"})).is_err());
        assert!(given(&json!([1])).is_err());
    }

    #[test]
    fn the_metadata_names_every_endpoint_under_the_issuer() {
        let m = metadata("https://gh.example");
        assert_eq!(m["issuer"], "https://gh.example");
        assert_eq!(m["jwks_uri"], "https://gh.example/.well-known/jwks.json");
        assert_eq!(m["spec_version"], "1_0");
    }
}
