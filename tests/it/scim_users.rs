//! The SCIM 2.0 service provider, Users: request sequences in the shapes Microsoft Entra ID and
//! Okta document for their provisioning, filters, errors, and what a source may touch.
use crate::api_v1::admin_auth;
use crate::common::*;
use gatehouse::model::sources::SourceInput;
use gatehouse::server::service::sources;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A provisioning source of this test that owns everything; returns its token.
pub async fn source(app: &TestApp, id: &str) -> String {
    source_owning(
        app,
        id,
        &[
            "userName",
            "name",
            "phoneNumbers",
            "active",
            "enterprise",
            "groups",
        ],
    )
    .await
}

pub async fn source_owning(app: &TestApp, id: &str, owned: &[&str]) -> String {
    sources::create(
        &app.state.db,
        &admin_auth(),
        &SourceInput {
            id: id.into(),
            name: format!("Source {id}"),
            owned_attributes: owned.iter().map(|s| s.to_string()).collect(),
            match_rule: "none".into(),
        },
    )
    .await
    .expect("source")
    .token
}

pub async fn scim(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = Client::new().request(
        method.parse().unwrap(),
        format!("{}/scim/v2{path}", app.url),
    );
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    req.send().await.expect("request")
}

pub async fn json_of(res: Response) -> Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The user Entra sends first (its documented "Create User" request).
pub fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Test User",
        "emails": [{ "primary": true, "type": "work", "value": user_name }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        "roles": [],
        ENTERPRISE: { "employeeNumber": "701984", "department": "Tour Operations" },
    })
}

#[tokio::test]
async fn entra_creates_finds_updates_deactivates_and_deletes_a_user() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let token = source(&app, "entra").await;
    // Entra first asks whether the user exists.
    let found = scim(
        &app,
        &token,
        "GET",
        "/Users?filter=userName+eq+%22Test_User_1%40contoso.com%22",
        None,
        &[],
    )
    .await;
    assert_eq!(found.status(), StatusCode::OK);
    let found = json_of(found).await;
    assert_eq!(found["totalResults"], 0);
    assert_eq!(found["Resources"], json!([]));

    let created = scim(
        &app,
        &token,
        "POST",
        "/Users",
        Some(entra_user("Test_User_1@contoso.com", "e-1")),
        &[],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers()["location"]
        .to_str()
        .unwrap()
        .contains("/scim/v2/Users/u_"));
    let user = json_of(created).await;
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["userName"], "Test_User_1@contoso.com");
    assert_eq!(user["active"], true);
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984", "kept as sent");
    assert_eq!(user["meta"]["resourceType"], "User");

    for filter in [
        "userName eq \"test_user_1@contoso.com\"",
        "externalId eq \"e-1\"",
        "emails[type eq \"work\"].value eq \"Test_User_1@contoso.com\"",
        "displayName eq \"Test User\"",
    ] {
        let path = format!(
            "/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let page = json_of(scim(&app, &token, "GET", &path, None, &[]).await).await;
        assert_eq!(page["totalResults"], 1, "{filter}: {page}");
        assert_eq!(page["Resources"][0]["id"], id.as_str(), "{filter}");
    }

    // Entra's update: capitalised ops, a value filter that adds an email, dotted paths.
    let patch = json!({ "schemas": [PATCH_OP], "Operations": [
        { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" },
        { "op": "Add", "value": { "displayName": "Updated User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales" } },
    ]});
    let updated = scim(
        &app,
        &token,
        "PATCH",
        &format!("/Users/{id}"),
        Some(patch),
        &[],
    )
    .await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated = json_of(updated).await;
    assert_eq!(updated["name"]["familyName"], "updatedFamilyName");
    assert_eq!(updated["displayName"], "Updated User");
    assert_eq!(updated[ENTERPRISE]["department"], "Sales");

    // Deactivation, with Entra's string boolean.
    let off = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] });
    let res = scim(
        &app,
        &token,
        "PATCH",
        &format!("/Users/{id}"),
        Some(off),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["active"], false);
    let console = app.call_ok("users/get", &form(&[("id", &id)])).await;
    assert_eq!(console["status"], "suspended");
    assert_eq!(console["source"], "entra");

    let deleted = scim(&app, &token, "DELETE", &format!("/Users/{id}"), None, &[]).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = scim(&app, &token, "GET", &format!("/Users/{id}"), None, &[]).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let console = app.call_ok("users/get", &form(&[("id", &id)])).await;
    assert_eq!(
        console["status"], "deprovisioned",
        "into the restore window"
    );

    // Every change names the source as its actor.
    let actions: Vec<(String, Option<String>)> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.target_id.as_deref() == Some(id.as_str()))
        .map(|e| (e.action, e.actor_email))
        .collect();
    assert!(!actions.is_empty());
    assert!(
        actions
            .iter()
            .all(|(_, actor)| actor.as_deref() == Some("source:entra")),
        "{actions:?}"
    );
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        ["user.create", "user.update", "user.status", "user.status"]
    );
    let stats = app.call_ok("sources/get", &form(&[("id", "entra")])).await;
    assert_eq!(
        (
            stats["creates"].as_i64(),
            stats["updates"].as_i64(),
            stats["deactivations"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert!(stats["last_request_at"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn okta_updates_with_put_and_deactivates_with_active_false() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let token = source(&app, "okta").await;
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "isabella.ortiz@example.com",
        "name": { "givenName": "Isabella", "familyName": "Ortiz" },
        "emails": [{ "primary": true, "value": "isabella.ortiz@example.com", "type": "work" }],
        "displayName": "Isabella Ortiz",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let created =
        json_of(scim(&app, &token, "POST", "/Users", Some(user.clone()), &[]).await).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        created.get("password").is_none(),
        "a password is never kept or returned"
    );
    assert_eq!(created["locale"], "en-US");
    user["id"] = json!(id);
    user["name"]["familyName"] = json!("Ortiz-Smith");
    let put = scim(
        &app,
        &token,
        "PUT",
        &format!("/Users/{id}"),
        Some(user.clone()),
        &[],
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let etag = put.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(json_of(put).await["name"]["familyName"], "Ortiz-Smith");
    user["active"] = json!(false);
    let stale = scim(
        &app,
        &token,
        "PUT",
        &format!("/Users/{id}"),
        Some(user.clone()),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let off = scim(
        &app,
        &token,
        "PUT",
        &format!("/Users/{id}"),
        Some(user.clone()),
        &[("if-match", &etag)],
    )
    .await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(json_of(off).await["active"], false);
    let console = app.call_ok("users/get", &form(&[("id", &id)])).await;
    assert_eq!(console["status"], "suspended");
    // Okta's deactivation by PATCH, and back.
    let on = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "active": true } }] });
    let res = scim(
        &app,
        &token,
        "PATCH",
        &format!("/Users/{id}"),
        Some(on),
        &[],
    )
    .await;
    assert_eq!(json_of(res).await["active"], true);
}

#[tokio::test]
async fn mistakes_get_the_rfc_error_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let token = source(&app, "hr").await;
    let first = scim(
        &app,
        &token,
        "POST",
        "/Users",
        Some(entra_user("dup@example.com", "x-1")),
        &[],
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let before = app.audit_events().await.len();
    // (method, path, body, status, scimType)
    type Case<'a> = (&'a str, String, Option<Value>, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/Users".into(),
            Some(entra_user("dup@example.com", "x-2")),
            409,
            Some("uniqueness"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({ "displayName": "No name" })),
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!(["not", "an", "object"])),
            400,
            Some("invalidSyntax"),
        ),
        (
            "GET",
            "/Users?filter=userName+zz+%22x%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?filter=title+eq+%22x%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        ("GET", "/Users/u_missing".into(), None, 404, None),
        (
            "PATCH",
            "/Users/u_missing".into(),
            Some(json!({ "schemas": [PATCH_OP], "Operations": [] })),
            404,
            None,
        ),
    ];
    for (method, path, body, status, scim_type) in cases {
        let res = scim(&app, &token, method, &path, body, &[]).await;
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        assert_eq!(res.headers()["content-type"], "application/scim+json");
        let error = json_of(res).await;
        assert_eq!(
            error["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(error["status"], status.to_string(), "{method} {path}");
        assert_eq!(
            error["scimType"].as_str(),
            scim_type,
            "{method} {path}: {error}"
        );
        assert!(!error["detail"].as_str().unwrap_or("").is_empty());
    }
    assert_eq!(
        app.audit_events().await.len(),
        before,
        "nothing was written"
    );
    let stats = app.call_ok("sources/get", &form(&[("id", "hr")])).await;
    let errors = stats["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 7, "each refusal is on the source's page");
    assert_eq!(errors[errors.len() - 1]["scim_type"], "uniqueness");
}

#[tokio::test]
async fn a_source_sees_and_changes_only_its_own_accounts_and_only_what_it_owns() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let console_user = app
        .create_user("local@example.com", "Local Person", &[])
        .await;
    let entra = source(&app, "entra").await;
    let hr = source_owning(&app, "hr", &["userName", "active"]).await;
    for path in [
        format!("/Users/{}", console_user["id"].as_str().unwrap()),
        "/Users?filter=userName+eq+%22local%40example.com%22".into(),
    ] {
        let res = json_of(scim(&app, &entra, "GET", &path, None, &[]).await).await;
        assert!(
            res["status"] == "404" || res["totalResults"] == 0,
            "{path}: {res}"
        );
    }
    let created = json_of(
        scim(
            &app,
            &hr,
            "POST",
            "/Users",
            Some(entra_user("worker@example.com", "w-1")),
            &[],
        )
        .await,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let other = scim(&app, &entra, "GET", &format!("/Users/{id}"), None, &[]).await;
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "another source's account"
    );
    let rename = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "Renamed" }] });
    let res = json_of(
        scim(
            &app,
            &hr,
            "PATCH",
            &format!("/Users/{id}"),
            Some(rename),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(res["displayName"], "Test User", "hr does not own names");
    for (token, expect) in [("", 401), ("ghp_not_a_token", 401)] {
        let res = scim(&app, token, "GET", "/Users", None, &[]).await;
        assert_eq!(res.status().as_u16(), expect);
    }
    app.call_ok(
        "sources/status",
        &form(&[("id", "hr"), ("status", "disabled")]),
    )
    .await;
    let res = scim(&app, &hr, "GET", "/Users", None, &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a disabled source is refused"
    );
    let rotated = app
        .call_ok("sources/rotate_token", &form(&[("id", "entra")]))
        .await;
    let res = scim(&app, &entra, "GET", "/Users", None, &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the old token stops at once"
    );
    let res = scim(
        &app,
        rotated["token"].as_str().unwrap(),
        "GET",
        "/Users",
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let listed = app.call_ok("sources/list", "").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn discovery_says_what_the_service_provider_does() {
    let app = TestApp::spawn().await;
    let token = source(&app, "disco").await;
    let config =
        json_of(scim(&app, &token, "GET", "/ServiceProviderConfig", None, &[]).await).await;
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["etag"]["supported"], true);
    let types = json_of(scim(&app, &token, "GET", "/ResourceTypes", None, &[]).await).await;
    let names: Vec<&str> = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    let schemas = json_of(scim(&app, &token, "GET", "/Schemas", None, &[]).await).await;
    assert_eq!(schemas["totalResults"], 3);
    let user = scim(
        &app,
        &token,
        "GET",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
        &[],
    )
    .await;
    assert_eq!(user.status(), StatusCode::OK);
    let one = scim(&app, &token, "GET", "/ResourceTypes/User", None, &[]).await;
    assert_eq!(json_of(one).await["endpoint"], "/Users");
    let created = app.sign_in(ADMIN).await;
    assert!(created.status().is_success() || created.status().is_redirection());
    let made = app
        .call_ok(
            "sources/create",
            &form(&[
                ("input[id]", "okta-us"),
                ("input[name]", "Okta US"),
                ("input[owned_attributes][0]", "active"),
                ("input[match_rule]", "none"),
            ]),
        )
        .await;
    assert!(made["token"].as_str().unwrap().starts_with("ghp_"));
    assert_eq!(made["source"]["owned_attributes"], json!(["active"]));
}

/// Every SCIM route, read from where the routes are declared, with each method it answers.
fn scim_routes() -> Vec<(String, Vec<&'static str>)> {
    let source = include_str!("../../src/server/http/scim/mod.rs");
    source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| {
            let path = rest.trim_start().strip_prefix('"')?.split('"').next()?;
            let call = rest.split(".route(").next().unwrap_or("");
            let methods = [
                ("get(", "GET"),
                ("post(", "POST"),
                (".put(", "PUT"),
                (".patch(", "PATCH"),
                (".delete(", "DELETE"),
                ("any(", "POST"),
            ]
            .into_iter()
            .filter(|(m, _)| call.contains(m))
            .map(|(_, name)| name)
            .collect();
            Some((
                path.replace("{id}", "missing").replace("{*rest}", "Bulk"),
                methods,
            ))
        })
        .collect()
}

#[tokio::test]
async fn every_scim_route_needs_a_source_token_and_no_console_session_will_do() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let routes = scim_routes();
    assert!(routes.len() >= 7, "routes found: {routes:?}");
    for (path, methods) in &routes {
        assert!(!methods.is_empty(), "{path}");
        for method in methods {
            for token in ["", "ghp_forged"] {
                let res = scim(
                    &app,
                    token,
                    method,
                    path.trim_start_matches("/scim/v2"),
                    Some(json!({})),
                    &[],
                )
                .await;
                assert_eq!(
                    res.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} with {token:?}"
                );
                assert_eq!(json_of(res).await["status"], "401");
            }
            // The admin's console session (a cookie) is not a credential here.
            let res = app
                .client
                .request(method.parse().unwrap(), format!("{}{path}", app.url))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with a session"
            );
        }
    }
}
