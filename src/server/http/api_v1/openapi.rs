//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the reference page
//! rendered from it by Gatehouse itself (server-side HTML: no script, no CDN, the console's CSP).
use super::problem::{Kind, Problem};
use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderValue};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse management API",
        version = "1",
        description = "Everything an administrator can do in the Gatehouse console, for automation: \
users, people (GUIDs) and the audit log, with the console's rules, guard rails and audit records. \
Authenticate with `Authorization: Bearer ght_...` (a service account's token or a personal \
access token, created in the console). Errors are RFC 9457 problem details."
    ),
    components(schemas(
        Problem,
        crate::model::users::UserSort,
        crate::model::users::UserStatus,
        crate::model::users::DuplicateReason,
        crate::model::apps::AppStatus,
        super::audit::ExportFormatParam
    )),
    tags(
        (name = "users", description = "User accounts"),
        (name = "people", description = "People (GUIDs), duplicates, merges, and revoking or signing them out everywhere"),
        (name = "audit", description = "The tamper-evident audit log, and its streaming to the SIEM (sinks)"),
        (name = "apps", description = "Applications (OAuth clients), secrets and assignments"),
        (name = "groups", description = "Groups of user accounts and their members"),
        (name = "provisioning", description = "Provisioning out: applications' SCIM targets and their delivery state"),
        (name = "webhooks", description = "Webhook endpoints: audit events delivered as JSON, signed per Standard Webhooks"),
        (name = "signals", description = "Shared Signals: receivers of Gatehouse's CAEP and RISC events as signed Security Event Tokens (their own stream API is at /ssf), and transmitters whose tokens Gatehouse receives at /ssf/receive"),
        (name = "keys", description = "API keys verified by gateways"),
        (name = "devices", description = "Devices and their trust"),
        (name = "mfa", description = "MFA factors and the support desk's MFA reset"),
        (name = "jobs", description = "Long work and its progress"),
        (name = "system", description = "Instances and which one runs each background task and delivery"),
    )
)]
struct ApiDoc;

pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Answers every protected operation can give besides its own.
fn common_responses() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "400",
            "The request is not valid (see `detail` and `errors`)",
        ),
        (
            "401",
            "No token, or a token that is not valid, expired or revoked",
        ),
        ("403", "The token lacks the scope this operation needs"),
        ("413", "The body is larger than 256 KiB"),
        (
            "429",
            "The token's rate limit is reached; see `Retry-After` and `RateLimit`",
        ),
        (
            "503",
            "A service Gatehouse depends on cannot be reached now",
        ),
    ]
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": {
            "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

const RATE_HEADERS: [(&str, &str); 2] = [
    (
        "RateLimit",
        "The token's remaining requests and seconds until the window resets",
    ),
    ("RateLimit-Policy", "The token's requests per window"),
];

/// The generated document, completed with what every operation shares: the security scheme,
/// the common error answers and the rate-limit headers.
pub fn finish(doc: utoipa::openapi::OpenApi, public_url: &str) -> Value {
    let mut doc = serde_json::to_value(&doc).unwrap_or_else(|_| json!({}));
    doc["servers"] = json!([{ "url": public_url }]);
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "ght_<id>_<secret>",
            "description": "A service account's token or a personal access token; its scopes say which operations it may call." }
    });
    let headers: Map<String, Value> = RATE_HEADERS
        .iter()
        .map(|(name, d)| {
            (
                name.to_string(),
                json!({ "description": d, "schema": { "type": "string" } }),
            )
        })
        .collect();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                // Handlers of different resources share names (`list`, `get`): the tag makes
                // each operationId unique.
                let tag = op["tags"][0].as_str().unwrap_or("api").to_string();
                if let Some(id) = op["operationId"].as_str().map(str::to_string) {
                    op["operationId"] = json!(format!("{tag}_{id}"));
                }
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (code, description) in common_responses() {
                    responses
                        .entry(code)
                        .or_insert_with(|| problem_response(description));
                }
                for response in responses.values_mut() {
                    let h = &mut response["headers"];
                    if !h.is_object() {
                        *h = json!({});
                    }
                    for (name, value) in &headers {
                        h[name] = value.clone();
                    }
                }
            }
        }
    }
    add_links(&mut doc);
    doc
}

/// A creating operation (path, method), where its answer holds the new id, and the operations
/// (link name, operationId) that take that id.
type CreatedLinks = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// OpenAPI links from what a create answers to the operations on the created thing, so
/// clients and stateful testers can chain them (`$response.body#/id` into `{id}`).
fn add_links(doc: &mut Value) {
    let links: [CreatedLinks; 3] = [
        (
            "/api/v1/users",
            "post",
            "$response.body#/id",
            &[
                ("GetUser", "users_get"),
                ("UpdateUser", "users_update"),
                ("SetUserStatus", "users_set_status"),
                ("UnlockUser", "users_unlock"),
                ("LinkUser", "users_link"),
                ("UserDevices", "devices_of_user"),
                ("UserFactors", "mfa_factors"),
            ],
        ),
        (
            "/api/v1/apps",
            "post",
            "$response.body#/app/id",
            &[
                ("GetApp", "apps_get"),
                ("UpdateApp", "apps_update"),
                ("SetAppStatus", "apps_set_status"),
                ("RotateSecret", "apps_rotate_secret"),
                ("Assignments", "apps_assignments"),
            ],
        ),
        (
            "/api/v1/keys",
            "post",
            "$response.body#/summary/id",
            &[
                ("GetKey", "keys_get"),
                ("RotateKey", "keys_rotate"),
                ("RevokeKey", "keys_revoke"),
                ("SetKeyExpiry", "keys_set_expiry"),
            ],
        ),
    ];
    for (path, method, value, targets) in links {
        let response = &mut doc["paths"][path][method]["responses"]["201"];
        if !response.is_object() {
            continue;
        }
        let mut map = Map::new();
        for (name, operation) in targets {
            map.insert(
                name.to_string(),
                json!({ "operationId": operation, "parameters": { "id": value } }),
            );
        }
        response["links"] = Value::Object(map);
    }
}

pub fn json_response(doc: &str) -> Response {
    let mut res = doc.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "object".into(),
    }
}

/// The reference page: every operation with its scope, parameters, body and answers, the
/// problem types, and how to start with curl.
pub fn reference_html(doc: &Value) -> String {
    let mut out = String::new();
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let base = doc["servers"][0]["url"].as_str().unwrap_or("");
    out.push_str(&format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Gatehouse</title><link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"></head>\
         <body class=\"bg-white text-slate-900 dark:bg-slate-950 dark:text-slate-100\"><main class=\"mx-auto max-w-4xl p-6 space-y-6\">\
         <p><a class=\"underline\" href=\"/\">Back to the console</a> · <a class=\"underline\" href=\"/api/v1/openapi.json\">OpenAPI document</a></p>\
         <h1 class=\"text-2xl font-semibold\">{t}</h1><p>{d}</p>",
        t = esc(title),
        d = esc(doc["info"]["description"].as_str().unwrap_or(""))
    ));
    out.push_str(&format!(
        "<section aria-labelledby=\"start\"><h2 id=\"start\" class=\"text-xl font-semibold\">Getting started</h2>\
         <ol class=\"list-decimal pl-6 space-y-1\"><li>In the console, open <a class=\"underline\" href=\"/service-accounts\">Service accounts</a>, create one with the scopes \
         <code>users:read</code>, <code>users:write</code> and <code>audit:read</code>, and issue a token (it is shown once).</li>\
         <li>Create a user:<pre class=\"overflow-x-auto rounded bg-slate-100 p-2 dark:bg-slate-800\">curl -s -X POST {b}/api/v1/users -H \"Authorization: Bearer $TOKEN\" \\\n  -H 'Content-Type: application/json' -H 'Idempotency-Key: 7d1c' \\\n  -d '{{\"email\":\"jo@example.com\",\"display_name\":\"Jo Doe\",\"source\":\"hr\"}}' -i</pre></li>\
         <li>Suspend it, quoting the <code>ETag</code> you got:<pre class=\"overflow-x-auto rounded bg-slate-100 p-2 dark:bg-slate-800\">curl -s -X POST {b}/api/v1/users/$ID/status -H \"Authorization: Bearer $TOKEN\" \\\n  -H 'Content-Type: application/json' -H 'If-Match: \"v1\"' -d '{{\"status\":\"suspended\"}}'</pre></li>\
         <li>Read the audit trail of both changes:<pre class=\"overflow-x-auto rounded bg-slate-100 p-2 dark:bg-slate-800\">curl -s \"{b}/api/v1/audit/events?target_id=$ID\" -H \"Authorization: Bearer $TOKEN\"</pre></li></ol>\
         <p>Lists return <code>items</code> and a <code>next</code> cursor (also in <code>Link: rel=\"next\"</code>); pass it back as <code>after</code> (<code>before</code> for audit events). \
         Changes to versioned resources need <code>If-Match</code> (428 without it, 412 when someone changed it since). Every answer carries <code>RateLimit</code> and <code>RateLimit-Policy</code>.</p></section>",
        b = esc(base)
    ));
    let tags = doc["tags"].as_array().cloned().unwrap_or_default();
    for tag in &tags {
        let name = tag["name"].as_str().unwrap_or("");
        out.push_str(&format!(
            "<section aria-labelledby=\"tag-{n}\"><h2 id=\"tag-{n}\" class=\"text-xl font-semibold\">{n}</h2><p>{d}</p>",
            n = esc(name),
            d = esc(tag["description"].as_str().unwrap_or(""))
        ));
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for (method, op) in item {
                    if !op["tags"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == name))
                    {
                        continue;
                    }
                    out.push_str(&operation_html(doc, method, path, op));
                }
            }
        }
        out.push_str("</section>");
    }
    out.push_str("<section aria-labelledby=\"problems\"><h2 id=\"problems\" class=\"text-xl font-semibold\">Problem types</h2><dl>");
    for kind in Kind::ALL {
        out.push_str(&format!(
            "<dt id=\"problem-{s}\" class=\"font-mono\">{s} ({c})</dt><dd class=\"pl-4\">{t}</dd>",
            s = kind.slug(),
            c = kind.status().as_u16(),
            t = esc(kind.title())
        ));
    }
    out.push_str("</dl></section></main></body></html>");
    out
}

fn operation_html(doc: &Value, method: &str, path: &str, op: &Value) -> String {
    let mut out = String::new();
    let scopes: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["bearer"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| format!("<code>{}</code>", esc(s)))
        .collect();
    out.push_str(&format!(
        "<article class=\"border-t border-slate-200 py-3 dark:border-slate-700\"><h3 class=\"font-mono font-semibold\">{m} {p}</h3><p>{s}</p><p>Scope: {sc}</p>",
        m = method.to_uppercase(),
        p = esc(path),
        s = esc(op["summary"].as_str().or(op["description"].as_str()).unwrap_or("")),
        sc = if scopes.is_empty() { "none".into() } else { scopes.join(", ") }
    ));
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str("<table class=\"text-sm\"><caption class=\"text-left\">Parameters</caption><tr><th scope=\"col\" class=\"text-left pr-4\">Name</th><th scope=\"col\" class=\"text-left pr-4\">In</th><th scope=\"col\" class=\"text-left\">Description</th></tr>");
        for p in params {
            out.push_str(&format!(
                "<tr><td class=\"font-mono pr-4\">{}</td><td class=\"pr-4\">{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                esc(p["in"].as_str().unwrap_or("")),
                esc(p["description"].as_str().unwrap_or(""))
            ));
        }
        out.push_str("</table>");
    }
    if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
        out.push_str(&format!(
            "<p>Body: <code>{}</code></p>",
            esc(&schema_name(schema))
        ));
        let example = &doc["components"]["schemas"][schema_name(schema)]["example"];
        if !example.is_null() {
            let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
            out.push_str(&format!(
                "<pre class=\"overflow-x-auto rounded bg-slate-100 p-2 text-sm dark:bg-slate-800\" aria-label=\"Example body\">{}</pre>",
                esc(&pretty)
            ));
        }
    }
    out.push_str("<ul class=\"text-sm\">");
    if let Some(responses) = op["responses"].as_object() {
        for (code, r) in responses {
            out.push_str(&format!(
                "<li><span class=\"font-mono\">{}</span> {}</li>",
                esc(code),
                esc(r["description"].as_str().unwrap_or(""))
            ));
        }
    }
    out.push_str("</ul></article>");
    out
}

pub fn html_response(page: &str) -> Response {
    Html(page.to_string()).into_response()
}
