//! "Revoke everywhere" in `gatehouse bench signals`: a person with 5 accounts, assigned to 10
//! applications that each provision to a local SCIM receiver, and 3 Shared Signals receivers
//! (local push endpoints answering 202); the time from the act until every target is confirmed
//! (the revocation settled), with two delivery workers of this process.
use super::bench::{bench_admin, percentiles};
use super::bench_outbox::{receiver as scim_receiver, Workers};
use crate::model::apps::AppInput;
use crate::model::provisioning::TargetInput;
use crate::model::revocations::RevocationInput;
use crate::model::ssf::ReceiverInput;
use crate::model::users::{MergeChoices, UserInput};
use crate::model::Permission;
use crate::server::service::audit::RequestMeta;
use crate::server::service::{
    apps, guids, provisioning, revocation_progress, revocations, ssf, ssf_streams, users,
};
use crate::server::ssf_events::SUPPORTED;
use crate::server::startup::StartupError;
use crate::server::AppState;
use axum::routing::post;
use axum::Router;
use serde_json::json;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 5;
const APPLICATIONS: usize = 10;
const RECEIVERS: usize = 3;

/// A push endpoint that accepts every token.
async fn push_endpoint() -> Result<String, StartupError> {
    let router = Router::new().route("/events", post(|| async { http::StatusCode::ACCEPTED }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// Waits until no message is pending (the setup's own deliveries are not measured).
async fn quiet(state: &AppState) -> Result<(), StartupError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .fetch_one(&state.db.pool)
                .await?;
        if pending == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{pending} setup messages still pending after 120 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn run(state: &AppState, runs: usize) -> Result<(), StartupError> {
    let db = &state.db;
    let admin = bench_admin(Permission::WriteApps);
    let tag = format!("{:08x}", rand::random::<u32>());
    let owner = users::create(
        db,
        &bench_admin(Permission::WriteUsers),
        &UserInput {
            email: format!("revoke-owner-{tag}@bench.example.com"),
            display_name: "Revoke Bench Owner".into(),
            source: "bench".into(),
            ..UserInput::default()
        },
    )
    .await?;
    let (scim_url, _) = scim_receiver().await?;
    let mut app_ids = Vec::new();
    for n in 0..APPLICATIONS {
        let app = apps::create(
            db,
            &admin,
            &AppInput {
                name: format!("Revoke bench {tag} {n}"),
                owner: owner.email.clone(),
                kind: "m2m".into(),
                grant_types: vec!["client_credentials".into()],
                scopes: "bench".into(),
                ..AppInput::default()
            },
        )
        .await?
        .app;
        let target = TargetInput {
            base_url: scim_url.clone(),
            credential: "bench-token".into(),
            ..TargetInput::default()
        };
        let key = state.config.outbox.secrets_key.as_ref();
        provisioning::configure(db, &admin, key, &app.id, None, &target).await?;
        app_ids.push(app.id);
    }
    let push_url = push_endpoint().await?;
    for n in 0..RECEIVERS {
        let made = ssf::create(
            db,
            &bench_admin(Permission::ManageSignals),
            &ReceiverInput {
                name: format!("Revoke bench {tag} receiver {n}"),
                audience: format!("https://receiver-{n}.bench.example.com"),
                subject_format: "email".into(),
                ..ReceiverInput::default()
            },
        )
        .await?;
        let receiver = ssf::view(db, &made.receiver.id).await?;
        let body = json!({
            "delivery": { "method": ssf_streams::PUSH, "endpoint_url": push_url },
            "events_requested": SUPPORTED,
        });
        let caller = ssf_streams::caller(&receiver, RequestMeta::default());
        let key = state.config.outbox.secrets_key.as_ref();
        ssf_streams::create(db, key, &receiver, &caller, &body).await?;
    }
    let _workers = Workers::start(state, 2);
    println!(
        "engine: {:?}; a person with {ACCOUNTS} accounts, {APPLICATIONS} provisioned applications, \
         {RECEIVERS} receivers; {runs} runs, 2 workers",
        db.engine
    );
    let writer = bench_admin(Permission::WriteUsers);
    let revoker = bench_admin(Permission::RevokeEverywhere);
    let (mut acts, mut settles) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let mut guid = String::new();
        for a in 0..ACCOUNTS {
            let user = users::create(
                db,
                &writer,
                &UserInput {
                    email: format!("revoke-{tag}-{run}-{a}@bench.example.com"),
                    display_name: format!("Revoked Person {run}"),
                    source: format!("bench-{a}"),
                    ..UserInput::default()
                },
            )
            .await?;
            if guid.is_empty() {
                guid = user.guid.clone();
            } else {
                guids::merge(db, &writer, &guid, &user.guid, &MergeChoices::default()).await?;
            }
        }
        for app in &app_ids {
            apps::assign(db, &admin, app, &guid).await?;
        }
        quiet(state).await?;
        let input = RevocationInput {
            reason: "Benchmark".into(),
            ticket: format!("BENCH-{run}"),
        };
        let t = Instant::now();
        let started =
            revocations::revoke_everywhere(db, &state.config.support, &revoker, &guid, &input)
                .await?;
        acts.push(t.elapsed());
        let expected = APPLICATIONS + RECEIVERS;
        if started.outbound != expected as i64 {
            return Err(
                format!("{} outbound targets, expected {expected}", started.outbound).into(),
            );
        }
        let deadline = t + Duration::from_secs(60);
        loop {
            let p = revocation_progress::progress(db, &started.revocation.id).await?;
            if p.settled {
                if p.confirmed != expected as i64 {
                    return Err(
                        format!("settled with {} of {expected} confirmed", p.confirmed).into(),
                    );
                }
                settles.push(t.elapsed());
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("not settled within 60 s: {}", p.summary()).into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let (a50, a95, a99) = percentiles(&mut acts);
    let (s50, s95, s99) = percentiles(&mut settles);
    println!("| revoke everywhere | runs | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!("| the act (one transaction: 5 suspensions, keys, audit, 13 targets queued) | {runs} | {a50} | {a95} | {a99} |");
    println!("| act → every target confirmed (10 SCIM PUTs, 30 tokens pushed) | {runs} | {s50} | {s95} | {s99} |");
    Ok(())
}
