//! Signed webhooks: endpoints that hear of audit events, signed per the Standard Webhooks
//! convention. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// Areas offered in the console's event picker; any area or action of the audit log may be
/// given, these are the common ones.
pub const EVENT_AREAS: [(&str, &str); 11] = [
    ("*", "Everything in the audit log"),
    ("user", "Users: created, changed, status, links, purges"),
    ("users", "Bulk user jobs and imports"),
    ("guid", "People (GUIDs): merges"),
    ("group", "Groups and their members"),
    ("application", "Applications, assignments and provisioning"),
    ("api_key", "API keys"),
    ("mfa", "MFA resets and factors"),
    ("device", "Devices"),
    ("auth", "Console sign-ins"),
    ("webhook", "Webhook endpoints themselves"),
];

pub const MAX_EVENTS: usize = 50;

/// What an administrator sets for an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"url": "https://hooks.example.com/gatehouse", "description": "HR sync", "events": ["user", "group.member.add"], "status": "active", "max_attempts": "8"})))]
#[serde(default)]
pub struct WebhookInput {
    /// Where events are POSTed (HTTPS; plain HTTP only for localhost).
    pub url: String,
    pub description: String,
    /// `*`, areas (`user`) or actions (`user.update`); an area matches its actions and
    /// sub-areas.
    pub events: Vec<String>,
    /// `active` or `paused` (events wait, nothing is sent).
    pub status: String,
    /// Attempts before a message is dead-lettered (1 to 50; empty: 8).
    pub max_attempts: String,
}

/// A message to an endpoint that failed: still retrying, or dead-lettered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookFailure {
    /// The message's stable id (`webhook-id` is `msg_` and this number).
    pub seq: i64,
    /// The audit event's sequence number.
    pub event: i64,
    /// `pending` (will be retried) or `dead`.
    pub state: String,
    pub attempts: i64,
    /// The endpoint's answer, or why it could not be reached.
    pub error: String,
    /// Unix ms of the next attempt (pending) or of the last one (dead).
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub status: String,
    pub max_attempts: i64,
    /// The signing secret's last characters.
    pub secret_hint: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Unix ms of the last successful delivery; 0: none yet.
    pub last_success_at: i64,
    pub pending: i64,
    pub dead: i64,
    /// Newest first, at most 20 (empty in lists).
    pub failures: Vec<WebhookFailure>,
}

/// An endpoint with its signing secret, returned once when it is made or the secret rotated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    pub endpoint: WebhookView,
    /// `whsec_` and base64 of 32 random bytes; verify signatures with it. Never shown again.
    pub secret: String,
}
