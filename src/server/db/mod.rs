//! Storage. The only place with SQL. Queries are written once in the subset of SQL that SQLite
//! and PostgreSQL share and run through sqlx's `Any` driver; times are Unix milliseconds.
pub mod api_tokens;
pub mod apps;
pub mod audit;
pub mod audit_sinks;
pub mod backup;
pub mod console_sessions;
pub mod groups;
pub mod health;
pub mod jobs;
pub mod leases;
pub mod metrics;
pub mod outbox;
pub mod outbox_lists;
pub mod people;
pub mod provisioned_groups;
pub mod provisioning;
pub mod reconcile;
pub mod revocations;
pub mod scim_users;
pub mod seed;
mod sessions;
pub mod sources;
pub mod ssf;
pub mod ssf_in;
pub mod ssf_subjects;
pub mod staff;
pub mod support;
pub mod user_list;
mod user_search;
mod user_search_words;
pub mod users;
pub mod webhooks;

pub use sessions::SessionStore;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
    pub sessions: SessionStore,
    /// How long a deprovisioned user stays restorable (milliseconds); set from the config.
    pub restore_window_ms: i64,
    /// Bumped after a commit that changes keys or applications, so this instance's key cache
    /// catches up before its next verification (other instances follow the audit log).
    pub key_changes: Arc<AtomicU64>,
}

impl Db {
    pub fn keys_changed(&self) {
        self.key_changes.fetch_add(1, Ordering::Release);
    }
}

/// Without statistics SQLite picks the first usable index: a `userName eq` look-up then walked
/// a whole source (400 ms at a million users) instead of using the user_name and email indexes
/// (under 1 ms). `analysis_limit` keeps ANALYZE to a sample, milliseconds at any size.
async fn refresh_statistics(pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
        .execute(pool)
        .await
        .map(|_| ())
}

/// 30 days, unless `GATEHOUSE_RESTORE_WINDOW_SECS` says otherwise.
pub const DEFAULT_RESTORE_WINDOW_MS: i64 = 30 * 86_400_000;

impl Db {
    /// Connects, creating the SQLite file if needed, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                }
            }
            let native = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&native).await?;
            refresh_statistics(&native).await?;
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                            .await
                            .map(|_| ())
                    })
                })
                .connect_with(AnyConnectOptions::from_str(url)?)
                .await?;
            let sessions = SessionStore::sqlite(native).await?;
            Ok(Db {
                pool,
                engine: Engine::Sqlite,
                sessions,
                restore_window_ms: DEFAULT_RESTORE_WINDOW_MS,
                key_changes: Arc::default(),
            })
        } else {
            let native = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&native).await?;
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await?;
            let sessions = SessionStore::postgres(native).await?;
            Ok(Db {
                pool,
                engine: Engine::Postgres,
                sessions,
                restore_window_ms: DEFAULT_RESTORE_WINDOW_MS,
                key_changes: Arc::default(),
            })
        }
    }

    /// Opens an existing SQLite file as it is: no migration, no session table, no change of its
    /// journal mode unless `self_contained` (then rollback journal, so the file is complete on its
    /// own once closed: a backup, or a restore being prepared). One connection; close the pool
    /// when done.
    pub async fn open_sqlite_file(
        path: &std::path::Path,
        self_contained: bool,
    ) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let name = path.to_str().ok_or_else(|| {
            sqlx::Error::Configuration(format!("{} is not a UTF-8 path", path.display()).into())
        })?;
        // The URL's path is percent-decoded, so these three must be encoded.
        let encoded = name
            .replace('%', "%25")
            .replace('?', "%3F")
            .replace('#', "%23");
        let url = format!("sqlite://{encoded}?mode=rw");
        let native = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(SqliteConnectOptions::from_str(&url)?);
        let pragmas = if self_contained {
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = DELETE;"
        } else {
            "PRAGMA busy_timeout = 10000;"
        };
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                Box::pin(async move { conn.execute(pragmas).await.map(|_| ()) })
            })
            .connect_with(AnyConnectOptions::from_str(&url)?)
            .await?;
        Ok(Db {
            pool,
            engine: Engine::Sqlite,
            sessions: SessionStore::Sqlite(tower_sessions_sqlx_store::SqliteStore::new(native)),
            restore_window_ms: DEFAULT_RESTORE_WINDOW_MS,
            key_changes: Arc::default(),
        })
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of failing on a lock upgrade.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.pool.begin().await,
        }
    }

    /// SQLite: refreshes the planner's statistics where the tables grew or shrank a lot
    /// (PostgreSQL's autovacuum does this itself). Called hourly.
    pub async fn refresh_statistics(&self) -> Result<(), sqlx::Error> {
        if self.engine == Engine::Sqlite {
            sqlx::query("PRAGMA analysis_limit = 1000; PRAGMA optimize;")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// `$1, $2, ... $n`, for an `IN (...)` list of `n` bound values.
pub fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unix epoch milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A PostgreSQL database nobody answers at, for tests of what a dead database does to the
/// health checks and the scrape: the connection is attempted only when used, and waited for
/// `acquire_timeout`.
#[cfg(test)]
pub(crate) fn unreachable_database(acquire_timeout: Duration) -> Db {
    sqlx::any::install_default_drivers();
    let url = "postgres://gatehouse:x@127.0.0.1:1/gatehouse";
    let pool = AnyPoolOptions::new()
        .acquire_timeout(acquire_timeout)
        .connect_lazy(url)
        .expect("a lazy pool");
    let native = PgPoolOptions::new().connect_lazy(url).expect("a lazy pool");
    Db {
        pool,
        engine: Engine::Postgres,
        sessions: SessionStore::Postgres(tower_sessions_sqlx_store::PostgresStore::new(native)),
        restore_window_ms: DEFAULT_RESTORE_WINDOW_MS,
        key_changes: Default::default(),
    }
}
