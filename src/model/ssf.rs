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

// ------------------------------------------------------------ Gatehouse as receiver --

/// What an administrator sets when registering a transmitter (an identity provider, an MDM)
/// that pushes Security Event Tokens to Gatehouse.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Corporate IdP", "issuer": "https://idp.example.com", "jwks_uri": "", "audience": "", "source_id": "", "max_age_seconds": 0})))]
#[serde(default)]
pub struct TransmitterInput {
    pub name: String,
    /// The `iss` of its tokens (https; http only for localhost).
    pub issuer: String,
    /// Where its keys are; empty: discovered from `/.well-known/ssf-configuration` of the issuer.
    pub jwks_uri: String,
    /// The `aud` its tokens must carry; empty: Gatehouse's public URL.
    pub audience: String,
    /// The provisioning source whose users its subjects name; empty: every user.
    pub source_id: String,
    /// Tokens older than this (by `iat`) are refused; 0: 86400 (a day).
    pub max_age_seconds: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransmitterView {
    /// `sst_…`; the audit log names the transmitter `sst:<id>`.
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    pub source_id: Option<String>,
    /// `active` or `disabled` (its tokens are refused).
    pub status: String,
    pub max_age_seconds: i64,
    /// Usable keys in the cached JWKS.
    pub key_count: usize,
    /// Unix ms of the last fetch of its keys; 0: never.
    pub keys_fetched_at: i64,
    /// Unix ms of the last accepted token; 0: none yet.
    pub last_received_at: i64,
    /// Tokens accepted.
    pub received: i64,
    /// Tokens refused.
    pub rejected: i64,
    /// Why the last token was refused or the last key fetch failed; empty: nothing.
    pub last_error: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// One accepted token and what it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceivedSet {
    pub jti: String,
    pub event_type: String,
    pub received_at: i64,
    /// `applied`, `unmatched` (no user has that subject) or `ignored` (nothing to do).
    pub result: String,
    pub user_id: Option<String>,
    /// One line: what changed, or why nothing did.
    pub summary: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TransmitterDetail {
    pub transmitter: TransmitterView,
    /// The newest 50 accepted tokens, newest first.
    pub recent: Vec<ReceivedSet>,
    /// Where the transmitter pushes its tokens: `<public URL>/ssf/receive`.
    pub push_url: String,
}
