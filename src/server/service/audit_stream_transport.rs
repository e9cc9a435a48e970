//! Sending a batch of audit events to a sink (issue 17): Splunk's HTTP Event Collector, with its
//! acknowledgements when the collector offers them; an NDJSON webhook; syslog (RFC 5424) over
//! TCP, plain or TLS (RFC 5425), with the octet-counting framing of RFC 6587. Each returns the failure text kept as the
//! sink's last error (never a token: only the sink's answer and the connection's reason).
//!
//! What counts as delivered: the HEC's confirmation of the batch's `ackId` (or its 200 when it
//! gives none), a 2xx from the webhook, and for syslog the batch written and flushed on a TCP
//! connection closed cleanly. Syslog has no acknowledgement: a receiver that dies before it
//! writes what it read loses it, which only an acknowledging sink (HEC, NDJSON) rules out.
use crate::server::db::audit::ChainRow;
use crate::server::service::scim_out::without_url;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls::{pki_types::ServerName, ClientConfig};

/// What the destination said of a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Delivered: the cursor may move past the batch.
    Acknowledged,
    /// Accepted by the HEC, which will confirm it as this acknowledgement.
    AwaitingAck(i64),
}

const USER_AGENT: &str = "Gatehouse-AuditStream/1";
/// Syslog facility authpriv (10): security messages that name people.
const FACILITY: u32 = 10;
/// Syslog's structured data element, under the documentation enterprise number of RFC 5612
/// (Gatehouse has no IANA number of its own).
pub const SD_ID: &str = "gatehouse@32473";

fn clip(text: &str) -> String {
    text.chars().take(300).filter(|c| !c.is_control()).collect()
}

fn unreachable(what: &str, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("{what}: no answer in time")
    } else {
        format!("{what}: cannot reach the sink ({})", without_url(e))
    }
}

/// The HEC's batch: one envelope per event, concatenated, `time` in seconds (milliseconds as
/// the fraction).
pub fn hec_body(rows: &[ChainRow], events: &[Value], host: &str) -> String {
    let mut out = String::with_capacity(rows.len() * 1024);
    for (row, event) in rows.iter().zip(events) {
        let envelope = json!({
            "time": row.event.occurred_at as f64 / 1000.0,
            "host": host,
            "source": "gatehouse",
            "sourcetype": "gatehouse:audit",
            "event": event,
        });
        out.push_str(&envelope.to_string());
        out.push('\n');
    }
    out
}

/// POSTs a batch to `{base}/services/collector/event`. The channel is the sink's own, so an
/// acknowledgement can be asked for by any instance later.
pub async fn hec_send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    channel: &str,
    body: String,
) -> Result<Sent, String> {
    let response = http
        .post(format!("{base}/services/collector/event"))
        .header("authorization", format!("Splunk {token}"))
        .header("x-splunk-request-channel", channel)
        .header("content-type", "application/json")
        .header("user-agent", USER_AGENT)
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable("HEC event POST", &e))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "HEC event POST answered {}: {}",
            status.as_u16(),
            clip(&text)
        ));
    }
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(code) = answer["code"].as_i64() {
        if code != 0 {
            return Err(format!(
                "HEC refused the batch (code {code}): {}",
                clip(&text)
            ));
        }
    }
    Ok(match answer["ackId"].as_i64() {
        Some(id) => Sent::AwaitingAck(id),
        None => Sent::Acknowledged,
    })
}

/// Asks the HEC whether acknowledgement `ack_id` is confirmed (its events indexed).
pub async fn hec_acknowledged(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    channel: &str,
    ack_id: i64,
) -> Result<bool, String> {
    let response = http
        .post(format!("{base}/services/collector/ack"))
        .header("authorization", format!("Splunk {token}"))
        .header("x-splunk-request-channel", channel)
        .header("content-type", "application/json")
        .header("user-agent", USER_AGENT)
        .body(json!({ "acks": [ack_id] }).to_string())
        .send()
        .await
        .map_err(|e| unreachable("HEC ack POST", &e))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "HEC ack POST answered {}: {}",
            status.as_u16(),
            clip(&text)
        ));
    }
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(answer["acks"][ack_id.to_string().as_str()]
        .as_bool()
        .unwrap_or(false))
}

/// One event per line.
pub fn ndjson_body(events: &[Value]) -> String {
    let mut out = String::with_capacity(events.len() * 1024);
    for event in events {
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

/// POSTs the lines as `application/x-ndjson`, with the sink's `Authorization` value if it has
/// one; any 2xx acknowledges the whole batch.
pub async fn ndjson_send(
    http: &reqwest::Client,
    url: &str,
    authorization: &str,
    body: String,
) -> Result<(), String> {
    let mut request = http
        .post(url)
        .header("content-type", "application/x-ndjson")
        .header("user-agent", USER_AGENT)
        .body(body);
    if !authorization.is_empty() {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.map_err(|e| unreachable("POST", &e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(format!(
        "POST answered {}: {}",
        status.as_u16(),
        clip(&text)
    ))
}

/// A header field of RFC 5424: printable ASCII without spaces, at most `max` characters, `-`
/// when nothing is left.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s.chars().filter(char::is_ascii_graphic).take(max).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn sd_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `<PRI>1 TIMESTAMP HOSTNAME gatehouse PROCID MSGID [gatehouse@32473 seq hash prev sink] MSG`:
/// PRI is authpriv with the severity of the outcome (informational, warning when denied, error
/// when failed), MSGID the action, MSG the event in the sink's format. The structured data
/// carries what a chain check needs whatever the format.
pub fn syslog_message(row: &ChainRow, event: &Value, host: &str, sink_id: &str) -> String {
    let e = &row.event;
    let severity = match e.outcome.as_str() {
        "success" => 6,
        "denied" => 4,
        _ => 3,
    };
    let timestamp = chrono::DateTime::from_timestamp_millis(e.occurred_at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| "-".into());
    format!(
        "<{pri}>1 {timestamp} {host} gatehouse {procid} {msgid} [{SD_ID} seq=\"{seq}\" hash=\"{hash}\" prev=\"{prev}\" sink=\"{sink}\"] {event}",
        pri = FACILITY * 8 + severity,
        host = header_field(host, 255),
        procid = std::process::id(),
        msgid = header_field(&e.action, 32),
        seq = e.seq,
        hash = sd_value(&e.hash),
        prev = sd_value(&row.prev_hash),
        sink = sd_value(sink_id),
    )
}

/// The batch as octet-counted frames (`LEN SP MSG`, RFC 6587 §3.4.1).
pub fn syslog_frames(rows: &[ChainRow], events: &[Value], host: &str, sink_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 1024);
    for (row, event) in rows.iter().zip(events) {
        let message = syslog_message(row, event, host, sink_id);
        out.extend_from_slice(format!("{} ", message.len()).as_bytes());
        out.extend_from_slice(message.as_bytes());
    }
    out
}

/// Writes the frames on a new connection to `tcp://host:port` or `tls://host:port` (the server's
/// certificate checked against `tls`'s roots and the host), flushes and closes it.
pub async fn syslog_send(
    url: &str,
    frames: &[u8],
    timeout: Duration,
    tls: &Arc<ClientConfig>,
) -> Result<(), String> {
    let (secure, address) = match (url.strip_prefix("tls://"), url.strip_prefix("tcp://")) {
        (Some(address), _) => (true, address),
        (None, Some(address)) => (false, address),
        (None, None) => return Err(format!("{url} is not tcp://host:port or tls://host:port")),
    };
    let work = async {
        let mut tcp = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        if !secure {
            return write_and_close(&mut tcp, frames, address).await;
        }
        let host = address
            .rsplit_once(':')
            .map_or(address, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("{host} is no name to check a certificate against ({e})"))?;
        let mut stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {address}: {e}"))?;
        write_and_close(&mut stream, frames, address).await
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("{address}: no connection or write within {timeout:?}"))?
}

/// Writes everything, flushes, and closes (with TLS, after its close_notify).
async fn write_and_close(
    stream: &mut (impl AsyncWrite + Unpin),
    frames: &[u8],
    address: &str,
) -> Result<(), String> {
    stream
        .write_all(frames)
        .await
        .map_err(|e| format!("writing to {address}: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("writing to {address}: {e}"))?;
    stream
        .shutdown()
        .await
        .map_err(|e| format!("closing the connection to {address}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::audit::AuditEvent;

    fn row(outcome: &str) -> ChainRow {
        ChainRow {
            event: AuditEvent {
                seq: 42,
                occurred_at: 1_767_225_600_123,
                actor_subject: None,
                actor_email: None,
                actor_role: None,
                action: "user.create".into(),
                target_type: None,
                target_id: None,
                outcome: outcome.into(),
                client_ip: None,
                user_agent: None,
                details: "{}".into(),
                hash: "ab".repeat(32),
            },
            prev_hash: "cd".repeat(32),
        }
    }

    #[test]
    fn syslog_messages_are_rfc5424_with_the_chain_in_structured_data() {
        let event = json!({"seq": 42});
        let m = syslog_message(&row("success"), &event, "gh.example.com", "snk_1");
        assert_eq!(
            m,
            format!(
                "<86>1 2026-01-01T00:00:00.123Z gh.example.com gatehouse {} user.create [gatehouse@32473 seq=\"42\" hash=\"{}\" prev=\"{}\" sink=\"snk_1\"] {{\"seq\":42}}",
                std::process::id(),
                "ab".repeat(32),
                "cd".repeat(32)
            )
        );
        assert!(syslog_message(&row("denied"), &event, "h", "s").starts_with("<84>1 "));
        assert!(syslog_message(&row("failed"), &event, "h", "s").starts_with("<83>1 "));
        assert!(syslog_message(&row("failed"), &event, "", "s").contains("Z - gatehouse"));
        assert_eq!(sd_value(r#"a"b\c]"#), r#"a\"b\\c\]"#);
        assert_eq!(header_field("a b\u{e9}c", 32), "abc");
    }

    #[test]
    fn frames_count_octets() {
        let rows = [row("success"), row("success")];
        let events = [json!({"é": 1}), json!({})];
        let frames = String::from_utf8(syslog_frames(&rows, &events, "h", "s")).unwrap();
        let first = syslog_message(&rows[0], &events[0], "h", "s");
        assert!(frames.starts_with(&format!("{} {first}", first.len())));
        assert!(first.len() > first.chars().count(), "bytes, not characters");
    }

    #[test]
    fn hec_envelopes_and_ndjson_lines() {
        let rows = [row("success")];
        let events = [json!({"seq": 42})];
        let body = hec_body(&rows, &events, "h");
        let envelope: Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(envelope["sourcetype"], "gatehouse:audit");
        assert_eq!(envelope["time"].as_f64(), Some(1_767_225_600.123));
        assert_eq!(envelope["event"]["seq"], 42);
        assert_eq!(ndjson_body(&events), "{\"seq\":42}\n");
    }
}
