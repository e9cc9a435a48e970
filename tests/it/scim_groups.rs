//! The SCIM 2.0 service provider, Groups: Entra ID's and Okta's group provisioning sequences,
//! and the console's view of what a source provisioned.
use crate::common::*;
use crate::scim_users::{entra_user, json_of, scim, source};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn user(app: &TestApp, token: &str, email: &str, external: &str) -> String {
    let created = scim(
        app,
        token,
        "POST",
        "/Users",
        Some(entra_user(email, external)),
        &[],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    json_of(created).await["id"].as_str().unwrap().to_string()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn entra_creates_a_group_changes_its_members_renames_and_deletes_it() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let token = source(&app, "entra").await;
    let (a, b) = (
        user(&app, &token, "a@contoso.com", "ea").await,
        user(&app, &token, "b@contoso.com", "eb").await,
    );
    let exists = json_of(
        scim(
            &app,
            &token,
            "GET",
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22Group_1%22",
            None,
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(exists["totalResults"], 0);
    let created = scim(
        &app,
        &token,
        "POST",
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Group_1",
            "members": [],
        })),
        &[],
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let group = json_of(created).await;
    let id = group["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{id}");

    let add = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": a }, { "value": b }] }] });
    assert_eq!(
        scim(&app, &token, "PATCH", &path, Some(add), &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let now = json_of(scim(&app, &token, "GET", &path, None, &[]).await).await;
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(member_ids(&now), both);

    let remove = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "Remove", "path": "members", "value": [{ "$ref": null, "value": a }] }] });
    scim(&app, &token, "PATCH", &path, Some(remove), &[]).await;
    let moved = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "Replace", "path": "id", "value": "grp_other" }] });
    let res = scim(&app, &token, "PATCH", &path, Some(moved), &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "id is read-only");
    assert_eq!(json_of(res).await["scimType"], "mutability");
    // Okta's rename repeats the id beside the new name.
    let rename = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "Replace", "value": { "id": id, "displayName": "Group_1 renamed" } }] });
    assert_eq!(
        scim(&app, &token, "PATCH", &path, Some(rename), &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let now = json_of(scim(&app, &token, "GET", &path, None, &[]).await).await;
    assert_eq!(now["displayName"], "Group_1 renamed");
    assert_eq!(member_ids(&now), [b.as_str()]);

    // The console shows it read-only, named after its source, with its member.
    let console = app.call_ok("groups/get", &form(&[("id", &id)])).await;
    assert_eq!(
        (console["source"].as_str(), console["member_count"].as_i64()),
        (Some("entra"), Some(1))
    );
    let res = app
        .call(
            &app.client,
            "groups/add_member",
            &form(&[("id", &id), ("user", "a@contoso.com")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let actors: Vec<Option<String>> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.target_id.as_deref() == Some(id.as_str()))
        .map(|e| e.actor_email)
        .collect();
    assert_eq!(actors.len(), 5, "create, two adds, a removal, the rename");
    assert!(actors.iter().all(|a| a.as_deref() == Some("source:entra")));

    assert_eq!(
        scim(&app, &token, "DELETE", &path, None, &[])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim(&app, &token, "GET", &path, None, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn okta_replaces_members_with_put_and_members_must_be_its_own_users() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let token = source(&app, "okta").await;
    let other = source(&app, "workday").await;
    let (a, b) = (
        user(&app, &token, "a@okta.example", "oa").await,
        user(&app, &token, "b@okta.example", "ob").await,
    );
    let stranger = user(&app, &other, "c@workday.example", "wc").await;
    let group = json_of(
        scim(
            &app,
            &token,
            "POST",
            "/Groups",
            Some(json!({ "displayName": "Sales", "members": [{ "value": a }] })),
            &[],
        )
        .await,
    )
    .await;
    let id = group["id"].as_str().unwrap().to_string();
    let etag_of = |v: &Value| {
        format!(
            "W/\"{}\"",
            v["meta"]["version"]
                .as_str()
                .unwrap()
                .trim_start_matches("W/")
                .trim_matches('"')
        )
    };
    let put = scim(
        &app,
        &token,
        "PUT",
        &format!("/Groups/{id}"),
        Some(json!({ "displayName": "Sales", "members": [{ "value": b }] })),
        &[("if-match", &etag_of(&group))],
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(member_ids(&json_of(put).await), [b.as_str()]);
    let stale = scim(
        &app,
        &token,
        "PUT",
        &format!("/Groups/{id}"),
        Some(json!({ "displayName": "Sales" })),
        &[("if-match", &etag_of(&group))],
    )
    .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let before = app.audit_events().await.len();
    let res = scim(&app, &token, "PATCH", &format!("/Groups/{id}"), Some(json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": stranger }] }] })), &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(res).await["scimType"], "invalidValue");
    assert_eq!(app.audit_events().await.len(), before, "nothing written");
    // Another source does not see the group at all.
    assert_eq!(
        scim(&app, &other, "GET", &format!("/Groups/{id}"), None, &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let dupe = scim(
        &app,
        &token,
        "POST",
        "/Groups",
        Some(json!({ "displayName": "SALES" })),
        &[],
    )
    .await;
    assert_eq!(dupe.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(dupe).await["scimType"], "uniqueness");
    let found = json_of(
        scim(
            &app,
            &token,
            "GET",
            "/Groups?filter=displayName+eq+%22sales%22+and+externalId+eq+%22none%22",
            None,
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(found["totalResults"], 0);
    let found = json_of(
        scim(
            &app,
            &token,
            "GET",
            "/Groups?filter=displayName+eq+%22sales%22",
            None,
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let bad = scim(
        &app,
        &token,
        "GET",
        "/Groups?filter=displayName+co+%22s%22",
        None,
        &[],
    )
    .await;
    assert_eq!(json_of(bad).await["scimType"], "invalidFilter");
}
