//! Audit streaming to the SIEM (issue 17): sinks as cursors over the audit chain, delivered by
//! the streaming worker, which these tests tick themselves (its background loop is off) while
//! they drive the app's clock past the backoff. Real receivers: a local NDJSON receiver that
//! fails on purpose and a local HTTP Event Collector that confirms batches late (the rsyslogd
//! that scripts/test.sh starts, plain and TLS, in audit_sinks_syslog.rs). Every event received is checked against the chain with the
//! server's own hash function. Refusals, the console, the environment and the REST API are in
//! audit_sinks_console.rs.
use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use gatehouse::server::service::audit::GENESIS_HASH;
use gatehouse::server::service::audit_stream::{hec_channel, Worker};
use gatehouse::server::service::audit_stream_formats::verify_event;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRETS_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HEC_TOKEN: &str = "hec-token-1234-5678";

pub fn tweak(env: &mut std::collections::HashMap<&'static str, String>) {
    env.insert("GATEHOUSE_SECRETS_KEY", SECRETS_KEY.into());
    // The tests tick the worker themselves.
    env.insert("GATEHOUSE_AUDIT_STREAM_WORKER", "off".into());
}

pub async fn spawn() -> TestApp {
    let app = TestApp::spawn_with(tweak).await;
    app.sign_in(ADMIN).await;
    app
}

/// A streaming worker of this app, as another instance (or this one after a restart) has one.
pub fn worker(app: &TestApp) -> Worker {
    Worker::new(
        app.state.db.clone(),
        app.state.clock.clone(),
        app.state.config.audit_stream.clone(),
    )
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

pub async fn head(app: &TestApp) -> i64 {
    gatehouse::server::db::audit::head(&app.state.db.pool)
        .await
        .unwrap()
        .0
}

/// The hash of event `seq` (the genesis hash before the first).
pub async fn hash_at(app: &TestApp, seq: i64) -> String {
    if seq == 0 {
        return GENESIS_HASH.to_string();
    }
    gatehouse::server::db::audit::hash_at(&app.state.db.pool, seq)
        .await
        .unwrap()
        .expect("the event exists")
}

pub async fn create_sink(app: &TestApp, pairs: &[(&str, &str)]) -> Value {
    app.call_ok("audit/sinks/create", &form(pairs)).await
}

pub async fn sink(app: &TestApp, id: &str) -> Value {
    app.call_ok("audit/sinks/get", &form(&[("id", id)])).await
}

/// Ticks the worker until the sink has everything (at most `rounds` ticks), moving the app's
/// clock past any backoff between ticks.
pub async fn drive(app: &TestApp, worker: &Worker, id: &str, rounds: usize) -> Value {
    for _ in 0..rounds {
        worker.tick().await.expect("a tick");
        let s = sink(app, id).await;
        if s["lag_events"] == 0 && s["awaiting_ack"] == false {
            return s;
        }
        app.state.clock.advance(Duration::from_secs(10));
    }
    panic!("the sink never caught up: {}", sink(app, id).await);
}

/// Every event after `start` up to `head` exactly once, in order, each hash recomputed and each
/// link to the one before checked (the first to the hash of event `start`).
pub fn check_chain(events: &[Value], start: i64, head: i64, start_hash: &str) {
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    let expected: Vec<i64> = (start + 1..=head).collect();
    assert_eq!(
        seqs, expected,
        "every event after the start exactly once, in order"
    );
    let mut prev = start_hash.to_string();
    for e in events {
        assert!(verify_event(e), "its hash does not verify: {e}");
        assert_eq!(
            e["prev_hash"],
            prev.as_str(),
            "the link before {} is broken",
            e["seq"]
        );
        prev = e["hash"].as_str().unwrap().to_string();
    }
}

async fn serve(router: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

// ------------------------------------------------------------------- NDJSON receiver --

/// Answers the queued statuses first, then 200, and keeps every event it accepted.
#[derive(Clone, Default)]
pub struct Collector {
    pub refuse: Arc<Mutex<VecDeque<u16>>>,
    pub events: Arc<Mutex<Vec<Value>>>,
    pub requests: Arc<Mutex<usize>>,
    /// (content-type, authorization) of each accepted request.
    pub headers: Arc<Mutex<Vec<(String, String)>>>,
}

impl Collector {
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
    pub fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn ndjson_in(State(c): State<Collector>, headers: HeaderMap, body: Bytes) -> AxStatus {
    *c.requests.lock().unwrap() += 1;
    let refused = c.refuse.lock().unwrap().pop_front();
    if let Some(status) = refused {
        return AxStatus::from_u16(status).unwrap();
    }
    c.headers.lock().unwrap().push((
        header(&headers, "content-type"),
        header(&headers, "authorization"),
    ));
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut events = c.events.lock().unwrap();
    for line in text.lines().filter(|l| !l.is_empty()) {
        events.push(serde_json::from_str(line).expect("one JSON event per line"));
    }
    AxStatus::OK
}

pub async fn ndjson_receiver() -> (String, Collector) {
    let c = Collector::default();
    let router = axum::Router::new()
        .route("/in", axum::routing::post(ndjson_in))
        .with_state(c.clone());
    let port = serve(router).await;
    (format!("http://127.0.0.1:{port}/in"), c)
}

#[tokio::test]
async fn ndjson_delivery_survives_failures_and_restarts_without_gaps_or_duplicates() {
    let app = spawn().await;
    let (url, collector) = ndjson_receiver().await;
    collector.refuse.lock().unwrap().extend([503, 503, 503]);
    app.create_user(&unique("before"), "Before", &[]).await;
    let made = create_sink(
        &app,
        &[
            ("input[name]", "NDJSON receiver"),
            ("input[kind]", "ndjson"),
            ("input[url]", &url),
            ("input[batch_size]", "3"),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    let start = made["cursor"].as_i64().unwrap();
    assert_eq!(made["status"], "active");
    assert_eq!(made["format"], "gatehouse");
    let first = gatehouse::server::db::audit::by_seq(&app.state.db.pool, start + 1)
        .await
        .unwrap()
        .expect("the sink's first event");
    assert_eq!(
        first.action, "audit.sink.create",
        "a sink starts with the record of its own creation"
    );
    for i in 0..7 {
        app.create_user(&unique(&format!("p{i}")), "Person", &[])
            .await;
    }
    let start_hash = hash_at(&app, start).await;

    // The receiver is down: nothing is acknowledged, the cursor stays, the error is kept.
    let first = worker(&app);
    assert_eq!(first.tick().await.unwrap(), 0);
    assert_eq!(collector.requests(), 1);
    let failing = sink(&app, &id).await;
    assert_eq!(failing["cursor"], start, "{failing}");
    assert_eq!(failing["failures"], 1);
    assert!(
        failing["last_error"].as_str().unwrap().contains("503"),
        "{failing}"
    );
    assert!(failing["lag_events"].as_i64().unwrap() >= 8, "{failing}");
    assert!(
        failing["next_attempt_at"].as_i64().unwrap() > failing["last_error_at"].as_i64().unwrap()
    );
    for failures in 2..=3 {
        app.state.clock.advance(Duration::from_secs(10));
        assert_eq!(first.tick().await.unwrap(), 0);
        assert_eq!(collector.requests(), failures);
    }
    assert_eq!(sink(&app, &id).await["failures"], 3);
    // The backoff runs on the app's clock (two seconds at least after three failures): a tick
    // now sends nothing.
    assert_eq!(first.tick().await.unwrap(), 0);
    assert_eq!(collector.requests(), 3);

    let done = drive(&app, &first, &id, 30).await;
    let head_now = head(&app).await;
    assert_eq!(done["cursor"], head_now);
    assert_eq!(done["failures"], 0);
    assert_eq!(done["lag_seconds"], 0);
    assert!(done["delivered_at"].as_i64().unwrap() > 0);
    let events = collector.events();
    check_chain(&events, start, head_now, &start_hash);
    let batches = ((head_now - start) as usize).div_ceil(3);
    assert_eq!(
        collector.requests(),
        3 + batches,
        "three refusals, then batches of three"
    );
    assert!(collector
        .headers
        .lock()
        .unwrap()
        .iter()
        .all(|(kind, auth)| kind == "application/x-ndjson" && auth.is_empty()));

    // Another outage, then a restart: a new worker resumes exactly after the cursor.
    collector.refuse.lock().unwrap().push_back(502);
    for i in 0..4 {
        app.create_user(&unique(&format!("q{i}")), "Later", &[])
            .await;
    }
    let restarted = worker(&app);
    drive(&app, &restarted, &id, 30).await;
    let head_now = head(&app).await;
    check_chain(&collector.events(), start, head_now, &start_hash);

    // An instance that died holding the sink: the others wait for its lease to run out.
    sqlx::query("UPDATE audit_sinks SET lease_owner = 'as_dead', lease_until = $1 WHERE id = $2")
        .bind(app.state.clock.now_ms() + 30_000)
        .bind(id.as_str())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.create_user(&unique("late"), "Late", &[]).await;
    assert_eq!(restarted.tick().await.unwrap(), 0, "the lease is held");
    assert!(sink(&app, &id).await["lag_events"].as_i64().unwrap() >= 1);
    app.state.clock.advance(Duration::from_secs(60));
    assert!(restarted.tick().await.unwrap() >= 1, "the lease ran out");
    let head_now = head(&app).await;
    assert_eq!(sink(&app, &id).await["cursor"], head_now);
    check_chain(&collector.events(), start, head_now, &start_hash);
}

// ------------------------------------------------------------------------ HEC receiver --

/// A Splunk HTTP Event Collector: gives an `ackId` per batch (unless `without_ack`) and answers
/// acknowledgement polls from `acks` (then `true`).
#[derive(Clone, Default)]
struct Hec {
    envelopes: Arc<Mutex<Vec<Value>>>,
    posts: Arc<Mutex<usize>>,
    next_ack: Arc<Mutex<i64>>,
    without_ack: Arc<Mutex<bool>>,
    acks: Arc<Mutex<VecDeque<bool>>>,
    polls: Arc<Mutex<Vec<i64>>>,
    /// (authorization, channel) of each request.
    headers: Arc<Mutex<Vec<(String, String)>>>,
}

async fn hec_event(State(h): State<Hec>, headers: HeaderMap, body: Bytes) -> (AxStatus, String) {
    h.headers.lock().unwrap().push((
        header(&headers, "authorization"),
        header(&headers, "x-splunk-request-channel"),
    ));
    let envelopes: Vec<Value> = serde_json::Deserializer::from_slice(&body)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("concatenated JSON envelopes");
    h.envelopes.lock().unwrap().extend(envelopes);
    *h.posts.lock().unwrap() += 1;
    if *h.without_ack.lock().unwrap() {
        return (
            AxStatus::OK,
            json!({"text": "Success", "code": 0}).to_string(),
        );
    }
    let id = {
        let mut next = h.next_ack.lock().unwrap();
        *next += 1;
        *next
    };
    (
        AxStatus::OK,
        json!({"text": "Success", "code": 0, "ackId": id}).to_string(),
    )
}

async fn hec_ack(State(h): State<Hec>, body: Bytes) -> (AxStatus, String) {
    let asked: Value = serde_json::from_slice(&body).expect("a JSON body");
    let mut acks = serde_json::Map::new();
    for id in asked["acks"].as_array().expect("acks").iter() {
        let id = id.as_i64().expect("an ack id");
        h.polls.lock().unwrap().push(id);
        let answer = h.acks.lock().unwrap().pop_front().unwrap_or(true);
        acks.insert(id.to_string(), json!(answer));
    }
    (AxStatus::OK, json!({ "acks": acks }).to_string())
}

async fn hec_receiver() -> (String, Hec) {
    let h = Hec::default();
    let router = axum::Router::new()
        .route("/services/collector/event", axum::routing::post(hec_event))
        .route("/services/collector/ack", axum::routing::post(hec_ack))
        .with_state(h.clone());
    let port = serve(router).await;
    (format!("http://127.0.0.1:{port}"), h)
}

#[tokio::test]
async fn hec_batches_count_only_once_the_collector_confirms_them() {
    let app = spawn().await;
    let (base, hec) = hec_receiver().await;
    hec.acks.lock().unwrap().push_back(false);
    let made = create_sink(
        &app,
        &[
            ("input[name]", "Splunk"),
            ("input[kind]", "hec"),
            ("input[url]", &format!("{base}/services/collector/event")),
            ("input[token]", HEC_TOKEN),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["url"], base.as_str(), "the event path is dropped");
    assert_eq!(made["token_hint"], "…5678");
    assert!(!made.to_string().contains(HEC_TOKEN));
    let stored: String = sqlx::query_scalar("SELECT credential_sealed FROM audit_sinks")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1.") && !stored.contains(HEC_TOKEN),
        "{stored}"
    );
    let start = made["cursor"].as_i64().unwrap();
    let start_hash = hash_at(&app, start).await;
    app.create_user(&unique("a"), "A", &[]).await;
    app.create_user(&unique("b"), "B", &[]).await;
    let head_now = head(&app).await;

    // Accepted, not yet confirmed: the cursor waits.
    let worker = worker(&app);
    assert_eq!(worker.tick().await.unwrap(), 0);
    assert_eq!(*hec.posts.lock().unwrap(), 1);
    assert_eq!(*hec.polls.lock().unwrap(), vec![1]);
    let waiting = sink(&app, &id).await;
    assert_eq!(waiting["cursor"], start, "{waiting}");
    assert_eq!(waiting["awaiting_ack"], true);
    assert_eq!(waiting["lag_events"], head_now - start);

    // Confirmed: the cursor moves to the batch's end, nothing was sent twice.
    assert_eq!(worker.tick().await.unwrap(), (head_now - start) as usize);
    let confirmed = sink(&app, &id).await;
    assert_eq!(confirmed["cursor"], head_now);
    assert_eq!(confirmed["awaiting_ack"], false);
    assert_eq!(*hec.posts.lock().unwrap(), 1);
    assert_eq!(*hec.polls.lock().unwrap(), vec![1, 1]);
    let envelopes = hec.envelopes.lock().unwrap().clone();
    for e in &envelopes {
        assert_eq!(e["sourcetype"], "gatehouse:audit");
        assert_eq!(e["source"], "gatehouse");
        let at = e["event"]["occurred_at"].as_i64().unwrap();
        let time = e["time"].as_f64().unwrap();
        assert_eq!((time * 1000.0).round() as i64, at, "{e}");
    }
    let events: Vec<Value> = envelopes.iter().map(|e| e["event"].clone()).collect();
    check_chain(&events, start, head_now, &start_hash);
    let channel = hec_channel(&id);
    assert!(hec
        .headers
        .lock()
        .unwrap()
        .iter()
        .all(|(auth, ch)| *auth == format!("Splunk {HEC_TOKEN}") && *ch == channel));

    // A collector without acknowledgements: its 200 is the confirmation.
    *hec.without_ack.lock().unwrap() = true;
    app.create_user(&unique("c"), "C", &[]).await;
    assert!(worker.tick().await.unwrap() >= 1);
    let head_now = head(&app).await;
    assert_eq!(sink(&app, &id).await["cursor"], head_now);
    assert_eq!(hec.polls.lock().unwrap().len(), 2);

    // A confirmation that never comes: after five minutes the batch is sent again.
    *hec.without_ack.lock().unwrap() = false;
    hec.acks.lock().unwrap().extend([false, false]);
    app.create_user(&unique("d"), "D", &[]).await;
    let last = head(&app).await;
    assert_eq!(worker.tick().await.unwrap(), 0);
    app.state.clock.advance(Duration::from_secs(6 * 60));
    assert_eq!(worker.tick().await.unwrap(), 0);
    let given_up = sink(&app, &id).await;
    assert_eq!(given_up["cursor"], head_now, "{given_up}");
    assert_eq!(given_up["awaiting_ack"], false);
    assert_eq!(given_up["failures"], 1);
    assert!(given_up["last_error"]
        .as_str()
        .unwrap()
        .contains("did not confirm"));
    app.state.clock.advance(Duration::from_secs(10));
    assert!(worker.tick().await.unwrap() >= 1);
    assert_eq!(sink(&app, &id).await["cursor"], last);
    let sent_twice = hec
        .envelopes
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["seq"] == last)
        .count();
    assert_eq!(sent_twice, 2, "at least once: the unconfirmed batch again");
}

// ------------------------------------------------------------------------------ OCSF --

#[tokio::test]
async fn ocsf_events_map_account_changes_sign_ins_and_api_activity() {
    let app = spawn().await;
    let (url, collector) = ndjson_receiver().await;
    let made = create_sink(
        &app,
        &[
            ("input[name]", "OCSF lake"),
            ("input[kind]", "ndjson"),
            ("input[format]", "ocsf"),
            ("input[url]", &url),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["format"], "ocsf");
    let start = made["cursor"].as_i64().unwrap();
    let start_hash = hash_at(&app, start).await;
    let user = app.create_user(&unique("ocsf"), "Olga", &[]).await;
    // Another sign-in (the first was create_sink's), from a browser of its own.
    app.sign_in_with(&browser(), ADMIN).await;
    let worker = worker(&app);
    drive(&app, &worker, &id, 10).await;
    let head_now = head(&app).await;
    let events = collector.events();
    let by_action = |action: &str| {
        events
            .iter()
            .find(|e| e["unmapped"]["gatehouse"]["action"] == action)
            .unwrap_or_else(|| panic!("no {action} among {events:?}"))
            .clone()
    };

    let sink_made = by_action("audit.sink.create");
    assert_eq!(sink_made["class_uid"], 6003, "API Activity");
    assert_eq!(sink_made["category_uid"], 6);
    assert_eq!(sink_made["activity_id"], 1);
    assert_eq!(sink_made["type_uid"], 600301);
    assert_eq!(sink_made["api"]["operation"], "audit.sink.create");
    assert_eq!(sink_made["resources"][0]["uid"], id.as_str());

    let created = by_action("user.create");
    assert_eq!(created["class_uid"], 3001, "Account Change");
    assert_eq!(created["category_uid"], 3);
    assert_eq!(created["activity_name"], "Create");
    assert_eq!(created["type_uid"], 300101);
    assert_eq!(created["user"]["uid"], user["id"]);
    assert_eq!(created["actor"]["user"]["email_addr"], ADMIN);
    assert_eq!(created["actor"]["user"]["type"], "Admin");

    let signed_in = by_action("auth.sign_in");
    assert_eq!(signed_in["class_uid"], 3002, "Authentication");
    assert_eq!(signed_in["activity_name"], "Logon");
    assert_eq!(signed_in["type_uid"], 300201);
    assert_eq!(signed_in["user"]["email_addr"], ADMIN);

    let mut raw = Vec::new();
    for e in &events {
        assert_eq!(e["metadata"]["version"], "1.1.0");
        assert_eq!(e["metadata"]["product"]["name"], "Gatehouse");
        assert_eq!(e["metadata"]["product"]["vendor_name"], "Gatehouse");
        assert_eq!(e["status_id"], 1);
        assert_eq!(e["status"], "Success");
        let original: Value =
            serde_json::from_str(e["raw_data"].as_str().expect("raw_data")).unwrap();
        assert_eq!(e["time"], original["occurred_at"]);
        assert_eq!(e["unmapped"]["gatehouse"]["seq"], original["seq"]);
        assert_eq!(e["unmapped"]["gatehouse"]["hash"], original["hash"]);
        assert_eq!(
            e["unmapped"]["gatehouse"]["prev_hash"],
            original["prev_hash"]
        );
        raw.push(original);
    }
    check_chain(&raw, start, head_now, &start_hash);
}
