//! Audit streaming to syslog (issue 17): the rsyslogd that scripts/test.sh starts receives RFC 5424
//! messages over TCP, plain and TLS (RFC 5425, its certificate from a throwaway CA the app trusts
//! through `GATEHOUSE_SIEM_CA_FILE`); its output file proves the chain. A server the app cannot
//! trust, or whose certificate names another host, gets nothing.
use crate::audit_sinks::{
    check_chain, create_sink, drive, hash_at, head, sink, spawn, tweak, unique, worker,
};
use crate::common::*;
use serde_json::Value;
use std::time::Duration;

/// A setting of scripts/test.sh's rsyslogd: its plain and TLS ports, the file it writes each
/// message to, the CA of its certificate.
fn rsyslog(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: scripts/test.sh starts rsyslogd (tests/siem/rsyslog.conf.in) and exports TEST_RSYSLOG_PORT, TEST_RSYSLOG_TLS_PORT, TEST_RSYSLOG_FILE and TEST_SIEM_CA_FILE; run the suite through it (make test)")
    })
}

/// An app whose sinks trust the CA of rsyslogd's certificate (`GATEHOUSE_SIEM_CA_FILE`).
async fn spawn_trusting_the_test_ca() -> TestApp {
    let ca = rsyslog("TEST_SIEM_CA_FILE");
    let app = TestApp::spawn_with(move |env| {
        tweak(env);
        env.insert("GATEHOUSE_SIEM_CA_FILE", ca);
    })
    .await;
    app.sign_in(ADMIN).await;
    app
}

struct SyslogLine {
    pri: u32,
    app: String,
    msgid: String,
    seq: i64,
    hash: String,
    prev: String,
    msg: Value,
}

/// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [gatehouse@32473 seq="" hash="" prev="" sink=""] MSG`
fn parse_syslog(line: &str) -> SyslogLine {
    let line = &line[line.find('<').expect("a PRI")..];
    let close = line.find('>').expect("a PRI");
    let pri = line[1..close].parse().expect("a numeric PRI");
    let mut fields = line[close + 1..].splitn(7, ' ');
    assert_eq!(fields.next(), Some("1"), "RFC 5424 version: {line}");
    let _timestamp = fields.next().expect("a timestamp");
    let _host = fields.next().expect("a hostname");
    let app = fields.next().expect("an app name").to_string();
    let _procid = fields.next().expect("a procid");
    let msgid = fields.next().expect("a msgid").to_string();
    let rest = fields.next().expect("structured data and message");
    let end = rest.find("] ").expect("structured data, then the message");
    let sd = &rest[..=end];
    assert!(sd.starts_with("[gatehouse@32473 "), "{sd}");
    let param = |name: &str| {
        let key = format!(" {name}=\"");
        let at = sd.find(&key).unwrap_or_else(|| panic!("{name} in {sd}")) + key.len();
        let len = sd[at..].find('"').expect("a closing quote");
        sd[at..at + len].to_string()
    };
    SyslogLine {
        pri,
        app,
        msgid,
        seq: param("seq").parse().expect("a numeric seq"),
        hash: param("hash"),
        prev: param("prev"),
        msg: serde_json::from_str(&rest[end + 2..]).expect("the message is the event's JSON"),
    }
}

/// Streams a few events to rsyslogd at `url`, reads its file until all are there, and checks
/// each message's fields and the chain they form.
async fn rsyslog_proves_the_chain(app: &TestApp, url: &str) {
    let file = rsyslog("TEST_RSYSLOG_FILE");
    let made = create_sink(
        app,
        &[
            ("input[name]", "rsyslog"),
            ("input[kind]", "syslog"),
            ("input[url]", url),
            ("input[batch_size]", "4"),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["url"], url);
    let start = made["cursor"].as_i64().unwrap();
    let start_hash = hash_at(app, start).await;
    for i in 0..5 {
        app.create_user(&unique(&format!("s{i}")), "Syslog", &[])
            .await;
    }
    let worker = worker(app);
    let done = drive(app, &worker, &id, 10).await;
    let head_now = head(app).await;
    assert_eq!(done["cursor"], head_now);

    // rsyslogd writes what it received on its own time: read its file until all is there.
    let tag = format!("sink=\"{id}\"");
    let wanted = (head_now - start) as usize;
    let mut lines = Vec::new();
    for _ in 0..300 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        lines = text
            .lines()
            .filter(|l| l.contains(&tag))
            .map(str::to_string)
            .collect();
        if lines.len() >= wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        lines.len(),
        wanted,
        "rsyslogd wrote {} of {wanted} messages to {file}",
        lines.len()
    );
    let mut parsed: Vec<SyslogLine> = lines.iter().map(|l| parse_syslog(l)).collect();
    parsed.sort_by_key(|l| l.seq);
    for l in &parsed {
        assert_eq!(l.app, "gatehouse");
        assert_eq!(l.msgid, l.msg["action"].as_str().unwrap());
        assert_eq!(l.pri, 10 * 8 + 6, "authpriv, informational for a success");
        assert_eq!(l.msg["seq"], l.seq);
        assert_eq!(l.msg["hash"], l.hash.as_str());
        assert_eq!(l.msg["prev_hash"], l.prev.as_str());
    }
    let events: Vec<Value> = parsed.into_iter().map(|l| l.msg).collect();
    check_chain(&events, start, head_now, &start_hash);
}

#[tokio::test]
async fn rsyslog_receives_rfc5424_over_tcp_and_its_file_proves_the_chain() {
    let app = spawn().await;
    let url = format!("tcp://127.0.0.1:{}", rsyslog("TEST_RSYSLOG_PORT"));
    rsyslog_proves_the_chain(&app, &url).await;
}

#[tokio::test]
async fn rsyslog_receives_over_tls_with_the_certificate_checked_against_the_siem_ca() {
    let app = spawn_trusting_the_test_ca().await;
    let url = format!("tls://127.0.0.1:{}", rsyslog("TEST_RSYSLOG_TLS_PORT"));
    rsyslog_proves_the_chain(&app, &url).await;
}

/// One tick against `url`: nothing delivered, the cursor stays, the reason is the sink's.
async fn refused(app: &TestApp, url: &str) -> String {
    let made = create_sink(
        app,
        &[
            ("input[name]", "untrusted"),
            ("input[kind]", "syslog"),
            ("input[url]", url),
        ],
    )
    .await;
    let id = made["id"].as_str().unwrap();
    let start = made["cursor"].as_i64().unwrap();
    assert_eq!(worker(app).tick().await.unwrap(), 0);
    let after = sink(app, id).await;
    assert_eq!(
        after["cursor"], start,
        "nothing counts as delivered: {after}"
    );
    assert_eq!(after["failures"], 1, "{after}");
    after["last_error"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn syslog_over_tls_refuses_a_server_it_cannot_trust_or_whose_name_differs() {
    let port = rsyslog("TEST_RSYSLOG_TLS_PORT");
    // Without the test CA, rsyslogd's certificate has an unknown issuer.
    let app = spawn().await;
    let error = refused(&app, &format!("tls://127.0.0.1:{port}")).await;
    assert!(
        error.contains("TLS with 127.0.0.1") && error.contains("UnknownIssuer"),
        "{error}"
    );
    // With it, the certificate (for 127.0.0.1) still does not name `localhost`.
    let app = spawn_trusting_the_test_ca().await;
    let error = refused(&app, &format!("tls://localhost:{port}")).await;
    assert!(
        error.contains("not valid for name \"localhost\""),
        "{error}"
    );
}
