//! A free-text search in name order reads each matching name token's users as an ordered run
//! and merges them with the email and external-id matches (db/user_search.rs). These tests page
//! through searches that cross runs, fall back to one sorted range, overlap between sides and
//! carry filters, and compare every page with the rule written out here.
use crate::api_v1::{api, service_token};
use crate::common::*;
use crate::users_hardening::start_import;
use reqwest::StatusCode;
use serde_json::Value;

/// Who the import below creates: display name, email, external id, status, source.
fn people() -> Vec<(String, String, String, &'static str, &'static str)> {
    let mut rows = Vec::new();
    let status = |i: usize| {
        if i.is_multiple_of(2) {
            "active"
        } else {
            "staged"
        }
    };
    let source = |i: usize| {
        if i.is_multiple_of(3) {
            "hr-amer"
        } else {
            "hr-emea"
        }
    };
    // 40 distinct tokens starting with "zq": more than one run each, so one sorted range.
    for i in 0..40 {
        rows.push((
            format!("Given{i} Zq{i:02}x"),
            format!("zq{i}@corp.example"),
            String::new(),
            status(i),
            source(i),
        ));
    }
    // Four tokens starting with "vanlo", six people each with the same name: ties break by id
    // across runs.
    for i in 0..24 {
        rows.push((
            format!("Ann Vanlo{}", i % 4),
            format!("ann{i}@corp.example"),
            String::new(),
            status(i),
            source(i),
        ));
    }
    // Matches by email only, by external id only, and by name and email at once.
    for i in 0..3 {
        rows.push((
            format!("Email Only {i}"),
            format!("vanlx{i}@corp.example"),
            String::new(),
            status(i),
            source(i),
        ));
    }
    rows.push((
        "External Match".into(),
        "ext@corp.example".into(),
        "vanl".into(),
        "active",
        "hr-amer",
    ));
    rows.push((
        "Vanlo9 Ann".into(),
        "vanlo-both@corp.example".into(),
        String::new(),
        "active",
        "hr-amer",
    ));
    // Two words of one token each, for the leapfrog: 80 "Bo Xk" (more than one chunk of it) and
    // 5 "Bo Yw" sorting after every one of them.
    for i in 0..85 {
        let family = if i < 80 {
            format!("Xk Qu{i:02}")
        } else {
            format!("Yw{i}")
        };
        rows.push((
            format!("Bo {family}"),
            format!("bo{i}@corp.example"),
            String::new(),
            status(i),
            source(i),
        ));
    }
    for i in 0..5 {
        rows.push((
            format!("Other Person {i}"),
            format!("other{i}@corp.example"),
            String::new(),
            status(i),
            source(i),
        ));
    }
    rows
}

async fn import_people(app: &TestApp) {
    let mut csv = String::from("email,display_name,external_id,status,source\n");
    for (name, email, external, status, source) in people() {
        csv.push_str(&format!("{email},{name},{external},{status},{source}\n"));
    }
    let job = start_import(app, &app.client, csv).await;
    let done = app.wait_for_job(&job).await;
    assert_eq!(done["state"], "done", "{done}");
}

/// The search rule, written out: an email prefix, the external id exactly, or every word of the
/// term starts a word of the name.
fn matches(user: &Value, q: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let name = words(user["display_name"].as_str().unwrap());
    let term = words(q);
    user["email"]
        .as_str()
        .unwrap()
        .starts_with(&q.to_lowercase())
        || user["external_id"].as_str() == Some(q)
        || (!term.is_empty()
            && term
                .iter()
                .all(|w| name.iter().any(|t| t.starts_with(w.as_str()))))
}

/// Every page of `query` at `limit` a page, as ids in the order served.
async fn all_pages(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    for _ in 0..100 {
        let path = format!("/api/v1/users?{query}&limit={limit}{after}");
        let res = api(app, token, "GET", &path, None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page: Value = res.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), limit, "only the last page is short");
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                after = format!("&after={next}");
            }
            None => return ids,
        }
    }
    panic!("more than 100 pages for {query}");
}

#[tokio::test]
async fn name_ordered_searches_page_through_every_match_once_in_order() {
    let app = TestApp::spawn().await;
    let token = service_token(&app, &["users:read"]).await;
    app.sign_in(ADMIN).await;
    import_people(&app).await;
    let everyone: Vec<Value> = {
        let res = api(&app, &token, "GET", "/api/v1/users?limit=200", None, &[]).await;
        let page: Value = res.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    };
    assert_eq!(everyone.len(), people().len());

    let cases: &[(&str, &[(&str, &str)])] = &[
        ("vanl", &[]),
        ("vanlo ann", &[]),
        ("ann vanlo", &[("status", "staged")]),
        ("zq", &[]),
        ("zq", &[("source", "hr-amer"), ("status", "active")]),
        ("zq given1", &[]),
        ("vanl", &[("source", "hr-amer")]),
        ("bo xk", &[]),
        ("bo yw", &[]),
        ("yw bo", &[]),
        ("bo xk", &[("status", "staged"), ("source", "hr-amer")]),
    ];
    for (q, filters) in cases {
        let mut expected: Vec<&Value> = everyone
            .iter()
            .filter(|u| matches(u, q))
            .filter(|u| filters.iter().all(|(k, v)| u[*k].as_str() == Some(*v)))
            .collect();
        assert!(
            expected.len() >= 3,
            "{q} {filters:?} matches several people"
        );
        expected.sort_by_key(|u| {
            (
                u["display_name"].as_str().unwrap().to_lowercase(),
                u["id"].as_str().unwrap().to_string(),
            )
        });
        let expected: Vec<String> = expected
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        let mut query = format!("q={}", q.replace(' ', "+"));
        for (k, v) in *filters {
            query.push_str(&format!("&{k}={v}"));
        }
        for limit in [1, 3, 50] {
            let got = all_pages(&app, &token, &query, limit).await;
            assert_eq!(got, expected, "{query} limit {limit}");
        }
    }
}
