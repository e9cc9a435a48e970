//! No secret, token or authorization code reaches a log line, at any level: everything the server
//! logs while signing in and issuing, rotating and verifying credentials is captured at TRACE and
//! searched for each secret it handled. And a caller's mistake is never logged as a server error.
use crate::apps::{gateway, issue, register, setup, verify};
use crate::common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Log output collected in memory.
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

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Every log line of this test binary, from the first test that asks for it on.
fn captured() -> &'static Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(captured.clone())
            .finish();
        // Process-wide: a thread-local subscriber misses lines when other tests run at once.
        tracing::subscriber::set_global_default(subscriber).expect("no other test sets one");
        captured
    })
}

#[tokio::test]
async fn no_secret_token_or_code_is_ever_logged() {
    let captured = captured();
    let app = setup().await;
    // A sign-in whose code we see: the callback URL carries it.
    let client = browser();
    let (callback, session) = {
        let _turn = IDP_TURN.lock().await;
        let callback = app.authorize(&client, AUDITOR, "/").await;
        let res = client.get(&callback).send().await.unwrap();
        assert_eq!(res.status(), 303, "signed in");
        let cookie = session_cookie(&res).expect("a session cookie");
        let id = cookie["gatehouse_session=".len()..]
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(id.len() >= 16, "{cookie}");
        (callback, id)
    };
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code in the callback");
    // A failed sign-in with a code that the provider refuses is logged too.
    let res = app
        .get("/auth/callback?code=FORGED-CODE-abc123&state=x")
        .await;
    assert_eq!(res.status(), 400);

    let (app_id, client_secret) = register(&app, "Billing", "billing:read").await;
    let (_, key) = issue(&app, &app_id, "billing-job", &["billing:read"]).await;
    let gateway_key = gateway(&app).await;
    let (status, answer) = verify(&app, &gateway_key, &key).await;
    assert_eq!(
        (status.as_u16(), &answer["valid"]),
        (200, &serde_json::json!(true))
    );
    let wrong = format!("{}x", &key[..key.len() - 1]);
    verify(&app, &gateway_key, &wrong).await;
    let rotated = app
        .call_ok("apps/rotate_secret", &format!("id={app_id}&grace=3600"))
        .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 20 && logs.contains("/auth/callback"),
        "the server's log lines were captured: {} lines, the first ones:\n{}",
        logs.lines().count(),
        logs.lines().take(40).collect::<Vec<_>>().join("\n")
    );
    let secrets = [
        ("authorization code", code.as_str()),
        ("forged code", "FORGED-CODE-abc123"),
        ("OIDC client secret", "gatehouse-dev-secret"),
        ("client secret", client_secret.as_str()),
        ("rotated client secret", new_secret.as_str()),
        ("API key", key.as_str()),
        ("wrong API key", wrong.as_str()),
        ("gateway key", gateway_key.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
            panic!("the {what} is in a log line: {line}");
        }
    }
    // The session cookie's id, which would let a reader of the logs sign in.
    assert!(!logs.contains(&session), "the session id is in the logs");
}

/// A caller's mistake is the caller's: an oversized or malformed request is answered 413 or 400,
/// its log lines carry its request id, and none of them is a server error or a warning.
#[tokio::test]
async fn oversized_and_malformed_requests_are_not_logged_as_server_errors() {
    let captured = captured();
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let huge = format!("query[q]={}", "a".repeat(3 * 1024 * 1024));
    let oversized = app.call(&app.client, "users/create", &huge).await;
    assert_eq!(oversized.status(), 413);
    let malformed = app.call(&app.client, "users/create", "nonsense=1").await;
    assert_eq!(malformed.status(), 400);
    for res in [oversized, malformed] {
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&id)).collect();
        assert!(!lines.is_empty(), "no log line carries the request id {id}");
        for line in lines {
            assert!(
                !line.contains(" ERROR ") && !line.contains(" WARN "),
                "a caller's mistake logged as a server problem: {line}"
            );
        }
    }
}
