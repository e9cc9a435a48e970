//! One audit event on its own page (issue 18): the summary, the before and after, the chain
//! position with both neighbours, in the console's server function, on the page (server-rendered)
//! and in the REST API; a tampered event shows as not recomputing. And `/system`'s version and
//! effective configuration, secrets redacted.
use crate::api_v1::{api, service_token};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn event_of(app: &TestApp, action: &str, target: &str) -> i64 {
    let events = app.audit_events().await;
    assert!(!events.is_empty());
    events
        .iter()
        .rev()
        .find(|e| e.action == action && e.target_id.as_deref() == Some(target))
        .unwrap_or_else(|| panic!("a {action} event on {target}"))
        .seq
}

#[tokio::test]
async fn an_event_page_says_what_changed_and_where_it_sits_in_the_chain() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let user = app.create_user("eve.page@example.com", "Eve", &[]).await;
    let id = user["id"].as_str().unwrap();
    app.call_ok(
        "users/status",
        &form(&[("id", id), ("status", "suspended"), ("version", "1")]),
    )
    .await;
    let seq = event_of(&app, "user.status", id).await;
    // Something after it, so both neighbours exist.
    app.create_user("eve.after@example.com", "After", &[]).await;

    let d: Value = app.call_ok("audit/event", &format!("seq={seq}")).await;
    assert_eq!(d["event"]["seq"], seq);
    let summary = d["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!(
            "{ADMIN} (admin) performed user.status on user {id}"
        )) && summary.ends_with("it succeeded."),
        "{summary}"
    );
    assert_eq!(
        d["changes"],
        serde_json::json!([{"field": "status", "before": "active", "after": "suspended"}])
    );
    assert_eq!(d["hash_verifies"], true);
    assert_eq!(d["previous"]["seq"], seq - 1);
    assert_eq!(d["previous"]["links"], true);
    assert_eq!(d["previous"]["hash"], d["prev_hash"]);
    assert_eq!(d["next"]["seq"], seq + 1);
    assert_eq!(d["next"]["links"], true);

    // The page renders it on the server: the summary, the change and the chain are in the HTML.
    let html = app
        .get(&format!("/audit/events/{seq}"))
        .await
        .text()
        .await
        .unwrap();
    for expected in [
        "user.status",
        "suspended",
        d["event"]["hash"].as_str().unwrap(),
        d["prev_hash"].as_str().unwrap(),
        "recomputes from its fields",
        &format!("/audit/events/{}", seq + 1),
    ] {
        assert!(html.contains(expected), "{expected} in the page");
    }

    // The REST API answers the same document.
    let token = service_token(&app, &["audit:read"]).await;
    let res = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/audit/events/{seq}"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rest: Value = res.json().await.unwrap();
    assert_eq!(rest["changes"], d["changes"]);
    assert_eq!(rest["event"]["hash"], d["event"]["hash"]);
}

#[tokio::test]
async fn events_that_do_not_exist_are_404_and_a_bad_number_is_400() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    for seq in ["0", "-3", "987654321"] {
        let res = app
            .call(&app.client, "audit/event", &format!("seq={seq}"))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "seq {seq}");
    }
    let token = service_token(&app, &["audit:read"]).await;
    let res = api(&app, &token, "GET", "/api/v1/audit/events/abc", None, &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("not \"abc\""),
        "{problem}"
    );
    let res = api(
        &app,
        &token,
        "GET",
        "/api/v1/audit/events/987654321",
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_changed_event_shows_that_its_hash_no_longer_recomputes() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let user = app.create_user("tamper.page@example.com", "Tam", &[]).await;
    let id = user["id"].as_str().unwrap();
    let seq = event_of(&app, "user.create", id).await;
    app.create_user("tamper.after@example.com", "After", &[])
        .await;
    crate::audit_chain::disable_append_only(&app).await;
    sqlx::query("UPDATE audit_events SET client_ip = '10.6.6.6' WHERE seq = $1")
        .bind(seq)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let d: Value = app.call_ok("audit/event", &format!("seq={seq}")).await;
    assert_eq!(d["hash_verifies"], false, "{d}");
    assert_eq!(
        d["next"]["links"], true,
        "the next event still links to the stored hash"
    );
}

#[tokio::test]
async fn the_system_page_shows_the_build_and_the_configuration_with_secrets_redacted() {
    let app = TestApp::spawn().await;
    app.sign_in(AUDITOR).await;
    let info: Value = app.call_ok("system/info", "").await;
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(!info["commit"].as_str().unwrap().is_empty());
    let engine = info["engine"].as_str().unwrap();
    assert!(engine == "sqlite" || engine == "postgres", "{engine}");
    let checks = info["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(checks
        .iter()
        .any(|c| c["name"] == "database" && c["ok"] == true));
    assert!(checks.iter().any(|c| c["name"] == "identity_provider"));
    let settings = info["settings"].as_array().unwrap();
    assert!(!settings.is_empty());
    let by = |name: &str| -> Value {
        settings
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed"))
            .clone()
    };
    let secret = by("GATEHOUSE_OIDC_CLIENT_SECRET");
    assert_eq!(secret["redacted"], true);
    assert_eq!(secret["value"], "(set, redacted)");
    assert!(by("GATEHOUSE_OIDC_ISSUER")["value"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    assert_eq!(
        by("GATEHOUSE_AUDIT_RETENTION_DAYS")["value"],
        Value::Null,
        "unset: the default"
    );
    let client_secret = app.state.config.oidc.client_secret.expose().to_string();
    let text = info.to_string();
    assert!(
        !text.contains(&client_secret),
        "the client secret never shows"
    );

    let html = app.get("/system").await.text().await.unwrap();
    assert!(html.contains("GATEHOUSE_OIDC_CLIENT_SECRET") && html.contains("(set, redacted)"));
    assert!(!html.contains(&client_secret));
}
