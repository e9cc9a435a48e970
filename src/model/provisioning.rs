//! Provisioning out: an application's SCIM 2.0 target and the state of its deliveries.
//! Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// Attributes a target may receive besides the ones always sent (`userName`, `externalId`,
/// `active`).
pub const OPTIONAL_ATTRIBUTES: [(&str, &str); 4] = [
    (
        "name",
        "Names (name.givenName, name.familyName, name.formatted)",
    ),
    ("displayName", "Display name"),
    ("emails", "Email (emails, primary)"),
    ("phoneNumbers", "Phone number"),
];

pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;
pub const MAX_MAX_ATTEMPTS: i64 = 50;

/// What an administrator sets. An empty credential keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"base_url": "https://wiki.example.com/scim/v2", "credential": "token-from-the-application", "attributes": ["name", "displayName", "emails"], "preferred_source": "", "status": "active", "max_attempts": "8", "reconcile_every_hours": "24"})))]
#[serde(default)]
pub struct TargetInput {
    /// The SCIM service provider's base URL (`https://app.example.com/scim/v2`).
    pub base_url: String,
    /// The bearer token Gatehouse sends; stored encrypted, never shown again. Empty keeps it.
    pub credential: String,
    /// Optional attributes sent (see OPTIONAL_ATTRIBUTES).
    pub attributes: Vec<String>,
    /// A provisioning source whose account of a person is sent first; empty: the oldest
    /// active account.
    pub preferred_source: String,
    /// `active` or `paused` (messages wait, nothing is sent).
    pub status: String,
    /// Attempts before a message is dead-lettered (1 to 50; empty: 8).
    pub max_attempts: String,
    /// Hours between scheduled reconciliations (check and fix all), 0 to 720; empty or 0: off.
    pub reconcile_every_hours: String,
}

/// A message that failed: still retrying, or dead-lettered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryFailure {
    /// The message's stable id (also its order within the target).
    pub seq: i64,
    /// What the message is about: a person (GUID), or a group (`group:<group id>`).
    pub guid: String,
    /// `pending` (will be retried) or `dead`.
    pub state: String,
    pub attempts: i64,
    /// The target's answer, or why it could not be reached.
    pub error: String,
    /// Unix ms of the next attempt (pending) or of the last one (dead).
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TargetView {
    pub id: String,
    pub application_id: String,
    pub base_url: String,
    /// The credential's last characters.
    pub credential_hint: String,
    pub attributes: Vec<String>,
    pub preferred_source: Option<String>,
    pub status: String,
    pub max_attempts: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Unix ms of the last successful delivery; 0: none yet.
    pub last_success_at: i64,
    pub pending: i64,
    pub dead: i64,
    /// Accounts Gatehouse made there, and how many of them are active.
    pub accounts: i64,
    pub active_accounts: i64,
    /// SCIM Groups Gatehouse made there (the application's groups).
    pub groups: i64,
    /// Newest first, at most 20.
    pub failures: Vec<DeliveryFailure>,
    /// Hours between scheduled reconciliations; 0: none.
    pub reconcile_every_hours: i64,
    /// Unix ms of the next scheduled reconciliation; 0: none.
    pub reconcile_next_at: i64,
}

/// A person's account in one application's target, as Gatehouse last left it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProvisionedAccount {
    pub application_id: String,
    pub application_name: String,
    /// `active`, `inactive`, `none` (not there), with `pending` or `failing` messages shown apart.
    pub state: String,
    /// The account's id in the application.
    pub remote_id: Option<String>,
    pub synced_at: i64,
    /// Messages about this person still to deliver, and the newest error if any.
    pub pending: i64,
    pub last_error: Option<String>,
}
