use super::*;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// The value of one series in the exposition (`name{labels}` exactly as written).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(s, _)| *s == series))
        .and_then(|(_, v)| v.parse().ok())
}

#[test]
fn each_family_is_written_with_its_help_and_type() {
    let m = Metrics::new();
    m.note_request("/users/{id}".into(), "GET", 200, Duration::from_millis(3));
    m.note_key_verification("revoked");
    m.note_key_cache(true);
    m.task("user_purge", true);
    m.task("outbox", false);
    let text = m.encode();
    // Families without any series are left out by the encoder; these all have one now.
    for (name, kind) in [
        ("gatehouse_http_requests_total", "counter"),
        ("gatehouse_http_request_duration_seconds", "histogram"),
        ("gatehouse_key_verifications_total", "counter"),
        ("gatehouse_key_cache_lookups_total", "counter"),
        ("gatehouse_db_pool_max", "gauge"),
        ("gatehouse_db_query_duration_seconds", "histogram"),
        ("gatehouse_task_runs_total", "counter"),
        ("gatehouse_task_failures_total", "counter"),
        ("gatehouse_task_last_success_timestamp_seconds", "gauge"),
        ("gatehouse_audit_events_total", "counter"),
        ("gatehouse_audit_chain_head", "gauge"),
        ("gatehouse_scrape_read_failures_total", "counter"),
    ] {
        assert!(
            text.contains(&format!("\n# HELP {name} "))
                || text.starts_with(&format!("# HELP {name} ")),
            "no HELP for {name}: {text}"
        );
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "no TYPE {kind} for {name}: {text}"
        );
    }
    let series = |s: &str| value(&text, s);
    assert_eq!(
        series(
            "gatehouse_http_requests_total{route=\"/users/{id}\",method=\"GET\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        series("gatehouse_key_verifications_total{outcome=\"revoked\"}"),
        Some(1.0)
    );
    // Every outcome exists from the start, so a rate is defined before the first of its kind.
    assert_eq!(
        series("gatehouse_key_verifications_total{outcome=\"expired\"}"),
        Some(0.0)
    );
    assert_eq!(
        series("gatehouse_key_cache_lookups_total{result=\"hit\"}"),
        Some(1.0)
    );
    assert_eq!(
        series("gatehouse_key_cache_lookups_total{result=\"miss\"}"),
        Some(0.0)
    );
    assert_eq!(
        series("gatehouse_task_runs_total{task=\"outbox\"}"),
        Some(1.0)
    );
    assert_eq!(
        series("gatehouse_task_failures_total{task=\"outbox\"}"),
        Some(1.0)
    );
    assert_eq!(
        series("gatehouse_task_failures_total{task=\"user_purge\"}"),
        Some(0.0)
    );
    assert!(
        series("gatehouse_task_last_success_timestamp_seconds{task=\"user_purge\"}")
            .is_some_and(|t| t > 1.7e9),
        "{text}"
    );
    assert_eq!(
        series("gatehouse_task_last_success_timestamp_seconds{task=\"outbox\"}"),
        None,
        "never succeeded: no time"
    );
}

#[tokio::test]
async fn a_database_that_does_not_answer_does_not_hold_the_scrape() {
    let m = Metrics::new();
    let started = std::time::Instant::now();
    let text = m
        .render(&crate::server::db::unreachable_database(
            Duration::from_secs(30),
        ))
        .await;
    assert!(
        started.elapsed() < SCRAPE_READ_TIMEOUT + Duration::from_secs(2),
        "the scrape took {:?}",
        started.elapsed()
    );
    for read in ["chain_head", "jobs", "outbox", "audit_sinks"] {
        assert_eq!(
            value(
                &text,
                &format!("gatehouse_scrape_read_failures_total{{read=\"{read}\"}}")
            ),
            Some(1.0),
            "{text}"
        );
    }
    // The pool is read from memory, whatever the database does (sqlx's default size here).
    assert_eq!(value(&text, "gatehouse_db_pool_max"), Some(10.0), "{text}");
    assert_eq!(
        value(&text, "gatehouse_db_pool_connections{state=\"used\"}"),
        Some(0.0),
        "{text}"
    );
    // Nothing was read: no job or outbox series rather than made-up zeros.
    assert!(!text.contains("gatehouse_jobs{"), "{text}");
    assert!(!text.contains("gatehouse_outbox_messages{"), "{text}");
}

#[test]
fn sqlx_statement_events_feed_the_query_histogram() {
    let subscriber =
        tracing_subscriber::registry().with(QueryTimer.with_filter(QueryTimer::filter()));
    let _on_this_thread = tracing::subscriber::set_default(subscriber);
    // The histogram is process-wide (other tests may add to it): compare its count before and after.
    let count = || {
        value(
            &Metrics::new().encode(),
            "gatehouse_db_query_duration_seconds_count",
        )
    };
    let before = count().unwrap_or(0.0);
    tracing::debug!(target: "sqlx::query", summary = "select 1", elapsed_secs = 0.004_f64, "");
    tracing::warn!(target: "sqlx::query", elapsed_secs = 2.5_f64, "slow statement: execution time exceeded alert threshold");
    // Another target's field of the same name is not a statement.
    tracing::info!(target: "gatehouse::elsewhere", elapsed_secs = 1.0_f64, "not sqlx");
    assert_eq!(count(), Some(before + 2.0));
}
