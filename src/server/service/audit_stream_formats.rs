//! The two formats an audit sink sends (issue 17). Gatehouse's own event JSON carries exactly
//! what the chain hash covers, with `seq`, `hash` and `prev_hash`, so a SIEM can recompute every
//! hash and check every link (`verify_event` is the recipe in code; docs/audit-chain.md). OCSF
//! 1.1 maps each action to Account Change, Authentication or API Activity (the table `CLASSES`)
//! and keeps the Gatehouse event in `raw_data`, so OCSF sinks can be checked the same way.
use crate::server::db::audit::{AuditRow, ChainRow};
use crate::server::service::audit::chain_hash;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gatehouse,
    Ocsf,
}

impl Format {
    /// The stored format (`gatehouse` or `ocsf`; the table allows nothing else).
    pub fn of(stored: &str) -> Format {
        if stored == "ocsf" {
            Format::Ocsf
        } else {
            Format::Gatehouse
        }
    }
}

/// One event as the sink's format has it.
pub fn event(format: Format, row: &ChainRow) -> Value {
    match format {
        Format::Gatehouse => gatehouse_event(row),
        Format::Ocsf => ocsf_event(row),
    }
}

/// `{seq, hash, prev_hash, occurred_at, action, outcome, actor{subject, email, role},
/// target{type, id}, details, request{ip, user_agent, request_id}}`. `details` is the stored JSON
/// text, as the hash covers it; `request_id` (an API call's, from the details) is the one field
/// the hash does not cover on its own.
pub fn gatehouse_event(row: &ChainRow) -> Value {
    let e = &row.event;
    json!({
        "seq": e.seq,
        "hash": e.hash,
        "prev_hash": row.prev_hash,
        "occurred_at": e.occurred_at,
        "action": e.action,
        "outcome": e.outcome,
        "actor": { "subject": e.actor_subject, "email": e.actor_email, "role": e.actor_role },
        "target": { "type": e.target_type, "id": e.target_id },
        "details": e.details,
        "request": {
            "ip": e.client_ip,
            "user_agent": e.user_agent,
            "request_id": request_id(&parsed(&e.details)),
        },
    })
}

fn parsed(details: &str) -> Value {
    serde_json::from_str(details).unwrap_or(Value::Null)
}

fn request_id(details: &Value) -> Value {
    details["via_api"]["request_id"].clone()
}

/// Recomputes a Gatehouse event's hash from its fields: true when it equals its `hash`. With
/// `prev_hash` equal to the previous event's `hash`, consecutive events prove the chain.
pub fn verify_event(v: &Value) -> bool {
    let (Some(seq), Some(occurred_at)) = (v["seq"].as_i64(), v["occurred_at"].as_i64()) else {
        return false;
    };
    let (Some(action), Some(outcome), Some(details), Some(prev_hash), Some(hash)) = (
        v["action"].as_str(),
        v["outcome"].as_str(),
        v["details"].as_str(),
        v["prev_hash"].as_str(),
        v["hash"].as_str(),
    ) else {
        return false;
    };
    let row = AuditRow {
        seq,
        occurred_at,
        actor_subject: v["actor"]["subject"].as_str(),
        actor_email: v["actor"]["email"].as_str(),
        actor_role: v["actor"]["role"].as_str(),
        action,
        target_type: v["target"]["type"].as_str(),
        target_id: v["target"]["id"].as_str(),
        outcome,
        client_ip: v["request"]["ip"].as_str(),
        user_agent: v["request"]["user_agent"].as_str(),
        details,
        prev_hash,
        hash,
    };
    chain_hash(&row) == hash
}

pub const ACCOUNT_CHANGE: i64 = 3001;
pub const AUTHENTICATION: i64 = 3002;
pub const API_ACTIVITY: i64 = 6003;

/// Actions and their OCSF class and activity. `user.status` is mapped by the status it moved to;
/// other actions of the account areas (`ACCOUNT_AREAS`) are Account Change "Other"; everything
/// else is API Activity by the verb the action ends with (`api_activity`).
pub const CLASSES: &[(&str, i64, i64)] = &[
    ("auth.sign_in", AUTHENTICATION, 1),
    ("user.sign_in", AUTHENTICATION, 1),
    ("auth.sign_out", AUTHENTICATION, 2),
    ("auth.session_ended", AUTHENTICATION, 2),
    ("user.create", ACCOUNT_CHANGE, 1),
    ("user.purge", ACCOUNT_CHANGE, 6),
    ("user.revoke_everywhere", ACCOUNT_CHANGE, 5),
    ("group.create", ACCOUNT_CHANGE, 1),
    ("group.delete", ACCOUNT_CHANGE, 6),
    ("group.member.add", ACCOUNT_CHANGE, 7),
    ("group.member.remove", ACCOUNT_CHANGE, 8),
    ("mfa.factor.add", ACCOUNT_CHANGE, 10),
    ("mfa.enrollment_link.used", ACCOUNT_CHANGE, 10),
    ("mfa.factor.remove", ACCOUNT_CHANGE, 11),
    ("mfa.reset", ACCOUNT_CHANGE, 11),
    ("api_key.create", ACCOUNT_CHANGE, 1),
    ("api_key.revoke", ACCOUNT_CHANGE, 6),
];

pub const ACCOUNT_AREAS: [&str; 4] = ["user.", "group.", "mfa.", "api_key."];

/// The OCSF class and activity of an action (its details decide a status change).
pub fn ocsf_class(action: &str, details: &Value) -> (i64, i64) {
    if action == "user.status" {
        return (ACCOUNT_CHANGE, status_activity(details));
    }
    if let Some((_, class, activity)) = CLASSES.iter().find(|(a, ..)| *a == action) {
        return (*class, *activity);
    }
    if ACCOUNT_AREAS.iter().any(|area| action.starts_with(area)) {
        return (ACCOUNT_CHANGE, 99);
    }
    (API_ACTIVITY, api_activity(action))
}

/// A status change: Enable, Disable, Lock or Unlock (a refused unlock names what was asked).
fn status_activity(details: &Value) -> i64 {
    let change = &details["changes"]["status"];
    let after = change["after"].as_str().or(details["requested"].as_str());
    let before = change["before"].as_str().or(if details["via"] == "unlock" {
        Some("locked")
    } else {
        None
    });
    match (before, after) {
        (Some("locked"), Some("active")) => 12,
        (_, Some("active")) => 2,
        (_, Some("suspended" | "deprovisioned")) => 5,
        (_, Some("locked")) => 9,
        _ => 99,
    }
}

/// API Activity's Create, Read, Update or Delete, by the action's last word.
fn api_activity(action: &str) -> i64 {
    match action.rsplit('.').next().unwrap_or_default() {
        "create" | "register" | "add" | "assign" | "import" => 1,
        "export" | "verify" | "get" | "read" => 2,
        "update" | "status" | "rotate" | "rotate_secret" | "expiry" | "replay" | "retry"
        | "pause" | "resume" | "trust" | "untrust" | "block" | "merge" | "link" | "fix"
        | "reconcile" => 3,
        "delete" | "remove" | "purge" | "unassign" | "revoke" | "unlink" => 4,
        _ => 99,
    }
}

/// (class name, category id, category name).
fn class_of(class: i64) -> (&'static str, i64, &'static str) {
    match class {
        ACCOUNT_CHANGE => ("Account Change", 3, "Identity & Access Management"),
        AUTHENTICATION => ("Authentication", 3, "Identity & Access Management"),
        _ => ("API Activity", 6, "Application Activity"),
    }
}

pub fn activity_name(class: i64, activity: i64) -> &'static str {
    match (class, activity) {
        (ACCOUNT_CHANGE, 1) | (API_ACTIVITY, 1) => "Create",
        (ACCOUNT_CHANGE, 2) => "Enable",
        (ACCOUNT_CHANGE, 3) => "Password Change",
        (ACCOUNT_CHANGE, 4) => "Password Reset",
        (ACCOUNT_CHANGE, 5) => "Disable",
        (ACCOUNT_CHANGE, 6) | (API_ACTIVITY, 4) => "Delete",
        (ACCOUNT_CHANGE, 7) => "Attach Policy",
        (ACCOUNT_CHANGE, 8) => "Detach Policy",
        (ACCOUNT_CHANGE, 9) => "Lock",
        (ACCOUNT_CHANGE, 10) => "MFA Factor Enable",
        (ACCOUNT_CHANGE, 11) => "MFA Factor Disable",
        (ACCOUNT_CHANGE, 12) => "Unlock",
        (AUTHENTICATION, 1) => "Logon",
        (AUTHENTICATION, 2) => "Logoff",
        (API_ACTIVITY, 2) => "Read",
        (API_ACTIVITY, 3) => "Update",
        _ => "Other",
    }
}

/// An OCSF User: Gatehouse itself is System, administrators Admin, tokens and provisioning
/// sources Other.
fn ocsf_user(subject: Option<&str>, email: Option<&str>, role: Option<&str>) -> Value {
    let (type_id, kind) = match (subject, role) {
        (Some("gatehouse"), None) => (3, "System"),
        (_, Some("admin")) => (2, "Admin"),
        (_, Some(_)) => (1, "User"),
        (Some(_), None) => (99, "Other"),
        (None, None) => (0, "Unknown"),
    };
    let mut user = json!({ "type_id": type_id, "type": kind });
    if let Some(uid) = subject {
        user["uid"] = json!(uid);
    }
    if let Some(email) = email {
        user["email_addr"] = json!(email);
    }
    user
}

/// The event as OCSF 1.1.0. `unmapped.gatehouse` carries the chain's `seq`, `hash` and
/// `prev_hash` with the action, outcome, target and details; `raw_data` the Gatehouse event.
pub fn ocsf_event(row: &ChainRow) -> Value {
    let e = &row.event;
    let details = parsed(&e.details);
    let (class_uid, activity_id) = ocsf_class(&e.action, &details);
    let (class_name, category_uid, category_name) = class_of(class_uid);
    let activity = activity_name(class_uid, activity_id);
    let success = e.outcome == "success";
    let (severity_id, severity) = match e.outcome.as_str() {
        "success" => (1, "Informational"),
        "failed" => (2, "Low"),
        _ => (3, "Medium"),
    };
    let actor_user = ocsf_user(
        e.actor_subject.as_deref(),
        e.actor_email.as_deref(),
        e.actor_role.as_deref(),
    );
    let mut out = json!({
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "category_name": category_name,
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": format!("{class_name}: {activity}"),
        "time": e.occurred_at,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": if success { 1 } else { 2 },
        "status": if success { "Success" } else { "Failure" },
        "status_detail": e.outcome,
        "message": e.action,
        "metadata": {
            "version": "1.1.0",
            "uid": e.seq.to_string(),
            "log_name": "audit",
            "product": { "name": "Gatehouse", "vendor_name": "Gatehouse" },
        },
        "actor": { "user": actor_user.clone() },
        "unmapped": { "gatehouse": {
            "seq": e.seq,
            "hash": e.hash,
            "prev_hash": row.prev_hash,
            "action": e.action,
            "outcome": e.outcome,
            "target": { "type": e.target_type, "id": e.target_id },
            "details": details,
        } },
        "raw_data": gatehouse_event(row).to_string(),
    });
    if let Some(ip) = &e.client_ip {
        out["src_endpoint"] = json!({ "ip": ip });
    }
    if let Some(agent) = &e.user_agent {
        out["http_request"] = json!({ "user_agent": agent });
    }
    match class_uid {
        ACCOUNT_CHANGE => {
            // The account changed: the target when it is one, else the member a group change
            // names.
            let uid = match e.target_type.as_deref() {
                Some("user" | "guid") => e.target_id.clone(),
                _ => details["user"].as_str().map(str::to_string),
            };
            if let Some(uid) = uid {
                out["user"] = json!({ "uid": uid });
            }
        }
        AUTHENTICATION => {
            out["user"] = actor_user;
            out["service"] = json!({ "name": "Gatehouse" });
        }
        _ => {
            out["api"] = json!({
                "operation": e.action,
                "service": { "name": "Gatehouse" },
                "request": { "uid": request_id(&details) },
            });
            if let (Some(kind), Some(id)) = (&e.target_type, &e.target_id) {
                out["resources"] = json!([{ "type": kind, "uid": id }]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::AuditEvent;
    use crate::server::service::audit::{row_of, GENESIS_HASH};

    fn row(action: &str, outcome: &str, target: Option<(&str, &str)>, details: Value) -> ChainRow {
        let mut event = AuditEvent {
            seq: 7,
            occurred_at: 1_767_225_600_123,
            actor_subject: Some("sub-1".into()),
            actor_email: Some("admin@example.com".into()),
            actor_role: Some("admin".into()),
            action: action.into(),
            target_type: target.map(|t| t.0.to_string()),
            target_id: target.map(|t| t.1.to_string()),
            outcome: outcome.into(),
            client_ip: Some("192.0.2.7".into()),
            user_agent: Some("curl/8".into()),
            details: details.to_string(),
            hash: String::new(),
        };
        event.hash = chain_hash(&row_of(&event, GENESIS_HASH));
        ChainRow {
            event,
            prev_hash: GENESIS_HASH.into(),
        }
    }

    #[test]
    fn gatehouse_events_verify_and_a_changed_field_does_not() {
        let r = row(
            "user.create",
            "success",
            Some(("user", "u_1")),
            json!({"after": {"email": "a@example.com"}}),
        );
        let v = gatehouse_event(&r);
        assert!(verify_event(&v), "{v}");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["prev_hash"], GENESIS_HASH);
        for (path, value) in [
            ("/outcome", json!("denied")),
            ("/actor/email", json!("mallory@example.com")),
            ("/details", json!("{}")),
            ("/request/ip", Value::Null),
            ("/seq", json!(8)),
        ] {
            let mut changed = v.clone();
            *changed.pointer_mut(path).unwrap() = value;
            assert!(!verify_event(&changed), "{path} changed, still verifies");
        }
        assert!(!verify_event(&json!({"seq": 1})));
    }

    #[test]
    fn api_calls_carry_their_request_id() {
        let r = row(
            "user.update",
            "success",
            Some(("user", "u_1")),
            json!({"via_api": {"token": "t_1", "kind": "service", "request_id": "req-9"}}),
        );
        assert_eq!(gatehouse_event(&r)["request"]["request_id"], "req-9");
        assert_eq!(
            gatehouse_event(&row("user.update", "success", None, json!({})))["request"]
                ["request_id"],
            Value::Null
        );
    }

    #[test]
    fn the_mapping_table_covers_the_three_classes() {
        let none = json!({});
        assert_eq!(ocsf_class("auth.sign_in", &none), (AUTHENTICATION, 1));
        assert_eq!(ocsf_class("auth.sign_out", &none), (AUTHENTICATION, 2));
        assert_eq!(ocsf_class("user.create", &none), (ACCOUNT_CHANGE, 1));
        assert_eq!(ocsf_class("user.update", &none), (ACCOUNT_CHANGE, 99));
        assert_eq!(ocsf_class("group.member.add", &none), (ACCOUNT_CHANGE, 7));
        assert_eq!(ocsf_class("mfa.reset", &none), (ACCOUNT_CHANGE, 11));
        assert_eq!(ocsf_class("api_key.rotate", &none), (ACCOUNT_CHANGE, 99));
        assert_eq!(
            ocsf_class("users.bulk", &none),
            (API_ACTIVITY, 99),
            "users. is not user."
        );
        assert_eq!(ocsf_class("webhook.create", &none), (API_ACTIVITY, 1));
        assert_eq!(ocsf_class("audit.export", &none), (API_ACTIVITY, 2));
        assert_eq!(ocsf_class("application.update", &none), (API_ACTIVITY, 3));
        assert_eq!(ocsf_class("audit.sink.delete", &none), (API_ACTIVITY, 4));
        assert_eq!(ocsf_class("access.denied", &none), (API_ACTIVITY, 99));
        let status = |before: &str, after: &str| {
            ocsf_class(
                "user.status",
                &json!({"changes": {"status": {"before": before, "after": after}}}),
            )
            .1
        };
        assert_eq!(status("staged", "active"), 2);
        assert_eq!(status("locked", "active"), 12);
        assert_eq!(status("active", "suspended"), 5);
        assert_eq!(status("active", "deprovisioned"), 5);
        assert_eq!(status("active", "locked"), 9);
        assert_eq!(
            ocsf_class(
                "user.status",
                &json!({"via": "unlock", "requested": "active"})
            )
            .1,
            12
        );
        for (action, class, activity) in CLASSES {
            assert_ne!(activity_name(*class, *activity), "Other", "{action}");
            assert!(action.contains('.'), "{action}");
        }
    }

    #[test]
    fn ocsf_events_carry_class_status_actor_and_the_chain() {
        let r = row("user.create", "success", Some(("user", "u_1")), json!({}));
        let o = ocsf_event(&r);
        assert_eq!(o["class_uid"], ACCOUNT_CHANGE);
        assert_eq!(o["category_uid"], 3);
        assert_eq!(o["type_uid"], 300101);
        assert_eq!(o["activity_name"], "Create");
        assert_eq!(o["time"], 1_767_225_600_123i64);
        assert_eq!(o["status_id"], 1);
        assert_eq!(o["metadata"]["version"], "1.1.0");
        assert_eq!(o["metadata"]["product"]["name"], "Gatehouse");
        assert_eq!(o["actor"]["user"]["email_addr"], "admin@example.com");
        assert_eq!(o["actor"]["user"]["type_id"], 2);
        assert_eq!(o["user"]["uid"], "u_1");
        assert_eq!(o["src_endpoint"]["ip"], "192.0.2.7");
        assert_eq!(o["unmapped"]["gatehouse"]["seq"], 7);
        assert_eq!(o["unmapped"]["gatehouse"]["hash"], r.event.hash);
        let raw: Value = serde_json::from_str(o["raw_data"].as_str().unwrap()).unwrap();
        assert!(verify_event(&raw));

        let denied = ocsf_event(&row("auth.sign_in", "denied", None, json!({})));
        assert_eq!(
            (denied["class_uid"].as_i64(), denied["type_uid"].as_i64()),
            (Some(AUTHENTICATION), Some(300201))
        );
        assert_eq!(denied["status_id"], 2);
        assert_eq!(denied["status_detail"], "denied");
        assert_eq!(denied["user"]["email_addr"], "admin@example.com");

        let api = ocsf_event(&row(
            "webhook.delete",
            "success",
            Some(("webhook", "wh_1")),
            json!({}),
        ));
        assert_eq!(api["class_uid"], API_ACTIVITY);
        assert_eq!(api["category_uid"], 6);
        assert_eq!(api["type_uid"], 600304);
        assert_eq!(api["api"]["operation"], "webhook.delete");
        assert_eq!(api["resources"][0]["uid"], "wh_1");
    }
}
