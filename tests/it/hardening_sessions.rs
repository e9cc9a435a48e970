//! Issue 12, console sessions: roles follow the identity provider (re-checked while in use and
//! before sensitive acts), a changed role map applies to existing sessions, and administrators
//! see and end console sessions.
use crate::common::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Creates (or changes) an account at the dev provider through its test hook.
async fn idp_account(email: &str, groups: &[&str], disabled: bool) {
    let res = Client::new()
        .post(format!("{}/__test/account", idp_issuer()))
        .json(&json!({ "email": email, "groups": groups, "disabled": disabled }))
        .send()
        .await
        .expect("provider hook");
    assert!(
        res.status().is_success(),
        "the dev provider must run with IDP_TEST_HOOKS=1: {}",
        res.status()
    );
}

/// A staff member of this test only, so tests changing groups never disturb each other.
async fn staff(groups: &[&str]) -> String {
    let email = format!("staff-{}@example.com", uuid::Uuid::new_v4().simple());
    idp_account(&email, groups, false).await;
    email
}

async fn me(app: &TestApp, client: &Client) -> Value {
    let res = app.call(client, "me", "").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn ended_events(events: &[gatehouse::model::audit::AuditEvent], reason: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            e.action == "auth.session_ended"
                && serde_json::from_str::<Value>(&e.details).unwrap()["reason"] == reason
        })
        .count()
}

#[tokio::test]
async fn removing_a_person_from_their_group_ends_the_session_at_the_next_check() {
    let app = TestApp::spawn().await;
    let email = staff(&["console-admins"]).await;
    let client = browser();
    app.sign_in_with(&client, &email).await;
    assert_eq!(
        app.call(&client, "users/list", "query[q]=").await.status(),
        StatusCode::OK
    );
    idp_account(&email, &[], false).await;
    // Within the re-check interval the session carries on...
    assert_eq!(
        app.call(&client, "users/list", "query[q]=").await.status(),
        StatusCode::OK
    );
    // ...and once it has passed, the provider is asked and the session ends.
    app.state.clock.advance(Duration::from_secs(301));
    assert_eq!(
        app.call(&client, "users/list", "query[q]=").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(me(&app, &client).await.is_null(), "signed out");
    assert_eq!(ended_events(&app.audit_events().await, "role_removed"), 1);
}

#[tokio::test]
async fn a_person_disabled_at_the_provider_is_signed_out() {
    let app = TestApp::spawn().await;
    let email = staff(&["helpdesk"]).await;
    let client = browser();
    app.sign_in_with(&client, &email).await;
    idp_account(&email, &["helpdesk"], true).await;
    app.state.clock.advance(Duration::from_secs(301));
    assert_eq!(
        app.call(&client, "support/recent", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ended_events(&app.audit_events().await, "refused_by_provider"),
        1
    );
}

#[tokio::test]
async fn sensitive_acts_confirm_the_role_at_once() {
    let app = TestApp::spawn().await;
    let email = staff(&["console-admins"]).await;
    let client = browser();
    app.sign_in_with(&client, &email).await;
    // Moved to the help desk a moment ago: no waiting for the next periodic check.
    idp_account(&email, &["helpdesk"], false).await;
    let res = app
        .call(
            &client,
            "apps/create",
            &form(&[
                ("input[name]", "Sneaky"),
                ("input[owner]", &email),
                ("input[kind]", "web"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&app, &client).await["role"], "support");
}

/// Every sensitive act asks the provider before it runs: an administrator removed from their group
/// a moment ago is signed out by the act itself, not at the next periodic check.
#[tokio::test]
async fn every_sensitive_act_confirms_the_role_at_once() {
    let app = TestApp::spawn().await;
    let zeros = "0".repeat(64);
    let acts: Vec<(&str, String)> = vec![
        (
            "apps/create",
            form(&[("input[name]", "Sneaky"), ("input[kind]", "web")]),
        ),
        ("apps/rotate_secret", "id=app_missing&grace=0".into()),
        (
            "keys/create",
            form(&[("input[application_id]", "app_missing")]),
        ),
        ("keys/rotate", "id=k_missing&grace=0".into()),
        ("guids/merge", "survivor=g_a&absorbed=g_b".into()),
        ("mfa/reset", form(&[("input[user_id]", "u_missing")])),
        ("audit/start_export", "format=csv".into()),
        ("sessions/end", format!("id={zeros}")),
        (
            "service-accounts/issue-token",
            form(&[("id", "sa_missing"), ("input[name]", "ci")]),
        ),
        ("tokens/rotate", "id=t_missing".into()),
        ("tokens/issue-personal", form(&[("input[name]", "mine")])),
    ];
    assert!(!acts.is_empty());
    for (act, args) in &acts {
        let email = staff(&["console-admins"]).await;
        let client = browser();
        app.sign_in_with(&client, &email).await;
        idp_account(&email, &[], false).await;
        let res = app.call(&client, act, args).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{act}");
        assert!(me(&app, &client).await.is_null(), "{act}: signed out");
    }
    for path in ["/users/export.csv", "/audit/export.csv"] {
        let email = staff(&["console-admins"]).await;
        let client = browser();
        app.sign_in_with(&client, &email).await;
        idp_account(&email, &[], false).await;
        let res = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), StatusCode::OK, "{path}");
        assert!(me(&app, &client).await.is_null(), "{path}: signed out");
    }
    let ended = ended_events(&app.audit_events().await, "role_removed");
    assert_eq!(ended, acts.len() + 2);
}

#[tokio::test]
async fn a_changed_role_map_applies_to_existing_sessions() {
    let database = fresh_database_url().await;
    let first = TestApp::spawn_on(&database, |_| {}).await;
    let email = staff(&["console-admins"]).await;
    let client = browser();
    first.sign_in_with(&client, &email).await;
    assert_eq!(me(&first, &client).await["role"], "admin");
    // The same database, restarted with admins demoted to auditors. Cookies are not scoped
    // by port, so this browser presents the same session to the new instance.
    let restarted = TestApp::spawn_on(&database, |env| {
        env.insert(
            "GATEHOUSE_ROLE_MAP",
            "console-admins=auditor,helpdesk=support".into(),
        );
    })
    .await;
    assert_eq!(me(&restarted, &client).await["role"], "auditor");
    assert_eq!(
        restarted
            .call(&client, "keys/revoke", "id=k_x")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Dropped from the map entirely: no role, no session.
    let dropped = TestApp::spawn_on(&database, |env| {
        env.insert("GATEHOUSE_ROLE_MAP", "helpdesk=support".into());
    })
    .await;
    assert!(me(&dropped, &client).await.is_null());
}

#[tokio::test]
async fn admins_see_console_sessions_and_end_one() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let agent = browser();
    app.sign_in_with(&agent, SUPPORT).await;
    let list = app.call_ok("sessions/list", "").await;
    let list = list.as_array().expect("a list").clone();
    assert!(!list.is_empty());
    let mine = list
        .iter()
        .find(|s| s["email"] == ADMIN)
        .expect("own session listed");
    assert_eq!(mine["current"], true);
    let theirs = list
        .iter()
        .find(|s| s["email"] == SUPPORT)
        .expect("the agent's session listed");
    assert_eq!(theirs["current"], false);
    assert_eq!(theirs["client_ip"], "127.0.0.1");
    assert_eq!(theirs["user_agent"], "gatehouse-tests");
    let id = theirs["id"].as_str().unwrap();
    assert_eq!(id.len(), 64, "named by a hash, never by the session id");
    app.call_ok("sessions/end", &format!("id={id}")).await;
    assert_eq!(
        app.call(&agent, "support/recent", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let events = app.audit_events().await;
    let ended: Vec<_> = events
        .iter()
        .filter(|e| e.action == "auth.session_ended")
        .collect();
    assert_eq!(ended.len(), 1);
    let details: Value = serde_json::from_str(&ended[0].details).unwrap();
    assert_eq!(details["reason"], "ended_by_admin");
    assert_eq!(details["session_of"], SUPPORT);
    assert_eq!(ended[0].actor_email.as_deref(), Some(ADMIN));
    // Gone from the list; ending it again is a conflict; garbage is a 400.
    let list = app.call_ok("sessions/list", "").await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["email"] != SUPPORT));
    assert_eq!(
        app.call(&app.client, "sessions/end", &format!("id={id}"))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.call(&app.client, "sessions/end", "id=nope")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Support cannot see or end sessions.
    let again = browser();
    app.sign_in_with(&again, SUPPORT).await;
    assert_eq!(
        app.call(&again, "sessions/list", "").await.status(),
        StatusCode::FORBIDDEN
    );
}
