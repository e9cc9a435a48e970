//! SCIM discovery (RFC 7644 §4): what this service provider supports, its resource types and
//! schemas. What is declared here is what the handlers do: filter (up to `MAX_RESULTS`), PATCH,
//! ETags; no bulk, sort, password change or change-password.
use super::error::ScimError;
use super::scim_json;
use crate::server::scim::group_resource::GROUP_SCHEMA;
use crate::server::scim::user_resource::{ENTERPRISE_SCHEMA, USER_SCHEMA};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub const MAX_RESULTS: i64 = 200;

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    scim_json(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{}/api/v1/docs", state.config.public_url),
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The provisioning source's token, shown once when the source is created in Gatehouse",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/scim/v2/ServiceProviderConfig", state.config.public_url) },
    }))
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/User") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Group",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/scim/v2/ResourceTypes/Group") },
        }),
    ]
}

pub async fn resource_type_list(State(state): State<AppState>) -> Response {
    scim_json(list(resource_types(&state.config.public_url)))
}

pub async fn resource_type(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match resource_types(&state.config.public_url)
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        }) {
        Some(r) => scim_json(r),
        None => ScimError::not_found(format!("No resource type {id}")).into_response(),
    }
}

/// An attribute definition (RFC 7643 §7) with the defaults most attributes share.
fn attr(name: &str, kind: &str, multi: bool, required: bool) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": name,
    })
}

fn complex(name: &str, multi: bool, subs: Vec<Value>) -> Value {
    let mut a = attr(name, "complex", multi, false);
    a["subAttributes"] = Value::Array(subs);
    a
}

fn multi_valued(name: &str) -> Value {
    complex(
        name,
        true,
        vec![
            attr("value", "string", false, false),
            attr("type", "string", false, false),
            attr("primary", "boolean", false, false),
            attr("display", "string", false, false),
        ],
    )
}

fn schemas(base: &str) -> Vec<Value> {
    let mut user_name = attr("userName", "string", false, true);
    user_name["uniqueness"] = json!("server");
    let mut external_id = attr("externalId", "string", false, false);
    external_id["caseExact"] = json!(true);
    let mut groups = multi_valued("groups");
    groups["mutability"] = json!("readOnly");
    let mut display_name = attr("displayName", "string", false, true);
    display_name["uniqueness"] = json!("none");
    let mut manager = complex(
        "manager",
        false,
        vec![
            attr("value", "string", false, false),
            attr("displayName", "string", false, false),
        ],
    );
    manager["mutability"] = json!("readWrite");
    // Every Gatehouse account has an email: userName, or one of these.
    let mut emails = multi_valued("emails");
    emails["required"] = json!(true);
    emails["subAttributes"][0]["required"] = json!(true);
    // Members are users (no nested groups): `$ref` names the User resource, as answers carry it.
    let mut member_ref = attr("$ref", "reference", false, false);
    member_ref["referenceTypes"] = json!(["User"]);
    member_ref["mutability"] = json!("immutable");
    let mut member_type = attr("type", "string", false, false);
    member_type["canonicalValues"] = json!(["User"]);
    member_type["mutability"] = json!("immutable");
    let member_subs = vec![
        attr("value", "string", false, false),
        member_ref,
        member_type,
    ];
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": USER_SCHEMA, "name": "User", "description": "User account",
            "attributes": [
                user_name,
                complex("name", false, vec![
                    attr("formatted", "string", false, false),
                    attr("familyName", "string", false, false),
                    attr("givenName", "string", false, false),
                ]),
                attr("displayName", "string", false, false),
                attr("title", "string", false, false),
                attr("userType", "string", false, false),
                attr("preferredLanguage", "string", false, false),
                attr("locale", "string", false, false),
                attr("timezone", "string", false, false),
                attr("active", "boolean", false, false),
                emails,
                multi_valued("phoneNumbers"),
                groups,
                external_id,
            ],
            "meta": { "resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{USER_SCHEMA}") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser", "description": "Enterprise user",
            "attributes": [
                attr("employeeNumber", "string", false, false),
                attr("costCenter", "string", false, false),
                attr("organization", "string", false, false),
                attr("division", "string", false, false),
                attr("department", "string", false, false),
                manager,
            ],
            "meta": { "resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{ENTERPRISE_SCHEMA}") },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [
                display_name,
                complex("members", true, member_subs),
                attr("externalId", "string", false, false),
            ],
            "meta": { "resourceType": "Schema", "location": format!("{base}/scim/v2/Schemas/{GROUP_SCHEMA}") },
        }),
    ]
}

pub async fn schema_list(State(state): State<AppState>) -> Response {
    scim_json(list(schemas(&state.config.public_url)))
}

pub async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match schemas(&state.config.public_url).into_iter().find(|s| {
        s["id"]
            .as_str()
            .is_some_and(|i| i.eq_ignore_ascii_case(&id))
    }) {
        Some(s) => scim_json(s),
        None => ScimError::not_found(format!("No schema {id}")).into_response(),
    }
}
