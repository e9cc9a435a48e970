//! Every server function is called with valid input by some test, and the few that no feature
//! test needed on its own are exercised here.
use crate::apps::{register, setup, OWNER};
use crate::audit_checkpoints::{spawn_signing, tick};
use crate::common::*;
use crate::support::{app_with, call_json, person};
use reqwest::StatusCode;

/// Test files that name server functions without calling them with valid input.
const NOT_CALLERS: &[&str] = &["authz_matrix.rs", "coverage.rs"];

#[test]
fn every_server_function_is_called_with_valid_input_by_a_test() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it");
    let mut sources = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".rs") && !NOT_CALLERS.contains(&name.as_str()) {
            sources.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    // This file's own calls count: they are below the meta-test.
    let own = include_str!("coverage.rs");
    sources.push_str(own.rsplit("// Calls below.").next().unwrap());
    let names: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    assert!(names.len() > 40, "server functions registered: {names:?}");
    let uncalled: Vec<&String> = names
        .iter()
        .filter(|n| !sources.contains(&format!("\"{n}\"")))
        .collect();
    assert!(
        uncalled.is_empty(),
        "no test calls these server functions: {uncalled:?}"
    );
}

// Calls below.

#[tokio::test]
async fn an_application_is_updated_with_its_version_and_its_assignments_listed() {
    let app = setup().await;
    let (id, _) = register(&app, "Ledger", "ledger:read").await;
    let detail = app.call_ok("apps/get", &format!("id={id}")).await;
    let version = detail["version"].as_i64().unwrap().to_string();
    let update = |version: &str| {
        form(&[
            ("id", &id),
            ("version", version),
            ("input[name]", "Ledger (finance)"),
            ("input[owner]", OWNER),
            ("input[kind]", "web"),
            (
                "input[redirect_uris]",
                "https://ledger.example.com/callback",
            ),
            ("input[grant_types][0]", "authorization_code"),
            ("input[scopes]", "ledger:read ledger:write"),
            ("input[pkce_required]", "on"),
        ])
    };
    let updated = app.call_ok("apps/update", &update(&version)).await;
    assert_eq!(updated["name"], "Ledger (finance)");
    assert_eq!(
        updated["redirect_uris"][0],
        "https://ledger.example.com/callback"
    );
    assert!(updated["version"].as_i64().unwrap() > detail["version"].as_i64().unwrap());
    // The same edit again on the old version: someone else's change is never overwritten.
    let res = app
        .call(&app.client, "apps/update", &update(&version))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let again = app.call_ok("apps/get", &format!("id={id}")).await;
    assert_eq!(again["version"], updated["version"]);

    let none = app.call_ok("apps/assignments", &format!("id={id}")).await;
    assert!(none.as_array().unwrap().is_empty());
    let user = app.create_user("lin@example.com", "Lin", &[]).await;
    let guid = user["guid"].as_str().unwrap();
    app.call_ok("apps/assign", &format!("id={id}&person={guid}"))
        .await;
    let listed = app.call_ok("apps/assignments", &format!("id={id}")).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["guid"], guid);
    assert_eq!(listed[0]["email"], "lin@example.com");
    let res = app
        .call(&app.client, "apps/assignments", "id=app_missing")
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dashboard_counts_sign_ins_and_shows_recent_events() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.sign_in_with(&browser(), AUDITOR).await;
    let d = app.call_ok("dashboard", "").await;
    assert!(d["sign_ins_24h"].as_i64().unwrap() >= 2, "{d}");
    assert!(d["audit_events"].as_i64().unwrap() >= 2, "{d}");
    let recent = d["recent"].as_array().unwrap();
    assert!(!recent.is_empty());
    assert!(
        recent.iter().any(|e| e["action"] == "auth.sign_in"),
        "{recent:?}"
    );
}

#[tokio::test]
async fn the_sign_in_page_learns_whether_the_provider_is_reachable() {
    let app = TestApp::spawn().await;
    let res = app.call(&browser(), "idp_status", "").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), true);
}

#[tokio::test]
async fn auditors_list_signed_checkpoints_with_their_verdict() {
    let (app, signer) = spawn_signing().await;
    app.sign_in(AUDITOR).await;
    let view = app.call_ok("audit/checkpoints", "").await;
    assert!(view["checkpoints"].as_array().unwrap().is_empty(), "{view}");
    let taken = tick(&app, &signer).await;
    let view = app.call_ok("audit/checkpoints", "").await;
    assert!(
        view["public_key"].as_str().is_some_and(|k| k.len() == 64),
        "{view}"
    );
    let checkpoints = view["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), 1, "{view}");
    assert_eq!(checkpoints[0][0]["seq"], taken.seq);
    assert_eq!(checkpoints[0][1], true, "it verifies: {view}");
}

#[tokio::test]
async fn support_gets_the_reset_checklist_and_a_persons_devices() {
    let (app, support) = app_with(|_| {}).await;
    let (status, options) = call_json(&app, &support, "mfa/options", "").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert!(!options["checks"].as_array().unwrap().is_empty());
    assert!(options["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "Other"));
    let (user_id, _, devices) = person(&app, "grace@example.com").await;
    let user = app.call_ok("users/get", &format!("id={user_id}")).await;
    let guid = user["guid"].as_str().unwrap().to_string();
    let (status, listed) =
        call_json(&app, &support, "devices/of_guid", &format!("id={guid}")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let mut ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    ids.sort();
    let mut expected: Vec<&str> = devices.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ids, expected);
}
