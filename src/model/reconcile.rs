//! Reconciliation of a provisioning target: what the application holds compared with what
//! Gatehouse decides (the drift), and the fixes. Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// The longest schedule a target may have (30 days); 0 turns the schedule off.
pub const MAX_RECONCILE_EVERY_HOURS: i64 = 720;
/// Drift rows kept per report; the counts cover every row.
pub const MAX_REPORT_ROWS: usize = 1_000;

/// The kinds of drift, in the order the page lists them.
pub const DRIFT_KINDS: [(&str, &str); 4] = [
    ("missing", "Missing there"),
    ("extra", "Extra there"),
    ("different", "Different there"),
    ("inactive_here_active_there", "Inactive here, active there"),
];

/// The label of a drift kind for people.
pub fn drift_label(kind: &str) -> &'static str {
    DRIFT_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, label)| *label)
        .unwrap_or("Drift")
}

/// One account where the application and Gatehouse disagree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DriftRow {
    /// The person's GUID: the account's `externalId` there.
    pub guid: String,
    /// `missing` (should be there, is not), `extra` (active there, not assigned here or an
    /// unknown GUID), `different` (an attribute Gatehouse sends differs, or it is inactive
    /// there while it should be active), `inactive_here_active_there`.
    pub kind: String,
    /// The account's id there (none when missing).
    pub remote_id: Option<String>,
    /// The `userName` there, or the one Gatehouse sends when the account is missing.
    pub user_name: String,
    /// Whether the account there is active (false when missing).
    pub active_there: bool,
    /// For `different`: the attributes that differ (`userName`, `active`, `name`, ...).
    pub attributes: Vec<String>,
    /// Whether a person in Gatehouse has this GUID. A fix deactivates an extra account of an
    /// unknown GUID (never deletes it).
    pub known: bool,
    /// `open`, `fixed` or `failed`.
    pub state: String,
    /// Why the last fix of this row failed.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DriftCounts {
    pub missing: i64,
    pub extra: i64,
    pub different: i64,
    pub inactive_here_active_there: i64,
    /// Users there without an `externalId`: not Gatehouse's, never drift.
    pub unmanaged: i64,
    /// People who should have an account there, or had one made by Gatehouse.
    pub checked_here: i64,
    /// Users read from the application.
    pub read_there: i64,
    /// Rows fixed and rows whose fix failed since the check.
    pub fixed: i64,
    pub failed: i64,
}

impl DriftCounts {
    /// Every kind of drift found by the check.
    pub fn drift(&self) -> i64 {
        self.missing + self.extra + self.different + self.inactive_here_active_there
    }
}

/// The last check of a target, kept until the next one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationReport {
    pub application_id: String,
    pub target_id: String,
    /// Unix ms of the check.
    pub checked_at: i64,
    /// Who ran it: an email, or `system` for a scheduled check.
    pub checked_by: String,
    /// Why the check could not be made (the target did not answer); no rows then.
    pub error: Option<String>,
    pub counts: DriftCounts,
    /// At most 1,000 rows, by kind then GUID; `truncated` when there were more.
    pub rows: Vec<DriftRow>,
    pub truncated: bool,
    /// Unix ms of the last fix; 0: none yet.
    pub fixed_at: i64,
}

impl ReconciliationReport {
    /// Rows still to fix (open, or whose fix failed).
    pub fn open_rows(&self) -> usize {
        self.rows.iter().filter(|r| r.state != "fixed").count()
    }
}

/// Which drift to fix: one person's row (`guid`) or every open row (`all`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"guid": "g_01h2xcejqtf2nbrexx3vqjhp41"})))]
#[serde(default)]
pub struct FixRequest {
    /// The GUID of one drift row of the last check.
    pub guid: Option<String>,
    /// Fix every row of the last check not fixed yet.
    pub all: bool,
}
