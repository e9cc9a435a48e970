//! The SCIM User resource (RFC 7643 §4.1, with the enterprise extension §4.3) and Gatehouse's
//! user, both ways. `userName` is the account's email; what Gatehouse has no column for
//! (titles, addresses, the enterprise extension, further emails...) is kept as given under
//! `attributes.scim` and returned as it came, so a client reads back what it wrote.
use crate::model::groups::Membership;
use crate::model::users::{UserDetail, UserInput, UserStatus, ValidEmail, ValidPhone};
use crate::model::AppError;
use serde_json::{json, Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub use crate::model::users::ENTERPRISE_USER_SCHEMA as ENTERPRISE_SCHEMA;

/// Attributes Gatehouse maps to its own columns or computes; everything else is kept as given.
const MAPPED: [&str; 12] = [
    "schemas",
    "id",
    "externalid",
    "username",
    "name",
    "displayname",
    "emails",
    "phonenumbers",
    "active",
    "groups",
    "meta",
    "password",
];

/// Reads a key without regard to case (RFC 7643 §2.1: attribute names are case-insensitive).
pub fn get<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text(object: &Value, key: &str) -> Option<String> {
    get(object, key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `true`, `false`, or Entra's `"True"`/`"False"`.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The element of a multi-valued attribute to use: the primary one, else the first `work`
/// one, else the first.
fn preferred(list: Option<&Value>) -> Option<&Value> {
    let items = list?.as_array()?;
    items
        .iter()
        .find(|e| get(e, "primary").and_then(boolean) == Some(true))
        .or_else(|| {
            items
                .iter()
                .find(|e| text(e, "type").is_some_and(|t| t.eq_ignore_ascii_case("work")))
        })
        .or_else(|| items.first())
}

/// What a client sent, as Gatehouse's user input and whether the account is active.
/// `current_attributes` is the account's attributes (JSON object text) before this request.
pub struct Incoming {
    pub input: UserInput,
    pub active: bool,
}

pub fn from_scim(
    resource: &Value,
    source: &str,
    current_attributes: Option<&str>,
) -> Result<Incoming, AppError> {
    if !resource.is_object() {
        return Err(AppError::invalid(
            "body",
            "A User resource is a JSON object",
        ));
    }
    let user_name = text(resource, "userName")
        .ok_or_else(|| AppError::invalid("userName", "userName is required"))?;
    let emails = get(resource, "emails");
    let email = if ValidEmail::parse(&user_name).is_ok() {
        user_name.clone()
    } else {
        preferred(emails)
            .and_then(|e| text(e, "value"))
            .ok_or_else(|| {
                AppError::invalid(
                    "userName",
                    "userName must be an email address, or emails must hold one",
                )
            })?
    };
    let name = get(resource, "name").cloned().unwrap_or(Value::Null);
    let given = text(&name, "givenName").unwrap_or_default();
    let family = text(&name, "familyName").unwrap_or_default();
    let display_name = text(resource, "displayName")
        .or_else(|| text(&name, "formatted"))
        .or_else(|| {
            let joined = format!("{given} {family}").trim().to_string();
            (!joined.is_empty()).then_some(joined)
        })
        .unwrap_or_else(|| user_name.clone());
    // A number Gatehouse cannot read as E.164 is kept with the other attributes, not refused:
    // identity providers send what their directory holds ("(555) 555-5555").
    let phone = preferred(get(resource, "phoneNumbers"))
        .and_then(|p| text(p, "value"))
        .filter(|p| ValidPhone::parse(p).is_ok())
        .unwrap_or_default();
    let active = match get(resource, "active") {
        None | Some(Value::Null) => true,
        Some(v) => {
            boolean(v).ok_or_else(|| AppError::invalid("active", "active must be true or false"))?
        }
    };
    let mut kept = Map::new();
    for (k, v) in resource.as_object().into_iter().flatten() {
        if !MAPPED.contains(&k.to_ascii_lowercase().as_str()) && !v.is_null() {
            kept.insert(k.clone(), v.clone());
        }
    }
    if let Some(list) = emails.and_then(Value::as_array) {
        kept.insert("emails".into(), Value::Array(list.clone()));
    }
    if let Some(list) = get(resource, "phoneNumbers").and_then(Value::as_array) {
        kept.insert("phoneNumbers".into(), Value::Array(list.clone()));
    }
    // The account's email is stored lowercase; the name as the client spelled it is kept.
    if user_name != email.trim().to_lowercase() {
        kept.insert("userName".into(), Value::String(user_name));
    }
    // What the client set of displayName, name.formatted and active is remembered, so that a
    // resource shows what its client gave (a removed attribute stays removed) while the account
    // keeps a display name and a status.
    if let Some(formatted) = text(&name, "formatted") {
        kept.insert("name".into(), json!({ "formatted": formatted }));
    }
    if let Some(sent) = text(resource, "displayName") {
        kept.insert("displayName".into(), Value::String(sent));
    }
    // Only that the client sets `active` is kept (the value is the account's status), so a
    // deactivation is a status change alone, not also an attribute change.
    if get(resource, "active").is_some_and(|a| !a.is_null()) {
        kept.insert("active".into(), Value::Bool(true));
    }
    let mut attributes: Value = current_attributes
        .and_then(|a| serde_json::from_str(a).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    attributes["scim"] = Value::Object(kept);
    Ok(Incoming {
        input: UserInput {
            email,
            display_name,
            given_name: given,
            family_name: family,
            phone,
            source: source.to_string(),
            external_id: text(resource, "externalId").unwrap_or_default(),
            attributes: attributes.to_string(),
        },
        active,
    })
}

/// `W/"3"`: the resource's version as SCIM's weak ETag.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The account as a SCIM User resource.
pub fn to_scim(user: &UserDetail, groups: &[Membership], base: &str) -> Value {
    let kept = serde_json::from_str::<Value>(&user.attributes)
        .ok()
        .and_then(|a| a.get("scim").cloned())
        .filter(Value::is_object);
    // An account made in the console or by import shows everything it has.
    let from_client = kept.is_some();
    let kept = kept.unwrap_or_else(|| json!({}));
    let active = matches!(user.status, UserStatus::Active | UserStatus::Locked);
    let mut out = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": kept.get("userName").cloned().unwrap_or_else(|| json!(user.email)),
        "meta": {
            "resourceType": "User",
            "created": crate::server::scim::rfc3339(user.created_at),
            "lastModified": crate::server::scim::rfc3339(user.updated_at),
            "location": format!("{base}/scim/v2/Users/{}", user.id),
            "version": etag(user.version),
        },
    });
    // Unassigned attributes are left out (RFC 7643 §2.5), never sent as null.
    if !from_client || kept.get("displayName").is_some() {
        out["displayName"] = json!(user.display_name);
    }
    if !from_client {
        out["name"] = json!({ "formatted": user.display_name });
    }
    // A status the client never set shows only when it is not the default (a suspension).
    if !from_client || kept.get("active").is_some() || !active {
        out["active"] = json!(active);
    }
    if let Some(given) = &user.given_name {
        out["name"]["givenName"] = json!(given);
    }
    if let Some(family) = &user.family_name {
        out["name"]["familyName"] = json!(family);
    }
    if let Some(ext) = &user.external_id {
        out["externalId"] = json!(ext);
    }
    if let Some(formatted) = kept.get("name").and_then(|n| n.get("formatted")) {
        out["name"]["formatted"] = formatted.clone();
    }
    for (k, v) in kept.as_object().into_iter().flatten() {
        if !["userName", "name", "displayName", "active"].contains(&k.as_str()) {
            out[k] = v.clone();
        }
    }
    if get(&out, "emails").is_none() {
        out["emails"] = json!([{ "value": user.email, "type": "work", "primary": true }]);
    }
    if let (Some(phone), None) = (&user.phone, get(&out, "phoneNumbers")) {
        out["phoneNumbers"] = json!([{ "value": phone, "type": "work" }]);
    }
    if get(&out, ENTERPRISE_SCHEMA).is_some() {
        out["schemas"] = json!([USER_SCHEMA, ENTERPRISE_SCHEMA]);
    }
    if !groups.is_empty() {
        out["groups"] = groups
            .iter()
            .map(|m| {
                json!({
                    "value": m.group.id,
                    "display": m.group.name,
                    "$ref": format!("{base}/scim/v2/Groups/{}", m.group.id),
                    "type": "direct",
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entra_user_maps_to_an_account_and_keeps_what_has_no_column() {
        let sent = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "0a21f0f2",
            "userName": "Test_User@contoso.com",
            "active": "True",
            "displayName": "Test User",
            "title": "Engineer",
            "emails": [{ "primary": true, "type": "work", "value": "test_user@contoso.com" }],
            "name": { "givenName": "Test", "familyName": "User" },
            "phoneNumbers": [{ "type": "work", "value": "(555) 555-5555" }],
            ENTERPRISE_SCHEMA: { "employeeNumber": "701984", "department": "Tour Operations" },
        });
        let got = from_scim(&sent, "entra", None).unwrap_or_else(|e| panic!("{e}"));
        assert!(got.active);
        assert_eq!(got.input.email, "Test_User@contoso.com");
        assert_eq!(got.input.display_name, "Test User");
        assert_eq!(got.input.external_id, "0a21f0f2");
        assert_eq!(got.input.phone, "", "not E.164: kept, not refused");
        let attributes: Value = serde_json::from_str(&got.input.attributes).unwrap();
        assert_eq!(attributes["scim"]["title"], "Engineer");
        assert_eq!(
            attributes["scim"][ENTERPRISE_SCHEMA]["employeeNumber"],
            "701984"
        );
    }

    #[test]
    fn a_user_name_that_is_not_an_email_takes_the_email_from_emails() {
        let sent = json!({ "userName": "jdoe", "emails": [{ "value": "jdoe@example.com" }] });
        let got = from_scim(&sent, "okta", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.input.email, "jdoe@example.com");
        let attributes: Value = serde_json::from_str(&got.input.attributes).unwrap();
        assert_eq!(attributes["scim"]["userName"], "jdoe", "read back as sent");
        assert!(from_scim(&json!({ "userName": "jdoe" }), "okta", None).is_err());
        assert!(from_scim(&json!({ "emails": [] }), "okta", None).is_err());
        assert!(from_scim(
            &json!({ "userName": "a@b.co", "active": "maybe" }),
            "okta",
            None
        )
        .is_err());
    }

    #[test]
    fn other_attributes_of_the_account_are_kept() {
        let got = from_scim(
            &json!({ "userName": "a@example.com" }),
            "okta",
            Some(r#"{"cost_center":"42","scim":{"title":"old"}}"#),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let attributes: Value = serde_json::from_str(&got.input.attributes).unwrap();
        assert_eq!(attributes["cost_center"], "42");
        assert_eq!(
            attributes["scim"],
            json!({}),
            "a replace drops what was not sent"
        );
    }
}
