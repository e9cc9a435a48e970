//! `POST /api/v1/keys/verify`: API gateways ask whether a presented key is valid. The gateway
//! authenticates with its own key (`Authorization: Bearer ghk_...`, holding the scope
//! `gatehouse:keys.verify`). Valid, invalid, expired and revoked keys all answer 200 with the
//! same shape; failures are rate limited per client IP. Contract: docs/api-keys.md.
use crate::model::apps::VERIFY_SCOPE;
use crate::server::service::verify::{Verdict, Verifier};
use crate::server::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

/// Requests are small JSON documents; anything bigger is refused before parsing.
pub const MAX_BODY: usize = 8 * 1024;

#[derive(Deserialize)]
struct VerifyRequest {
    key: String,
    /// The address of the gateway's own client, so failures are limited per end client.
    #[serde(default)]
    client_ip: Option<String>,
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    let mut res = json(status, body);
    match status {
        StatusCode::UNAUTHORIZED => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        StatusCode::TOO_MANY_REQUESTS => {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        _ => {}
    }
    res
}

fn too_many() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many failed verifications from this client; try again in a minute",
    )
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Keys cannot be checked right now (database unreachable); retry shortly",
    )
}

/// Checks the gateway's own credential; `Err` is the answer to send.
async fn authenticate_caller(
    verifier: &Verifier,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<(), Response> {
    if verifier.limited(Some(peer)) {
        return Err(too_many());
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(bearer) = bearer else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Send the gateway's own key as Authorization: Bearer <key>",
        ));
    };
    match verifier.verify(bearer).await {
        Ok(Verdict::Valid(k)) if k.row.scopes.iter().any(|s| s == VERIFY_SCOPE) => Ok(()),
        Ok(Verdict::Valid(_)) => Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The caller's key lacks the scope gatehouse:keys.verify",
        )),
        Ok(Verdict::Refused(_)) => {
            verifier.failed(Some(peer));
            Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "The caller's key is not valid",
            ))
        }
        Err(_) => Err(unavailable()),
    }
}

pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verifier = &state.verifier;
    if let Err(answer) = authenticate_caller(verifier, &headers, peer.ip()).await {
        return answer;
    }
    let request: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("Expected a JSON object {{\"key\": \"ghk_...\"}}: {e}"),
            )
        }
    };
    let client = match request.client_ip.as_deref().map(str::parse::<IpAddr>) {
        None => peer.ip(),
        Some(Ok(ip)) => ip,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "client_ip is not an IP address",
            )
        }
    };
    if verifier.limited(Some(client)) {
        return too_many();
    }
    match verifier.verify(&request.key).await {
        Ok(Verdict::Valid(k)) => json(StatusCode::OK, k.valid_body.clone()),
        Ok(Verdict::Refused(reason)) => {
            verifier.failed(Some(client));
            let body = format!("{{\"valid\":false,\"reason\":\"{}\"}}", reason.as_str());
            json(StatusCode::OK, body)
        }
        Err(_) => unavailable(),
    }
    .into_response()
}
