//! Prometheus metrics (issue 17), served at `/metrics` in the classic text format (0.0.4, what
//! `promtool check metrics` and every Prometheus read). Design and the list of families:
//! docs/decisions.md, "Metrics (issue 17)".
//!
//! Counters and histograms are kept per instance: one `Metrics` in `AppState`, so several
//! instances in one process (the integration tests) count apart. Two are per process, because
//! where they are counted no state is at hand: audit appends (deep in the audit service) and
//! database statement time (sqlx reports it only as a tracing event, see [`QueryTimer`]).
//! Gauges of shared state (chain head, jobs, outbox, sink lag) are read from the database when
//! scraped, each read bounded by [`SCRAPE_READ_TIMEOUT`].
use crate::server::db::{self, Db};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;
use std::time::Duration;

/// `text/plain; version=0.0.4; charset=utf-8`
pub use prometheus_text::CONTENT_TYPE;

/// Each database read of a scrape gives up after this; the reads run side by side, so a
/// database that does not answer holds a scrape about this long, well within Prometheus'
/// default scrape timeout (10 s).
pub const SCRAPE_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Seconds. Key verifications answer in well under a millisecond, pages in tens of them,
/// exports and imports in seconds.
const HTTP_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Seconds. Most statements take tens of microseconds on SQLite, a millisecond on PostgreSQL.
const QUERY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// What `/api/v1/keys/verify` answered about a presented key: valid, one of the refusal reasons
/// of `service::verify::Reason`, the database unreachable, or the reporting client limited.
pub const KEY_OUTCOMES: [&str; 8] = [
    "valid",
    "malformed",
    "invalid",
    "expired",
    "revoked",
    "disabled",
    "unavailable",
    "rate_limited",
];
/// The states of the `jobs` table (its CHECK constraint).
pub const JOB_STATES: [&str; 5] = ["validating", "running", "done", "rejected", "failed"];
/// The database reads of a scrape, as `gatehouse_scrape_read_failures_total` names them.
const READS: [&str; 4] = ["chain_head", "jobs", "outbox", "audit_sinks"];

type Label = [(&'static str, &'static str); 1];
type SinkLabel = [(&'static str, String); 1];
type RouteMethod = [(&'static str, String); 2];
type RouteMethodStatus = [(&'static str, String); 3];
type FloatGauge = Gauge<f64, AtomicU64>;

static AUDIT_APPENDS: LazyLock<Counter> = LazyLock::new(Counter::default);
static QUERY_SECONDS: LazyLock<Histogram> = LazyLock::new(|| Histogram::new(QUERY_BUCKETS));

/// One audit event appended by this process (called where events are written).
pub fn note_audit_append() {
    AUDIT_APPENDS.inc();
}

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<RouteMethodStatus, Counter>,
    http_seconds: Family<RouteMethod, Histogram>,
    key_verifications: Family<Label, Counter>,
    key_cache: Family<Label, Counter>,
    pool_connections: Family<Label, Gauge>,
    pool_max: Gauge,
    task_runs: Family<Label, Counter>,
    task_failures: Family<Label, Counter>,
    task_last_success: Family<Label, Gauge>,
    chain_head: Gauge,
    jobs: Family<Label, Gauge>,
    outbox: Family<Label, Gauge>,
    sink_lag_events: Family<SinkLabel, Gauge>,
    sink_lag_seconds: Family<SinkLabel, FloatGauge>,
    read_failures: Family<Label, Counter>,
    /// One scrape at a time: each refreshes the gauges it then encodes.
    scraping: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(http_histogram as fn() -> Histogram),
            key_verifications: Family::default(),
            key_cache: Family::default(),
            pool_connections: Family::default(),
            pool_max: Gauge::default(),
            task_runs: Family::default(),
            task_failures: Family::default(),
            task_last_success: Family::default(),
            chain_head: Gauge::default(),
            jobs: Family::default(),
            outbox: Family::default(),
            sink_lag_events: Family::default(),
            sink_lag_seconds: Family::default(),
            read_failures: Family::default(),
            scraping: tokio::sync::Mutex::new(()),
        };
        // Series that exist from the start, at 0, so rates and ratios are defined at once.
        for outcome in KEY_OUTCOMES {
            m.key_verifications
                .get_or_create(&[("outcome", outcome)])
                .inc_by(0);
        }
        for result in ["hit", "miss"] {
            m.key_cache.get_or_create(&[("result", result)]).inc_by(0);
        }
        for read in READS {
            m.read_failures.get_or_create(&[("read", read)]).inc_by(0);
        }
        m.register()
    }

    /// Counters are registered without their `_total`, which the encoder adds.
    fn register(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "gatehouse_http_requests",
            "HTTP requests answered, by route (the matched path, never the raw one), method and status code",
            self.http_requests.clone(),
        );
        r.register(
            "gatehouse_http_request_duration_seconds",
            "Time from an HTTP request's arrival to its response, by route and method",
            self.http_seconds.clone(),
        );
        r.register(
            "gatehouse_key_verifications",
            "Keys presented at /api/v1/keys/verify, by outcome",
            self.key_verifications.clone(),
        );
        r.register(
            "gatehouse_key_cache_lookups",
            "Look-ups in the in-process key cache (gateways' own keys and presented keys): hit, or miss (read from the database)",
            self.key_cache.clone(),
        );
        r.register(
            "gatehouse_db_pool_connections",
            "Connections of this instance's database pool, by state (idle or used)",
            self.pool_connections.clone(),
        );
        r.register(
            "gatehouse_db_pool_max",
            "The most connections this instance's database pool opens",
            self.pool_max.clone(),
        );
        r.register(
            "gatehouse_db_query_duration_seconds",
            "Time of each database statement as sqlx measures it, over the whole process (recorded by gatehouse serve)",
            QUERY_SECONDS.clone(),
        );
        r.register(
            "gatehouse_task_runs",
            "Runs of a background task, by task",
            self.task_runs.clone(),
        );
        r.register(
            "gatehouse_task_failures",
            "Runs of a background task that failed, by task",
            self.task_failures.clone(),
        );
        r.register(
            "gatehouse_task_last_success_timestamp_seconds",
            "When a background task last succeeded on this instance, in Unix time",
            self.task_last_success.clone(),
        );
        r.register(
            "gatehouse_audit_events",
            "Audit events appended by this process (counted when written: an event whose change then rolls back is counted too)",
            AUDIT_APPENDS.clone(),
        );
        r.register(
            "gatehouse_audit_chain_head",
            "Sequence number of the newest audit event (shared by all instances)",
            self.chain_head.clone(),
        );
        r.register(
            "gatehouse_jobs",
            "Console jobs (imports, bulk actions) by state (shared by all instances)",
            self.jobs.clone(),
        );
        r.register(
            "gatehouse_outbox_messages",
            "Outbox messages waiting for delivery (pending) or given up (dead), over all targets (shared by all instances)",
            self.outbox.clone(),
        );
        r.register(
            "gatehouse_audit_sink_lag_events",
            "Audit events not yet delivered to a SIEM sink, by sink",
            self.sink_lag_events.clone(),
        );
        r.register(
            "gatehouse_audit_sink_lag_seconds",
            "Age of the oldest audit event not yet delivered to a SIEM sink, by sink",
            self.sink_lag_seconds.clone(),
        );
        r.register(
            "gatehouse_scrape_read_failures",
            "Database reads of a scrape that failed or timed out, by read (their gauges keep the values last read)",
            self.read_failures.clone(),
        );
        self
    }

    /// One HTTP request answered. `route` is the matched path (`/enroll/{token}`), never the
    /// raw one.
    pub fn note_request(&self, route: String, method: &'static str, status: u16, took: Duration) {
        self.http_seconds
            .get_or_create(&[("route", route.clone()), ("method", method.to_string())])
            .observe(took.as_secs_f64());
        self.http_requests
            .get_or_create(&[
                ("route", route),
                ("method", method.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// What the verify endpoint answered about a presented key (one of [`KEY_OUTCOMES`]).
    pub fn note_key_verification(&self, outcome: &'static str) {
        self.key_verifications
            .get_or_create(&[("outcome", outcome)])
            .inc();
    }

    /// One look-up in the key cache: `hit` when the cache answered (a key or a known miss).
    pub fn note_key_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.key_cache.get_or_create(&[("result", result)]).inc();
    }

    /// One run of a background task (one tick of its loop).
    pub fn task(&self, name: &'static str, succeeded: bool) {
        let label = [("task", name)];
        self.task_runs.get_or_create(&label).inc();
        // Created at the first run, so the failure series exists before the first failure.
        self.task_failures
            .get_or_create(&label)
            .inc_by(u64::from(!succeeded));
        if succeeded {
            self.task_last_success
                .get_or_create(&label)
                .set(db::now_ms() / 1000);
        }
    }

    /// The exposition: the gauges of shared state read now, then every family as text.
    pub async fn render(&self, db: &Db) -> String {
        let _one_at_a_time = self.scraping.lock().await;
        self.refresh(db).await;
        self.encode()
    }

    /// Every family as text, as they stand.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics: could not encode the registry");
        }
        text
    }

    async fn refresh(&self, db: &Db) {
        let pool = &db.pool;
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        self.pool_connections
            .get_or_create(&[("state", "idle")])
            .set(idle);
        self.pool_connections
            .get_or_create(&[("state", "used")])
            .set((size - idle).max(0));
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));

        let (head, jobs, outbox, lags) = tokio::join!(
            bounded(db::metrics::chain_head(pool)),
            bounded(db::metrics::jobs_by_state(pool)),
            bounded(db::metrics::outbox_counts(pool)),
            bounded(async { Ok::<_, sqlx::Error>(sink_lags(db).await) }),
        );
        match head {
            Ok(seq) => {
                self.chain_head.set(seq);
            }
            Err(why) => self.read_failed("chain_head", &why),
        }
        match jobs {
            Ok(rows) => {
                for state in JOB_STATES {
                    let n = rows
                        .iter()
                        .find(|(s, _)| s.as_str() == state)
                        .map_or(0, |(_, n)| *n);
                    self.jobs.get_or_create(&[("state", state)]).set(n);
                }
            }
            Err(why) => self.read_failed("jobs", &why),
        }
        match outbox {
            Ok((pending, dead)) => {
                self.outbox
                    .get_or_create(&[("state", "pending")])
                    .set(pending);
                self.outbox.get_or_create(&[("state", "dead")]).set(dead);
            }
            Err(why) => self.read_failed("outbox", &why),
        }
        match lags {
            Ok(lags) => {
                // Sinks come and go: only those configured now are reported.
                self.sink_lag_events.clear();
                self.sink_lag_seconds.clear();
                for (sink, events, seconds) in lags {
                    let label = [("sink", sink)];
                    self.sink_lag_events.get_or_create(&label).set(events);
                    self.sink_lag_seconds.get_or_create(&label).set(seconds);
                }
            }
            Err(why) => self.read_failed("audit_sinks", &why),
        }
    }

    fn read_failed(&self, read: &'static str, why: &str) {
        tracing::warn!(read, error = %why, "metrics: a database read failed; its gauges keep the values last read");
        self.read_failures.get_or_create(&[("read", read)]).inc();
    }
}

/// A scrape's database read, given up after [`SCRAPE_READ_TIMEOUT`].
async fn bounded<T>(read: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, String> {
    match tokio::time::timeout(SCRAPE_READ_TIMEOUT, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            SCRAPE_READ_TIMEOUT.as_secs()
        )),
    }
}

/// Each SIEM sink's lag: (sink name, events behind the chain head, age in seconds of the oldest
/// event not yet delivered), one row per sink.
async fn sink_lags(db: &Db) -> Vec<(String, i64, f64)> {
    crate::server::service::audit_stream::sink_metrics(db)
        .await
        .into_iter()
        .map(|s| (s.name, s.lag_events, s.lag_seconds as f64))
        .collect()
}

/// Feeds `gatehouse_db_query_duration_seconds` from the event sqlx emits after every statement
/// (target `sqlx::query`, field `elapsed_secs`): sqlx offers no other hook, and timing each call
/// site would touch all of `db`. `logging::init` installs it with a filter of its own, so the
/// statements reach it without being printed (unless `GATEHOUSE_LOG` asks for them).
pub struct QueryTimer;

impl QueryTimer {
    /// Only sqlx's statement events: at debug, the level sqlx writes them at (slow ones at warn).
    pub fn filter() -> tracing_subscriber::filter::Targets {
        tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::DEBUG)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for QueryTimer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut elapsed = ElapsedSecs(None);
        event.record(&mut elapsed);
        if let Some(seconds) = elapsed.0 {
            QUERY_SECONDS.observe(seconds);
        }
    }
}

struct ElapsedSecs(Option<f64>);

impl tracing::field::Visit for ElapsedSecs {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
