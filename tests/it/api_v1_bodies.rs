//! Request bodies of the REST API: a body that is not the documented object is refused with a
//! 400 problem before anything else is looked at, and changes nothing (schemathesis found an
//! array accepted as an all-optional object, answered by the If-Match check instead).
use crate::api_v1::{api, service_token};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn problem_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.expect("problem body");
    assert!(
        body["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("#problem-invalid"),
        "{body}"
    );
    body
}

#[tokio::test]
async fn bodies_that_are_not_objects_are_refused_before_if_match_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = service_token(
        &app,
        &["users:read", "users:write", "apps:read", "apps:write"],
    )
    .await;
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
    let res = api(
        &app,
        &token,
        "POST",
        "/api/v1/users",
        Some(json!({ "email": owner, "display_name": "Olu Owner", "source": "hr" })),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    let user_id = user["id"].as_str().unwrap().to_string();

    let res = api(
        &app,
        &token,
        "POST",
        "/api/v1/apps",
        Some(
            json!({ "name": format!("bodies-{}", uuid::Uuid::new_v4().simple()), "owner": owner,
            "kind": "web", "redirect_uris": "https://bodies.example.com/cb",
            "post_logout_redirect_uris": "", "grant_types": ["authorization_code"],
            "scopes": "openid", "pkce_required": "on" }),
        ),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let app_etag = res.headers()["etag"].to_str().unwrap().to_string();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let app_id = location.rsplit('/').next().unwrap().to_string();
    assert!(app_id.starts_with("app_"), "{location}");

    // A stale If-Match would be 412; the body is wrong first, so the answer is 400.
    for (method, path) in [
        ("PUT", format!("/api/v1/apps/{app_id}")),
        ("PATCH", format!("/api/v1/users/{user_id}")),
        ("POST", format!("/api/v1/users/{user_id}/status")),
    ] {
        for bad in [json!([]), json!("text"), json!(7), Value::Null] {
            let res = api(
                &app,
                &token,
                method,
                &path,
                Some(bad.clone()),
                &[("if-match", "W/\"\"")],
            )
            .await;
            let body = problem_of(res).await;
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("JSON object"),
                "{method} {path} {bad}: {body}"
            );
        }
    }
    let res = api(&app, &token, "POST", "/api/v1/users", Some(json!([])), &[]).await;
    problem_of(res).await;

    let res = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/apps/{app_id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), app_etag);
    let res = api(
        &app,
        &token,
        "GET",
        &format!("/api/v1/users/{user_id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["version"],
        user["version"]
    );
}
