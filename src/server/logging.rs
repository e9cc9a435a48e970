//! Log output: text for people (the default) or, with `GATEHOUSE_LOG_FORMAT=json`, one JSON
//! object per line for log collectors, each carrying the fields of its request's span (request
//! id, method, route, principal, status, latency; see `http::request_id`).
use crate::server::config::LogFormat;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The filter when `GATEHOUSE_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn,sqlx=warn";

/// Installs the process-wide subscriber; `to_stderr` keeps standard output for a command's
/// result (a token printed for scripts).
pub fn init(format: LogFormat, to_stderr: bool) {
    let filter = EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    match (format, to_stderr) {
        (LogFormat::Text, false) => tracing_subscriber::fmt().with_env_filter(filter).init(),
        (LogFormat::Text, true) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        (LogFormat::Json, false) => json(filter, std::io::stdout).init(),
        (LogFormat::Json, true) => json(filter, std::io::stderr).init(),
    }
}

/// The JSON subscriber: event fields at the top level (`message`, ...), the current span's
/// fields under `span`, every enclosing span's under `spans`.
fn json<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
        .finish()
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
