//! People (GUIDs): the list, duplicate candidates, merging with chosen values, bulk actions,
//! and the restore window of deprovisioned users.
use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn a_merge_keeps_the_chosen_value_of_each_conflicting_field_and_audits_both_sides() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let a = app.create_user("ada@a.example", "Ada L.", &[]).await;
    let b = app
        .create_user(
            "ada@b.example",
            "Ada Lovelace",
            &[("input[phone]", "+41791110000")],
        )
        .await;
    let (ga, gb) = (a["guid"].as_str().unwrap(), b["guid"].as_str().unwrap());

    // An unknown choice is refused and nothing moves.
    let bad = app
        .call(
            &app.client,
            "guids/merge",
            &form(&[
                ("survivor", ga),
                ("absorbed", gb),
                ("choices[email]", "both"),
            ]),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let still = app.call_ok("guids/get", &format!("id={gb}")).await;
    assert_eq!(still["guid"], gb, "the absorbed GUID must be untouched");

    let merged = app
        .call_ok(
            "guids/merge",
            &form(&[
                ("survivor", ga),
                ("absorbed", gb),
                ("choices[display_name]", "absorbed"),
                ("choices[email]", "survivor"),
            ]),
        )
        .await;
    assert_eq!(merged["profile"]["display_name"], "Ada Lovelace");
    assert_eq!(merged["profile"]["email"], "ada@a.example");
    assert_eq!(
        merged["profile"]["phone"], "+41791110000",
        "a value only one side has is kept"
    );
    assert_eq!(merged["accounts"].as_array().unwrap().len(), 2);
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "guid.merge");
    let details: Value = serde_json::from_str(&e.details).unwrap();
    assert_eq!(details["profiles"]["survivor"]["display_name"], "Ada L.");
    assert_eq!(
        details["profiles"]["absorbed"]["display_name"],
        "Ada Lovelace"
    );
    assert_eq!(details["choices"]["display_name"], "absorbed");
    assert_eq!(details["moved_users"][0], b["id"]);
}

#[tokio::test]
async fn duplicates_are_suggested_with_the_reason() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let a = app
        .create_user(
            "grace@navy.example",
            "Grace Hopper",
            &[
                ("input[phone]", "+12025550101"),
                ("input[external_id]", "E-77"),
            ],
        )
        .await;
    let b = app
        .create_user(
            "g.hopper@yale.example",
            "Grace B. Hopper",
            &[("input[phone]", "+1 202 555 0101")],
        )
        .await;
    let c = app
        .create_user(
            "ghopper@github.example",
            "ghopper",
            &[("input[source]", "github"), ("input[external_id]", "E-77")],
        )
        .await;
    let _unrelated = app
        .create_user(
            "alan@x.example",
            "Alan Turing",
            &[("input[phone]", "+441234567890")],
        )
        .await;

    let of_a = app
        .call_ok(
            "guids/duplicates_of",
            &format!("id={}", a["guid"].as_str().unwrap()),
        )
        .await;
    let list = of_a.as_array().unwrap();
    assert_eq!(list.len(), 2, "{of_a}");
    let by_phone = list
        .iter()
        .find(|c| c["reason"] == "phone")
        .expect("phone candidate");
    assert_eq!(by_phone["other_guid"], b["guid"]);
    assert_eq!(by_phone["evidence"], "+12025550101");
    let by_ext = list
        .iter()
        .find(|c| c["reason"] == "external_id")
        .expect("external id candidate");
    assert_eq!(by_ext["other_guid"], c["guid"]);

    let pairs = app.call_ok("guids/duplicates", "reason=phone&after=").await;
    assert_eq!(pairs["candidates"].as_array().unwrap().len(), 1, "{pairs}");

    // Seeded people include duplicates sharing a verified mailbox (+tag) and a phone.
    // Enough of them that each kind of evidence spans several pages.
    gatehouse::server::seed::run(&app.state.db, 10_000, 5_000, 11, |_| {})
        .await
        .unwrap();
    let mailbox = app
        .call_ok("guids/duplicates", "reason=verified_email&after=")
        .await;
    assert!(
        !mailbox["candidates"].as_array().unwrap().is_empty(),
        "{mailbox}"
    );
    let first = &mailbox["candidates"][0];
    assert!(
        first["evidence"].as_str().unwrap().contains('@'),
        "{mailbox}"
    );
    assert_ne!(first["guid"], first["other_guid"]);
    // Keyset paging walks on without repeating.
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .call_ok(
                "guids/duplicates",
                &form(&[("reason", "phone"), ("after", &after)]),
            )
            .await;
        let candidates = page["candidates"].as_array().unwrap();
        assert!(!candidates.is_empty(), "no empty page: {page}");
        seen.extend(candidates.iter().map(|c| c.to_string()));
        pages += 1;
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    assert!(pages >= 2, "the seeded phone pairs span several pages");
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "no pair repeats across pages");
}

#[tokio::test]
async fn the_people_page_lists_newest_first_and_finds_people_by_their_accounts() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let first = app
        .create_user("first@x.example", "First Person", &[])
        .await;
    let second = app
        .create_user("second@x.example", "Second Person", &[])
        .await;
    let page = app.call_ok("guids/list", "query[q]=").await;
    let guids: Vec<&str> = page["guids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["guid"].as_str().unwrap())
        .collect();
    assert_eq!(
        guids,
        [
            second["guid"].as_str().unwrap(),
            first["guid"].as_str().unwrap()
        ]
    );
    assert_eq!(page["guids"][0]["accounts"], 1);
    let found = app.call_ok("guids/list", "query[q]=first@x").await;
    assert_eq!(found["guids"][0]["guid"], first["guid"]);
    let prefix = &first["guid"].as_str().unwrap()[..8];
    let by_prefix = app
        .call_ok("guids/list", &format!("query[q]={prefix}"))
        .await;
    assert!(by_prefix["guids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["guid"] == first["guid"]));
}

#[tokio::test]
async fn bulk_actions_change_the_selection_or_the_whole_filter_and_skip_with_reasons() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let u = app
            .create_user(&format!("bulk{i}@x.example"), &format!("Bulk {i}"), &[])
            .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    // Suspend two picked users.
    let job = app
        .call_ok(
            "users/bulk",
            &form(&[
                ("action", "suspend"),
                ("ids[0]", &ids[0]),
                ("ids[1]", &ids[1]),
            ]),
        )
        .await;
    let done = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["changed"], 2);
    assert_eq!(done["summary"], "Suspended 2 users; 0 skipped.");
    let suspended = app.call_ok("users/list", "query[status]=suspended").await;
    assert_eq!(suspended["users"].as_array().unwrap().len(), 2);

    // Deprovision everything matching "status=active" (the other three).
    let job = app
        .call_ok(
            "users/bulk",
            &form(&[("action", "deprovision"), ("filter[status]", "active")]),
        )
        .await;
    let done = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(done["report"]["changed"], 3, "{done}");

    // Suspending a deprovisioned user is refused for that user, with the reason; others proceed.
    let job = app
        .call_ok(
            "users/bulk",
            &form(&[
                ("action", "suspend"),
                ("ids[0]", &ids[4]),
                ("ids[1]", "u_gone"),
            ]),
        )
        .await;
    let done = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(done["report"]["changed"], 0);
    assert_eq!(done["report"]["skipped"], 2);
    let problems = done["report"]["problems"].to_string();
    assert!(problems.contains("can only be restored"), "{problems}");
    assert!(problems.contains("No such user"), "{problems}");

    // Every change is audited, with the bulk request itself.
    let events = app.audit_events().await;
    assert_eq!(
        events.iter().filter(|e| e.action == "users.bulk").count(),
        3
    );
    assert_eq!(
        events.iter().filter(|e| e.action == "user.status").count(),
        5
    );

    // Bad requests change nothing.
    let none = app
        .call(&app.client, "users/bulk", &form(&[("action", "suspend")]))
        .await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    let mut many = vec![("action".to_string(), "suspend".to_string())];
    for i in 0..501 {
        many.push((format!("ids[{i}]"), format!("u_{i}")));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(many)
        .finish();
    let too_many = app.call(&app.client, "users/bulk", &body).await;
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);
    assert!(too_many.text().await.unwrap().contains("At most 500"));
    let bad_status = app
        .call(
            &app.client,
            "users/bulk",
            &form(&[("action", "suspend"), ("filter[status]", "frozen")]),
        )
        .await;
    assert_eq!(bad_status.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.audit_events().await.len(),
        events.len(),
        "refusals wrote nothing"
    );
}

#[tokio::test]
async fn a_selection_exports_only_the_selected_users() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let a = app.create_user("sel-a@x.example", "Sel A", &[]).await;
    let _b = app.create_user("sel-b@x.example", "Sel B", &[]).await;
    let res = app
        .get(&format!(
            "/users/export.csv?ids={}",
            a["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.contains("sel-a@x.example") && !body.contains("sel-b@x.example"));
}

#[tokio::test]
async fn deprovisioned_users_can_be_restored_within_the_window_then_are_purged() {
    let app = TestApp::spawn_with(|env| {
        env.insert("GATEHOUSE_RESTORE_WINDOW_SECS", "1".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    let u = app.create_user("gone@x.example", "Soon Gone", &[]).await;
    let id = u["id"].as_str().unwrap();
    let d = app
        .call_ok(
            "users/status",
            &form(&[("id", id), ("status", "deprovisioned"), ("version", "1")]),
        )
        .await;
    assert!(d["restorable_until"].as_i64().unwrap() > d["deprovisioned_at"].as_i64().unwrap());
    // The restore window passes (time is moved, not waited for).
    sqlx::query("UPDATE users SET deprovisioned_at = deprovisioned_at - 2000 WHERE id = $1")
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let late = app
        .call(
            &app.client,
            "users/status",
            &form(&[("id", id), ("status", "active"), ("version", "2")]),
        )
        .await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(late.text().await.unwrap().contains("restore window ended"));

    let purged = gatehouse::server::service::people::purge_expired(
        &app.state.db,
        gatehouse::server::db::now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(purged, 1);
    let res = app
        .call(&app.client, "users/get", &format!("id={id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.target_id.as_deref()),
        ("user.purge", Some(id))
    );
    assert_eq!(e.actor_email.as_deref(), Some("system"));
}

#[tokio::test]
async fn a_deprovisioned_user_is_restored_within_the_window() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let u = app.create_user("back@x.example", "Comes Back", &[]).await;
    let id = u["id"].as_str().unwrap();
    app.call_ok(
        "users/status",
        &form(&[("id", id), ("status", "deprovisioned"), ("version", "1")]),
    )
    .await;
    let back = app
        .call_ok(
            "users/status",
            &form(&[("id", id), ("status", "active"), ("version", "2")]),
        )
        .await;
    assert_eq!(back["status"], "active");
    assert!(back["restorable_until"].is_null());
    assert_eq!(
        gatehouse::server::service::people::purge_expired(
            &app.state.db,
            gatehouse::server::db::now_ms()
        )
        .await
        .unwrap(),
        0
    );
}
