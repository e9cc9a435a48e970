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

pub async fn users(requests: usize) -> Result<(), startup::StartupError> {
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
    let principal = Principal {
        subject: "bench".into(),
        email: "bench@example.com".into(),
        name: "Benchmark".into(),
        role: Role::Admin,
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
        "SELECT id, email, family_name, guid_id FROM users ORDER BY id LIMIT 2000 OFFSET $1",
    )
    .bind(total / 3)
    .fetch_all(pool)
    .await?;
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
            "search: GUID prefix",
            Box::new(|r| list(format!("query[q]={}", &pick(r, "guid_id")[..10]))),
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
        times.sort();
        let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {} | {} | {} |",
            ms(p(0.50)),
            ms(p(0.95)),
            ms(p(0.99))
        );
    }
    Ok(())
}
