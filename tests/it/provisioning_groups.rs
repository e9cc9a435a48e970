//! Groups out (issue 15): the groups assigned to an application with a provisioning target are
//! SCIM Groups there, against the real `scim2-server` (TEST_SCIM_SERVER), each test in its own
//! tenant; the same binary runs on SQLite and on PostgreSQL.
use crate::apps::register;
use crate::common::*;
use crate::provisioning_out::{active, configure, spawn, target_until, tenant, until, SCIM_TOKEN};
use serde_json::Value;
use std::time::Duration;

/// The Group with this externalId (a Gatehouse group id) in a tenant, if any.
async fn remote_group(base: &str, group_id: &str) -> Option<Value> {
    let res = reqwest::Client::new()
        .get(format!("{base}/Groups"))
        .query(&[("filter", format!("externalId eq \"{group_id}\""))])
        .bearer_auth(SCIM_TOKEN)
        .send()
        .await
        .expect("the SCIM server answers");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let found = body["Resources"].as_array().cloned().unwrap_or_default();
    assert!(found.len() <= 1, "one Group per group: {body}");
    found.into_iter().next()
}

/// Polls until `check` holds for the remote Group (delivery is asynchronous by design).
async fn group_until(
    base: &str,
    group_id: &str,
    what: &str,
    check: impl Fn(&Option<Value>) -> bool,
) -> Option<Value> {
    for _ in 0..200 {
        let now = remote_group(base, group_id).await;
        if check(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the target never showed {what}; last: {:?}",
        remote_group(base, group_id).await
    );
}

/// The member ids of a remote Group, sorted (an empty group has no `members` there).
fn member_ids(group: &Option<Value>) -> Vec<String> {
    let mut ids: Vec<String> = group
        .as_ref()
        .and_then(|g| g["members"].as_array())
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// A person's account id in the tenant, once it exists and is active.
async fn account_id(base: &str, guid: &str) -> String {
    let made = until(base, guid, "the member's account", |u| {
        active(u) == Some(true)
    })
    .await
    .expect("the account exists");
    made["id"].as_str().expect("the account's id").to_string()
}

/// A user: (account id, GUID).
async fn person(app: &TestApp, email: &str, name: &str) -> (String, String) {
    let u = app.create_user(email, name, &[]).await;
    (
        u["id"].as_str().unwrap().to_string(),
        u["guid"].as_str().unwrap().to_string(),
    )
}

async fn new_group(app: &TestApp, name: &str, members: &[&str]) -> String {
    let group = app
        .call_ok(
            "groups/create",
            &form(&[("input[name]", name), ("input[description]", "")]),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_string();
    for uid in members {
        app.call_ok(
            "groups/add_member",
            &form(&[("id", gid.as_str()), ("user", *uid)]),
        )
        .await;
    }
    gid
}

#[tokio::test]
async fn an_assigned_group_is_a_scim_group_that_follows_its_members_and_name_and_goes_when_unassigned(
) {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Tracker", "tracker:read").await;
    let base = tenant();
    configure(&app, &app_id, &base, &[]).await;
    let (ada, ada_guid) = person(&app, "ada@example.com", "Ada Lovelace").await;
    let (alan, alan_guid) = person(&app, "alan@example.com", "Alan Turing").await;
    let gid = new_group(&app, "Analysts", &[ada.as_str(), alan.as_str()]).await;
    assert!(
        remote_group(&base, &gid).await.is_none(),
        "not assigned to the application: no Group"
    );

    app.call_ok(
        "apps/assign_group",
        &form(&[("id", &app_id), ("group", &gid)]),
    )
    .await;
    let ada_there = account_id(&base, &ada_guid).await;
    let alan_there = account_id(&base, &alan_guid).await;
    let made = group_until(&base, &gid, "the Group with both members", |g| {
        member_ids(g).len() == 2
    })
    .await;
    let mut both = vec![ada_there.clone(), alan_there.clone()];
    both.sort();
    assert_eq!(
        member_ids(&made),
        both,
        "its members are the accounts there"
    );
    let made = made.unwrap();
    assert_eq!(made["displayName"], "Analysts");
    assert_eq!(made["externalId"], gid.as_str());
    let state = target_until(&app, &app_id, "the Group counted", |t| {
        t["groups"] == 1 && t["pending"] == 0
    })
    .await;
    assert_eq!(state["accounts"], 2, "{state}");

    app.call_ok(
        "groups/remove_member",
        &form(&[("id", &gid), ("user_id", &alan)]),
    )
    .await;
    let fewer = group_until(&base, &gid, "the Group without the member who left", |g| {
        member_ids(g).len() == 1
    })
    .await;
    assert_eq!(member_ids(&fewer), vec![ada_there.clone()]);
    until(&base, &alan_guid, "the leaver's account deactivated", |u| {
        active(u) == Some(false)
    })
    .await;

    let now = app.call_ok("groups/get", &form(&[("id", &gid)])).await;
    let version = now["version"].as_i64().unwrap().to_string();
    app.call_ok(
        "groups/update",
        &form(&[
            ("id", &gid),
            ("version", &version),
            ("input[name]", "Data Analysts"),
            ("input[description]", ""),
        ]),
    )
    .await;
    let renamed = group_until(&base, &gid, "the new name", |g| {
        g.as_ref()
            .is_some_and(|g| g["displayName"] == "Data Analysts")
    })
    .await;
    assert_eq!(
        member_ids(&renamed),
        vec![ada_there.clone()],
        "renaming keeps the members"
    );

    app.call_ok(
        "apps/unassign_group",
        &form(&[("id", &app_id), ("group_id", &gid)]),
    )
    .await;
    group_until(&base, &gid, "the Group deleted on unassignment", |g| {
        g.is_none()
    })
    .await;
    until(
        &base,
        &ada_guid,
        "the account deactivated, not deleted",
        |u| active(u) == Some(false),
    )
    .await;
    target_until(&app, &app_id, "no Group counted", |t| {
        t["groups"] == 0 && t["pending"] == 0
    })
    .await;
}

#[tokio::test]
async fn a_new_target_gets_the_groups_already_assigned_a_later_member_joins_and_a_deleted_group_goes(
) {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Forum", "forum:read").await;
    let base = tenant();
    let (edsger, edsger_guid) = person(&app, "edsger@example.com", "Edsger Dijkstra").await;
    let gid = new_group(&app, "Moderators", &[edsger.as_str()]).await;
    app.call_ok(
        "apps/assign_group",
        &form(&[("id", &app_id), ("group", &gid)]),
    )
    .await;
    // Configured after the assignment: a new target starts with the groups already assigned.
    configure(&app, &app_id, &base, &[]).await;
    let edsger_there = account_id(&base, &edsger_guid).await;
    let made = group_until(&base, &gid, "the Group with its member", |g| {
        !member_ids(g).is_empty()
    })
    .await;
    assert_eq!(member_ids(&made), vec![edsger_there.clone()]);
    assert_eq!(made.unwrap()["displayName"], "Moderators");

    // A member whose account does not exist yet: it is made first, then listed.
    let (barbara, barbara_guid) = person(&app, "barbara@example.com", "Barbara Liskov").await;
    app.call_ok(
        "groups/add_member",
        &form(&[("id", &gid), ("user", &barbara)]),
    )
    .await;
    let barbara_there = account_id(&base, &barbara_guid).await;
    let grown = group_until(&base, &gid, "the Group with the new member", |g| {
        member_ids(g).len() == 2
    })
    .await;
    let mut both = vec![edsger_there, barbara_there];
    both.sort();
    assert_eq!(member_ids(&grown), both);

    let deleted = app
        .call(&app.client, "groups/delete", &form(&[("id", &gid)]))
        .await;
    assert!(
        deleted.status().is_success() || deleted.status().is_redirection(),
        "{}",
        deleted.status()
    );
    group_until(&base, &gid, "the Group deleted with the group", |g| {
        g.is_none()
    })
    .await;
    until(
        &base,
        &barbara_guid,
        "the member's account deactivated",
        |u| active(u) == Some(false),
    )
    .await;
    target_until(&app, &app_id, "no Group counted", |t| {
        t["groups"] == 0 && t["pending"] == 0
    })
    .await;
}
