//! The support desk: MFA factors, the MFA reset and its guard rails, the one-time re-enrollment
//! link, devices per role, the bulk block, and support's view of a user's audit trail.
use crate::common::*;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::Row;

pub(crate) const CHECK: &str = "Called back the phone number on file";
pub(crate) const REASON: &str = "Lost or stolen phone";

/// An app with the admin signed in on `app.client` and the support agent on the returned client.
pub(crate) async fn app_with(
    tweak: impl FnOnce(&mut std::collections::HashMap<&'static str, String>),
) -> (TestApp, Client) {
    let app = TestApp::spawn_with(tweak).await;
    assert_eq!(app.sign_in(ADMIN).await.status(), StatusCode::SEE_OTHER);
    let support = browser();
    assert_eq!(
        app.sign_in_with(&support, SUPPORT).await.status(),
        StatusCode::SEE_OTHER
    );
    (app, support)
}

async fn app() -> (TestApp, Client) {
    app_with(|_| {}).await
}

/// A user with a passkey, an authenticator app and SMS, and two devices (one trusted).
pub(crate) async fn person(app: &TestApp, email: &str) -> (String, Vec<String>, Vec<String>) {
    let user = app
        .create_user(
            email,
            "Grace Hopper",
            &[("input[phone]", "+41 79 555 01 02")],
        )
        .await;
    let id = user["id"].as_str().unwrap().to_string();
    let mut factors = Vec::new();
    for pairs in [
        vec![
            ("input[kind]", "webauthn"),
            ("input[label]", "YubiKey"),
            ("input[credential_id]", "cred-1"),
            ("input[authenticator_name]", "YubiKey 5 NFC"),
            ("input[aaguid]", "cb69481e-8ff7-4039-93ec-0a2729a154a8"),
        ],
        vec![("input[kind]", "totp"), ("input[label]", "Authenticator")],
        vec![
            ("input[kind]", "sms"),
            ("input[label]", "Phone"),
            ("input[phone]", "+41795550102"),
        ],
    ] {
        let mut all = vec![("user_id", id.as_str())];
        all.extend(pairs);
        let f = app.call_ok("mfa/factors/add", &form(&all)).await;
        factors.push(f["id"].as_str().unwrap().to_string());
    }
    let mut devices = Vec::new();
    for (name, kind, platform) in [
        ("Grace's iPhone", "phone", "ios"),
        ("Grace's laptop", "laptop", "macos"),
    ] {
        let d = app
            .call_ok(
                "devices/register",
                &form(&[
                    ("user_id", &id),
                    ("input[name]", name),
                    ("input[kind]", kind),
                    ("input[platform]", platform),
                    ("input[os_version]", "18.1"),
                    ("input[fingerprint]", &format!("SHA256:{name}")),
                    ("input[last_ip]", "10.1.2.3"),
                ]),
            )
            .await;
        assert_eq!(
            d["trust_state"], "untrusted",
            "a new device starts untrusted"
        );
        devices.push(d["id"].as_str().unwrap().to_string());
    }
    app.call_ok("devices/trust", &format!("id={}", devices[0]))
        .await;
    (id, factors, devices)
}

pub(crate) fn reset_form(user_id: &str, confirm: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("input[user_id]", user_id),
        ("input[checks][0]", CHECK),
        ("input[reason]", REASON),
        ("input[note]", "Phone fell in the lake"),
        ("input[ticket]", "INC-4242"),
        ("input[confirm_email]", confirm),
    ];
    for (k, v) in extra {
        if let Some(p) = pairs.iter_mut().find(|(pk, _)| pk == k) {
            p.1 = v;
        } else {
            pairs.push((k, v));
        }
    }
    form(&pairs)
}

pub(crate) async fn factor_count(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM mfa_factors WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

pub(crate) async fn trust_states(app: &TestApp, user_id: &str) -> Vec<(String, i64)> {
    let rows = sqlx::query(
        "SELECT trust_state, remembered FROM devices WHERE owner_user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.get::<String, _>("trust_state"),
                r.get::<i64, _>("remembered"),
            )
        })
        .collect()
}

pub(crate) async fn call_json(
    app: &TestApp,
    client: &Client,
    name: &str,
    body: &str,
) -> (StatusCode, Value) {
    let res = app.call(client, name, body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn support_resets_mfa_factors_go_devices_lose_trust_and_a_one_time_link_is_issued() {
    let (app, support) = app().await;
    let (id, _, _) = person(&app, "grace@example.com").await;
    sqlx::query("UPDATE devices SET remembered = 1 WHERE owner_user_id = $1")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(factor_count(&app, &id).await, 3);

    let (status, outcome) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(&id, " Grace@Example.com ", &[]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["factors_removed"], 3);
    assert_eq!(
        outcome["devices_untrusted"], 2,
        "the trusted one and the remembered one"
    );
    let link = outcome["enrollment_link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/enroll/", app.url)), "{link}");
    let token = token_of(link);
    assert_eq!(token.len(), 43, "32 random bytes in base64url");

    assert_eq!(factor_count(&app, &id).await, 0, "factors gone");
    assert_eq!(
        trust_states(&app, &id).await,
        vec![("untrusted".to_string(), 0), ("untrusted".to_string(), 0)],
        "no device stays trusted or remembered"
    );
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM enrollment_links WHERE user_id = $1")
            .bind(&id)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token, "the token itself is never stored");
    assert_eq!(
        stored[0],
        gatehouse::server::service::support::token_hash(&token)
    );

    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (
            e.action.as_str(),
            e.outcome.as_str(),
            e.actor_email.as_deref(),
            e.target_id.as_deref()
        ),
        ("mfa.reset", "success", Some(SUPPORT), Some(id.as_str()))
    );
    let d: Value = serde_json::from_str(&e.details).unwrap();
    assert_eq!(d["ticket"], "INC-4242");
    assert_eq!(d["reason"], REASON);
    assert_eq!(d["note"], "Phone fell in the lake");
    assert_eq!(d["checks"][0], CHECK);
    assert_eq!(d["factors_removed"].as_array().unwrap().len(), 3);
    assert!(
        !e.details.contains(&token),
        "the link is not in the audit log"
    );

    // The agent's recent tickets.
    let (_, recent) = call_json(&app, &support, "support/recent", "").await;
    assert_eq!(recent[0]["ticket"], "INC-4242");
    assert_eq!(recent[0]["user_email"], "grace@example.com");
    // The admin has no tickets of their own.
    let (_, mine) = call_json(&app, &app.client, "support/recent", "").await;
    assert_eq!(mine, serde_json::json!([]));

    // The link: shown, used once, then refused.
    let anonymous = browser();
    let page = anonymous.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("enroll-continue"));
    let used = anonymous.post(link).send().await.unwrap();
    assert_eq!(used.status(), 200);
    assert!(used.text().await.unwrap().contains("Link accepted"));
    let again = anonymous.post(link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.text().await.unwrap().contains("already been used"));
    assert_eq!(
        anonymous.get(link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let uses: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.enrollment_link.used")
        .map(|e| e.outcome)
        .collect();
    assert_eq!(uses, ["success", "failed"]);
    let unknown = anonymous
        .post(format!("{}/enroll/{}", app.url, "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn chosen_factors_only_and_a_new_reset_voids_the_earlier_link() {
    let (app, support) = app().await;
    let (id, factors, _) = person(&app, "ada@example.com").await;
    let (status, first) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(
            &id,
            "ada@example.com",
            &[("input[factor_ids][0]", &factors[1])],
        ),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["factors_removed"], 1);
    assert_eq!(
        factor_count(&app, &id).await,
        2,
        "only the chosen factor went"
    );
    let (status, second) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(&id, "ada@example.com", &[]),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["factors_removed"], 2);
    let old = browser()
        .post(first["enrollment_link"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        StatusCode::GONE,
        "the earlier link no longer works"
    );
    let new = browser()
        .post(second["enrollment_link"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
}

#[tokio::test]
async fn refused_resets_change_nothing_and_are_audited_with_reason_and_ticket() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_PROTECTED_ACCOUNTS", "Boss@Example.com".into());
    })
    .await;
    let (grace, factors, _) = person(&app, "grace@example.com").await;
    // The console admin's own directory account, the support agent's, a listed one, a gone one.
    let (admin_acct, _, _) = person(&app, ADMIN).await;
    let (own, _, _) = person(&app, SUPPORT).await;
    let (boss, _, _) = person(&app, "boss@example.com").await;
    let (lin, _, _) = person(&app, "lin@example.com").await;
    let gone = app
        .create_user("gone@example.com", "Gone Person", &[])
        .await;
    let gone_id = gone["id"].as_str().unwrap().to_string();
    app.call_ok(
        "users/status",
        &form(&[
            ("id", &gone_id),
            ("status", "deprovisioned"),
            ("version", "1"),
        ]),
    )
    .await;

    let long = "x".repeat(501);
    let cases: Vec<(&str, String, StatusCode, &str, &str)> = vec![
        (
            "admin account",
            reset_form(&admin_acct, ADMIN, &[]),
            StatusCode::FORBIDDEN,
            "administrator account",
            "denied",
        ),
        (
            "listed account",
            reset_form(&boss, "boss@example.com", &[]),
            StatusCode::FORBIDDEN,
            "administrator account",
            "denied",
        ),
        (
            "own account",
            reset_form(&own, SUPPORT, &[]),
            StatusCode::FORBIDDEN,
            "your own MFA",
            "denied",
        ),
        (
            "deprovisioned",
            reset_form(&gone_id, "gone@example.com", &[]),
            StatusCode::BAD_REQUEST,
            "deprovisioned",
            "failed",
        ),
        (
            "no reason",
            reset_form(&grace, "grace@example.com", &[("input[reason]", "")]),
            StatusCode::BAD_REQUEST,
            "Choose a reason",
            "failed",
        ),
        (
            "unknown reason",
            reset_form(&grace, "grace@example.com", &[("input[reason]", "Bored")]),
            StatusCode::BAD_REQUEST,
            "not one of the reasons",
            "failed",
        ),
        (
            "no ticket",
            reset_form(&grace, "grace@example.com", &[("input[ticket]", " ")]),
            StatusCode::BAD_REQUEST,
            "ticket reference is required",
            "failed",
        ),
        (
            "no check",
            reset_form(&grace, "grace@example.com", &[("input[checks][0]", "")]),
            StatusCode::BAD_REQUEST,
            "verified",
            "failed",
        ),
        (
            "wrong email",
            reset_form(&grace, "grace@example.org", &[]),
            StatusCode::BAD_REQUEST,
            "does not match",
            "failed",
        ),
        (
            "over-long reason",
            reset_form(&grace, "grace@example.com", &[("input[note]", &long)]),
            StatusCode::BAD_REQUEST,
            "longer than 500",
            "failed",
        ),
        (
            "unknown factor",
            reset_form(
                &grace,
                "grace@example.com",
                &[("input[factor_ids][0]", "f_nope")],
            ),
            StatusCode::BAD_REQUEST,
            "not a factor of this person",
            "failed",
        ),
        (
            // An unprotected person, so the reset reaches the rule: grace's factor is not theirs.
            "another's factor",
            reset_form(
                &lin,
                "lin@example.com",
                &[("input[factor_ids][0]", &factors[0])],
            ),
            StatusCode::BAD_REQUEST,
            "not a factor of this person",
            "failed",
        ),
        (
            "unknown user",
            reset_form("u_missing", "x@example.com", &[]),
            StatusCode::NOT_FOUND,
            "The user",
            "failed",
        ),
    ];
    for (what, body, status, message, outcome) in cases {
        let before = (
            factor_count(&app, &grace).await,
            trust_states(&app, &grace).await,
        );
        let (got, answer) = call_json(&app, &support, "mfa/reset", &body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(answer.to_string().contains(message), "{what}: {answer}");
        assert_eq!(
            (
                factor_count(&app, &grace).await,
                trust_states(&app, &grace).await
            ),
            before,
            "{what} changed nothing"
        );
        let e = app.audit_events().await.pop().unwrap();
        assert_eq!(
            (e.action.as_str(), e.outcome.as_str()),
            ("mfa.reset", outcome),
            "{what}"
        );
        assert!(e.details.contains("refused"), "{what}: {}", e.details);
        if !body.contains("input%5Bticket%5D=+") {
            assert!(
                e.details.contains("INC-4242"),
                "{what}: the ticket is in the audit record"
            );
        }
    }
    for id in [&admin_acct, &own, &boss, &lin] {
        assert_eq!(
            factor_count(&app, id).await,
            3,
            "protected accounts, and the person whose reset named another's factor, keep theirs"
        );
    }
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM enrollment_links")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(links, 0, "no link was issued");

    // An administrator may reset another administrator's account, never their own.
    let (status, answer) = call_json(
        &app,
        &app.client,
        "mfa/reset",
        &reset_form(&admin_acct, ADMIN, &[]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = call_json(
        &app,
        &app.client,
        "mfa/reset",
        &reset_form(&boss, "boss@example.com", &[]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Auditors cannot reset at all.
    let auditor = browser();
    app.sign_in_with(&auditor, AUDITOR).await;
    let (status, _) = call_json(
        &app,
        &auditor,
        "mfa/reset",
        &reset_form(&grace, "grace@example.com", &[]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn resets_per_agent_per_hour_are_limited() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_MFA_RESETS_PER_HOUR", "2".into());
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let u = app
            .create_user(&format!("p{n}@example.com"), "Some Person", &[])
            .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    for (n, id) in ids.iter().enumerate().take(2) {
        let (status, a) = call_json(
            &app,
            &support,
            "mfa/reset",
            &reset_form(id, &format!("p{n}@example.com"), &[]),
        )
        .await;
        assert_eq!(status, 200, "{a}");
    }
    let (status, answer) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(&ids[2], "p2@example.com", &[]),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(answer.to_string().contains("the limit is 2"), "{answer}");
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("mfa.reset", "denied")
    );
    assert!(e.details.contains("INC-4242"));
    // The limit is per agent: the admin can still reset.
    let (status, _) = call_json(
        &app,
        &app.client,
        "mfa/reset",
        &reset_form(&ids[2], "p2@example.com", &[]),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_ENROLLMENT_LINK_SECS", "1".into());
    })
    .await;
    let u = app
        .create_user("late@example.com", "Late Person", &[])
        .await;
    let (status, outcome) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(u["id"].as_str().unwrap(), "late@example.com", &[]),
    )
    .await;
    assert_eq!(status, 200, "{outcome}");
    // The link's lifetime passes (time is moved, not waited for).
    sqlx::query("UPDATE enrollment_links SET expires_at = expires_at - 2000")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let link = outcome["enrollment_link"].as_str().unwrap();
    let res = browser().post(link).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("expired"));
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("mfa.enrollment_link.used", "failed")
    );
    assert!(e.details.contains("expired"));
}

#[tokio::test]
async fn factors_are_listed_added_and_removed_by_admins_only() {
    let (app, support) = app().await;
    let (id, factors, _) = person(&app, "grace@example.com").await;
    let (status, list) = call_json(&app, &support, "mfa/factors", &format!("user_id={id}")).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["webauthn", "totp", "sms"]);
    assert_eq!(list[0]["aaguid"], "cb69481e-8ff7-4039-93ec-0a2729a154a8");

    let body = form(&[("user_id", &id), ("factor_id", &factors[0])]);
    let (status, _) = call_json(&app, &support, "mfa/factors/remove", &body).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "support cannot remove a single factor"
    );
    let (status, _) = call_json(
        &app,
        &app.client,
        "mfa/factors/remove",
        &form(&[("user_id", &id), ("factor_id", "f_unknown")]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(factor_count(&app, &id).await, 3);
    app.call_ok("mfa/factors/remove", &body).await;
    assert_eq!(factor_count(&app, &id).await, 2);
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "mfa.factor.remove");
    assert!(e.details.contains("YubiKey"));

    // Bad factors are refused by field.
    let (status, answer) = call_json(
        &app,
        &app.client,
        "mfa/factors/add",
        &form(&[
            ("user_id", &id),
            ("input[kind]", "carrier-pigeon"),
            ("input[label]", ""),
        ]),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer.to_string().contains("Unknown factor kind"),
        "{answer}"
    );
    let (status, answer) = call_json(
        &app,
        &app.client,
        "mfa/factors/add",
        &form(&[
            ("user_id", &id),
            ("input[kind]", "recovery_codes"),
            ("input[label]", "Codes"),
            ("input[codes_left]", "7"),
        ]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["codes_left"], 7);
    // The GUID view lists the person's factors.
    let user = app.call_ok("users/get", &format!("id={id}")).await;
    let (_, of_guid) = call_json(
        &app,
        &support,
        "mfa/factors_of_guid",
        &format!("id={}", user["guid"].as_str().unwrap()),
    )
    .await;
    assert_eq!(of_guid.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn device_actions_follow_the_role() {
    let (app, support) = app().await;
    let auditor = browser();
    app.sign_in_with(&auditor, AUDITOR).await;
    let (id, _, devices) = person(&app, "grace@example.com").await;
    let (trusted, other) = (&devices[0], &devices[1]);
    let arg = |d: &str| format!("id={d}");

    for (client, who) in [(&support, "support"), (&auditor, "auditor")] {
        for f in ["devices/block", "devices/remove", "devices/trust"] {
            let (status, _) = call_json(&app, client, f, &arg(other)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {f}");
        }
    }
    let (status, _) = call_json(&app, &auditor, "devices/untrust", &arg(trusted)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "auditors only read");
    let (status, _) = call_json(&app, &auditor, "devices/list", "query[owner]=").await;
    assert_eq!(status, 200, "auditors read devices");

    let (status, d) = call_json(&app, &support, "devices/untrust", &arg(trusted)).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["trust_state"], "untrusted");
    let (status, answer) = call_json(&app, &support, "devices/untrust", &arg(trusted)).await;
    assert_eq!(status, 400, "already untrusted: {answer}");

    let (status, d) = call_json(&app, &app.client, "devices/block", &arg(other)).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["trust_state"], "blocked");
    let (status, answer) = call_json(&app, &support, "devices/untrust", &arg(other)).await;
    assert_eq!(status, 400, "untrust does not unblock: {answer}");
    let (_, blocked) = call_json(&app, &support, "devices/list", "query[state]=blocked").await;
    assert_eq!(
        blocked["devices"][0]["id"],
        other.as_str(),
        "blocked devices stay listed"
    );
    let (_, mine) = call_json(&app, &support, "devices/of_user", &format!("id={id}")).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    // An audit event's device target links to the devices page filtered on that one device.
    let (_, one) = call_json(
        &app,
        &auditor,
        "devices/list",
        &format!("query[device]={trusted}"),
    )
    .await;
    let listed: Vec<&str> = one["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [trusted.as_str()]);

    app.call_ok("devices/remove", &arg(other)).await;
    let (status, _) = call_json(&app, &app.client, "devices/remove", &arg(other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("device."))
        .map(|e| format!("{} {}", e.action, e.actor_email.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions[actions.len() - 3..],
        [
            format!("device.untrust {SUPPORT}"),
            format!("device.block {ADMIN}"),
            format!("device.remove {ADMIN}"),
        ]
    );
    let (status, answer) = call_json(
        &app,
        &app.client,
        "devices/register",
        &form(&[
            ("user_id", &id),
            ("input[name]", "x"),
            ("input[kind]", "toaster"),
            ("input[platform]", "ios"),
            ("input[fingerprint]", "f"),
            ("input[last_ip]", "nope"),
        ]),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer.to_string().contains("Unknown device kind")
            && answer.to_string().contains("not an IP"),
        "{answer}"
    );
}

#[tokio::test]
async fn seeded_devices_page_by_keyset_and_stale_ones_are_bulk_blocked() {
    let (app, support) = app().await;
    let report = gatehouse::server::seed::run(&app.state.db, 150, 120, 5, |_| {})
        .await
        .unwrap();
    assert!(
        report.factors >= 100 && report.devices >= 120,
        "{} factors, {} devices",
        report.factors,
        report.devices
    );

    // Keyset pages: newest sighting first, no overlap.
    let (_, first) = call_json(&app, &support, "devices/list", "query[owner]=").await;
    let next = first["next"]
        .as_str()
        .expect("more than one page")
        .to_string();
    let (_, second) = call_json(
        &app,
        &support,
        "devices/list",
        &form(&[("query[after]", &next)]),
    )
    .await;
    let seen = |p: &Value| -> Vec<(i64, String)> {
        p["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["last_seen_at"].as_i64().unwrap(),
                    d["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (a, b) = (seen(&first), seen(&second));
    assert_eq!(a.len(), 50);
    assert!(a.windows(2).all(|w| w[0] > w[1]) && b.windows(2).all(|w| w[0] > w[1]));
    assert!(
        a.last().unwrap() > b.first().unwrap(),
        "pages follow each other"
    );

    let stale: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM devices WHERE trust_state <> 'blocked' AND last_seen_at < $1",
    )
    .bind(gatehouse::server::db::now_ms() - 60 * 86_400_000)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert!(stale > 0, "the seed has stale devices");
    let (_, listed) = call_json(
        &app,
        &support,
        "devices/list",
        "query[stale_days]=60&query[state]=trusted",
    )
    .await;
    assert!(listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["trust_state"] == "trusted"));

    let (status, _) = call_json(&app, &support, "devices/bulk_block", "days=60").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = call_json(&app, &app.client, "devices/bulk_block", "days=0").await;
    assert_eq!(status, 400, "{answer}");
    let events_before = app.audit_events().await.len();
    let job = app.call_ok("devices/bulk_block", "days=60").await;
    let job = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["report"]["changed"], stale);
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM devices WHERE trust_state <> 'blocked' AND last_seen_at < $1",
    )
    .bind(gatehouse::server::db::now_ms() - 61 * 86_400_000)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    let events = app.audit_events().await;
    let blocks = events[events_before..]
        .iter()
        .filter(|e| e.action == "device.block")
        .count() as i64;
    assert_eq!(blocks, stale, "each block is audited");
    assert!(events[events_before..]
        .iter()
        .any(|e| e.action == "devices.bulk_block"));
}

#[tokio::test]
async fn support_sees_only_its_own_actions_in_a_users_trail() {
    let (app, support) = app().await;
    let (id, _, _) = person(&app, "grace@example.com").await;
    let (status, _) = call_json(
        &app,
        &support,
        "mfa/reset",
        &reset_form(&id, "grace@example.com", &[]),
    )
    .await;
    assert_eq!(status, 200);
    let actors = |trail: &Value| -> Vec<String> {
        trail
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["actor_email"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (_, theirs) = call_json(&app, &support, "users/trail", &format!("id={id}")).await;
    assert_eq!(
        actors(&theirs),
        [SUPPORT],
        "support sees its reset, not the admin's changes"
    );
    let (_, full) = call_json(&app, &app.client, "users/trail", &format!("id={id}")).await;
    let all = actors(&full);
    assert!(
        all.contains(&SUPPORT.to_string()) && all.contains(&ADMIN.to_string()),
        "{all:?}"
    );
    let auditor = browser();
    app.sign_in_with(&auditor, AUDITOR).await;
    let (_, audited) = call_json(&app, &auditor, "users/trail", &format!("id={id}")).await;
    assert_eq!(actors(&audited), all, "auditors keep the full trail");
}

#[tokio::test]
async fn the_support_search_shows_each_persons_state_at_a_glance() {
    let (app, support) = app().await;
    let (id, _, _) = person(&app, "grace@example.com").await;
    person(&app, ADMIN).await;
    let (status, found) = call_json(&app, &support, "support/search", "q=grace").await;
    assert_eq!(status, 200);
    let g = found
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["user_id"] == id.as_str())
        .expect("grace is found");
    assert_eq!(
        (
            g["user_id"].as_str(),
            g["factors"].as_i64(),
            g["devices"].as_i64()
        ),
        (Some(id.as_str()), Some(3), Some(2))
    );
    assert_eq!(g["protected"], false);
    assert_eq!(g["failed_sign_ins_7d"], 0);
    let (_, admin) = call_json(&app, &support, "support/search", "q=admin%40").await;
    assert_eq!(
        admin[0]["protected"], true,
        "the console admin's account is marked"
    );
    let (_, none) = call_json(&app, &support, "support/search", "q=").await;
    assert_eq!(none, serde_json::json!([]));
}
