//! `TestApp`: starts Gatehouse on a free port against a fresh database, and signs people in
//! through the identity provider's real login form.
#![allow(dead_code)]
use gatehouse::server::{startup, AppState, Config};
use reqwest::{redirect::Policy, Client, Response, StatusCode};
use std::collections::HashMap;
use std::time::Duration;
use url::Url;

pub const DEMO_PASSWORD: &str = "gatehouse-demo";
pub const ADMIN: &str = "admin@example.com";
pub const SUPPORT: &str = "support@example.com";
pub const AUDITOR: &str = "auditor@example.com";
pub const NOBODY: &str = "nobody@example.com";

/// The provider's test hook changes the *next* ID token it issues, so sign-ins in this test
/// binary take turns.
pub static IDP_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn engine() -> String {
    std::env::var("GATEHOUSE_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

pub fn idp_issuer() -> String {
    std::env::var("TEST_IDP_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:4100".into())
}

/// A new, empty database for one test.
pub async fn fresh_database_url() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match engine().as_str() {
        "sqlite" => format!(
            "sqlite://{}/gatehouse-test-{id}.db",
            std::env::temp_dir().display()
        ),
        "postgres" => {
            use sqlx::Connection;
            let admin = std::env::var("TEST_POSTGRES_URL")
                .expect("GATEHOUSE_TEST_DB=postgres needs TEST_POSTGRES_URL (scripts/pg.sh start prints one)");
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE gh_{id}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let mut url = Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&format!("gh_{id}"));
            url.to_string()
        }
        other => panic!("GATEHOUSE_TEST_DB must be sqlite or postgres, not {other}"),
    }
}

pub struct TestApp {
    pub url: String,
    /// A browser-like client: keeps cookies, does not follow redirects by itself.
    pub client: Client,
    pub state: AppState,
}

pub fn base_env(database_url: &str, port: u16) -> HashMap<&'static str, String> {
    HashMap::from([
        ("GATEHOUSE_DATABASE_URL", database_url.to_string()),
        ("GATEHOUSE_BIND", format!("127.0.0.1:{port}")),
        ("GATEHOUSE_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("GATEHOUSE_OIDC_ISSUER", idp_issuer()),
        ("GATEHOUSE_OIDC_CLIENT_ID", "gatehouse".to_string()),
        (
            "GATEHOUSE_OIDC_CLIENT_SECRET",
            "gatehouse-dev-secret".to_string(),
        ),
        (
            "GATEHOUSE_ROLE_MAP",
            "console-admins=admin,helpdesk=support,auditors=auditor".to_string(),
        ),
        // A Shared Signals transmitter everywhere (a test-only key, tests/fixtures).
        (
            "GATEHOUSE_SSF_SIGNING_KEY",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/ssf-test-signing-key.pem"
            )
            .to_string(),
        ),
    ])
}

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .user_agent("gatehouse-tests")
        // A request that never answers fails its test within a minute, naming the request,
        // instead of holding the whole suite until its timeout.
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with the default test configuration changed by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut HashMap<&'static str, String>)) -> TestApp {
        let database_url = fresh_database_url().await;
        Self::spawn_on(&database_url, tweak).await
    }

    /// Starts an instance on an existing database (several instances may share one).
    pub async fn spawn_on(
        database_url: &str,
        tweak: impl FnOnce(&mut HashMap<&'static str, String>),
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut vars = base_env(database_url, port);
        tweak(&mut vars);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test config");
        let (router, state) = startup::build(config).await.expect("app starts");
        tokio::spawn(startup::serve(listener, router));
        let app = TestApp {
            url: format!("http://127.0.0.1:{port}"),
            client: browser(),
            state,
        };
        // Discovery runs in the background; give it a moment when the provider is up.
        for _ in 0..50 {
            if app.state.oidc.is_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request")
    }

    /// Calls a server function the way the browser does.
    pub async fn call(&self, client: &Client, name: &str, body: &str) -> Response {
        client
            .post(format!("{}/api/{name}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// Signs `email` in with `self.client`; returns the app's answer to the callback.
    pub async fn sign_in(&self, email: &str) -> Response {
        self.sign_in_with(&self.client, email).await
    }

    pub async fn sign_in_with(&self, client: &Client, email: &str) -> Response {
        let _turn = IDP_TURN.lock().await;
        let callback = self.authorize(client, email, "/").await;
        client.get(callback).send().await.expect("callback")
    }

    /// Starts a sign-in at `/login` and completes the provider's login form; returns the callback
    /// URL the provider redirected to, without visiting it. Callers hold [`IDP_TURN`].
    pub async fn authorize(&self, client: &Client, email: &str, return_to: &str) -> String {
        let mut url = Url::parse(&format!("{}/login?return_to={return_to}", self.url)).unwrap();
        for _ in 0..20 {
            let res = client.get(url.clone()).send().await.expect("request");
            if res.status().is_redirection() {
                let next = url.join(location(&res)).expect("location");
                if next
                    .as_str()
                    .starts_with(&format!("{}/auth/callback", self.url))
                {
                    return next.to_string();
                }
                url = next;
                continue;
            }
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            assert!(
                status == StatusCode::OK && body.contains("id=\"password\""),
                "expected the provider's login form at {url}, got {status}: {body}"
            );
            let form = [("email", email), ("password", DEMO_PASSWORD)];
            let login = url.join(&format!("{}/login", url.path())).unwrap();
            let res = client.post(login).form(&form).send().await.expect("login");
            assert!(
                res.status().is_redirection(),
                "login form answered {}",
                res.status()
            );
            url = url.join(location(&res)).unwrap();
        }
        panic!("sign-in did not reach the callback");
    }

    /// Makes the provider's next ID token wrong in one way (test hook of the dev provider).
    pub async fn tamper_next_id_token(&self, how: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/__test/next-id-token", idp_issuer()))
            .json(&serde_json::json!({ "tamper": how }))
            .send()
            .await
            .expect("provider hook");
        assert_eq!(
            res.status(),
            204,
            "the dev provider must run with IDP_TEST_HOOKS=1"
        );
    }

    /// All audit events, oldest first.
    pub async fn audit_events(&self) -> Vec<gatehouse::model::audit::AuditEvent> {
        let mut page = gatehouse::server::db::audit::page(&self.state.db.pool, None, 10_000)
            .await
            .unwrap();
        page.reverse();
        page
    }
}

pub fn location(res: &Response) -> &str {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
}

pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gatehouse_session="))
        .map(str::to_string)
}

impl TestApp {
    /// Calls a server function and parses its JSON answer, asserting success.
    pub async fn call_ok(&self, name: &str, body: &str) -> serde_json::Value {
        let res = self.call(&self.client, name, body).await;
        let status = res.status();
        let text = res.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "{name}({body}) answered {text}");
        serde_json::from_str(&text).expect("json")
    }

    /// Waits for a job to finish and returns it.
    pub async fn wait_for_job(&self, id: &str) -> serde_json::Value {
        for _ in 0..600 {
            let job = self.call_ok("jobs/get", &format!("id={id}")).await;
            if ["done", "rejected", "failed"].contains(&job["state"].as_str().unwrap_or("")) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {id} did not finish within 60 s");
    }

    /// Creates a user through the server function; returns it.
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        extra: &[(&str, &str)],
    ) -> serde_json::Value {
        let mut pairs = vec![("input[email]", email), ("input[display_name]", name)];
        if !extra.iter().any(|(k, _)| *k == "input[source]") {
            pairs.push(("input[source]", "hr-emea"));
        }
        pairs.extend_from_slice(extra);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.call_ok("users/create", &body).await
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A free port on 127.0.0.1 (for a provider of one test only).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Starts a dev provider of one test only on `port` and waits until it answers; stopped when
/// the returned child is dropped or killed. The wait is generous because a loaded CI machine
/// (two cores, both engines' suites and browsers side by side) can take many seconds to load
/// Node and make the signing key; it ends early when the provider exits.
pub async fn start_dev_provider(port: u16) -> tokio::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/end2end/idp/server.mjs");
    let log_path = std::env::temp_dir().join(format!("gh-idp-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("create the provider's log");
    let mut idp = tokio::process::Command::new("node")
        .arg(script)
        .env("IDP_PORT", port.to_string())
        .env(
            "IDP_JWKS_FILE",
            std::env::temp_dir().join(format!("gh-jwks-{port}.json")),
        )
        .kill_on_drop(true)
        .stdout(log.try_clone().expect("share the provider's log"))
        .stderr(log)
        .spawn()
        .expect("start a dev provider");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = idp.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the dev provider on port {port} exited ({status}): {log}");
        }
        if reqwest::get(format!("http://127.0.0.1:{port}/__test/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return idp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    panic!("the dev provider on port {port} did not answer within 90 s: {log}");
}
