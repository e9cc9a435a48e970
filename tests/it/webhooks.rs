//! Signed webhooks (issue 15): audit events delivered through the outbox to a receiver this
//! test runs, signed per Standard Webhooks. Signatures are checked here with HMAC-SHA256 as the
//! convention defines it; the browser test checks them with the convention's npm library.
use crate::api_v1::service_token;
use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Clone, Debug)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// True when one of the signatures is HMAC-SHA256 of "{id}.{timestamp}.{body}" under `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

/// A receiver that answers the queued statuses first, then 204, and keeps what it accepted.
#[derive(Clone, Default)]
struct Receiver {
    refuse: Arc<Mutex<VecDeque<u16>>>,
    accepted: Arc<Mutex<Vec<Delivery>>>,
    attempts: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> AxStatus {
    *r.attempts.lock().unwrap() += 1;
    if let Some(status) = r.refuse.lock().unwrap().pop_front() {
        return AxStatus::from_u16(status).unwrap();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    r.accepted.lock().unwrap().push(Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    AxStatus::NO_CONTENT
}

async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, r)
}

impl Receiver {
    /// Polls until at least `n` deliveries were accepted (delivery is asynchronous by design).
    async fn until(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            let got = self.accepted.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver never got {n} deliveries: {:?}",
            self.accepted.lock().unwrap()
        );
    }
}

async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
        env.insert("GATEHOUSE_OUTBOX_POLL_MS", "50".into());
        env.insert("GATEHOUSE_OUTBOX_TIMEOUT_SECS", "1".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app
}

async fn create(app: &TestApp, url: &str, events: &[&str], attempts: &str) -> Value {
    let mut pairs = vec![
        ("input[url]", url.to_string()),
        ("input[description]", "Test receiver".to_string()),
        ("input[max_attempts]", attempts.to_string()),
    ];
    for (i, e) in events.iter().enumerate() {
        pairs.push((
            ["input[events][0]", "input[events][1]", "input[events][2]"][i],
            e.to_string(),
        ));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call_ok("webhooks/create", &form(&pairs)).await
}

async fn endpoint_until(
    app: &TestApp,
    id: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let e = app.call_ok("webhooks/get", &form(&[("id", id)])).await;
        if check(&e) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the endpoint's state never showed {what}");
}

#[tokio::test]
async fn an_endpoint_hears_the_events_it_chose_in_order_signed_with_its_secret() {
    let app = spawn().await;
    let (url, receiver) = receiver().await;
    let made = create(&app, &url, &["user", "group.delete"], "").await;
    let secret = made["secret"].as_str().unwrap().to_string();
    let id = made["endpoint"]["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    assert_eq!(made["endpoint"]["events"], json!(["group.delete", "user"]));

    let first = app.create_user("first@example.com", "First", &[]).await;
    app.call_ok(
        "groups/create",
        &form(&[("input[name]", "Not heard"), ("input[description]", "")]),
    )
    .await;
    let second = app.create_user("second@example.com", "Second", &[]).await;
    let got = receiver.until(2).await;
    assert!(!got.is_empty());
    let bodies: Vec<Value> = got.iter().map(Delivery::json).collect();
    assert_eq!(bodies[0]["type"], "user.create", "{bodies:?}");
    assert_eq!(bodies[0]["data"]["target"]["id"], first["id"]);
    assert_eq!(bodies[1]["data"]["target"]["id"], second["id"], "in order");
    assert_eq!(bodies[0]["data"]["actor"]["email"], ADMIN);
    assert!(bodies[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(
        bodies.iter().all(|b| b["type"] != "group.create"),
        "a group's creation is not one of the chosen events: {bodies:?}"
    );
    for d in &got {
        assert!(d.id.starts_with("msg_"), "{d:?}");
        assert!(d.signed_with(&secret), "signature does not verify: {d:?}");
        let age = chrono::Utc::now().timestamp() - d.timestamp.parse::<i64>().unwrap();
        assert!(age.abs() < 300, "webhook-timestamp is now: {d:?}");
    }
    assert_ne!(got[0].id, got[1].id);

    // The secret is never shown again, and is stored sealed.
    let view = app.call_ok("webhooks/get", &form(&[("id", &id)])).await;
    assert!(!view.to_string().contains(&secret));
    assert_eq!(
        view["secret_hint"],
        format!("…{}", &secret[secret.len() - 4..])
    );
    let stored: String = sqlx::query_scalar("SELECT secret_sealed FROM webhook_endpoints")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1.") && !stored.contains(&secret[6..]),
        "{stored}"
    );
    let listed = app.call_ok("webhooks/list", "").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert!(!listed.to_string().contains(&secret));

    // A new secret signs the next delivery; the old one no longer verifies.
    let rotated = app.call_ok("webhooks/rotate", &form(&[("id", &id)])).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    app.create_user("third@example.com", "Third", &[]).await;
    let got = receiver.until(3).await;
    assert!(got[2].signed_with(&new_secret) && !got[2].signed_with(&secret));
}

#[tokio::test]
async fn failures_are_retried_then_dead_lettered_and_replayed_with_the_same_id() {
    let app = spawn().await;
    let (url, receiver) = receiver().await;
    let made = create(&app, &url, &["user.create"], "2").await;
    let id = made["endpoint"]["id"].as_str().unwrap().to_string();
    receiver.refuse.lock().unwrap().extend([500, 503]);
    app.create_user("late@example.com", "Late", &[]).await;
    app.create_user("later@example.com", "Later", &[]).await;
    let failing = endpoint_until(&app, &id, "a failure", |e| {
        e["failures"].as_array().is_some_and(|f| !f.is_empty())
    })
    .await;
    assert!(failing["failures"][0]["error"]
        .as_str()
        .unwrap()
        .contains("answered 500"));
    assert!(
        receiver.accepted.lock().unwrap().is_empty(),
        "the second waits for the first"
    );
    // Time is driven: the retry falls due without waiting for the backoff.
    app.state.clock.advance(Duration::from_secs(60));
    let dead = endpoint_until(&app, &id, "a dead letter", |e| e["dead"] == 1).await;
    assert_eq!(dead["failures"][0]["state"], "dead");
    assert_eq!(dead["failures"][0]["attempts"], 2);
    assert!(dead["failures"][0]["error"]
        .as_str()
        .unwrap()
        .contains("answered 503"));
    // The dead letter no longer holds up the next message.
    let got = receiver.until(1).await;
    assert_eq!(
        got[0].json()["data"]["details"]["after"]["email"],
        "later@example.com",
        "{:?}",
        got[0]
    );

    let retried = app.call_ok("webhooks/retry", &form(&[("id", &id)])).await;
    assert_eq!(retried["dead"], 0);
    let got = receiver.until(2).await;
    assert_eq!(got[1].json()["type"], "user.create");
    let dead_seq = dead["failures"][0]["seq"].as_i64().unwrap();
    assert_eq!(got[1].id, format!("msg_{dead_seq}"));

    // Replay sends everything from a message on again, with the ids it had.
    let replayed = app
        .call_ok(
            "webhooks/replay",
            &form(&[("id", &id), ("seq", &dead_seq.to_string())]),
        )
        .await;
    assert_eq!(replayed["id"], id);
    let got = receiver.until(4).await;
    let again: Vec<&str> = got[2..].iter().map(|d| d.id.as_str()).collect();
    assert!(
        again.contains(&format!("msg_{dead_seq}").as_str()),
        "{again:?}"
    );
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["webhook.create", "webhook.retry", "webhook.replay"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_endpoint_is_refused_with_a_reason_per_field_and_nothing_is_stored() {
    let app = spawn().await;
    let res = app
        .call(
            &app.client,
            "webhooks/create",
            &form(&[
                ("input[url]", "http://hooks.example.com/in"),
                ("input[events][0]", "User"),
                ("input[max_attempts]", "0"),
                ("input[status]", "sometimes"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = res.text().await.unwrap();
    for expected in ["https", "\\\"User\\\"", "1 to 50", "active or paused"] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let res = app
        .call(
            &app.client,
            "webhooks/create",
            &form(&[("input[url]", "https://hooks.example.com/in")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("at least one event"));
    assert_eq!(app.call_ok("webhooks/list", "").await, json!([]));
    let missing = app
        .call(&app.client, "webhooks/get", &form(&[("id", "wh_nope")]))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let keyless = TestApp::spawn().await;
    keyless.sign_in(ADMIN).await;
    let res = keyless
        .call(
            &keyless.client,
            "webhooks/create",
            &form(&[
                ("input[url]", "https://hooks.example.com/in"),
                ("input[events][0]", "*"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("GATEHOUSE_SECRETS_KEY"));
}

#[tokio::test]
async fn the_rest_api_manages_endpoints_with_versions_and_shows_the_secret_once() {
    let app = spawn().await;
    let token = service_token(&app, &["webhooks:manage"]).await;
    let (url, receiver) = receiver().await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1/webhooks", app.url);
    let res = http
        .post(&base)
        .bearer_auth(&token)
        .json(&json!({"url": url, "events": ["webhook"], "description": "API"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let made: Value = res.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    let id = made["endpoint"]["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/webhooks/{id}"));
    // The endpoint hears of its own creation (it chose the `webhook` area).
    let got = receiver.until(1).await;
    assert_eq!(got[0].json()["type"], "webhook.create");
    assert!(got[0].signed_with(&secret));

    let res = http
        .get(format!("{base}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(!body.contains(&secret));
    let change = json!({"url": url, "events": ["user"], "status": "paused"});
    let res = http
        .put(format!("{base}/{id}"))
        .bearer_auth(&token)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_REQUIRED);
    let res = http
        .put(format!("{base}/{id}"))
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["status"], "paused");
    let res = http
        .put(format!("{base}/{id}"))
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);

    // Paused: events wait, nothing is sent.
    app.create_user("waiting@example.com", "Waiting", &[]).await;
    let paused = endpoint_until(&app, &id, "a waiting event", |e| e["pending"] == 1).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(receiver.accepted.lock().unwrap().len(), 1);

    let res = http
        .delete(format!("{base}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = http
        .get(format!("{base}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "its messages went with it");
}

#[tokio::test]
async fn the_console_changes_an_endpoint_against_its_version_and_removes_it() {
    let app = spawn().await;
    let (url, receiver) = receiver().await;
    let made = create(&app, &url, &["group"], "").await;
    let id = made["endpoint"]["id"].as_str().unwrap().to_string();
    let version = made["endpoint"]["version"].as_i64().unwrap().to_string();
    let change = |version: &str| {
        form(&[
            ("id", &id),
            ("version", version),
            ("input[url]", &url),
            ("input[description]", "Users now"),
            ("input[events][0]", "user.create"),
            ("input[events][1]", ""),
            ("input[max_attempts]", "3"),
        ])
    };
    let changed = app.call_ok("webhooks/save", &change(&version)).await;
    assert_eq!(changed["events"], json!(["user.create"]), "{changed}");
    assert_eq!(changed["max_attempts"], 3);
    assert_eq!(changed["description"], "Users now");
    let stale = app
        .call(&app.client, "webhooks/save", &change(&version))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);

    app.create_user("heard@example.com", "Heard", &[]).await;
    let got = receiver.until(1).await;
    assert_eq!(got[0].json()["type"], "user.create");

    let removed = app
        .call(&app.client, "webhooks/delete", &form(&[("id", &id)]))
        .await;
    assert!(
        removed.status().is_success() || removed.status().is_redirection(),
        "{}",
        removed.status()
    );
    assert_eq!(app.call_ok("webhooks/list", "").await, json!([]));
    app.create_user("unheard@example.com", "Unheard", &[]).await;
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0, "a removed endpoint hears nothing more");
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["webhook.update", "webhook.delete"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
}
