//! `gatehouse bench audit`: the audit log at scale. Appends synthetic events until the log holds
//! `--events`, then measures over HTTP (in-process server, auditor session): filtered search
//! latency, a CSV export of about a million events (rows/s and the process's peak resident
//! memory while exporting) next to the database's own dump of the same rows, and chain
//! verification throughput.
use crate::model::{Principal, Role};
use crate::server::db::{self, audit::OwnedAuditRow, Engine};
use crate::server::service::audit;
use crate::server::{auth::session, startup, Config};
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const ACTIONS: &[(&str, &str)] = &[
    ("user.update", "user"),
    ("user.status", "user"),
    ("user.create", "user"),
    ("auth.sign_in", ""),
    ("access.denied", "page"),
    ("guid.merge", "guid"),
    ("users.export", ""),
];

fn synthetic(rng: &mut rand::rngs::StdRng, seq: i64, at: i64, prev: &str) -> OwnedAuditRow {
    let (action, target_type) = ACTIONS[rng.gen_range(0..ACTIONS.len())];
    let staff = rng.gen_range(0..50);
    let mut row = OwnedAuditRow {
        seq,
        occurred_at: at,
        actor_subject: Some(format!("staff-{staff}")),
        actor_email: Some(format!("staff{staff}@example.com")),
        actor_role: Some(["admin", "support", "auditor"][staff % 3].into()),
        action: action.into(),
        target_type: (!target_type.is_empty()).then(|| target_type.to_string()),
        target_id: (!target_type.is_empty()).then(|| format!("u_{:032x}", rng.gen::<u64>() % 1_000_000)),
        outcome: if action == "access.denied" { "denied" } else { "success" }.into(),
        client_ip: Some(format!("10.{}.{}.{}", staff, rng.gen_range(0..4), rng.gen_range(1..255))),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156".into()),
        details: format!(
            "{{\"changes\":{{\"status\":{{\"before\":\"active\",\"after\":\"suspended\"}}}},\"n\":{}}}",
            rng.gen::<u32>()
        ),
        prev_hash: prev.to_string(),
        hash: String::new(),
    };
    row.hash = audit::chain_hash(&row.as_row());
    row
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run(
    events: i64,
    requests: usize,
    fill_only: bool,
) -> Result<(), startup::StartupError> {
    let config = Config::from_lookup(|k| {
        std::env::var(k).ok().or_else(|| match k {
            "GATEHOUSE_OIDC_ISSUER" => Some("http://127.0.0.1:9".into()),
            "GATEHOUSE_OIDC_CLIENT_ID" | "GATEHOUSE_OIDC_CLIENT_SECRET" => Some("bench".into()),
            "GATEHOUSE_ROLE_MAP" => Some("bench=auditor".into()),
            "GATEHOUSE_BIND" => Some("127.0.0.1:0".into()),
            _ => None,
        })
    })?;
    let database_url = config.database_url.clone();

    // 1. Fill the log: a year of events, in time order. On its own connections, closed before
    // measuring, so their large page caches do not count in the export's memory.
    let filler = db::Db::connect(&database_url).await?;
    fill(&filler, events).await?;
    filler.pool.close().await;
    if fill_only {
        return Ok(());
    }

    let (router, state) = startup::build(config).await?;
    let db = state.db.clone();
    let (head, _) = db::audit::head(&db.pool).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(startup::serve(listener, router));
    let principal = Principal {
        subject: "bench".into(),
        email: "bench@example.com".into(),
        name: "Benchmark".into(),
        role: Role::Auditor,
        scopes: None,
    };
    let sid = session::create_for_benchmark(
        &db.sessions,
        principal,
        state.config.oidc.groups_for(Role::Auditor),
    )
    .await?;
    let cookie = format!("gatehouse_session={sid}");
    let client = reqwest::Client::new();
    println!(
        "events: {head}, engine: {:?}, requests per scenario: {requests}",
        db.engine
    );

    // 2. Filtered search, newest first.
    let mid = head / 2;
    let scenarios: Vec<(&str, String)> = vec![
        ("newest page, no filter", String::new()),
        ("actor", "query[actor]=staff7@example.com".into()),
        ("action", "query[action]=guid.merge".into()),
        ("action area (user.*)", "query[action]=user.%2A".into()),
        (
            "outcome denied, last 24 hours",
            "query[outcome]=denied&query[range]=24h".into(),
        ),
        ("client IP", "query[ip]=10.7.1.10".into()),
        (
            "target (one user)",
            "query[target_type]=user&query[target_id]=u_0000000000000000000000000000abcd".into(),
        ),
        (
            "actor + action, deep page",
            format!(
                "query[actor]=staff7@example.com&query[action]=user.update&query[before]={mid}"
            ),
        ),
        ("time range, a day last month", {
            let day = crate::model::time::format_utc(db::now_ms() - 30 * 86_400_000);
            format!("query[from]={}&query[to]={}", &day[..10], &day[..10])
        }),
    ];
    println!("| search | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, body) in &scenarios {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 5 {
            let t = Instant::now();
            let res = client
                .post(format!("{base}/api/audit_page"))
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await?;
            let status = res.status();
            let _ = res.bytes().await?;
            if !status.is_success() {
                return Err(format!("{name}: HTTP {status}").into());
            }
            if i >= 5 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        let p = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {} | {} | {} |",
            ms(p(0.5)),
            ms(p(0.95)),
            ms(p(0.99))
        );
    }

    // 3. Export the newest million events as CSV, streamed; sample the resident memory meanwhile.
    let first = (head - 1_000_000).max(0) + 1;
    let from_ms: i64 = sqlx::query_scalar("SELECT occurred_at FROM audit_events WHERE seq = $1")
        .bind(first)
        .fetch_one(&db.pool)
        .await?;
    let from = crate::model::time::format_utc(from_ms)[..19].replace(' ', "T");
    let rss_before = rss_kib();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(rss_before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let t = Instant::now();
    let mut res = client
        .get(format!("{base}/audit/export.csv?from={from}"))
        .header("cookie", &cookie)
        .send()
        .await?;
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let export_secs = t.elapsed().as_secs_f64();
    sampler.abort();
    let rows = lines.saturating_sub(1); // header; multi-line cells do not occur in this data
    println!(
        "export CSV: {rows} rows, {:.1} MB in {export_secs:.2} s = {:.0} rows/s; resident memory {} MiB before, peak {} MiB during",
        bytes as f64 / 1e6,
        rows as f64 / export_secs,
        rss_before / 1024,
        peak.load(std::sync::atomic::Ordering::Relaxed) / 1024
    );

    // The database's own dump of the same rows, as the ratio to beat.
    let select = format!(
        "SELECT seq, occurred_at, actor_subject, actor_email, actor_role, action, target_type, target_id, outcome, \
         client_ip, user_agent, details, prev_hash, hash FROM audit_events WHERE seq >= {first} ORDER BY seq"
    );
    let t = Instant::now();
    let status = match db.engine {
        Engine::Sqlite => {
            let path = database_url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            std::process::Command::new("sqlite3")
                .args(["-csv", path, &select])
                .stdout(std::process::Stdio::null())
                .status()
        }
        Engine::Postgres => std::process::Command::new("psql")
            .args([
                &database_url,
                "-q",
                "-c",
                &format!("\\copy ({select}) TO '/dev/null' CSV"),
            ])
            .status(),
    };
    let native_secs = t.elapsed().as_secs_f64();
    match status {
        Ok(s) if s.success() => println!(
            "database's own CSV dump ({}): {native_secs:.2} s = {:.0} rows/s; Gatehouse/native = {:.2}",
            if db.engine == Engine::Sqlite { "sqlite3 -csv" } else { "psql \\copy" },
            rows as f64 / native_secs,
            native_secs / export_secs
        ),
        other => println!("database's own dump could not run: {other:?}"),
    }

    // 4. Verification throughput.
    let t = Instant::now();
    let report = audit::verify(&db, &audit::Trust::default()).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "verify: {} events in {secs:.1} s = {:.0} events/s ({})",
        report.checked,
        report.checked as f64 / secs,
        if report.first_broken.is_none() {
            "intact"
        } else {
            "BROKEN"
        }
    );
    Ok(())
}

async fn fill(db: &db::Db, events: i64) -> Result<(), startup::StartupError> {
    let (mut head, _) = db::audit::head(&db.pool).await?;
    if head < events {
        let started = Instant::now();
        let missing = events - head;
        let now = db::now_ms();
        let span = 365 * 86_400_000i64;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        while head < events {
            let n = (events - head).min(20_000) as usize;
            head = db::seed::append_audit_batch(db, n, |seq, prev| {
                let at = now - span + (seq - 1) * span / events;
                synthetic(&mut rng, seq, at, prev)
            })
            .await?;
            if head % 500_000 < 20_000 {
                eprint!("\rappended {head}/{events} events");
            }
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!();
        println!(
            "appended {missing} events in {secs:.1} s ({:.0} events/s)",
            missing as f64 / secs
        );
    }
    Ok(())
}
