//! The SCIM Group resource (RFC 7643 §4.2) and what a request asks of a group: a whole
//! resource (POST, PUT) or PATCH operations, in the shapes Entra ID and Okta send them
//! (capitalised ops, members removed by a value list or by a `members[value eq ".."]` path,
//! a rename as `replace` without a path).
use super::filter::{parse_path, CompareOp, Filter, Value as Literal};
use super::user_resource::{etag, get};
use crate::model::groups::GroupDetail;
use crate::server::service::scim_groups::GroupChange;
use serde_json::{json, Value};

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Why a request cannot be read: the SCIM `scimType` and a message.
#[derive(Debug, PartialEq)]
pub struct Refused(pub &'static str, pub String);

pub fn to_scim(g: &GroupDetail, members: Option<&[String]>, base: &str) -> Value {
    let mut out = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": super::rfc3339(g.created_at),
            "lastModified": super::rfc3339(g.updated_at),
            "location": format!("{base}/scim/v2/Groups/{}", g.id),
            "version": etag(g.version),
        },
    });
    if let Some(ext) = &g.external_id {
        out["externalId"] = json!(ext);
    }
    if let Some(members) = members {
        out["members"] = members
            .iter()
            .map(|id| json!({ "value": id, "type": "User", "$ref": format!("{base}/scim/v2/Users/{id}") }))
            .collect();
    }
    out
}

/// The `value`s of a members list (`[{"value": "u_1"}, ...]`).
fn member_ids(value: &Value) -> Result<Vec<String>, Refused> {
    let list = match value {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => {
            return Err(Refused(
                "invalidValue",
                "members is a list of {\"value\": user id}".into(),
            ))
        }
    };
    list.iter()
        .map(|m| {
            get(m, "value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Refused(
                        "invalidValue",
                        "each member needs a value (the user's id)".into(),
                    )
                })
        })
        .collect()
}

fn text_or_null(value: &Value, what: &str) -> Result<Option<String>, Refused> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(Refused("invalidValue", format!("{what} is a string"))),
    }
}

/// A whole Group resource (POST, PUT): every field it holds, members exactly as listed.
pub fn from_resource(body: &Value) -> Result<GroupChange, Refused> {
    let name = get(body, "displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| Refused("invalidValue", "displayName is required".into()))?;
    Ok(GroupChange {
        name: Some(name.to_string()),
        external_id: Some(match get(body, "externalId") {
            Some(v) => text_or_null(v, "externalId")?,
            None => None,
        }),
        members: Some(match get(body, "members") {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => member_ids(v)?,
        }),
        ..GroupChange::default()
    })
}

/// The user ids a `members[value eq "x" or value eq "y"]` filter names.
fn ids_in(filter: &Filter, out: &mut Vec<String>) -> Result<(), Refused> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, Literal::Str(id))
            if path.attr.eq_ignore_ascii_case("value") =>
        {
            out.push(id.clone());
            Ok(())
        }
        Filter::Or(a, b) => {
            ids_in(a, out)?;
            ids_in(b, out)
        }
        _ => Err(Refused(
            "invalidFilter",
            "members are chosen by value eq \"<user id>\"".into(),
        )),
    }
}

/// One attribute set by an `add`/`replace` (with or without a path).
fn set(change: &mut GroupChange, attr: &str, op: &str, value: &Value) -> Result<(), Refused> {
    match attr.to_ascii_lowercase().as_str() {
        "displayname" => {
            change.name = Some(
                value
                    .as_str()
                    .ok_or_else(|| Refused("invalidValue", "displayName is a string".into()))?
                    .to_string(),
            )
        }
        "externalid" => change.external_id = Some(text_or_null(value, "externalId")?),
        "members" if op == "replace" => {
            change.members = Some(member_ids(value)?);
            change.add.clear();
            change.remove.clear();
            change.remove_all = false;
        }
        "members" => change.add.extend(member_ids(value)?),
        "id" | "meta" => return Err(Refused("mutability", format!("{attr} is read-only"))),
        _ => {
            return Err(Refused(
                "invalidPath",
                format!("a Group has no attribute {attr} to change"),
            ))
        }
    }
    Ok(())
}

/// A PatchOp request body as one change.
pub fn from_patch(body: &Value) -> Result<GroupChange, Refused> {
    let is_patch = get(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_OP)));
    let ops = get(body, "Operations").and_then(Value::as_array);
    let (true, Some(ops)) = (is_patch, ops) else {
        return Err(Refused(
            "invalidSyntax",
            format!("a PATCH body has schemas [{PATCH_OP}] and Operations"),
        ));
    };
    if ops.is_empty() || ops.len() > 1000 {
        return Err(Refused(
            "invalidValue",
            "Operations holds 1 to 1000 operations".into(),
        ));
    }
    let mut change = GroupChange::default();
    for op in ops {
        let name = get(op, "op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let value = get(op, "value").cloned().unwrap_or(Value::Null);
        let path = match get(op, "path").and_then(Value::as_str) {
            Some(p) => Some(parse_path(p).map_err(|e| Refused("invalidPath", e.to_string()))?),
            None => None,
        };
        match (name.as_str(), path) {
            ("add" | "replace", None) => {
                let Value::Object(fields) = &value else {
                    return Err(Refused(
                        "invalidValue",
                        "without a path, value is an object of attributes".into(),
                    ));
                };
                for (attr, v) in fields {
                    let attr = attr.rsplit(':').next().unwrap_or(attr);
                    // Okta's rename repeats the group's id (and some clients `schemas`).
                    if ["id", "schemas", "meta"]
                        .iter()
                        .any(|k| attr.eq_ignore_ascii_case(k))
                    {
                        continue;
                    }
                    set(&mut change, attr, &name, v)?;
                }
            }
            ("add" | "replace", Some(p)) if p.filter.is_none() => {
                set(&mut change, &p.attr.attr, &name, &value)?
            }
            ("remove", Some(p)) if p.attr.attr.eq_ignore_ascii_case("members") => {
                match (&p.filter, &value) {
                    (Some(filter), _) => ids_in(filter, &mut change.remove)?,
                    (None, Value::Null) => change.remove_all = true,
                    (None, v) => change.remove.extend(member_ids(v)?),
                }
            }
            ("remove", Some(p)) if p.attr.attr.eq_ignore_ascii_case("externalId") => {
                change.external_id = Some(None)
            }
            ("remove", None) => return Err(Refused("noTarget", "remove needs a path".into())),
            ("add" | "replace" | "remove", Some(p)) => {
                return Err(Refused(
                    "invalidPath",
                    format!("{} cannot be changed that way", p.attr.attr),
                ))
            }
            _ => {
                return Err(Refused(
                    "invalidSyntax",
                    format!("op {name:?} is not add, replace or remove"),
                ))
            }
        }
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(ops: Value) -> Result<GroupChange, Refused> {
        from_patch(&json!({ "schemas": [PATCH_OP], "Operations": ops }))
    }

    #[test]
    fn entra_adds_removes_and_renames() {
        let add = patch(json!([{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": "u_1" }] }])).unwrap();
        assert_eq!(add.add, ["u_1"]);
        let remove = patch(json!([{ "op": "Remove", "path": "members", "value": [{ "value": "u_1" }, { "value": "u_2" }] }])).unwrap();
        assert_eq!(remove.remove, ["u_1", "u_2"]);
        let rename =
            patch(json!([{ "op": "Replace", "value": { "displayName": "New name" } }])).unwrap();
        assert_eq!(rename.name.as_deref(), Some("New name"));
        let by_filter =
            patch(json!([{ "op": "remove", "path": "members[value eq \"u_9\"]" }])).unwrap();
        assert_eq!(by_filter.remove, ["u_9"]);
    }

    #[test]
    fn okta_replaces_the_members_and_clears_them() {
        let all = patch(json!([{ "op": "replace", "path": "members", "value": [{ "value": "u_1", "display": "a@x.com" }] }])).unwrap();
        assert_eq!(all.members, Some(vec!["u_1".to_string()]));
        let none = patch(json!([{ "op": "remove", "path": "members" }])).unwrap();
        assert!(none.remove_all);
    }

    #[test]
    fn mistakes_name_their_kind() {
        let kind = |r: Result<GroupChange, Refused>| r.err().map(|e| e.0);
        assert_eq!(
            kind(from_patch(&json!({ "Operations": [] }))),
            Some("invalidSyntax")
        );
        assert_eq!(
            kind(patch(json!([{ "op": "move", "path": "members" }]))),
            Some("invalidSyntax")
        );
        assert_eq!(kind(patch(json!([{ "op": "remove" }]))), Some("noTarget"));
        assert_eq!(
            kind(patch(
                json!([{ "op": "replace", "path": "id", "value": "x" }])
            )),
            Some("mutability")
        );
        assert_eq!(
            kind(patch(
                json!([{ "op": "add", "path": "members[", "value": [] }])
            )),
            Some("invalidPath")
        );
        assert_eq!(
            kind(patch(
                json!([{ "op": "add", "path": "members", "value": 7 }])
            )),
            Some("invalidValue")
        );
        assert_eq!(
            kind(from_resource(&json!({ "members": [] }))),
            Some("invalidValue")
        );
    }
}
