//! Revoke everywhere and sign out everywhere (issue 16) against the real SCIM server
//! (TEST_SCIM_SERVER) and the SSF peer receiver (TEST_SSF_PEER), which verifies every token
//! with a third-party JOSE library. Delivery is the background worker's (polled every 50 ms);
//! nothing here waits for a backoff: failing targets get one attempt.
use crate::api_v1::{api, service_token};
use crate::apps::{register as register_app, OWNER};
use crate::common::*;
use crate::provisioning_out::{active, configure, remote, tenant as scim_tenant, until};
use crate::signals::{
    accepted, create_stream, event_type, peer_receiver, received, tenant, CAEP, RISC,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
        env.insert("GATEHOUSE_OUTBOX_POLL_MS", "50".into());
        env.insert("GATEHOUSE_OUTBOX_TIMEOUT_SECS", "1".into());
    })
    .await;
    assert_eq!(app.sign_in(ADMIN).await.status(), StatusCode::SEE_OTHER);
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    app
}

fn events() -> Value {
    json!([
        format!("{RISC}account-disabled"),
        format!("{CAEP}session-revoked"),
    ])
}

/// A receiver registered in the console whose stream the peer set up; `(receiver id, peer name)`.
async fn receiver(app: &TestApp, what: &str, max_attempts: &str) -> (String, String) {
    let name = tenant(what);
    let audience = format!("https://{name}.example");
    let made = app
        .call_ok(
            "signals/create",
            &form(&[
                ("input[name]", &format!("Receiver {what}")),
                ("input[audience]", &audience),
                ("input[subject_format]", "email"),
                ("input[max_attempts]", max_attempts),
            ]),
        )
        .await;
    let id = made["receiver"]["id"].as_str().unwrap().to_string();
    let token = made["token"].as_str().unwrap();
    let push = peer_receiver(app, &name, &audience).await;
    create_stream(app, token, &push, events()).await;
    (id, name)
}

/// A person with two accounts (the second merged in); `(survivor guid, absorbed guid, ids)`.
async fn person_with_two_accounts(
    app: &TestApp,
    a: &str,
    b: &str,
) -> (String, String, Vec<String>) {
    let first = app.create_user(a, "Ada Lovelace", &[]).await;
    let second = app.create_user(b, "Ada King", &[]).await;
    let (ga, gb) = (
        first["guid"].as_str().unwrap().to_string(),
        second["guid"].as_str().unwrap().to_string(),
    );
    let merged = app
        .call_ok(
            "guids/merge",
            &form(&[("survivor", &ga), ("absorbed", &gb)]),
        )
        .await;
    assert_eq!(merged["accounts"].as_array().unwrap().len(), 2, "{merged}");
    let ids = [&first, &second]
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    (ga, gb, ids)
}

async fn call(app: &TestApp, client: &Client, name: &str, body: &str) -> (StatusCode, Value) {
    let res = app.call(client, name, body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn act(guid: &str, reason: &str, ticket: &str) -> String {
    form(&[("guid", guid), ("reason", reason), ("ticket", ticket)])
}

/// Polls the progress until the revocation settles (delivery is asynchronous by design).
async fn settled(app: &TestApp, id: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = app.call_ok("revocations/get", &form(&[("id", id)])).await;
        if last["settled"] == true {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the revocation never settled: {last}");
}

fn targets<'a>(p: &'a Value, kind: &str) -> Vec<&'a Value> {
    p["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == kind)
        .collect()
}

async fn status_of(app: &TestApp, user_id: &str) -> String {
    let u = app.call_ok("users/get", &form(&[("id", user_id)])).await;
    u["status"].as_str().unwrap().to_string()
}

async fn actions(app: &TestApp, action: &str) -> Vec<gatehouse::model::audit::AuditEvent> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test]
async fn an_admin_revokes_a_person_everywhere_and_every_target_confirms() {
    let app = spawn().await;
    let (guid, absorbed, ids) =
        person_with_two_accounts(&app, "ada@example.com", "ada.king@example.com").await;
    let (app_id, _) = register_app(&app, "Wiki", "wiki:read").await;
    let base = scim_tenant();
    configure(&app, &app_id, &base, &[]).await;
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "ada@example.com")]),
    )
    .await;
    until(&base, &guid, "the person's account", |u| {
        active(u) == Some(true)
    })
    .await;
    let key = app
        .call_ok(
            "keys/create",
            &form(&[
                ("input[application_id]", &app_id),
                ("input[name]", "ada's script"),
                ("input[owner]", "ada@example.com"),
                ("input[scopes][0]", "wiki:read"),
            ]),
        )
        .await;
    let key_id = key["summary"]["id"].as_str().unwrap().to_string();
    let (receiver_id, peer) = receiver(&app, "revoke", "8").await;

    // What the page warns about before anyone acts.
    let before = app
        .call_ok("people/revocations", &form(&[("guid", &guid)]))
        .await;
    let preview = &before["preview"];
    assert_eq!(
        (
            &preview["accounts"],
            &preview["suspendable"],
            &preview["keys"],
            &preview["applications"],
            &preview["receivers"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(1), &json!(1)),
        "{before}"
    );
    assert_eq!(before["revocations"], json!([]));

    // Acting on the absorbed GUID acts on the person it was merged into.
    let p = app
        .call_ok(
            "people/revoke_everywhere",
            &act(&absorbed, "Laptop stolen, reported by phone", "SEC-4711"),
        )
        .await;
    let id = p["revocation"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("rev_"), "{p}");
    assert_eq!(p["revocation"]["guid"], guid.as_str());
    assert_eq!(p["revocation"]["kind"], "revoke");
    // Done at once, in Gatehouse: both accounts suspended, the key revoked.
    let accounts = targets(&p, "account");
    assert_eq!(accounts.len(), 2, "{p}");
    assert!(accounts.iter().all(|t| t["state"] == "done"), "{p}");
    for uid in &ids {
        assert_eq!(status_of(&app, uid).await, "suspended");
    }
    let keys = targets(&p, "api_key");
    assert_eq!(keys.len(), 1, "{p}");
    assert_eq!(keys[0]["id"], key_id.as_str());
    let key_now = app.call_ok("keys/get", &form(&[("id", &key_id)])).await;
    assert_eq!(key_now["status"], "revoked", "{key_now}");
    // Queued: the application and the receiver, each with the messages this action wrote.
    let apps = targets(&p, "application");
    assert_eq!(apps.len(), 1, "{p}");
    assert_eq!(apps[0]["name"], "Wiki");
    assert_eq!(apps[0]["href"], format!("/apps/{app_id}"));
    let receivers = targets(&p, "receiver");
    assert_eq!(receivers.len(), 1, "{p}");
    assert_eq!(receivers[0]["id"], receiver_id.as_str());
    assert_eq!(
        receivers[0]["messages"], 4,
        "account-disabled and session-revoked per account: {p}"
    );
    assert_eq!(p["outbound"], 2);

    // The worker delivers; every target turns confirmed and the revocation settles.
    let done = settled(&app, &id).await;
    for t in done["targets"].as_array().unwrap() {
        let expected = if t["kind"] == "application" || t["kind"] == "receiver" {
            "confirmed"
        } else {
            "done"
        };
        assert_eq!(t["state"], expected, "{done}");
    }
    assert_eq!(done["confirmed"], 2);
    assert_eq!(done["failed"], 0);
    assert!(done["revocation"]["settled_at"].as_i64().unwrap() > 0);

    // The application holds the person deactivated.
    let there = remote(&base, &guid).await;
    assert_eq!(active(&there), Some(false), "{there:?}");

    // The receiver holds a verified session-revoked and account-disabled for each account.
    let got = accepted(&peer, 4).await;
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|set| {
            (
                event_type(set),
                set["claims"]["sub_id"]["email"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = Vec::new();
    for email in ["ada.king@example.com", "ada@example.com"] {
        expected.push((format!("{RISC}account-disabled"), email.to_string()));
        expected.push((format!("{CAEP}session-revoked"), email.to_string()));
    }
    expected.sort();
    assert_eq!(seen, expected);
    let state = received(&peer).await;
    assert_eq!(state["rejected"], json!([]), "the peer refused nothing");
    assert_eq!(state["accepted"].as_array().unwrap().len(), 4, "{state}");
    let revoked = got
        .iter()
        .find(|s| event_type(s) == format!("{CAEP}session-revoked"))
        .unwrap();
    let why = revoked["claims"]["events"][format!("{CAEP}session-revoked")]["reason_admin"]["en"]
        .as_str()
        .unwrap();
    assert!(why.contains("SEC-4711") && !why.contains("Laptop"), "{why}");

    // One record of the act, one per account, exactly one of the outcome.
    let act_records = actions(&app, "person.revoke_everywhere").await;
    assert_eq!(act_records.len(), 1);
    assert_eq!(act_records[0].target_id.as_deref(), Some(guid.as_str()));
    let details: Value = serde_json::from_str(&act_records[0].details).unwrap();
    assert_eq!(details["reason"], "Laptop stolen, reported by phone");
    assert_eq!(details["ticket"], "SEC-4711");
    assert_eq!(details["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(details["accounts"][0]["after"], "suspended");
    assert_eq!(details["keys"][0]["id"], key_id.as_str());
    assert_eq!(actions(&app, "user.revoke_everywhere").await.len(), 2);
    let outcome = actions(&app, "person.revoke_everywhere.settled").await;
    assert_eq!(outcome.len(), 1, "exactly one instance settles");
    assert_eq!(outcome[0].outcome, "success");
    assert_eq!(outcome[0].actor_email.as_deref(), Some("system"));
    let outcome: Value = serde_json::from_str(&outcome[0].details).unwrap();
    assert_eq!(outcome["revocation"], id.as_str());
    let states: Vec<(&str, &str)> = outcome["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&("application", "confirmed")), "{outcome}");
    assert!(states.contains(&("receiver", "confirmed")), "{outcome}");
    assert_eq!(states.iter().filter(|(_, s)| *s == "done").count(), 3);
    // Reading it again settles nothing more.
    app.call_ok("revocations/get", &form(&[("id", &id)])).await;
    assert_eq!(
        actions(&app, "person.revoke_everywhere.settled")
            .await
            .len(),
        1
    );

    // The person page lists it; the REST API reads the same progress.
    let after = app
        .call_ok("people/revocations", &form(&[("guid", &absorbed)]))
        .await;
    assert_eq!(after["guid"], guid.as_str());
    assert_eq!(after["revocations"][0]["id"], id.as_str());
    assert_eq!(after["preview"]["suspendable"], 0);
    assert_eq!(after["preview"]["keys"], 0);
    let reader = service_token(&app, &["users:read"]).await;
    let res = api(
        &app,
        &reader,
        "GET",
        &format!("/api/v1/revocations/{id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rest: Value = res.json().await.unwrap();
    assert_eq!(rest["settled"], true);
    assert_eq!(rest["confirmed"], 2);
    let page = app.get(&format!("/guids/{guid}/revocations/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("2 of 2 confirmed"), "the summary line");
}

#[tokio::test]
async fn support_signs_a_person_out_everywhere_and_nothing_else_changes() {
    let app = spawn().await;
    let support = browser();
    assert_eq!(
        app.sign_in_with(&support, SUPPORT).await.status(),
        StatusCode::SEE_OTHER
    );
    let user = app
        .create_user("grace@example.com", "Grace Hopper", &[])
        .await;
    let (uid, guid) = (
        user["id"].as_str().unwrap().to_string(),
        user["guid"].as_str().unwrap().to_string(),
    );
    let (_, peer) = receiver(&app, "sign-out", "8").await;

    // Support cannot revoke: refused before anything is read, and nothing changes.
    let denied_before = actions(&app, "access.denied").await.len();
    let (status, _) = call(
        &app,
        &support,
        "people/revoke_everywhere",
        &act(&guid, "Phishing", ""),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        actions(&app, "access.denied").await.len(),
        denied_before + 1
    );
    assert_eq!(status_of(&app, &uid).await, "active");
    assert!(actions(&app, "person.revoke_everywhere").await.is_empty());

    // Support signs the person out: the status stays, only session-revoked goes out.
    let (status, p) = call(
        &app,
        &support,
        "people/sign_out_everywhere",
        &act(&guid, "Session hijack suspected", "HD-12"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["revocation"]["kind"], "sign_out");
    assert!(targets(&p, "account").is_empty(), "{p}");
    assert!(targets(&p, "application").is_empty(), "{p}");
    let id = p["revocation"]["id"].as_str().unwrap().to_string();
    let done = settled(&app, &id).await;
    assert_eq!(
        targets(&done, "receiver")[0]["state"],
        "confirmed",
        "{done}"
    );
    assert_eq!(status_of(&app, &uid).await, "active");
    let got = accepted(&peer, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(event_type(&got[0]), format!("{CAEP}session-revoked"));
    assert_eq!(got[0]["claims"]["sub_id"]["email"], "grace@example.com");
    assert_eq!(
        received(&peer).await["accepted"].as_array().unwrap().len(),
        1
    );
    let record = actions(&app, "person.sign_out_everywhere").await;
    assert_eq!(record.len(), 1);
    assert_eq!(record[0].actor_email.as_deref(), Some(SUPPORT));
    assert_eq!(
        actions(&app, "person.sign_out_everywhere.settled")
            .await
            .len(),
        1
    );
    assert!(actions(&app, "user.status").await.is_empty());

    // A staff member (here the auditor, once signed in) is not support's to sign out.
    app.sign_in_with(&browser(), AUDITOR).await;
    let staff = app.create_user(AUDITOR, "Audrey Auditor", &[]).await;
    let staff_guid = staff["guid"].as_str().unwrap();
    let (status, refused) = call(
        &app,
        &support,
        "people/sign_out_everywhere",
        &act(staff_guid, "Asked by the person", ""),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let denied = actions(&app, "person.sign_out_everywhere").await;
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[1].outcome, "denied");
}

#[tokio::test]
async fn revoking_a_staff_member_ends_their_console_sessions_and_personal_tokens() {
    let app = spawn().await;
    let support = browser();
    assert_eq!(
        app.sign_in_with(&support, SUPPORT).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, issued) = call(
        &app,
        &support,
        "tokens/issue-personal",
        &form(&[
            ("input[name]", "laptop"),
            ("input[days]", "30"),
            ("input[scopes][0]", "users:read"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["token"].as_str().unwrap().to_string();
    let user = app.create_user(SUPPORT, "Sam Support", &[]).await;
    let (uid, guid) = (
        user["id"].as_str().unwrap().to_string(),
        user["guid"].as_str().unwrap().to_string(),
    );
    let preview = app
        .call_ok("people/revocations", &form(&[("guid", &guid)]))
        .await;
    assert_eq!(preview["preview"]["sessions"], 1, "{preview}");
    assert_eq!(preview["preview"]["tokens"], 1, "{preview}");

    let p = app
        .call_ok(
            "people/revoke_everywhere",
            &act(&guid, "Left the company", ""),
        )
        .await;
    assert_eq!(targets(&p, "session").len(), 1, "{p}");
    assert_eq!(targets(&p, "api_token").len(), 1, "{p}");
    // Nothing had to go out (no application, no receiver): settled in the act itself.
    assert_eq!(p["settled"], true, "{p}");
    assert_eq!(p["outbound"], 0);
    assert_eq!(status_of(&app, &uid).await, "suspended");
    assert_eq!(
        actions(&app, "person.revoke_everywhere.settled")
            .await
            .len(),
        1
    );
    // The staff member's console session and token stop at once.
    let (status, _) = call(&app, &support, "tokens/mine", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = api(&app, &token, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let ended = actions(&app, "auth.session_ended").await;
    assert!(
        ended
            .iter()
            .any(|e| e.details.contains("revoked_everywhere")),
        "{ended:?}"
    );

    // Nobody revokes their own person.
    let own = app.create_user(ADMIN, "Ada Admin", &[]).await;
    let (status, refused) = call(
        &app,
        &app.client,
        "people/revoke_everywhere",
        &act(own["guid"].as_str().unwrap(), "Testing", ""),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused.to_string().contains("your own"), "{refused}");
}

#[tokio::test]
async fn bad_input_and_unknown_people_change_nothing_and_the_api_follows_the_same_rules() {
    let app = spawn().await;
    let user = app.create_user("lin@example.com", "Lin", &[]).await;
    let (uid, guid) = (
        user["id"].as_str().unwrap().to_string(),
        user["guid"].as_str().unwrap().to_string(),
    );
    for (body, field) in [
        (act(&guid, "", ""), "reason"),
        (act(&guid, " ... ", ""), "reason"),
        (act(&guid, "Stolen phone", "no spaces allowed!"), "ticket"),
    ] {
        let (status, error) = call(&app, &app.client, "people/revoke_everywhere", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert!(error.to_string().contains(field), "{error}");
    }
    let (status, _) = call(
        &app,
        &app.client,
        "people/revoke_everywhere",
        &act("g_missing", "Stolen phone", ""),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, &app.client, "revocations/get", "id=rev_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The REST API: the same refusals, and a 202 to follow.
    let revoker = service_token(&app, &["people:revoke"]).await;
    let path = format!("/api/v1/people/{guid}/revoke-everywhere");
    let res = api(&app, &revoker, "POST", &path, Some(json!({})), &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = api(
        &app,
        &revoker,
        "POST",
        "/api/v1/people/g_missing/revoke-everywhere",
        Some(json!({"reason": "Stolen phone"})),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, &uid).await, "active");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM revocations")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing was recorded");
    assert!(actions(&app, "person.revoke_everywhere").await.is_empty());

    let res = api(
        &app,
        &revoker,
        "POST",
        &path,
        Some(json!({"reason": "Stolen phone", "ticket": "SEC-9"})),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = location(&res).to_string();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "/api/v1/revocations/{}",
            body["revocation"]["id"].as_str().unwrap()
        )
    );
    assert_eq!(status_of(&app, &uid).await, "suspended");
    let again = api(
        &app,
        &revoker,
        "POST",
        &path,
        Some(json!({"reason": "Stolen phone", "ticket": "SEC-9"})),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(
        again.headers()["idempotent-replayed"].to_str().unwrap(),
        "true"
    );
    assert_eq!(
        actions(&app, "person.revoke_everywhere").await.len(),
        1,
        "a retry is answered, not done again"
    );
    let reader = service_token(&app, &["users:read"]).await;
    let res = api(&app, &reader, "GET", &location, None, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let record = &actions(&app, "person.revoke_everywhere").await[0];
    assert!(record.actor_subject.as_deref().unwrap().starts_with("sat:"));

    // A token acts on non-staff only: ending staff's console sessions stays a console act.
    app.sign_in_with(&browser(), AUDITOR).await;
    let staff = app.create_user(AUDITOR, "Audrey Auditor", &[]).await;
    // Even a token that may revoke (an administrator's power in the console).
    let signer = service_token(&app, &["people:revoke", "people:sign_out"]).await;
    let res = api(
        &app,
        &signer,
        "POST",
        &format!(
            "/api/v1/people/{}/sign-out-everywhere",
            staff["guid"].as_str().unwrap()
        ),
        Some(json!({"reason": "Asked by the person"})),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_target_that_cannot_be_reached_fails_and_the_revocation_still_settles() {
    let app = spawn().await;
    let user = app.create_user("kim@example.com", "Kim", &[]).await;
    let guid = user["guid"].as_str().unwrap().to_string();
    // An application that made the person's account, whose SCIM server is then gone (nothing
    // listens there; one attempt only). Without an account there, a suspension would have
    // nothing to send and would confirm at once.
    let (app_id, _) = register_app(&app, "Legacy HR", "hr:read").await;
    let base = scim_tenant();
    let target = configure(&app, &app_id, &base, &[]).await;
    app.call_ok(
        "apps/assign",
        &form(&[("id", &app_id), ("person", "kim@example.com")]),
    )
    .await;
    until(&base, &guid, "the person's account", |u| {
        active(u) == Some(true)
    })
    .await;
    let gone = format!("http://127.0.0.1:{}/scim", free_port());
    let version = target["version"].as_i64().unwrap().to_string();
    app.call_ok(
        "provisioning/save",
        &form(&[
            ("id", app_id.as_str()),
            ("version", version.as_str()),
            ("input[base_url]", gone.as_str()),
            ("input[max_attempts]", "1"),
            ("input[attributes][0]", "name"),
        ]),
    )
    .await;
    // A receiver that refuses every push, one attempt only, and one that works.
    let (_, refusing) = receiver(&app, "refusing", "1").await;
    let fail = reqwest::Client::new()
        .post(format!(
            "{}/receivers/{refusing}/fail",
            crate::signals::peer()
        ))
        .json(&json!({"status": 503, "times": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(fail.status(), StatusCode::OK);
    let (_, working) = receiver(&app, "working", "8").await;

    let p = app
        .call_ok(
            "people/revoke_everywhere",
            &act(&guid, "Contract ended early", ""),
        )
        .await;
    assert_eq!(p["outbound"], 3, "{p}");
    let id = p["revocation"]["id"].as_str().unwrap().to_string();
    let done = settled(&app, &id).await;
    let app_target = targets(&done, "application")[0];
    assert_eq!(app_target["state"], "failed", "{done}");
    assert!(!app_target["error"].as_str().unwrap().is_empty(), "{done}");
    let states: Vec<&str> = targets(&done, "receiver")
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    let mut sorted = states.clone();
    sorted.sort();
    assert_eq!(sorted, ["confirmed", "failed"], "{done}");
    assert_eq!(done["failed"], 2);
    assert_eq!(done["confirmed"], 1);
    assert_eq!(accepted(&working, 2).await.len(), 2);

    let outcome = actions(&app, "person.revoke_everywhere.settled").await;
    assert_eq!(outcome.len(), 1);
    assert_eq!(
        outcome[0].outcome, "failed",
        "a failed target fails the outcome"
    );
    let details: Value = serde_json::from_str(&outcome[0].details).unwrap();
    assert_eq!(details["failed"], 2);
}
