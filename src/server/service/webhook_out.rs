//! Delivers an audit event to a webhook endpoint as JSON, signed per the Standard Webhooks
//! convention (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` = `v1,` base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
//!
//! `webhook-id` is `msg_` and the outbox message's number: the same on every retry and replay,
//! so a receiver can drop what it already handled (at least once, docs/decisions.md).
use crate::model::audit::AuditEvent;
use crate::server::db::{self, webhooks::Endpoint, Db};
use crate::server::service::scim_out::without_url;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// The `webhook-signature` header for a message.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = B64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| "the endpoint's signing secret is damaged; rotate it".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| "the endpoint's signing secret is damaged; rotate it".to_string())?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The message body: the event type, when it happened, and the audit record itself.
pub fn payload(event: &AuditEvent) -> Value {
    let details: Value = serde_json::from_str(&event.details).unwrap_or(Value::Null);
    let timestamp = chrono::DateTime::from_timestamp_millis(event.occurred_at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    json!({
        "type": event.action,
        "timestamp": timestamp,
        "data": {
            "seq": event.seq,
            "occurred_at": event.occurred_at,
            "action": event.action,
            "outcome": event.outcome,
            "actor": {
                "subject": event.actor_subject,
                "email": event.actor_email,
                "role": event.actor_role,
            },
            "target": { "type": event.target_type, "id": event.target_id },
            "client_ip": event.client_ip,
            "details": details,
            "hash": event.hash,
        },
    })
}

/// Sends message `seq` (about audit event `subject`) to the endpoint. `Err` is the failure
/// text shown on the endpoint's page.
pub async fn deliver(
    db: &Db,
    http: &reqwest::Client,
    endpoint: &Endpoint,
    secret: &str,
    seq: i64,
    subject: &str,
    now_ms: i64,
) -> Result<(), String> {
    let event_seq: i64 = subject
        .parse()
        .map_err(|_| format!("message {seq} names no audit event"))?;
    let event = db::audit::by_seq(&db.pool, event_seq)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!("audit event {event_seq} no longer exists (audit retention removed it)")
        })?;
    let body = payload(&event).to_string();
    let msg_id = format!("msg_{seq}");
    let timestamp = now_ms.div_euclid(1000);
    let signature = sign(secret, &msg_id, timestamp, &body)?;
    let response = http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("user-agent", "Gatehouse-Webhooks/1")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "POST: no answer in time".to_string()
            } else {
                format!("POST: cannot reach the endpoint ({})", without_url(&e))
            }
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    Err(format!("POST answered {}: {text}", status.as_u16()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The convention's published example (standard-webhooks spec and its libraries' tests).
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let a = new_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(B64.decode(&a[6..]).unwrap().len(), 32);
        assert_ne!(a, new_secret());
    }
}
