//! `/metrics` (issue 17): behind a token on the main listener, or alone on an address of its
//! own; the counters move by exactly what was done; the real `promtool check metrics` (Debian's
//! prometheus package) accepts the exposition.
use crate::apps::{gateway, issue, register, verify, OWNER};
use crate::common::*;
use gatehouse::server::startup;
use reqwest::StatusCode;
use std::io::Write;
use std::process::{Command, Stdio};

const TOKEN: &str = "metrics-test-token-0123456789abcdef";

/// Every family with a series in a scrape of a running instance. The audit sink lag families
/// are left out: they have series only once sinks are configured.
const FAMILIES: [(&str, &str); 15] = [
    ("gatehouse_http_requests_total", "counter"),
    ("gatehouse_http_request_duration_seconds", "histogram"),
    ("gatehouse_key_verifications_total", "counter"),
    ("gatehouse_key_cache_lookups_total", "counter"),
    ("gatehouse_db_pool_connections", "gauge"),
    ("gatehouse_db_pool_max", "gauge"),
    ("gatehouse_db_query_duration_seconds", "histogram"),
    ("gatehouse_task_runs_total", "counter"),
    ("gatehouse_task_failures_total", "counter"),
    ("gatehouse_task_last_success_timestamp_seconds", "gauge"),
    ("gatehouse_audit_events_total", "counter"),
    ("gatehouse_audit_chain_head", "gauge"),
    ("gatehouse_jobs", "gauge"),
    ("gatehouse_outbox_messages", "gauge"),
    ("gatehouse_scrape_read_failures_total", "counter"),
];

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

async fn exposition(app: &TestApp) -> String {
    let res = scrape(app, Some(TOKEN)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.text().await.expect("body")
}

/// One series' value (`name{labels}` exactly as written); 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(s, _)| *s == series))
        .map(|(_, v)| {
            v.parse()
                .unwrap_or_else(|_| panic!("{series} has no number: {v}"))
        })
        .unwrap_or(0.0)
}

/// Pipes the exposition to the real `promtool check metrics`, which prints nothing and exits 0
/// when the text parses and passes its lint (names, units, HELP, counter suffixes).
fn promtool_accepts(exposition: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "promtool could not be started ({e}): install Debian's prometheus package, which \
             provides /usr/bin/promtool (scripts/setup.sh does)"
        ),
    };
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}\n{said}\n--- the exposition:\n{exposition}",
        out.status
    );
}

#[tokio::test]
async fn metrics_need_the_token_count_exactly_what_was_done_and_pass_promtool() {
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_METRICS_TOKEN", TOKEN.to_string());
    })
    .await;
    app.sign_in(ADMIN).await;
    app.create_user(OWNER, "Olivia Owner", &[]).await;
    let caller = gateway(&app).await;
    let (app_id, _) = register(&app, "Payments", "orders:read").await;
    let (_, key) = issue(&app, &app_id, "checkout", &["orders:read"]).await;

    let none = scrape(&app, None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key("www-authenticate"));
    let wrong = scrape(&app, Some("metrics-test-token-0123456789abcdeX")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body = wrong.text().await.unwrap();
    assert!(!body.contains("gatehouse_"), "{body}");

    let before = exposition(&app).await;
    // A page, a health probe, a valid key, a malformed one, and a path holding a token.
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let (status, answer) = verify(&app, &caller, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["valid"], true, "{answer}");
    let (status, answer) = verify(&app, &caller, "ghk_not-a-key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["reason"], "malformed", "{answer}");
    let _ = app.get("/enroll/secret-enrollment-token-123").await;
    let after = exposition(&app).await;

    let delta = |series: &str| value(&after, series) - value(&before, series);
    let requests = |route: &str, method: &str, status: u16| {
        delta(&format!(
            "gatehouse_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(requests("/", "GET", 200), 1.0, "{after}");
    assert_eq!(requests("/healthz", "GET", 200), 1.0, "{after}");
    assert_eq!(requests("/api/v1/keys/verify", "POST", 200), 2.0, "{after}");
    // The scrape before this one, counted once it had answered.
    assert_eq!(requests("/metrics", "GET", 200), 1.0, "{after}");
    assert_eq!(
        delta("gatehouse_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"}"),
        1.0,
        "{after}"
    );
    assert!(!after.contains("secret-enrollment-token"), "{after}");
    assert!(after.contains("route=\"/enroll/{token}\""), "{after}");

    let outcome = |o: &str| {
        delta(&format!(
            "gatehouse_key_verifications_total{{outcome=\"{o}\"}}"
        ))
    };
    assert_eq!(outcome("valid"), 1.0, "{after}");
    assert_eq!(outcome("malformed"), 1.0, "{after}");
    for other in [
        "invalid",
        "expired",
        "revoked",
        "disabled",
        "unavailable",
        "rate_limited",
    ] {
        assert_eq!(outcome(other), 0.0, "{other}: {after}");
    }
    // The gateway's own key twice and the valid key once; a malformed key is refused before
    // any look-up.
    let lookups = delta("gatehouse_key_cache_lookups_total{result=\"hit\"}")
        + delta("gatehouse_key_cache_lookups_total{result=\"miss\"}");
    assert_eq!(lookups, 3.0, "{after}");

    let (head, _) = gatehouse::server::db::audit::head(&app.state.db.pool)
        .await
        .unwrap();
    assert!(head > 0);
    assert_eq!(value(&after, "gatehouse_audit_chain_head"), head as f64);
    // Counted per process, where other tests' instances append too.
    assert!(value(&after, "gatehouse_audit_events_total") >= head as f64);
    assert!(
        after.contains("\ngatehouse_jobs{state=\"running\"} 0\n"),
        "{after}"
    );
    assert!(
        after.contains("\ngatehouse_outbox_messages{state=\"dead\"} 0\n"),
        "{after}"
    );
    assert!(value(&after, "gatehouse_db_pool_max") > 0.0, "{after}");
    assert!(value(&after, "gatehouse_task_runs_total{task=\"key_cache_poll\"}") > 0.0);
    assert_eq!(
        value(
            &after,
            "gatehouse_task_failures_total{task=\"key_cache_poll\"}"
        ),
        0.0
    );
    for read in ["chain_head", "jobs", "outbox", "audit_sinks"] {
        assert_eq!(
            value(
                &after,
                &format!("gatehouse_scrape_read_failures_total{{read=\"{read}\"}}")
            ),
            0.0,
            "{after}"
        );
    }
    for (name, kind) in FAMILIES {
        assert!(
            after.contains(&format!("# HELP {name} ")),
            "no HELP for {name}: {after}"
        );
        assert!(
            after.contains(&format!("# TYPE {name} {kind}\n")),
            "no TYPE {kind} for {name}: {after}"
        );
    }
    promtool_accepts(&after);
}

#[tokio::test]
async fn a_private_address_serves_metrics_alone_and_the_main_listener_not_at_all() {
    let port = free_port();
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_METRICS_BIND", format!("127.0.0.1:{port}"));
    })
    .await;
    // Without a token, /metrics does not exist on the console's listener.
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    let bound = startup::spawn_metrics_listener(&app.state)
        .await
        .expect("the metrics listener starts")
        .expect("GATEHOUSE_METRICS_BIND is set");
    assert_eq!(bound.port(), port);
    let res = reqwest::get(format!("http://{bound}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("# TYPE gatehouse_key_verifications_total counter\n"),
        "{text}"
    );
    // The console's request above is counted; the private listener's own are not.
    assert!(
        text.contains(
            "gatehouse_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"404\"} 1\n"
        ),
        "{text}"
    );
    promtool_accepts(&text);
    // Nothing else is served there.
    let other = reqwest::get(format!("http://{bound}/healthz"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}
