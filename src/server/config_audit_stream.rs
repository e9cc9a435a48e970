//! Audit streaming to the SIEM (issue 17): sinks from `GATEHOUSE_AUDIT_SINKS` and the streaming
//! worker's rhythm.
use crate::model::audit_sinks::AuditSinkInput;
use crate::server::config::{err, positive, ConfigError, Secret};
use crate::server::service::audit_sink_checks::check;
use crate::server::service::sealed::SecretsKey;
use crate::server::service::siem_tls;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::{pki_types::CertificateDer, ClientConfig};

const VAR: &str = "GATEHOUSE_AUDIT_SINKS";

#[derive(Clone, Debug)]
pub struct AuditStreamPolicy {
    /// Runs the streaming worker in this process (`GATEHOUSE_AUDIT_STREAM_WORKER=off` stops it).
    pub worker: bool,
    /// How often an idle worker looks for sinks with events to send
    /// (`GATEHOUSE_AUDIT_STREAM_POLL_MS`).
    pub poll: Duration,
    /// How long an instance holds a sink while delivering; another instance takes over a dead
    /// one's sink after it.
    pub lease: Duration,
    /// Per request (or TCP connection) to a sink.
    pub timeout: Duration,
    /// The sinks of `GATEHOUSE_AUDIT_SINKS`, checked as the console checks them.
    pub sinks: Vec<EnvSink>,
    /// Seals and opens the sinks' tokens: `GATEHOUSE_SECRETS_KEY` (set by `Config`).
    pub secrets_key: Option<SecretsKey>,
    /// Syslog's HOSTNAME: the host of `GATEHOUSE_PUBLIC_URL` (set by `Config`).
    pub hostname: String,
    /// The CAs of `GATEHOUSE_SIEM_CA_FILE`, trusted besides Mozilla's roots by every sink.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Syslog over TLS: those roots, checked host names, no client certificate.
    pub syslog_tls: Arc<ClientConfig>,
}

/// One sink of `GATEHOUSE_AUDIT_SINKS`, as the checks left it.
#[derive(Clone, Debug)]
pub struct EnvSink {
    pub name: String,
    pub kind: String,
    pub format: String,
    pub url: String,
    /// Empty: none.
    pub token: Secret,
    pub batch_size: i64,
    pub from_seq: Option<i64>,
}

/// One element of the variable's JSON array, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    name: String,
    kind: String,
    #[serde(default)]
    format: String,
    url: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    batch_size: Option<i64>,
    #[serde(default)]
    from_seq: Option<i64>,
}

impl AuditStreamPolicy {
    pub(crate) fn from_lookup(
        var: &impl Fn(&'static str) -> Option<String>,
        secrets_key: Option<&SecretsKey>,
        public_url: &str,
    ) -> Result<AuditStreamPolicy, ConfigError> {
        let worker = match var("GATEHOUSE_AUDIT_STREAM_WORKER")
            .as_deref()
            .map(str::trim)
        {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(err(
                    "GATEHOUSE_AUDIT_STREAM_WORKER",
                    format!("must be on or off (got {other:?})"),
                ))
            }
        };
        let sinks = match var(VAR) {
            Some(raw) => parse_sinks(&raw)?,
            None => Vec::new(),
        };
        if secrets_key.is_none() {
            if let Some(s) = sinks.iter().find(|s| !s.token.expose().is_empty()) {
                return Err(err(
                    VAR,
                    format!(
                        "sink {:?} has a token, which is kept encrypted with GATEHOUSE_SECRETS_KEY: set that too",
                        s.name
                    ),
                ));
            }
        }
        let hostname = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "-".into());
        let extra_roots = match var("GATEHOUSE_SIEM_CA_FILE").filter(|p| !p.trim().is_empty()) {
            None => Vec::new(),
            Some(path) => std::fs::read(path.trim())
                .map_err(|e| format!("cannot read {path}: {e}"))
                .and_then(|pem| siem_tls::read_ca_pem(&pem).map_err(|e| format!("{path} {e}")))
                .map_err(|e| err("GATEHOUSE_SIEM_CA_FILE", e))?,
        };
        let syslog_tls =
            siem_tls::client_config(&extra_roots).map_err(|e| err("GATEHOUSE_SIEM_CA_FILE", e))?;
        Ok(AuditStreamPolicy {
            worker,
            poll: Duration::from_millis(positive(var, "GATEHOUSE_AUDIT_STREAM_POLL_MS", 1000)?),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            sinks,
            secrets_key: secrets_key.cloned(),
            hostname,
            extra_roots,
            syslog_tls,
        })
    }
}

/// `[{"name": "...", "kind": "hec|ndjson|syslog", "format": "gatehouse|ocsf", "url": "...",
/// "token": "...", "batch_size": 500, "from_seq": 1}, ...]`: each sink checked as the console
/// checks it, names unique.
fn parse_sinks(raw: &str) -> Result<Vec<EnvSink>, ConfigError> {
    let written: Vec<Written> = serde_json::from_str(raw).map_err(|e| {
        err(
            VAR,
            format!("is not a JSON array of sinks ({e}); each is {{\"name\", \"kind\", \"format\", \"url\", \"token\", \"batch_size\", \"from_seq\"}}"),
        )
    })?;
    let mut sinks: Vec<EnvSink> = Vec::with_capacity(written.len());
    for (i, w) in written.into_iter().enumerate() {
        let which = format!("sink {} ({:?})", i + 1, w.name);
        let input = AuditSinkInput {
            name: w.name.clone(),
            kind: w.kind,
            format: w.format,
            url: w.url,
            token: w.token,
            batch_size: w.batch_size.map(|n| n.to_string()).unwrap_or_default(),
            from_seq: w.from_seq.map(|n| n.to_string()).unwrap_or_default(),
        };
        let valid = check(&input).map_err(|problems| {
            let all: Vec<String> = problems.into_iter().map(|(_, m)| m).collect();
            err(VAR, format!("{which}: {}", all.join("; ")))
        })?;
        if valid.kind == "hec" && valid.token.is_empty() {
            return Err(err(
                VAR,
                format!("{which}: an HEC sink needs its token (\"token\")"),
            ));
        }
        if sinks.iter().any(|s| s.name == valid.name) {
            return Err(err(VAR, format!("{which}: another sink has the same name")));
        }
        sinks.push(EnvSink {
            name: valid.name,
            kind: valid.kind.to_string(),
            format: valid.format.to_string(),
            url: valid.url,
            token: Secret::new(valid.token),
            batch_size: valid.batch_size,
            from_seq: valid.from_seq,
        });
    }
    Ok(sinks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(sinks: Option<&str>, key: bool) -> Result<AuditStreamPolicy, ConfigError> {
        let key = key.then(|| SecretsKey::parse(&"ab".repeat(32)).unwrap());
        let var = |name: &'static str| (name == VAR).then(|| sinks.map(str::to_string)).flatten();
        AuditStreamPolicy::from_lookup(&var, key.as_ref(), "https://gatehouse.example.com")
    }

    #[test]
    fn no_sinks_by_default_and_the_host_names_syslog_messages() {
        let p = load(None, false).unwrap();
        assert!(p.worker && p.sinks.is_empty());
        assert_eq!(p.hostname, "gatehouse.example.com");
        assert_eq!(p.poll, Duration::from_millis(1000));
    }

    #[test]
    fn sinks_are_read_and_checked_like_the_console_does() {
        let p = load(
            Some(
                r#"[{"name": "Splunk", "kind": "hec", "url": "https://splunk.example.com:8088/services/collector/event", "token": "tok-1234", "format": "ocsf", "batch_size": 200},
                    {"name": "Relay", "kind": "syslog", "url": "tcp://127.0.0.1:6514", "from_seq": 1}]"#,
            ),
            true,
        )
        .unwrap();
        assert_eq!(p.sinks.len(), 2);
        assert_eq!(p.sinks[0].url, "https://splunk.example.com:8088");
        assert_eq!(p.sinks[0].format, "ocsf");
        assert_eq!(p.sinks[0].batch_size, 200);
        assert_eq!(p.sinks[1].from_seq, Some(1));
        assert_eq!(p.sinks[1].format, "gatehouse");
        assert!(!format!("{p:?}").contains("tok-1234"), "tokens stay hidden");
    }

    #[test]
    fn bad_sinks_are_refused_naming_the_sink_and_the_problem() {
        for (raw, expected) in [
            ("not json", "JSON array"),
            (r#"{"name": "x"}"#, "JSON array"),
            (
                r#"[{"name": "a", "kind": "ndjson", "url": "https://a.example.com", "colour": "red"}]"#,
                "colour",
            ),
            (
                r#"[{"name": "a", "kind": "kafka", "url": "https://a.example.com"}]"#,
                "hec, ndjson or syslog",
            ),
            (
                r#"[{"name": "a", "kind": "ndjson", "url": "http://siem.example.com/in"}]"#,
                "https",
            ),
            (
                r#"[{"name": "a", "kind": "hec", "url": "https://splunk.example.com"}]"#,
                "token",
            ),
            (
                r#"[{"name": "a", "kind": "syslog", "url": "udp://siem.example.com:514"}]"#,
                "tls://host:port",
            ),
            (
                r#"[{"name": "a", "kind": "ndjson", "url": "https://a.example.com"},
                    {"name": "a", "kind": "ndjson", "url": "https://b.example.com"}]"#,
                "same name",
            ),
        ] {
            let e = load(Some(raw), true).unwrap_err();
            assert_eq!(e.var, VAR);
            assert!(e.problem.contains(expected), "{raw}: {e}");
        }
        let e = load(
            Some(r#"[{"name": "a", "kind": "ndjson", "url": "https://a.example.com", "token": "Bearer x"}]"#),
            false,
        )
        .unwrap_err();
        assert!(e.problem.contains("GATEHOUSE_SECRETS_KEY"), "{e}");
    }

    #[test]
    fn a_siem_ca_file_is_read_at_start_and_refused_when_unusable() {
        let policy = |path: &str| {
            let path = path.to_string();
            let var =
                move |name: &'static str| (name == "GATEHOUSE_SIEM_CA_FILE").then(|| path.clone());
            AuditStreamPolicy::from_lookup(&var, None, "https://gatehouse.example.com")
        };
        assert!(policy("").unwrap().extra_roots.is_empty(), "empty: none");
        let missing = policy("/nonexistent/ca.pem").unwrap_err().to_string();
        assert!(missing.contains("GATEHOUSE_SIEM_CA_FILE") && missing.contains("cannot read"));
        let dir = std::env::temp_dir().join(format!("siem-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("not-a-ca.pem");
        std::fs::write(&file, "hello").unwrap();
        let wrong = policy(file.to_str().unwrap()).unwrap_err().to_string();
        assert!(wrong.contains("no certificate"), "{wrong}");
    }
}
