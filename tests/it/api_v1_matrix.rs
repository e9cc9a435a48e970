//! The API's authorization matrix: every operation of the OpenAPI document against anonymous
//! callers, a token holding every scope but the one the operation needs, and a token holding
//! only that scope. A meta-test fails when an operation has no row, or a row no operation.
use crate::api_v1::{api, service_token, ALL_SCOPES};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// (method, path template, an example path, a body that parses, the scope it needs)
const ROWS: &[(&str, &str, &str, &str, &str)] = &[
    ("get", "/api/v1/users", "/api/v1/users", "", "users:read"),
    (
        "post",
        "/api/v1/users",
        "/api/v1/users",
        r#"{"email":"m@example.com"}"#,
        "users:write",
    ),
    (
        "get",
        "/api/v1/users/{id}",
        "/api/v1/users/u_missing",
        "",
        "users:read",
    ),
    (
        "patch",
        "/api/v1/users/{id}",
        "/api/v1/users/u_missing",
        "{}",
        "users:write",
    ),
    (
        "post",
        "/api/v1/users/{id}/status",
        "/api/v1/users/u_missing/status",
        r#"{"status":"suspended"}"#,
        "users:write",
    ),
    (
        "post",
        "/api/v1/users/{id}/unlock",
        "/api/v1/users/u_missing/unlock",
        "",
        "users:unlock",
    ),
    (
        "get",
        "/api/v1/users/export",
        "/api/v1/users/export?q=nobody",
        "",
        "users:export",
    ),
    (
        "post",
        "/api/v1/users/{id}/link",
        "/api/v1/users/u_missing/link",
        "{}",
        "users:write",
    ),
    ("get", "/api/v1/people", "/api/v1/people", "", "users:read"),
    (
        "get",
        "/api/v1/people/{guid}",
        "/api/v1/people/g_missing",
        "",
        "users:read",
    ),
    (
        "get",
        "/api/v1/people/duplicates",
        "/api/v1/people/duplicates",
        "",
        "users:read",
    ),
    (
        "post",
        "/api/v1/people/{guid}/merge",
        "/api/v1/people/g_missing/merge",
        r#"{"absorbed":"g_other"}"#,
        "users:write",
    ),
    (
        "post",
        "/api/v1/people/{guid}/revoke-everywhere",
        "/api/v1/people/g_missing/revoke-everywhere",
        r#"{"reason":"Stolen laptop"}"#,
        "people:revoke",
    ),
    (
        "post",
        "/api/v1/people/{guid}/sign-out-everywhere",
        "/api/v1/people/g_missing/sign-out-everywhere",
        r#"{"reason":"Stolen laptop"}"#,
        "people:sign_out",
    ),
    (
        "get",
        "/api/v1/revocations/{id}",
        "/api/v1/revocations/rev_missing",
        "",
        "users:read",
    ),
    (
        "get",
        "/api/v1/audit/events",
        "/api/v1/audit/events",
        "",
        "audit:read",
    ),
    (
        "get",
        "/api/v1/audit/export",
        "/api/v1/audit/export?format=csv",
        "",
        "audit:export",
    ),
    (
        "post",
        "/api/v1/audit/verifications",
        "/api/v1/audit/verifications",
        "",
        "audit:verify",
    ),
    (
        "get",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/j_missing",
        "",
        "users:write,audit:verify",
    ),
    (
        "post",
        "/api/v1/jobs/user-import",
        "/api/v1/jobs/user-import",
        "",
        "users:write",
    ),
    (
        "post",
        "/api/v1/jobs/user-status",
        "/api/v1/jobs/user-status",
        r#"{"action":"suspend","ids":["u_missing"]}"#,
        "users:write",
    ),
    ("get", "/api/v1/apps", "/api/v1/apps", "", "apps:read"),
    (
        "post",
        "/api/v1/apps",
        "/api/v1/apps",
        r#"{"name":"x"}"#,
        "apps:write",
    ),
    (
        "get",
        "/api/v1/apps/{id}",
        "/api/v1/apps/missing",
        "",
        "apps:read",
    ),
    (
        "put",
        "/api/v1/apps/{id}",
        "/api/v1/apps/missing",
        "{}",
        "apps:write",
    ),
    (
        "post",
        "/api/v1/apps/{id}/status",
        "/api/v1/apps/missing/status",
        r#"{"status":"disabled"}"#,
        "apps:write",
    ),
    (
        "post",
        "/api/v1/apps/{id}/secrets",
        "/api/v1/apps/missing/secrets",
        r#"{"grace_seconds":0}"#,
        "apps:write",
    ),
    (
        "delete",
        "/api/v1/apps/{id}/secrets/{secret_id}",
        "/api/v1/apps/missing/secrets/s",
        "",
        "apps:write",
    ),
    (
        "get",
        "/api/v1/apps/{id}/assignments",
        "/api/v1/apps/missing/assignments",
        "",
        "apps:read",
    ),
    (
        "put",
        "/api/v1/apps/{id}/assignments/{person}",
        "/api/v1/apps/missing/assignments/g_x",
        "",
        "apps:write",
    ),
    (
        "delete",
        "/api/v1/apps/{id}/assignments/{person}",
        "/api/v1/apps/missing/assignments/g_x",
        "",
        "apps:write",
    ),
    (
        "get",
        "/api/v1/apps/{id}/groups",
        "/api/v1/apps/missing/groups",
        "",
        "apps:read",
    ),
    (
        "post",
        "/api/v1/apps/{id}/groups",
        "/api/v1/apps/missing/groups",
        r#"{"group":"x"}"#,
        "apps:write",
    ),
    (
        "delete",
        "/api/v1/apps/{id}/groups/{group_id}",
        "/api/v1/apps/missing/groups/grp_x",
        "",
        "apps:write",
    ),
    (
        "get",
        "/api/v1/apps/{id}/provisioning",
        "/api/v1/apps/missing/provisioning",
        "",
        "apps:read",
    ),
    (
        "put",
        "/api/v1/apps/{id}/provisioning",
        "/api/v1/apps/missing/provisioning",
        r#"{"base_url":"https://scim.example.com/v2","credential":"t"}"#,
        "apps:write",
    ),
    (
        "post",
        "/api/v1/apps/{id}/provisioning/retry",
        "/api/v1/apps/missing/provisioning/retry",
        "",
        "apps:write",
    ),
    (
        "post",
        "/api/v1/apps/{id}/provisioning/replay",
        "/api/v1/apps/missing/provisioning/replay",
        r#"{"from":1}"#,
        "apps:write",
    ),
    (
        "post",
        "/api/v1/apps/{id}/provisioning/reconcile",
        "/api/v1/apps/missing/provisioning/reconcile",
        "",
        "apps:write",
    ),
    (
        "get",
        "/api/v1/apps/{id}/provisioning/reconciliation",
        "/api/v1/apps/missing/provisioning/reconciliation",
        "",
        "apps:read",
    ),
    (
        "post",
        "/api/v1/apps/{id}/provisioning/reconciliation/fix",
        "/api/v1/apps/missing/provisioning/reconciliation/fix",
        r#"{"all":true}"#,
        "apps:write",
    ),
    (
        "get",
        "/api/v1/people/{guid}/provisioning",
        "/api/v1/people/g_missing/provisioning",
        "",
        "apps:read",
    ),
    (
        "get",
        "/api/v1/webhooks",
        "/api/v1/webhooks",
        "",
        "webhooks:manage",
    ),
    (
        "post",
        "/api/v1/webhooks",
        "/api/v1/webhooks",
        r#"{"url":"https://hooks.example.com/in","events":["*"]}"#,
        "webhooks:manage",
    ),
    (
        "get",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/wh_missing",
        "",
        "webhooks:manage",
    ),
    (
        "put",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/wh_missing",
        r#"{"url":"https://hooks.example.com/in","events":["*"]}"#,
        "webhooks:manage",
    ),
    (
        "delete",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/wh_missing",
        "",
        "webhooks:manage",
    ),
    (
        "post",
        "/api/v1/webhooks/{id}/secret",
        "/api/v1/webhooks/wh_missing/secret",
        "",
        "webhooks:manage",
    ),
    (
        "post",
        "/api/v1/webhooks/{id}/retry",
        "/api/v1/webhooks/wh_missing/retry",
        "",
        "webhooks:manage",
    ),
    (
        "post",
        "/api/v1/webhooks/{id}/replay",
        "/api/v1/webhooks/wh_missing/replay",
        r#"{"from":1}"#,
        "webhooks:manage",
    ),
    (
        "get",
        "/api/v1/signals/receivers",
        "/api/v1/signals/receivers",
        r#""#,
        "signals:manage",
    ),
    (
        "post",
        "/api/v1/signals/receivers",
        "/api/v1/signals/receivers",
        r#"{"name":"R","audience":"https://r.example"}"#,
        "signals:manage",
    ),
    (
        "get",
        "/api/v1/signals/receivers/{id}",
        "/api/v1/signals/receivers/ssf_missing",
        r#""#,
        "signals:manage",
    ),
    (
        "put",
        "/api/v1/signals/receivers/{id}",
        "/api/v1/signals/receivers/ssf_missing",
        r#"{"name":"R","audience":"https://r.example"}"#,
        "signals:manage",
    ),
    (
        "delete",
        "/api/v1/signals/receivers/{id}",
        "/api/v1/signals/receivers/ssf_missing",
        r#""#,
        "signals:manage",
    ),
    (
        "post",
        "/api/v1/signals/receivers/{id}/token",
        "/api/v1/signals/receivers/ssf_missing/token",
        r#""#,
        "signals:manage",
    ),
    (
        "post",
        "/api/v1/signals/receivers/{id}/status",
        "/api/v1/signals/receivers/ssf_missing/status",
        r#"{"status":"paused"}"#,
        "signals:manage",
    ),
    (
        "post",
        "/api/v1/signals/receivers/{id}/retry",
        "/api/v1/signals/receivers/ssf_missing/retry",
        r#""#,
        "signals:manage",
    ),
    (
        "post",
        "/api/v1/signals/receivers/{id}/replay",
        "/api/v1/signals/receivers/ssf_missing/replay",
        r#"{"from":1}"#,
        "signals:manage",
    ),
    ("get", "/api/v1/groups", "/api/v1/groups", "", "groups:read"),
    (
        "post",
        "/api/v1/groups",
        "/api/v1/groups",
        r#"{"name":""}"#,
        "groups:write",
    ),
    (
        "get",
        "/api/v1/groups/{id}",
        "/api/v1/groups/grp_missing",
        "",
        "groups:read",
    ),
    (
        "put",
        "/api/v1/groups/{id}",
        "/api/v1/groups/grp_missing",
        r#"{"name":"x"}"#,
        "groups:write",
    ),
    (
        "delete",
        "/api/v1/groups/{id}",
        "/api/v1/groups/grp_missing",
        "",
        "groups:write",
    ),
    (
        "get",
        "/api/v1/groups/{id}/members",
        "/api/v1/groups/grp_missing/members",
        "",
        "groups:read",
    ),
    (
        "post",
        "/api/v1/groups/{id}/members",
        "/api/v1/groups/grp_missing/members",
        r#"{"user":"nobody@example.com"}"#,
        "groups:write",
    ),
    (
        "delete",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/groups/grp_missing/members/u_missing",
        "",
        "groups:write",
    ),
    (
        "get",
        "/api/v1/users/{id}/groups",
        "/api/v1/users/u_missing/groups",
        "",
        "groups:read",
    ),
    ("get", "/api/v1/keys", "/api/v1/keys", "", "apps:read"),
    (
        "post",
        "/api/v1/keys",
        "/api/v1/keys",
        r#"{"application_id":"missing","name":"k"}"#,
        "apps:write",
    ),
    (
        "get",
        "/api/v1/keys/{id}",
        "/api/v1/keys/missing",
        "",
        "apps:read",
    ),
    (
        "post",
        "/api/v1/keys/{id}/rotate",
        "/api/v1/keys/missing/rotate",
        r#"{"grace_seconds":0}"#,
        "apps:write",
    ),
    (
        "post",
        "/api/v1/keys/{id}/revoke",
        "/api/v1/keys/missing/revoke",
        "",
        "apps:write",
    ),
    (
        "put",
        "/api/v1/keys/{id}/expiry",
        "/api/v1/keys/missing/expiry",
        r#"{"expires":""}"#,
        "apps:write",
    ),
    (
        "get",
        "/api/v1/devices",
        "/api/v1/devices",
        "",
        "devices:read",
    ),
    (
        "get",
        "/api/v1/users/{id}/devices",
        "/api/v1/users/u_missing/devices",
        "",
        "devices:read",
    ),
    (
        "post",
        "/api/v1/users/{id}/devices",
        "/api/v1/users/u_missing/devices",
        "{}",
        "devices:write",
    ),
    (
        "put",
        "/api/v1/devices/{id}/trust",
        "/api/v1/devices/d_missing/trust",
        r#"{"trust_state":"blocked"}"#,
        "devices:write",
    ),
    (
        "delete",
        "/api/v1/devices/{id}",
        "/api/v1/devices/d_missing",
        "",
        "devices:write",
    ),
    (
        "get",
        "/api/v1/users/{id}/factors",
        "/api/v1/users/u_missing/factors",
        "",
        "mfa:read",
    ),
    (
        "post",
        "/api/v1/users/{id}/factors",
        "/api/v1/users/u_missing/factors",
        "{}",
        "mfa:factors",
    ),
    (
        "delete",
        "/api/v1/users/{id}/factors/{factor_id}",
        "/api/v1/users/u_missing/factors/f",
        "",
        "mfa:factors",
    ),
    (
        "get",
        "/api/v1/mfa/reset-options",
        "/api/v1/mfa/reset-options",
        "",
        "mfa:reset",
    ),
    (
        "post",
        "/api/v1/mfa/resets",
        "/api/v1/mfa/resets",
        "{}",
        "mfa:reset",
    ),
];

fn body_of(raw: &str) -> Option<Value> {
    (!raw.is_empty()).then(|| serde_json::from_str(raw).expect("row body"))
}

#[tokio::test]
async fn each_scope_allows_exactly_its_operations() {
    let app = TestApp::spawn().await;
    assert!(!ROWS.is_empty());
    for (method, _, path, raw, scope) in ROWS {
        let m = method.to_uppercase();
        let res = api(&app, "", &m, path, body_of(raw), &[]).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "anonymous {m} {path}"
        );

        // A row may name several scopes, any one of which allows the operation.
        let needed: Vec<&str> = scope.split(',').collect();
        let others: Vec<&str> = ALL_SCOPES
            .iter()
            .copied()
            .filter(|s| !needed.contains(s))
            .collect();
        let without = service_token(&app, &others).await;
        let res = api(&app, &without, &m, path, body_of(raw), &[]).await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{m} {path} without {scope}"
        );

        let only = service_token(&app, &needed[..1]).await;
        let res = api(&app, &only, &m, path, body_of(raw), &[]).await;
        let status = res.status();
        assert!(
            status != StatusCode::UNAUTHORIZED
                && status != StatusCode::FORBIDDEN
                && !status.is_server_error(),
            "{m} {path} with only {scope}: {status} {}",
            res.text().await.unwrap_or_default()
        );
    }
    let denied = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.action == "access.denied"
                && e.actor_subject
                    .as_deref()
                    .is_some_and(|s| s.starts_with("sat:"))
        })
        .count();
    assert_eq!(denied, ROWS.len(), "every API denial is audited");
}

#[tokio::test]
async fn every_operation_of_the_document_has_a_row_with_its_scope() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let scopes: Vec<&str> = op["security"][0]["bearer"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            documented.insert((method.clone(), path.clone(), scopes.join(",")));
        }
    }
    assert!(!documented.is_empty());
    let rows: BTreeSet<(String, String, String)> = ROWS
        .iter()
        .map(|(m, p, _, _, s)| (m.to_string(), p.to_string(), s.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "operations without a matrix row: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for no operation (or another scope): {stale:?}"
    );
    let _ = json!(null);
}
