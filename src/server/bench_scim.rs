//! `gatehouse bench scim`: SCIM provisioning over HTTP on a seeded database. Registers a
//! provisioning source, provisions `users` accounts through `POST /Users` from `clients`
//! concurrent clients (throughput and the latency of one request), then times the look-ups an
//! identity provider makes before each change (`userName eq`, `externalId eq`) against a
//! baseline in the same run: reading one user by id.
use super::bench::{percentiles, start};
use crate::model::sources::{SourceInput, OWNABLE_ATTRIBUTES};
use crate::model::Permission;
use crate::server::service::sources;
use crate::server::startup::StartupError;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    pub users: usize,
    pub clients: usize,
    pub requests: usize,
}

fn user(run: &str, n: usize) -> Value {
    let user_name = format!("scim-{run}-{n}@bench.example.com");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("{run}-{n}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("Bench User {n}"),
        "emails": [{ "primary": true, "type": "work", "value": user_name }],
        "name": { "givenName": "Bench", "familyName": format!("User {n}") },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{run}-{n}"), "department": "Benchmarks"
        },
    })
}

pub async fn run(opts: Options) -> Result<(), StartupError> {
    let (state, base) = start().await?;
    let run = format!("{:08x}", rand::thread_rng().gen::<u32>());
    let admin = super::bench::bench_admin(Permission::ManageSources);
    let source = SourceInput {
        id: format!("bench-{run}"),
        name: format!("SCIM benchmark {run}"),
        owned_attributes: OWNABLE_ATTRIBUTES
            .iter()
            .map(|(a, _)| a.to_string())
            .collect(),
        match_rule: "none".into(),
    };
    let token = sources::create(&state.db, &admin, &source)
        .await
        .map_err(|e| e.to_string())?
        .token;
    let client = reqwest::Client::new();
    let scim = format!("{base}/scim/v2");
    let before: i64 = crate::server::db::users::count(&state.db.pool).await?;
    println!(
        "users before: {before}, provisioning {} through POST /Users with {} clients, engine: {:?}",
        opts.users, opts.clients, state.db.engine
    );

    // Provisioning: each client takes the next number until all are made.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.clients {
        let (next, client, token, scim, run) = (
            next.clone(),
            client.clone(),
            token.clone(),
            scim.clone(),
            run.clone(),
        );
        let total = opts.users;
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, String>(times);
                }
                if n > 0 && n % (total / 10).max(1) == 0 {
                    eprintln!("  {n} of {total} provisioned");
                }
                let t = Instant::now();
                let res = client
                    .post(format!("{scim}/Users"))
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(user(&run, n).to_string())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = res.status();
                let body = res.bytes().await.map_err(|e| e.to_string())?;
                if status.as_u16() != 201 {
                    return Err(format!(
                        "POST /Users {n}: HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
                times.push(t.elapsed());
            }
        }));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(opts.users);
    for task in tasks {
        times.extend(task.await.map_err(|e| e.to_string())??);
    }
    let wall = started.elapsed();
    let (p50, p95, p99) = percentiles(&mut times);
    println!();
    println!("| provisioning | users | seconds | users/s | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| POST /Users, {} clients | {} | {:.1} | {:.0} | {p50} | {p95} | {p99} |",
        opts.clients,
        opts.users,
        wall.as_secs_f64(),
        opts.users as f64 / wall.as_secs_f64()
    );

    // Look-ups, one at a time, of accounts just provisioned (and of names nobody has).
    let after: i64 = crate::server::db::users::count(&state.db.pool).await?;
    let ids = sample_ids(&client, &scim, &token, &run, opts.users).await?;
    println!();
    println!(
        "users after: {after}, requests per scenario: {}",
        opts.requests
    );
    println!("| look-up | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|");
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let filter = |f: String| format!("{scim}/Users?filter={}", enc(&f));
    type Url<'a> = Box<dyn Fn(usize, &str) -> String + 'a>;
    let scenarios: Vec<(&str, Url)> = vec![
        (
            "baseline: GET /Users/{id}",
            Box::new(|_, id| format!("{scim}/Users/{id}")),
        ),
        (
            "userName eq (found)",
            Box::new(|n, _| filter(format!("userName eq \"scim-{run}-{n}@bench.example.com\""))),
        ),
        (
            "userName eq (not found: before a create)",
            Box::new(|n, _| {
                filter(format!(
                    "userName eq \"nobody-{run}-{n}@bench.example.com\""
                ))
            }),
        ),
        (
            "externalId eq",
            Box::new(|n, _| filter(format!("externalId eq \"{run}-{n}\""))),
        ),
    ];
    let mut rng = rand::thread_rng();
    let mut medians = Vec::new();
    for (name, url) in &scenarios {
        let mut times = Vec::with_capacity(opts.requests);
        for i in 0..opts.requests + 5 {
            let (n, id) = &ids[rng.gen_range(0..ids.len())];
            let t = Instant::now();
            let res = client.get(url(*n, id)).bearer_auth(&token).send().await?;
            let status = res.status();
            let _ = res.bytes().await?;
            if !status.is_success() {
                return Err(format!("{name}: HTTP {status}").into());
            }
            if i >= 5 {
                times.push(t.elapsed());
            }
        }
        let (p50, p95, p99) = percentiles(&mut times);
        medians.push(times[times.len() / 2]);
        println!("| {name} | {p50} | {p95} | {p99} |");
    }
    let ratio = medians[1].as_secs_f64() / medians[0].as_secs_f64().max(1e-9);
    println!("target: userName eq p95 under 20 ms; its median is {ratio:.1}x the baseline's");
    Ok(())
}

/// Up to 1,000 provisioned accounts, `(number, id)`, found through the filter being measured.
async fn sample_ids(
    client: &reqwest::Client,
    scim: &str,
    token: &str,
    run: &str,
    users: usize,
) -> Result<Vec<(usize, String)>, StartupError> {
    let mut rng = rand::thread_rng();
    let mut out = Vec::new();
    for _ in 0..users.min(1000) {
        let n = rng.gen_range(0..users);
        let filter = format!("externalId eq \"{run}-{n}\"");
        let url = format!(
            "{scim}/Users?filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let id = page["Resources"][0]["id"].as_str().unwrap_or_default();
        if id.is_empty() {
            return Err(format!("account {n} was not found after provisioning").into());
        }
        out.push((n, id.to_string()));
    }
    Ok(out)
}
