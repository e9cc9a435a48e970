//! `gatehouse bench keys`: throughput and latency of `POST /api/v1/keys/verify` under load, next
//! to the server's trivial `/healthz` handler, so the figure is a ratio on the same machine.
//! Starts the app in-process, writes `--keys` keys straight into the database (benchmark data,
//! not audited), then drives each scenario with `wrk` (64 connections by default).
use crate::server::db::{self, seed::rows_per_insert};
use crate::server::service::secrets;
use crate::server::{startup, Config};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// How many distinct keys each scenario cycles through.
const SAMPLE: usize = 2000;

pub struct Options {
    pub keys: usize,
    pub connections: usize,
    pub seconds: u64,
}

pub async fn run(opts: Options) -> Result<(), startup::StartupError> {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("wrk is not installed (scripts/bench-keys.sh installs it)".into());
    }
    let config = Config::from_lookup(|k| {
        std::env::var(k).ok().or_else(|| match k {
            "GATEHOUSE_OIDC_ISSUER" => Some("http://127.0.0.1:9".into()),
            "GATEHOUSE_OIDC_CLIENT_ID" | "GATEHOUSE_OIDC_CLIENT_SECRET" => Some("bench".into()),
            "GATEHOUSE_ROLE_MAP" => Some("bench=admin".into()),
            "GATEHOUSE_BIND" => Some("127.0.0.1:0".into()),
            // Failed verifications are the point of two scenarios: keep the limiter counting
            // without refusing.
            "GATEHOUSE_VERIFY_FAILURES_PER_MINUTE" => Some("1000000000".into()),
            _ => None,
        })
    })?;
    let (router, state) = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(startup::serve(listener, router));

    let started = Instant::now();
    let keys = write_keys(&state.db, opts.keys).await?;
    println!(
        "engine: {:?}, keys: {}, written in {:.1} s; wrk: {} connections, {} s per scenario",
        state.db.engine,
        opts.keys,
        started.elapsed().as_secs_f64(),
        opts.connections,
        opts.seconds
    );

    // Each scenario must answer what it claims before it is timed.
    let client = reqwest::Client::new();
    for (name, sample, expect) in [
        ("valid", &keys.valid, "\"valid\":true"),
        ("invalid", &keys.unknown, "\"reason\":\"invalid\""),
        ("revoked", &keys.revoked, "\"reason\":\"revoked\""),
    ] {
        let body = client
            .post(format!("{base}/api/v1/keys/verify"))
            .bearer_auth(&keys.gateway)
            .json(&serde_json::json!({ "key": sample[0] }))
            .send()
            .await?
            .text()
            .await?;
        if !body.contains(expect) {
            return Err(format!("{name} key answered {body}").into());
        }
    }

    let dir = std::env::temp_dir().join(format!("gatehouse-bench-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("| scenario | requests/s | p50 ms | p99 ms | vs hello |");
    println!("|---|---|---|---|---|");
    let hello = wrk(&opts, &format!("{base}/healthz"), None).await?;
    print_row("hello (GET /healthz)", &hello, hello.rps);
    for (name, sample) in [
        ("verify: valid key", &keys.valid),
        ("verify: invalid key", &keys.unknown),
        ("verify: revoked key", &keys.revoked),
    ] {
        let script = dir.join(format!("{}.lua", name.len()));
        std::fs::write(&script, lua(&keys.gateway, sample))?;
        let url = format!("{base}/api/v1/keys/verify");
        // Warm-up (fills the cache the way steady traffic does), then the measured run.
        wrk(
            &Options {
                seconds: 2,
                ..opts_copy(&opts)
            },
            &url,
            Some(&script),
        )
        .await?;
        let r = wrk(&opts, &url, Some(&script)).await?;
        print_row(name, &r, hello.rps);
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn opts_copy(o: &Options) -> Options {
    Options {
        keys: o.keys,
        connections: o.connections,
        seconds: o.seconds,
    }
}

struct Keys {
    gateway: String,
    valid: Vec<String>,
    revoked: Vec<String>,
    /// Well-formed keys (right checksum) that do not exist.
    unknown: Vec<String>,
}

/// Writes applications and keys; returns samples of each kind with their secrets.
async fn write_keys(db: &db::Db, total: usize) -> Result<Keys, startup::StartupError> {
    let now = db::now_ms();
    let apps = 100;
    let mut tx = db.begin_write().await?;
    for a in 0..apps {
        sqlx::query(
            "INSERT INTO applications (id, name, name_key, kind, scopes, grant_types, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'm2m', $4, '[\"client_credentials\"]', 'active', $5, $5)",
        )
        .bind(format!("app_bench{a:027}"))
        .bind(format!("Bench app {a}"))
        .bind(format!("bench app {a}"))
        .bind(r#"["orders:read","orders:write","gatehouse:keys.verify"]"#)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let mut all = Vec::with_capacity(total + 1);
    for _ in 0..=total {
        all.push(secrets::new_key());
    }
    let per = rows_per_insert(db, 7);
    for (n, chunk) in all.chunks(per).enumerate() {
        let mut sql = String::from(
            "INSERT INTO api_keys (id, application_id, name, scopes, secret_hash, created_at, revoked_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 7;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                if i > 0 { ", " } else { "" },
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            );
        }
        let mut q = sqlx::query(&sql);
        for (i, (id, key)) in chunk.iter().enumerate() {
            let index = n * per + i;
            // Every tenth key is revoked; the first is the gateway's (it may verify).
            let (scopes, revoked) = if index == 0 {
                (r#"["gatehouse:keys.verify"]"#, None)
            } else {
                (
                    r#"["orders:read","orders:write"]"#,
                    index.is_multiple_of(10).then_some(now),
                )
            };
            q = q
                .bind(id.clone())
                .bind(format!("app_bench{:027}", index % apps))
                .bind(format!("bench key {index}"))
                .bind(scopes)
                .bind(secrets::hash_hex(key))
                .bind(now - index as i64)
                .bind(revoked);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let pick = |revoked: bool| -> Vec<String> {
        all.iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| i.is_multiple_of(10) == revoked)
            .map(|(_, (_, k))| k.clone())
            .take(SAMPLE)
            .collect()
    };
    Ok(Keys {
        gateway: all[0].1.clone(),
        valid: pick(false),
        revoked: pick(true),
        unknown: (0..SAMPLE).map(|_| secrets::new_key().1).collect(),
    })
}

/// A wrk script that posts each sample key in turn.
fn lua(gateway: &str, sample: &[String]) -> String {
    let mut s = String::from(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
    );
    let _ = writeln!(s, "wrk.headers[\"Authorization\"] = \"Bearer {gateway}\"");
    s.push_str("local bodies = {\n");
    for k in sample {
        let _ = writeln!(s, "  '{{\"key\":\"{k}\"}}',");
    }
    s.push_str("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])\nend\n");
    s
}

struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

/// Runs wrk without blocking the runtime that serves the requests.
async fn wrk(
    opts: &Options,
    url: &str,
    script: Option<&Path>,
) -> Result<Measured, startup::StartupError> {
    let mut cmd = tokio::process::Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{}", opts.connections),
        &format!("-d{}s", opts.seconds),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().await?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output: {text}"))?;
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Measured {
        rps,
        p50_ms: field("50%").map(|v| to_ms(&v)).unwrap_or(f64::NAN),
        p99_ms: field("99%").map(|v| to_ms(&v)).unwrap_or(f64::NAN),
        errors,
    })
}

/// wrk prints `812.00us`, `1.23ms` or `1.01s`.
fn to_ms(v: &str) -> f64 {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().map(|n| n * factor).unwrap_or(f64::NAN)
}

fn print_row(name: &str, m: &Measured, hello_rps: f64) {
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {:.0}% |{}",
        m.rps,
        m.p50_ms,
        m.p99_ms,
        m.rps / hello_rps * 100.0,
        if m.errors.is_empty() {
            String::new()
        } else {
            format!(" {}", m.errors)
        }
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_units() {
        assert_eq!(super::to_ms("812.00us"), 0.812);
        assert_eq!(super::to_ms("1.50ms"), 1.5);
        assert_eq!(super::to_ms("1.01s"), 1010.0);
    }
}
