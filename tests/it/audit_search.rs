//! Auditors' work: filtering the log, exporting it with its chain values, verifying it.
use crate::common::*;
use gatehouse::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use reqwest::StatusCode;
use serde_json::Value;

async fn record(
    app: &TestApp,
    who: &str,
    action: &str,
    target: (&str, &str),
    outcome: Outcome,
    ip: &str,
) {
    let actor = Actor {
        subject: Some(format!("sub-{who}")),
        email: Some(who.to_string()),
        role: None,
    };
    let meta = RequestMeta {
        client_ip: Some(ip.to_string()),
        user_agent: Some("=HYPERLINK(\"x\")".into()),
        api: None,
    };
    let entry = Entry::new(action, outcome)
        .target(target.0, target.1)
        .details(serde_json::json!({ "note": "a,b \"quoted\"\nsecond line" }));
    audit::record_alone(&app.state.db, &actor, &meta, entry)
        .await
        .unwrap();
}

async fn seed_events(app: &TestApp) {
    record(
        app,
        "ann@x.example",
        "user.update",
        ("user", "u_1"),
        Outcome::Success,
        "10.0.0.1",
    )
    .await;
    record(
        app,
        "bob@x.example",
        "user.status",
        ("user", "u_2"),
        Outcome::Success,
        "10.0.0.2",
    )
    .await;
    record(
        app,
        "ann@x.example",
        "guid.merge",
        ("guid", "g_1"),
        Outcome::Success,
        "10.0.0.1",
    )
    .await;
    record(
        app,
        "eve@x.example",
        "access.denied",
        ("page", "/audit"),
        Outcome::Denied,
        "10.6.6.6",
    )
    .await;
}

fn seqs(page: &Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn filters_combine_and_pages_go_newest_first() {
    let app = TestApp::spawn().await;
    seed_events(&app).await;
    app.sign_in(AUDITOR).await;
    let all = app.call_ok("audit_page", "").await;
    let s = seqs(&all);
    assert!(s.windows(2).all(|w| w[0] > w[1]), "newest first: {s:?}");

    let ann = app
        .call_ok("audit_page", "query[actor]=ann@x.example")
        .await;
    assert_eq!(actions(&ann), ["guid.merge", "user.update"]);
    let area = app
        .call_ok("audit_page", &form(&[("query[action]", "user.*")]))
        .await;
    assert_eq!(actions(&area), ["user.status", "user.update"]);
    let both = app
        .call_ok(
            "audit_page",
            &form(&[
                ("query[action]", "user.*"),
                ("query[actor]", "ann@x.example"),
            ]),
        )
        .await;
    assert_eq!(actions(&both), ["user.update"]);
    let target = app
        .call_ok("audit_page", "query[target_type]=user&query[target_id]=u_2")
        .await;
    assert_eq!(actions(&target), ["user.status"]);
    let denied = app
        .call_ok("audit_page", "query[outcome]=denied&query[ip]=10.6.6.6")
        .await;
    assert_eq!(actions(&denied), ["access.denied"]);

    // Time ranges: the last hour has everything, a range in the future nothing.
    let hour = app
        .call_ok("audit_page", "query[range]=1h&query[actor]=bob@x.example")
        .await;
    assert_eq!(actions(&hour), ["user.status"]);
    let future = app.call_ok("audit_page", "query[from]=2099-01-01").await;
    assert!(future["events"].as_array().unwrap().is_empty());
    let past = app.call_ok("audit_page", "query[to]=2001-01-01").await;
    assert!(past["events"].as_array().unwrap().is_empty());

    // Keyset: everything older than the second newest.
    let before = s[1];
    let older = app
        .call_ok("audit_page", &format!("query[before]={before}"))
        .await;
    assert_eq!(seqs(&older)[0], s[2]);

    // Bad filters are refused with the reason.
    for (args, needle) in [
        ("query[outcome]=maybe", "unknown outcome"),
        ("query[from]=yesterday", "not a date"),
        ("query[range]=2w", "unknown range"),
        (
            "query[from]=2026-02-01&query[to]=2026-01-01",
            "before its start",
        ),
    ] {
        let res = app.call(&app.client, "audit_page", args).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{args}");
        assert!(res.text().await.unwrap().contains(needle), "{args}");
    }
}

#[tokio::test]
async fn exports_carry_the_chain_and_verify_line_by_line() {
    let app = TestApp::spawn().await;
    seed_events(&app).await;
    app.sign_in(AUDITOR).await;

    let res = app.get("/audit/export.ndjson").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-ndjson"));
    let body = res.text().await.unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(lines.len() >= 5, "the seeded events and the sign-in");
    let mut prev = audit::GENESIS_HASH.to_string();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"].as_i64(), Some(i as i64 + 1), "chain order");
        assert!(
            audit::exported_line_is_intact(l),
            "line {i} recomputes to its hash"
        );
        assert_eq!(
            l["prev_hash"].as_str(),
            Some(prev.as_str()),
            "linked to the line before"
        );
        prev = l["hash"].as_str().unwrap().to_string();
    }
    // A changed field no longer matches.
    let mut forged = lines[0].clone();
    forged["actor_email"] = "someone@else".into();
    assert!(!audit::exported_line_is_intact(&forged));

    // CSV: parsed back, quoted fields intact, formula cells guarded, same hashes.
    let csv_body = app
        .get("/audit/export.csv?action=user.*")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv_body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, audit::EXPORT_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][6], "user.update");
    assert_eq!(
        &rows[0][11], "'=HYPERLINK(\"x\")",
        "a formula is not run by spreadsheets"
    );
    assert!(
        rows[0][12].contains("second line"),
        "multi-line details survive"
    );
    let ndjson_for_seq = lines
        .iter()
        .find(|l| l["seq"].as_i64().unwrap().to_string() == rows[0][0])
        .unwrap();
    assert_eq!(&rows[0][14], ndjson_for_seq["hash"].as_str().unwrap());

    // Each export is audited with its filter.
    let events = app.audit_events().await;
    let exports: Vec<_> = events
        .iter()
        .filter(|e| e.action == "audit.export")
        .collect();
    assert_eq!(exports.len(), 2);
    assert!(
        exports[1].details.contains("user.*") && exports[1].details.contains("csv"),
        "{}",
        exports[1].details
    );
}

#[tokio::test]
async fn only_auditors_export_and_bad_filters_are_refused() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    assert_eq!(
        app.get("/audit/export.csv").await.status(),
        StatusCode::FORBIDDEN
    );
    let auditor = browser();
    app.sign_in_with(&auditor, AUDITOR).await;
    let res = auditor
        .get(format!("{}/audit/export.ndjson?outcome=maybe", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("unknown outcome"));
}

#[tokio::test]
async fn auditors_verify_the_chain_as_a_job_and_the_check_is_audited() {
    let app = TestApp::spawn().await;
    seed_events(&app).await;
    app.sign_in(AUDITOR).await;
    let job = app.call_ok("audit/verify", "").await;
    let id = job.as_str().unwrap();
    let mut done = Value::Null;
    for _ in 0..100 {
        done = app.call_ok("audit/job", &format!("id={id}")).await;
        if done["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        done["summary"]
            .as_str()
            .unwrap()
            .ends_with("the chain is intact."),
        "{done}"
    );
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("audit.verify", "success")
    );
}

#[tokio::test]
async fn an_export_prepared_by_the_page_reports_its_progress() {
    let app = TestApp::spawn().await;
    app.sign_in(AUDITOR).await;
    let ticket = app
        .call_ok(
            "audit/start_export",
            "query[action]=auth.sign_in&format=ndjson",
        )
        .await;
    let (job, url, total) = (
        ticket["job"].as_str().unwrap().to_string(),
        ticket["url"].as_str().unwrap().to_string(),
        ticket["total"].as_u64().unwrap(),
    );
    assert!(
        url.starts_with("/audit/export.ndjson?action=auth.sign_in"),
        "{url}"
    );
    assert_eq!(total, 1, "the auditor's own sign-in");
    let body = app.get(&url).await.text().await.unwrap();
    assert_eq!(body.lines().count(), 1);
    let progress = app.call_ok("audit/job", &format!("id={job}")).await;
    assert_eq!(progress["state"], "done");
    assert_eq!(progress["done"], 1);
    assert_eq!(progress["summary"], "1 events exported");
    // A used link still downloads but does not restart the job.
    assert_eq!(app.get(&url).await.status(), 200);
    let again = app.call_ok("audit/job", &format!("id={job}")).await;
    assert_eq!(again["done"], 1);
    // Unfiltered, the count comes from the chain's positions.
    let all = app.call_ok("audit/start_export", "format=csv").await;
    assert!(all["total"].as_u64().unwrap() >= 2);
    let res = app
        .call(&app.client, "audit/start_export", "format=xml")
        .await;
    assert_eq!(res.status(), 400);
}
