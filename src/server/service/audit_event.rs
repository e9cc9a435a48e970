//! One audit event on its own page (issue 18): a sentence saying what happened, the before and
//! after of what it changed, and its place in the chain with the neighbouring hashes, so an
//! auditor can link to it and check its links by eye.
use crate::model::audit::{AuditEvent, AuditEventDetail, ChainNeighbour, FieldChange};
use crate::model::AppError;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{chain_hash, row_of};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The event at `seq`, with its neighbours; 404 when the log does not hold it (never written, or
/// removed by retention).
pub async fn detail(db: &Db, seq: i64) -> Result<AuditEventDetail, AppError> {
    let missing = || AppError::NotFound(format!("Audit event {seq}"));
    if seq < 1 {
        return Err(missing());
    }
    // The events seq-1, seq and seq+1, those the log holds, by the primary key.
    let rows = db::audit::chain_slice(db, seq - 2, 3)
        .await
        .map_err(internal)?;
    let this = rows
        .iter()
        .find(|r| r.event.seq == seq)
        .ok_or_else(missing)?;
    let event = &this.event;
    let previous = rows
        .iter()
        .find(|r| r.event.seq == seq - 1)
        .map(|r| ChainNeighbour {
            seq: r.event.seq,
            action: r.event.action.clone(),
            hash: r.event.hash.clone(),
            links: r.event.hash == this.prev_hash,
        });
    let next = rows
        .iter()
        .find(|r| r.event.seq == seq + 1)
        .map(|r| ChainNeighbour {
            seq: r.event.seq,
            action: r.event.action.clone(),
            hash: r.event.hash.clone(),
            links: r.prev_hash == event.hash,
        });
    Ok(AuditEventDetail {
        summary: summary(event),
        prev_hash: this.prev_hash.clone(),
        hash_verifies: chain_hash(&row_of(event, &this.prev_hash)) == event.hash,
        previous,
        next,
        changes: changes(&event.details),
        event: event.clone(),
    })
}

/// "alice@example.com (admin) performed user.update on user usr_…; it succeeded."
pub fn summary(e: &AuditEvent) -> String {
    let actor = e
        .actor_email
        .clone()
        .or_else(|| e.actor_subject.clone())
        .unwrap_or_else(|| "Gatehouse itself".into());
    let role = e
        .actor_role
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let target = match (&e.target_type, &e.target_id) {
        (Some(kind), Some(id)) => format!(" on {kind} {id}"),
        (Some(kind), None) => format!(" on a {kind}"),
        (None, Some(id)) => format!(" on {id}"),
        (None, None) => String::new(),
    };
    let outcome = match e.outcome.as_str() {
        "success" => "it succeeded",
        "denied" => "it was denied",
        "failed" => "it failed",
        other => other,
    };
    format!("{actor}{role} performed {}{target}; {outcome}.", e.action)
}

/// The before and after the details record, in the shapes the services write them:
/// `{"changes": {field: {"before", "after"}}}`, `{"before": {...}, "after": {...}}` (snapshots,
/// compared field by field), a lone `before` snapshot (removed) or `after` (created), or
/// `{"before": x, "after": y}` of one value.
pub fn changes(details: &str) -> Vec<FieldChange> {
    let Ok(v) = serde_json::from_str::<Value>(details) else {
        return Vec::new();
    };
    if let Some(fields) = v.get("changes").and_then(Value::as_object) {
        return fields
            .iter()
            .filter(|(_, c)| c.get("before").is_some() || c.get("after").is_some())
            .map(|(field, c)| change(field, c.get("before"), c.get("after")))
            .collect();
    }
    let empty = Map::new();
    match (v.get("before"), v.get("after")) {
        (Some(Value::Object(_)), _) | (_, Some(Value::Object(_))) => {
            let before = v.get("before").and_then(Value::as_object).unwrap_or(&empty);
            let after = v.get("after").and_then(Value::as_object).unwrap_or(&empty);
            let fields: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            fields
                .into_iter()
                .filter(|f| before.get(*f) != after.get(*f))
                .map(|f| change(f, before.get(f), after.get(f)))
                .collect()
        }
        (Some(b), Some(a)) if b != a => vec![change("value", Some(b), Some(a))],
        _ => Vec::new(),
    }
}

fn change(field: &str, before: Option<&Value>, after: Option<&Value>) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        before: text(before),
        after: text(after),
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(details: &str) -> Vec<(String, String, String)> {
        changes(details)
            .into_iter()
            .map(|c| (c.field, c.before, c.after))
            .collect()
    }

    fn own(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(f, b, a)| (f.to_string(), b.to_string(), a.to_string()))
            .collect()
    }

    #[test]
    fn each_shape_of_details_gives_its_before_and_after() {
        assert_eq!(
            pairs(
                r#"{"changes": {"status": {"before": "active", "after": "suspended"}, "name": {"before": null, "after": "Ada"}}}"#
            ),
            own(&[("name", "—", "Ada"), ("status", "active", "suspended")])
        );
        assert_eq!(
            pairs(
                r#"{"before": {"name": "Ops", "size": 3, "same": 1}, "after": {"name": "SRE", "size": 3, "same": 1, "new": true}}"#
            ),
            own(&[("name", "Ops", "SRE"), ("new", "—", "true")])
        );
        assert_eq!(
            pairs(r#"{"before": {"name": "Ops"}, "members": 3}"#),
            own(&[("name", "Ops", "—")])
        );
        assert_eq!(
            pairs(r#"{"before": "active", "after": "revoked"}"#),
            own(&[("value", "active", "revoked")])
        );
        assert!(pairs(r#"{"before": "x", "after": "x"}"#).is_empty());
        assert!(pairs(r#"{"reason": "left the company"}"#).is_empty());
        assert!(pairs("not json").is_empty());
    }

    #[test]
    fn the_summary_names_actor_action_target_and_outcome() {
        let e = AuditEvent {
            seq: 7,
            occurred_at: 0,
            actor_subject: Some("sub-1".into()),
            actor_email: Some("alice@example.com".into()),
            actor_role: Some("admin".into()),
            action: "user.update".into(),
            target_type: Some("user".into()),
            target_id: Some("usr_1".into()),
            outcome: "denied".into(),
            client_ip: None,
            user_agent: None,
            details: "{}".into(),
            hash: String::new(),
        };
        assert_eq!(
            summary(&e),
            "alice@example.com (admin) performed user.update on user usr_1; it was denied."
        );
        let system = AuditEvent {
            actor_subject: None,
            actor_email: None,
            actor_role: None,
            target_type: None,
            target_id: None,
            outcome: "success".into(),
            action: "audit.checkpoint".into(),
            ..e
        };
        assert_eq!(
            summary(&system),
            "Gatehouse itself performed audit.checkpoint; it succeeded."
        );
    }
}
