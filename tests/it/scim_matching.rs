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
    let view = users::guid_view(&app.state.db, &person)
        .await
        .expect("person");
    assert_eq!(view.accounts.len(), 2, "{view:?}");

    // A source without the rule makes a new person; the shared number makes it a candidate.
    let other = provision(&app, &okta, "ann@okta.example.com", "E-100").await;
    assert_ne!(other, person);
    let candidates = people::duplicates_of(&app.state.db, &other).await.unwrap();
    assert!(!candidates.is_empty());
    assert!(candidates
        .iter()
        .any(|c| c.reason == DuplicateReason::EmployeeNumber
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

#[tokio::test]
async fn a_user_name_that_is_not_an_email_is_found_kept_unique_and_searchable() {
    let app = TestApp::spawn().await;
    let okta = source_matching(&app, "okta", "none").await;
    let minimal = |user_name: &str, email: &str| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "emails": [{ "value": email }],
        })
    };
    let res = scim(
        &app,
        &okta,
        "POST",
        "/Users",
        Some(minimal("JDoe", "jdoe@example.com")),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made = json_of(res).await;
    assert_eq!(made["userName"], "JDoe");
    // What the client never set is not made up (RFC 7643 §2.5).
    for absent in ["displayName", "name", "active"] {
        assert!(made.get(absent).is_none(), "{absent} in {made}");
    }

    let found = scim(
        &app,
        &okta,
        "GET",
        "/Users?filter=userName+eq+%22jdoe%22",
        None,
        &[],
    )
    .await;
    let found = json_of(found).await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], made["id"]);

    // userName is unique across the service provider, whatever the case.
    let again = scim(
        &app,
        &okta,
        "POST",
        "/Users",
        Some(minimal("JDOE", "other@example.com")),
        &[],
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(again).await["scimType"], "uniqueness");

    // POST /Users/.search is the same list, asked with a body.
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"JDOE\"",
        "attributes": ["userName"],
    });
    let searched = scim(&app, &okta, "POST", "/Users/.search", Some(body), &[]).await;
    assert_eq!(searched.status(), StatusCode::OK);
    let searched = json_of(searched).await;
    assert_eq!(searched["totalResults"], 1, "{searched}");
    assert_eq!(searched["Resources"][0]["userName"], "JDoe");
    assert!(searched["Resources"][0].get("emails").is_none());
    // Across resource types it is not offered, and says so.
    let everything = scim(
        &app,
        &okta,
        "POST",
        "/.search",
        Some(serde_json::json!({})),
        &[],
    )
    .await;
    assert_eq!(everything.status(), StatusCode::NOT_IMPLEMENTED);

    // A removed displayName stays removed; the console still has a name to show.
    let id = made["id"].as_str().unwrap();
    let set = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "displayName", "value": "Jo Doe" }],
    });
    let res = scim(
        &app,
        &okta,
        "PATCH",
        &format!("/Users/{id}"),
        Some(set),
        &[],
    )
    .await;
    assert_eq!(json_of(res).await["displayName"], "Jo Doe");
    let remove = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "remove", "path": "displayName" }],
    });
    let res = scim(
        &app,
        &okta,
        "PATCH",
        &format!("/Users/{id}"),
        Some(remove),
        &[],
    )
    .await;
    let after = json_of(res).await;
    assert!(after.get("displayName").is_none(), "{after}");
    let console = users::get(&app.state.db, id).await.unwrap();
    assert!(!console.display_name.is_empty());
}
