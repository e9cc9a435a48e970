//! Shared Signals, Gatehouse as receiver (issue 16). The transmitter is the project's SSF peer
//! (tests/ssf/peer.py), built on the third-party JOSE library joserfc: it makes a fresh RSA key
//! per tenant, publishes it (JWKS and SSF metadata), signs each token and pushes it to
//! `/ssf/receive` (RFC 8935), or forges one on request.
use crate::api_v1::service_token;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";
const SIGN_IN_FAILED: &str = "urn:gatehouse:secevent:sign-in-failed";

fn peer() -> String {
    std::env::var("TEST_SSF_PEER").unwrap_or_else(|_| "http://127.0.0.1:4195".into())
}

/// A tenant of the peer of this test only.
fn tenant(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn spawn() -> TestApp {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app
}

/// A transmitter tenant at the peer (a new key each time): `{issuer, jwks_uri, ...}`.
async fn peer_transmitter(name: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}/transmitters/{name}", peer()))
        .json(&json!({}))
        .send()
        .await
        .expect("the SSF peer answers (scripts/test.sh starts it)");
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// Registers the peer tenant's issuer in the console (keys discovered from its metadata),
/// with the app's public URL as audience; the transmitter.
async fn register(app: &TestApp, issuer: &str, extra: &[(&str, &str)]) -> Value {
    let mut pairs = vec![
        ("input[name]", "Test IdP"),
        ("input[issuer]", issuer),
        ("input[audience]", app.url.as_str()),
    ];
    pairs.extend_from_slice(extra);
    app.call_ok("signals/transmitters/create", &form(&pairs))
        .await
}

/// What the peer's push came to: Gatehouse's status and answer, and the token.
struct Pushed {
    status: u16,
    body: Value,
    token: String,
}

async fn peer_call(name: &str, verb: &str, body: Value) -> Pushed {
    let res = reqwest::Client::new()
        .post(format!("{}/transmitters/{name}/{verb}", peer()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "peer {verb}");
    let got: Value = res.json().await.unwrap();
    let text = got["body"].as_str().unwrap_or_default();
    Pushed {
        status: got["status"].as_u64().unwrap() as u16,
        body: serde_json::from_str(text).unwrap_or(Value::Null),
        token: got["token"].as_str().unwrap().to_string(),
    }
}

fn push_url(app: &TestApp) -> String {
    format!("{}/ssf/receive", app.url)
}

/// The peer signs `claims` (it adds `iss`, `iat` and `jti` unless given) and pushes them.
async fn send(app: &TestApp, name: &str, claims: Value) -> Pushed {
    peer_call(
        name,
        "send",
        json!({ "endpoint_url": push_url(app), "claims": claims }),
    )
    .await
}

async fn forged(app: &TestApp, name: &str, claims: Value, forge: &str) -> Pushed {
    peer_call(
        name,
        "send",
        json!({ "endpoint_url": push_url(app), "claims": claims, "forge": forge }),
    )
    .await
}

fn set(app: &TestApp, sub_id: Value, event_type: &str, event: Value) -> Value {
    json!({ "aud": app.url, "sub_id": sub_id, "events": { event_type: event } })
}

fn email(address: &str) -> Value {
    json!({ "format": "email", "email": address })
}

async fn user(app: &TestApp, id: &str) -> Value {
    app.call_ok("users/get", &form(&[("id", id)])).await
}

fn accepted(p: &Pushed) {
    assert_eq!(p.status, 202, "accepted: {}", p.body);
}

fn refused(p: &Pushed, err: &str) {
    assert_eq!(p.status, 400, "refused: {}", p.body);
    assert_eq!(p.body["err"], err, "{}", p.body);
    assert!(p.body["description"].is_string(), "{}", p.body);
}

async fn rejections(app: &TestApp) -> Vec<gatehouse::model::audit::AuditEvent> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "ssf.set.rejected")
        .collect()
}

async fn transmitter(app: &TestApp, id: &str) -> Value {
    app.call_ok("signals/transmitters/get", &form(&[("id", id)]))
        .await
}

async fn trust_state(app: &TestApp, user_id: &str, device_id: &str) -> Value {
    let devices = app
        .call_ok("devices/of_user", &form(&[("id", user_id)]))
        .await;
    devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device_id)
        .unwrap()["trust_state"]
        .clone()
}

/// The account was not touched: still active, at its first version.
async fn unchanged(app: &TestApp, user_id: &str) {
    let now = user(app, user_id).await;
    assert_eq!(now["status"], "active", "{now}");
    assert_eq!(now["version"], 1, "{now}");
}

/// Audit records a transmitter wrote.
async fn by_transmitters(app: &TestApp) -> usize {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.actor_subject
                .as_deref()
                .is_some_and(|s| s.starts_with("sst:"))
        })
        .count()
}

/// A refusal with its code, saying why.
fn refused_for(p: &Pushed, err: &str, why: &str) {
    refused(p, err);
    let d = p.body["description"].as_str().unwrap();
    assert!(d.contains(why), "{why:?} in {d:?}");
}

#[tokio::test]
async fn a_transmitters_events_change_sign_ins_status_factors_and_devices_as_itself() {
    let app = spawn().await;
    let name = tenant("idp");
    let peer_t = peer_transmitter(&name).await;
    let issuer = peer_t["issuer"].as_str().unwrap();
    let t = register(&app, issuer, &[]).await;
    let id = t["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sst_"), "{t}");
    assert!(t["key_count"].as_u64().unwrap() >= 1, "keys fetched: {t}");
    assert!(t["keys_fetched_at"].as_i64().unwrap() > 0);
    assert_eq!(t["jwks_uri"], peer_t["jwks_uri"], "discovered: {t}");
    assert_eq!(t["last_error"], "");
    assert_eq!(t["status"], "active");
    let actor = format!("sst:{id}");

    let ada = app.create_user("ada@example.com", "Ada", &[]).await;
    let uid = ada["id"].as_str().unwrap().to_string();
    assert_eq!(ada["last_sign_in_at"], 0);

    // CAEP session-established: the last sign-in moves to the event's time.
    let at = now_secs() - 60;
    let p = send(
        &app,
        &name,
        set(
            &app,
            email("Ada@Example.com"),
            &format!("{CAEP}session-established"),
            json!({ "event_timestamp": at, "ips": ["203.0.113.7"], "amr": ["pwd", "otp"] }),
        ),
    )
    .await;
    accepted(&p);
    assert_eq!(user(&app, &uid).await["last_sign_in_at"], at * 1000);
    let events = app.audit_events().await;
    let sign_in = events
        .iter()
        .find(|e| e.action == "user.sign_in" && e.target_id.as_deref() == Some(uid.as_str()))
        .expect("the sign-in is audited");
    assert_eq!(sign_in.actor_subject.as_deref(), Some(actor.as_str()));
    assert_eq!(
        sign_in.actor_role, None,
        "a transmitter holds no console role"
    );
    assert_eq!(sign_in.outcome, "success");
    assert!(
        sign_in.details.contains("203.0.113.7"),
        "{}",
        sign_in.details
    );

    // The failed counterpart: audited as failed, the last sign-in stays.
    accepted(
        &send(
            &app,
            &name,
            set(&app, email("ada@example.com"), SIGN_IN_FAILED, json!({})),
        )
        .await,
    );
    let failed = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.sign_in" && e.outcome == "failed")
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].target_id.as_deref(), Some(uid.as_str()));
    assert_eq!(failed[0].actor_subject.as_deref(), Some(actor.as_str()));
    assert_eq!(user(&app, &uid).await["last_sign_in_at"], at * 1000);

    // RISC account-disabled suspends, account-enabled reactivates.
    let disable = set(
        &app,
        email("ada@example.com"),
        &format!("{RISC}account-disabled"),
        json!({}),
    );
    accepted(&send(&app, &name, disable).await);
    assert_eq!(user(&app, &uid).await["status"], "suspended");
    let enable = set(
        &app,
        email("ada@example.com"),
        &format!("{RISC}account-enabled"),
        json!({}),
    );
    accepted(&send(&app, &name, enable.clone()).await);
    assert_eq!(user(&app, &uid).await["status"], "active");
    // Enabling an active account is no legal move: accepted, nothing changes.
    let version = user(&app, &uid).await["version"].clone();
    accepted(&send(&app, &name, enable).await);
    assert_eq!(user(&app, &uid).await["version"], version);
    let status_changes = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.status" && e.actor_subject.as_deref() == Some(actor.as_str()))
        .count();
    assert_eq!(status_changes, 2);

    // CAEP credential-change: create adds the factor, delete removes it.
    let credential = |change: &str| {
        set(
            &app,
            email("ada@example.com"),
            &format!("{CAEP}credential-change"),
            json!({ "credential_type": "app", "change_type": change, "friendly_name": "Authy" }),
        )
    };
    accepted(&send(&app, &name, credential("create")).await);
    let factors = app
        .call_ok("mfa/factors", &form(&[("user_id", &uid)]))
        .await;
    let factors = factors.as_array().unwrap();
    assert_eq!(factors.len(), 1, "{factors:?}");
    assert_eq!(factors[0]["kind"], "totp");
    assert_eq!(factors[0]["label"], "Authy");
    accepted(&send(&app, &name, credential("delete")).await);
    let factors = app
        .call_ok("mfa/factors", &form(&[("user_id", &uid)]))
        .await;
    assert_eq!(factors, json!([]));
    // A password is not a factor Gatehouse keeps: accepted and ignored.
    let password = set(
        &app,
        email("ada@example.com"),
        &format!("{CAEP}credential-change"),
        json!({ "credential_type": "password", "change_type": "update" }),
    );
    accepted(&send(&app, &name, password).await);

    // CAEP device-compliance-change: the MDM names the device by its identifier.
    let device = app
        .call_ok(
            "devices/register",
            &form(&[
                ("user_id", &uid),
                ("input[name]", "Ada's laptop"),
                ("input[kind]", "laptop"),
                ("input[platform]", "macos"),
                ("input[fingerprint]", "mdm-4711"),
            ]),
        )
        .await;
    let device_id = device["id"].as_str().unwrap().to_string();
    let compliance = |status: &str| {
        set(
            &app,
            json!({ "format": "complex", "user": email("ada@example.com"),
                    "device": { "format": "opaque", "id": "mdm-4711" } }),
            &format!("{CAEP}device-compliance-change"),
            json!({ "current_status": status, "previous_status": "not-compliant" }),
        )
    };
    accepted(&send(&app, &name, compliance("compliant")).await);
    assert_eq!(trust_state(&app, &uid, &device_id).await, "trusted");
    accepted(&send(&app, &name, compliance("not-compliant")).await);
    assert_eq!(trust_state(&app, &uid, &device_id).await, "untrusted");

    // The transmitter's page: what was received and what it did.
    let detail = transmitter(&app, &id).await;
    assert_eq!(detail["push_url"], push_url(&app));
    assert_eq!(detail["transmitter"]["received"], 10, "{detail}");
    assert_eq!(detail["transmitter"]["rejected"], 0);
    assert!(detail["transmitter"]["last_received_at"].as_i64().unwrap() > 0);
    let recent = detail["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 10);
    let results: Vec<&str> = recent
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| **r == "applied").count(),
        8,
        "{recent:?}"
    );
    assert_eq!(results.iter().filter(|r| **r == "ignored").count(), 2);
    assert!(recent
        .iter()
        .all(|r| !r["summary"].as_str().unwrap().is_empty()));
    let listed = app.call_ok("signals/transmitters/list", "").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn subjects_match_by_guid_and_by_iss_sub_in_the_source_and_a_stranger_changes_nothing() {
    let app = spawn().await;
    // A person with two accounts: an opaque GUID subject is about both.
    let a = app.create_user("lin@example.com", "Lin", &[]).await;
    let b = app.create_user("lin.admin@example.com", "Lin", &[]).await;
    let guid = a["guid"].as_str().unwrap();
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    app.call_ok("users/relink", &form(&[("id", &b), ("guid", guid)]))
        .await;
    let all = tenant("all");
    let issuer = peer_transmitter(&all).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    register(&app, &issuer, &[]).await;
    accepted(
        &send(
            &app,
            &all,
            set(
                &app,
                json!({ "format": "opaque", "id": guid }),
                &format!("{RISC}account-disabled"),
                json!({}),
            ),
        )
        .await,
    );
    assert_eq!(user(&app, &a).await["status"], "suspended");
    assert_eq!(user(&app, &b).await["status"], "suspended");

    // A transmitter of one provisioning source: iss_sub is its users' external id, and an
    // email outside the source is nobody it speaks of.
    app.call_ok(
        "sources/create",
        &form(&[
            ("input[id]", "okta-eu"),
            ("input[name]", "Okta EU"),
            ("input[match_rule]", "none"),
        ]),
    )
    .await;
    let okta = app
        .create_user(
            "kim@example.com",
            "Kim",
            &[
                ("input[source]", "okta-eu"),
                ("input[external_id]", "00u42"),
            ],
        )
        .await;
    let okta = okta["id"].as_str().unwrap().to_string();
    let outsider = app.create_user("sam@example.com", "Sam", &[]).await;
    let outsider = outsider["id"].as_str().unwrap().to_string();
    let scoped = tenant("okta");
    let scoped_issuer = peer_transmitter(&scoped).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    let t = register(&app, &scoped_issuer, &[("input[source_id]", "okta-eu")]).await;
    assert_eq!(t["source_id"], "okta-eu");
    accepted(
        &send(
            &app,
            &scoped,
            set(
                &app,
                json!({ "format": "iss_sub", "iss": scoped_issuer, "sub": "00u42" }),
                &format!("{RISC}account-disabled"),
                json!({}),
            ),
        )
        .await,
    );
    assert_eq!(user(&app, &okta).await["status"], "suspended");

    let before = by_transmitters(&app).await;
    let outsider_version = user(&app, &outsider).await["version"].clone();
    for subject in [
        email("sam@example.com"),
        email("nobody@nowhere.example"),
        json!({ "format": "opaque", "id": "g_unknown" }),
        json!({ "format": "phone_number", "phone_number": "+41790000000" }),
    ] {
        let p = send(
            &app,
            &scoped,
            set(&app, subject, &format!("{RISC}account-disabled"), json!({})),
        )
        .await;
        accepted(&p);
    }
    assert_eq!(user(&app, &outsider).await["status"], "active");
    assert_eq!(user(&app, &outsider).await["version"], outsider_version);
    assert_eq!(
        by_transmitters(&app).await,
        before,
        "nothing was changed, so nothing was audited"
    );
    let detail = transmitter(&app, t["id"].as_str().unwrap()).await;
    let results: Vec<&str> = detail["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "unmatched",
            "unmatched",
            "unmatched",
            "unmatched",
            "applied"
        ],
        "newest first: {detail}"
    );
}

#[tokio::test]
async fn forged_replayed_expired_and_misaddressed_tokens_are_refused_audited_and_change_nothing() {
    let app = spawn().await;
    let name = tenant("refuse");
    let issuer = peer_transmitter(&name).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    let t = register(&app, &issuer, &[]).await;
    let id = t["id"].as_str().unwrap().to_string();
    let u = app.create_user("eve@example.com", "Eve", &[]).await;
    let uid = u["id"].as_str().unwrap().to_string();
    let disable = || {
        set(
            &app,
            email("eve@example.com"),
            &format!("{RISC}account-disabled"),
            json!({}),
        )
    };
    let with = |extra: Value| {
        let mut c = disable();
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let mut expected_rejections = 0;
    for (forge, err, why) in [
        ("wrong_key", "invalid_key", "signature"),
        ("no_typ", "invalid_request", "typ"),
        ("alg_none", "invalid_request", "alg"),
        ("hs256", "invalid_request", "alg"),
    ] {
        refused_for(&forged(&app, &name, disable(), forge).await, err, why);
        expected_rejections += 1;
        unchanged(&app, &uid).await;
        assert_eq!(
            rejections(&app).await.len(),
            expected_rejections,
            "{forge} is audited"
        );
    }
    let now = now_secs();
    for (claims, err, why) in [
        (
            with(json!({ "iat": now - 2 * 86_400 })),
            "invalid_request",
            "expired",
        ),
        (
            with(json!({ "exp": now - 10 })),
            "invalid_request",
            "expired",
        ),
        (
            with(json!({ "iat": now + 3_600 })),
            "invalid_request",
            "future",
        ),
        (
            with(json!({ "aud": "https://someone-else.example" })),
            "invalid_audience",
            "does not contain",
        ),
        (with(json!({ "jti": null })), "invalid_request", "jti"),
        (
            with(json!({ "iss": "https://unknown.example/idp" })),
            "invalid_issuer",
            "not a registered transmitter",
        ),
    ] {
        refused_for(&send(&app, &name, claims).await, err, why);
        expected_rejections += 1;
        unchanged(&app, &uid).await;
        assert_eq!(rejections(&app).await.len(), expected_rejections);
    }
    // The refusal of a stranger names no actor; a registered transmitter's names it.
    let audited = rejections(&app).await;
    let stranger = audited
        .iter()
        .find(|e| e.details.contains("unknown.example"))
        .unwrap();
    assert_eq!(stranger.actor_subject, None);
    assert!(stranger.details.contains("invalid_issuer"));
    let forged_one = &audited[0];
    assert_eq!(
        forged_one.actor_subject.as_deref(),
        Some(format!("sst:{id}").as_str())
    );
    assert_eq!(forged_one.outcome, "denied");
    assert!(
        forged_one.details.contains("invalid_key"),
        "{}",
        forged_one.details
    );

    // Replay: the same token a second time is refused, even after the change was undone.
    let first = send(&app, &name, disable()).await;
    accepted(&first);
    assert_eq!(user(&app, &uid).await["status"], "suspended");
    app.call_ok(
        "users/status",
        &form(&[("id", &uid), ("status", "active"), ("version", "2")]),
    )
    .await;
    let again = peer_call(
        &name,
        "resend",
        json!({ "endpoint_url": push_url(&app), "token": first.token }),
    )
    .await;
    refused_for(&again, "invalid_request", "already received");
    expected_rejections += 1;
    assert_eq!(user(&app, &uid).await["status"], "active", "not replayed");

    // Content-Type: a valid token sent as JSON is refused; as a SET it is accepted.
    let parked = peer_call(
        &name,
        "send",
        json!({ "endpoint_url": format!("{}/health", peer()), "claims": disable() }),
    )
    .await;
    let as_json = reqwest::Client::new()
        .post(push_url(&app))
        .header("content-type", "application/json")
        .body(parked.token.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(as_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = as_json.json().await.unwrap();
    assert_eq!(body["err"], "invalid_request");
    assert!(body["description"]
        .as_str()
        .unwrap()
        .contains("Content-Type"));
    expected_rejections += 1;
    assert_eq!(user(&app, &uid).await["status"], "active");

    // A disabled transmitter's tokens are refused, signed or not.
    app.call_ok(
        "signals/transmitters/status",
        &form(&[("id", &id), ("status", "disabled")]),
    )
    .await;
    let p = send(&app, &name, disable()).await;
    refused(&p, "invalid_issuer");
    expected_rejections += 1;
    assert_eq!(user(&app, &uid).await["status"], "active");
    assert_eq!(rejections(&app).await.len(), expected_rejections);
    let view = transmitter(&app, &id).await;
    assert_eq!(view["transmitter"]["status"], "disabled");
    assert_eq!(view["transmitter"]["received"], 1);
    assert_eq!(
        view["transmitter"]["rejected"].as_i64().unwrap(),
        expected_rejections as i64 - 2,
        "every refusal is counted on its transmitter but the stranger's and the one not read as a token"
    );
    assert!(view["transmitter"]["last_error"]
        .as_str()
        .unwrap()
        .starts_with("invalid_issuer"));

    // Enabled again, the parked token (never received) is accepted.
    app.call_ok(
        "signals/transmitters/status",
        &form(&[("id", &id), ("status", "active")]),
    )
    .await;
    let as_set = reqwest::Client::new()
        .post(push_url(&app))
        .header("content-type", "application/secevent+jwt")
        .body(parked.token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_set.status(), StatusCode::ACCEPTED);
    assert_eq!(user(&app, &uid).await["status"], "suspended");
}

#[tokio::test]
async fn a_rotated_key_verifies_once_the_unknown_kid_fetched_the_keys_again() {
    let app = spawn().await;
    let name = tenant("rotate");
    let issuer = peer_transmitter(&name).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    let t = register(&app, &issuer, &[]).await;
    let id = t["id"].as_str().unwrap().to_string();
    let fetched_at = t["keys_fetched_at"].as_i64().unwrap();
    let u = app.create_user("rio@example.com", "Rio", &[]).await;
    let uid = u["id"].as_str().unwrap().to_string();
    let disable = set(
        &app,
        email("rio@example.com"),
        &format!("{RISC}account-disabled"),
        json!({}),
    );

    // The peer rotates its key. Within a minute of the last fetch the unknown kid is refused
    // (a stream of made-up kids cannot make Gatehouse fetch again and again).
    peer_transmitter(&name).await;
    let p = send(&app, &name, disable.clone()).await;
    refused(&p, "invalid_key");
    assert!(p.body["description"].as_str().unwrap().contains("kid"));
    assert_eq!(user(&app, &uid).await["status"], "active");

    // A minute later the unknown kid fetches the keys again, and the token verifies.
    app.state.clock.advance(Duration::from_secs(61));
    let p = send(&app, &name, disable).await;
    accepted(&p);
    assert_eq!(user(&app, &uid).await["status"], "suspended");
    let view = transmitter(&app, &id).await["transmitter"].clone();
    assert!(view["keys_fetched_at"].as_i64().unwrap() > fetched_at);
    assert_eq!(view["key_count"], 1);

    // "Fetch keys" in the console does the same at once.
    let again = app
        .call_ok("signals/transmitters/keys", &form(&[("id", &id)]))
        .await;
    assert_eq!(again["key_count"], 1);
    assert_eq!(again["last_error"], "");
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "ssf.transmitter.keys" && e.outcome == "success"));
}

#[tokio::test]
async fn transmitters_are_managed_in_the_console_and_the_rest_api_and_bad_input_makes_nothing() {
    let app = spawn().await;
    // Every field's reason at once; nothing is stored.
    let res = app
        .call(
            &app.client,
            "signals/transmitters/create",
            &form(&[
                ("input[name]", ""),
                ("input[issuer]", "http://idp.example.com"),
                ("input[jwks_uri]", "ftp://keys.example.com"),
                ("input[source_id]", "no-such-source"),
                ("input[max_age_seconds]", "5"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = res.text().await.unwrap();
    for field in ["Name", "Issuer", "JWKS URI", "Source", "Max age"] {
        assert!(text.contains(field), "{field} in {text}");
    }
    assert_eq!(
        app.call_ok("signals/transmitters/list", "").await,
        json!([])
    );

    // Registered in the console, changed against its version, a stale version refused.
    let name = tenant("console");
    let issuer = peer_transmitter(&name).await["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    let made = register(&app, &issuer, &[]).await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["audience"], app.url);
    let again = app
        .call(
            &app.client,
            "signals/transmitters/create",
            &form(&[("input[name]", "Twice"), ("input[issuer]", &issuer)]),
        )
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "one per issuer");
    let save = |version: &str, name: &str| {
        form(&[
            ("id", &id),
            ("version", version),
            ("input[name]", name),
            ("input[issuer]", &issuer),
            ("input[jwks_uri]", made["jwks_uri"].as_str().unwrap()),
            ("input[max_age_seconds]", "3600"),
        ])
    };
    let saved = app
        .call_ok("signals/transmitters/save", &save("1", "Corporate IdP"))
        .await;
    assert_eq!(saved["name"], "Corporate IdP");
    assert_eq!(saved["max_age_seconds"], 3600);
    assert_eq!(saved["audience"], app.url, "empty: the public URL");
    assert_eq!(saved["version"], 2);
    let stale = app
        .call(
            &app.client,
            "signals/transmitters/save",
            &save("1", "Someone else"),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(
        transmitter(&app, &id).await["transmitter"]["name"],
        "Corporate IdP"
    );
    app.call_ok("signals/transmitters/delete", &form(&[("id", &id)]))
        .await;
    let gone = app
        .call(
            &app.client,
            "signals/transmitters/get",
            &form(&[("id", &id)]),
        )
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.target_id.as_deref() == Some(id.as_str()))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "ssf.transmitter.create",
            "ssf.transmitter.update",
            "ssf.transmitter.delete"
        ]
    );

    // The REST API, with a service account's token.
    let api = service_token(&app, &["signals:manage"]).await;
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1/signals/transmitters", app.url);
    let bad = client
        .post(&base)
        .bearer_auth(&api)
        .json(&json!({ "name": "No issuer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("Issuer"));
    let listed: Value = client
        .get(&base)
        .bearer_auth(&api)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "nothing was made");
    let made = client
        .post(&base)
        .bearer_auth(&api)
        .json(&json!({ "name": "Laptop MDM", "issuer": issuer }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let location = made.headers()["location"].to_str().unwrap().to_string();
    let made: Value = made.json().await.unwrap();
    let id = made["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/signals/transmitters/{id}"));
    let url = format!("{}{location}", app.url);
    let got = client.get(&url).bearer_auth(&api).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["transmitter"]["issuer"], issuer.as_str());
    assert_eq!(got["push_url"], push_url(&app));
    let patch = |version: i64, name: &str| {
        client
            .patch(&url)
            .bearer_auth(&api)
            .json(&json!({ "version": version, "name": name }))
            .send()
    };
    let patched = patch(1, "Laptop MDM (EU)").await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Laptop MDM (EU)");
    assert_eq!(patched["issuer"], issuer.as_str(), "kept");
    assert_eq!(
        patch(1, "Stale").await.unwrap().status(),
        StatusCode::CONFLICT
    );
    let status = |body: Value| {
        client
            .post(format!("{url}/status"))
            .bearer_auth(&api)
            .json(&body)
            .send()
    };
    assert_eq!(
        status(json!({ "status": "sleeping" }))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    let disabled: Value = status(json!({ "status": "disabled" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["status"], "disabled");
    let keys = client
        .post(format!("{url}/keys"))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), StatusCode::OK);
    assert_eq!(keys.json::<Value>().await.unwrap()["key_count"], 1);
    let gone = client.delete(&url).bearer_auth(&api).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let missing = client.get(&url).bearer_auth(&api).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let other_scope = service_token(&app, &["webhooks:manage"]).await;
    let denied = client
        .get(&base)
        .bearer_auth(other_scope)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
}
