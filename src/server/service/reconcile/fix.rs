//! Fixing drift: the target made to match Gatehouse for the rows of the last check, under the
//! target's delivery lease, through the worker's own code; then one transaction with the
//! report's row states and one audit record.
use super::{target_of_app, usable_id, Reconciler, Which};
use crate::model::reconcile::{DriftRow, ReconciliationReport};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, provisioning::Target};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::scim_out::{self, Client, Desired};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

impl Reconciler {
    /// Fixes one row or every open row of the last check (the target made to match Gatehouse),
    /// then records the outcome: one transaction, one audit record.
    pub async fn fix(
        &self,
        auth: &Authorized,
        app_id: &str,
        which: Which,
    ) -> Result<ReconciliationReport, AppError> {
        self.fix_as(&auth.actor(), &auth.meta, app_id, which).await
    }

    pub(super) async fn fix_as(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        app_id: &str,
        which: Which,
    ) -> Result<ReconciliationReport, AppError> {
        let target = target_of_app(&self.db, app_id).await?;
        let Some((stored, _)) = db::reconcile::report(&self.db.pool, &target.id)
            .await
            .map_err(internal)?
        else {
            return Err(AppError::Conflict(
                "No check has been made for this application yet: check now, then fix what it finds."
                    .into(),
            ));
        };
        let report: ReconciliationReport = serde_json::from_str(&stored).map_err(internal)?;
        if report.error.is_some() {
            return Err(AppError::Conflict(
                "The last check could not read the application: check again before fixing.".into(),
            ));
        }
        let rows: Vec<DriftRow> = match &which {
            Which::One(guid) => {
                let row = report
                    .rows
                    .iter()
                    .find(|r| r.guid == *guid)
                    .ok_or_else(|| {
                        AppError::NotFound("A drift row for this GUID in the last check".into())
                    })?;
                if row.state == "fixed" {
                    return Err(AppError::Conflict(
                        "This row is fixed already: check again to see the drift as it is now."
                            .into(),
                    ));
                }
                vec![row.clone()]
            }
            Which::All => report
                .rows
                .iter()
                .filter(|r| r.state != "fixed")
                .cloned()
                .collect(),
        };
        if rows.is_empty() {
            return Ok(report);
        }
        let client = self.client(&target)?;
        let owner = format!("r_{}", uuid::Uuid::new_v4().simple());
        self.take_lease(&target.id, &owner).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in &rows {
            // Renewed per row: a long "fix all" keeps the worker away until it is done.
            let now = self.clock.now_ms();
            match db::outbox::lease(&self.db.pool, &target.id, &owner, now, self.lease_end()).await
            {
                Ok(true) => {}
                _ => break,
            }
            outcomes.push((row.clone(), self.fix_row(&client, &target, row).await));
        }
        if let Err(e) = db::outbox::release(&self.db.pool, &target.id, &owner).await {
            tracing::warn!(error = %e, "reconciliation: could not release the lease (it expires)");
        }
        let saved = self
            .save_fixes(actor, meta, &target, report.checked_at, &which, &outcomes)
            .await?;
        let fixed = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
        let first_error = outcomes.iter().find_map(|(_, o)| o.clone().err());
        match (first_error, &which, fixed) {
            (Some(e), Which::One(_), _) | (Some(e), Which::All, 0) => Err(AppError::Upstream(e)),
            _ => Ok(saved),
        }
    }

    fn lease_end(&self) -> i64 {
        self.clock.now_ms() + self.policy.lease.as_millis() as i64
    }

    /// The target's delivery lease; the worker holds it for at most one turn, so this waits
    /// a few seconds (real time: the worker works meanwhile) before giving up.
    async fn take_lease(&self, target_id: &str, owner: &str) -> Result<(), AppError> {
        for _ in 0..50 {
            let now = self.clock.now_ms();
            if db::outbox::lease(&self.db.pool, target_id, owner, now, self.lease_end())
                .await
                .map_err(internal)?
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(AppError::Conflict(
            "Gatehouse is sending changes to this application right now; try again in a moment."
                .into(),
        ))
    }

    /// Makes the target hold what Gatehouse decides for one row's person now.
    async fn fix_row(
        &self,
        client: &Client<'_>,
        target: &Target,
        row: &DriftRow,
    ) -> Result<(), String> {
        let desired = scim_out::desired(&self.db, target, &row.guid).await?;
        match (desired, row.remote_id.as_deref()) {
            // Nobody here has this GUID (any more): switched off, never deleted.
            (Desired::Gone, Some(id)) => client.deactivate(usable_id(id)?).await,
            (Desired::Gone, None) => Ok(()),
            (Desired::Account { user, .. }, Some(id)) => {
                let id = usable_id(id)?;
                let known = db::provisioning::account(&self.db.pool, &target.id, &row.guid)
                    .await
                    .map_err(|e| e.to_string())?;
                if known.is_none() {
                    // Adopted: an account with this person's GUID that Gatehouse did not make
                    // is kept in step from now on, like its own.
                    db::provisioning::save_account(
                        &self.db.pool,
                        &target.id,
                        &row.guid,
                        id,
                        &user.id,
                        row.active_there,
                        self.clock.now_ms(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                }
                scim_out::sync_person(&self.db, client, target, &row.guid).await
            }
            (Desired::Account { .. }, None) => {
                scim_out::sync_person(&self.db, client, target, &row.guid).await
            }
        }
    }

    /// Marks the rows fixed or failed in the report (if it is still the same check) and audits.
    async fn save_fixes(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        target: &Target,
        checked_at: i64,
        which: &Which,
        outcomes: &[(DriftRow, Result<(), String>)],
    ) -> Result<ReconciliationReport, AppError> {
        let fixed = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
        let failed = outcomes.len() - fixed;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for (row, _) in outcomes {
            *kinds.entry(row.kind.as_str()).or_default() += 1;
        }
        let errors: Vec<String> = outcomes
            .iter()
            .filter_map(|(r, o)| o.as_ref().err().map(|e| format!("{}: {e}", r.guid)))
            .take(5)
            .collect();
        let details = json!({
            "target": target.id,
            "guid": match which { Which::One(g) => Some(g.as_str()), Which::All => None },
            "all": *which == Which::All, "fixed": fixed, "failed": failed, "kinds": kinds,
            "errors": errors,
        });
        let outcome = if failed == 0 {
            Outcome::Success
        } else {
            Outcome::Failed
        };
        // A check or another fix may have changed the report meanwhile: read, merge, retry.
        for _ in 0..5 {
            let mut tx = self.db.begin_write().await.map_err(internal)?;
            let Some((stored, version)) = db::reconcile::report_in(&mut tx, &target.id)
                .await
                .map_err(internal)?
            else {
                return Err(AppError::NotFound(
                    "The application's provisioning target".into(),
                ));
            };
            let mut report: ReconciliationReport =
                serde_json::from_str(&stored).map_err(internal)?;
            if report.checked_at == checked_at {
                for (done, result) in outcomes {
                    if let Some(row) = report.rows.iter_mut().find(|r| r.guid == done.guid) {
                        row.state = if result.is_ok() { "fixed" } else { "failed" }.into();
                        row.error = result.as_ref().err().cloned();
                    }
                }
                report.counts.fixed =
                    report.rows.iter().filter(|r| r.state == "fixed").count() as i64;
                report.counts.failed =
                    report.rows.iter().filter(|r| r.state == "failed").count() as i64;
                report.fixed_at = self.clock.now_ms();
            }
            let text = serde_json::to_string(&report).map_err(internal)?;
            if !db::reconcile::update_report(&mut tx, &target.id, version, &text)
                .await
                .map_err(internal)?
            {
                continue;
            }
            let entry = Entry::new("application.provisioning.fix", outcome)
                .target("application", &target.application_id)
                .details(details.clone());
            audit::record(&mut tx, actor, meta, entry)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            return Ok(report);
        }
        Err(AppError::Conflict(
            "The report kept changing while the fixes were recorded: check again.".into(),
        ))
    }
}
