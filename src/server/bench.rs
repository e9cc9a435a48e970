//! `gatehouse bench users`: latency of the directory's pages over HTTP on a seeded database.
//! Starts the app in-process on a free loopback port, signs a benchmark admin in directly in the
//! session store, then times sequential requests per scenario and prints p50/p95/p99.
use crate::model::{Principal, Role};
use crate::server::{auth::session, startup, Config};
use rand::seq::SliceRandom;
use sqlx::Row;
use std::time::{Duration, Instant};

/// Builds one request of a scenario, given a random source.
type MakeRequest<'a> = Box<dyn Fn(&mut rand::rngs::ThreadRng) -> reqwest::RequestBuilder + 'a>;

/// Starts the app in-process on a free loopback port; returns its state and base URL.
pub(crate) async fn start() -> Result<(crate::server::AppState, String), startup::StartupError> {
    let config = Config::from_lookup(|k| {
        std::env::var(k).ok().or_else(|| match k {
            // Sign-in is not measured: any issuer will do.
            "GATEHOUSE_OIDC_ISSUER" => Some("http://127.0.0.1:9".into()),
            "GATEHOUSE_OIDC_CLIENT_ID" | "GATEHOUSE_OIDC_CLIENT_SECRET" => Some("bench".into()),
            "GATEHOUSE_ROLE_MAP" => Some("bench=admin".into()),
            "GATEHOUSE_BIND" => Some("127.0.0.1:0".into()),
            _ => None,
        })
    })?;
    let (router, state) = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(startup::serve(listener, router));
    Ok((state, base))
}

/// The benchmarks' administrator, acting under `permission` (services take it as their caller).
pub(crate) fn bench_admin(permission: crate::model::Permission) -> crate::server::auth::Authorized {
    crate::server::auth::Authorized {
        principal: Principal {
            subject: "bench".into(),
            email: "bench@example.com".into(),
            name: "Benchmark".into(),
            role: Role::Admin,
            scopes: None,
        },
        permission,
        meta: Default::default(),
    }
}

/// p50, p95 and p99 of `times` in milliseconds, formatted; sorts `times`.
pub(crate) fn percentiles(times: &mut [Duration]) -> (String, String, String) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    (ms(p(0.50)), ms(p(0.95)), ms(p(0.99)))
}

pub async fn users(requests: usize) -> Result<(), startup::StartupError> {
    let (state, base) = start().await?;
    let principal = Principal {
        subject: "bench".into(),
        email: "bench@example.com".into(),
        name: "Benchmark".into(),
        role: Role::Admin,
        scopes: None,
    };
    let sid = session::create_for_benchmark(
        &state.db.sessions,
        principal,
        state.config.oidc.groups_for(Role::Admin),
    )
    .await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = format!("gatehouse_session={sid}");

    let pool = &state.db.pool;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    if total == 0 {
        return Err("the database has no users; run `gatehouse seed` first".into());
    }
    let deep =
        sqlx::query("SELECT sort_name, id FROM users ORDER BY sort_name, id LIMIT 1 OFFSET $1")
            .bind(total / 2)
            .fetch_one(pool)
            .await?;
    let deep_cursor = format!(
        "{}|{}",
        deep.try_get::<String, _>("sort_name")?,
        deep.try_get::<String, _>("id")?
    );
    let sample = sqlx::query(
        "SELECT id, email, family_name, guid_id, \
           COALESCE(given_name, '') || ' ' || SUBSTR(COALESCE(family_name, ''), 1, 2) AS two_words \
         FROM users ORDER BY id LIMIT 2000 OFFSET $1",
    )
    .bind(total / 3)
    .fetch_all(pool)
    .await?;
    // A group of up to 100,000 members (issue 14: "at 100,000 members still fast").
    let group = crate::server::db::seed::big_group(pool, 100_000).await?;
    let member_cursor = crate::server::db::seed::middle_member_cursor(pool, &group).await?;
    let mut rng = rand::thread_rng();
    let pick = |rng: &mut rand::rngs::ThreadRng, col: &str| -> String {
        sample
            .choose(rng)
            .and_then(|r| r.try_get::<String, _>(col).ok())
            .unwrap_or_default()
    };

    println!(
        "users: {total}, requests per scenario: {requests}, engine: {:?}",
        state.db.engine
    );
    println!("| scenario | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|");
    let list = |body: String| {
        client
            .post(format!("{base}/api/users/list"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let token = benchmark_token(&state).await?;
    let api = |query: String| {
        client
            .get(format!("{base}/api/v1/users?{query}"))
            .bearer_auth(&token)
    };
    let scenarios: Vec<(&str, MakeRequest)> = vec![
        (
            "first users page",
            Box::new(|_| list("query[sort]=name".into())),
        ),
        (
            "page deep in the list (keyset)",
            Box::new(|_| {
                list(format!(
                    "query[sort]=name&query[after]={}",
                    enc(&deep_cursor)
                ))
            }),
        ),
        (
            "search: email prefix",
            Box::new(|r| list(format!("query[q]={}", enc(&pick(r, "email")[..8])))),
        ),
        (
            "search: name fragment",
            Box::new(|r| {
                list(format!(
                    "query[q]={}",
                    enc(&pick(r, "family_name").chars().take(4).collect::<String>())
                ))
            }),
        ),
        (
            // A given name and the start of a family name ("linus ta"): two words to intersect.
            "search: two name words",
            Box::new(|r| list(format!("query[q]={}", enc(&pick(r, "two_words"))))),
        ),
        (
            "search: GUID prefix",
            Box::new(|r| list(format!("query[q]={}", &pick(r, "guid_id")[..10]))),
        ),
        (
            "API: first users page",
            Box::new(|_| api("sort=name".into())),
        ),
        (
            "API: search email prefix",
            Box::new(|r| api(format!("q={}", enc(&pick(r, "email")[..8])))),
        ),
        (
            "API: search name fragment",
            Box::new(|r| {
                api(format!(
                    "q={}",
                    enc(&pick(r, "family_name").chars().take(4).collect::<String>())
                ))
            }),
        ),
        (
            "API: user by id",
            Box::new(|r| {
                client
                    .get(format!("{base}/api/v1/users/{}", pick(r, "id")))
                    .bearer_auth(&token)
            }),
        ),
        (
            "group of 100,000: first members page",
            Box::new(|_| {
                client
                    .post(format!("{base}/api/groups/members"))
                    .header("cookie", &cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("id={group}&after="))
            }),
        ),
        (
            "group of 100,000: members page deep (keyset)",
            Box::new(|_| {
                client
                    .post(format!("{base}/api/groups/members"))
                    .header("cookie", &cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("id={group}&after={}", enc(&member_cursor)))
            }),
        ),
        (
            "API: group members page (limit 200)",
            Box::new(|_| {
                client
                    .get(format!(
                        "{base}/api/v1/groups/{group}/members?limit=200&after={}",
                        enc(&member_cursor)
                    ))
                    .bearer_auth(&token)
            }),
        ),
        (
            "a user's groups",
            Box::new(|r| {
                client
                    .get(format!("{base}/api/v1/users/{}/groups", pick(r, "id")))
                    .bearer_auth(&token)
            }),
        ),
        (
            "group page (HTML)",
            Box::new(|_| {
                client
                    .get(format!("{base}/groups/{group}"))
                    .header("cookie", &cookie)
            }),
        ),
        (
            "user detail page (HTML)",
            Box::new(|r| {
                client
                    .get(format!("{base}/users/{}", pick(r, "id")))
                    .header("cookie", &cookie)
            }),
        ),
    ];
    for (name, make) in &scenarios {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 5 {
            let req = make(&mut rng);
            let t = Instant::now();
            let res = req.send().await?;
            let status = res.status();
            let _ = res.bytes().await?;
            if !status.is_success() {
                return Err(format!("{name}: HTTP {status}").into());
            }
            if i >= 5 {
                times.push(t.elapsed()); // the first 5 warm up caches
            }
        }
        let (p50, p95, p99) = percentiles(&mut times);
        println!("| {name} | {p50} | {p95} | {p99} |");
    }
    token_authentication(&state, &token).await?;
    Ok(())
}

/// A service account with every scope, and one token of it, for the API scenarios.
async fn benchmark_token(state: &crate::server::AppState) -> Result<String, startup::StartupError> {
    use crate::server::service::api_tokens::{self, AccountInput, TokenInput};
    let auth = bench_admin(crate::model::Permission::ManageSessions);
    let all: Vec<String> = crate::model::api::Scope::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let name = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let account = api_tokens::create_account(
        &state.db,
        &auth,
        &AccountInput {
            name,
            owner_email: "bench@example.com".into(),
            description: "API benchmark".into(),
            scopes: all.clone(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let issued = api_tokens::issue_service_token(
        &state.db,
        &auth,
        &account.id,
        &TokenInput {
            name: "bench".into(),
            scopes: all,
            days: "1".into(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(issued.token)
}

/// What authenticating a token costs per request (the trusted, cached path every request
/// within a second of the last read takes), against a baseline of hashing the token alone.
async fn token_authentication(
    state: &crate::server::AppState,
    token: &str,
) -> Result<(), startup::StartupError> {
    const N: usize = 100_000;
    let now = crate::server::db::now_ms();
    let mut auth = Vec::with_capacity(N);
    let mut hash = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let ok = state.tokens.authenticate(token, now).await?;
        auth.push(t.elapsed());
        if ok.is_err() {
            return Err("the benchmark token was refused".into());
        }
        let t = Instant::now();
        std::hint::black_box(crate::server::service::secrets::hash(token));
        hash.push(t.elapsed());
    }
    auth.sort();
    hash.sort();
    let p = |v: &[Duration], q: f64| v[((v.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
    println!();
    println!("| token authentication ({N} calls) | p50 µs | p99 µs |");
    println!("|---|---|---|");
    println!(
        "| authenticate (cached) | {} | {} |",
        us(p(&auth, 0.5)),
        us(p(&auth, 0.99))
    );
    println!(
        "| baseline: SHA-256 of the token | {} | {} |",
        us(p(&hash, 0.5)),
        us(p(&hash, 0.99))
    );
    println!(
        "target: p99 under 200 µs; measured p99 is {:.1}x the baseline",
        p(&auth, 0.99).as_secs_f64() / p(&hash, 0.99).as_secs_f64().max(1e-9)
    );
    Ok(())
}
