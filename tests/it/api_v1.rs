//! The management REST API (issue 13): bearer tokens only, the console's rules and audit records,
//! problem details, If-Match, Idempotency-Key, cursor pages and per-token rate limits.
use crate::common::*;
use gatehouse::model::{Permission, Principal, Role};
use gatehouse::server::auth::Authorized;
use gatehouse::server::service::api_tokens::{self, AccountInput, TokenInput};
use gatehouse::server::service::audit::RequestMeta;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

pub fn admin_auth() -> Authorized {
    Authorized {
        principal: Principal {
            subject: "admin-sub".into(),
            email: ADMIN.into(),
            name: "Ada Admin".into(),
            role: Role::Admin,
            scopes: None,
        },
        permission: Permission::ManageSessions,
        meta: RequestMeta::default(),
    }
}

/// A service account of this test only holding `scopes`, and a token with all of them.
pub async fn service_token(app: &TestApp, scopes: &[&str]) -> String {
    let name = format!("svc-{}", uuid::Uuid::new_v4().simple());
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let account = api_tokens::create_account(
        &app.state.db,
        &admin_auth(),
        &AccountInput {
            name,
            owner_email: "owner@example.com".into(),
            description: String::new(),
            scopes: scopes.clone(),
        },
    )
    .await
    .expect("service account");
    api_tokens::issue_service_token(
        &app.state.db,
        &admin_auth(),
        &account.id,
        &TokenInput {
            name: "test".into(),
            scopes,
            days: "30".into(),
        },
    )
    .await
    .expect("token")
    .token
}

pub const ALL_SCOPES: &[&str] = &[
    "users:read",
    "users:write",
    "users:export",
    "users:unlock",
    "apps:read",
    "apps:write",
    "groups:read",
    "groups:write",
    "devices:read",
    "devices:write",
    "mfa:read",
    "mfa:factors",
    "mfa:reset",
    "audit:read",
    "audit:export",
    "audit:verify",
    "audit:sinks",
    "webhooks:manage",
    "signals:manage",
    "people:revoke",
    "people:sign_out",
    "system:read",
];

pub async fn api(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = Client::new().request(method.parse().unwrap(), format!("{}{path}", app.url));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

async fn body(res: Response) -> Value {
    res.json().await.expect("json body")
}

fn unique_email() -> String {
    format!("api-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn a_newcomer_creates_a_user_suspends_it_and_reads_both_changes_with_the_token_as_actor() {
    let app = TestApp::spawn().await;
    let token = service_token(&app, &["users:read", "users:write", "audit:read"]).await;
    let email = unique_email();
    let res = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(json!({ "email": email, "display_name": "Jo Doe", "source": "hr" })),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/api/v1/users/u_"));
    assert!(res.headers().contains_key("ratelimit"));
    let user = body(res).await;
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["email"], email.as_str());
    assert_eq!(etag, "\"v1\"");

    let res = api(
        &app,
        &token,
        "POST",
        &format!("/api/v1/users/{id}/status"),
        Some(json!({ "status": "suspended" })),
        &[("if-match", &etag)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "suspended");

    let res = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/audit/events?target_id={id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let events = body(res).await["items"].as_array().unwrap().clone();
    assert!(!events.is_empty());
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["user.status", "user.create"], "{events:?}");
    for e in &events {
        assert!(
            e["actor_subject"].as_str().unwrap().starts_with("sat:"),
            "{e}"
        );
        assert_eq!(e["actor_email"], "owner@example.com");
        assert!(
            e["actor_role"].is_null(),
            "a service account has no console role: {e}"
        );
    }
    let created: Value = serde_json::from_str(events[1]["details"].as_str().unwrap()).unwrap();
    assert_eq!(created["via_api"]["request_id"], request_id.as_str());
    assert_eq!(created["via_api"]["kind"], "service");

    // Uses are counted per token, reads of people's data apart (the audit search is not one).
    api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/users/{id}"),
        None,
        &[],
    )
    .await;
    app.state.tokens.flush_usage().await.unwrap();
    let token_id = gatehouse::server::service::secrets::parse_token(&token).unwrap();
    let summary = gatehouse::server::db::api_tokens::get_token(&app.state.db.pool, token_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.use_count, 4);
    assert_eq!(summary.personal_reads, 1);
    assert!(summary.last_used_at > 0);
}

#[tokio::test]
async fn tokens_are_required_and_bad_ones_get_a_problem_with_www_authenticate() {
    let app = TestApp::spawn().await;
    for token in ["", "ght_nonsense", "not-a-token"] {
        let res = api(&app, token, "GET", "/api/v1/users", None, &[]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert!(res.headers().contains_key("www-authenticate"));
        let p = body(res).await;
        assert!(
            p["type"]
                .as_str()
                .unwrap()
                .ends_with("#problem-unauthenticated"),
            "{p}"
        );
    }
    // A console session cookie is no credential here.
    app.sign_in(ADMIN).await;
    let res = app
        .client
        .get(format!("{}/api/v1/users", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn updates_need_if_match_and_a_stale_version_is_refused_without_a_change() {
    let app = TestApp::spawn().await;
    let token = service_token(&app, &["users:read", "users:write"]).await;
    let res = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(json!({ "email": unique_email(), "display_name": "Kim Lee", "source": "hr" })),
        &[],
    )
    .await;
    let id = body(res).await["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/users/{id}");
    let res = api(
        &app,
        &token,
        "PATCH",
        &path,
        Some(json!({ "display_name": "Kim A. Lee" })),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_REQUIRED);
    let res = api(
        &app,
        &token,
        "PATCH",
        &path,
        Some(json!({ "display_name": "Kim A. Lee" })),
        &[("if-match", "\"v1\"")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"v2\"");
    let changed = body(res).await;
    assert_eq!(changed["display_name"], "Kim A. Lee");
    assert!(
        changed["email"].as_str().unwrap().starts_with("api-"),
        "fields left out are kept"
    );
    // The same stale version again: 412, nothing changes.
    let res = api(
        &app,
        &token,
        "PATCH",
        &path,
        Some(json!({ "display_name": "Someone Else" })),
        &[("if-match", "\"v1\"")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let now = body(api(&app, &token, "GET", &path, None, &[]).await).await;
    assert_eq!(now["display_name"], "Kim A. Lee");
    // Bad input: a field message, nothing changed.
    let res = api(
        &app,
        &token,
        "PATCH",
        &path,
        Some(json!({ "email": "not-an-email" })),
        &[("if-match", "\"v2\"")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = body(res).await;
    assert_eq!(p["errors"][0]["field"], "email", "{p}");
    let res = api(
        &app,
        &token,
        "PATCH",
        &path,
        None,
        &[("if-match", "\"v2\""), ("content-type", "application/json")],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "an empty body is a 400, not a 500"
    );
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_creates_once() {
    let app = TestApp::spawn().await;
    let token = service_token(&app, &["users:read", "users:write"]).await;
    let email = unique_email();
    let input = json!({ "email": email, "display_name": "Ida Empotent", "source": "hr" });
    let first = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(input.clone()),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = body(first).await;
    let again = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(input.clone()),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await["id"], first["id"]);
    let found = body(
        api(
            &app,
            &token,
            "GET",
            &format!("/api/v1/users?q={email}"),
            None,
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        1,
        "created once: {found}"
    );
    let other = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(json!({ "email": unique_email(), "display_name": "Other", "source": "hr" })),
        &[("idempotency-key", "k-1")],
    )
    .await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without a key, a second identical create is refused by the console's own rule.
    let dup = api(&app, &token, "POST", "/api/v1/users", Some(input), &[]).await;
    assert_eq!(dup.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_are_stable_while_users_are_added() {
    let app = TestApp::spawn().await;
    let token = service_token(&app, &["users:read", "users:write"]).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut expected = Vec::new();
    for i in 0..7 {
        let email = format!("page-{tag}-{i}@example.com");
        let res = api(
            &app,
            &token,
            "POST",
            "/api/v1/users",
            Some(json!({ "email": email, "display_name": format!("Page {i}"), "source": "hr" })),
            &[],
        )
        .await;
        expected.push(body(res).await["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for round in 0..20 {
        let mut path = format!("/api/v1/users?q=page-{tag}&sort=email&limit=2");
        if let Some(a) = &after {
            path.push_str(&format!(
                "&after={}",
                url::form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()
            ));
        }
        let res = api(&app, &token, "GET", &path, None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let has_link = res.headers().contains_key("link");
        let page = body(res).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        // Someone adds a user sorting before everything read so far.
        api(&app, &token, "POST", "/api/v1/users",
            Some(json!({ "email": format!("page-{tag}-0{round}a@example.com"), "display_name": "Late", "source": "hr" })), &[]).await;
        match page["next"].as_str() {
            Some(n) => {
                assert!(has_link, "a next page is also in Link");
                after = Some(n.to_string());
            }
            None => break,
        }
    }
    for id in &expected {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id} once in {seen:?}"
        );
    }
    let res = api(&app, &token, "GET", "/api/v1/users?limit=201", None, &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit_with_headers() {
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_API_REQUESTS_PER_MINUTE", "3".into());
    })
    .await;
    let busy = service_token(&app, &["users:read"]).await;
    let calm = service_token(&app, &["users:read"]).await;
    for _ in 0..3 {
        let res = api(&app, &busy, "GET", "/api/v1/users", None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["ratelimit-policy"]
            .to_str()
            .unwrap()
            .contains("q=3"));
    }
    let res = api(&app, &busy, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert!(res.headers()["ratelimit"].to_str().unwrap().contains("r=0"));
    let res = api(&app, &calm, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::OK, "another token is not limited");
}

#[tokio::test]
async fn a_personal_token_stops_working_when_its_owner_loses_the_role() {
    let app = TestApp::spawn().await;
    let email = format!("pat-{}@example.com", uuid::Uuid::new_v4().simple());
    idp_account(&email, &["console-admins"]).await;
    let client = browser();
    app.sign_in_with(&client, &email).await;
    let me: Value = app.call(&client, "me", "").await.json().await.unwrap();
    let principal: Principal = serde_json::from_value(me.clone()).expect("principal");
    let auth = Authorized {
        principal,
        permission: Permission::ViewConsole,
        meta: RequestMeta::default(),
    };
    let issued = api_tokens::issue_personal_token(
        &app.state.db,
        &auth,
        &TokenInput {
            name: "laptop".into(),
            scopes: vec!["users:read".into()],
            days: "30".into(),
        },
        90,
    )
    .await
    .unwrap();
    let res = api(&app, &issued.token, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Beyond the role: a personal token can never be issued with scopes the role lacks.
    let beyond = api_tokens::issue_personal_token(
        &app.state.db,
        &auth,
        &TokenInput {
            name: "x".into(),
            scopes: vec!["audit:export".into()],
            days: "30".into(),
        },
        90,
    )
    .await;
    assert!(beyond.is_err(), "admins do not hold audit:export");

    // Removed from the group at the provider: at the session's next check the token stops too.
    idp_account(&email, &[]).await;
    app.state.clock.advance(Duration::from_secs(301));
    let _ = app.call(&client, "users/list", "query[q]=").await;
    let res = api(&app, &issued.token, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_personal_token_needs_its_owners_role_confirmed_within_a_week() {
    let app = TestApp::spawn().await;
    let email = format!("pat-{}@example.com", uuid::Uuid::new_v4().simple());
    idp_account(&email, &["helpdesk"]).await;
    let client = browser();
    app.sign_in_with(&client, &email).await;
    let me: Value = app.call(&client, "me", "").await.json().await.unwrap();
    let auth = Authorized {
        principal: serde_json::from_value(me).unwrap(),
        permission: Permission::ViewConsole,
        meta: RequestMeta::default(),
    };
    let issued = api_tokens::issue_personal_token(
        &app.state.db,
        &auth,
        &TokenInput {
            name: "desk".into(),
            scopes: vec!["users:read".into()],
            days: "60".into(),
        },
        90,
    )
    .await
    .unwrap();
    assert_eq!(
        api(&app, &issued.token, "GET", "/api/v1/users", None, &[])
            .await
            .status(),
        StatusCode::OK
    );
    let res = api(
        &app,
        &issued.token,
        "POST",
        "/api/v1/users",
        Some(json!({ "email": unique_email() })),
        &[],
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the token holds users:read only"
    );
    app.state.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let res = api(&app, &issued.token, "GET", "/api/v1/users", None, &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(body(res).await["detail"]
        .as_str()
        .unwrap()
        .contains("sign in"));
}

#[tokio::test]
async fn the_openapi_document_and_the_reference_page_are_served_without_a_token() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc = body(res).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    assert!(paths.contains_key("/api/v1/users/{id}"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every JSON request body names a schema that carries an example.
    let mut bodies = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            bodies += 1;
            let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            assert!(
                doc["components"]["schemas"][name]["example"].is_object(),
                "{method} {path}: {name} has no example"
            );
        }
    }
    assert!(bodies >= 15, "{bodies} request bodies");
    let res = app.get("/api/v1/docs").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains("POST /api/v1/users") && html.contains("problem-precondition-failed"));
    assert!(
        html.contains("jo.doe@example.com"),
        "request examples are shown"
    );
    assert!(!html.contains("<script"), "no script on the reference page");
}

async fn idp_account(email: &str, groups: &[&str]) {
    let res = Client::new()
        .post(format!("{}/__test/account", idp_issuer()))
        .json(&json!({ "email": email, "groups": groups }))
        .send()
        .await
        .expect("provider hook");
    assert!(res.status().is_success());
}
