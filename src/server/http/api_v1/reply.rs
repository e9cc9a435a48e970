//! What every API handler shares: JSON in (with problems instead of axum's plain-text
//! rejections), errors as problems, `ETag`/`If-Match`, cursor pages and `Idempotency-Key`.
use super::caller::{problem, ApiCaller};
use super::problem::{Kind, Problem};
use crate::model::AppError;
use crate::server::db::api_tokens::StoredAnswer;
use crate::server::service::idempotency::{self, Claim};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub type ApiResult = Result<Response, Problem>;

/// Pages hold at most this many items; `limit` defaults to [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

/// A service error as a problem of this request.
pub fn fail(state: &AppState, error: AppError) -> Problem {
    Problem::from_error(&state.config.public_url, &error)
        .with_instance(crate::server::http::request_id::current())
}

/// [`fail`] for a change made against a version: "changed by someone else" is a failed
/// precondition (412), as the `If-Match` the caller sent no longer matches.
pub fn fail_versioned(state: &AppState, error: AppError) -> Problem {
    match &error {
        AppError::Conflict(message) if message.contains("changed by someone else") => {
            problem(state, Kind::PreconditionFailed, message.clone())
        }
        _ => fail(state, error),
    }
}

/// A JSON body; a body that is not the documented JSON is a 400 problem, never a plain-text
/// rejection.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        // Every body of this API is an object; serde would also read a struct from an array
        // (`[]` fills an all-optional struct), so the shape is checked before the fields.
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value @ serde_json::Value::Object(_))) => value,
            Ok(_) => {
                return Err(problem(
                    state,
                    Kind::Invalid,
                    "The body must be a JSON object.",
                ))
            }
            Err(rejection) => return Err(problem(state, Kind::Invalid, json_problem(&rejection))),
        };
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            problem(
                state,
                Kind::Invalid,
                format!("The body is not the expected JSON: {e}"),
            )
        })
    }
}

fn json_problem(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Send the body as JSON with `Content-Type: application/json`.".into()
        }
        other => format!("The body is not the expected JSON: {}", other.body_text()),
    }
}

/// Query parameters; unknown values are a 400 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(problem(state, Kind::Invalid, query_problem(&rejection))),
        }
    }
}

fn query_problem(rejection: &QueryRejection) -> String {
    format!("The query string is not valid: {}", rejection.body_text())
}

/// `200` (or `status`) with a JSON body.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A versioned resource: its JSON with `ETag: "v<version>"`.
pub fn versioned<T: Serialize>(status: StatusCode, value: &T, version: i64) -> Response {
    let mut res = json(status, value);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The version an update is made against, from `If-Match` (required: 428 without it; a value
/// that is no version of ours can never match: 412). `None` for `If-Match: *`, which matches
/// whatever version is current (RFC 9110): the caller then updates against the current one.
pub fn if_match(state: &AppState, headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Err(problem(
            state,
            Kind::PreconditionRequired,
            "Send If-Match with the ETag you read, so a change made since is not overwritten.",
        ));
    };
    if raw.to_str().is_ok_and(|v| v.trim() == "*") {
        return Ok(None);
    }
    raw.to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/"))
        .and_then(|v| v.strip_prefix("\"v"))
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            problem(
                state,
                Kind::PreconditionFailed,
                "If-Match does not match the current version of this resource.",
            )
        })
}

/// `limit` and `after` of a list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl PageParams {
    pub fn limit(&self, state: &AppState) -> Result<i64, Problem> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n as i64),
            n => Err(fail(
                state,
                AppError::invalid("limit", format!("limit must be 1 to {MAX_LIMIT} (got {n})")),
            )),
        }
    }
}

/// A page of a list: the items, and the cursor of the next page (also in `Link: rel="next"`).
pub fn page<T: Serialize>(
    state: &AppState,
    path: &str,
    items: &[T],
    next: Option<String>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a, T> {
        items: &'a [T],
        next: Option<String>,
    }
    let mut res = json(
        StatusCode::OK,
        &Page {
            items,
            next: next.clone(),
        },
    );
    if let Some(next) = next {
        let mut url = url::Url::parse(&format!("{}{path}", state.config.public_url))
            .unwrap_or_else(|_| url::Url::parse("http://localhost/").unwrap());
        url.query_pairs_mut().append_pair("after", &next);
        if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    res
}

/// Runs a creating request once per `Idempotency-Key` (when the caller sends one): a retry gets
/// the first answer again.
pub async fn idempotent<F>(
    state: &AppState,
    caller: &ApiCaller,
    headers: &HeaderMap,
    request_body: &str,
    run: F,
) -> ApiResult
where
    F: std::future::Future<Output = ApiResult>,
{
    let Some(raw) = headers.get("idempotency-key") else {
        return run.await;
    };
    let key = match raw.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= idempotency::MAX_KEY => k.to_string(),
        _ => {
            return Err(fail(
                state,
                AppError::invalid(
                    "Idempotency-Key",
                    format!(
                        "Idempotency-Key must be 1 to {} visible characters",
                        idempotency::MAX_KEY
                    ),
                ),
            ))
        }
    };
    let token = &caller.caller.token.id;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        request_body.as_bytes(),
    ));
    let now = state.clock.now_secs() * 1000;
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "idempotency record");
        fail(state, AppError::Internal)
    };
    match idempotency::claim(&state.db, token, &key, &hash, now)
        .await
        .map_err(internal)?
    {
        Claim::Replay(answer) => Ok(replay(answer)),
        Claim::Mismatch => Err(problem(
            state,
            Kind::IdempotencyMismatch,
            "This Idempotency-Key was used with another request body; use a new key for a new request.",
        )),
        Claim::InProgress => Err(problem(
            state,
            Kind::Conflict,
            "A request with this Idempotency-Key is still running; retry in a moment.",
        )),
        Claim::Fresh => {
            let res = match run.await {
                Ok(res) => res,
                Err(p) => p.into_response(),
            };
            if res.status().is_server_error() {
                let _ = idempotency::release(&state.db, token, &key).await;
                return Ok(res);
            }
            let (parts, body) = res.into_parts();
            let bytes = axum::body::to_bytes(body, 4 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let answer = StoredAnswer {
                request_hash: hash,
                status: parts.status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
                location: parts
                    .headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            };
            if let Err(e) = idempotency::complete(&state.db, token, &key, &answer).await {
                tracing::error!(error = %e, "could not store an idempotent answer");
            }
            Ok(axum::response::Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut res = (status, answer.body).into_response();
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(Ok(v)) = answer.location.map(|l| HeaderValue::from_str(&l)) {
        h.insert(header::LOCATION, v);
    }
    res
}
