//! Read-then-write under concurrency (issue 12). These race on purpose; on PostgreSQL they
//! prove the row locks and claims, on SQLite (one writer at a time) the same rules hold.
use crate::common::*;
use crate::users_hardening::start_import;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;

#[tokio::test]
async fn two_creates_with_the_same_email_at_once_give_one_user_and_field_errors() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    for round in 0..6 {
        let email = format!("twin{round}@x.example");
        let body = form(&[
            ("input[email]", &email),
            ("input[display_name]", "Twin"),
            ("input[source]", "hr-emea"),
        ]);
        let answers =
            join_all((0..6).map(|_| async { app.call(&app.client, "users/create", &body).await }))
                .await;
        let mut ok = 0;
        for res in answers {
            match res.status() {
                StatusCode::OK => ok += 1,
                StatusCode::BAD_REQUEST => {
                    let error: Value = res.json().await.unwrap();
                    let fields = error["Fields"].as_array().expect("a field error");
                    assert_eq!(fields[0][0], "email", "{error}");
                    assert!(
                        fields[0][1]
                            .as_str()
                            .unwrap()
                            .contains("already used by another user"),
                        "{error}"
                    );
                }
                other => panic!("round {round}: {other}: {:?}", res.text().await),
            }
        }
        assert_eq!(ok, 1, "round {round}: exactly one create wins");
    }
    assert_eq!(
        gatehouse::server::db::users::count(&app.state.db.pool)
            .await
            .unwrap(),
        6
    );
}

/// A writer that got past the check (another code path, or no claim) hits the constraint: that
/// is recognised as the field it is about, on both engines.
#[tokio::test]
async fn a_unique_violation_is_recognised_as_its_field() {
    use gatehouse::model::users::UserStatus;
    use gatehouse::server::db::users::{insert_guid, insert_user, unique_violation, UserRow};
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.create_user("taken@x.example", "Taken", &[("input[external_id]", "E-1")])
        .await;
    let db = &app.state.db;
    for (email, external_id, field) in [
        ("taken@x.example", None, "email"),
        ("free@x.example", Some("E-1"), "external_id"),
    ] {
        let mut tx = db.begin_write().await.unwrap();
        insert_guid(&mut tx, "g_race", 1, &Default::default())
            .await
            .unwrap();
        let row = UserRow {
            id: "u_race",
            guid_id: "g_race",
            email,
            email_verified: false,
            display_name: "Race",
            given_name: None,
            family_name: None,
            phone: None,
            status: UserStatus::Active,
            source: "hr-emea",
            external_id,
            attributes: "{}",
            employee_number: None,
            user_name: None,
            now: 1,
        };
        let e = insert_user(&mut tx, &row).await.expect_err("a duplicate");
        assert_eq!(unique_violation(&e), Some(field), "{e}");
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn opposite_merges_at_once_one_wins_and_the_other_is_a_conflict() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    for round in 0..5 {
        let a = app
            .create_user(&format!("ma{round}@x.example"), "Side A", &[])
            .await;
        let b = app
            .create_user(&format!("mb{round}@x.example"), "Side B", &[])
            .await;
        let (ga, gb) = (a["guid"].as_str().unwrap(), b["guid"].as_str().unwrap());
        let a_into_b = form(&[("survivor", gb), ("absorbed", ga)]);
        let b_into_a = form(&[("survivor", ga), ("absorbed", gb)]);
        let (r1, r2) = tokio::join!(
            app.call(&app.client, "guids/merge", &a_into_b),
            app.call(&app.client, "guids/merge", &b_into_a),
        );
        let mut statuses = [r1.status(), r2.status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: one wins, the other is a conflict"
        );
        let loser = if r1.status() == StatusCode::CONFLICT {
            r1
        } else {
            r2
        };
        assert!(loser
            .text()
            .await
            .unwrap()
            .contains("was already merged into"));
        // No cycle: exactly one side is merged, into the other, which holds both accounts.
        let ra = gatehouse::server::db::users::guid(&app.state.db.pool, ga)
            .await
            .unwrap()
            .unwrap();
        let rb = gatehouse::server::db::users::guid(&app.state.db.pool, gb)
            .await
            .unwrap()
            .unwrap();
        let survivor = match (ra.merged_into.as_deref(), rb.merged_into.as_deref()) {
            (Some(into), None) if into == gb => gb,
            (None, Some(into)) if into == ga => ga,
            other => panic!("round {round}: not one merge: {other:?}"),
        };
        let view = app.call_ok("guids/get", &format!("id={survivor}")).await;
        assert_eq!(view["accounts"].as_array().unwrap().len(), 2, "{view}");
    }
    let merges = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "guid.merge")
        .count();
    assert_eq!(merges, 5, "each winning merge audited once");
}

/// Version, last status and display name of each user, with its audit events.
async fn users_and_events(app: &TestApp) -> Vec<(Value, Vec<gatehouse::model::audit::AuditEvent>)> {
    let events = app.audit_events().await;
    let mut by_user: HashMap<String, Vec<_>> = HashMap::new();
    for e in events {
        if let (Some("user"), Some(id)) = (e.target_type.as_deref(), e.target_id.clone()) {
            by_user.entry(id).or_default().push(e);
        }
    }
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = app
            .call_ok(
                "users/list",
                &form(&[("query[source]", "conc"), ("query[after]", &after)]),
            )
            .await;
        for u in page["users"].as_array().unwrap() {
            let id = u["id"].as_str().unwrap();
            let detail = app.call_ok("users/get", &format!("id={id}")).await;
            out.push((detail, by_user.remove(id).unwrap_or_default()));
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn overlapping_bulk_jobs_and_an_import_leave_every_user_consistent_and_audited_once() {
    const N: usize = 240;
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let mut csv = String::from("email,display_name,source\n");
    for i in 0..N {
        csv.push_str(&format!("c{i:03}@conc.example,Conc {i},conc\n"));
    }
    let job = start_import(&app, &app.client, csv).await;
    assert_eq!(app.wait_for_job(&job).await["state"], "done");
    let ids: Vec<String> = users_and_events(&app)
        .await
        .iter()
        .map(|(u, _)| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), N);

    // At once: suspend everything in source "conc", deprovision a selection of half of them, and
    // an import that renames all of them and locks the first hundred.
    let mut rename = String::from("email,display_name,status\n");
    for i in 0..N {
        let status = if i < 100 { "locked" } else { "" };
        rename.push_str(&format!("c{i:03}@conc.example,Renamed {i},{status}\n"));
    }
    let mut selection = vec![("action".to_string(), "deprovision".to_string())];
    for (i, id) in ids.iter().step_by(2).enumerate() {
        selection.push((format!("ids[{i}]"), id.clone()));
    }
    let selection = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(selection)
        .finish();
    let suspend = form(&[
        ("action", "suspend"),
        ("filter[source]", "conc"),
        ("confirm_count", &N.to_string()),
    ]);
    // The import's file is checked against the users as they are before anything is written, so
    // its check runs first (a status change the bulk jobs made impossible meanwhile would reject
    // the whole file); its writes then race the bulk jobs.
    let i = start_import(&app, &app.client, rename).await;
    for _ in 0..600 {
        let job = app.call_ok("jobs/get", &format!("id={i}")).await;
        if job["state"] != "validating" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s, d) = tokio::join!(
        app.call(&app.client, "users/bulk", &suspend),
        app.call(&app.client, "users/bulk", &selection),
    );
    assert_eq!(s.status(), 200, "{:?}", s.text().await);
    assert_eq!(d.status(), 200, "{:?}", d.text().await);
    let jobs = [
        s.json::<Value>()
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
        d.json::<Value>()
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
        i,
    ];
    for (n, job) in jobs.iter().enumerate() {
        let done = app.wait_for_job(job).await;
        if n == 2 {
            let r = &done["report"];
            let lines = ["created", "updated", "unchanged", "skipped"]
                .iter()
                .map(|k| r[k].as_u64().unwrap())
                .sum::<u64>();
            assert_eq!(lines, N as u64, "every line is accounted for: {done}");
        }
        assert_eq!(done["state"], "done", "no job fails: {done}");
        let problems = done["report"]["problems"].to_string();
        assert!(
            !problems.contains("changed by someone else"),
            "locks, not lost races: {problems}"
        );
    }

    let users = users_and_events(&app).await;
    assert_eq!(users.len(), N);
    for (user, events) in &users {
        assert!(!events.is_empty(), "{user}");
        // Every write bumps the version once and is audited once.
        let writes = events
            .iter()
            .filter(|e| ["user.update", "user.status"].contains(&e.action.as_str()))
            .count() as i64;
        assert_eq!(
            user["version"].as_i64().unwrap(),
            1 + writes,
            "{user} after {events:?}"
        );
        // The stored status is the last audited one.
        let last_status = events
            .iter()
            .rev()
            .find(|e| e.action == "user.status")
            .map(|e| {
                let d: Value = serde_json::from_str(&e.details).unwrap();
                d["changes"]["status"]["after"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .unwrap_or_else(|| "active".into());
        assert_eq!(user["status"], last_status.as_str(), "{user}");
        // The rename landed exactly once.
        // The rename landed at most once (a line whose status change became impossible meanwhile
        // is skipped whole, with the reason in the import's report), and the name shows it.
        let renames = events
            .iter()
            .filter(|e| e.action == "user.update" && e.details.contains("Renamed"))
            .count();
        assert!(renames <= 1, "{user}");
        let renamed = user["display_name"]
            .as_str()
            .unwrap()
            .starts_with("Renamed");
        assert_eq!(renamed, renames == 1, "{user}");
    }
}
