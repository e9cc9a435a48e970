//! Drift between one account there and what Gatehouse decides: pure comparisons of the SCIM
//! User Gatehouse would send (scim_out::resource) with the one read.
use super::Remote;
use crate::model::reconcile::DriftRow;
use crate::server::service::scim_out::{self, Desired};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A drift row for an account there (or none).
pub(super) fn drift_row(guid: &str, kind: &str, there: Option<&Remote>) -> DriftRow {
    DriftRow {
        guid: guid.to_string(),
        kind: kind.to_string(),
        remote_id: there.map(|r| r.id.clone()),
        user_name: there
            .and_then(|r| r.resource["userName"].as_str())
            .unwrap_or("")
            .to_string(),
        active_there: there.is_some_and(|r| r.active),
        attributes: Vec::new(),
        known: true,
        state: "open".into(),
        error: None,
    }
}

/// The drift for one person of Gatehouse's side, if any.
pub(super) fn compare(
    guid: &str,
    desired: Desired,
    there: Option<Remote>,
    attributes: &[String],
) -> Option<DriftRow> {
    match (desired, there) {
        (Desired::Gone, None) => None,
        // Nobody here has this GUID any more, yet it is active there.
        (Desired::Gone, Some(r)) => r.active.then(|| DriftRow {
            known: false,
            ..drift_row(guid, "extra", Some(&r))
        }),
        (Desired::Account { user, active }, None) => active.then(|| DriftRow {
            user_name: user.email.clone(),
            ..drift_row(guid, "missing", None)
        }),
        (Desired::Account { active: false, .. }, Some(r)) if r.active => {
            Some(drift_row(guid, "inactive_here_active_there", Some(&r)))
        }
        (Desired::Account { user, active }, Some(r)) => {
            let sent = scim_out::resource(&user, guid, active, attributes);
            let mut differ = differing(&sent, &r.resource, attributes);
            if active && !r.active {
                differ.insert(0, "active".into());
            }
            (!differ.is_empty()).then(|| DriftRow {
                attributes: differ,
                ..drift_row(guid, "different", Some(&r))
            })
        }
    }
}

/// What Gatehouse sends of a User, in a form both sides compare in: `userName` and emails
/// without case, multi-valued attributes as sorted values, absent and empty alike. Only the
/// attributes the target receives are compared.
fn sent_view(user: &Value, attributes: &[String]) -> BTreeMap<String, Value> {
    let text = |v: &Value| match v.as_str().map(str::trim) {
        Some(s) if !s.is_empty() => json!(s),
        _ => Value::Null,
    };
    let values = |v: &Value, fold_case: bool| {
        let mut list: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["value"].as_str())
            .map(|s| {
                if fold_case {
                    s.trim().to_lowercase()
                } else {
                    s.trim().to_string()
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        list.sort();
        list.dedup();
        json!(list)
    };
    let mut out = BTreeMap::new();
    let user_name = user["userName"]
        .as_str()
        .unwrap_or("")
        .trim()
        .to_lowercase();
    out.insert("userName".to_string(), json!(user_name));
    for a in attributes {
        let v = match a.as_str() {
            "name" => json!({
                "formatted": text(&user["name"]["formatted"]),
                "givenName": text(&user["name"]["givenName"]),
                "familyName": text(&user["name"]["familyName"]),
            }),
            "displayName" => text(&user["displayName"]),
            "emails" => values(&user["emails"], true),
            "phoneNumbers" => values(&user["phoneNumbers"], false),
            _ => continue,
        };
        out.insert(a.clone(), v);
    }
    out
}

/// The attributes Gatehouse sends whose values differ there.
fn differing(sent: &Value, there: &Value, attributes: &[String]) -> Vec<String> {
    let (a, b) = (sent_view(sent, attributes), sent_view(there, attributes));
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_attributes_sent_are_compared_without_case_order_or_empties() {
        let all = attrs(&["name", "displayName", "emails", "phoneNumbers"]);
        let sent = json!({"userName": "ada@example.com", "displayName": "Ada",
            "name": {"formatted": "Ada", "givenName": "Ada"},
            "emails": [{"value": "ada@example.com", "primary": true}]});
        let there = json!({"id": "1", "userName": "ADA@example.com ", "displayName": "Ada",
            "name": {"formatted": "Ada", "givenName": "Ada", "middleName": "B", "familyName": ""},
            "emails": [{"value": "Ada@Example.com", "type": "work"}], "phoneNumbers": [],
            "title": "Countess", "meta": {"version": "W/1"}});
        assert!(differing(&sent, &there, &all).is_empty());
        let renamed = json!({"userName": "ada@example.com", "displayName": "Ada King",
            "name": {"formatted": "Ada", "givenName": "Ada", "familyName": "King"},
            "emails": [{"value": "ada@example.com"}, {"value": "x@example.com"}]});
        assert_eq!(
            differing(&sent, &renamed, &all),
            attrs(&["displayName", "emails", "name"])
        );
        // Not sent to this target: not compared.
        assert!(differing(&sent, &renamed, &attrs(&[])).is_empty());
    }
}
