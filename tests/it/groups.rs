//! Groups: console groups and their members, through the console's server functions and the
//! management API; groups owned by a provisioning source stay read-only.
use crate::api_v1::{api, service_token};
use crate::common::*;
use gatehouse::server::db;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn create_group(app: &TestApp, name: &str) -> Value {
    app.call_ok(
        "groups/create",
        &form(&[
            ("input[name]", name),
            ("input[description]", "Builds things"),
        ]),
    )
    .await
}

async fn user_id(app: &TestApp, email: &str, name: &str) -> String {
    app.create_user(email, name, &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn member_names(page: &Value) -> Vec<String> {
    page["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["display_name"].as_str().unwrap().to_string())
        .collect()
}

async fn group_events(app: &TestApp, id: &str) -> Vec<String> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| e.target_id.as_deref() == Some(id))
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn an_admin_creates_a_group_adds_members_in_name_order_and_every_change_is_audited() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let group = create_group(&app, "  Platform Engineering ").await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["name"], "Platform Engineering");
    assert_eq!(group["source"], "console");
    let zoe = user_id(&app, "zoe@example.com", "Zoe Zimmer").await;
    user_id(&app, "ada@example.com", "Ada Lovelace").await;
    for who in ["zoe@example.com", "ADA@example.com", &zoe] {
        app.call_ok("groups/add_member", &form(&[("id", &id), ("user", who)]))
            .await;
    }
    let page = app
        .call_ok("groups/members", &form(&[("id", &id), ("after", "")]))
        .await;
    assert_eq!(member_names(&page), ["Ada Lovelace", "Zoe Zimmer"]);
    let found = app
        .call_ok(
            "groups/list",
            &form(&[("query[q]", "platform e"), ("query[source]", "console")]),
        )
        .await;
    let listed = found["groups"].as_array().expect("groups");
    assert_eq!(listed.len(), 1, "{found}");
    assert_eq!(listed[0]["member_count"], 2);
    let elsewhere = app
        .call_ok(
            "groups/list",
            &form(&[("query[q]", "platform e"), ("query[source]", "okta")]),
        )
        .await;
    assert_eq!(elsewhere["groups"], json!([]));
    let now = app.call_ok("groups/get", &form(&[("id", &id)])).await;
    assert_eq!(now["member_count"], 2, "adding a member twice counts once");

    let removed = app
        .call_ok(
            "groups/remove_member",
            &form(&[("id", &id), ("user_id", &zoe)]),
        )
        .await;
    assert_eq!(removed["member_count"], 1);
    let of_zoe = app
        .call_ok("groups/of_user", &form(&[("user_id", &zoe)]))
        .await;
    assert_eq!(of_zoe, json!([]), "Zoe left the group");
    assert_eq!(
        group_events(&app, &id).await,
        [
            "group.create",
            "group.member.add",
            "group.member.add",
            "group.member.remove"
        ]
    );
}

#[tokio::test]
async fn a_person_page_lists_the_groups_of_each_account() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let user = app
        .create_user("grace@example.com", "Grace Hopper", &[])
        .await;
    let guid = user["guid"].as_str().unwrap();
    let group = create_group(&app, "Compilers").await;
    let id = group["id"].as_str().unwrap();
    app.call_ok(
        "groups/add_member",
        &form(&[("id", id), ("user", "grace@example.com")]),
    )
    .await;
    let of_person = app
        .call_ok("groups/of_person", &form(&[("guid", guid)]))
        .await;
    let list = of_person.as_array().expect("memberships");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["group"]["name"], "Compilers");
    assert_eq!(list[0]["email"], "grace@example.com");
    let page = app.get(&format!("/guids/{guid}")).await;
    assert!(page.text().await.unwrap().contains("Compilers"));
}

#[tokio::test]
async fn bad_input_is_refused_with_its_reason_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let before = app.audit_events().await.len();
    let empty = app
        .call(&app.client, "groups/create", &form(&[("input[name]", " ")]))
        .await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert!(empty.text().await.unwrap().contains("Name is required"));
    let group = create_group(&app, "Finance").await;
    let id = group["id"].as_str().unwrap();
    let twice = app
        .call(
            &app.client,
            "groups/create",
            &form(&[("input[name]", "FINANCE")]),
        )
        .await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    assert!(twice.text().await.unwrap().contains("already used"));
    let stranger = app
        .call(
            &app.client,
            "groups/add_member",
            &form(&[("id", id), ("user", "nobody-here@example.com")]),
        )
        .await;
    assert_eq!(stranger.status(), StatusCode::BAD_REQUEST);
    assert!(stranger.text().await.unwrap().contains("No account has"));
    let stale = app
        .call(
            &app.client,
            "groups/update",
            &form(&[("id", id), ("version", "7"), ("input[name]", "Money")]),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let now = app.call_ok("groups/get", &form(&[("id", id)])).await;
    assert_eq!(now["name"], "Finance");
    assert_eq!(now["member_count"], 0);
    assert_eq!(
        app.audit_events().await.len(),
        before + 1,
        "only the one successful create was written"
    );
}

/// A group as a provisioning source leaves it (SCIM writes these).
async fn provisioned_group(app: &TestApp, name: &str) -> String {
    let id = format!("grp_{}", uuid::Uuid::new_v4().simple());
    let mut tx = app.state.db.begin_write().await.unwrap();
    db::groups::insert(
        &mut tx,
        &db::groups::GroupRow {
            id: &id,
            name,
            description: "",
            source: "entra-emea",
            external_id: Some("e1f0"),
            now: db::now_ms(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn a_group_a_source_provisions_is_read_only_in_the_console_and_the_api() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.create_user("lin@example.com", "Lin", &[]).await;
    let id = provisioned_group(&app, "Sales EMEA").await;
    for (name, body) in [
        (
            "groups/update",
            form(&[("id", &id), ("version", "1"), ("input[name]", "Sales")]),
        ),
        ("groups/delete", form(&[("id", &id)])),
        (
            "groups/add_member",
            form(&[("id", &id), ("user", "lin@example.com")]),
        ),
    ] {
        let res = app.call(&app.client, name, &body).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{name}");
        assert!(res.text().await.unwrap().contains("entra-emea"), "{name}");
    }
    let token = service_token(&app, &["groups:read", "groups:write"]).await;
    let res = api(
        &app,
        &token,
        "POST",
        &format!("/api/v1/groups/{id}/members"),
        Some(json!({ "user": "lin@example.com" })),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let now = app.call_ok("groups/get", &form(&[("id", &id)])).await;
    assert_eq!(
        (now["name"].as_str(), now["member_count"].as_i64()),
        (Some("Sales EMEA"), Some(0))
    );
    let page = app.get(&format!("/groups/{id}")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("read-only-note") && html.contains("entra-emea"));
    assert!(
        !html.contains("add-member-form"),
        "no way to change it is offered"
    );
    assert!(group_events(&app, &id).await.is_empty());
}

#[tokio::test]
async fn renaming_a_user_moves_them_in_the_member_order() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let group = create_group(&app, "Ops").await;
    let id = group["id"].as_str().unwrap();
    let bob = user_id(&app, "bob@example.com", "Bob").await;
    user_id(&app, "carl@example.com", "Carl").await;
    for who in ["bob@example.com", "carl@example.com"] {
        app.call_ok("groups/add_member", &form(&[("id", id), ("user", who)]))
            .await;
    }
    app.call_ok(
        "users/update",
        &form(&[
            ("id", &bob),
            ("version", "1"),
            ("input[email]", "bob@example.com"),
            ("input[display_name]", "Zed Bob"),
            ("input[source]", "hr-emea"),
        ]),
    )
    .await;
    let page = app
        .call_ok("groups/members", &form(&[("id", id), ("after", "")]))
        .await;
    assert_eq!(member_names(&page), ["Carl", "Zed Bob"]);
}

#[tokio::test]
async fn the_api_pages_members_and_changes_groups_with_if_match() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    for i in 0..5 {
        app.create_user(&format!("m{i}@example.com"), &format!("Member {i}"), &[])
            .await;
    }
    let token = service_token(&app, &["groups:read", "groups:write"]).await;
    let created = api(
        &app,
        &token,
        "POST",
        "/api/v1/groups",
        Some(json!({ "name": "Readers", "description": "" })),
        &[],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let etag = created.headers()["etag"].to_str().unwrap().to_string();
    let group: Value = created.json().await.unwrap();
    let id = group["id"].as_str().unwrap();
    for i in (0..5).rev() {
        let res = api(
            &app,
            &token,
            "POST",
            &format!("/api/v1/groups/{id}/members"),
            Some(json!({ "user": format!("m{i}@example.com") })),
            &[],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/groups/{id}/members?limit=2");
    loop {
        let res = api(&app, &token, "GET", &path, None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|m| m["email"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(next) => {
                path = format!(
                    "/api/v1/groups/{id}/members?limit=2&after={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                )
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..5).map(|i| format!("m{i}@example.com")).collect();
    assert_eq!(seen, expected, "every member once, in name order");
    let stale = api(
        &app,
        &token,
        "PUT",
        &format!("/api/v1/groups/{id}"),
        Some(json!({ "name": "Writers" })),
        &[("if-match", &etag)],
    )
    .await;
    assert_eq!(
        stale.status(),
        StatusCode::PRECONDITION_FAILED,
        "adding members changed the version"
    );
    let deleted = api(
        &app,
        &token,
        "DELETE",
        &format!("/api/v1/groups/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/groups/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let of_user = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/users/{}/groups", "u_missing"),
        None,
        &[],
    )
    .await;
    assert_eq!(of_user.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_application_assigned_to_a_group_is_open_to_its_members_only_while_they_are_members() {
    use crate::apps::{gateway, register, verify, OWNER};
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let owner = app.create_user(OWNER, "Olivia Owner", &[]).await;
    let (owner_id, guid) = (
        owner["id"].as_str().unwrap().to_string(),
        owner["guid"].as_str().unwrap().to_string(),
    );
    let gw = gateway(&app).await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let group = create_group(&app, "Order desk").await;
    let group_id = group["id"].as_str().unwrap();
    app.call_ok(
        "groups/add_member",
        &form(&[("id", group_id), ("user", OWNER)]),
    )
    .await;
    let assigned = app
        .call_ok(
            "apps/assign_group",
            &form(&[("id", &app_id), ("group", "order DESK")]),
        )
        .await;
    assert_eq!(
        assigned[0]["id"], group_id,
        "found by its name, without case"
    );
    // Assigned through the group, the owner may hold a personal key, and it works.
    let issued = app
        .call_ok(
            "keys/create",
            &form(&[
                ("input[application_id]", &app_id),
                ("input[name]", "olivia's script"),
                ("input[owner]", OWNER),
                ("input[scopes][0]", "orders:read"),
            ]),
        )
        .await;
    let key = issued["key"].as_str().unwrap();
    assert_eq!(verify(&app, &gw, key).await.1["valid"], true);
    let why = app
        .call_ok("apps/of_person", &form(&[("guid", &guid)]))
        .await;
    assert_eq!(why[0]["id"], app_id.as_str());
    assert_eq!(why[0]["direct"], false);
    assert_eq!(why[0]["through_groups"][0][1], "Order desk");
    let page = app
        .get(&format!("/guids/{guid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Orders: assigned through the group Order desk"));

    // Leaving the group ends the assignment that came from it, and the key with it.
    app.call_ok(
        "groups/remove_member",
        &form(&[("id", group_id), ("user_id", &owner_id)]),
    )
    .await;
    let (_, body) = verify(&app, &gw, key).await;
    assert_eq!(body["valid"], false, "{body}");
    let none = app
        .call_ok("apps/of_person", &form(&[("guid", &guid)]))
        .await;
    assert_eq!(none, json!([]));

    // A direct assignment stays when the group goes.
    app.call_ok(
        "groups/add_member",
        &form(&[("id", group_id), ("user", OWNER)]),
    )
    .await;
    app.call_ok("apps/assign", &form(&[("id", &app_id), ("person", &guid)]))
        .await;
    let listed = app.call_ok("apps/groups", &form(&[("id", &app_id)])).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    app.call_ok(
        "apps/unassign_group",
        &form(&[("id", &app_id), ("group_id", group_id)]),
    )
    .await;
    let direct = app
        .call_ok("apps/of_person", &form(&[("guid", &guid)]))
        .await;
    assert_eq!(direct[0]["direct"], true);
    assert_eq!(direct[0]["through_groups"], json!([]));
    assert_eq!(verify(&app, &gw, key).await.1["valid"], true);
    let events: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("application.group."))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        events,
        ["application.group.assign", "application.group.unassign"]
    );
}

#[tokio::test]
async fn assigning_a_group_that_does_not_exist_is_refused_and_changes_nothing() {
    let app = crate::apps::setup().await;
    let (app_id, _) = crate::apps::register(&app, "Ledger", "ledger:read").await;
    let res = app
        .call(
            &app.client,
            "apps/assign_group",
            &form(&[("id", &app_id), ("group", "Nobody's group")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("No group has the name or id"));
    let listed = app.call_ok("apps/groups", &form(&[("id", &app_id)])).await;
    assert_eq!(listed, json!([]));
}
