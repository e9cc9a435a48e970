//! Issue 13, the console side: service accounts and their tokens (shown once, rotated with a
//! grace period, revoked, disabled with their account), and staff's personal access tokens
//! within their role, listed and revoked by their owner and by administrators.
use crate::apps::count_events;
use crate::common::*;
use gatehouse::server::db::now_ms;
use gatehouse::server::service::token_auth::Refusal;
use reqwest::{Client, StatusCode};
use serde_json::Value;

const DAY_MS: i64 = 86_400_000;

/// A form body: `pairs`, then `input[scopes][i]` for each scope.
fn body(pairs: &[(&str, &str)], scopes: &[&str]) -> String {
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.extend(
        scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("input[scopes][{i}]"), s.to_string())),
    );
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .finish()
}

/// Calls a server function as `client`; the status and the answer (JSON, or its text).
async fn call(app: &TestApp, client: &Client, name: &str, body: &str) -> (StatusCode, Value) {
    let res = app.call(client, name, body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The fields a refusal names.
fn fields(error: &Value) -> Vec<String> {
    if let Some(list) = error["Fields"].as_array() {
        list.iter()
            .map(|f| f[0].as_str().unwrap_or_default().to_string())
            .collect()
    } else {
        error["Invalid"]["field"]
            .as_str()
            .map(|f| vec![f.to_string()])
            .unwrap_or_default()
    }
}

async fn create_account(app: &TestApp, name: &str, scopes: &[&str]) -> Value {
    let form = body(
        &[
            ("input[name]", name),
            ("input[owner_email]", "owner@example.com"),
            ("input[description]", "Joiner/mover/leaver automation"),
        ],
        scopes,
    );
    app.call_ok("service-accounts/create", &form).await
}

async fn issue(app: &TestApp, account: &str, name: &str, scopes: &[&str], days: &str) -> Value {
    let form = body(
        &[
            ("id", account),
            ("input[name]", name),
            ("input[days]", days),
        ],
        scopes,
    );
    app.call_ok("service-accounts/issue-token", &form).await
}

fn personal_form(name: &str, scopes: &[&str], days: &str) -> String {
    body(&[("input[name]", name), ("input[days]", days)], scopes)
}

async fn token_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Authenticates `token` at `at` with the server's own authenticator.
async fn authenticate(app: &TestApp, token: &str, at: i64) -> Result<(), Refusal> {
    app.state
        .tokens
        .authenticate(token, at)
        .await
        .unwrap()
        .map(|_| ())
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

#[tokio::test]
async fn an_admin_creates_a_service_account_whose_token_is_shown_once() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let account = create_account(&app, "HR sync", &["users:read", "users:write"]).await;
    let id = account["id"].as_str().unwrap().to_string();
    assert_eq!(account["status"], "active");
    assert_eq!(
        account["scopes"],
        serde_json::json!(["users:read", "users:write"])
    );
    let page = app.call_ok("service-accounts/list", "after=").await;
    assert_eq!(page["accounts"][0]["id"], id.as_str(), "{page}");
    assert!(page["next"].is_null());
    let got = app
        .call_ok("service-accounts/get", &format!("id={id}"))
        .await;
    assert_eq!(got["owner_email"], "owner@example.com");

    let issued = issue(&app, &id, "HR sync (production)", &["users:read"], "30").await;
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ght_"), "{issued}");
    let summary = &issued["summary"];
    assert_eq!(summary["kind"], "service");
    assert_eq!(summary["scopes"], serde_json::json!(["users:read"]));
    assert_eq!(
        summary["expires_at"].as_i64().unwrap() - summary["created_at"].as_i64().unwrap(),
        30 * DAY_MS
    );
    assert_eq!(authenticate(&app, &token, now_ms()).await, Ok(()));

    // Listed with its use (written in batches), never with its secret.
    let mut text = String::new();
    for _ in 0..50 {
        app.state.tokens.flush_usage().await.unwrap();
        let res = app
            .call(&app.client, "service-accounts/tokens", &format!("id={id}"))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        text = res.text().await.unwrap();
        if text.contains("\"use_count\":1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!text.contains(&token), "the secret is never listed: {text}");
    assert!(!text.contains("secret_hash"), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let row = find(&listed, summary["id"].as_str().unwrap());
    assert_eq!(row["use_count"], 1, "{row}");
    assert!(row["last_used_at"].as_i64().unwrap() > 0, "{row}");
    let page = app.call_ok("service-accounts/list", "after=").await;
    assert!(!page.to_string().contains(&token));
    assert_eq!(count_events(&app, "service_account.create").await, 1);
    assert_eq!(count_events(&app, "api_token.create").await, 1);
}

#[tokio::test]
async fn rotating_keeps_the_old_token_for_a_day_and_revoking_stops_it_at_once() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let account = create_account(&app, "Ticketing", &["users:read", "users:unlock"]).await;
    let account_id = account["id"].as_str().unwrap().to_string();
    let old = issue(&app, &account_id, "unlocker", &["users:unlock"], "60").await;
    let old_id = old["summary"]["id"].as_str().unwrap().to_string();
    let old_token = old["token"].as_str().unwrap().to_string();

    let before = now_ms();
    let new = app.call_ok("tokens/rotate", &format!("id={old_id}")).await;
    let new_token = new["token"].as_str().unwrap().to_string();
    let new_id = new["summary"]["id"].as_str().unwrap().to_string();
    assert_ne!(new_token, old_token);
    assert_eq!(new["summary"]["name"], "unlocker");
    assert_eq!(
        new["summary"]["scopes"],
        serde_json::json!(["users:unlock"])
    );
    assert_eq!(
        new["summary"]["service_account_id"],
        account_id.as_str(),
        "{new}"
    );
    assert_eq!(
        new["summary"]["expires_at"].as_i64().unwrap()
            - new["summary"]["created_at"].as_i64().unwrap(),
        60 * DAY_MS,
        "the same lifetime"
    );
    let listed = app
        .call_ok("service-accounts/tokens", &format!("id={account_id}"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let grace_end = find(&listed, &old_id)["expires_at"].as_i64().unwrap();
    assert!(
        grace_end >= before + DAY_MS && grace_end <= now_ms() + DAY_MS,
        "the old token ends 24 hours after the rotation: {grace_end}"
    );
    assert_eq!(authenticate(&app, &old_token, now_ms()).await, Ok(()));
    assert_eq!(
        authenticate(&app, &old_token, grace_end - 1).await,
        Ok(()),
        "valid until the grace end"
    );
    assert_eq!(
        authenticate(&app, &old_token, grace_end).await,
        Err(Refusal::Expired)
    );
    assert_eq!(authenticate(&app, &new_token, grace_end).await, Ok(()));
    assert_eq!(count_events(&app, "api_token.rotate").await, 1);

    // Revoked: refused at once; revoking or rotating it again is a conflict.
    let revoked = app.call_ok("tokens/revoke", &format!("id={new_id}")).await;
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");
    assert_eq!(
        authenticate(&app, &new_token, now_ms()).await,
        Err(Refusal::Revoked)
    );
    for name in ["tokens/revoke", "tokens/rotate"] {
        let (status, _) = call(&app, &app.client, name, &format!("id={new_id}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name}");
    }
    let (status, _) = call(&app, &app.client, "tokens/rotate", "id=missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_disabled_account_gets_no_tokens_and_its_status_change_is_versioned() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let account = create_account(&app, "SIEM", &["audit:read"]).await;
    let id = account["id"].as_str().unwrap().to_string();
    let version = account["version"].as_i64().unwrap().to_string();
    let issued = issue(&app, &id, "siem", &["audit:read"], "7").await;
    let token = issued["token"].as_str().unwrap().to_string();

    let disabled = app
        .call_ok(
            "service-accounts/status",
            &format!("id={id}&status=disabled&version={version}"),
        )
        .await;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(
        authenticate(&app, &token, now_ms()).await,
        Err(Refusal::Disabled)
    );
    // The same change from a stale view is refused; so is a new token for a disabled account.
    let (status, _) = call(
        &app,
        &app.client,
        "service-accounts/status",
        &format!("id={id}&status=active&version={version}"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        &app.client,
        "service-accounts/issue-token",
        &body(
            &[("id", &id), ("input[name]", "again"), ("input[days]", "7")],
            &["audit:read"],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, error) = call(
        &app,
        &app.client,
        "service-accounts/status",
        &format!("id={id}&status=paused&version=1"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&error), vec!["status"]);

    let version = disabled["version"].as_i64().unwrap().to_string();
    let enabled = app
        .call_ok(
            "service-accounts/status",
            &format!("id={id}&status=active&version={version}"),
        )
        .await;
    assert_eq!(enabled["status"], "active");
    assert_eq!(authenticate(&app, &token, now_ms()).await, Ok(()));
    assert_eq!(count_events(&app, "service_account.status").await, 2);
}

#[tokio::test]
async fn staff_create_personal_tokens_within_their_role_and_admins_see_and_revoke_them() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let support = browser();
    app.sign_in_with(&support, SUPPORT).await;

    let (status, mine) = call(&app, &support, "tokens/mine", "").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert!(mine["tokens"].as_array().unwrap().is_empty());
    assert_eq!(mine["max_days"], 90);
    let offered: Vec<&str> = mine["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(offered.contains(&"users:read") && offered.contains(&"mfa:reset"));
    assert!(!offered.contains(&"users:write"), "{offered:?}");

    // Beyond the role: refused on the scopes field, nothing created.
    let (status, error) = call(
        &app,
        &support,
        "tokens/issue-personal",
        &personal_form("laptop", &["users:read", "users:write"], "30"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&error), vec!["scopes"], "{error}");
    assert!(error.to_string().contains("users:write"), "{error}");
    assert_eq!(token_count(&app).await, 0);

    let (status, created) = call(
        &app,
        &support,
        "tokens/issue-personal",
        &personal_form("laptop", &["users:read"], "30"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let support_token = created["summary"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["summary"]["kind"], "personal");
    assert_eq!(created["summary"]["owner_email"], SUPPORT);
    let (_, mine) = call(&app, &support, "tokens/mine", "").await;
    assert_eq!(mine["tokens"].as_array().unwrap().len(), 1);
    assert!(
        !mine.to_string().contains(&token),
        "never listed with its secret"
    );

    // An administrator's own token; support can neither see nor revoke it.
    let admin_token = app
        .call_ok(
            "tokens/issue-personal",
            &personal_form("admin laptop", &["users:write"], "90"),
        )
        .await;
    let admin_token = admin_token["summary"]["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        &app,
        &support,
        "tokens/revoke-mine",
        &format!("id={admin_token}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not theirs");
    for (name, args) in [
        ("tokens/revoke", format!("id={admin_token}")),
        ("tokens/personal", "after=".to_string()),
    ] {
        let (status, _) = call(&app, &support, name, &args).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
    }
    let (_, mine) = call(&app, &support, "tokens/mine", "").await;
    assert_eq!(
        mine["tokens"].as_array().unwrap().len(),
        1,
        "only their own"
    );

    // Administrators list everyone's and revoke any.
    let all = app.call_ok("tokens/personal", "after=").await;
    let owners: Vec<&str> = all["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["owner_email"].as_str().unwrap())
        .collect();
    assert!(
        owners.contains(&SUPPORT) && owners.contains(&ADMIN),
        "{all}"
    );
    let revoked = app
        .call_ok("tokens/revoke", &format!("id={support_token}"))
        .await;
    assert!(revoked["revoked_at"].is_i64());
    let (_, mine) = call(&app, &support, "tokens/mine", "").await;
    assert!(mine["tokens"][0]["revoked_at"].is_i64(), "{mine}");

    // The owner revokes their own.
    let (status, again) = call(
        &app,
        &support,
        "tokens/issue-personal",
        &personal_form("desktop", &["mfa:read"], "1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let again_id = again["summary"]["id"].as_str().unwrap().to_string();
    let (status, revoked) = call(
        &app,
        &support,
        "tokens/revoke-mine",
        &format!("id={again_id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_i64());
    let (status, _) = call(
        &app,
        &support,
        "tokens/revoke-mine",
        &format!("id={again_id}"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "already revoked");
    // A personal token is replaced by its owner, never rotated.
    let (status, _) = call(
        &app,
        &app.client,
        "tokens/rotate",
        &format!("id={admin_token}"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(count_events(&app, "api_token.revoke").await, 2);
}

#[tokio::test]
async fn bad_input_names_its_fields_and_creates_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let (status, error) = call(
        &app,
        &app.client,
        "service-accounts/create",
        &body(
            &[
                ("input[name]", " "),
                ("input[owner_email]", "owner@example.com"),
            ],
            &["root"],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&error), vec!["name", "scopes"], "{error}");
    let page = app.call_ok("service-accounts/list", "after=").await;
    assert!(page["accounts"].as_array().unwrap().is_empty());
    let (status, error) = call(&app, &app.client, "service-accounts/list", "after=garbage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&error), vec!["after"]);

    let cases: [(&str, &[&str], &str, &[&str]); 5] = [
        ("", &["users:read"], "0", &["name", "days"]),
        ("laptop", &["users:read"], "91", &["days"]),
        ("laptop", &["users:read"], "soon", &["days"]),
        ("laptop", &["root"], "30", &["scopes"]),
        ("laptop", &[], "30", &["scopes"]),
    ];
    for (name, scopes, days, expected) in cases {
        let (status, error) = call(
            &app,
            &app.client,
            "tokens/issue-personal",
            &personal_form(name, scopes, days),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name} {scopes:?} {days}");
        assert_eq!(
            fields(&error),
            expected,
            "{name} {scopes:?} {days}: {error}"
        );
    }
    let account = create_account(&app, "Reports", &["audit:read"]).await;
    let id = account["id"].as_str().unwrap();
    let (status, error) = call(
        &app,
        &app.client,
        "service-accounts/issue-token",
        &body(
            &[
                ("id", id),
                ("input[name]", "reports"),
                ("input[days]", "367"),
            ],
            &["audit:read"],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&error), vec!["days"], "{error}");
    assert_eq!(token_count(&app).await, 0, "nothing written");
}
