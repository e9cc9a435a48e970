//! Issue 12, the HTTP edge: the verification endpoint's limits and trusted proxies, the sign-in
//! callback, exports only from this site, body limits, and headers on every response.
use crate::apps::{gateway, issue, register, verify, OWNER};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn verify_from(app: &TestApp, caller: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/keys/verify", app.url))
        .bearer_auth(caller)
        .json(&json!({ "key": "nope" }));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap().status()
}

async fn limited_app(
    tweak: impl FnOnce(&mut std::collections::HashMap<&'static str, String>),
) -> TestApp {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_VERIFY_FAILURES_PER_MINUTE", "3".into());
        tweak(env);
    })
    .await;
    app.sign_in(ADMIN).await;
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    app
}

#[tokio::test]
async fn failures_of_unauthenticated_callers_never_lock_out_a_gateway() {
    let app = limited_app(|_| {}).await;
    let gw = gateway(&app).await;
    let (app_id, _) = register(&app, "Orders", "orders:read").await;
    let (_, key) = issue(&app, &app_id, "orders-1", &["orders:read"]).await;
    // Everyone on this address keeps presenting bad caller keys...
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(verify_from(&app, "ghk_bogus", None).await);
    }
    assert_eq!(&statuses[..3], &[StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
    // ...and the gateway on the same address still gets its answers.
    let (status, body) = verify(&app, &gw, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true);
    let (status, body) = verify(&app, &gw, "nope").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (StatusCode::OK, Some("malformed"))
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // Trusted: each forwarded client is counted on its own.
    let app = limited_app(|env| {
        env.insert("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.0/8".into());
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            verify_from(&app, "ghk_bogus", Some("198.51.100.1")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        verify_from(&app, "ghk_bogus", Some("198.51.100.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A forged entry to the left of the real one changes nothing.
    assert_eq!(
        verify_from(&app, "ghk_bogus", Some("198.51.100.2, 198.51.100.1")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        verify_from(&app, "ghk_bogus", Some("198.51.100.2")).await,
        StatusCode::UNAUTHORIZED
    );
    // The audit log records the same address.
    let res = app
        .client
        .post(format!("{}/api/users/create", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", "198.51.100.9")
        .body(form(&[
            ("input[email]", "xff@example.com"),
            ("input[display_name]", "X F"),
            ("input[source]", "hr-emea"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let created: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.create")
        .collect();
    assert!(!created.is_empty());
    assert_eq!(
        created.last().unwrap().client_ip.as_deref(),
        Some("198.51.100.9")
    );

    // Not trusted (the default): the header is ignored and the peer is what counts.
    let app = limited_app(|_| {}).await;
    for i in 0..3 {
        let xff = format!("198.51.100.{}", 10 + i);
        assert_eq!(
            verify_from(&app, "ghk_bogus", Some(&xff)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        verify_from(&app, "ghk_bogus", Some("198.51.100.99")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Starts a sign-in in this browser and returns the `state` the provider would send back.
async fn pending_state(app: &TestApp) -> String {
    let res = app.get("/login").await;
    assert!(res.status().is_redirection());
    let to = url::Url::parse(location(&res)).expect("provider URL");
    to.query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .expect("state in the authorization request")
}

#[tokio::test]
async fn a_callback_without_a_pending_sign_in_touches_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let before = app.audit_events().await.len();
    // A cross-site GET (or any stray one) of the callback, with text meant for the log.
    for query in [
        "error=access_denied&error_description=INJECTED",
        "code=abc&state=forged",
        "",
    ] {
        let res = app.get(&format!("/auth/callback?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(session_cookie(&res).is_none(), "the session is not touched");
    }
    assert_eq!(
        app.audit_events().await.len(),
        before,
        "nothing was written"
    );
    let me = app.call_ok("me", "").await;
    assert_eq!(me["email"], ADMIN, "the person is still signed in");
}

#[tokio::test]
async fn failed_sign_ins_are_bounded_and_rate_limited() {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_SIGN_IN_FAILURES_PER_MINUTE", "2".into());
    })
    .await;
    let long = "x".repeat(10_000);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let state = pending_state(&app).await;
        let res = app
            .get(&format!(
                "/auth/callback?state={state}&error=access_denied&error_description={long}"
            ))
            .await;
        statuses.push(res.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let failures: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "auth.sign_in")
        .collect();
    assert_eq!(
        failures.len(),
        2,
        "the third failure is refused, not written"
    );
    for f in &failures {
        let details = &f.details;
        assert!(
            details.len() < 1_000,
            "stored text is bounded: {} bytes",
            details.len()
        );
    }
    // A state that does not match the pending one writes nothing either.
    pending_state(&app).await;
    let res = app.get("/auth/callback?state=wrong&error=x").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let count = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "auth.sign_in")
        .count();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn exports_start_only_from_this_site() {
    let app = TestApp::spawn().await;
    app.sign_in(AUDITOR).await;
    let exports = |site: &'static str| {
        let (client, url) = (app.client.clone(), app.url.clone());
        async move {
            client
                .get(format!("{url}/audit/export.csv"))
                .header("sec-fetch-site", site)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(exports("cross-site").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(exports("same-site").await.status(), StatusCode::FORBIDDEN);
    let count = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "audit.export")
        .count();
    assert_eq!(count, 0, "a refused export is not started");
    let res = exports("same-origin").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().starts_with("seq,"));
}

#[tokio::test]
async fn oversized_bodies_answer_413_and_malformed_ones_400_everywhere() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let big = "a=".to_string() + &"x".repeat(3 * 1024 * 1024);
    for path in [
        "/api/users/create",
        "/api/me",
        "/logout",
        "/api/v1/keys/verify",
        "/enroll/abc",
        "/nowhere",
    ] {
        let res = app
            .client
            .post(format!("{}{path}", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    // The same without a declared length (chunked).
    let stream =
        futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024])));
    let res = app
        .client
        .post(format!("{}/api/users/create", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Malformed arguments to a server function: 400, not 500.
    let res = app.call(&app.client, "users/create", "nonsense=1").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // The import has its own, larger allowance, and refuses beyond it with 413.
    let huge = vec![b'a'; gatehouse::server::service::jobs::import::MAX_IMPORT_BYTES + 128 * 1024];
    let res = app
        .client
        .post(format!("{}/users/import", app.url))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_personal_data_is_never_cached() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    for path in ["/", "/users", "/healthz", "/users/export.csv", "/nowhere"] {
        let res = app.get(path).await;
        let id = res
            .headers()
            .get("x-request-id")
            .expect("request id")
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 32, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    let res = app.call(&app.client, "me", "").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "plain http: no HSTS"
    );
    // An error page names its request, so a report can be found in the logs.
    let res = app.get("/auth/callback").await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(res.text().await.unwrap().contains(&id));
    // Two requests, two ids.
    let a = app.get("/healthz").await.headers()["x-request-id"].clone();
    let b = app.get("/healthz").await.headers()["x-request-id"].clone();
    assert_ne!(a, b);
}

#[tokio::test]
async fn https_public_url_turns_on_hsts() {
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "GATEHOUSE_PUBLIC_URL",
            "https://gatehouse.example.com".into(),
        );
    })
    .await;
    let res = app.get("/healthz").await;
    let hsts = res.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn heavy_work_is_limited_per_person_with_a_clear_message() {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_HEAVY_JOBS_PER_PERSON", "1".into());
    })
    .await;
    app.sign_in(AUDITOR).await;
    // One export of this person's is still running.
    let running = app.state.heavy.try_start(AUDITOR).expect("first permit");
    let res = app.get("/audit/export.csv").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("wait for one to finish"));
    let res = app.call(&app.client, "audit/verify", "").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(running);
    assert_eq!(app.get("/audit/export.csv").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_import_waits_for_the_persons_running_heavy_work() {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_HEAVY_JOBS_PER_PERSON", "1".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    let csv = "email,display_name,source\nheavy@example.com,Heavy Person,hr-emea\n";
    let running = app.state.heavy.try_start(ADMIN).expect("first permit");
    let res = crate::import::upload(&app, &app.client, csv.as_bytes().to_vec()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("wait for one to finish"));
    let users = app
        .call_ok("users/count", "query[q]=heavy%40example.com")
        .await;
    assert_eq!(users, 0, "nothing imported while refused");
    drop(running);
    let job = crate::import::import_bytes(&app, csv.as_bytes().to_vec()).await;
    assert_eq!(job["state"], "done", "{job}");
}

#[tokio::test]
async fn a_rotated_out_keys_grace_deadline_can_only_be_brought_forward() {
    let app = crate::apps::setup().await;
    let (app_id, _) = register(&app, "Billing", "billing:read").await;
    let (old_id, _) = issue(&app, &app_id, "billing-1", &["billing:read"]).await;
    app.call_ok("keys/rotate", &format!("id={old_id}&grace=3600"))
        .await;
    let before = app.call_ok("keys/get", &format!("id={old_id}")).await;
    let deadline = before["expires_at"].as_i64().expect("a grace deadline");
    let later = chrono::DateTime::from_timestamp_millis(deadline + 86_400_000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    for expires in ["", later.as_str()] {
        let res = app
            .call(
                &app.client,
                "keys/expiry",
                &form(&[("id", &old_id), ("expires", expires)]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{expires:?}");
        assert!(res.text().await.unwrap().contains("rotated out"));
    }
    let after = app.call_ok("keys/get", &format!("id={old_id}")).await;
    assert_eq!(after["expires_at"], before["expires_at"], "nothing changed");
    let sooner = chrono::DateTime::from_timestamp_millis(deadline - 20 * 60_000)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let changed = app
        .call_ok(
            "keys/expiry",
            &form(&[("id", &old_id), ("expires", &sooner)]),
        )
        .await;
    assert!(changed["expires_at"].as_i64().unwrap() < deadline);
}

#[tokio::test]
async fn with_the_database_down_readiness_and_verification_say_503() {
    let app = crate::apps::setup().await;
    let gw = gateway(&app).await;
    assert_eq!(verify(&app, &gw, "nope").await.0, StatusCode::OK);
    let (app_id, _) = register(&app, "Billing", "billing:read").await;
    let (_, cached) = issue(&app, &app_id, "billing-1", &["billing:read"]).await;
    assert_eq!(
        verify(&app, &gw, &cached).await.1["valid"],
        true,
        "now cached"
    );
    app.state.db.pool.close().await;
    // A cached key is answered from the cache only while the cache is known current (a poll
    // succeeded within the last second); past that, with the database gone, the answer is 503.
    app.state.clock.advance(std::time::Duration::from_secs(1));
    let (status, body) = verify(&app, &gw, &cached).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // A key the cache has never seen must be read from the database, which is gone.
    let (_, unknown) = gatehouse::server::service::secrets::new_key();
    let (status, body) = verify(&app, &gw, &unknown).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "unavailable", "{ready}");
    assert_eq!(ready["checks"]["database"]["ok"], false, "{ready}");
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::OK,
        "alive, not ready"
    );
}
