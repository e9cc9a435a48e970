//! Service accounts and management API tokens (issue 13, foundation): issued once and stored as
//! a hash, authenticated from the token alone, refused once revoked, expired or disabled.
use crate::common::*;
use gatehouse::model::api::Scope;
use gatehouse::model::{AppError, Permission, Principal, Role};
use gatehouse::server::auth::Authorized;
use gatehouse::server::db::now_ms;
use gatehouse::server::service::api_tokens::{self, AccountInput, TokenInput};
use gatehouse::server::service::audit::RequestMeta;
use gatehouse::server::service::token_auth::{Refusal, TokenAuthenticator};

fn admin() -> Authorized {
    Authorized {
        principal: Principal {
            subject: "admin-sub".into(),
            email: ADMIN.into(),
            name: "Ada Admin".into(),
            role: Role::Admin,
            scopes: None,
        },
        permission: Permission::WriteApps,
        meta: RequestMeta::default(),
    }
}

fn account_input(name: &str, scopes: &[&str]) -> AccountInput {
    AccountInput {
        name: name.into(),
        owner_email: "owner@example.com".into(),
        description: "Joiner/mover/leaver automation".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

fn token_input(scopes: &[&str], days: &str) -> TokenInput {
    TokenInput {
        name: "hr-sync".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        days: days.into(),
    }
}

#[tokio::test]
async fn a_service_token_is_shown_once_authenticates_and_stops_when_revoked() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let account = api_tokens::create_account(
        db,
        &admin(),
        &account_input("HR sync", &["users:read", "users:write"]),
    )
    .await
    .unwrap();
    assert_eq!(account.scopes, vec![Scope::UsersRead, Scope::UsersWrite]);
    let issued = api_tokens::issue_service_token(
        db,
        &admin(),
        &account.id,
        &token_input(&["users:read"], "30"),
    )
    .await
    .unwrap();
    assert!(issued.token.starts_with("ght_"));
    let stored: String = sqlx::query_scalar("SELECT secret_hash FROM api_tokens WHERE id = $1")
        .bind(&issued.summary.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        !stored.contains(&issued.token) && stored.len() == 64,
        "only a hash is stored"
    );

    let auth = TokenAuthenticator::new(db.clone(), std::time::Duration::from_secs(7 * 24 * 3600));
    let caller = auth
        .authenticate(&issued.token, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert!(caller.holds(Scope::UsersRead));
    assert!(
        !caller.holds(Scope::UsersWrite),
        "only the token's own scopes"
    );
    let wrong = format!("{}A", &issued.token[..issued.token.len() - 1]);
    assert!(auth.authenticate(&wrong, now_ms()).await.unwrap().is_err());
    assert_eq!(
        auth.authenticate(&issued.token, issued.summary.expires_at)
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::Expired
    );

    api_tokens::revoke(db, &admin(), &issued.summary.id)
        .await
        .unwrap();
    assert_eq!(
        auth.authenticate(&issued.token, now_ms())
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::Revoked,
        "this instance forgets at once after its own change"
    );
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "service_account.create",
        "api_token.create",
        "api_token.revoke",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn bad_account_and_token_input_is_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let err = api_tokens::create_account(db, &admin(), &account_input(" ", &["root"]))
        .await
        .unwrap_err();
    let AppError::Fields(fields) = err else {
        panic!("{err:?}")
    };
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, vec!["name", "scopes"], "{fields:?}");
    let account =
        api_tokens::create_account(db, &admin(), &account_input("Reports", &["audit:read"]))
            .await
            .unwrap();
    let err = api_tokens::create_account(db, &admin(), &account_input("reports", &["audit:read"]))
        .await
        .unwrap_err();
    assert!(err.field("name").is_some(), "names are unique: {err:?}");
    let err = api_tokens::issue_service_token(
        db,
        &admin(),
        &account.id,
        &token_input(&["users:write"], "0"),
    )
    .await
    .unwrap_err();
    assert!(
        err.field("scopes").is_some() && err.field("days").is_some(),
        "{err:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing written");
}

/// Each instance trusts a token it read for at most `TRUST` (1 s) of its own clock, so a token
/// revoked on one instance stops on every other within a second. Time is driven, not slept.
#[tokio::test]
async fn a_token_revoked_on_one_instance_stops_on_another_within_a_second() {
    use crate::api_v1::{api, service_token};
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_on(&first.state.config.database_url, |_| {}).await;
    let token = service_token(&first, &["users:read"]).await;
    let id = gatehouse::server::service::secrets::parse_token(&token)
        .expect("a well-formed token")
        .to_string();
    let list = "/api/v1/users?limit=1";
    // The second instance reads the token and keeps it for its trust window.
    assert_eq!(
        api(&second, &token, "GET", list, None, &[]).await.status(),
        200
    );

    api_tokens::revoke(&first.state.db, &admin(), &id)
        .await
        .expect("revoked");
    assert_eq!(
        api(&first, &token, "GET", list, None, &[]).await.status(),
        401,
        "the revoking instance refuses it at once"
    );
    second
        .state
        .clock
        .advance(std::time::Duration::from_secs(1));
    let res = api(&second, &token, "GET", list, None, &[]).await;
    assert_eq!(
        res.status(),
        401,
        "the other instance refuses it a second later"
    );
    let problem: serde_json::Value = res.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("revoked"),
        "{problem}"
    );
}
