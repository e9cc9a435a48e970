//! Log output: text for people (the default) or, with `GATEHOUSE_LOG_FORMAT=json`, one JSON
//! object per line for log collectors, each carrying the fields of its request's span (request
//! id, method, route, principal, status, latency; see `http::request_id`). Beside the log, the
//! database statement timings of `/metrics` (`metrics::QueryTimer`), filtered apart.
use crate::server::config::LogFormat;
use crate::server::metrics::QueryTimer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The filter when `GATEHOUSE_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn,sqlx=warn";

/// Installs the process-wide subscriber; `to_stderr` keeps standard output for a command's
/// result (a token printed for scripts). Each layer has its own filter: the log's
/// (`GATEHOUSE_LOG`) never decides what the statement timer sees, nor the reverse.
pub fn init(format: LogFormat, to_stderr: bool) {
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    let timed = tracing_subscriber::registry().with(QueryTimer.with_filter(QueryTimer::filter()));
    match (format, to_stderr) {
        (LogFormat::Text, false) => timed
            .with(tracing_subscriber::fmt::layer().with_filter(filter))
            .init(),
        (LogFormat::Text, true) => timed
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .init(),
        (LogFormat::Json, false) => timed
            .with(json_layer(std::io::stdout).with_filter(filter))
            .init(),
        (LogFormat::Json, true) => timed
            .with(json_layer(std::io::stderr).with_filter(filter))
            .init(),
    }
}

/// The JSON formatter: event fields at the top level (`message`, ...), the current span's
/// fields under `span`, every enclosing span's under `spans`.
fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::http::request_id;
    use axum::routing::get;
    use axum::{middleware, Router};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The JSON log as `init` builds it, writing to `writer`.
    fn json<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        tracing_subscriber::registry().with(json_layer(writer).with_filter(filter))
    }

    async fn enroll() -> &'static str {
        request_id::note_principal("sub-1");
        tracing::info!("handled");
        "ok"
    }

    #[tokio::test]
    async fn json_lines_carry_the_request_span_and_never_the_raw_path() {
        let captured = Captured::default();
        // This thread only; the test runs on one (tokio's current-thread test runtime).
        let _logs =
            tracing::subscriber::set_default(json(EnvFilter::new("info"), captured.clone()));
        let app = Router::new()
            .route("/enroll/{token}", get(enroll))
            .layer(middleware::from_fn(request_id::attach));
        let res = app
            .oneshot(
                http::Request::get("/enroll/secret-token-123")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!logs.contains("secret-token-123"), "{logs}");
        let lines: Vec<serde_json::Value> = logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let handled = lines
            .iter()
            .find(|l| l["message"] == "handled")
            .unwrap_or_else(|| panic!("{logs}"));
        assert_eq!(handled["span"]["request_id"], id.as_str(), "{logs}");
        assert_eq!(handled["span"]["route"], "/enroll/{token}", "{logs}");
        let access = lines
            .iter()
            .find(|l| l["target"] == "gatehouse::access")
            .unwrap_or_else(|| panic!("no access line: {logs}"));
        let span = &access["span"];
        assert_eq!(span["request_id"], id.as_str(), "{logs}");
        assert_eq!(span["method"], "GET", "{logs}");
        assert_eq!(span["route"], "/enroll/{token}", "{logs}");
        assert_eq!(span["principal"], "sub-1", "{logs}");
        assert_eq!(span["status"], 200, "{logs}");
        assert!(span["latency_ms"].is_number(), "{logs}");
        assert_eq!(access["level"], "INFO", "{logs}");
    }
}
