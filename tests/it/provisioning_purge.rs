//! Provisioning out (issue 15): a purged person's account is deleted in the application.
use crate::apps::register;
use crate::common::*;
use crate::provisioning_out::{active, configure, remote, spawn, tenant, until};
use gatehouse::server::db::now_ms;
use gatehouse::server::service::people;

#[tokio::test]
async fn a_purged_person_loses_the_account_gatehouse_made_for_them() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Tracker", "tracker:read").await;
    let base = tenant();
    configure(&app, &app_id, &base, &[]).await;
    let user = app.create_user("leaver@example.com", "Leaver", &[]).await;
    let (id, guid) = (user["id"].as_str().unwrap(), user["guid"].as_str().unwrap());
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "leaver@example.com")]),
    )
    .await;
    until(&base, guid, "the account", |u| active(u) == Some(true)).await;
    app.call_ok(
        "users/status",
        &form(&[("id", id), ("status", "deprovisioned"), ("version", "1")]),
    )
    .await;
    until(&base, guid, "the account deactivated", |u| {
        active(u) == Some(false)
    })
    .await;
    assert!(
        remote(&base, guid).await.is_some(),
        "deactivated, not deleted"
    );
    let after_window = now_ms() + app.state.db.restore_window_ms + 1_000;
    assert_eq!(
        people::purge_expired(&app.state.db, after_window)
            .await
            .unwrap(),
        1
    );
    until(&base, guid, "the account deleted", Option::is_none).await;
    let target = app
        .call_ok("provisioning/get", &form(&[("id", &app_id)]))
        .await;
    assert_eq!(target["accounts"], 0, "{target}");
}
