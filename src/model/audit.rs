//! Audit events as shown in the console.
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: i64,
    /// Unix epoch milliseconds (UTC).
    pub occurred_at: i64,
    pub actor_subject: Option<String>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass back to fetch the next (older) page; `None` when this is the last page.
    pub next_before: Option<i64>,
}

/// One event on its own page (`/audit/events/<seq>`, `GET /api/v1/audit/events/{seq}`): a
/// sentence, the fields it changed, and where it sits in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEventDetail {
    pub event: AuditEvent,
    /// Who did what to what, and how it ended, in words.
    pub summary: String,
    /// The hash this event links to: the event before's (the genesis hash for the first event).
    pub prev_hash: String,
    /// The hash recomputed from the event's fields and `prev_hash` is the stored one.
    pub hash_verifies: bool,
    /// The event before, while the log still holds it (retention removes the oldest).
    pub previous: Option<ChainNeighbour>,
    /// The event after, if there is one yet.
    pub next: Option<ChainNeighbour>,
    /// Before and after of each field the event changed, as its details record them.
    pub changes: Vec<FieldChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChainNeighbour {
    pub seq: i64,
    pub action: String,
    pub hash: String,
    /// The link holds: for the event before, its hash is this event's `prev_hash`; for the
    /// event after, its `prev_hash` is this event's hash.
    pub links: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    /// `—` when the field had no value (created).
    pub before: String,
    /// `—` when the field has no value any more (removed).
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub audit_events: i64,
    pub sign_ins_24h: i64,
    pub denied_24h: i64,
    pub recent: Vec<AuditEvent>,
}

/// Audit-page filters; they live in the URL so a filtered view can be bookmarked and shared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    /// A quick range ending now: `1h`, `24h`, `7d` or `30d`; ignored when `from` is set.
    pub range: String,
    /// UTC date (`2026-11-23`) or date and time (`2026-11-23T10:00`), inclusive.
    pub from: String,
    /// UTC date or date and time, exclusive; a bare date means the end of that day.
    pub to: String,
    /// The actor's email, exactly.
    pub actor: String,
    /// An action (`user.update`) or a whole area (`user.*`).
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    pub ip: String,
    /// Keyset cursor: only events older than this position.
    pub before: Option<i64>,
}

impl AuditQuery {
    pub fn is_filtered(&self) -> bool {
        [
            &self.range,
            &self.from,
            &self.to,
            &self.actor,
            &self.action,
            &self.target_type,
            &self.target_id,
            &self.outcome,
            &self.ip,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// The query string of this view (without the cursor unless `with_cursor`).
    pub fn to_query_string(&self, with_cursor: bool) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("target_type", &self.target_type),
            ("target_id", &self.target_id),
            ("outcome", &self.outcome),
            ("ip", &self.ip),
        ] {
            if !v.trim().is_empty() {
                parts.push(format!("{k}={}", crate::model::time::url_encode(v.trim())));
            }
        }
        if let (true, Some(b)) = (with_cursor, self.before) {
            parts.push(format!("before={b}"));
        }
        parts.join("&")
    }
}

pub const QUICK_RANGES: [(&str, &str, i64); 4] = [
    ("1h", "Last hour", 3_600_000),
    ("24h", "Last 24 hours", 86_400_000),
    ("7d", "Last 7 days", 7 * 86_400_000),
    ("30d", "Last 30 days", 30 * 86_400_000),
];

/// Actions by area, for the filter. `area.*` selects a whole area.
pub const ACTION_GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "Sign-in and access",
        "auth.*",
        &["auth.sign_in", "auth.sign_out", "access.denied"],
    ),
    (
        "Users",
        "user.*",
        &[
            "user.create",
            "user.update",
            "user.status",
            "user.link",
            "user.unlink",
            "user.purge",
            "user.revoke_everywhere",
            "user.sign_out_everywhere",
        ],
    ),
    (
        "Bulk, import and export of users",
        "users.*",
        &["users.bulk", "users.import", "users.export"],
    ),
    ("People (GUIDs)", "guid.*", &["guid.merge"]),
    (
        "Revoke and sign out everywhere",
        "person.*",
        &[
            "person.revoke_everywhere",
            "person.revoke_everywhere.settled",
            "person.sign_out_everywhere",
            "person.sign_out_everywhere.settled",
        ],
    ),
    (
        "MFA and the support desk",
        "mfa.*",
        &[
            "mfa.reset",
            "mfa.factor.add",
            "mfa.factor.remove",
            "mfa.enrollment_link.used",
        ],
    ),
    (
        "Devices",
        "device.*",
        &[
            "device.register",
            "device.trust",
            "device.untrust",
            "device.block",
            "device.remove",
        ],
    ),
    ("Bulk device actions", "devices.*", &["devices.bulk_block"]),
    (
        "Audit log",
        "audit.*",
        &[
            "audit.export",
            "audit.verify",
            "audit.sink.create",
            "audit.sink.update",
            "audit.sink.delete",
            "audit.sink.replay",
            "audit.sink.pause",
            "audit.sink.resume",
        ],
    ),
    (
        "Service accounts",
        "service_account.*",
        &["service_account.create", "service_account.status"],
    ),
    (
        "API tokens",
        "api_token.*",
        &["api_token.create", "api_token.rotate", "api_token.revoke"],
    ),
];

/// The chain head at a moment, optionally signed (see docs/audit-chain.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub created_at: i64,
    /// Hex Ed25519 public key; `None` when Gatehouse has no signing key.
    pub public_key: Option<String>,
    pub signature: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointsView {
    /// Hex Ed25519 public key of this Gatehouse, if it signs checkpoints.
    pub public_key: Option<String>,
    /// Newest first, each with whether its signature verifies.
    pub checkpoints: Vec<(Checkpoint, bool)>,
}

/// A prepared export: the download URL carries the job whose progress the page follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportTicket {
    pub job: String,
    pub url: String,
    pub total: u64,
}
