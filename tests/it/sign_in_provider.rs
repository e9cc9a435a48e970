//! Sign-in against a provider that behaves unusually: groups only in userinfo, a userinfo answer
//! about someone else, no email claim, a rotated signing key, and a provider that is gone by the
//! time the browser comes back.
use crate::common::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn hook(path: &str, body: Value) {
    let res = Client::new()
        .post(format!("{}/__test/{path}", idp_issuer()))
        .json(&body)
        .send()
        .await
        .expect("provider hook");
    assert!(
        res.status().is_success(),
        "the dev provider must run with IDP_TEST_HOOKS=1: {path} answered {}",
        res.status()
    );
}

/// The reason recorded by the last failed sign-in.
async fn last_failure(app: &TestApp) -> String {
    let events = app.audit_events().await;
    let e = events.last().expect("an audit event");
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("auth.sign_in", "failed"),
        "{e:?}"
    );
    let details: Value = serde_json::from_str(&e.details).unwrap();
    details["reason"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn groups_sent_only_in_userinfo_still_decide_the_role() {
    let app = TestApp::spawn().await;
    let client = browser();
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&client, AUDITOR, "/audit").await;
    hook("next-id-token", json!({ "omit": ["groups"] })).await;
    let res = client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed in");
    assert_eq!(location(&res), "/audit");
    let me: Value = app.call(&client, "me", "").await.json().await.unwrap();
    assert_eq!(me["role"], "auditor", "{me}");
}

#[tokio::test]
async fn a_userinfo_answer_about_another_subject_is_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&client, ADMIN, "/").await;
    // Without groups in the ID token Gatehouse asks userinfo, which answers for someone else.
    hook("next-id-token", json!({ "omit": ["groups"] })).await;
    hook("next-userinfo", json!({ "sub": "someone-else" })).await;
    let res = client.get(callback).send().await.unwrap();
    hook("next-userinfo", json!({ "sub": null })).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("another subject"), "{html}");
    assert_eq!(last_failure(&app).await, "invalid_id_token");
    let res = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no session");
}

#[tokio::test]
async fn an_identity_without_an_email_is_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&client, ADMIN, "/").await;
    hook("next-id-token", json!({ "omit": ["email"] })).await;
    let res = client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("incomplete identity"), "{html}");
    assert_eq!(last_failure(&app).await, "incomplete_identity");
    let res = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no session");
}

#[tokio::test]
async fn sign_in_keeps_working_after_the_provider_rotates_its_signing_key() {
    let app = TestApp::spawn().await;
    assert_eq!(app.sign_in(ADMIN).await.status(), StatusCode::SEE_OTHER);
    // Gatehouse has the provider's keys cached from discovery; the provider now signs with a new
    // key the cache does not hold.
    hook("rotate-signing-key", json!({})).await;
    let client = browser();
    let res = app.sign_in_with(&client, AUDITOR).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "signed in after rotation"
    );
    let me: Value = app.call(&client, "me", "").await.json().await.unwrap();
    assert_eq!(me["role"], "auditor", "{me}");
}

#[tokio::test]
async fn a_provider_that_is_down_at_the_callback_gets_a_clear_message() {
    // A provider of this test only, on its own port, so stopping it disturbs no other test.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut idp = start_dev_provider(port).await;
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_OIDC_ISSUER", issuer.clone());
    })
    .await;
    let client = browser();
    let callback = app.authorize(&client, ADMIN, "/").await;
    idp.kill().await.unwrap();
    let _ = idp.wait().await;

    let res = client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("identity provider is unreachable"), "{html}");
    assert!(html.contains("/login"), "offers to try again: {html}");
    assert_eq!(last_failure(&app).await, "idp_unreachable");
    let res = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no session");
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let callback = app.authorize(&client, ADMIN, "/").await;
    // RFC 9207: the response names its issuer; a mix-up attack sends another one's response here.
    let mut url = reqwest::Url::parse(&callback).unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(kept.iter().any(|(k, _)| k == "code"), "{callback}");
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("iss", "https://attacker.example");
    let res = client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("unexpected issuer"), "{html}");
    assert_eq!(last_failure(&app).await, "issuer_mismatch");
    let res = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no session");
}
