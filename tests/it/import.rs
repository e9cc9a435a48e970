//! CSV import: the whole file is checked first, every bad line reported with its number, nothing
//! written unless all lines are good; then created or updated by email, with an end report.
use crate::common::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

pub(crate) async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name("people.csv")
        .mime_str("text/csv")
        .unwrap();
    client
        .post(format!("{}/users/import", app.url))
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
}

/// Uploads as the signed-in admin and waits for the job's end.
async fn import(app: &TestApp, csv: &str) -> Value {
    import_bytes(app, csv.as_bytes().to_vec()).await
}

pub(crate) async fn import_bytes(app: &TestApp, bytes: Vec<u8>) -> Value {
    let res = upload(app, &app.client, bytes).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        res.text().await
    );
    let job = location(&res)
        .strip_prefix("/users/jobs/")
        .expect("job page")
        .to_string();
    app.wait_for_job(&job).await
}

async fn user_count(app: &TestApp) -> i64 {
    gatehouse::server::db::users::count(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_good_file_creates_and_updates_by_email_with_a_report_and_audit() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let existing = app.create_user("ada@example.com", "Ada", &[]).await;
    let job = import(
        &app,
        "email,display_name,source,external_id,phone,status\n\
         ADA@example.com,Ada Lovelace,hr-emea,E1,+41791234567,\n\
         alan@example.com,Alan Turing,hr-emea,E2,,staged\n\
         \"grace@example.com\",\"Hopper, Grace\",github,gh-9,,\n",
    )
    .await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (
            job["report"]["created"].as_u64(),
            job["report"]["updated"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(job["done"], 3);
    assert_eq!(job["total"], 3);
    let ada = app
        .call_ok(
            "users/get",
            &format!("id={}", existing["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(ada["display_name"], "Ada Lovelace");
    assert_eq!(ada["phone"], "+41791234567");
    let alan = app.call_ok("users/list", "query[q]=alan@example.com").await;
    assert_eq!(alan["users"][0]["status"], "staged");
    let grace = app.call_ok("users/list", "query[q]=grace@").await;
    assert_eq!(grace["users"][0]["display_name"], "Hopper, Grace");

    let events = app.audit_events().await;
    let summary = events
        .iter()
        .rev()
        .find(|e| e.action == "users.import")
        .expect("import audited");
    assert!(
        summary.details.contains("\"created\":2"),
        "{}",
        summary.details
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "user.create" && e.details.contains("\"via\":\"import\""))
            .count(),
        2
    );
    let update = events
        .iter()
        .rev()
        .find(|e| e.action == "user.update")
        .unwrap();
    assert!(
        update.details.contains("Ada Lovelace") && update.details.contains("\"before\":\"Ada\""),
        "{}",
        update.details
    );

    // The same file again changes nothing.
    let again = import(&app, "email,display_name\nada@example.com,Ada Lovelace\n").await;
    assert_eq!(again["report"]["unchanged"], 1, "{again}");
}

#[tokio::test]
async fn every_bad_line_is_reported_with_its_number_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.create_user(
        "taken@example.com",
        "Taken",
        &[("input[external_id]", "E9")],
    )
    .await;
    let before = user_count(&app).await;
    let events_before = app.audit_events().await.len();
    let job = import(
        &app,
        "email,display_name,source,external_id,phone,status\n\
         fine@example.com,Fine,hr-emea,,,\n\
         not-an-email,Bad Email,hr-emea,,,\n\
         phone@example.com,Bad Phone,hr-emea,,0791234567,\n\
         fine@example.com,Twice,hr-emea,,,\n\
         status@example.com,Bad Status,hr-emea,,,frozen\n\
         ext@example.com,Taken Ext,hr-emea,E9,,\n\
         short@example.com,Short\n\
         nosource@example.com,No Source,,,,\n",
    )
    .await;
    assert_eq!(job["state"], "rejected", "{job}");
    let problems = job["report"]["problems"].as_array().unwrap();
    let at = |line: u64| -> String {
        problems
            .iter()
            .filter(|p| p["line"] == line)
            .map(|p| p["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(at(3).contains("Email must contain @"), "{problems:?}");
    assert!(
        at(4).contains("Phone must be in international form"),
        "{problems:?}"
    );
    assert!(at(5).contains("earlier line"), "{problems:?}");
    assert!(at(6).contains("unknown status"), "{problems:?}");
    assert!(
        at(7).contains("already used in source hr-emea by taken@example.com"),
        "{problems:?}"
    );
    assert!(
        at(8).contains("has 2 fields; the header has 6"),
        "{problems:?}"
    );
    assert!(at(9).contains("Source is required"), "{problems:?}");
    assert!(at(2).is_empty(), "line 2 is fine");
    assert_eq!(job["report"]["problem_count"], 7);
    assert!(job["summary"]
        .as_str()
        .unwrap()
        .starts_with("Nothing was imported"));
    assert_eq!(user_count(&app).await, before, "nothing written");
    let events = app.audit_events().await;
    assert_eq!(
        events.len(),
        events_before + 1,
        "only the refused import itself is audited"
    );
    assert_eq!(events.last().unwrap().outcome, "failed");
}

#[tokio::test]
async fn wrong_columns_and_wrong_encoding_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let before = user_count(&app).await;
    let job = import(&app, "mail,name,colour\nada@example.com,Ada,blue\n").await;
    assert_eq!(job["state"], "rejected");
    let problems = job["report"]["problems"].to_string();
    assert!(
        problems.contains("Unknown column \\\"colour\\\""),
        "{problems}"
    );
    assert!(
        problems.contains("required column \\\"email\\\" is missing"),
        "{problems}"
    );

    let latin1 = b"email,display_name,source\nbjorn@example.com,Bj\xf6rn,hr-emea\n".to_vec();
    let job = import_bytes(&app, latin1).await;
    assert_eq!(job["state"], "rejected");
    assert_eq!(job["report"]["problems"][0]["line"], 2);
    assert!(job["report"]["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not UTF-8"));

    let empty = upload(&app, &app.client, Vec::new()).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert!(empty.text().await.unwrap().contains("The file is empty"));
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn a_million_bad_lines_are_counted_and_the_first_thousand_listed() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let mut csv = String::from("email,display_name,source\n");
    for i in 0..1_000_000 {
        csv.push_str(&format!("bad{i},Name,hr\n"));
    }
    let job = import(&app, &csv).await;
    assert_eq!(job["state"], "rejected");
    assert_eq!(job["report"]["problem_count"], 1_000_000);
    assert_eq!(job["report"]["problems"].as_array().unwrap().len(), 1000);
    assert_eq!(job["report"]["problems"][999]["line"], 1001);
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn only_administrators_can_import() {
    let app = TestApp::spawn().await;
    let support = browser();
    app.sign_in_with(&support, SUPPORT).await;
    let res = upload(&app, &support, b"email,display_name\na@b.co,A\n".to_vec()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let anonymous = upload(&app, &browser(), b"email,display_name\na@b.co,A\n".to_vec()).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn broken_quoting_and_a_missing_file_field_are_refused_and_crlf_files_are_read() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    let before = user_count(&app).await;

    // An opening quote that never closes swallows the rest of the file into one field.
    let job = import(
        &app,
        "email,display_name\n\"ada@example.com,Ada\nbob@example.com,Bob\n",
    )
    .await;
    assert_eq!(job["state"], "rejected", "{job}");
    let problems = job["report"]["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{job}");
    assert_eq!(problems[0]["line"], 2, "{job}");
    assert_eq!(user_count(&app).await, before, "nothing written");

    // A form without the `file` field.
    let res = app
        .client
        .post(format!("{}/users/import", app.url))
        .multipart(Form::new().text("note", "no file here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Choose a CSV file to import"));
    assert_eq!(user_count(&app).await, before, "nothing written");

    // Windows line ends are ordinary CSV: both lines are read, no value keeps a carriage return.
    let job = import(
        &app,
        "email,display_name,source\r\ncrlf-1@example.com,Ann Crlf,hr-emea\r\ncrlf-2@example.com,Ben Crlf,hr-emea\r\n",
    )
    .await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(user_count(&app).await, before + 2);
    let page = app.call_ok("users/list", "query[q]=crlf").await;
    let users = page["users"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{page}");
    for u in users {
        let source = u["source"].as_str().unwrap();
        assert_eq!(source, "hr-emea", "{u}");
        assert!(!u["display_name"].as_str().unwrap().contains('\r'), "{u}");
    }
}
