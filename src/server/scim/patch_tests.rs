use serde_json::{json, Value as Json};

use super::{apply_patch, MAX_OPERATIONS, PATCH_OP_SCHEMA};

const READ_ONLY: &[&str] = &["id", "meta", "groups"];
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const BJENSEN: &str = "2819c223-7f76-453a-919d-413861904646";

fn user() -> Json {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "meta": {"resourceType": "User"}
    })
}

fn group() -> Json {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [
            {"value": BJENSEN, "display": "Babs Jensen"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    })
}

/// A PatchOp body holding `operations`.
fn ops(operations: Json) -> Json {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

/// A body given verbatim as JSON text, as a client sent it.
fn text(body: &str) -> Json {
    serde_json::from_str(body).expect("test body is JSON")
}

fn patched(mut doc: Json, body: &Json) -> Result<Json, super::PatchError> {
    apply_patch(&mut doc, body, READ_ONLY).map(|()| doc)
}

/// Patches `doc` and checks JSON pointers in the result; `null` expects absence (or null).
fn check(doc: Json, body: Json, expected: &[(&str, Json)]) {
    let doc = patched(doc, &body).unwrap_or_else(|e| panic!("{e:?}"));
    for (pointer, value) in expected {
        let actual = doc.pointer(pointer).unwrap_or(&Json::Null);
        assert_eq!(actual, value, "{pointer} in {doc:#}");
    }
}

/// `case!(name, doc, body, { "/pointer" => json, ... })` defines a test that runs `check`.
macro_rules! case {
    ($name:ident, $doc:expr, $body:expr, { $($pointer:literal => $value:tt),* $(,)? }) => {
        #[test]
        fn $name() {
            check($doc, $body, &[$(($pointer, json!($value))),*]);
        }
    };
}

// Microsoft Entra ID bodies, verbatim.

case!(entra_deactivates_with_a_false_string, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#), {
    "/active" => false,
});

case!(entra_updates_the_work_email_and_family_name, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}"#), {
    "/emails/0" => {"type": "work", "value": "updatedEmail@microsoft.com", "primary": true},
    "/emails/1/value" => "babs@jensen.org",
    "/name" => {"givenName": "Barbara", "familyName": "updatedFamilyName"},
});

case!(entra_filtered_add_without_a_match_appends, json!({"userName": "x"}), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}"#), {
    "/emails" => [{"type": "work", "value": "updatedEmail@microsoft.com"}],
    "/name" => {"familyName": "updatedFamilyName"},
});

case!(entra_replaces_the_user_name, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}"#), {
    "/userName" => "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
});

case!(entra_renames_a_group, group(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"displayName":"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}}]}"#), {
    "/displayName" => "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
    "/members/1/display" => "Mandy Pepperidge",
});

case!(entra_adds_a_member, group(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}"#), {
    "/members/2" => {"$ref": null, "value": "f648f8d5ea4e4cd38e9c"},
});

case!(entra_adds_the_first_member, json!({"displayName": "g"}), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}"#), {
    "/members" => [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}],
});

case!(entra_removes_a_listed_member, {
    let mut group = group();
    group["members"][0]["value"] = json!("f648f8d5ea4e4cd38e9c");
    group
}, text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}"#), {
    "/members" => [{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}],
});

case!(entra_pathless_add_with_dotted_and_urn_keys, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","value":{"name.givenName":"Ann","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"701984"}}]}"#), {
    "/name" => {"givenName": "Ann", "familyName": "Jensen"},
    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" => {"employeeNumber": "701984"},
    // The resource now uses the extension, so `schemas` lists it (RFC 7643 §3).
    "/schemas" => ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
});

case!(entra_sets_the_manager_as_a_string, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"26118915-6090-4610-87e4-49d8ca9f808d"}]}"#), {
    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager" => "26118915-6090-4610-87e4-49d8ca9f808d",
});

case!(manager_as_an_object_is_stored_as_given, json!({ENTERPRISE: {"department": "Tour"}}), ops(json!([
    {"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "m1"}}
])), {
    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" => {"department": "Tour", "manager": {"value": "m1"}},
});

// Okta.

case!(okta_deactivates_with_a_pathless_replace, user(), text(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#), {
    "/active" => false,
});

case!(okta_adds_a_member_and_skips_a_repeat, group(), ops(json!([
    {"op": "add", "path": "members", "value": [{"value": "00u1", "display": "a@x.com"}]},
    {"op": "add", "path": "members", "value": [{"value": "00u1", "display": "again"}, {"value": BJENSEN}]}
])), {
    "/members/2" => {"value": "00u1", "display": "a@x.com"},
    "/members/3" => null,
});

// Okta's documented group rename repeats the (read-only) id unchanged.
case!(okta_renames_a_group_repeating_its_id, json!({"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Old"}), text(r#"{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"}}]
}"#), {
    "/displayName" => "Test SCIMv2",
});

// RFC 7644 §3.5.2 examples.

case!(rfc_adds_a_member, group(), ops(json!([{"op": "add", "path": "members", "value": [{
    "display": "Babs Jensen",
    "$ref": "https://example.com/v2/Users/2819c223...",
    "value": "2819c223-7f76-453a-919d-413861904646x"
}]}])), {
    "/members/2/value" => "2819c223-7f76-453a-919d-413861904646x",
});

case!(rfc_removes_a_member_by_filter, group(), ops(json!([
    {"op": "remove", "path": "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}
])), {
    "/members" => [{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}],
});

case!(rfc_replaces_a_filtered_value_whole, user(), ops(json!([{"op": "replace", "path": "emails[type eq \"work\"]",
    "value": {"type": "work", "value": "babs@example.com", "primary": "True"}}])), {
    "/emails/0" => {"type": "work", "value": "babs@example.com", "primary": true},
    "/emails/1/type" => "home",
});

case!(rfc_removes_by_a_compound_filter, user(), ops(json!([
    {"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}
])), {
    "/emails" => [{"type": "home", "value": "babs@jensen.org"}],
});

// Rules 1–10.

case!(op_and_operations_key_are_case_insensitive, user(), json!({
    "SCHEMAS": [PATCH_OP_SCHEMA.to_uppercase()],
    "operations": [
        {"op": "ADD", "path": "title", "value": "Guide"},
        {"op": "rEpLaCe", "path": "nickName", "value": "Babs"},
        {"op": "REMOVE", "path": "title"}
    ]
}), {
    "/title" => null,
    "/nickName" => "Babs",
});

case!(attribute_names_match_case_insensitively, user(), ops(json!([
    {"op": "replace", "path": "USERNAME", "value": "b2"},
    {"op": "replace", "path": "Name.GIVENNAME", "value": "Babs"},
    {"op": "add", "path": "emails[TYPE eq \"HOME\"].VALUE", "value": "home@x.org"}
])), {
    "/userName" => "b2",
    "/USERNAME" => null,
    "/name/givenName" => "Babs",
    "/emails/1" => {"type": "home", "value": "home@x.org"},
});

case!(core_schema_prefixes_address_the_top_level, group(), ops(json!([
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "G"},
    {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "F"},
    {"op": "replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User": {"title": "T"}}}
])), {
    "/displayName" => "G",
    "/name/familyName" => "F",
    "/title" => "T",
});

case!(a_whole_extension_urn_merges_its_object, json!({ENTERPRISE: {"department": "Tour", "division": "D"}}), ops(json!([
    {"op": "replace", "value": {ENTERPRISE: {"department": "Sales", "costCenter": "4130"}}},
    {"op": "add", "path": ENTERPRISE, "value": {"organization": "Universal"}}
])), {
    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" =>
        {"department": "Sales", "division": "D", "costCenter": "4130", "organization": "Universal"},
});

case!(add_appends_a_single_value_to_an_array, user(), ops(json!([
    {"op": "add", "path": "emails", "value": {"type": "other", "value": "o@x.org", "primary": "FALSE"}},
    {"op": "add", "path": "emails", "value": {"value": "bjensen@example.com"}}
])), {
    "/emails/2" => {"type": "other", "value": "o@x.org", "primary": false},
    "/emails/3" => null,
});

case!(replace_swaps_a_whole_array, user(), ops(json!([
    {"op": "replace", "path": "emails", "value": [{"value": "only@x.org"}]}
])), {
    "/emails" => [{"value": "only@x.org"}],
});

case!(add_and_replace_merge_a_complex_attribute, user(), ops(json!([
    {"op": "add", "path": "name", "value": {"middleName": "J"}},
    {"op": "replace", "path": "name", "value": {"givenName": "Babs"}}
])), {
    "/name" => {"givenName": "Babs", "middleName": "J", "familyName": "Jensen"},
});

case!(replace_with_a_filter_and_no_match_appends, user(), ops(json!([
    {"op": "replace", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "555"},
    {"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x.org"}}
])), {
    "/phoneNumbers" => [{"type": "mobile", "primary": true, "value": "555"}],
    "/emails/2" => {"type": "other", "value": "o@x.org"},
});

case!(remove_without_a_match_changes_nothing, group(), ops(json!([
    {"op": "remove", "path": "members[value eq \"nobody\"]"},
    {"op": "remove", "path": "title"},
    {"op": "remove", "path": "name.givenName"},
    {"op": "remove", "path": format!("{ENTERPRISE}:manager")}
])), {
    "/members/1/display" => "Mandy Pepperidge",
    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" => null,
});

case!(remove_deletes_attributes_and_sub_attributes, user(), ops(json!([
    {"op": "remove", "path": "name.givenName"},
    {"op": "remove", "path": "emails[type eq \"work\"].primary"},
    {"op": "remove", "path": "userName"}
])), {
    "/name" => {"familyName": "Jensen"},
    "/emails/0" => {"type": "work", "value": "bjensen@example.com"},
    "/userName" => null,
});

case!(removing_members_without_a_filter_removes_them_all, group(), ops(json!([
    {"op": "Remove", "path": "members"}
])), {
    "/members" => null,
    "/displayName" => "Tour Guides",
});

case!(removing_the_last_listed_member_unassigns_members, group(), ops(json!([
    {"op": "remove", "path": "members", "value": [{"value": BJENSEN}, {"value": "902c246b-6245-4190-8e05-00816be7344a"}]}
])), {
    "/members" => null,
});

case!(a_sub_attribute_without_a_filter_applies_to_every_value, user(), ops(json!([
    {"op": "replace", "path": "emails.type", "value": "other"}
])), {
    "/emails/0/type" => "other",
    "/emails/1/type" => "other",
});

case!(booleans_accept_strings_in_any_case, user(), ops(json!([
    {"op": "replace", "path": "Active", "value": "TRUE"},
    {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "true"},
    {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": false}
])), {
    "/active" => true,
    "/emails/1/primary" => true,
    "/emails/0/primary" => false,
});

/// Removes `emails[<filter>]` from a list of six emails and names the ones that remain.
fn remaining_after_removing(filter: &str) -> Vec<String> {
    let doc = json!({"emails": [
        {"id": "a", "type": "work", "value": "A@Example.com", "primary": true, "rank": 1},
        {"id": "b", "type": "home", "value": "b@example.org", "rank": 2.5},
        {"id": "c", "type": "Work", "value": "c@other.net", "rank": 10, "display": null},
        {"id": "d", "value": "", "rank": 9007199254740993_u64},
        {"id": "e", "type": "home", "primary": false, "rank": -3},
        {"id": "f", "type": "other", "value": "f@x", "display": "F"}
    ]});
    let body = ops(json!([{"op": "remove", "path": format!("emails[{filter}]")}]));
    let doc = patched(doc, &body).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    let emails = doc["emails"].as_array().cloned().unwrap_or_default();
    emails
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn filters_evaluate_per_element() {
    let table = [
        (r#"type eq "WORK""#, "bdef"),
        (r#"type ne "work""#, "ac"),
        (r#"value co "EXAMPLE""#, "cdef"),
        (r#"value sw "a@""#, "bcdef"),
        (r#"value ew ".NET""#, "abdef"),
        (r#"type gt "home""#, "bde"),
        (r#"type ge "other""#, "bde"),
        (r#"type lt "other""#, "acdf"),
        (r#"type le "home""#, "acdf"),
        ("rank gt 2", "aef"),
        ("rank ge 2.5", "aef"),
        ("rank lt 2.5", "bcdf"),
        ("rank le 9007199254740992", "df"),
        ("rank eq 9007199254740993", "abcef"),
        ("value pr", "de"),
        ("display pr", "abcde"),
        ("primary eq true", "bcdef"),
        ("primary eq False", "abcdf"),
        ("display eq null", "f"),
        ("display ne null", "abcde"),
        (r#"not (type eq "home")"#, "be"),
        (r#"type eq "home" or value sw "c""#, "adf"),
        (r#"type eq "home" and not (primary pr)"#, "acdef"),
        (
            r#"(type eq "work" or type eq "home") and rank lt 2"#,
            "bcdf",
        ),
        (r#"TYPE EQ "other""#, "abcde"),
    ];
    let mut failures = String::new();
    for (filter, expected) in table {
        let actual = remaining_after_removing(filter).concat();
        if actual != expected {
            failures += &format!("\n{filter}: got {actual}, expected {expected}");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn simple_multi_valued_filters_name_the_value_itself() {
    let doc = json!({"tags": ["a", "b"]});
    let body = ops(json!([{"op": "remove", "path": "tags[value eq \"A\"]"}]));
    assert_eq!(patched(doc, &body), Ok(json!({"tags": ["b"]})));
}

// Errors: each row is a body (or, starting with `[`, its Operations) => the scimType, applied
// to `user()`.
const REFUSED: &str = r#"
    {"Operations": [{"op": "remove", "path": "title"}]} => invalidSyntax
    {"schemas": ["urn:x"], "Operations": [{"op": "remove", "path": "title"}]} => invalidSyntax
    "not an object" => invalidSyntax
    {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]} => invalidSyntax
    [] => invalidSyntax
    ["add"] => invalidSyntax
    [{"op": "merge", "path": "title", "value": "x"}] => invalidSyntax
    [{"path": "title", "value": "x"}] => invalidSyntax
    [{"op": "add", "path": "emails[type eq", "value": "x"}] => invalidPath
    [{"op": "add", "path": "a b", "value": "x"}] => invalidPath
    [{"op": "add", "path": 7, "value": "x"}] => invalidPath
    [{"op": "add", "path": "name.x[a eq 1]", "value": "x"}] => invalidPath
    [{"op": "add", "path": "userName.x", "value": "x"}] => invalidPath
    [{"op": "add", "path": "userName[value eq 1]", "value": "x"}] => invalidPath
    [{"op": "Remove", "value": {"title": "x"}}] => noTarget
    [{"op": "remove"}] => noTarget
    [{"op": "replace", "path": "emails[type co \"x\"].value", "value": "x"}] => noTarget
    [{"op": "replace", "path": "id", "value": "x"}] => mutability
    [{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:id", "value": "x"}] => mutability
    [{"op": "replace", "value": {"ID": "x"}}] => mutability
    [{"op": "add", "path": "meta", "value": {"resourceType": "Group"}}] => mutability
    [{"op": "remove", "path": "id"}] => mutability
    [{"op": "remove", "path": "meta.lastModified"}] => mutability
    [{"op": "remove", "path": "groups[value eq \"g\"]"}] => mutability
    [{"op": "Replace", "path": "active", "value": "maybe"}] => invalidValue
    [{"op": "replace", "value": {"active": "maybe"}}] => invalidValue
    [{"op": "add", "path": "emails", "value": [{"value": "x", "primary": 1}]}] => invalidValue
    [{"op": "add", "path": "title"}] => invalidValue
    [{"op": "add", "path": "title", "value": null}] => invalidValue
    [{"op": "replace", "value": "x"}] => invalidValue
    [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": 1}] => invalidValue
"#;

#[test]
fn refused_requests() {
    let mut failures = String::new();
    for line in REFUSED
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        let (body, expected) = line.rsplit_once(" => ").expect("`body => scimType`");
        let body = if body.starts_with('[') {
            ops(text(body))
        } else {
            text(body)
        };
        let actual = patched(user(), &body).map_err(|e| e.scim_type);
        if actual != Err(expected) {
            failures += &format!("\n{body}\n  got {actual:?}, expected {expected}");
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn operations_are_capped_at_1000() {
    let op = json!({"op": "add", "path": "emails", "value": {"value": "x@y"}});
    assert!(patched(user(), &ops(json!(vec![op.clone(); MAX_OPERATIONS]))).is_ok());
    let too_many = patched(user(), &ops(json!(vec![op; MAX_OPERATIONS + 1])));
    assert_eq!(too_many.map_err(|e| e.scim_type), Err("invalidValue"));
}

#[test]
fn errors_name_the_operation_and_carry_the_parser_message() {
    let body = ops(json!([
        {"op": "add", "path": "title", "value": "x"},
        {"op": "add", "path": "a b", "value": "x"}
    ]));
    let error = patched(user(), &body).expect_err("bad path");
    assert_eq!(error.detail, r#"Operations[1]: "a b": unexpected "b" at 2"#);
}

#[test]
fn never_panics_on_odd_input() {
    let paths = [
        "",
        " ",
        "é",
        "urn:",
        "urn:x:1:",
        "emails[",
        "emails[type eq 1].x",
        "name.",
        "[x]",
        "a:b.c[d pr].e",
    ];
    let values = [
        json!(null),
        json!(1),
        json!("x"),
        json!([]),
        json!([1, null]),
        json!({"a": {"b": []}}),
        json!(true),
    ];
    let docs = [
        user(),
        group(),
        json!({"emails": "x", "name": [1], "members": {"a": 1}}),
        json!(null),
        json!({ENTERPRISE: 5}),
    ];
    for doc in docs {
        for path in paths.iter().copied().chain([
            "emails",
            "name",
            "members[value eq 1]",
            "emails.value",
            ENTERPRISE,
        ]) {
            for value in &values {
                for op in ["add", "replace", "remove"] {
                    let with_path = ops(json!([{"op": op, "path": path, "value": value}]));
                    let _ = patched(doc.clone(), &with_path);
                    let pathless = ops(json!([{"op": op, "value": {path: value}}]));
                    let _ = patched(doc.clone(), &pathless);
                }
            }
        }
    }
}
