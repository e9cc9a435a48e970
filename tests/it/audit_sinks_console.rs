//! Audit sinks in the console, from the environment and through the REST API (issue 17): bad
//! settings and replays refused per field with nothing stored, pausing, changing, replaying and
//! removing, sinks of GATEHOUSE_AUDIT_SINKS, and `/api/v1/audit/sinks`. Delivery itself is tested
//! in audit_sinks.rs, whose receivers and helpers these tests share.
use crate::api_v1::service_token;
use crate::audit_sinks::{create_sink, drive, head, ndjson_receiver, sink, spawn, tweak, worker};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn bad_sinks_and_bad_replays_are_refused_per_field_and_nothing_is_stored() {
    let app = spawn().await;
    let ok = [("input[name]", "S"), ("input[kind]", "ndjson")];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![ok[0], ok[1], ("input[url]", "http://siem.example.com/in")],
            "https",
        ),
        (
            vec![
                ok[0],
                ("input[kind]", "kafka"),
                ("input[url]", "https://siem.example.com/in"),
            ],
            "hec, ndjson or syslog",
        ),
        (
            vec![
                ok[0],
                ("input[kind]", "syslog"),
                ("input[url]", "udp://siem.example.com:514"),
            ],
            "tcp://host:port or tls://host:port",
        ),
        (
            vec![
                ok[0],
                ("input[kind]", "hec"),
                ("input[url]", "https://splunk.example.com"),
            ],
            "HEC token",
        ),
        (
            vec![
                ok[0],
                ok[1],
                ("input[url]", "https://siem.example.com/in"),
                ("input[format]", "cef"),
            ],
            "gatehouse or ocsf",
        ),
        (
            vec![
                ok[0],
                ok[1],
                ("input[url]", "https://siem.example.com/in"),
                ("input[batch_size]", "0"),
            ],
            "1 to 5000",
        ),
        (
            vec![
                ok[0],
                ok[1],
                ("input[url]", "https://siem.example.com/in"),
                ("input[from_seq]", "999999"),
            ],
            "start from",
        ),
        (
            vec![
                ("input[name]", ""),
                ok[1],
                ("input[url]", "https://siem.example.com/in"),
            ],
            "Name",
        ),
    ];
    for (pairs, expected) in cases {
        let res = app
            .call(&app.client, "audit/sinks/create", &form(&pairs))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{pairs:?}");
        let text = res.text().await.unwrap();
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    assert_eq!(app.call_ok("audit/sinks/list", "").await, json!([]));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_sinks")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "audit.sink.create"));

    // Replays name an event the chain holds.
    let (url, _collector) = ndjson_receiver().await;
    let made = create_sink(&app, &[ok[0], ok[1], ("input[url]", &url)]).await;
    let id = made["id"].as_str().unwrap().to_string();
    let beyond = (head(&app).await + 5).to_string();
    for from in ["0", "-4", beyond.as_str()] {
        let res = app
            .call(
                &app.client,
                "audit/sinks/replay",
                &form(&[("id", &id), ("from", from)]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "replay from {from}");
    }
    assert_eq!(sink(&app, &id).await["cursor"], made["cursor"]);
    let missing = app
        .call(&app.client, "audit/sinks/get", &form(&[("id", "snk_nope")]))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[test]
fn bad_environment_sinks_stop_the_start_naming_the_variable() {
    for raw in [
        "not json",
        r#"[{"name": "a"}]"#,
        r#"[{"name": "a", "kind": "ndjson", "url": "http://siem.example.com/in"}]"#,
        r#"[{"name": "a", "kind": "syslog", "url": "udp://siem.example.com:514"}]"#,
    ] {
        let mut vars = base_env("sqlite://unused.db", 1);
        vars.insert("GATEHOUSE_AUDIT_SINKS", raw.to_string());
        let e = gatehouse::server::Config::from_lookup(|k| vars.get(k).cloned()).unwrap_err();
        assert_eq!(e.var, "GATEHOUSE_AUDIT_SINKS", "{raw}: {e}");
    }
}

#[tokio::test]
async fn the_console_pauses_changes_replays_and_removes_a_sink() {
    let app = spawn().await;
    let (url, collector) = ndjson_receiver().await;
    let made = create_sink(
        &app,
        &[
            ("input[name]", "Console sink"),
            ("input[kind]", "ndjson"),
            ("input[url]", &url),
            ("input[token]", "Bearer console-secret"),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let start = made["cursor"].as_i64().unwrap();
    let worker = worker(&app);

    // Paused: the cursor waits, nothing is sent.
    let paused = app
        .call_ok(
            "audit/sinks/status",
            &form(&[("id", &id), ("status", "paused")]),
        )
        .await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(worker.tick().await.unwrap(), 0);
    assert_eq!(collector.requests(), 0);
    let resumed = app
        .call_ok(
            "audit/sinks/status",
            &form(&[("id", &id), ("status", "active")]),
        )
        .await;
    assert_eq!(resumed["status"], "active");
    drive(&app, &worker, &id, 10).await;
    assert!(collector
        .headers
        .lock()
        .unwrap()
        .iter()
        .all(|(_, auth)| auth == "Bearer console-secret"));

    // Changed against its version; the token is kept when none is given.
    let version = sink(&app, &id).await["version"]
        .as_i64()
        .unwrap()
        .to_string();
    let change = |version: &str| {
        form(&[
            ("id", &id),
            ("version", version),
            ("input[name]", "Console sink (OCSF)"),
            ("input[kind]", "ndjson"),
            ("input[format]", "ocsf"),
            ("input[url]", &url),
            ("input[token]", ""),
            ("input[batch_size]", "2"),
        ])
    };
    let changed = app.call_ok("audit/sinks/save", &change(&version)).await;
    assert_eq!(changed["format"], "ocsf");
    assert_eq!(changed["batch_size"], 2);
    assert_eq!(changed["token_hint"], made["token_hint"]);
    let stale = app
        .call(&app.client, "audit/sinks/save", &change(&version))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);

    // Replay: everything from the sink's first event is sent again, in order.
    let before = collector.events().len();
    let replayed = app
        .call_ok(
            "audit/sinks/replay",
            &form(&[("id", &id), ("from", &(start + 1).to_string())]),
        )
        .await;
    assert_eq!(replayed["cursor"], start);
    drive(&app, &worker, &id, 10).await;
    let again: Vec<i64> = collector.events()[before..]
        .iter()
        .map(|e| e["unmapped"]["gatehouse"]["seq"].as_i64().unwrap())
        .collect();
    let head_now = head(&app).await;
    assert_eq!(again, (start + 1..=head_now).collect::<Vec<_>>());

    // The audit page shows the sinks' state; the sinks page lists them.
    let page = app.get("/audit").await.text().await.unwrap();
    assert!(page.contains("Streaming to the SIEM"), "{page}");
    assert!(page.contains("Console sink (OCSF)"));
    assert!(page.contains("/audit/sinks"));
    let page = app.get("/audit/sinks").await.text().await.unwrap();
    assert!(page.contains("Console sink (OCSF)"));
    assert!(!page.contains("console-secret"));

    let removed = app
        .call(&app.client, "audit/sinks/delete", &form(&[("id", &id)]))
        .await;
    assert!(
        removed.status().is_success() || removed.status().is_redirection(),
        "{}",
        removed.status()
    );
    assert_eq!(app.call_ok("audit/sinks/list", "").await, json!([]));
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "audit.sink.create",
        "audit.sink.pause",
        "audit.sink.resume",
        "audit.sink.update",
        "audit.sink.replay",
        "audit.sink.delete",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
}

#[tokio::test]
async fn environment_sinks_are_stored_at_start_and_read_only_in_the_console() {
    let (url, _collector) = ndjson_receiver().await;
    let sinks =
        json!([{ "name": "env-siem", "kind": "ndjson", "format": "ocsf", "url": url }]).to_string();
    let database_url = fresh_database_url().await;
    let with_sinks = |env: &mut std::collections::HashMap<&'static str, String>| {
        tweak(env);
        env.insert("GATEHOUSE_AUDIT_SINKS", sinks.clone());
    };
    let app = TestApp::spawn_on(&database_url, with_sinks).await;
    app.sign_in(ADMIN).await;
    let listed = app.call_ok("audit/sinks/list", "").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let s = &listed[0];
    assert_eq!(s["source"], "env");
    assert_eq!(s["name"], "env-siem");
    assert_eq!(s["format"], "ocsf");
    let id = s["id"].as_str().unwrap().to_string();
    let made = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "audit.sink.create")
        .collect::<Vec<_>>();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].actor_email.as_deref(), Some("system"));

    // Read-only here: changed and removed in the environment.
    let res = app
        .call(
            &app.client,
            "audit/sinks/save",
            &form(&[
                ("id", &id),
                ("version", &s["version"].to_string()),
                ("input[name]", "env-siem"),
                ("input[kind]", "ndjson"),
                ("input[url]", &url),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("GATEHOUSE_AUDIT_SINKS"));
    let res = app
        .call(&app.client, "audit/sinks/delete", &form(&[("id", &id)]))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Pausing works.
    let paused = app
        .call_ok(
            "audit/sinks/status",
            &form(&[("id", &id), ("status", "paused")]),
        )
        .await;
    assert_eq!(paused["status"], "paused");

    // Another instance with the same setting changes nothing.
    let again = TestApp::spawn_on(&database_url, with_sinks).await;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM audit_sinks")
        .fetch_all(&again.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![(id.clone(), "paused".to_string())]);
    let updates = again
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "audit.sink.update")
        .count();
    assert_eq!(updates, 0);

    // No longer in the environment: removed at the next start, audited.
    let without = TestApp::spawn_on(&database_url, tweak).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_sinks")
        .fetch_one(&without.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(without
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "audit.sink.delete" && e.target_id.as_deref() == Some(id.as_str())));
}

#[tokio::test]
async fn the_rest_api_manages_sinks_with_versions_and_readers_see_their_state() {
    let app = spawn().await;
    let manager = service_token(&app, &["audit:sinks"]).await;
    let reader = service_token(&app, &["audit:read"]).await;
    let (url, collector) = ndjson_receiver().await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v1/audit/sinks", app.url);
    let res = http
        .post(&base)
        .bearer_auth(&manager)
        .json(&json!({"name": "API sink", "kind": "ndjson", "url": url, "token": "Bearer api-secret-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let made: Value = res.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/audit/sinks/{id}"));
    assert!(!made.to_string().contains("api-secret-1"));
    assert_eq!(made["token_hint"], "…et-1");
    let start = made["cursor"].as_i64().unwrap();

    // Readers of the audit log read the sinks, and change nothing.
    let res = http
        .get(format!("{base}/{id}"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"v{}\"", made["version"]));
    let res = http
        .post(&base)
        .bearer_auth(&reader)
        .json(&json!({"name": "x", "kind": "ndjson", "url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http.get(&base).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let patch = json!({"version": made["version"], "batch_size": "2"});
    let res = http
        .patch(format!("{base}/{id}"))
        .bearer_auth(&manager)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["batch_size"], 2);
    assert_eq!(changed["name"], "API sink");
    let res = http
        .patch(format!("{base}/{id}"))
        .bearer_auth(&manager)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    for (status, expected) in [
        ("paused", StatusCode::OK),
        ("sometimes", StatusCode::BAD_REQUEST),
        ("active", StatusCode::OK),
    ] {
        let res = http
            .post(format!("{base}/{id}/status"))
            .bearer_auth(&manager)
            .json(&json!({ "status": status }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{status}");
    }

    let worker = worker(&app);
    drive(&app, &worker, &id, 10).await;
    assert!(!collector.events().is_empty());
    assert!(collector
        .headers
        .lock()
        .unwrap()
        .iter()
        .all(|(_, auth)| auth == "Bearer api-secret-1"));

    let res = http
        .post(format!("{base}/{id}/replay"))
        .bearer_auth(&manager)
        .json(&json!({ "from": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = http
        .post(format!("{base}/{id}/replay"))
        .bearer_auth(&manager)
        .json(&json!({ "from": start + 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let replayed: Value = res.json().await.unwrap();
    assert_eq!(replayed["cursor"], start);

    let res = http
        .delete(format!("{base}/{id}"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = http
        .get(format!("{base}/{id}"))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
