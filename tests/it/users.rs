//! Users and GUIDs through the server functions, as the browser calls them.
use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn create(
    app: &TestApp,
    email: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut pairs = vec![
        ("input[email]", email),
        ("input[display_name]", name),
        ("input[source]", "hr-emea"),
    ];
    pairs.extend_from_slice(extra);
    app.call(&app.client, "users/create", &form(&pairs)).await
}

async fn json(res: reqwest::Response) -> Value {
    res.json().await.expect("json")
}

#[tokio::test]
async fn admin_creates_a_user_with_a_new_guid_and_it_is_audited() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let res = create(
        &app,
        " Ada.Lovelace@Example.com ",
        "Ada Lovelace",
        &[("input[phone]", "+44 20 7946 0018")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let user = json(res).await;
    assert_eq!(user["email"], "ada.lovelace@example.com");
    assert_eq!(user["phone"], "+442079460018");
    assert_eq!(user["status"], "active");
    assert!(user["guid"].as_str().unwrap().starts_with("g_"));
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.target_type.as_deref()),
        ("user.create", Some("user"))
    );
    assert!(e.details.contains("ada.lovelace@example.com"));
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let events_before = app.audit_events().await.len();
    let long = "x".repeat(300);
    let res = app
        .call(
            &app.client,
            "users/create",
            &form(&[
                ("input[email]", "not-an-email"),
                ("input[display_name]", &long),
                ("input[phone]", "0791234567"),
                ("input[source]", "hr emea!"),
                ("input[attributes]", "{broken"),
            ]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    for needle in [
        "Email must contain @",
        "Display name is longer than 200",
        "Phone must be in international form",
        "Source must be",
        "Attributes are not valid JSON",
    ] {
        assert!(body.contains(needle), "{needle:?} in {body}");
    }
    assert_eq!(
        app.audit_events().await.len(),
        events_before,
        "nothing written"
    );
    assert_eq!(
        gatehouse::server::db::users::count(&app.state.db.pool)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn duplicate_emails_are_refused() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    assert_eq!(
        create(&app, "grace@example.com", "Grace Hopper", &[])
            .await
            .status(),
        200
    );
    let res = create(&app, "GRACE@example.com", "Grace H", &[]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("already used by another user"));
}

#[tokio::test]
async fn a_second_save_from_a_stale_form_is_refused() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let user = json(create(&app, "linus@example.com", "Linus", &[]).await).await;
    let id = user["id"].as_str().unwrap();
    let edit = |name: &'static str| {
        form(&[
            ("id", id),
            ("version", "1"),
            ("input[email]", "linus@example.com"),
            ("input[display_name]", name),
            ("input[source]", "hr-emea"),
        ])
    };
    let first = app
        .call(&app.client, "users/update", &edit("Linus T"))
        .await;
    assert_eq!(first.status(), 200);
    let second = app
        .call(&app.client, "users/update", &edit("Linus Torvalds"))
        .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert!(second
        .text()
        .await
        .unwrap()
        .contains("changed by someone else"));
    let now = json(
        app.call(&app.client, "users/get", &form(&[("id", id)]))
            .await,
    )
    .await;
    assert_eq!(now["display_name"], "Linus T", "the first save stands");
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "user.update");
    assert!(
        e.details.contains("\"before\":\"Linus\"") && e.details.contains("\"after\":\"Linus T\""),
        "{}",
        e.details
    );
}

#[tokio::test]
async fn lifecycle_moves_are_checked_and_audited() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let user = json(create(&app, "ken@example.com", "Ken", &[]).await).await;
    let id = user["id"].as_str().unwrap();
    let status = |to: &'static str, version: &'static str| {
        form(&[("id", id), ("status", to), ("version", version)])
    };
    assert_eq!(
        app.call(&app.client, "users/status", &status("suspended", "1"))
            .await
            .status(),
        200
    );
    let res = app
        .call(&app.client, "users/status", &status("locked", "2"))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("a suspended user cannot be locked"));
    let res = app
        .call(&app.client, "users/status", &status("frozen", "2"))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("unknown status"));
    assert_eq!(
        app.call(&app.client, "users/status", &status("deprovisioned", "2"))
            .await
            .status(),
        200
    );
    let u = json(
        app.call(&app.client, "users/get", &form(&[("id", id)]))
            .await,
    )
    .await;
    assert_eq!(u["status"], "deprovisioned");
    assert!(u["deprovisioned_at"].as_i64().is_some());
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "user.status");
    assert!(
        e.details.contains("\"before\":\"suspended\"")
            && e.details.contains("\"after\":\"deprovisioned\"")
    );
}

#[tokio::test]
async fn support_can_unlock_but_not_change_users() {
    let app = TestApp::spawn().await;
    let admin = browser();
    app.sign_in_with(&admin, ADMIN).await;
    let user = json(
        app.call(
            &admin,
            "users/create",
            &form(&[
                ("input[email]", "b@example.com"),
                ("input[display_name]", "Barbara"),
                ("input[source]", "hr-emea"),
            ]),
        )
        .await,
    )
    .await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(
        app.call(
            &admin,
            "users/status",
            &form(&[("id", id), ("status", "locked"), ("version", "1")])
        )
        .await
        .status(),
        200
    );
    let support = browser();
    app.sign_in_with(&support, SUPPORT).await;
    let res = app
        .call(
            &support,
            "users/status",
            &form(&[("id", id), ("status", "suspended"), ("version", "2")]),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            &support,
            "users/unlock",
            &form(&[("id", id), ("version", "2")]),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["status"], "active");
    let res = app
        .call(
            &support,
            "users/unlock",
            &form(&[("id", id), ("version", "3")]),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "only locked users can be unlocked"
    );
}

#[tokio::test]
async fn one_search_box_finds_by_email_name_phone_ids_and_external_id() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let ada = json(
        create(
            &app,
            "ada@example.com",
            "Ada Lovelace",
            &[
                ("input[phone]", "+41791234567"),
                ("input[external_id]", "EMP-0042"),
                ("input[family_name]", "Byron"),
            ],
        )
        .await,
    )
    .await;
    json(create(&app, "alan@example.com", "Alan Turing", &[]).await).await;
    let id = ada["id"].as_str().unwrap().to_string();
    let guid = ada["guid"].as_str().unwrap().to_string();
    for q in [
        "ada@",
        "ADA@EXAMPLE",
        "love",
        "byro",
        "ada byron",
        "Ada Love",
        "+4179123",
        &id,
        &guid[..12],
        "EMP-0042",
    ] {
        let page = json(
            app.call(&app.client, "users/list", &form(&[("query[q]", q)]))
                .await,
        )
        .await;
        let emails: Vec<&str> = page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, ["ada@example.com"], "search {q:?}");
    }
    let page = json(
        app.call(
            &app.client,
            "users/list",
            &form(&[("query[q]", "nobody-matches")]),
        )
        .await,
    )
    .await;
    assert!(page["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn keyset_pages_cover_everyone_once_in_order() {
    let app = TestApp::spawn().await;
    gatehouse::server::seed::run(&app.state.db, 130, 100, 7, |_| {})
        .await
        .unwrap();
    app.sign_in(ADMIN).await;
    for sort in ["name", "email", "created", "last_sign_in"] {
        let mut seen = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let page = json(
                app.call(
                    &app.client,
                    "users/list",
                    &form(&[("query[sort]", sort), ("query[after]", &after)]),
                )
                .await,
            )
            .await;
            seen.extend(
                page["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["id"].as_str().unwrap().to_string()),
            );
            match page["next"].as_str() {
                Some(n) => after = n.to_string(),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (130, 130), "sort {sort}");
        assert_eq!(pages, 3, "sort {sort}: 50 + 50 + 30");
    }
    let active = json(
        app.call(
            &app.client,
            "users/list",
            &form(&[("query[status]", "active")]),
        )
        .await,
    )
    .await;
    let listed = active["users"].as_array().unwrap();
    assert!(!listed.is_empty(), "the seed has active users: {active}");
    assert!(listed.iter().all(|u| u["status"] == "active"));
}

#[tokio::test]
async fn merging_guids_moves_accounts_and_the_absorbed_guid_resolves_to_the_survivor() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let a = json(create(&app, "m1@example.com", "Margaret Hamilton", &[]).await).await;
    let b = json(create(&app, "m2@example.com", "Margaret H.", &[]).await).await;
    let (ga, gb) = (a["guid"].as_str().unwrap(), b["guid"].as_str().unwrap());
    let res = app
        .call(
            &app.client,
            "guids/merge",
            &form(&[("survivor", ga), ("absorbed", gb)]),
        )
        .await;
    assert_eq!(res.status(), 200);
    let view = json(res).await;
    assert_eq!(view["accounts"].as_array().unwrap().len(), 2);
    let resolved = json(
        app.call(&app.client, "guids/get", &form(&[("id", gb)]))
            .await,
    )
    .await;
    assert_eq!(
        resolved["guid"], ga,
        "the absorbed GUID resolves to the survivor"
    );
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "guid.merge");
    assert!(
        e.details.contains(b["id"].as_str().unwrap()),
        "moved accounts are recorded: {}",
        e.details
    );
    // Merging again, or with itself, is refused and changes nothing.
    let again = app
        .call(
            &app.client,
            "guids/merge",
            &form(&[("survivor", ga), ("absorbed", gb)]),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("was already merged into"));
    let itself = app
        .call(
            &app.client,
            "guids/merge",
            &form(&[("survivor", ga), ("absorbed", ga)]),
        )
        .await;
    assert_eq!(itself.status(), StatusCode::BAD_REQUEST);
    // Unlink one account into a new GUID.
    let res = app
        .call(
            &app.client,
            "users/relink",
            &form(&[("id", b["id"].as_str().unwrap())]),
        )
        .await;
    assert_eq!(res.status(), 200);
    let moved = json(res).await;
    assert_ne!(moved["guid"], ga);
}

#[tokio::test]
async fn admins_export_any_filtered_view_as_csv_and_the_export_is_audited() {
    let app = TestApp::spawn().await;
    gatehouse::server::seed::run(&app.state.db, 2_345, 2_000, 11, |_| {})
        .await
        .unwrap();
    app.sign_in(ADMIN).await;
    let res = app.get("/users/export.csv?sort=email").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = res.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "id,guid,email,display_name,status,source,external_id,created_at_ms,last_sign_in_at_ms"
    );
    assert_eq!(lines.len(), 1 + 2_345, "every user once, across many pages");
    let emails: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert!(
        emails.windows(2).all(|w| w[0] < w[1]),
        "sorted by email, no duplicates"
    );
    let locked = app
        .get("/users/export.csv?status=locked")
        .await
        .text()
        .await
        .unwrap();
    let locked: Vec<&str> = locked.lines().skip(1).collect();
    assert!(!locked.is_empty(), "the seed has locked users");
    assert!(locked.len() < 2_345, "the filter narrows the export");
    assert!(locked.iter().all(|l| l.contains(",locked,")));
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "users.export");
    assert!(e.details.contains("locked"), "{}", e.details);

    let support = browser();
    app.sign_in_with(&support, SUPPORT).await;
    let res = support
        .get(format!("{}/users/export.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
