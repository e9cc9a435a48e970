//! `POST /api/v1/keys/verify`: API gateways ask whether a presented key is valid. The gateway
//! authenticates with its own key (`Authorization: Bearer ghk_...`, holding the scope
//! `gatehouse:keys.verify`). Valid, invalid, expired and revoked keys all answer 200 with the
//! same shape. Failures are limited apart: unauthenticated callers per address, and keys a
//! gateway presents per gateway and reported end client. Contract: docs/api-keys.md.
use crate::model::apps::VERIFY_SCOPE;
use crate::server::http::client_ip::ClientIp;
use crate::server::service::verify::{Verdict, Verifier};
use crate::server::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
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

fn too_many(message: &str) -> Response {
    error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Keys cannot be checked right now (database unreachable); retry shortly",
    )
}

/// Checks the gateway's own credential; `Ok` is the gateway key's id, `Err` the answer to send.
/// The caller's key is checked before any limit: failures of unauthenticated callers from the
/// same address (a gateway's own users, everyone behind one proxy) never refuse a valid gateway.
async fn authenticate_caller(
    verifier: &Verifier,
    headers: &HeaderMap,
    client: IpAddr,
) -> Result<String, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let refused = |message: &str| {
        if verifier.anonymous_limited(client) {
            return too_many("Too many failed attempts from this address; try again in a minute");
        }
        verifier.anonymous_failed(client);
        error(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    };
    let Some(bearer) = bearer else {
        return Err(refused(
            "Send the gateway's own key as Authorization: Bearer <key>",
        ));
    };
    match verifier.verify(bearer).await {
        Ok(Verdict::Valid(k)) if k.row.scopes.iter().any(|s| s == VERIFY_SCOPE) => {
            crate::server::http::request_id::note_principal(&format!("key:{}", k.row.id));
            Ok(k.row.id.clone())
        }
        Ok(Verdict::Valid(_)) => Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The caller's key lacks the scope gatehouse:keys.verify",
        )),
        Ok(Verdict::Refused(_)) => Err(refused("The caller's key is not valid")),
        Err(_) => Err(unavailable()),
    }
}

pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    client_ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verifier = &state.verifier;
    let caller_ip = client_ip
        .map(|Extension(ClientIp(ip))| ip)
        .unwrap_or(peer.ip());
    let gateway = match authenticate_caller(verifier, &headers, caller_ip).await {
        Ok(gateway) => gateway,
        Err(answer) => return answer,
    };
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
    // Failures are limited per end client the gateway reports; without one, nothing is limited,
    // so a gateway is never refused because of its own users (docs/api-keys.md).
    let client = match request
        .client_ip
        .as_deref()
        .map(|ip| ip.trim().parse::<IpAddr>())
    {
        None => None,
        Some(Ok(ip)) => Some(ip.to_canonical()),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "client_ip is not an IP address",
            )
        }
    };
    if client.is_some_and(|ip| verifier.client_limited(&gateway, ip)) {
        state.metrics.note_key_verification("rate_limited");
        return too_many("Too many failed verifications for this client; try again in a minute");
    }
    match verifier.verify(&request.key).await {
        Ok(Verdict::Valid(k)) => {
            state.metrics.note_key_verification("valid");
            json(StatusCode::OK, k.valid_body.clone())
        }
        Ok(Verdict::Refused(reason)) => {
            state.metrics.note_key_verification(reason.as_str());
            if let Some(ip) = client {
                verifier.client_failed(&gateway, ip);
            }
            let body = format!("{{\"valid\":false,\"reason\":\"{}\"}}", reason.as_str());
            json(StatusCode::OK, body)
        }
        Err(_) => {
            state.metrics.note_key_verification("unavailable");
            unavailable()
        }
    }
    .into_response()
}
