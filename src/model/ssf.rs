//! Shared Signals (OpenID SSF 1.0), Gatehouse as transmitter: receivers an administrator
//! registers, each with one stream it configures itself. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// Subject formats a receiver may ask its events to name people by (RFC 9493).
pub const SUBJECT_FORMATS: [(&str, &str); 3] = [
    ("email", "Email address"),
    ("iss_sub", "Issuer and account id (iss_sub)"),
    ("opaque", "The person's GUID (opaque)"),
];

/// What an administrator sets when registering a receiver.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Payroll sessions", "application_id": "", "audience": "https://payroll.example.com", "subject_format": "email", "max_attempts": "8"})))]
#[serde(default)]
pub struct ReceiverInput {
    pub name: String,
    /// The application this receiver belongs to; empty: a global receiver.
    pub application_id: String,
    /// The `aud` of its Security Event Tokens (the receiver's URL or client id).
    pub audience: String,
    /// `email`, `iss_sub` or `opaque` (the GUID).
    pub subject_format: String,
    /// Attempts before a token is dead-lettered (1 to 50; empty: 8).
    pub max_attempts: String,
}

/// A token to a receiver that failed: still retrying, or dead-lettered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignalFailure {
    /// The outbox message's number.
    pub seq: i64,
    /// The token's `jti`.
    pub jti: String,
    /// `pending` (will be retried) or `dead`.
    pub state: String,
    pub attempts: i64,
    /// The receiver's answer, or why it could not be reached.
    pub error: String,
    /// Unix ms of the next attempt (pending) or of the last one (dead).
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiverView {
    /// Also the stream's `stream_id`.
    pub id: String,
    pub name: String,
    pub application_id: Option<String>,
    pub audience: String,
    pub subject_format: String,
    /// The bearer token's last characters.
    pub token_hint: String,
    /// The receiver has created its stream (SSF management API).
    pub configured: bool,
    /// Where tokens are pushed (RFC 8935); empty until configured.
    pub endpoint_url: String,
    pub events_requested: Vec<String>,
    pub events_delivered: Vec<String>,
    pub description: String,
    /// `enabled`, `paused` or `disabled` (SSF stream status).
    pub status: String,
    pub status_reason: String,
    pub max_attempts: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Unix ms of the last verification request; 0: none.
    pub verified_at: i64,
    /// Unix ms of the last accepted push; 0: none yet.
    pub last_success_at: i64,
    pub pending: i64,
    pub dead: i64,
    /// Newest first, at most 20 (empty in lists).
    pub failures: Vec<SignalFailure>,
}

/// A receiver with its bearer token, returned once when it is registered or the token rotated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiverWithToken {
    pub receiver: ReceiverView,
    /// `ghr_…`: the receiver calls Gatehouse's SSF management API with it. Never shown again.
    pub token: String,
}
