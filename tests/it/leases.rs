//! Several instances (issue 17): background work that must run once runs on the instance holding
//! its lease, once per period across instances; a holder that stops renewing is replaced after
//! the lease, one that stops gracefully at once; the console and the API show who holds what;
//! SQLite refuses a second process on the same file. Two instances share one database here
//! (PostgreSQL, or one SQLite file in this one process), their clocks driven, never slept through.
use crate::api_v1::{api, service_token};
use crate::common::*;
use gatehouse::model::system::BackgroundTask;
use gatehouse::server::db;
use gatehouse::server::service::leases::{Lessee, Task, Turn};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

/// A task of these tests only: the instances' own loops never touch it.
const TASK: Task = Task {
    name: "test_singleton",
    every: Duration::from_secs(60),
    wait_first: false,
};

async fn two_instances() -> (TestApp, TestApp) {
    let database_url = fresh_database_url().await;
    let a = TestApp::spawn_on(&database_url, |_| {}).await;
    let b = TestApp::spawn_on(&database_url, |_| {}).await;
    assert_ne!(a.state.instance.id, b.state.instance.id);
    (a, b)
}

/// One look at the task by `app`'s instance, as its loop takes every few seconds; a run
/// counts in `ran`.
async fn look(app: &TestApp, ran: &AtomicUsize) -> Turn {
    Lessee::of(&app.state)
        .run_if_due(&TASK, || async {
            ran.fetch_add(1, SeqCst);
            Ok::<(), String>(())
        })
        .await
        .expect("the lease can be read")
}

fn advance(apps: &[&TestApp], secs: u64) {
    for app in apps {
        app.state.clock.advance(Duration::from_secs(secs));
    }
}

async fn row(app: &TestApp) -> BackgroundTask {
    db::leases::tasks(&app.state.db.pool, app.state.clock.now_ms())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.task == TASK.name)
        .expect("the task has a row")
}

#[tokio::test]
async fn a_singleton_task_runs_once_per_period_across_two_instances() {
    let (a, b) = two_instances().await;
    let (ran_a, ran_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
    assert_eq!(
        look(&a, &ran_a).await,
        Turn::Ran(Ok(())),
        "the first instance to look takes it and runs it"
    );
    assert_eq!(look(&b, &ran_b).await, Turn::HeldElsewhere);
    // Three periods in steps of 5 s (the loop's renewal), both instances looking at every
    // step, taking turns at looking first.
    for step in 1..=36 {
        advance(&[&a, &b], 5);
        if step % 2 == 0 {
            look(&b, &ran_b).await;
            look(&a, &ran_a).await;
        } else {
            look(&a, &ran_a).await;
            look(&b, &ran_b).await;
        }
    }
    assert_eq!(ran_a.load(SeqCst), 4, "at 0, 60, 120 and 180 s");
    assert_eq!(
        ran_b.load(SeqCst),
        0,
        "never on the other instance while the holder renews"
    );
    let r = row(&a).await;
    assert_eq!(r.runs, 4, "{r:?}");
    assert_eq!(r.holder.as_deref(), Some(a.state.instance.id.as_str()));
    assert_eq!(r.holder_started_at, a.state.instance.started_at);
    assert!(r.held, "{r:?}");
    assert_eq!(r.every_ms, 60_000);
    assert_eq!(r.last_error, "");
}

#[tokio::test]
async fn when_the_holder_stops_renewing_another_instance_takes_over_after_the_lease() {
    let (a, b) = two_instances().await;
    let (ran_a, ran_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
    assert_eq!(look(&a, &ran_a).await, Turn::Ran(Ok(())));
    let first = row(&a).await;
    // The holder dies: it looks no more. Within the lease (15 s) the task stays its own.
    advance(&[&a, &b], 10);
    assert_eq!(look(&b, &ran_b).await, Turn::HeldElsewhere);
    advance(&[&a, &b], 10);
    // Past the lease the other takes it. The schedule is shared: the next run is due 60 s
    // after the dead holder's, not at once.
    assert_eq!(look(&b, &ran_b).await, Turn::NotDue);
    let taken = row(&b).await;
    assert_eq!(taken.holder.as_deref(), Some(b.state.instance.id.as_str()));
    assert_eq!(taken.holder_started_at, b.state.instance.started_at);
    assert!(taken.acquired_at > first.acquired_at, "{taken:?}");
    assert_eq!(taken.runs, 1);
    for _ in 0..8 {
        advance(&[&a, &b], 5);
        look(&b, &ran_b).await;
    }
    assert_eq!(ran_b.load(SeqCst), 1, "due at 60 s, run by the new holder");
    // The old holder was only paused: back, it finds the task taken.
    assert_eq!(look(&a, &ran_a).await, Turn::HeldElsewhere);
    assert_eq!(ran_a.load(SeqCst), 1);
    let r = row(&b).await;
    assert_eq!(r.runs, 2, "once per period, whoever held it: {r:?}");
    assert!(r.held);
}

#[tokio::test]
async fn a_stopping_instance_hands_its_work_over_at_once() {
    let (a, b) = two_instances().await;
    let (ran_a, ran_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
    assert_eq!(look(&a, &ran_a).await, Turn::Ran(Ok(())));
    assert_eq!(look(&b, &ran_b).await, Turn::HeldElsewhere);
    // What `gatehouse serve` does once drained after SIGTERM.
    let released = Lessee::of(&a.state).release_all().await.unwrap();
    assert!(released >= 1, "{released}");
    assert_eq!(
        look(&a, &ran_a).await,
        Turn::Stopping,
        "claims nothing more"
    );
    let freed = row(&b).await;
    assert_eq!(freed.holder, None);
    assert!(!freed.held);
    assert_eq!(
        look(&b, &ran_b).await,
        Turn::NotDue,
        "taken at once, not after the lease; due a period after the last run"
    );
    assert_eq!(
        row(&b).await.holder.as_deref(),
        Some(b.state.instance.id.as_str())
    );
}

#[tokio::test]
async fn the_console_and_the_api_show_which_instance_runs_what() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let me = app.state.instance.id.clone();
    // The user purge runs at start, on the only instance.
    let mut work = Value::Null;
    let purge = |work: &Value| {
        work["tasks"]
            .as_array()
            .and_then(|tasks| tasks.iter().find(|t| t["task"] == "user_purge").cloned())
    };
    for _ in 0..100 {
        work = app.call_ok("system/background", "").await;
        if purge(&work).is_some_and(|t| t["runs"].as_i64() >= Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(work["answered_by"], me.as_str(), "{work}");
    assert_eq!(work["engine"], engine().as_str());
    let purge = purge(&work).expect("the purge's lease is listed");
    assert_eq!(purge["holder"], me.as_str(), "{purge}");
    assert_eq!(purge["held"], true);
    assert_eq!(purge["every_ms"], 60_000);
    assert_eq!(purge["last_error"], "");
    assert!(purge["acquired_at"].as_i64().unwrap() > 0, "{purge}");
    assert!(work["deliveries"].as_array().unwrap().is_empty(), "{work}");

    let page = app.get("/system").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("System</h1>") && html.contains("Background tasks"),
        "{html}"
    );

    let token = service_token(&app, &["system:read"]).await;
    let res = api(&app, &token, "GET", "/api/v1/system/background", None, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["answered_by"], me.as_str());
    assert!(body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["task"] == "user_purge"));
}

#[tokio::test]
async fn a_second_process_on_the_same_sqlite_file_is_refused_with_a_clear_message() {
    if engine() != "sqlite" {
        return; // PostgreSQL serves several instances (the tests above).
    }
    // This process holds the file's lock from here on.
    let app = TestApp::spawn().await;
    let url = app.state.config.database_url.clone();
    let file = url.rsplit('/').next().unwrap().to_string();
    let env = base_env(&url, free_port());
    let mut second = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    second
        .arg("serve")
        .env_remove("GATEHOUSE_INSTANCE_ID")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), second.output())
        .await
        .expect("refused at start, not served")
        .expect("run gatehouse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another Gatehouse instance (process {}) is using",
            std::process::id()
        )) && stderr.contains(&file)
            && stderr.contains("SQLite allows one instance; use PostgreSQL for several"),
        "{stderr}"
    );
    // One process may open it again (these tests start several instances on one file).
    let again = TestApp::spawn_on(&url, |_| {}).await;
    assert_eq!(again.get("/healthz").await.status(), StatusCode::OK);
}
