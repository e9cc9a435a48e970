//! The support desk's guard rails follow the person (GUID) and the staff, the unlock is checked
//! inside its write, a purge names what it removed, "Other" needs details, and the read-then-write
//! steps hold under concurrency (run on both engines; on SQLite writes queue).
use crate::common::*;
use crate::support::{app_with, call_json, factor_count, person, reset_form};
use gatehouse::model::Role;
use gatehouse::server::service::audit::{Actor, Entry, Outcome, RequestMeta};
use gatehouse::server::service::support::record_sign_in;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A sign-in recorded the way the callback records it.
async fn signed_in(app: &TestApp, email: &str, verified: bool, role: Role) {
    let actor = Actor {
        subject: Some(format!("sub-{email}")),
        email: Some(email.to_string()),
        role: Some(role),
    };
    let entry = Entry::new("auth.sign_in", Outcome::Success);
    record_sign_in(
        &app.state.db,
        &actor,
        &RequestMeta::default(),
        entry,
        email,
        verified,
        role,
    )
    .await
    .unwrap();
}

/// Creates an account and links it into the person (GUID) of `of`; returns its id.
async fn second_account(app: &TestApp, of: &str, email: &str) -> String {
    let main = app.call_ok("users/get", &format!("id={of}")).await;
    let extra = app.create_user(email, "Second Account", &[]).await;
    let id = extra["id"].as_str().unwrap().to_string();
    let moved = app
        .call_ok(
            "users/relink",
            &form(&[("id", &id), ("guid", main["guid"].as_str().unwrap())]),
        )
        .await;
    assert_eq!(moved["guid"], main["guid"]);
    id
}

/// An account with one authenticator app; returns its id.
async fn account(app: &TestApp, email: &str) -> String {
    let u = app.create_user(email, "Some Person", &[]).await;
    let id = u["id"].as_str().unwrap().to_string();
    app.call_ok(
        "mfa/factors/add",
        &form(&[
            ("user_id", &id),
            ("input[kind]", "totp"),
            ("input[label]", "Authenticator"),
        ]),
    )
    .await;
    id
}

async fn email_of(app: &TestApp, id: &str) -> String {
    let u = app.call_ok("users/get", &format!("id={id}")).await;
    u["email"].as_str().unwrap().to_string()
}

async fn reset(app: &TestApp, client: &Client, id: &str) -> (StatusCode, Value) {
    let email = email_of(app, id).await;
    call_json(app, client, "mfa/reset", &reset_form(id, &email, &[])).await
}

#[tokio::test]
async fn protection_follows_the_person_to_every_account_of_staff_and_protected_people() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_PROTECTED_ACCOUNTS", "boss@example.com".into());
    })
    .await;
    let auditor = browser();
    app.sign_in_with(&auditor, AUDITOR).await;
    // Another support agent, known from a verified sign-in.
    signed_in(&app, "sam2@example.com", true, Role::Support).await;

    let admin_main = account(&app, ADMIN).await;
    let admin_other = second_account(&app, &admin_main, "ada.private@example.com").await;
    let own_main = account(&app, SUPPORT).await;
    let own_other = second_account(&app, &own_main, "sam.home@example.com").await;
    let auditor_main = account(&app, AUDITOR).await;
    let auditor_other = second_account(&app, &auditor_main, "alex.home@example.com").await;
    let colleague_main = account(&app, "sam2@example.com").await;
    let colleague_other = second_account(&app, &colleague_main, "sam2.alt@example.com").await;
    let boss_main = account(&app, "boss@example.com").await;
    let boss_other = second_account(&app, &boss_main, "boss.alt@example.com").await;
    for id in [
        &admin_other,
        &own_other,
        &auditor_other,
        &colleague_other,
        &boss_other,
    ] {
        app.call_ok(
            "mfa/factors/add",
            &form(&[
                ("user_id", id),
                ("input[kind]", "totp"),
                ("input[label]", "Second app"),
            ]),
        )
        .await;
    }

    let cases = [
        (&admin_main, "an administrator account"),
        (&admin_other, "an administrator account"),
        (&own_main, "your own MFA"),
        (&own_other, "your own MFA"),
        (&auditor_main, "another support agent or auditor"),
        (&auditor_other, "another support agent or auditor"),
        (&colleague_main, "another support agent or auditor"),
        (&colleague_other, "another support agent or auditor"),
        (&boss_main, "protected administrator account"),
        (&boss_other, "protected administrator account"),
    ];
    for (id, why) in cases {
        let before = factor_count(&app, id).await;
        assert!(before > 0);
        let (status, answer) = reset(&app, &support, id).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{id}: {answer}");
        assert!(answer.to_string().contains(why), "{id}: {answer}");
        assert_eq!(factor_count(&app, id).await, before, "{id} changed nothing");
        let e = app.audit_events().await.pop().unwrap();
        assert_eq!(
            (
                e.action.as_str(),
                e.outcome.as_str(),
                e.target_id.as_deref()
            ),
            ("mfa.reset", "denied", Some(id.as_str()))
        );
        let glance = app.call_ok("support/glance", &format!("id={id}")).await;
        assert_eq!(glance["protected"], true, "{id} is shown as protected");
    }
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM enrollment_links")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(links, 0, "no link was issued");

    // Administrators may reset staff and protected people, never any account of their own.
    let (status, answer) = reset(&app, &app.client, &admin_other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer.to_string().contains("your own MFA"), "{answer}");
    let (status, answer) = reset(&app, &app.client, &auditor_other).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(factor_count(&app, &auditor_other).await, 0);
}

#[tokio::test]
async fn an_unverified_email_never_identifies_staff() {
    let (app, support) = app_with(|_| {}).await;
    signed_in(&app, "Eve@Example.com", false, Role::Admin).await;
    signed_in(&app, "vera@example.com", true, Role::Auditor).await;
    let staff: Vec<(String, String)> =
        sqlx::query_as("SELECT email, role FROM console_staff ORDER BY email, role")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert!(!staff.is_empty());
    assert!(
        staff.contains(&("vera@example.com".into(), "auditor".into()))
            && staff.contains(&(ADMIN.into(), "admin".into()))
            && staff.contains(&(SUPPORT.into(), "support".into())),
        "every verified sign-in is staff, with its role: {staff:?}"
    );
    assert!(
        !staff.iter().any(|(e, _)| e == "eve@example.com"),
        "an unverified email is not recorded: {staff:?}"
    );
    let eve = account(&app, "eve@example.com").await;
    let (status, answer) = reset(&app, &support, &eve).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let vera = account(&app, "vera@example.com").await;
    let (status, answer) = reset(&app, &support, &vera).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
}

async fn lock(app: &TestApp, id: &str) -> i64 {
    let u = app.call_ok("users/get", &format!("id={id}")).await;
    let locked = app
        .call_ok(
            "users/status",
            &form(&[
                ("id", id),
                ("status", "locked"),
                ("version", &u["version"].to_string()),
            ]),
        )
        .await;
    locked["version"].as_i64().unwrap()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let u = app.call_ok("users/get", &format!("id={id}")).await;
    u["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn support_unlocks_with_the_reset_guard_rails_in_one_transaction() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_PROTECTED_ACCOUNTS", "boss@example.com".into());
    })
    .await;
    let admin_main = account(&app, ADMIN).await;
    let admin_other = second_account(&app, &admin_main, "ada.private@example.com").await;
    let own_main = account(&app, SUPPORT).await;
    let own_other = second_account(&app, &own_main, "sam.home@example.com").await;
    let boss = account(&app, "boss@example.com").await;
    let grace = account(&app, "grace@example.com").await;

    let cases = [
        (&admin_other, "unlock an administrator account"),
        (&own_other, "unlock your own account"),
        (&boss, "unlock a protected administrator account"),
    ];
    for (id, why) in cases {
        let version = lock(&app, id).await;
        let (status, answer) = call_json(
            &app,
            &support,
            "users/unlock",
            &form(&[("id", id), ("version", &version.to_string())]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{id}: {answer}");
        assert!(answer.to_string().contains(why), "{id}: {answer}");
        assert_eq!(status_of(&app, id).await, "locked", "{id} stays locked");
        let e = app.audit_events().await.pop().unwrap();
        assert_eq!(
            (
                e.action.as_str(),
                e.outcome.as_str(),
                e.target_id.as_deref()
            ),
            ("user.status", "denied", Some(id.as_str()))
        );
        assert!(e.details.contains("unlock"), "{}", e.details);
    }

    // An ordinary person: a stale version and an active account are refused; two unlocks at
    // the same moment unlock once.
    let version = lock(&app, &grace).await;
    let stale = form(&[("id", &grace), ("version", &(version - 1).to_string())]);
    let (status, answer) = call_json(&app, &support, "users/unlock", &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(status_of(&app, &grace).await, "locked");
    let body = form(&[("id", &grace), ("version", &version.to_string())]);
    let (a, b) = tokio::join!(
        call_json(&app, &support, "users/unlock", &body),
        call_json(&app, &support, "users/unlock", &body),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{a:?} {b:?}");
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::CONFLICT].contains(&statuses[1]),
        "the second unlock is refused, not failed: {a:?} {b:?}"
    );
    assert_eq!(status_of(&app, &grace).await, "active");
    let successes = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.action == "user.status"
                && e.outcome == "success"
                && e.target_id.as_deref() == Some(grace.as_str())
                && e.details.contains("\"after\":\"active\"")
        })
        .count();
    assert_eq!(successes, 1, "one unlock, audited once");
    let (status, answer) = call_json(
        &app,
        &support,
        "users/unlock",
        &form(&[("id", &grace), ("version", &(version + 1).to_string())]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer.to_string().contains("Only a locked user"),
        "{answer}"
    );

    // Administrators may unlock staff, never their own accounts.
    let current = app.call_ok("users/get", &format!("id={admin_other}")).await;
    let (status, answer) = call_json(
        &app,
        &app.client,
        "users/unlock",
        &form(&[
            ("id", &admin_other),
            ("version", &current["version"].to_string()),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer.to_string().contains("your own account"), "{answer}");
    let current = app.call_ok("users/get", &format!("id={own_other}")).await;
    let (status, answer) = call_json(
        &app,
        &app.client,
        "users/unlock",
        &form(&[
            ("id", &own_other),
            ("version", &current["version"].to_string()),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn other_needs_details_in_any_spelling() {
    let (app, support) = app_with(|env| {
        env.insert(
            "GATEHOUSE_MFA_RESET_REASONS",
            "Lost or stolen phone,Other,other (describe)".into(),
        );
    })
    .await;
    let (id, _, _) = person(&app, "grace@example.com").await;
    let cases = [
        ("Other", ""),
        ("Other", "   "),
        ("Other", "..."),
        ("Other", "\u{200b}\u{200b}"),
        ("other (describe)", ""),
    ];
    for (reason, note) in cases {
        let body = reset_form(
            &id,
            "grace@example.com",
            &[("input[reason]", reason), ("input[note]", note)],
        );
        let (status, answer) = call_json(&app, &support, "mfa/reset", &body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{reason:?} {note:?}: {answer}"
        );
        assert!(
            answer.to_string().contains("Describe the reason"),
            "{reason:?} {note:?}: {answer}"
        );
        assert_eq!(factor_count(&app, &id).await, 3, "nothing changed");
        let e = app.audit_events().await.pop().unwrap();
        assert_eq!(
            (e.action.as_str(), e.outcome.as_str()),
            ("mfa.reset", "failed")
        );
    }
    let body = reset_form(
        &id,
        "grace@example.com",
        &[
            ("input[reason]", "Other"),
            ("input[note]", "Phone replaced by the carrier"),
        ],
    );
    let (status, answer) = call_json(&app, &support, "mfa/reset", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn parallel_resets_by_one_agent_stop_at_the_hourly_limit() {
    let (app, support) = app_with(|env| {
        env.insert("GATEHOUSE_MFA_RESETS_PER_HOUR", "2".into());
    })
    .await;
    let mut bodies = Vec::new();
    for n in 0..6 {
        let email = format!("p{n}@example.com");
        let id = account(&app, &email).await;
        bodies.push(reset_form(&id, &email, &[]));
    }
    let mut calls = tokio::task::JoinSet::new();
    for body in bodies {
        let (url, client) = (app.url.clone(), support.clone());
        calls.spawn(async move {
            let res = client
                .post(format!("{url}/api/mfa/reset"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = res.status();
            (status, res.text().await.unwrap_or_default())
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = calls.join_next().await {
        answers.push(done.unwrap());
    }
    assert_eq!(answers.len(), 6);
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!((ok, limited.len()), (2, 4), "{answers:?}");
    assert!(limited.iter().all(|(_, b)| b.contains("the limit is 2")));
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mfa_resets")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(done, 2);
    let events = app.audit_events().await;
    let outcomes = |o: &str| {
        events
            .iter()
            .filter(|e| e.action == "mfa.reset" && e.outcome == o)
            .count()
    };
    assert_eq!((outcomes("success"), outcomes("denied")), (2, 4));
}

#[tokio::test]
async fn one_enrollment_link_used_at_once_from_many_places_works_once() {
    let (app, support) = app_with(|_| {}).await;
    let id = account(&app, "grace@example.com").await;
    let (status, outcome) = reset(&app, &support, &id).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let link = outcome["enrollment_link"].as_str().unwrap().to_string();
    let mut uses = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let link = link.clone();
        uses.spawn(async move { browser().post(link).send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(s) = uses.join_next().await {
        statuses.push(s.unwrap());
    }
    assert_eq!(statuses.len(), 6);
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let gone = statuses.iter().filter(|s| **s == StatusCode::GONE).count();
    assert_eq!((ok, gone), (1, 5), "{statuses:?}");
    let used: Vec<String> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "mfa.enrollment_link.used")
        .map(|e| e.outcome)
        .collect();
    assert_eq!(used.iter().filter(|o| *o == "success").count(), 1);
    assert_eq!(used.len(), 6, "every use is audited");
}

#[tokio::test]
async fn a_purge_names_every_key_factor_device_and_link_it_removes() {
    let (app, support) = app_with(|_| {}).await;
    let owner = "olivia@example.com";
    let (id, _, mut devices) = person(&app, owner).await;
    // A reset issues a link (and removes the factors); new factors arrive after it.
    let (status, outcome) = reset(&app, &support, &id).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    for label in ["New app", "Backup app"] {
        app.call_ok(
            "mfa/factors/add",
            &form(&[
                ("user_id", &id),
                ("input[kind]", "totp"),
                ("input[label]", label),
            ]),
        )
        .await;
    }
    let factors = app.call_ok("mfa/factors", &format!("user_id={id}")).await;
    let created = app
        .call_ok(
            "apps/create",
            &form(&[
                ("input[name]", "Olivia's tool"),
                ("input[owner]", owner),
                ("input[kind]", "web"),
                ("input[redirect_uris]", "https://app.example.com/callback"),
                ("input[grant_types][0]", "authorization_code"),
                ("input[scopes]", "orders:read"),
                ("input[pkce_required]", "on"),
            ]),
        )
        .await;
    let app_id = created["app"]["id"].as_str().unwrap().to_string();
    app.call_ok("apps/assign", &format!("id={app_id}&person={owner}"))
        .await;
    let key = app
        .call_ok(
            "keys/create",
            &form(&[
                ("input[application_id]", &app_id),
                ("input[name]", "olivia's script"),
                ("input[owner]", owner),
                ("input[scopes][0]", "orders:read"),
            ]),
        )
        .await;
    let key_id = key["summary"]["id"].as_str().unwrap().to_string();

    let u = app.call_ok("users/get", &format!("id={id}")).await;
    app.call_ok(
        "users/status",
        &form(&[
            ("id", &id),
            ("status", "deprovisioned"),
            ("version", &u["version"].to_string()),
        ]),
    )
    .await;
    // The restore window ended long ago (time is moved, not waited for).
    sqlx::query("UPDATE users SET deprovisioned_at = 1 WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let purged = gatehouse::server::service::people::purge_expired(
        &app.state.db,
        gatehouse::server::db::now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(purged, 1);

    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.target_id.as_deref()),
        ("user.purge", Some(id.as_str()))
    );
    let d: Value = serde_json::from_str(&e.details).unwrap();
    let ids = |list: &Value, field: &str| -> Vec<String> {
        let mut v: Vec<String> = list
            .as_array()
            .unwrap_or_else(|| panic!("{list}"))
            .iter()
            .map(|o| o[field].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let mut want_factors: Vec<String> = factors
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    want_factors.sort();
    assert_eq!(want_factors.len(), 2);
    assert_eq!(ids(&d["removed"]["factors"], "id"), want_factors);
    devices.sort();
    assert_eq!(ids(&d["removed"]["devices"], "id"), devices);
    assert_eq!(ids(&d["removed"]["api_keys"], "id"), [key_id]);
    assert_eq!(
        ids(&d["removed"]["enrollment_links"], "reset_id"),
        [outcome["reset_id"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        ids(&d["removed"]["applications_unowned"], "id"),
        vec![app_id.clone()]
    );
    assert!(
        !e.details.contains(&crate::support::token_of(
            outcome["enrollment_link"].as_str().unwrap()
        )),
        "the link's token is never in the audit log"
    );
    // Nothing named is left behind.
    for (table, column) in [
        ("api_keys", "owner_user_id"),
        ("mfa_factors", "user_id"),
        ("devices", "owner_user_id"),
        ("enrollment_links", "user_id"),
        ("applications", "owner_user_id"),
    ] {
        let left: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"))
                .bind(&id)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    let still: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE id = $1")
        .bind(&app_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(still, 1, "the application stays, without an owner");
}
