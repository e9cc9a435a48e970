//! `gatehouse bench signals`: Shared Signals (issue 16). Security Event Tokens received per
//! second over HTTP, verification included (`POST /ssf/receive`, CAEP session-established for
//! existing users, signed beforehand: signing is the transmitter's cost), against a baseline
//! measured in the same run at the same concurrency (`GET /healthz`, the HTTP floor); then
//! "revoke everywhere" (see bench_revoke.rs).
use super::bench::{bench_admin, percentiles, start};
use crate::model::ssf::TransmitterInput;
use crate::model::users::UserInput;
use crate::model::Permission;
use crate::server::service::ssf_apply::SESSION_ESTABLISHED;
use crate::server::service::{ssf_in, users};
use crate::server::ssf_verify::SET_MEDIA_TYPE;
use crate::server::startup::StartupError;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    /// Tokens to push.
    pub sets: usize,
    /// Concurrent pushing clients.
    pub clients: usize,
    /// Distinct users the tokens are about.
    pub users: usize,
    /// "Revoke everywhere" runs to time.
    pub revocations: usize,
}

/// One request per item of `bodies` from `clients` concurrent clients; the time of each and
/// the whole. Any answer but `expect` stops the benchmark.
async fn hammer(
    clients: usize,
    requests: Arc<Vec<reqwest::RequestBuilder>>,
    expect: u16,
) -> Result<(Vec<Duration>, Duration), StartupError> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, requests) = (next.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i).and_then(|r| r.try_clone()) else {
                    return Ok::<_, String>(times);
                };
                let t = Instant::now();
                let res = request.send().await.map_err(|e| e.to_string())?;
                let status = res.status().as_u16();
                if status != expect {
                    let body = res.text().await.unwrap_or_default();
                    return Err(format!("expected {expect}, got {status}: {body}"));
                }
                times.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok((all, started.elapsed()))
}

fn row(what: &str, times: &mut [Duration], took: Duration) -> f64 {
    let n = times.len();
    let (p50, p95, p99) = percentiles(times);
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "| {what} | {n} | {:.1} | {rate:.0} | {p50} | {p95} | {p99} |",
        took.as_secs_f64()
    );
    rate
}

pub async fn run(opts: Options) -> Result<(), StartupError> {
    let (state, base) = start().await?;
    let Some(keys) = state.config.outbox.ssf_keys.clone() else {
        return Err(
            "set GATEHOUSE_SSF_SIGNING_KEY (scripts/bench-signals.sh makes one): the \
                    benchmark's transmitter signs with it and Gatehouse serves its JWKS"
                .into(),
        );
    };
    let db = &state.db;
    let run = format!("{:08x}", rand::random::<u32>());
    let writer = bench_admin(Permission::WriteUsers);
    let mut emails = Vec::with_capacity(opts.users);
    for n in 0..opts.users.max(1) {
        let user = users::create(
            db,
            &writer,
            &UserInput {
                email: format!("set-{run}-{n}@bench.example.com"),
                display_name: format!("Signals Bench {n}"),
                source: "bench".into(),
                ..UserInput::default()
            },
        )
        .await?;
        emails.push(user.email);
    }
    // The transmitter's keys are Gatehouse's own SSF keys, served at its JWKS URL: a real
    // fetch over HTTP, a real RS256 verification per token.
    let t = ssf_in::create(
        db,
        &bench_admin(Permission::ManageSignals),
        &state.config.public_url,
        &TransmitterInput {
            name: format!("Signals bench {run}"),
            issuer: format!("https://transmitter-{run}.bench.example.com"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            ..TransmitterInput::default()
        },
    )
    .await?;
    if t.key_count == 0 {
        return Err(format!("the transmitter's keys were not fetched: {}", t.last_error).into());
    }
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let mut pushes = Vec::with_capacity(opts.sets);
    for n in 0..opts.sets {
        let claims = json!({
            "iss": t.issuer, "aud": t.audience, "iat": now,
            "jti": uuid::Uuid::new_v4().simple().to_string(),
            "sub_id": { "format": "email", "email": emails[n % emails.len()] },
            "events": { SESSION_ESTABLISHED: { "event_timestamp": now } },
        });
        let token = keys.sign(&claims)?;
        pushes.push(
            client
                .post(format!("{base}/ssf/receive"))
                .header(http::header::CONTENT_TYPE, SET_MEDIA_TYPE)
                .body(token),
        );
    }
    let probes: Vec<_> = (0..opts.sets)
        .map(|_| client.get(format!("{base}/healthz")))
        .collect();
    println!(
        "engine: {:?}, {} tokens about {} users, {} clients",
        db.engine,
        opts.sets,
        emails.len(),
        opts.clients
    );
    println!("| scenario | requests | seconds | per second | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    let (mut times, took) = hammer(opts.clients, Arc::new(probes), 200).await?;
    let floor = row("baseline: GET /healthz", &mut times, took);
    let (mut times, took) = hammer(opts.clients, Arc::new(pushes), 202).await?;
    let rate = row(
        "POST /ssf/receive (session-established, verified, applied)",
        &mut times,
        took,
    );
    let received = ssf_in::view(db, &t.id).await?.received;
    if received != opts.sets as i64 {
        return Err(format!("{received} tokens recorded, {} pushed", opts.sets).into());
    }
    println!(
        "tokens received per second: {rate:.0} ({:.2} of the baseline's rate)",
        rate / floor
    );
    if opts.revocations > 0 {
        println!();
        super::bench_revoke::run(&state, opts.revocations).await?;
    }
    Ok(())
}
