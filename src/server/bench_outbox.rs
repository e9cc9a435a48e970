//! `gatehouse bench outbox`: provisioning out, measured against a local SCIM receiver (in this
//! process, answering at once, so the figures are Gatehouse's): a group of `people` seeded users
//! is assigned to an application with a SCIM target, and the time until every account exists
//! there is taken with one delivery worker, then a replay of all those messages with two
//! workers (one target is delivered in order, by one worker at a time: the second adds nothing
//! there, by design); then commit-to-delivery latency at `rate` changes per second.
use super::bench::{percentiles, start};
use crate::model::apps::AppInput;
use crate::model::provisioning::TargetInput;
use crate::model::users::UserInput;
use crate::model::Permission;
use crate::server::db::seed::big_group;
use crate::server::service::{app_groups, apps, outbox::Worker, provisioning, users};
use crate::server::startup::StartupError;
use crate::server::AppState;
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Options {
    pub people: usize,
    pub rate: u64,
    pub seconds: u64,
}

/// When each person's account (externalId) was last written at the receiver, and how many
/// writes it took.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    writes: Arc<Mutex<u64>>,
}

impl Receiver {
    fn note(&self, body: &Value) {
        if let Some(ext) = body["externalId"].as_str() {
            self.arrivals
                .lock()
                .unwrap()
                .insert(ext.to_string(), Instant::now());
        }
        *self.writes.lock().unwrap() += 1;
    }
}

async fn create(
    State(r): State<Receiver>,
    Json(body): Json<Value>,
) -> (http::StatusCode, Json<Value>) {
    r.note(&body);
    let id = uuid::Uuid::new_v4().simple().to_string();
    (http::StatusCode::CREATED, Json(json!({ "id": id })))
}

async fn replace(State(r): State<Receiver>, Json(body): Json<Value>) -> Json<Value> {
    r.note(&body);
    Json(body)
}

/// The assigned group goes out as a SCIM Group too (groups out); it is answered but not
/// counted, so the figures stay per account.
async fn no_groups() -> Json<Value> {
    Json(json!({ "totalResults": 0, "Resources": [] }))
}

async fn create_group() -> (http::StatusCode, Json<Value>) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (http::StatusCode::CREATED, Json(json!({ "id": id })))
}

async fn replace_group(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

pub(crate) async fn receiver() -> Result<(String, Receiver), StartupError> {
    let r = Receiver::default();
    let router = Router::new()
        .route("/scim/Users", post(create))
        .route("/scim/Users/{id}", put(replace))
        .route("/scim/Groups", get(no_groups).post(create_group))
        .route("/scim/Groups/{id}", put(replace_group))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/scim", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((url, r))
}

/// Delivery workers of this process, stopped when dropped.
pub(crate) struct Workers(Arc<AtomicBool>);

impl Workers {
    pub(crate) fn start(state: &AppState, n: usize) -> Workers {
        let stop = Arc::new(AtomicBool::new(false));
        for _ in 0..n {
            let worker = Worker::new(
                state.db.clone(),
                state.clock.clone(),
                state.config.outbox.clone(),
            );
            let (stop, poll) = (stop.clone(), state.config.outbox.poll);
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if !matches!(worker.tick().await, Ok(n) if n > 0) {
                        tokio::time::sleep(poll).await;
                    }
                }
            });
        }
        Workers(stop)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn until_written(r: &Receiver, from: u64, count: u64) -> Duration {
    let started = Instant::now();
    while *r.writes.lock().unwrap() < from + count {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

pub async fn run(opts: Options) -> Result<(), StartupError> {
    // This process runs its own workers; a key for the target's token if none is configured.
    std::env::set_var("GATEHOUSE_OUTBOX_WORKER", "off");
    if std::env::var("GATEHOUSE_SECRETS_KEY").is_err() {
        std::env::set_var(
            "GATEHOUSE_SECRETS_KEY",
            hex::encode(rand::random::<[u8; 32]>()),
        );
    }
    let (state, _) = start().await?;
    let db = &state.db;
    let admin = super::bench::bench_admin(Permission::WriteApps);
    let run = format!("{:08x}", rand::random::<u32>());
    let owner = users::create(
        db,
        &admin,
        &UserInput {
            email: format!("owner-{run}@bench.example.com"),
            display_name: "Bench Owner".into(),
            source: "bench".into(),
            ..UserInput::default()
        },
    )
    .await?;
    let group = big_group(&db.pool, opts.people as i64).await?;
    let app = apps::create(
        db,
        &admin,
        &AppInput {
            name: format!("Outbox bench {run}"),
            owner: owner.email.clone(),
            kind: "m2m".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: "bench".into(),
            ..AppInput::default()
        },
    )
    .await?
    .app;
    let (url, receiver) = receiver().await?;
    let input = TargetInput {
        base_url: url,
        credential: "bench-token".into(),
        attributes: vec!["name".into(), "displayName".into(), "emails".into()],
        ..TargetInput::default()
    };
    provisioning::configure(
        db,
        &admin,
        state.config.outbox.secrets_key.as_ref(),
        &app.id,
        None,
        &input,
    )
    .await?;
    println!(
        "engine: {:?}, group of {} people, one SCIM target (local receiver)",
        db.engine, opts.people
    );
    println!("| scenario | messages | workers | seconds | messages/s |");
    println!("|---|---|---|---|---|");

    let t = Instant::now();
    app_groups::assign(db, &admin, &app.id, &group).await?;
    let commit = t.elapsed();
    // One account per person (GUID), and only for people who may use the application: seeded
    // members may share a person, and staged, suspended or deprovisioned ones get no account.
    let people: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT u.guid_id) FROM group_members m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND u.status IN ('active', 'locked')",
    )
    .bind(&group)
    .fetch_one(&db.pool)
    .await?;
    let people = people as u64;
    let workers = Workers::start(&state, 1);
    let took = until_written(&receiver, 0, people).await + commit;
    let row = |what: &str, n: u64, w: usize, d: Duration| {
        println!(
            "| {what} | {n} | {w} | {:.1} | {:.0} |",
            d.as_secs_f64(),
            n as f64 / d.as_secs_f64()
        );
    };
    row("assign the group: every account made", people, 1, took);
    drop(workers);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let before = *receiver.writes.lock().unwrap();
    provisioning::replay_from(db, &admin, &app.id, 1).await?;
    let t = Instant::now();
    let workers = Workers::start(&state, 2);
    until_written(&receiver, before, people).await;
    row("replay all (updates)", people, 2, t.elapsed());

    // Commit to delivery, at a steady rate of profile changes.
    let total = (opts.rate * opts.seconds).min(people) as usize;
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT m.user_id FROM group_members m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND u.status IN ('active', 'locked') ORDER BY m.user_id LIMIT $2",
    )
    .bind(&group)
    .bind(total as i64)
    .fetch_all(&db.pool)
    .await?;
    let gap = Duration::from_secs_f64(1.0 / opts.rate as f64);
    let mut committed: Vec<(String, Instant)> = Vec::with_capacity(members.len());
    let mut tick = tokio::time::interval(gap);
    for id in &members {
        tick.tick().await;
        let u = users::get(db, id).await?;
        let input = UserInput {
            email: u.email.clone(),
            display_name: format!("{} (changed)", u.display_name),
            source: u.source.clone(),
            ..UserInput::default()
        };
        // Taken before the change: a worker can deliver before `update` returns to this task,
        // so the figure includes the change's own transaction.
        let at = Instant::now();
        users::update(db, &admin, id, u.version, &input).await?;
        committed.push((u.guid.clone(), at));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latencies = Vec::with_capacity(committed.len());
    for (guid, at) in &committed {
        loop {
            let arrived = receiver.arrivals.lock().unwrap().get(guid).copied();
            match arrived {
                Some(when) if when >= *at => {
                    latencies.push(when - *at);
                    break;
                }
                _ if Instant::now() > deadline => {
                    return Err(format!("{guid} was not delivered within 60 s").into())
                }
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    drop(workers);
    let (p50, p95, p99) = percentiles(&mut latencies);
    println!();
    println!("| commit to delivery | changes | rate/s | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| profile change → PUT at the target | {} | {} | {p50} | {p95} | {p99} |",
        latencies.len(),
        opts.rate
    );
    println!("target: p95 under 1000 ms at 100 changes/s");
    Ok(())
}
