//! Reconciliation of a provisioning target (issue 15) against the real `scim2-server`
//! (TEST_SCIM_SERVER), on the engine GATEHOUSE_TEST_DB names: drift is made behind Gatehouse's
//! back by calling the SCIM server directly, then found, fixed row by row and all at once,
//! by hand and on schedule.
use crate::api_v1::{api, service_token};
use crate::apps::register;
use crate::common::*;
use crate::provisioning_out::{
    active, configure, remote, spawn, target_until, tenant, until, SCIM_TOKEN,
};
use gatehouse::server::service::reconcile::{self, Reconciler};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM request made straight to the application, as its own administrator would.
async fn behind_our_back(method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), &url)
        .bearer_auth(SCIM_TOKEN);
    if let Some(body) = body {
        req = req
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    let res = req.send().await.expect("the SCIM server answers");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn patch(base: &str, id: &str, path: &str, value: Value) {
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]});
    behind_our_back(
        reqwest::Method::PATCH,
        format!("{base}/Users/{id}"),
        Some(body),
    )
    .await;
}

async fn create_there(base: &str, user: Value) -> Value {
    behind_our_back(reqwest::Method::POST, format!("{base}/Users"), Some(user)).await
}

fn row<'a>(report: &'a Value, guid: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["guid"] == guid))
        .unwrap_or_else(|| panic!("no drift row for {guid}: {report}"))
}

fn remote_id(account: &Option<Value>) -> String {
    account.as_ref().expect("an account there")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An assigned person with an active account there.
async fn provisioned(app: &TestApp, app_id: &str, base: &str, email: &str, name: &str) -> Value {
    let user = app.create_user(email, name, &[]).await;
    app.call_ok("apps/assign", &form(&[("id", app_id), ("person", email)]))
        .await;
    let guid = user["guid"].as_str().unwrap();
    until(base, guid, "the account made", |u| active(u) == Some(true)).await;
    user
}

#[tokio::test]
async fn reconciliation_finds_and_fixes_drift_made_behind_gatehouses_back() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Wiki", "wiki:read").await;
    let base = tenant();
    configure(&app, &app_id, &base, &[]).await;
    let ada = provisioned(&app, &app_id, &base, "ada@example.com", "Ada Lovelace").await;
    let bea = provisioned(&app, &app_id, &base, "bea@example.com", "Bea Jones").await;
    let cy = provisioned(&app, &app_id, &base, "cy@example.com", "Cy Young").await;
    let dee = app
        .create_user("dee@example.com", "Dee Unassigned", &[])
        .await;
    let guid = |u: &Value| u["guid"].as_str().unwrap().to_string();
    let (g_ada, g_bea, g_cy, g_dee) = (guid(&ada), guid(&bea), guid(&cy), guid(&dee));
    let cy_status = form(&[
        ("id", cy["id"].as_str().unwrap()),
        ("status", "suspended"),
        ("version", "1"),
    ]);
    app.call_ok("users/status", &cy_status).await;
    until(
        &base,
        &g_cy,
        "the suspended person's account deactivated",
        |u| active(u) == Some(false),
    )
    .await;
    // The worker is idle: nothing it still sends can repair the drift made below.
    target_until(&app, &app_id, "everything delivered", |t| t["pending"] == 0).await;

    let ada_id = remote_id(&remote(&base, &g_ada).await);
    behind_our_back(
        reqwest::Method::DELETE,
        format!("{base}/Users/{ada_id}"),
        None,
    )
    .await;
    patch(
        &base,
        &remote_id(&remote(&base, &g_bea).await),
        "displayName",
        json!("Bea Renamed There"),
    )
    .await;
    patch(
        &base,
        &remote_id(&remote(&base, &g_cy).await),
        "active",
        json!(true),
    )
    .await;
    let g_stranger = format!("g_{}", uuid::Uuid::new_v4().simple());
    let stranger = create_there(
        &base,
        json!({"schemas": [USER_SCHEMA], "userName": "stranger@example.com", "externalId": g_stranger, "active": true}),
    )
    .await;
    create_there(
        &base,
        json!({"schemas": [USER_SCHEMA], "userName": "dee@example.com", "externalId": g_dee, "active": true}),
    )
    .await;
    create_there(
        &base,
        json!({"schemas": [USER_SCHEMA], "userName": "local-admin", "active": true}),
    )
    .await;

    let report = app
        .call_ok("provisioning/reconcile", &form(&[("id", &app_id)]))
        .await;
    let rows = report["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "drift is found: {report}");
    assert_eq!(row(&report, &g_ada)["kind"], "missing");
    let renamed = row(&report, &g_bea);
    assert_eq!(renamed["kind"], "different");
    assert!(
        renamed["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "displayName"),
        "{renamed}"
    );
    assert_eq!(row(&report, &g_cy)["kind"], "inactive_here_active_there");
    let unknown = row(&report, &g_stranger);
    assert_eq!(unknown["kind"], "extra");
    assert_eq!(unknown["known"], false);
    let unassigned = row(&report, &g_dee);
    assert_eq!(unassigned["kind"], "extra");
    assert_eq!(unassigned["known"], true);
    assert_eq!(rows.len(), 5, "nothing else drifted: {report}");
    let counts = &report["counts"];
    assert_eq!(
        (
            &counts["missing"],
            &counts["extra"],
            &counts["different"],
            &counts["inactive_here_active_there"],
            &counts["unmanaged"]
        ),
        (&json!(1), &json!(2), &json!(1), &json!(1), &json!(1)),
        "{report}"
    );
    // The page reads the same report back (what a form post without JavaScript shows).
    let stored = app
        .call_ok("provisioning/reconciliation", &form(&[("id", &app_id)]))
        .await;
    assert_eq!(stored["checked_at"], report["checked_at"]);

    // One row, then refusals that change nothing.
    let one = app
        .call_ok(
            "provisioning/fix",
            &form(&[("id", &app_id), ("guid", &g_ada)]),
        )
        .await;
    assert_eq!(row(&one, &g_ada)["state"], "fixed");
    assert_eq!(row(&one, &g_bea)["state"], "open");
    assert_eq!(active(&remote(&base, &g_ada).await), Some(true));
    let again = app
        .call(
            &app.client,
            "provisioning/fix",
            &form(&[("id", &app_id), ("guid", &g_ada)]),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let nobody = app
        .call(
            &app.client,
            "provisioning/fix",
            &form(&[("id", &app_id), ("guid", "g_not_in_the_report")]),
        )
        .await;
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);

    let all = app
        .call_ok("provisioning/fix_all", &form(&[("id", &app_id)]))
        .await;
    assert!(
        all["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "fixed"),
        "{all}"
    );
    assert_eq!(
        (&all["counts"]["fixed"], &all["counts"]["failed"]),
        (&json!(5), &json!(0))
    );
    let bea_there = remote(&base, &g_bea).await.unwrap();
    assert_eq!(bea_there["displayName"], "Bea Jones");
    assert_eq!(active(&remote(&base, &g_cy).await), Some(false));
    assert_eq!(active(&remote(&base, &g_dee).await), Some(false));
    let stranger_there = remote(&base, &g_stranger).await;
    assert_eq!(
        active(&stranger_there),
        Some(false),
        "an unknown GUID is deactivated"
    );
    assert_eq!(
        stranger_there.unwrap()["id"],
        stranger["id"],
        "and never deleted"
    );

    let clean = app
        .call_ok("provisioning/reconcile", &form(&[("id", &app_id)]))
        .await;
    assert_eq!(clean["rows"], json!([]), "no drift left: {clean}");
    assert_eq!(
        clean["counts"]["unmanaged"], 1,
        "the application's own user stays"
    );
    let events = app.audit_events().await;
    let of = |action: &str| events.iter().filter(|e| e.action == action).count();
    assert_eq!(of("application.provisioning.reconcile"), 2);
    assert_eq!(of("application.provisioning.fix"), 2, "one per fix");
    let fix_all_event = events
        .iter()
        .rfind(|e| e.action == "application.provisioning.fix")
        .unwrap();
    assert!(
        fix_all_event.details.contains("\"fixed\":4"),
        "{}",
        fix_all_event.details
    );
}

#[tokio::test]
async fn a_scheduled_reconciliation_runs_when_due_on_one_instance_and_fixes_all() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Chat", "chat:read").await;
    let base = tenant();
    let target = configure(
        &app,
        &app_id,
        &base,
        &[("input[reconcile_every_hours]", "1")],
    )
    .await;
    assert_eq!(target["reconcile_every_hours"], 1);
    let first_due = target["reconcile_next_at"].as_i64().unwrap();
    assert!(first_due > 0, "{target}");
    let ada = provisioned(&app, &app_id, &base, "ada@example.com", "Ada Lovelace").await;
    let g_ada = ada["guid"].as_str().unwrap().to_string();
    target_until(&app, &app_id, "everything delivered", |t| t["pending"] == 0).await;
    let ada_id = remote_id(&remote(&base, &g_ada).await);
    behind_our_back(
        reqwest::Method::DELETE,
        format!("{base}/Users/{ada_id}"),
        None,
    )
    .await;
    let g_stranger = format!("g_{}", uuid::Uuid::new_v4().simple());
    create_there(
        &base,
        json!({"schemas": [USER_SCHEMA], "userName": "stranger@example.com", "externalId": g_stranger, "active": true}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        reconcile::last_report(&app.state.db, &app_id)
            .await
            .unwrap()
            .is_none(),
        "not due yet: no check"
    );

    // Time is driven, never slept through. The console session would expire meanwhile, so
    // what follows reads the database and the SCIM server directly.
    app.state.clock.advance(Duration::from_secs(2 * 3600));
    // A second instance (same database and clock) races the app's own loop for the due check:
    // the compare-and-set lets exactly one of them run it.
    let other = Reconciler::new(
        app.state.db.clone(),
        app.state.clock.clone(),
        app.state.config.outbox.clone(),
    );
    let ran_here = other.run_due().await.unwrap();
    assert!(ran_here <= 1, "{ran_here}");
    let mut report = None;
    for _ in 0..200 {
        report = reconcile::last_report(&app.state.db, &app_id)
            .await
            .unwrap()
            .filter(|r| r.fixed_at > 0);
        if report.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = report.expect("the scheduled check ran and fixed");
    assert!(!report.rows.is_empty(), "drift found on schedule");
    assert_eq!(report.checked_by, "system");
    let kind_of = |g: &str| {
        report
            .rows
            .iter()
            .find(|r| r.guid == g)
            .map(|r| (r.kind.clone(), r.state.clone()))
    };
    assert_eq!(kind_of(&g_ada), Some(("missing".into(), "fixed".into())));
    assert_eq!(kind_of(&g_stranger), Some(("extra".into(), "fixed".into())));
    assert_eq!(active(&remote(&base, &g_ada).await), Some(true));
    assert_eq!(active(&remote(&base, &g_stranger).await), Some(false));

    let events = app.audit_events().await;
    let checks = events
        .iter()
        .filter(|e| e.action == "application.provisioning.reconcile")
        .count();
    assert_eq!(checks, 1, "one instance ran the due check");
    for action in [
        "application.provisioning.reconcile",
        "application.provisioning.fix",
    ] {
        let e = events
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert_eq!(e.actor_email.as_deref(), Some("system"), "{action}");
    }
    // Claimed: the next run is an hour on, and another instance finds nothing due now.
    let view = gatehouse::server::db::provisioning::view_of_app(&app.state.db.pool, &app_id)
        .await
        .unwrap()
        .unwrap();
    assert!(view.reconcile_next_at > first_due, "{view:?}");
    assert_eq!(
        other.run_due().await.unwrap(),
        0,
        "not due again for an hour"
    );
}

#[tokio::test]
async fn an_unreachable_target_is_a_recorded_502_and_bad_input_changes_nothing() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Ledger", "ledger:read").await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = app
        .call(
            &app.client,
            "provisioning/save",
            &form(&[
                ("id", &app_id),
                ("version", "0"),
                (
                    "input[base_url]",
                    &format!("http://127.0.0.1:{closed}/scim"),
                ),
                ("input[credential]", SCIM_TOKEN),
                ("input[reconcile_every_hours]", "721"),
            ]),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("0 (off) to 720"));
    let nothing = app
        .call(
            &app.client,
            "provisioning/reconcile",
            &form(&[("id", &app_id)]),
        )
        .await;
    assert_eq!(nothing.status(), StatusCode::NOT_FOUND, "no target yet");

    configure(
        &app,
        &app_id,
        &format!("http://127.0.0.1:{closed}/scim"),
        &[],
    )
    .await;
    let res = app
        .call(
            &app.client,
            "provisioning/reconcile",
            &form(&[("id", &app_id)]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let text = res.text().await.unwrap();
    assert!(text.contains("cannot reach the target"), "{text}");
    let stored = app
        .call_ok("provisioning/reconciliation", &form(&[("id", &app_id)]))
        .await;
    assert!(
        stored["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach")),
        "the failed check is recorded: {stored}"
    );
    let failed = app
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "application.provisioning.reconcile")
        .expect("audited");
    assert_eq!(failed.outcome, "failed");
    let fix = app
        .call(
            &app.client,
            "provisioning/fix_all",
            &form(&[("id", &app_id)]),
        )
        .await;
    assert_eq!(fix.status(), StatusCode::CONFLICT, "check again first");

    let writer = service_token(&app, &["apps:write", "apps:read"]).await;
    let path = format!("/api/v1/apps/{app_id}/provisioning");
    let res = api(
        &app,
        &writer,
        "POST",
        &format!("{path}/reconcile"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("#problem-bad-gateway"),
        "{problem}"
    );
    for body in [
        json!({}),
        json!({"guid": "g_1", "all": true}),
        json!({"all": false}),
    ] {
        let res = api(
            &app,
            &writer,
            "POST",
            &format!("{path}/reconciliation/fix"),
            Some(body.clone()),
            &[],
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let last = api(
        &app,
        &writer,
        "GET",
        &format!("{path}/reconciliation"),
        None,
        &[],
    )
    .await;
    assert_eq!(last.status(), StatusCode::OK);
    let last: Value = last.json().await.unwrap();
    assert!(
        last["error"].is_string() && last["rows"] == json!([]),
        "{last}"
    );
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM provisioned_accounts")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "nothing changed");
}
