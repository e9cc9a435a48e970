//! Shared Signals, Gatehouse as transmitter (issue 16). The receiver is the project's SSF peer
//! (tests/ssf/peer.py), built on the third-party JOSE library joserfc: it discovers Gatehouse
//! from its issuer, fetches the JWKS and checks every token's signature, `typ`, `iss`, `aud`,
//! `jti`, `iat` and subject before it accepts it (RFC 8935 push).
use crate::api_v1::service_token;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub(crate) const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
pub(crate) const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

pub(crate) fn peer() -> String {
    std::env::var("TEST_SSF_PEER").unwrap_or_else(|_| "http://127.0.0.1:4195".into())
}

/// A tenant of the peer of this test only.
pub(crate) fn tenant(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
        env.insert("GATEHOUSE_OUTBOX_POLL_MS", "50".into());
        env.insert("GATEHOUSE_OUTBOX_TIMEOUT_SECS", "2".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app
}

/// Registers a receiver in the console; `(receiver id, token)`.
pub(crate) async fn register(app: &TestApp, audience: &str, format: &str) -> (String, String) {
    let made = app
        .call_ok(
            "signals/create",
            &form(&[
                ("input[name]", "Test receiver"),
                ("input[audience]", audience),
                ("input[subject_format]", format),
            ]),
        )
        .await;
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghr_"), "{made}");
    (made["receiver"]["id"].as_str().unwrap().to_string(), token)
}

/// Sets the peer up to receive for `audience` from this Gatehouse; its push URL.
pub(crate) async fn peer_receiver(app: &TestApp, name: &str, audience: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{}/receivers/{name}", peer()))
        .json(&json!({ "issuer": app.url, "audience": audience, "authorization": "Bearer from-gatehouse" }))
        .send()
        .await
        .expect("the SSF peer answers (scripts/test.sh starts it)");
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["endpoint_url"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn received(name: &str) -> Value {
    reqwest::get(format!("{}/receivers/{name}", peer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the peer until it accepted `n` tokens (delivery is asynchronous by design).
pub(crate) async fn accepted(name: &str, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let got = received(name).await;
        let list = got["accepted"].as_array().cloned().unwrap_or_default();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the peer never accepted {n} tokens: {}",
        received(name).await
    );
}

fn ssf(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token)
}

pub(crate) fn event_type(set: &Value) -> String {
    let events = set["claims"]["events"].as_object().unwrap();
    assert_eq!(events.len(), 1, "one event per token: {set}");
    events.keys().next().unwrap().clone()
}

pub(crate) async fn create_stream(app: &TestApp, token: &str, push: &str, events: Value) -> Value {
    let res = ssf(app, reqwest::Method::POST, "/ssf/streams", token)
        .json(&json!({
            "delivery": { "method": "urn:ietf:rfc:8935", "endpoint_url": push,
                          "authorization_header": "Bearer from-gatehouse" },
            "events_requested": events,
            "description": "test stream",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

fn all_events() -> Value {
    json!([
        format!("{RISC}account-disabled"),
        format!("{RISC}account-enabled"),
        format!("{RISC}identifier-changed"),
        format!("{CAEP}token-claims-change"),
        format!("{CAEP}credential-change"),
        "https://example.com/not-offered",
    ])
}

#[tokio::test]
async fn a_receiver_sets_up_its_stream_and_every_token_verifies_with_a_third_party_library() {
    let app = spawn().await;
    let name = tenant("verify");
    let audience = format!("https://{name}.example");
    let (id, token) = register(&app, &audience, "email").await;

    // Discovery and keys, public.
    let meta: Value = reqwest::get(format!("{}/.well-known/ssf-configuration", app.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], app.url);
    assert_eq!(meta["spec_version"], "1_0");
    assert_eq!(
        meta["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935"])
    );
    let jwks: Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0].get("d").is_none(), "no private part in the JWKS");

    let push = peer_receiver(&app, &name, &audience).await;
    let stream = create_stream(&app, &token, &push, all_events()).await;
    assert_eq!(stream["stream_id"], id);
    assert_eq!(stream["iss"], app.url);
    assert_eq!(stream["aud"], audience);
    let delivered = stream["events_delivered"].as_array().unwrap();
    assert_eq!(
        delivered.len(),
        5,
        "the unknown type is not delivered: {stream}"
    );
    assert!(
        stream["delivery"].get("authorization_header").is_none(),
        "never echoed"
    );

    // Verification: the receiver's state comes back in a verification event about the stream.
    let res = ssf(&app, reqwest::Method::POST, "/ssf/verify", &token)
        .json(&json!({ "stream_id": id, "state": "s-123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let got = accepted(&name, 1).await;
    assert_eq!(event_type(&got[0]), VERIFICATION);
    assert_eq!(got[0]["claims"]["events"][VERIFICATION]["state"], "s-123");
    assert_eq!(
        got[0]["claims"]["sub_id"],
        json!({"format": "opaque", "id": id})
    );
    let again = ssf(&app, reqwest::Method::POST, "/ssf/verify", &token)
        .json(&json!({ "stream_id": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);

    // Changes made in the console become events, in order, about the right person.
    let user = app.create_user("ada@example.com", "Ada", &[]).await;
    let uid = user["id"].as_str().unwrap();
    let status = |to: &str, v: &str| form(&[("id", uid), ("status", to), ("version", v)]);
    app.call_ok("users/status", &status("suspended", "1")).await;
    app.call_ok("users/status", &status("active", "2")).await;
    app.call_ok(
        "users/update",
        &form(&[
            ("id", uid),
            ("version", "3"),
            ("input[email]", "ada.king@example.com"),
            ("input[display_name]", "Ada"),
            ("input[source]", "hr-emea"),
        ]),
    )
    .await;
    let got = accepted(&name, 4).await;
    let types: Vec<String> = got.iter().map(event_type).collect();
    assert_eq!(
        types[1..],
        [
            format!("{RISC}account-disabled"),
            format!("{RISC}account-enabled"),
            format!("{RISC}identifier-changed"),
        ]
    );
    assert_eq!(
        got[1]["claims"]["sub_id"],
        json!({"format": "email", "email": "ada@example.com"})
    );
    assert_eq!(
        got[3]["claims"]["sub_id"]["email"], "ada@example.com",
        "the old address"
    );
    assert_eq!(
        got[3]["claims"]["events"][format!("{RISC}identifier-changed")]["new-value"],
        "ada.king@example.com"
    );
    let kid = keys[0]["kid"].as_str().unwrap();
    let mut jtis = std::collections::HashSet::new();
    for set in &got {
        assert_eq!(set["header"]["typ"], "secevent+jwt");
        assert_eq!(set["header"]["alg"], "RS256");
        assert_eq!(set["header"]["kid"], kid);
        assert_eq!(set["claims"]["iss"], app.url);
        assert_eq!(set["claims"]["aud"], audience);
        assert!(jtis.insert(set["claims"]["jti"].as_str().unwrap().to_string()));
        assert!(set["claims"].get("sub").is_none() && set["claims"].get("exp").is_none());
    }
    assert!(got[1]["claims"]["txn"].is_string());
    let seen = received(&name).await;
    assert_eq!(seen["rejected"], json!([]), "the peer refused nothing");

    // The console shows the stream and its last accepted push; the token is never shown again.
    let view = app.call_ok("signals/get", &form(&[("id", &id)])).await;
    assert_eq!(view["status"], "enabled");
    assert_eq!(view["endpoint_url"], push);
    assert!(view["last_success_at"].as_i64().unwrap() > 0);
    assert!(!view.to_string().contains(&token));
    let listed = app.call_ok("signals/list", "").await;
    assert!(listed["transmitting"].as_bool().unwrap());
    assert_eq!(listed["receivers"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_paused_stream_keeps_events_and_a_refusal_shows_the_receivers_error() {
    let app = spawn().await;
    let name = tenant("pause");
    let audience = format!("https://{name}.example");
    let (id, token) = register(&app, &audience, "opaque").await;
    let push = peer_receiver(&app, &name, &audience).await;
    create_stream(&app, &token, &push, all_events()).await;

    // The receiver pauses its stream: events wait, then all arrive in order on resume.
    let res = ssf(&app, reqwest::Method::POST, "/ssf/status", &token)
        .json(&json!({ "stream_id": id, "status": "paused", "reason": "maintenance" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let status: Value = ssf(
        &app,
        reqwest::Method::GET,
        &format!("/ssf/status?stream_id={id}"),
        &token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        status,
        json!({"stream_id": id, "status": "paused", "reason": "maintenance"})
    );
    let user = app.create_user("grace@example.com", "Grace", &[]).await;
    let uid = user["id"].as_str().unwrap();
    app.call_ok(
        "users/status",
        &form(&[("id", uid), ("status", "suspended"), ("version", "1")]),
    )
    .await;
    let waiting = app.call_ok("signals/get", &form(&[("id", &id)])).await;
    assert_eq!(waiting["pending"], 1, "{waiting}");
    assert_eq!(received(&name).await["pushes"], 0);
    app.call_ok(
        "signals/status",
        &form(&[("id", &id), ("status", "enabled"), ("reason", "")]),
    )
    .await;
    let got = accepted(&name, 1).await;
    assert_eq!(event_type(&got[0]), format!("{RISC}account-disabled"));
    assert_eq!(
        got[0]["claims"]["sub_id"],
        json!({"format": "opaque", "id": user["guid"]})
    );

    // The administrator gives the receiver another audience than the peer expects: the peer
    // refuses (invalid_audience) and the receiver's page says so.
    let view = app.call_ok("signals/get", &form(&[("id", &id)])).await;
    let version = view["version"].to_string();
    app.call_ok(
        "signals/save",
        &form(&[
            ("id", &id),
            ("version", &version),
            ("input[name]", "Test receiver"),
            ("input[audience]", "https://someone-else.example"),
            ("input[subject_format]", "opaque"),
            ("input[max_attempts]", "1"),
        ]),
    )
    .await;
    app.call_ok(
        "users/status",
        &form(&[("id", uid), ("status", "active"), ("version", "2")]),
    )
    .await;
    let mut failed = Value::Null;
    for _ in 0..200 {
        failed = app.call_ok("signals/get", &form(&[("id", &id)])).await;
        if failed["dead"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["dead"], 1, "{failed}");
    let error = failed["failures"][0]["error"].as_str().unwrap();
    assert!(error.contains("invalid_audience"), "{error}");
    // Retry and replay are there for the administrator (audited), whatever the outcome.
    app.call_ok("signals/retry", &form(&[("id", &id)])).await;
    app.call_ok("signals/replay", &form(&[("id", &id), ("seq", "1")]))
        .await;
}

#[tokio::test]
async fn the_stream_api_refuses_strangers_and_bad_requests_and_changes_nothing() {
    let app = spawn().await;
    let (id, token) = register(&app, "https://bad.example", "email").await;
    let (_, other_token) = register(&app, "https://other.example", "email").await;
    use reqwest::Method as M;
    let no_token = reqwest::Client::new()
        .get(format!("{}/ssf/streams", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert!(no_token.headers().contains_key("www-authenticate"));
    let wrong = ssf(&app, M::GET, "/ssf/streams", "ghr_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // Before the stream exists: an empty list.
    let none: Value = ssf(&app, M::GET, "/ssf/streams", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    for (body, why) in [
        (json!({}), "delivery is required"),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8936"}}),
            "push only",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://example.com/x"}}),
            "https",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://r.example"}, "events_requested": "all"}),
            "array",
        ),
    ] {
        let res = ssf(&app, M::POST, "/ssf/streams", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = res.text().await.unwrap();
        assert!(
            text.contains("invalid_request") && text.contains(why),
            "{text}"
        );
    }
    let not_json = ssf(&app, M::POST, "/ssf/streams", &token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let still: Value = ssf(&app, M::GET, "/ssf/streams", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still, json!([]), "nothing was made");

    let body = json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://r.example/events"}});
    assert_eq!(
        ssf(&app, M::POST, "/ssf/streams", &token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        ssf(&app, M::POST, "/ssf/streams", &token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT
    );
    // Another receiver cannot see or touch this stream.
    let foreign = ssf(
        &app,
        M::GET,
        &format!("/ssf/streams?stream_id={id}"),
        &other_token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let foreign = ssf(
        &app,
        M::DELETE,
        &format!("/ssf/streams?stream_id={id}"),
        &other_token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    // Transmitter-supplied properties cannot be changed; receiver-supplied ones can.
    let res = ssf(&app, M::PATCH, "/ssf/streams", &token)
        .json(&json!({"stream_id": id, "aud": "https://mine.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let patched: Value = ssf(&app, M::PATCH, "/ssf/streams", &token)
        .json(&json!({"stream_id": id, "description": "renamed", "events_requested": [format!("{CAEP}session-revoked")]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["description"], "renamed");
    assert_eq!(
        patched["delivery"]["endpoint_url"], "https://r.example/events",
        "kept"
    );
    assert_eq!(
        patched["events_delivered"],
        json!([format!("{CAEP}session-revoked")])
    );
    let replaced: Value = ssf(&app, M::PUT, "/ssf/streams", &token)
        .json(&json!({"stream_id": id, "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://r.example/v2"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        replaced["events_requested"],
        json!([]),
        "PUT drops what it does not give"
    );
    assert!(replaced.get("description").is_none());
    // Subjects: checked, and accepted (every person's events are sent).
    let add = ssf(&app, M::POST, "/ssf/subjects:add", &token)
        .json(&json!({"stream_id": id, "subject": {"format": "email", "email": "a@example.com"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(add.status(), StatusCode::OK);
    let bad = ssf(&app, M::POST, "/ssf/subjects:remove", &token)
        .json(&json!({"stream_id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let remove = ssf(&app, M::POST, "/ssf/subjects:remove", &token)
        .json(&json!({"stream_id": id, "subject": {"format": "email", "email": "a@example.com"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(remove.status(), StatusCode::NO_CONTENT);
    let bad_status = ssf(&app, M::POST, "/ssf/status", &token)
        .json(&json!({"stream_id": id, "status": "asleep"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
    // DELETE ends the stream; the registration and its token stay.
    let gone = ssf(
        &app,
        M::DELETE,
        &format!("/ssf/streams?stream_id={id}"),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let none: Value = ssf(&app, M::GET, "/ssf/streams", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));

    // Every change the receiver made is audited with the receiver as actor.
    let events = app.audit_events().await;
    let actor = format!("ssf:{id}");
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.actor_subject.as_deref() == Some(actor.as_str()))
        .map(|e| e.action.as_str())
        .collect();
    assert!(!actions.is_empty());
    for a in [
        "ssf.stream.create",
        "ssf.stream.update",
        "ssf.stream.replace",
        "ssf.stream.delete",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    // A new token replaces the old one at once; removal ends the receiver.
    let rotated = app.call_ok("signals/rotate", &form(&[("id", &id)])).await;
    let new_token = rotated["token"].as_str().unwrap();
    assert_eq!(
        ssf(&app, M::GET, "/ssf/streams", &token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ssf(&app, M::GET, "/ssf/streams", new_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.call_ok("signals/delete", &form(&[("id", &id)])).await;
    assert_eq!(
        ssf(&app, M::GET, "/ssf/streams", new_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn registration_is_refused_with_a_reason_per_field_and_the_rest_api_manages_receivers() {
    let app = spawn().await;
    let res = app
        .call(
            &app.client,
            "signals/create",
            &form(&[
                ("input[name]", ""),
                ("input[audience]", ""),
                ("input[subject_format]", "phone"),
                ("input[application_id]", "app_missing"),
                ("input[max_attempts]", "0"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = res.text().await.unwrap();
    for field in [
        "Name",
        "Audience",
        "Subject format",
        "Application",
        "Attempts",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    let listed = app.call_ok("signals/list", "").await;
    assert_eq!(listed["receivers"], json!([]), "nothing was stored");

    let api = service_token(&app, &["signals:manage"]).await;
    let client = reqwest::Client::new();
    let made = client
        .post(format!("{}/api/v1/signals/receivers", app.url))
        .bearer_auth(&api)
        .json(&json!({"name": "Gateway", "audience": "https://gw.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let location = made.headers()["location"].to_str().unwrap().to_string();
    let made: Value = made.json().await.unwrap();
    assert!(made["token"].as_str().unwrap().starts_with("ghr_"));
    assert_eq!(
        location,
        format!(
            "/api/v1/signals/receivers/{}",
            made["receiver"]["id"].as_str().unwrap()
        )
    );
    let put = client
        .put(format!("{}{location}", app.url))
        .bearer_auth(&api)
        .json(&json!({"name": "Gateway 2", "audience": "https://gw.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::PRECONDITION_REQUIRED);
    let got = client
        .get(format!("{}{location}", app.url))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let etag = got.headers()["etag"].to_str().unwrap().to_string();
    let put = client
        .put(format!("{}{location}", app.url))
        .bearer_auth(&api)
        .header("if-match", etag)
        .json(&json!({"name": "Gateway 2", "audience": "https://gw.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let status = client
        .post(format!("{}{location}/status", app.url))
        .bearer_auth(&api)
        .json(&json!({"status": "sleeping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::BAD_REQUEST);
    let token = client
        .post(format!("{}{location}/token", app.url))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let gone = client
        .delete(format!("{}{location}", app.url))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let other_scope = service_token(&app, &["webhooks:manage"]).await;
    let denied = client
        .get(format!("{}/api/v1/signals/receivers", app.url))
        .bearer_auth(other_scope)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
}
