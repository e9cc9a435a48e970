//! Matching rules: a newly provisioned account joins an existing person (GUID) only by its
//! source's rule, only when exactly one person qualifies; otherwise it gets a new GUID and the
//! shared evidence makes the two a duplicate candidate. Never a silent merge.
use crate::api_v1::admin_auth;
use crate::common::*;
use crate::scim_users::{entra_user, json_of, scim, ENTERPRISE};
use gatehouse::model::sources::SourceInput;
use gatehouse::model::users::DuplicateReason;
use gatehouse::server::service::{people, sources, users};
use reqwest::StatusCode;

async fn source_matching(app: &TestApp, id: &str, rule: &str) -> String {
    let input = SourceInput {
        id: id.into(),
        name: format!("Source {id}"),
        owned_attributes: vec!["userName".into(), "name".into(), "enterprise".into()],
        match_rule: rule.into(),
    };
    sources::create(&app.state.db, &admin_auth(), &input)
        .await
        .expect("source")
        .token
}

/// Provisions `email` with `employee_number` through `token`; returns the account's GUID.
async fn provision(app: &TestApp, token: &str, email: &str, employee_number: &str) -> String {
    let mut body = entra_user(email, email);
    body[ENTERPRISE]["employeeNumber"] = employee_number.into();
    let res = scim(app, token, "POST", "/Users", Some(body), &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = json_of(res).await["id"].as_str().unwrap().to_string();
    users::get(&app.state.db, &id).await.expect("user").guid
}

#[tokio::test]
async fn the_employee_number_rule_links_one_person_and_never_guesses() {
    let app = TestApp::spawn().await;
    let hr = source_matching(&app, "hr", "none").await;
    let entra = source_matching(&app, "entra", "employee_number").await;
    let okta = source_matching(&app, "okta", "none").await;

    let person = provision(&app, &hr, "ann@hr.example.com", "E-100").await;
    let linked = provision(&app, &entra, "ann@entra.example.com", "E-100").await;
    assert_eq!(linked, person, "the rule links the account to its person");
    let view = users::guid_view(&app.state.db, &person).await.expect("person");
    assert_eq!(view.accounts.len(), 2, "{view:?}");

    // A source without the rule makes a new person; the shared number makes it a candidate.
    let other = provision(&app, &okta, "ann@okta.example.com", "E-100").await;
    assert_ne!(other, person);
    let candidates = people::duplicates_of(&app.state.db, &other).await.unwrap();
    assert!(!candidates.is_empty());
    assert!(candidates.iter().any(|c| c.reason == DuplicateReason::EmployeeNumber
        && c.other_guid == person
        && c.evidence == "E-100"));

    // Two people now hold E-100: the rule links to neither.
    let ambiguous = provision(&app, &entra, "ann2@entra.example.com", "E-100").await;
    assert!(ambiguous != person && ambiguous != other);
    // No number, or a number nobody else has: a new person.
    let fresh = provision(&app, &entra, "bob@entra.example.com", "E-200").await;
    assert!(fresh != person && fresh != other && fresh != ambiguous);

    // The audit record of the linked account names the rule and the person.
    let created: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.create" && e.actor_email.as_deref() == Some("source:entra"))
        .collect();
    assert_eq!(created.len(), 3);
    let matched: Vec<serde_json::Value> = created
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.details).ok())
        .filter_map(|d| d.get("matched").cloned())
        .collect();
    assert_eq!(matched.len(), 1, "only the first Entra account was linked");
    assert_eq!(matched[0]["rule"], "employee_number");
    assert_eq!(matched[0]["guid"], person.as_str());
}

#[tokio::test]
async fn sources_filter_on_the_employee_number() {
    let app = TestApp::spawn().await;
    let entra = source_matching(&app, "entra", "none").await;
    provision(&app, &entra, "cy@entra.example.com", "701985").await;
    provision(&app, &entra, "di@entra.example.com", "701986").await;
    let filter = format!("{ENTERPRISE}:employeeNumber eq \"701985\"");
    let res = scim(
        &app,
        &entra,
        "GET",
        &format!("/Users?filter={}", urlencoding(&filter)),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = json_of(res).await;
    assert_eq!(page["totalResults"], 1, "{page}");
    assert_eq!(page["Resources"][0]["userName"], "cy@entra.example.com");
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
