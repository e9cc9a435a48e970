//! Issue 12, users: a search term never caps an export, a bulk action or a count at one page;
//! "every user" is an explicit choice confirmed with the count; a request naming both selected
//! users and a filter is refused.
use crate::common::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

/// Uploads a CSV import as `client` and returns its job id.
pub async fn start_import(app: &TestApp, client: &reqwest::Client, csv: String) -> String {
    let part = Part::bytes(csv.into_bytes())
        .file_name("people.csv")
        .mime_str("text/csv")
        .unwrap();
    let res = client
        .post(format!("{}/users/import", app.url))
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    location(&res)
        .strip_prefix("/users/jobs/")
        .expect("job page")
        .to_string()
}

/// `matching` users named "Searchable Person N" and `others` named "Other Human N", all active.
pub async fn import_people(app: &TestApp, matching: usize, others: usize) {
    let mut csv = String::from("email,display_name,source\n");
    for i in 0..matching {
        csv.push_str(&format!(
            "searchable{i:03}@corp.example,Searchable Person {i},hr-emea\n"
        ));
    }
    for i in 0..others {
        csv.push_str(&format!(
            "other{i:03}@corp.example,Other Human {i},hr-emea\n"
        ));
    }
    let job = start_import(app, &app.client, csv).await;
    let done = app.wait_for_job(&job).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(
        done["report"]["created"].as_u64(),
        Some((matching + others) as u64)
    );
}

async fn count(app: &TestApp, query: &[(&str, &str)]) -> u64 {
    app.call_ok("users/count", &form(query))
        .await
        .as_u64()
        .expect("a count")
}

async fn export(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/users/export.csv?{query}")).await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    body.lines().skip(1).map(str::to_string).collect()
}

fn unique_ids(rows: &[String]) -> usize {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

#[tokio::test]
async fn a_search_exports_every_matching_user_across_pages() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    import_people(&app, 130, 20).await;

    // Free text (name words, email prefix, external id): 130 matches, more than two pages.
    let rows = export(&app, "q=searchable").await;
    assert_eq!(rows.len(), 130, "every match, not one page of 50");
    assert_eq!(unique_ids(&rows), 130, "each once");
    assert!(rows.iter().all(|r| r.contains("searchable")));
    // A prefix of an indexed column (every user id starts with u_).
    let rows = export(&app, "q=u_&status=active").await;
    assert_eq!((rows.len(), unique_ids(&rows)), (150, 150));
    // Name words that must all match.
    let rows = export(&app, "q=person%20searchable").await;
    assert_eq!(rows.len(), 130);
    let e = app.audit_events().await.pop().unwrap();
    assert_eq!(e.action, "users.export");
    assert!(e.details.contains("person searchable"), "{}", e.details);
}

#[tokio::test]
async fn search_results_page_by_keyset_and_the_count_covers_every_page() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    import_people(&app, 130, 20).await;

    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .call_ok(
                "users/list",
                &form(&[("query[q]", "searchable"), ("query[after]", &after)]),
            )
            .await;
        let users = page["users"].as_array().unwrap();
        assert!(!users.is_empty(), "no empty page: {page}");
        seen.extend(users.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        pages += 1;
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3, "50 + 50 + 30");
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((total, seen.len()), (130, 130));

    assert_eq!(count(&app, &[("query[q]", "searchable")]).await, 130);
    assert_eq!(count(&app, &[("query[q]", "u_")]).await, 150);
    assert_eq!(count(&app, &[]).await, 150, "no filter counts everyone");
    assert_eq!(
        count(
            &app,
            &[("query[q]", "searchable"), ("query[status]", "locked")]
        )
        .await,
        0
    );
    let bad = app
        .call(&app.client, "users/count", "query[status]=frozen")
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_bulk_action_on_a_search_changes_every_matching_user() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    import_people(&app, 130, 20).await;
    let n = count(&app, &[("query[q]", "searchable")]).await;
    assert_eq!(n, 130);
    let job = app
        .call_ok(
            "users/bulk",
            &form(&[
                ("action", "suspend"),
                ("filter[q]", "searchable"),
                ("confirm_count", &n.to_string()),
            ]),
        )
        .await;
    let done = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["total"], 130);
    assert_eq!(done["report"]["changed"], 130, "{done}");
    assert_eq!(count(&app, &[("query[status]", "suspended")]).await, 130);
    assert_eq!(
        count(&app, &[("query[status]", "active"), ("query[q]", "other")]).await,
        20,
        "users outside the search are untouched"
    );
    let events = app.audit_events().await;
    assert_eq!(
        events.iter().filter(|e| e.action == "user.status").count(),
        130
    );
}

/// Everything a refused bulk request must leave as it was.
async fn snapshot(app: &TestApp) -> (u64, usize) {
    let active = count(app, &[("query[status]", "active")]).await;
    let bulk_events = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action.starts_with("users.bulk") || e.action == "user.status")
        .count();
    (active, bulk_events)
}

#[tokio::test]
async fn an_empty_filter_is_refused_and_everyone_needs_the_current_count() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    import_people(&app, 3, 2).await;
    let before = snapshot(&app).await;
    assert_eq!(before.0, 5);

    let refused = [
        (
            form(&[
                ("action", "suspend"),
                ("filter[q]", " "),
                ("filter[status]", ""),
            ]),
            StatusCode::BAD_REQUEST,
            "The filter is empty",
        ),
        (
            form(&[("action", "suspend"), ("everyone", "true")]),
            StatusCode::BAD_REQUEST,
            "confirm_count",
        ),
        (
            form(&[
                ("action", "suspend"),
                ("everyone", "true"),
                ("confirm_count", "4"),
            ]),
            StatusCode::CONFLICT,
            "You confirmed 4 users, but 5 match now",
        ),
        (
            form(&[
                ("action", "suspend"),
                ("filter[q]", "searchable"),
                ("confirm_count", "2"),
            ]),
            StatusCode::CONFLICT,
            "but 3 match now",
        ),
    ];
    for (body, status, needle) in refused {
        let res = app.call(&app.client, "users/bulk", &body).await;
        assert_eq!(res.status(), status, "{body}");
        let text = res.text().await.unwrap();
        assert!(text.contains(needle), "{body}: {text}");
    }
    assert_eq!(snapshot(&app).await, before, "refusals changed nothing");

    let job = app
        .call_ok(
            "users/bulk",
            &form(&[
                ("action", "suspend"),
                ("everyone", "true"),
                ("confirm_count", "5"),
            ]),
        )
        .await;
    let done = app.wait_for_job(job.as_str().unwrap()).await;
    assert_eq!(done["report"]["changed"], 5, "{done}");
    assert_eq!(count(&app, &[("query[status]", "suspended")]).await, 5);
    let bulk = app
        .audit_events()
        .await
        .into_iter()
        .rfind(|e| e.action == "users.bulk")
        .expect("the bulk request is audited");
    let details: Value = serde_json::from_str(&bulk.details).unwrap();
    assert_eq!(details["target"], "everyone");
    assert_eq!(details["total"], 5);
}

#[tokio::test]
async fn selected_ids_together_with_a_filter_are_refused() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let u = app.create_user("picked@x.example", "Picked", &[]).await;
    let id = u["id"].as_str().unwrap();
    let before = snapshot(&app).await;
    for body in [
        form(&[
            ("action", "suspend"),
            ("ids[0]", id),
            ("filter[status]", "active"),
        ]),
        form(&[
            ("action", "suspend"),
            ("ids[0]", id),
            ("everyone", "true"),
            ("confirm_count", "1"),
        ]),
    ] {
        let res = app.call(&app.client, "users/bulk", &body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = res.text().await.unwrap();
        assert!(text.contains("more than one set of users"), "{text}");
    }
    assert_eq!(snapshot(&app).await, before, "nothing changed");

    let events = app.audit_events().await.len();
    let res = app
        .get(&format!("/users/export.csv?ids={id}&status=suspended"))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("both selected users and a filter"));
    assert_eq!(app.audit_events().await.len(), events, "no export audited");
}
