//! Provisioning out (issue 15) against a real SCIM service provider: the `scim2-server` of PyPI
//! that scripts/test.sh starts once (TEST_SCIM_SERVER), each test in its own tenant. Failures
//! are injected by a proxy in front of it (500s, 409s, answers too slow), never by a fake peer.
use crate::apps::register;
use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as AxStatus, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SCIM_TOKEN: &str = "gatehouse-test-scim";
const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(crate) fn scim_server() -> String {
    std::env::var("TEST_SCIM_SERVER").unwrap_or_else(|_| "http://127.0.0.1:4180".into())
}

/// A tenant of the SCIM server no other test uses.
pub(crate) fn tenant() -> String {
    format!("{}/t{}", scim_server(), uuid::Uuid::new_v4().simple())
}

pub(crate) async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
        env.insert("GATEHOUSE_OUTBOX_POLL_MS", "50".into());
        env.insert("GATEHOUSE_OUTBOX_TIMEOUT_SECS", "1".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app.create_user(crate::apps::OWNER, "Olivia Owner", &[])
        .await;
    app
}

pub(crate) async fn configure(
    app: &TestApp,
    app_id: &str,
    base: &str,
    extra: &[(&str, &str)],
) -> Value {
    let mut pairs = vec![
        ("id", app_id),
        ("version", "0"),
        ("input[base_url]", base),
        ("input[credential]", SCIM_TOKEN),
        ("input[attributes][0]", "name"),
        ("input[attributes][1]", "displayName"),
        ("input[attributes][2]", "emails"),
    ];
    pairs.extend_from_slice(extra);
    app.call_ok("provisioning/save", &form(&pairs)).await
}

/// The account with this externalId in a tenant, if any.
pub(crate) async fn remote(base: &str, guid: &str) -> Option<Value> {
    let res = reqwest::Client::new()
        .get(format!("{base}/Users"))
        .query(&[("filter", format!("externalId eq \"{guid}\""))])
        .bearer_auth(SCIM_TOKEN)
        .send()
        .await
        .expect("the SCIM server answers");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["Resources"]
        .as_array()
        .and_then(|r| r.first())
        .cloned()
}

/// Polls until `check` holds for the remote account (delivery is asynchronous by design).
pub(crate) async fn until(
    base: &str,
    guid: &str,
    what: &str,
    check: impl Fn(&Option<Value>) -> bool,
) -> Option<Value> {
    for _ in 0..200 {
        let now = remote(base, guid).await;
        if check(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the target never showed {what}; last: {:?}",
        remote(base, guid).await
    );
}

pub(crate) async fn target_until(
    app: &TestApp,
    app_id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let t = app
            .call_ok("provisioning/get", &form(&[("id", app_id)]))
            .await;
        if check(&t) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the target's state never showed {what}");
}

pub(crate) fn active(v: &Option<Value>) -> Option<bool> {
    v.as_ref().and_then(|u| u["active"].as_bool())
}

#[tokio::test]
async fn an_assigned_person_gets_an_account_that_follows_their_profile_status_and_assignment() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Wiki", "wiki:read").await;
    let base = tenant();
    let target = configure(&app, &app_id, &base, &[]).await;
    assert_eq!(target["status"], "active");
    assert!(
        !target.to_string().contains(SCIM_TOKEN),
        "the token never comes back: {target}"
    );
    let user = app
        .create_user(
            "ada@example.com",
            "Ada Lovelace",
            &[
                ("input[given_name]", "Ada"),
                ("input[family_name]", "Lovelace"),
            ],
        )
        .await;
    let (uid, guid) = (user["id"].as_str().unwrap(), user["guid"].as_str().unwrap());
    assert!(
        remote(&base, guid).await.is_none(),
        "not assigned: no account"
    );

    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "ada@example.com")]),
    )
    .await;
    let made = until(&base, guid, "the new account", |u| active(u) == Some(true))
        .await
        .unwrap();
    assert_eq!(made["userName"], "ada@example.com");
    assert_eq!(made["displayName"], "Ada Lovelace");
    assert_eq!(made["name"]["givenName"], "Ada");
    assert_eq!(made["emails"][0]["value"], "ada@example.com");

    let edit = form(&[
        ("id", uid),
        ("version", "1"),
        ("input[email]", "ada@example.com"),
        ("input[display_name]", "Ada King"),
        ("input[source]", "hr-emea"),
    ]);
    app.call_ok("users/update", &edit).await;
    until(&base, guid, "the new name", |u| {
        u.as_ref().is_some_and(|u| u["displayName"] == "Ada King")
    })
    .await;

    let status =
        |to: &str, version: &str| form(&[("id", uid), ("status", to), ("version", version)]);
    app.call_ok("users/status", &status("suspended", "2")).await;
    until(&base, guid, "the account deactivated", |u| {
        active(u) == Some(false)
    })
    .await;
    app.call_ok("users/status", &status("active", "3")).await;
    until(&base, guid, "the account active again", |u| {
        active(u) == Some(true)
    })
    .await;

    let accounts = app
        .call_ok("provisioning/of_person", &form(&[("guid", guid)]))
        .await;
    assert_eq!(accounts[0]["application_id"], app_id.as_str(), "{accounts}");
    assert_eq!(accounts[0]["state"], "active");

    app.call_ok("apps/unassign", &form(&[("id", &app_id), ("guid", guid)]))
        .await;
    let gone = until(
        &base,
        guid,
        "the account deactivated on unassignment",
        |u| active(u) == Some(false),
    )
    .await;
    assert_eq!(
        gone.unwrap()["userName"],
        "ada@example.com",
        "deactivated, not deleted"
    );
    let state = target_until(&app, &app_id, "everything delivered", |t| t["pending"] == 0).await;
    assert_eq!(
        (
            state["accounts"].as_i64(),
            state["active_accounts"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert!(state["last_success_at"].as_i64().unwrap() > 0);
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a == "application.provisioning.update"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_group_assignment_provisions_its_members_and_an_account_deleted_behind_our_back_comes_back(
) {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Chat", "chat:read").await;
    let base = tenant();
    let user = app
        .create_user("grace@example.com", "Grace Hopper", &[])
        .await;
    let (uid, guid) = (
        user["id"].as_str().unwrap(),
        user["guid"].as_str().unwrap().to_string(),
    );
    let group = app
        .call_ok(
            "groups/create",
            &form(&[("input[name]", "Navy"), ("input[description]", "")]),
        )
        .await;
    let gid = group["id"].as_str().unwrap();
    app.call_ok("groups/add_member", &form(&[("id", gid), ("user", uid)]))
        .await;
    app.call_ok(
        "apps/assign_group",
        &form(&[("id", &app_id), ("group", gid)]),
    )
    .await;
    // Configured after the assignment: a new target starts with everyone already assigned.
    configure(&app, &app_id, &base, &[]).await;
    let made = until(&base, &guid, "the member's account", |u| {
        active(u) == Some(true)
    })
    .await
    .unwrap();

    let id = made["id"].as_str().unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!("{base}/Users/{id}"))
        .bearer_auth(SCIM_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let edit = form(&[
        ("id", uid),
        ("version", "1"),
        ("input[email]", "grace@example.com"),
        ("input[display_name]", "Grace B. Hopper"),
        ("input[source]", "hr-emea"),
    ]);
    app.call_ok("users/update", &edit).await;
    until(&base, &guid, "the account made again", |u| {
        u.as_ref()
            .is_some_and(|u| u["displayName"] == "Grace B. Hopper" && u["active"] == true)
    })
    .await;

    app.call_ok(
        "groups/remove_member",
        &form(&[("id", gid), ("user_id", uid)]),
    )
    .await;
    until(
        &base,
        &guid,
        "the account deactivated when they left the group",
        |u| active(u) == Some(false),
    )
    .await;
}

#[tokio::test]
async fn a_target_is_refused_with_a_reason_per_field_and_nothing_is_stored() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Ledger", "ledger:read").await;
    let bad = form(&[
        ("id", &app_id),
        ("version", "0"),
        ("input[base_url]", "http://scim.example.com/v2"),
        ("input[attributes][0]", "password"),
        ("input[max_attempts]", "0"),
        ("input[status]", "sometimes"),
        ("input[preferred_source]", "nowhere"),
    ]);
    let res = app.call(&app.client, "provisioning/save", &bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = res.text().await.unwrap();
    for expected in [
        "https",
        "bearer token is required",
        "password",
        "1 to 50",
        "active or paused",
        "nowhere",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let none = app
        .call_ok("provisioning/get", &form(&[("id", &app_id)]))
        .await;
    assert!(none.is_null(), "nothing stored: {none}");

    let keyless = TestApp::spawn().await;
    keyless.sign_in(ADMIN).await;
    keyless
        .create_user(crate::apps::OWNER, "Olivia Owner", &[])
        .await;
    let (other, _) = register(&keyless, "Ledger", "ledger:read").await;
    let res = keyless
        .call(
            &keyless.client,
            "provisioning/save",
            &form(&[
                ("id", &other),
                ("version", "0"),
                ("input[base_url]", "https://scim.example.com/v2"),
                ("input[credential]", "t0ken"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("GATEHOUSE_SECRETS_KEY"));
}

#[tokio::test]
async fn the_credential_is_stored_encrypted_and_kept_when_left_empty() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Vault", "vault:read").await;
    let base = tenant();
    let first = configure(&app, &app_id, &base, &[]).await;
    assert_eq!(first["credential_hint"], "…scim");
    let stored: String = sqlx::query_scalar("SELECT credential_sealed FROM provisioning_targets")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1.") && !stored.contains(SCIM_TOKEN),
        "{stored}"
    );
    let version = first["version"].as_i64().unwrap().to_string();
    let changed = app
        .call_ok(
            "provisioning/save",
            &form(&[
                ("id", &app_id),
                ("version", &version),
                ("input[base_url]", &base),
                ("input[status]", "paused"),
            ]),
        )
        .await;
    assert_eq!(changed["status"], "paused");
    assert_eq!(
        changed["credential_hint"], "…scim",
        "an empty token keeps the stored one"
    );
    let still: String = sqlx::query_scalar("SELECT credential_sealed FROM provisioning_targets")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(still, stored);
    let stale = app
        .call(
            &app.client,
            "provisioning/save",
            &form(&[
                ("id", &app_id),
                ("version", &version),
                ("input[base_url]", &base),
            ]),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
}

/// What the proxy does with the next requests; then it forwards.
#[derive(Clone, Copy, Debug)]
enum Fault {
    ServerError,
    Conflict,
    TooSlow,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    /// Every request seen: method and path.
    seen: Arc<Mutex<Vec<String>>>,
}

async fn relay(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    p.seen
        .lock()
        .unwrap()
        .push(format!("{method} {}", uri.path()));
    let fault = p.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::ServerError) => {
            return (AxStatus::INTERNAL_SERVER_ERROR, "upstream database is down").into_response()
        }
        Some(Fault::Conflict) => {
            return (
                AxStatus::CONFLICT,
                axum::Json(serde_json::json!({"detail": "busy", "status": "409"})),
            )
                .into_response()
        }
        Some(Fault::TooSlow) => tokio::time::sleep(Duration::from_secs(3)).await,
        None => {}
    }
    let mut request = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            format!("{}{path}", p.upstream),
        )
        .body(body.to_vec());
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v.as_bytes());
        }
    }
    let answer = request.send().await.expect("the SCIM server answers");
    let status = AxStatus::from_u16(answer.status().as_u16()).unwrap();
    (status, answer.bytes().await.unwrap_or_default()).into_response()
}

async fn proxy(upstream: &str) -> (String, Proxy) {
    let p = Proxy {
        upstream: upstream.to_string(),
        faults: Arc::default(),
        seen: Arc::default(),
    };
    let router = axum::Router::new().fallback(relay).with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, p)
}

#[tokio::test]
async fn failures_are_retried_in_order_then_dead_lettered_and_retried_by_hand() {
    let app = spawn().await;
    let (app_id, _) = register(&app, "Payroll", "payroll:read").await;
    let base = tenant();
    let (url, proxy) = proxy(&base).await;
    configure(&app, &app_id, &url, &[("input[max_attempts]", "3")]).await;
    let first = app.create_user("first@example.com", "First", &[]).await;
    let second = app.create_user("second@example.com", "Second", &[]).await;
    let (g1, g2) = (
        first["guid"].as_str().unwrap(),
        second["guid"].as_str().unwrap(),
    );

    // Three kinds of failure for the first person, then success; the second waits its turn.
    proxy
        .faults
        .lock()
        .unwrap()
        .extend([Fault::ServerError, Fault::TooSlow]);
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "first@example.com")]),
    )
    .await;
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "second@example.com")]),
    )
    .await;
    let waiting = target_until(&app, &app_id, "a failure", |t| {
        t["failures"].as_array().is_some_and(|f| !f.is_empty())
    })
    .await;
    assert_eq!(waiting["failures"][0]["guid"], g1);
    let error = waiting["failures"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("answered 500") || error.contains("no answer in time"),
        "{waiting}"
    );
    assert!(
        remote(&base, g2).await.is_none(),
        "the second person waits behind the first"
    );
    // Time is driven: the retries fall due without waiting for the backoff.
    for _ in 0..2 {
        app.state.clock.advance(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    until(&base, g1, "the first account after the retries", |u| {
        active(u) == Some(true)
    })
    .await;
    until(&base, g2, "the second account", |u| active(u) == Some(true)).await;
    let seen = proxy.seen.lock().unwrap().clone();
    let posts: Vec<&String> = seen.iter().filter(|s| s.starts_with("POST")).collect();
    assert!(
        posts.len() >= 4,
        "three attempts for the first, one for the second: {seen:?}"
    );

    // Dead-lettered after three failed attempts; retry now delivers it.
    let third = app.create_user("third@example.com", "Third", &[]).await;
    let g3 = third["guid"].as_str().unwrap();
    proxy.faults.lock().unwrap().extend([
        Fault::ServerError,
        Fault::Conflict,
        Fault::ServerError,
        Fault::ServerError,
    ]);
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "third@example.com")]),
    )
    .await;
    for _ in 0..4 {
        app.state.clock.advance(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let dead = target_until(&app, &app_id, "a dead letter", |t| t["dead"] == 1).await;
    assert_eq!(dead["failures"][0]["state"], "dead");
    assert_eq!(dead["failures"][0]["attempts"], 3);
    assert!(remote(&base, g3).await.is_none());
    proxy.faults.lock().unwrap().clear();
    let retried = app
        .call_ok("provisioning/retry", &form(&[("id", &app_id)]))
        .await;
    assert_eq!(retried["dead"], 0);
    until(
        &base,
        g3,
        "the dead letter delivered after retry now",
        |u| active(u) == Some(true),
    )
    .await;

    // Replay: every message from the first on is sent again; the accounts stay as they are.
    let before = proxy.seen.lock().unwrap().len();
    app.call_ok(
        "provisioning/replay",
        &form(&[("id", &app_id), ("seq", "1")]),
    )
    .await;
    target_until(&app, &app_id, "the replay delivered", |t| t["pending"] == 0).await;
    assert!(
        proxy.seen.lock().unwrap().len() > before,
        "the replay sent requests"
    );
    assert_eq!(active(&remote(&base, g1).await), Some(true));
}

#[tokio::test]
async fn two_instances_deliver_each_change_once_and_a_restart_loses_nothing() {
    let database_url = fresh_database_url().await;
    let tweak = |env: &mut std::collections::HashMap<&'static str, String>| {
        env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
        env.insert("GATEHOUSE_OUTBOX_POLL_MS", "20".into());
    };
    // The first instance writes with its worker stopped, as if it died before sending.
    let writer = TestApp::spawn_on(&database_url, |env| {
        tweak(env);
        env.insert("GATEHOUSE_OUTBOX_WORKER", "off".into());
    })
    .await;
    writer.sign_in(ADMIN).await;
    writer
        .create_user(crate::apps::OWNER, "Olivia Owner", &[])
        .await;
    let (app_id, _) = register(&writer, "Crm", "crm:read").await;
    let base = tenant();
    let (url, proxy) = proxy(&base).await;
    configure(&writer, &app_id, &url, &[]).await;
    let mut guids = Vec::new();
    for i in 0..12 {
        let email = format!("p{i}@example.com");
        let u = writer
            .create_user(&email, &format!("Person {i}"), &[])
            .await;
        guids.push(u["guid"].as_str().unwrap().to_string());
        writer
            .call_ok("apps/assign", &form(&[("id", &app_id), ("person", &email)]))
            .await;
    }
    let waiting = writer
        .call_ok("provisioning/get", &form(&[("id", &app_id)]))
        .await;
    assert_eq!(
        waiting["pending"], 12,
        "nothing sent while no worker runs: {waiting}"
    );
    assert!(proxy.seen.lock().unwrap().is_empty());

    let a = TestApp::spawn_on(&database_url, tweak).await;
    let b = TestApp::spawn_on(&database_url, tweak).await;
    target_until(&writer, &app_id, "all delivered", |t| {
        t["pending"] == 0 && t["accounts"] == 12
    })
    .await;
    for g in &guids {
        assert_eq!(active(&remote(&base, g).await), Some(true), "{g}");
    }
    let posts = proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("POST"))
        .count();
    assert_eq!(posts, 12, "each account made exactly once by two instances");
    drop((a, b));
}
