//! Signing in and out through the real identity provider, and every way a sign-in can go wrong.
use crate::common::*;
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn each_role_signs_in_and_sees_its_console() {
    let app = TestApp::spawn().await;
    for (email, role_label, sees_audit) in [
        (ADMIN, "Administrator", true),
        (SUPPORT, "Support", false),
        (AUDITOR, "Auditor", true),
    ] {
        let client = browser();
        let res = app.sign_in_with(&client, email).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email}");
        assert_eq!(location(&res), "/");
        let page = client.get(format!("{}/", app.url)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(role_label),
            "{email} should see role {role_label}"
        );
        assert_eq!(
            html.contains("href=\"/audit\""),
            sees_audit,
            "{email} audit link"
        );
    }
}

#[tokio::test]
async fn sign_in_returns_to_the_page_first_asked_for() {
    let app = TestApp::spawn().await;
    let res = app.get("/audit?before=5").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?return_to=%2Faudit%3Fbefore%3D5");
    let _turn = IDP_TURN.lock().await;
    let callback = app
        .authorize(&app.client, ADMIN, "%2Faudit%3Fbefore%3D5")
        .await;
    let res = app.client.get(callback).send().await.unwrap();
    assert_eq!(location(&res), "/audit?before=5");
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_rotated_at_sign_in() {
    let app = TestApp::spawn().await;
    let _turn = IDP_TURN.lock().await;
    let login = app.get("/login").await;
    let before = session_cookie(&login).expect("a pre-sign-in session for state and nonce");
    let callback = app.authorize(&app.client, ADMIN, "/").await;
    let res = app.client.get(callback).send().await.unwrap();
    let after = session_cookie(&res).expect("a session cookie at sign-in");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(after.contains(attr), "{after} lacks {attr}");
    }
    assert!(
        !after.contains("Secure"),
        "plain-http loopback must not set Secure"
    );
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(
        id(&before),
        id(&after),
        "the session id must change at sign-in"
    );
}

#[tokio::test]
async fn sign_in_is_audited_with_actor_and_client() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let events = app.audit_events().await;
    let e = events
        .iter()
        .find(|e| e.action == "auth.sign_in")
        .expect("sign-in event");
    assert_eq!(e.outcome, "success");
    assert_eq!(e.actor_email.as_deref(), Some(ADMIN));
    assert_eq!(e.actor_role.as_deref(), Some("admin"));
    assert_eq!(e.client_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.user_agent.as_deref(), Some("gatehouse-tests"));
}

#[tokio::test]
async fn a_person_without_a_mapped_role_gets_403_and_no_session() {
    let app = TestApp::spawn().await;
    let res = app.sign_in(NOBODY).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("no Gatehouse role"), "{html}");
    let res = app.get("/").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "no session was created"
    );
    let events = app.audit_events().await;
    let e = events.last().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("auth.sign_in", "denied")
    );
    assert_eq!(e.actor_email.as_deref(), Some(NOBODY));
    assert!(e.details.contains("no_role"));
}

/// Asserts a failed sign-in: a clear error page, no session, an audit record with the reason.
async fn assert_sign_in_failed(app: &TestApp, res: reqwest::Response, reason: &str, message: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Sign-in failed") && html.contains(message),
        "expected {message:?} in {html}"
    );
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "no session after a failed sign-in"
    );
    let events = app.audit_events().await;
    let e = events.last().expect("an audit event");
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("auth.sign_in", "failed")
    );
    assert!(
        e.details.contains(reason),
        "reason {reason} in {}",
        e.details
    );
}

#[tokio::test]
async fn wrong_state_is_refused() {
    let app = TestApp::spawn().await;
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&app.client, ADMIN, "/").await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            (
                k.to_string(),
                if k == "state" {
                    "forged".to_string()
                } else {
                    v.to_string()
                },
            )
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let res = app.client.get(url).send().await.unwrap();
    assert_refused_unaudited(&app, res, "state mismatch").await;
}

#[tokio::test]
async fn missing_state_is_refused() {
    let app = TestApp::spawn().await;
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&app.client, ADMIN, "/").await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "state")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let res = app.client.get(url).send().await.unwrap();
    assert_refused_unaudited(&app, res, "state mismatch").await;
}

#[tokio::test]
async fn a_callback_without_a_started_sign_in_is_refused() {
    let app = TestApp::spawn().await;
    let res = app.get("/auth/callback?code=abc&state=xyz").await;
    assert_refused_unaudited(&app, res, "already used").await;
}

/// A callback that does not answer this browser's pending sign-in: refused with a clear page,
/// no session, and nothing written to the audit log (anyone can send such a request).
async fn assert_refused_unaudited(app: &TestApp, res: reqwest::Response, message: &str) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Sign-in failed") && html.contains(message),
        "expected {message:?} in {html}"
    );
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
    assert!(
        app.audit_events()
            .await
            .iter()
            .all(|e| e.action != "auth.sign_in"),
        "an unmatched callback writes nothing"
    );
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let app = TestApp::spawn().await;
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&app.client, ADMIN, "/").await;
    let first = app.client.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    // Same browser replays the callback: the pending sign-in is gone, so the replay is refused
    // without touching the session it already has or writing to the audit log.
    let events = app.audit_events().await.len();
    let res = app.client.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("already used"));
    assert_eq!(app.audit_events().await.len(), events);
    // A fresh sign-in attempt fed the old code (with the new state): the provider refuses it.
    let client = browser();
    let new_callback = app.authorize(&client, ADMIN, "/").await;
    let new_state = url::Url::parse(&new_callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let old_code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let res = client
        .get(format!(
            "{}/auth/callback?code={old_code}&state={new_state}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("did not accept the sign-in code"));
}

#[tokio::test]
async fn a_forged_code_is_refused() {
    let app = TestApp::spawn().await;
    let _turn = IDP_TURN.lock().await;
    let callback = app.authorize(&app.client, ADMIN, "/").await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let res = app
        .get(&format!("/auth/callback?code=forged-code&state={state}"))
        .await;
    assert_sign_in_failed(
        &app,
        res,
        "code_rejected",
        "did not accept the sign-in code",
    )
    .await;
}

#[tokio::test]
async fn id_tokens_that_fail_verification_are_refused() {
    let app = TestApp::spawn().await;
    for how in ["nonce", "audience", "expired", "signature", "issuer"] {
        let client = browser();
        let _turn = IDP_TURN.lock().await;
        let callback = app.authorize(&client, ADMIN, "/").await;
        app.tamper_next_id_token(how).await;
        let res = client.get(callback).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "tampered {how}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("could not be verified"),
            "tampered {how}: {html}"
        );
        let res = client.get(format!("{}/", app.url)).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "no session after tampered {how}"
        );
        let e = app.audit_events().await.pop().unwrap();
        assert_eq!(
            (e.action.as_str(), e.outcome.as_str()),
            ("auth.sign_in", "failed"),
            "{how}"
        );
        assert!(
            e.details.contains("invalid_id_token"),
            "{how}: {}",
            e.details
        );
    }
}

#[tokio::test]
async fn sign_out_ends_the_session_and_the_providers() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let res = app
        .client
        .post(format!("{}/logout", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res).to_string();
    assert!(
        to.starts_with(&format!("{}/session/end", idp_issuer())),
        "RP-initiated logout at the provider: {to}"
    );
    assert!(
        to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri="),
        "{to}"
    );
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.actor_email.as_deref()),
        ("auth.sign_out", Some(ADMIN))
    );
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_SESSION_IDLE_SECS", "120".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    app.state.clock.advance(Duration::from_secs(100));
    assert_eq!(app.get("/").await.status(), 200, "100 s idle of 120");
    app.state.clock.advance(Duration::from_secs(121));
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "idle session must end"
    );
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_even_when_active() {
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_SESSION_IDLE_SECS", "120".into());
        v.insert("GATEHOUSE_SESSION_ABSOLUTE_SECS", "180".into());
        // Role checks are not what this test is about.
        v.insert("GATEHOUSE_ROLE_RECHECK_SECS", "3600".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    for _ in 0..3 {
        app.state.clock.advance(Duration::from_secs(50));
        assert_eq!(app.get("/").await.status(), 200);
    }
    app.state.clock.advance(Duration::from_secs(50));
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "absolute timeout must end the session"
    );
}
