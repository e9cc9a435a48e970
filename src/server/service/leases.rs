//! Background work that runs once across instances (issue 17; design in docs/decisions.md,
//! "Several instances"). Every instance runs the same loop per task; the loop claims the task's
//! lease (one compare-and-set UPDATE), runs the task only while it holds the lease and the task
//! is due by the shared schedule, and renews the lease every few seconds, also during a long
//! run. An instance that dies stops renewing: another takes the task over once the lease has run
//! out, at most [`LEASE`] later. A graceful shutdown releases the leases at once.
//!
//! Time is the instance's clock (`state.clock`), which the tests drive.
use crate::model::system::BackgroundWork;
use crate::model::AppError;
use crate::server::clock::Clock;
use crate::server::db::{self, leases::Holder, Db, Engine};
use crate::server::instance::Instance;
use crate::server::metrics::Metrics;
use crate::server::{internal, AppState};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a lease lasts without renewal: how long a dead instance's tasks wait.
pub const LEASE: Duration = Duration::from_secs(15);
/// How often a holder renews (and every instance looks whether a task is free or due).
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// A task that must run once across instances.
#[derive(Clone, Copy, Debug)]
pub struct Task {
    /// Its row in `background_leases` and its `task` label in the metrics.
    pub name: &'static str,
    /// It runs when this long has passed since its last run (by whichever instance).
    pub every: Duration,
    /// A new database waits one period before the first run (else it runs at once).
    pub wait_first: bool,
}

impl Task {
    fn every_ms(&self) -> i64 {
        self.every.as_millis() as i64
    }
}

/// What one look at a task came to.
#[derive(Debug, PartialEq)]
pub enum Turn {
    /// Another instance holds the lease.
    HeldElsewhere,
    /// This instance holds it; the task is not due yet.
    NotDue,
    /// This instance ran it, with this outcome.
    Ran(Result<(), String>),
    /// This instance is shutting down and claims nothing.
    Stopping,
}

/// The instance's side of the leases: its database, clock and name.
#[derive(Clone)]
pub struct Lessee {
    pub db: Db,
    pub clock: Arc<Clock>,
    pub instance: Arc<Instance>,
}

impl Lessee {
    pub fn of(state: &AppState) -> Lessee {
        Lessee {
            db: state.db.clone(),
            clock: state.clock.clone(),
            instance: state.instance.clone(),
        }
    }

    fn me(&self) -> Holder<'_> {
        Holder {
            id: &self.instance.id,
            started_at: self.instance.started_at,
        }
    }

    fn lease_end(&self) -> i64 {
        self.clock.now_ms() + LEASE.as_millis() as i64
    }

    /// Claims or renews `task`'s lease and runs `work` when this instance holds it and the task
    /// is due. The tests call it directly, with driven clocks, instead of waiting for the loop.
    pub async fn run_if_due<F, Fut>(&self, task: &Task, work: F) -> Result<Turn, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        if self.instance.is_stopping() {
            return Ok(Turn::Stopping);
        }
        let pool = &self.db.pool;
        let now = self.clock.now_ms();
        let mut claimed =
            db::leases::claim(pool, task.name, self.me(), now, self.lease_end()).await?;
        if claimed.is_none() {
            // A task no instance has run yet has no row: make it, then claim it.
            let first = if task.wait_first { now } else { 0 };
            if db::leases::ensure(pool, task.name, first, task.every_ms()).await? {
                claimed =
                    db::leases::claim(pool, task.name, self.me(), now, self.lease_end()).await?;
            }
        }
        let Some(last_run_at) = claimed else {
            return Ok(Turn::HeldElsewhere);
        };
        if now < last_run_at.saturating_add(task.every_ms()) {
            return Ok(Turn::NotDue);
        }
        let result = self.keeping_the_lease(task, work()).await;
        let error = result.as_ref().err().map(String::as_str).unwrap_or("");
        let counted = db::leases::record_run(
            pool,
            task.name,
            self.me(),
            now,
            task.every_ms(),
            error,
            self.clock.now_ms(),
            self.lease_end(),
        )
        .await?;
        if !counted {
            tracing::warn!(
                task = task.name,
                "background work: the lease was lost during the run"
            );
        }
        Ok(Turn::Ran(result))
    }

    /// Runs `work`, renewing the lease meanwhile so a long run (the retention purge) is never
    /// taken over by another instance while it is still going.
    async fn keeping_the_lease<Fut>(&self, task: &Task, work: Fut) -> Result<(), String>
    where
        Fut: Future<Output = Result<(), String>>,
    {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = tokio::time::sleep(RENEW_EVERY) => {
                    let now = self.clock.now_ms();
                    match db::leases::renew(&self.db.pool, task.name, self.me(), now, self.lease_end()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(task = task.name, "background work: lost the lease during a run"),
                        Err(e) => tracing::warn!(task = task.name, error = %e, "background work: could not renew the lease"),
                    }
                }
            }
        }
    }

    /// Frees this instance's leases (graceful shutdown); nothing is claimed after this.
    pub async fn release_all(&self) -> Result<u64, sqlx::Error> {
        self.instance.stop();
        db::leases::release_all(&self.db.pool, self.me()).await
    }
}

/// Starts `task`'s loop on this instance: every [`RENEW_EVERY`] (or every period, when shorter)
/// it claims or renews the lease and runs `work` when due. Each run is counted in the metrics
/// (`gatehouse_task_runs_total{task}`) on the instance that ran it; a lease that cannot be read
/// counts as a failed run.
pub fn spawn<F, Fut>(lessee: Lessee, task: Task, metrics: Arc<Metrics>, work: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let wake = task.every.min(RENEW_EVERY);
    tokio::spawn(async move {
        loop {
            match lessee.run_if_due(&task, &work).await {
                Ok(Turn::Ran(result)) => metrics.task(task.name, result.is_ok()),
                Ok(Turn::Stopping) => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(task = task.name, error = %e, "background work: cannot read its lease");
                    metrics.task(task.name, false);
                }
            }
            tokio::time::sleep(wake).await;
        }
    });
}

/// The console's and the API's view: every task's lease and every destination's.
pub async fn background_work(state: &AppState) -> Result<BackgroundWork, AppError> {
    let now = state.clock.now_ms();
    let pool = &state.db.pool;
    let tasks = db::leases::tasks(pool, now).await.map_err(internal)?;
    let mut deliveries = db::leases::deliveries(pool, now).await.map_err(internal)?;
    deliveries.sort_by(|a, b| (&a.kind, &a.name, &a.id).cmp(&(&b.kind, &b.name, &b.id)));
    Ok(BackgroundWork {
        answered_by: state.instance.id.clone(),
        answered_by_started_at: state.instance.started_at,
        engine: match state.db.engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
        .to_string(),
        now,
        tasks,
        deliveries,
    })
}
