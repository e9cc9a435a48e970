//! SQL for backup and restore (SQLite only: PostgreSQL has pg_dump and pg_restore).
use sqlx::AnyPool;

/// Writes a consistent copy of the whole database to `path` (which must not exist) from one read
/// transaction, so writers carry on meanwhile (WAL). SQLite does not sync the copy to disk.
pub async fn vacuum_into(pool: &AnyPool, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(pool)
        .await
        .map(|_| ())
}

/// What a copy holds, in the figures a backup reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: i64,
    pub audit_events: i64,
}

pub async fn counts(pool: &AnyPool) -> Result<Counts, sqlx::Error> {
    let users = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    let audit_events = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await?;
    Ok(Counts {
        users,
        audit_events,
    })
}

/// Tables in the file: 0 for a new, empty SQLite file.
pub async fn table_count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(pool)
        .await
}
