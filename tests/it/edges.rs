//! Health probes, security headers, the provider being down, configuration errors.
use crate::common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    // Each dependency, by name, with whether it is fine and what was found.
    let body: serde_json::Value = res.json().await.unwrap();
    for name in ["database", "ssf_signing_key", "secrets_key"] {
        assert_eq!(body["checks"][name]["ok"], true, "{name}: {body}");
    }
    for name in [
        "database",
        "identity_provider",
        "ssf_signing_key",
        "secrets_key",
    ] {
        assert!(body["checks"][name]["detail"].is_string(), "{name}: {body}");
    }
    assert_eq!(body["checks"]["database"]["required"], true, "{body}");
    // The provider is reported, not required: while it is down the instance still serves.
    assert_eq!(
        body["checks"]["identity_provider"]["required"], false,
        "{body}"
    );
    let expected = if body["checks"]["identity_provider"]["ok"] == true {
        "ready"
    } else {
        "degraded"
    };
    assert_eq!(body["status"], expected, "{body}");
    let ssf = body["checks"]["ssf_signing_key"]["detail"]
        .as_str()
        .unwrap();
    assert!(ssf.starts_with("configured (key id "), "{body}");
    // The request id is on the 404 page, as on the response.
    let res = app.get("/no-such-page").await;
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let page = res.text().await.unwrap();
    assert!(page.contains("Request id") && page.contains(&id), "{page}");
}

#[tokio::test]
async fn baseline_security_headers_everywhere() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/signin", "/login", "/no-such-page"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert!(h.get("referrer-policy").is_some(), "{path}");
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
}

#[tokio::test]
async fn pages_only_run_scripts_carrying_the_response_nonce() {
    let app = TestApp::spawn().await;
    let res = app.get("/signin").await;
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the CSP")
        .to_string();
    assert!(nonce.len() >= 16);
    let html = res.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries the nonce: {html}"
    );
    // A new response, a new nonce.
    let again = app.get("/signin").await;
    assert!(!again
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains(&nonce));
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/no-such-page").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let res = app
        .client
        .post(format!("{}/logout", app.url))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/").await.status(), 200, "still signed in");
}

#[tokio::test]
async fn starts_while_the_provider_is_down_and_recovers_when_it_is_back() {
    let idp_port = free_port();
    let issuer = format!("http://127.0.0.1:{idp_port}");
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_OIDC_ISSUER", issuer.clone());
    })
    .await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let res = app.get("/login?return_to=/audit").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/signin?error=idp_unreachable"),
        "{}",
        location(&res)
    );
    let html = app
        .get("/signin?error=idp_unreachable")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("identity provider is unreachable"), "{html}");

    // Bring a provider up on that port: the next sign-in works.
    let mut idp = start_dev_provider(idp_port).await;
    let res = app.get("/login").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with(&format!("{issuer}/auth?")),
        "{}",
        location(&res)
    );
    let _ = idp.kill().await;
}

#[tokio::test]
async fn configuration_errors_name_the_variable() {
    let err = gatehouse::server::Config::from_lookup(|k| match k {
        "GATEHOUSE_OIDC_ISSUER" => Some("http://127.0.0.1:4100".into()),
        "GATEHOUSE_OIDC_CLIENT_ID" => Some("gatehouse".into()),
        "GATEHOUSE_OIDC_CLIENT_SECRET" => Some("x".into()),
        "GATEHOUSE_ROLE_MAP" => Some("console-admins=superuser".into()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.var, "GATEHOUSE_ROLE_MAP");
    assert!(err.to_string().contains("unknown role"));
}

#[tokio::test]
async fn unreadable_server_function_arguments_are_400() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let res = app.call(&app.client, "users/get", "").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .call(
            &app.client,
            "users/status",
            "id=x&status=active&version=notanumber",
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
