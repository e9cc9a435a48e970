//! Which Shared Signals events a recorded change raises (issue 16): CAEP and RISC event types
//! derived from the audit record itself, so every edge (console, REST, SCIM) raises the same
//! events for the same change. Pure: the caller looks the subjects up and queues the tokens.
use serde_json::{json, Value};

pub const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
pub const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
pub const TOKEN_CLAIMS_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/token-claims-change";
pub const ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
pub const ACCOUNT_ENABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
pub const ACCOUNT_PURGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-purged";
pub const IDENTIFIER_CHANGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/identifier-changed";
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
pub const STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// What a stream may ask for (its `events_supported`); verification and stream-updated are
/// always sent and need not be asked for.
pub const SUPPORTED: [&str; 7] = [
    SESSION_REVOKED,
    CREDENTIAL_CHANGE,
    TOKEN_CLAIMS_CHANGE,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
    ACCOUNT_PURGED,
    IDENTIFIER_CHANGED,
];

/// Whom an event is about.
#[derive(Debug, Clone, PartialEq)]
pub enum About {
    /// An account that still exists: its email and GUID are read in the same transaction.
    User(String),
    /// An account that no longer exists (purged): what the audit record kept of it.
    Gone {
        user_id: String,
        email: String,
        guid: String,
    },
    /// RISC identifier-changed names the old address, whatever format the stream prefers.
    OldEmail(String),
}

/// One event to send: its type, its body, whom it is about. `groups_of` asks the caller to
/// put the account's current group names in the body (`claims.groups`).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub event_type: &'static str,
    pub body: Value,
    pub about: About,
    pub groups_of: bool,
}

/// Actions that can raise an event: anything else is not looked at (no query per audit write).
pub fn may_raise(action: &str) -> bool {
    matches!(
        action,
        "user.status"
            | "user.update"
            | "user.purge"
            | "user.revoke_everywhere"
            | "user.sign_out_everywhere"
            | "mfa.reset"
            | "mfa.factor.add"
            | "mfa.factor.remove"
            | "group.member.add"
            | "group.member.remove"
    )
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut v = v;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str().map(str::to_string)
}

fn reason(en: String) -> Value {
    json!({ "en": en })
}

/// CAEP's credential types for Gatehouse's factor kinds (CAEP 1.0 §3.3; others by agreement).
pub fn credential_type(kind: &str) -> &'static str {
    match kind {
        "totp" => "app",
        "webauthn" => "fido2-roaming",
        "sms" => "phone-sms",
        "voice" => "phone-voice",
        "email_otp" => "email-otp",
        _ => "recovery-code",
    }
}

fn credential(factor: &Value, change: &str, why: String, at: i64, user: &str) -> Planned {
    let kind = text(factor, &["kind"]).unwrap_or_default();
    let mut body = json!({
        "credential_type": credential_type(&kind),
        "change_type": change,
        "initiating_entity": "admin",
        "reason_admin": reason(why),
        "event_timestamp": at,
    });
    if let Some(label) = text(factor, &["label"]).filter(|l| !l.is_empty()) {
        body["friendly_name"] = json!(label);
    }
    Planned {
        event_type: CREDENTIAL_CHANGE,
        body,
        about: About::User(user.to_string()),
        groups_of: false,
    }
}

/// The events a successful change raises, from its audit record (`at` in seconds).
pub fn plan(action: &str, target_id: &str, details: &Value, at: i64) -> Vec<Planned> {
    let user = || About::User(target_id.to_string());
    let plain = |event_type, body: Value, about| Planned {
        event_type,
        body,
        about,
        groups_of: false,
    };
    match action {
        "user.status" => {
            let before = text(details, &["changes", "status", "before"]);
            let after = text(details, &["changes", "status", "after"]);
            match (before.as_deref(), after.as_deref()) {
                (Some(b), Some("active")) if b != "active" => vec![plain(
                    ACCOUNT_ENABLED,
                    json!({ "event_timestamp": at }),
                    user(),
                )],
                (Some("active"), Some(to)) => vec![plain(
                    ACCOUNT_DISABLED,
                    json!({
                        "event_timestamp": at,
                        "initiating_entity": "admin",
                        "reason_admin": reason(format!("Account {to} in Gatehouse")),
                    }),
                    user(),
                )],
                _ => Vec::new(),
            }
        }
        "user.update" => match (
            text(details, &["changes", "email", "before"]),
            text(details, &["changes", "email", "after"]),
        ) {
            (Some(old), Some(new)) if old != new => vec![plain(
                IDENTIFIER_CHANGED,
                json!({ "new-value": new, "event_timestamp": at }),
                About::OldEmail(old),
            )],
            _ => Vec::new(),
        },
        "user.purge" => vec![plain(
            ACCOUNT_PURGED,
            json!({ "event_timestamp": at }),
            About::Gone {
                user_id: target_id.to_string(),
                email: text(details, &["email"]).unwrap_or_default(),
                guid: text(details, &["guid"]).unwrap_or_default(),
            },
        )],
        // One record per account of a person revoked or signed out everywhere (see
        // service::revocations). session-revoked always; account-disabled only for revoke, and
        // only when the account's own suspension (user.status) did not already raise it. The
        // admin's free-text reason stays in Gatehouse; receivers get the ticket.
        "user.revoke_everywhere" | "user.sign_out_everywhere" => {
            let revoke = action == "user.revoke_everywhere";
            let ticket = text(details, &["ticket"]).filter(|t| !t.is_empty());
            let why = match (revoke, ticket) {
                (true, Some(t)) => format!("Revoked everywhere in Gatehouse (ticket {t})"),
                (true, None) => "Revoked everywhere in Gatehouse".to_string(),
                (false, Some(t)) => format!("Signed out everywhere in Gatehouse (ticket {t})"),
                (false, None) => "Signed out everywhere in Gatehouse".to_string(),
            };
            let already_disabled = details.get("suspended").and_then(Value::as_bool) == Some(true);
            let mut out = Vec::new();
            if revoke && !already_disabled {
                out.push(plain(
                    ACCOUNT_DISABLED,
                    json!({ "event_timestamp": at, "initiating_entity": "admin",
                            "reason_admin": reason(why.clone()) }),
                    user(),
                ));
            }
            out.push(plain(
                SESSION_REVOKED,
                json!({ "event_timestamp": at, "initiating_entity": "admin",
                        "reason_admin": reason(why) }),
                user(),
            ));
            out
        }
        "mfa.reset" => {
            let ticket = text(details, &["ticket"]).unwrap_or_default();
            let why = format!("MFA reset by support (ticket {ticket})");
            details
                .get("factors_removed")
                .and_then(Value::as_array)
                .map(|factors| {
                    factors
                        .iter()
                        .map(|f| credential(f, "delete", why.clone(), at, target_id))
                        .collect()
                })
                .unwrap_or_default()
        }
        "mfa.factor.add" | "mfa.factor.remove" => {
            let (change, why) = if action == "mfa.factor.add" {
                ("create", "Factor added in Gatehouse")
            } else {
                ("delete", "Factor removed in Gatehouse")
            };
            details
                .get("factor")
                .map(|f| vec![credential(f, change, why.into(), at, target_id)])
                .unwrap_or_default()
        }
        "group.member.add" | "group.member.remove" => match text(details, &["user"]) {
            Some(member) => vec![Planned {
                event_type: TOKEN_CLAIMS_CHANGE,
                body: json!({ "claims": {}, "event_timestamp": at, "initiating_entity": "admin" }),
                about: About::User(member),
                groups_of: true,
            }],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A subject identifier (RFC 9493) in the stream's preferred format.
pub fn subject(format: &str, issuer: &str, user_id: &str, email: &str, guid: &str) -> Value {
    match format {
        "iss_sub" => json!({ "format": "iss_sub", "iss": issuer, "sub": user_id }),
        "opaque" => json!({ "format": "opaque", "id": guid }),
        _ => json!({ "format": "email", "email": email }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspending_disables_and_reactivating_enables() {
        let d = json!({"changes": {"status": {"before": "active", "after": "suspended"}}});
        let p = plan("user.status", "u1", &d, 5);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].event_type, ACCOUNT_DISABLED);
        assert_eq!(p[0].about, About::User("u1".into()));
        assert_eq!(
            p[0].body["reason_admin"]["en"],
            "Account suspended in Gatehouse"
        );
        let d = json!({"changes": {"status": {"before": "suspended", "after": "active"}}});
        assert_eq!(
            plan("user.status", "u1", &d, 5)[0].event_type,
            ACCOUNT_ENABLED
        );
        let d = json!({"changes": {"status": {"before": "suspended", "after": "deprovisioned"}}});
        assert!(plan("user.status", "u1", &d, 5).is_empty());
    }

    #[test]
    fn an_email_change_names_the_old_address() {
        let d = json!({"changes": {"email": {"before": "a@x.test", "after": "b@x.test"}}});
        let p = plan("user.update", "u1", &d, 5);
        assert_eq!(p[0].event_type, IDENTIFIER_CHANGED);
        assert_eq!(p[0].about, About::OldEmail("a@x.test".into()));
        assert_eq!(p[0].body["new-value"], "b@x.test");
        assert!(plan(
            "user.update",
            "u1",
            &json!({"changes": {"display_name": {}}}),
            5
        )
        .is_empty());
    }

    #[test]
    fn an_mfa_reset_is_one_credential_change_per_factor() {
        let d = json!({"ticket": "T-1", "factors_removed": [
            {"kind": "totp", "label": "phone"}, {"kind": "webauthn", "label": ""}]});
        let p = plan("mfa.reset", "u1", &d, 5);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].body["credential_type"], "app");
        assert_eq!(p[0].body["change_type"], "delete");
        assert_eq!(p[0].body["friendly_name"], "phone");
        assert_eq!(p[1].body["credential_type"], "fido2-roaming");
        assert!(p[1].body.get("friendly_name").is_none());
        assert!(p[0].body["reason_admin"]["en"]
            .as_str()
            .unwrap()
            .contains("T-1"));
    }

    #[test]
    fn subjects_follow_the_stream_format() {
        let s = subject("iss_sub", "https://gh", "u1", "a@x", "g1");
        assert_eq!(
            s,
            json!({"format": "iss_sub", "iss": "https://gh", "sub": "u1"})
        );
        assert_eq!(subject("opaque", "i", "u1", "a@x", "g1")["id"], "g1");
        assert_eq!(subject("email", "i", "u1", "a@x", "g1")["email"], "a@x");
    }

    #[test]
    fn revoking_everywhere_disables_unless_the_suspension_did_and_always_revokes_sessions() {
        let types = |action: &str, d: Value| -> Vec<&'static str> {
            plan(action, "u1", &d, 5)
                .iter()
                .map(|p| p.event_type)
                .collect()
        };
        // Suspended by this action: user.status already sent account-disabled.
        let suspended = json!({"suspended": true, "ticket": "SEC-1", "reason": "stolen laptop"});
        assert_eq!(
            types("user.revoke_everywhere", suspended.clone()),
            [SESSION_REVOKED]
        );
        // Locked, staged or already suspended: account-disabled is sent here.
        let kept = json!({"suspended": false, "ticket": ""});
        assert_eq!(
            types("user.revoke_everywhere", kept),
            [ACCOUNT_DISABLED, SESSION_REVOKED]
        );
        assert_eq!(
            types("user.sign_out_everywhere", json!({})),
            [SESSION_REVOKED]
        );
        let p = plan("user.revoke_everywhere", "u1", &suspended, 5);
        assert_eq!(p[0].about, About::User("u1".into()));
        let why = p[0].body["reason_admin"]["en"].as_str().unwrap();
        assert!(why.contains("SEC-1"), "{why}");
        assert!(
            !why.contains("laptop"),
            "the free-text reason stays in Gatehouse"
        );
    }

    #[test]
    fn every_action_that_raises_is_announced() {
        for action in [
            "user.status",
            "mfa.reset",
            "group.member.add",
            "user.purge",
            "user.revoke_everywhere",
            "user.sign_out_everywhere",
        ] {
            assert!(may_raise(action), "{action}");
        }
        assert!(!may_raise("application.create"));
        // The summary of a revocation raises nothing: its per-account records do.
        assert!(!may_raise("person.revoke_everywhere"));
    }
}
