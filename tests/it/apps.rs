//! Applications, client secrets and API keys, and the verification endpoint gateways call.
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const OWNER: &str = "olivia.owner@example.com";

pub(crate) async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    app
}

fn app_form(name: &str, redirect: &str, scopes: &str) -> String {
    form(&[
        ("input[name]", name),
        ("input[owner]", OWNER),
        ("input[kind]", "web"),
        ("input[redirect_uris]", redirect),
        ("input[grant_types][0]", "authorization_code"),
        ("input[grant_types][1]", "refresh_token"),
        ("input[scopes]", scopes),
        ("input[pkce_required]", "on"),
    ])
}

/// Registers a web application with these scopes; returns (app id, client secret).
pub(crate) async fn register(app: &TestApp, name: &str, scopes: &str) -> (String, String) {
    let created = app
        .call_ok(
            "apps/create",
            &app_form(name, "https://app.example.com/callback", scopes),
        )
        .await;
    (
        created["app"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

pub(crate) async fn issue(
    app: &TestApp,
    app_id: &str,
    name: &str,
    scopes: &[&str],
) -> (String, String) {
    let mut pairs = vec![("input[application_id]", app_id), ("input[name]", name)];
    let keys: Vec<String> = (0..scopes.len())
        .map(|i| format!("input[scopes][{i}]"))
        .collect();
    for (k, s) in keys.iter().zip(scopes) {
        pairs.push((k.as_str(), s));
    }
    let issued = app.call_ok("keys/create", &form(&pairs)).await;
    (
        issued["summary"]["id"].as_str().unwrap().to_string(),
        issued["key"].as_str().unwrap().to_string(),
    )
}

/// A gateway: an application holding the verification scope, and its key.
pub(crate) async fn gateway(app: &TestApp) -> String {
    let (id, _) = register(app, "Edge gateway", "gatehouse:keys.verify").await;
    issue(app, &id, "edge-1", &["gatehouse:keys.verify"])
        .await
        .1
}

pub(crate) async fn verify(app: &TestApp, caller: &str, key: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.url))
        .bearer_auth(caller)
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn count_events(app: &TestApp, action: &str) -> usize {
    app.audit_events()
        .await
        .iter()
        .filter(|e| e.action == action)
        .count()
}

#[tokio::test]
async fn registering_refuses_bad_redirect_uris_with_a_reason_each_and_writes_nothing() {
    let app = setup().await;
    let bad = "http://app.example.com/cb\nhttps://*.example.com/cb\nhttps://app.example.com/cb#top\n/relative";
    let res = app
        .call(
            &app.client,
            "apps/create",
            &app_form("Payments", bad, "orders:read"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    for reason in ["https", "wildcard", "fragment", "absolute"] {
        assert!(body.contains(reason), "{reason} missing from {body}");
    }
    let list = app.call_ok("apps/list", "query[q]=").await;
    assert_eq!(list["apps"].as_array().unwrap().len(), 0);
    assert_eq!(count_events(&app, "application.create").await, 0);

    // Unknown owner, bad scope, grant not allowed for the kind: all reported together.
    let res = app
        .call(
            &app.client,
            "apps/create",
            &form(&[
                ("input[name]", "X"),
                ("input[owner]", "ghost@example.com"),
                ("input[kind]", "spa"),
                ("input[redirect_uris]", "https://x.example.com/cb"),
                ("input[grant_types][0]", "client_credentials"),
                ("input[scopes]", "ok bad\"scope"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    for part in ["ghost@example.com", "client credentials", "PKCE", "scope"] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
}

#[tokio::test]
async fn the_client_secret_is_shown_once_and_stored_only_as_a_hash() {
    let app = setup().await;
    let (id, secret) = register(&app, "Payments", "orders:read").await;
    assert!(secret.starts_with("ghs_") && secret.len() > 40, "{secret}");
    let detail = app.call_ok("apps/get", &format!("id={id}")).await;
    assert!(!detail.to_string().contains(&secret));
    assert_eq!(detail["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(
        detail["secrets"][0]["hint"].as_str().unwrap(),
        &secret[secret.len() - 4..]
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT secret_hash FROM client_secrets")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        vec![gatehouse::server::service::secrets::hash_hex(&secret)]
    );
    let event = app.audit_events().await.pop().unwrap();
    assert_eq!(event.action, "application.create");
    assert!(!event.details.contains(&secret));
    // The same name twice is refused.
    let res = app
        .call(
            &app.client,
            "apps/create",
            &app_form("payments", "https://a.example.com/cb", ""),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn rotating_a_secret_keeps_the_old_one_for_the_grace_period() {
    let app = setup().await;
    let (id, first) = register(&app, "Payments", "orders:read").await;
    let rotated = app
        .call_ok("apps/rotate_secret", &format!("id={id}&grace=3600"))
        .await;
    let second = rotated["secret"].as_str().unwrap();
    assert_ne!(second, first);
    let secrets = rotated["app"]["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    let (newest, old) = (&secrets[0], &secrets[1]);
    assert!(newest["expires_at"].is_null());
    let until = old["expires_at"].as_i64().unwrap();
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    assert!((until - in_an_hour).abs() < 60_000, "{until}");
    // An unlisted grace period is refused; revoking stops a secret at once.
    let res = app
        .call(
            &app.client,
            "apps/rotate_secret",
            &format!("id={id}&grace=5"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let old_id = old["id"].as_str().unwrap();
    let after = app
        .call_ok("apps/revoke_secret", &format!("id={id}&secret_id={old_id}"))
        .await;
    assert!(after["secrets"][1]["revoked_at"].is_i64());
    assert_eq!(count_events(&app, "application.secret.rotate").await, 1);
    assert_eq!(count_events(&app, "application.secret.revoke").await, 1);
}

#[tokio::test]
async fn a_gateway_verifies_a_key_then_revocation_is_seen_at_once() {
    let app = setup().await;
    let gw = gateway(&app).await;
    let (app_id, _) = register(&app, "Orders", "orders:read orders:write admin").await;
    let (key_id, key) = issue(&app, &app_id, "ci", &["orders:read", "orders:write"]).await;
    assert!(key.starts_with(&format!("ghk_{key_id}_")), "{key}");
    let stored: String = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE id = $1")
        .bind(&key_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_ne!(stored, key);
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.details.contains(&key)));

    let (status, body) = verify(&app, &gw, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["key_id"], key_id.as_str());
    assert_eq!(body["application"]["id"], app_id.as_str());
    assert_eq!(body["scopes"], json!(["orders:read", "orders:write"]));
    assert_eq!(body["owner"]["type"], "application");

    app.call_ok("keys/revoke", &format!("id={key_id}")).await;
    let (_, body) = verify(&app, &gw, &key).await;
    assert_eq!(body, json!({ "valid": false, "reason": "revoked" }));
}

#[tokio::test]
async fn every_kind_of_bad_key_gets_the_same_shape_and_a_reason() {
    let app = setup().await;
    let gw = gateway(&app).await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let (_, key) = issue(&app, &app_id, "ci", &["orders:read"]).await;
    let (_, unknown) = gatehouse::server::service::secrets::new_key();
    let mut typo = key.clone().into_bytes();
    typo[30] = if typo[30] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    for (presented, reason) in [
        ("not-a-key", "malformed"),
        (typo.as_str(), "malformed"),
        (unknown.as_str(), "invalid"),
    ] {
        let (status, body) = verify(&app, &gw, presented).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({ "valid": false, "reason": reason }),
            "{presented}"
        );
    }
    // Rotation without grace: the old key is expired, the new one valid.
    let old_id = key[4..16].to_string();
    let rotated = app
        .call_ok("keys/rotate", &format!("id={old_id}&grace=0"))
        .await;
    let new_key = rotated["key"].as_str().unwrap();
    let (_, body) = verify(&app, &gw, &key).await;
    assert_eq!(body, json!({ "valid": false, "reason": "expired" }));
    assert_eq!(verify(&app, &gw, new_key).await.1["valid"], true);
    // Disabling the application disables its keys.
    app.call_ok("apps/status", &format!("id={app_id}&status=disabled"))
        .await;
    let (_, body) = verify(&app, &gw, new_key).await;
    assert_eq!(body, json!({ "valid": false, "reason": "disabled" }));
}

#[tokio::test]
async fn the_caller_must_be_a_gateway() {
    let app = setup().await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let (_, key) = issue(&app, &app_id, "ci", &["orders:read"]).await;
    // No credential, or the console session of an admin, is not a gateway credential.
    for client in [reqwest::Client::new(), app.client.clone()] {
        let res = client
            .post(format!("{}/api/v1/keys/verify", app.url))
            .json(&json!({ "key": key }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key("www-authenticate"));
        assert!(!res.text().await.unwrap().contains("valid"));
    }
    // A valid key without the verification scope is refused.
    let (status, _) = verify(&app, &key, &key).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad bodies are 400 with a reason.
    let gw = gateway(&app).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.url))
        .bearer_auth(&gw)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("JSON"));
}

#[tokio::test]
async fn failed_verifications_are_limited_per_client_ip() {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_VERIFY_FAILURES_PER_MINUTE", "3".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    let gw = gateway(&app).await;
    let ask = |client_ip: &'static str| {
        let (url, gw) = (app.url.clone(), gw.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{url}/api/v1/keys/verify"))
                .bearer_auth(gw)
                .json(&json!({ "key": "nope", "client_ip": client_ip }))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(ask("203.0.113.7").await.status(), StatusCode::OK);
    }
    let res = ask("203.0.113.7").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "60");
    // Another client behind the same gateway is not affected, nor the gateway itself.
    assert_eq!(ask("203.0.113.8").await.status(), StatusCode::OK);
    let (status, _) = verify(&app, &gw, "nope").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no client_ip: the gateway is never limited"
    );
}

#[tokio::test]
async fn usage_is_counted_in_memory_and_written_in_batches() {
    // The background writer waits an hour here, so "not written per verification" cannot be
    // true only because the 5-second flush has not come round yet, nor false because it has.
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_KEY_USAGE_FLUSH_SECS", "3600".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    let gw = gateway(&app).await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let (key_id, key) = issue(&app, &app_id, "ci", &["orders:read"]).await;
    for _ in 0..5 {
        assert_eq!(verify(&app, &gw, &key).await.1["valid"], true);
    }
    let before = app.call_ok("keys/get", &format!("id={key_id}")).await;
    assert_eq!(before["use_count"], 0, "not written per verification");
    app.state.verifier.flush_usage().await.unwrap();
    let after = app.call_ok("keys/get", &format!("id={key_id}")).await;
    assert_eq!(after["use_count"], 5);
    assert!(after["last_used_at"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn key_input_mistakes_are_refused_and_change_nothing() {
    let app = setup().await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let long = "n".repeat(101);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("input[scopes][0]", "orders:delete")], "not one of"),
        (vec![], "at least one scope"),
        (
            vec![
                ("input[scopes][0]", "orders:read"),
                ("input[expires]", "2001-01-01"),
            ],
            "in the past",
        ),
        (
            vec![
                ("input[scopes][0]", "orders:read"),
                ("input[name]", long.as_str()),
            ],
            "longer than",
        ),
        (
            vec![("input[scopes][0]", "orders:read"), ("input[owner]", OWNER)],
            "not assigned",
        ),
    ];
    for (extra, reason) in cases {
        let mut pairs = vec![("input[application_id]", app_id.as_str())];
        if !extra.iter().any(|(k, _)| *k == "input[name]") {
            pairs.push(("input[name]", "k"));
        }
        pairs.extend(extra);
        let res = app.call(&app.client, "keys/create", &form(&pairs)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{reason}");
        let body = res.text().await.unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
    }
    let keys = app.call_ok("keys/list", "query[status]=").await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 0);
    assert_eq!(count_events(&app, "api_key.create").await, 0);

    // Assigned, the owner may hold a personal key; it is listed under the user.
    app.call_ok("apps/assign", &format!("id={app_id}&person={OWNER}"))
        .await;
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
    let owner_id = issued["summary"]["owner_user_id"].as_str().unwrap();
    let mine = app
        .call_ok("keys/of_user", &format!("user_id={owner_id}"))
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn keys_nearing_expiry_and_unused_keys_are_easy_to_find() {
    let app = setup().await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let later = (chrono::Utc::now() + chrono::Duration::days(200))
        .format("%Y-%m-%d")
        .to_string();
    for (name, expires) in [
        ("soon", soon.as_str()),
        ("later", later.as_str()),
        ("never", ""),
    ] {
        app.call_ok(
            "keys/create",
            &form(&[
                ("input[application_id]", &app_id),
                ("input[name]", name),
                ("input[scopes][0]", "orders:read"),
                ("input[expires]", expires),
            ]),
        )
        .await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    };
    let expiring = app.call_ok("keys/list", "query[expiring_days]=30").await;
    assert_eq!(names(&expiring), vec!["soon"]);
    // Created just now, none is yet "unused for a day".
    let unused = app.call_ok("keys/list", "query[unused_days]=1").await;
    assert!(names(&unused).is_empty());
    let active = app.call_ok("keys/list", "query[status]=active").await;
    assert_eq!(names(&active).len(), 3);
}

#[tokio::test]
async fn a_revocation_on_one_instance_is_seen_by_another_within_a_second() {
    let first = setup().await;
    let second = TestApp::spawn_on(&first.state.config.database_url, |_| {}).await;
    let gw = gateway(&first).await;
    let (app_id, _) = register(&first, "Orders", "orders:read").await;
    let (key_id, key) = issue(&first, &app_id, "ci", &["orders:read"]).await;
    // The second instance verifies (and caches) the key.
    for _ in 0..3 {
        assert_eq!(verify(&second, &gw, &key).await.1["valid"], true);
    }
    first.call_ok("keys/revoke", &format!("id={key_id}")).await;
    // The documented bound is one second: once a second has passed on the second instance's
    // clock, whatever its poll has or has not done, the revoked key is refused there.
    second.state.clock.advance(Duration::from_secs(1));
    let (_, body) = verify(&second, &gw, &key).await;
    assert_eq!(body["reason"], "revoked", "{body}");
}

#[tokio::test]
async fn people_are_assigned_and_their_applications_listed() {
    let app = setup().await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let user = app.create_user("ada@example.com", "Ada", &[]).await;
    let guid = user["guid"].as_str().unwrap();
    let list = app
        .call_ok("apps/assign", &format!("id={app_id}&person={guid}"))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let apps = app.call_ok("apps/of_person", &format!("guid={guid}")).await;
    assert_eq!(apps[0]["id"], app_id.as_str());
    let res = app
        .call(
            &app.client,
            "apps/assign",
            &format!("id={app_id}&person=g_nobody"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.call_ok("apps/unassign", &format!("id={app_id}&guid={guid}"))
        .await;
    let apps = app.call_ok("apps/of_person", &format!("guid={guid}")).await;
    assert!(apps.as_array().unwrap().is_empty());
    assert_eq!(count_events(&app, "application.assign").await, 1);
    assert_eq!(count_events(&app, "application.unassign").await, 1);
}
