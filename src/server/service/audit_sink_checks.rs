//! The checks of an audit sink's settings (issue 17), shared by the console, the API and
//! `GATEHOUSE_AUDIT_SINKS`: each problem is named with its field.
use crate::model::audit_sinks::{AuditSinkInput, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE};
use crate::server::service::provisioning::check_outbound_url;
use crate::server::ssf_verify::clip;

const MAX_NAME: usize = 100;
const MAX_TOKEN: usize = 4096;

/// A sink's settings as the checks leave them.
pub(crate) struct Valid {
    pub name: String,
    pub kind: &'static str,
    pub format: &'static str,
    pub url: String,
    /// Empty: none given.
    pub token: String,
    pub batch_size: i64,
    pub from_seq: Option<i64>,
}

pub(crate) fn one_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// A display name of something an administrator registers (a sink, a transmitter): trimmed, 1 to
/// 100 characters on one line.
pub(crate) fn check_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || !one_line(name) {
        return Err(format!("Name: 1 to {MAX_NAME} characters on one line"));
    }
    Ok(name.to_string())
}

/// `tcp://host:port`, or `tls://host:port` for syslog over TLS (RFC 5425).
fn check_syslog_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    if raw.is_empty() {
        return Err("URL is required: tcp://host:port or tls://host:port".into());
    }
    let Some(scheme) = ["tcp", "tls"]
        .into_iter()
        .find(|s| raw.starts_with(&format!("{s}://")))
    else {
        return Err("URL of a syslog sink is tcp://host:port or tls://host:port (TLS)".into());
    };
    let url = url::Url::parse(raw).map_err(|e| format!("URL is not {scheme}://host:port ({e})"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(format!("URL names no host: {scheme}://host:port"))?;
    let port = url
        .port()
        .ok_or(format!("URL needs a port: {scheme}://host:6514"))?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.path().is_empty()
    {
        return Err(format!("URL is {scheme}://host:port and nothing more"));
    }
    Ok(format!("{scheme}://{host}:{port}"))
}

/// The collector's base URL; the full event or collector path is accepted too.
fn hec_base(url: String) -> String {
    for suffix in [
        "/services/collector/event/1.0",
        "/services/collector/event",
        "/services/collector",
    ] {
        if let Some(base) = url.strip_suffix(suffix) {
            return base.to_string();
        }
    }
    url
}

/// The console's checks, also applied to GATEHOUSE_AUDIT_SINKS: (field, message) for each
/// problem.
pub(crate) fn check(input: &AuditSinkInput) -> Result<Valid, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.into(), message));
    let name = check_name(&input.name).unwrap_or_else(|m| {
        bad("name", m);
        String::new()
    });
    let kind = match input.kind.trim() {
        "hec" => Some("hec"),
        "ndjson" => Some("ndjson"),
        "syslog" => Some("syslog"),
        other => {
            bad(
                "kind",
                format!("Kind is hec, ndjson or syslog, not {:?}", clip(other, 40)),
            );
            None
        }
    };
    let format = match input.format.trim() {
        "" | "gatehouse" => "gatehouse",
        "ocsf" => "ocsf",
        other => {
            bad(
                "format",
                format!("Format is gatehouse or ocsf, not {:?}", clip(other, 40)),
            );
            "gatehouse"
        }
    };
    let url = match kind {
        Some("syslog") => check_syslog_url(&input.url),
        Some("hec") => check_outbound_url(&input.url, "URL").map(hec_base),
        Some(_) => check_outbound_url(&input.url, "URL"),
        None => Ok(String::new()),
    }
    .unwrap_or_else(|m| {
        bad("url", m);
        String::new()
    });
    let token = input.token.trim().to_string();
    if token.chars().count() > MAX_TOKEN || !one_line(&token) {
        bad(
            "token",
            format!("Token: at most {MAX_TOKEN} characters on one line"),
        );
    } else if kind == Some("syslog") && !token.is_empty() {
        bad(
            "token",
            "Token: a syslog sink sends none; leave it empty".into(),
        );
    }
    let batch_size = match input.batch_size.trim() {
        "" => DEFAULT_BATCH_SIZE,
        raw => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
            _ => {
                bad(
                    "batch_size",
                    format!("Batch size: a whole number from 1 to {MAX_BATCH_SIZE}"),
                );
                DEFAULT_BATCH_SIZE
            }
        },
    };
    let from_seq = match input.from_seq.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                bad(
                    "from_seq",
                    "Start from: an event number from 1 (empty: from now on)".into(),
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Valid {
        name,
        kind: kind.unwrap_or("ndjson"),
        format,
        url,
        token,
        batch_size,
        from_seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, url: &str) -> AuditSinkInput {
        AuditSinkInput {
            name: "SIEM".into(),
            kind: kind.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    #[test]
    fn urls_follow_the_kind() {
        let v = check(&input(
            "hec",
            "https://splunk.example.com:8088/services/collector/event/",
        ))
        .unwrap();
        assert_eq!(v.url, "https://splunk.example.com:8088");
        assert_eq!(v.format, "gatehouse");
        assert_eq!(v.batch_size, DEFAULT_BATCH_SIZE);
        let v = check(&input("ndjson", "http://127.0.0.1:9000/in")).unwrap();
        assert_eq!(v.url, "http://127.0.0.1:9000/in");
        let v = check(&input("syslog", " tcp://siem.example.com:6514 ")).unwrap();
        assert_eq!(v.url, "tcp://siem.example.com:6514");
        let v = check(&input("syslog", "tls://siem.example.com:6514/")).unwrap();
        assert_eq!(v.url, "tls://siem.example.com:6514");
        for (kind, url, expected) in [
            ("ndjson", "http://siem.example.com/in", "https"),
            ("hec", "ftp://splunk.example.com", "https"),
            (
                "syslog",
                "udp://siem.example.com:514",
                "tcp://host:port or tls://",
            ),
            ("syslog", "tls://siem.example.com", "port"),
            ("syslog", "tls://user@siem.example.com:6514", "nothing more"),
            ("syslog", "tcp://siem.example.com", "port"),
            ("syslog", "tcp://siem.example.com:514/x", "nothing more"),
        ] {
            let errors = check(&input(kind, url)).err().unwrap_or_default();
            assert!(
                errors
                    .iter()
                    .any(|(f, m)| f == "url" && m.contains(expected)),
                "{kind} {url}: {errors:?}"
            );
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = check(&AuditSinkInput {
            name: " ".into(),
            kind: "kafka".into(),
            format: "cef".into(),
            url: "https://x.example.com".into(),
            token: "a\nb".into(),
            batch_size: "0".into(),
            from_seq: "-3".into(),
        })
        .err()
        .unwrap();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "kind", "format", "token", "batch_size", "from_seq"]
        );
        let errors = check(&AuditSinkInput {
            token: "secret".into(),
            ..input("syslog", "tcp://127.0.0.1:514")
        })
        .err()
        .unwrap();
        assert_eq!(errors[0].0, "token");
    }
}
