//! Reconciliation of a provisioning target: reads the application's Users (paged), compares
//! them by `externalId` (the person's GUID) with what Gatehouse decides for each person, keeps
//! the report, and fixes the drift through the worker's own code (scim_out::sync_person).
//!
//! Gatehouse's side is everyone assigned (directly or through a group) plus every account it
//! made there; Users without an `externalId` are the application's own and are only counted.
//! A fix holds the target's delivery lease, so the worker and a fix never send one person at
//! once; an extra account of an unknown GUID is deactivated, never deleted
//! (docs/decisions.md, "Reconciliation").
use crate::model::reconcile::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::clock::Clock;
use crate::server::config::OutboxPolicy;
use crate::server::db::{self, provisioning::Target, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::scim_out::{self, Client};
use drift::{compare, drift_row};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

mod drift;
mod fix;

/// Users asked for per page (the target may send fewer), and the most pages read: never an
/// unbounded read of a target.
const PAGE: usize = 200;
const MAX_PAGES: usize = 5_000;

/// Which drift to fix.
#[derive(Clone, Debug, PartialEq)]
pub enum Which {
    One(String),
    All,
}

impl Which {
    /// The REST body: a GUID or `all`, not both, not neither.
    pub fn parse(request: &FixRequest) -> Result<Which, AppError> {
        let guid = request.guid.as_deref().map(str::trim).unwrap_or("");
        match (guid.is_empty(), request.all) {
            (false, true) => Err(AppError::invalid(
                "guid",
                "Give either the GUID of one row or all: true, not both",
            )),
            (false, false) => Ok(Which::One(guid.to_string())),
            (true, true) => Ok(Which::All),
            (true, false) => Err(AppError::invalid(
                "guid",
                "Give the GUID of a drift row of the last check, or all: true",
            )),
        }
    }
}

/// An account read from the target.
pub(crate) struct Remote {
    pub(crate) id: String,
    pub(crate) active: bool,
    pub(crate) resource: Value,
}

/// What reconciliation needs besides the database: the instance's clock (leases, schedule)
/// and the outbox policy (the credential's key, timeouts, lease length).
#[derive(Clone)]
pub struct Reconciler {
    db: Db,
    clock: Arc<Clock>,
    policy: OutboxPolicy,
    http: reqwest::Client,
}

/// The application's target, or 404 for the application or the target.
async fn target_of_app(db: &Db, app_id: &str) -> Result<Target, AppError> {
    db::apps::get_app(&db.pool, app_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The application".into()))?;
    let missing = || AppError::NotFound("The application's provisioning target".into());
    let view = db::provisioning::view_of_app(&db.pool, app_id)
        .await
        .map_err(internal)?
        .ok_or_else(missing)?;
    db::provisioning::target(&db.pool, &view.id)
        .await
        .map_err(internal)?
        .ok_or_else(missing)
}

/// The last check of the application's target; `None` before the first one.
pub async fn last_report(db: &Db, app_id: &str) -> Result<Option<ReconciliationReport>, AppError> {
    let target = target_of_app(db, app_id).await?;
    match db::reconcile::report(&db.pool, &target.id)
        .await
        .map_err(internal)?
    {
        Some((report, _)) => Ok(Some(serde_json::from_str(&report).map_err(internal)?)),
        None => Ok(None),
    }
}

/// An id the target gave that is safe to put in a URL path.
pub(crate) fn usable_id(id: &str) -> Result<&str, String> {
    if id.is_empty()
        || id
            .chars()
            .any(|c| "/?#%\\".contains(c) || c.is_whitespace())
    {
        return Err(format!(
            "the application gave this account an id Gatehouse cannot put in a URL ({id:?})"
        ));
    }
    Ok(id)
}

impl Reconciler {
    pub fn new(db: Db, clock: Arc<Clock>, policy: OutboxPolicy) -> Reconciler {
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Reconciler {
            db,
            clock,
            policy,
            http,
        }
    }

    fn client(&self, target: &Target) -> Result<Client<'_>, AppError> {
        let token =
            match &self.policy.secrets_key {
                Some(key) => key
                    .open(&target.credential_sealed, &target.id)
                    .map_err(AppError::Unavailable)?,
                None => return Err(AppError::Unavailable(
                    "GATEHOUSE_SECRETS_KEY is not set, so the target's credential cannot be read"
                        .into(),
                )),
            };
        Ok(Client {
            http: &self.http,
            base: target.base_url.clone(),
            token,
        })
    }

    /// "Check now": reads the target, compares, keeps the report (one transaction with its
    /// audit record). A target that cannot be read is recorded as a failed check and answered
    /// as `Upstream` (502).
    pub async fn check(
        &self,
        auth: &Authorized,
        app_id: &str,
    ) -> Result<ReconciliationReport, AppError> {
        self.check_as(&auth.actor(), &auth.meta, app_id).await
    }

    async fn check_as(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        app_id: &str,
    ) -> Result<ReconciliationReport, AppError> {
        let target = target_of_app(&self.db, app_id).await?;
        let survey = match self.client(&target) {
            Ok(client) => self.survey(&client, &target).await,
            Err(e) => Err(e),
        };
        let (mut report, failure) = match survey {
            Ok(report) => (report, None),
            Err(e @ (AppError::Upstream(_) | AppError::Unavailable(_))) => (
                ReconciliationReport {
                    error: Some(e.to_string()),
                    ..ReconciliationReport::default()
                },
                Some(e),
            ),
            Err(e) => return Err(e),
        };
        report.application_id = app_id.to_string();
        report.target_id = target.id.clone();
        report.checked_at = self.clock.now_ms();
        report.checked_by = actor
            .email
            .clone()
            .or_else(|| actor.subject.clone())
            .unwrap_or_default();
        let stored = serde_json::to_string(&report).map_err(internal)?;
        let c = &report.counts;
        let outcome = if failure.is_some() {
            Outcome::Failed
        } else {
            Outcome::Success
        };
        let entry = Entry::new("application.provisioning.reconcile", outcome)
            .target("application", app_id)
            .details(json!({
                "target": target.id, "missing": c.missing, "extra": c.extra,
                "different": c.different, "inactive_here_active_there": c.inactive_here_active_there,
                "unmanaged": c.unmanaged, "checked_here": c.checked_here, "read_there": c.read_there,
                "truncated": report.truncated, "error": report.error,
            }));
        let mut tx = self.db.begin_write().await.map_err(internal)?;
        db::reconcile::replace_report(&mut tx, &target.id, report.checked_at, &stored)
            .await
            .map_err(internal)?;
        audit::record(&mut tx, actor, meta, entry)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Every User there with an `externalId`, by it; and how many have none, and how many were read.
    async fn read_target(
        &self,
        client: &Client<'_>,
    ) -> Result<(HashMap<String, Remote>, i64, i64), AppError> {
        let (mut by_guid, mut unmanaged, mut read) = (HashMap::new(), 0, 0);
        let mut start = 1;
        for _ in 0..MAX_PAGES {
            let page = client
                .users_page(start, PAGE)
                .await
                .map_err(AppError::Upstream)?;
            if page.resources.is_empty() {
                return Ok((by_guid, unmanaged, read));
            }
            start += page.resources.len();
            for user in page.resources {
                read += 1;
                let guid = user["externalId"].as_str().map(str::trim).unwrap_or("");
                let id = user["id"].as_str().unwrap_or("").to_string();
                if guid.is_empty() || id.is_empty() {
                    unmanaged += 1;
                    continue;
                }
                // An account without `active` is taken as usable: the safer reading for drift.
                let active = user["active"].as_bool().unwrap_or(true);
                by_guid.entry(guid.to_string()).or_insert(Remote {
                    id,
                    active,
                    resource: user,
                });
            }
            if start > page.total {
                return Ok((by_guid, unmanaged, read));
            }
        }
        Err(AppError::Upstream(format!(
            "the application holds more than {} users; Gatehouse reads at most that many",
            PAGE * MAX_PAGES
        )))
    }

    /// The drift between the target and Gatehouse, as a report without its header.
    async fn survey(
        &self,
        client: &Client<'_>,
        target: &Target,
    ) -> Result<ReconciliationReport, AppError> {
        let (mut there, unmanaged, read) = self.read_target(client).await?;
        let mut here =
            db::reconcile::gatehouse_side(&self.db.pool, &target.id, &target.application_id)
                .await
                .map_err(internal)?;
        here.sort();
        here.dedup();
        let mut counts = DriftCounts {
            unmanaged,
            read_there: read,
            checked_here: here.len() as i64,
            ..DriftCounts::default()
        };
        let mut rows = Vec::new();
        for guid in &here {
            let desired = scim_out::desired(&self.db, target, guid)
                .await
                .map_err(internal)?;
            if let Some(row) = compare(guid, desired, there.remove(guid), &target.attributes) {
                rows.push(row);
            }
        }
        // Accounts there that nobody here should have: extra when active.
        let rest: Vec<String> = there
            .iter()
            .filter(|(_, r)| r.active)
            .map(|(g, _)| g.clone())
            .collect();
        let known = db::reconcile::known_guids(&self.db.pool, &rest)
            .await
            .map_err(internal)?;
        for guid in rest {
            if let Some(r) = there.remove(&guid) {
                let mut row = drift_row(&guid, "extra", Some(&r));
                row.known = known.contains(&guid);
                rows.push(row);
            }
        }
        for row in &rows {
            match row.kind.as_str() {
                "missing" => counts.missing += 1,
                "extra" => counts.extra += 1,
                "different" => counts.different += 1,
                _ => counts.inactive_here_active_there += 1,
            }
        }
        let order = |k: &str| DRIFT_KINDS.iter().position(|(x, _)| *x == k);
        rows.sort_by(|a, b| (order(&a.kind), &a.guid).cmp(&(order(&b.kind), &b.guid)));
        let truncated = rows.len() > MAX_REPORT_ROWS;
        rows.truncate(MAX_REPORT_ROWS);
        Ok(ReconciliationReport {
            counts,
            rows,
            truncated,
            ..ReconciliationReport::default()
        })
    }

    /// Runs the scheduled reconciliation loop (check, then fix all, as Gatehouse itself) on
    /// whichever instance holds its lease; each due target is still claimed by compare-and-set.
    /// Whether a target is due is judged by the instance's clock, which tests drive.
    pub fn spawn_schedule(
        self,
        lessee: crate::server::service::leases::Lessee,
        metrics: std::sync::Arc<crate::server::metrics::Metrics>,
    ) {
        use crate::server::service::leases;
        let task = leases::Task {
            name: "reconciliation",
            every: (self.policy.poll * 10)
                .clamp(Duration::from_millis(200), Duration::from_secs(30)),
            wait_first: false,
        };
        leases::spawn(lessee, task, metrics, move || {
            let me = self.clone();
            async move {
                me.run_due().await.map(|_| ()).map_err(|e| {
                    tracing::warn!(error = %e, "scheduled reconciliation: cannot read the schedule");
                    e.to_string()
                })
            }
        });
    }

    /// Runs every due scheduled reconciliation this instance claims; how many it ran.
    pub async fn run_due(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut ran = 0;
        for (target_id, due_at) in db::reconcile::due_checks(&self.db.pool, now).await? {
            if !db::reconcile::claim_check(&self.db.pool, &target_id, due_at, now).await? {
                continue; // another instance runs it
            }
            let Some(target) = db::provisioning::target(&self.db.pool, &target_id).await? else {
                continue;
            };
            ran += 1;
            let (actor, meta) = (Actor::system(), RequestMeta::default());
            let app_id = target.application_id;
            match self.check_as(&actor, &meta, &app_id).await {
                Ok(report) if report.open_rows() > 0 => {
                    if let Err(e) = self.fix_as(&actor, &meta, &app_id, Which::All).await {
                        tracing::warn!(target = %target_id, error = %e, "scheduled reconciliation: fixing failed");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target = %target_id, error = %e, "scheduled reconciliation: the check failed")
                }
            }
        }
        Ok(ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_names_one_row_or_all_never_both_or_neither() {
        let one = FixRequest {
            guid: Some(" g_1 ".into()),
            all: false,
        };
        assert_eq!(Which::parse(&one).unwrap(), Which::One("g_1".into()));
        let all = FixRequest {
            guid: None,
            all: true,
        };
        assert_eq!(Which::parse(&all).unwrap(), Which::All);
        assert!(Which::parse(&FixRequest {
            guid: Some("g".into()),
            all: true
        })
        .is_err());
        assert!(Which::parse(&FixRequest {
            guid: Some("  ".into()),
            all: false
        })
        .is_err());
        assert!(Which::parse(&FixRequest::default()).is_err());
    }

    #[test]
    fn ids_from_the_target_that_would_change_the_url_are_refused() {
        assert!(usable_id("2819c223-7f76-453a-919d-413861904646").is_ok());
        for bad in ["", "../Groups/1", "a?b", "a#b", "a b", "%2e%2e"] {
            assert!(usable_id(bad).is_err(), "{bad:?}");
        }
    }
}
