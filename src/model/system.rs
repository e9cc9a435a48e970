//! Instances and their background work, as administrators see them (issue 17, several
//! instances). Nothing here touches I/O.
use serde::{Deserialize, Serialize};

/// What each instance runs, and which instance runs what once for all of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BackgroundWork {
    /// The instance that answered this request (`GATEHOUSE_INSTANCE_ID`, or host-pid-suffix).
    pub answered_by: String,
    /// When that instance's process started (Unix milliseconds).
    pub answered_by_started_at: i64,
    /// `sqlite` (one instance only) or `postgres`.
    pub engine: String,
    /// The answering instance's time (Unix milliseconds): what `held` was judged by.
    pub now: i64,
    /// The tasks that run once across all instances, each on the instance holding its lease.
    pub tasks: Vec<BackgroundTask>,
    /// Delivery to each provisioning target, webhook endpoint, Shared Signals receiver and SIEM
    /// sink: one instance at a time per destination, with a lease of its own.
    pub deliveries: Vec<DeliveryLease>,
}

/// A task that runs once across instances (`user_purge`, `audit_checkpoint`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BackgroundTask {
    pub task: String,
    /// The instance that holds (or last held) the lease; `None` once released.
    pub holder: Option<String>,
    /// The lease is live: `holder` runs the task. False when the holder stopped renewing (it
    /// died, or is stopping); another instance takes over.
    pub held: bool,
    /// When the holder's process started (Unix milliseconds; 0 when free).
    pub holder_started_at: i64,
    /// Since when the holder has held the task.
    pub acquired_at: i64,
    pub renewed_at: i64,
    pub lease_until: i64,
    /// How often the task runs (milliseconds).
    pub every_ms: i64,
    /// Runs so far, by every holder together.
    pub runs: i64,
    /// When the last run started (0: never).
    pub last_run_at: i64,
    /// The last run's error; empty when it succeeded.
    pub last_error: String,
}

/// A destination's delivery lease.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryLease {
    /// `provisioning`, `webhook`, `signals` or `audit_sink`.
    pub kind: String,
    /// The application's id for provisioning (one target each), else the destination's.
    pub id: String,
    /// The application (provisioning), the URL (webhook) or the name.
    pub name: String,
    pub status: String,
    /// The instance delivering to it now; `None` while nobody is (deliveries take turns).
    pub holder: Option<String>,
    pub lease_until: i64,
    /// The last successful delivery (Unix milliseconds; 0: never).
    pub last_success_at: i64,
}

impl DeliveryLease {
    /// Where the console shows the destination.
    pub fn href(&self) -> String {
        match self.kind.as_str() {
            "webhook" => format!("/webhooks/{}", self.id),
            "signals" => format!("/signals/{}", self.id),
            "audit_sink" => format!("/audit/sinks/{}", self.id),
            _ => format!("/apps/{}", self.id),
        }
    }

    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "provisioning" => "Provisioning (SCIM)",
            "webhook" => "Webhook",
            "signals" => "Shared Signals receiver",
            "audit_sink" => "SIEM sink",
            _ => "Delivery",
        }
    }
}

/// What this instance is and how it is set up, as administrators and auditors see it on
/// `/system` (issue 18): evidence of the configuration, secrets redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SystemInfo {
    /// The release (`Cargo.toml`'s version).
    pub version: String,
    /// The commit it was built from (`GATEHOUSE_BUILD_COMMIT` at build time; `unknown` without).
    pub commit: String,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// The checks of `/readyz`: database, identity provider, signing key, secrets key.
    pub checks: Vec<ReadinessCheck>,
    /// Every setting read at start, by name.
    pub settings: Vec<Setting>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadinessCheck {
    pub name: String,
    pub ok: bool,
    /// Without it the instance does not serve (the load balancer takes it out).
    pub required: bool,
    pub detail: String,
}

/// One `GATEHOUSE_*` setting as the instance read it at start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Setting {
    pub name: String,
    /// As set; `None` when not set (its default applies, README "Settings"). A secret shows as
    /// `(set, redacted)`; a database URL without its password.
    pub value: Option<String>,
    pub redacted: bool,
}

/// What a task does, for the console.
pub fn describe_task(task: &str) -> &'static str {
    match task {
        "user_purge" => "Purges deprovisioned users whose restore window has ended",
        "audit_checkpoint" => "Checkpoints the audit chain's head",
        "audit_retention" => "Archives and removes audit events past retention",
        "session_cleanup" => "Forgets expired sessions and received event ids",
        "planner_statistics" => "Refreshes SQLite's planner statistics",
        "reconciliation" => "Runs the scheduled reconciliations that are due",
        _ => "",
    }
}
