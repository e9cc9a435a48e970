//! SQL for console staff (everyone who signed in to the console, with each role), the people
//! (GUIDs) their accounts belong to, and the locks that make support's read-then-write safe on
//! PostgreSQL. On SQLite every write transaction already holds the database's write lock
//! (`BEGIN IMMEDIATE`), so the locks below are no-ops there.
use super::Tx;
use crate::model::Role;
use sqlx::{AnyPool, Row};

/// Whether the transaction runs on PostgreSQL (the only engine that needs row locks).
pub(super) fn is_postgres(tx: &mut Tx) -> bool {
    tx.backend_name() == "PostgreSQL"
}

/// Records that `email` (lowercase, verified by the identity provider) signed in with `role`.
pub async fn note_staff(tx: &mut Tx, email: &str, role: Role, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO console_staff (email, role, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (email, role) DO UPDATE SET last_seen_at = $3",
    )
    .bind(email)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The (email, role) staff records among `emails` (lowercase), admins first; on a pooled
/// connection or inside a transaction (`&mut **tx`).
pub async fn staff_among(
    conn: &mut sqlx::AnyConnection,
    emails: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in emails.chunks(200) {
        let sql = staff_sql(chunk.len());
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q.bind(e);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push((r.try_get("email")?, r.try_get("role")?));
        }
    }
    Ok(out)
}

fn staff_sql(n: usize) -> String {
    format!(
        "SELECT email, role FROM console_staff WHERE email IN ({}) \
         ORDER BY CASE role WHEN 'admin' THEN 0 ELSE 1 END, email, role",
        super::placeholders(n)
    )
}

/// The emails of every account of the person (GUID) `user_id` belongs to, the user's own first.
pub async fn person_emails(tx: &mut Tx, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT o.email FROM users u JOIN users o ON o.guid_id = u.guid_id WHERE u.id = $1 \
         ORDER BY CASE WHEN o.id = u.id THEN 0 ELSE 1 END, o.email",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// (user id, email of an account of the same person) for each of `user_ids`.
pub async fn person_emails_of_users(
    pool: &AnyPool,
    user_ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(200) {
        let sql = format!(
            "SELECT u.id AS user_id, o.email AS email FROM users u JOIN users o ON o.guid_id = u.guid_id \
             WHERE u.id IN ({})",
            super::placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        for r in q.fetch_all(pool).await? {
            out.push((r.try_get("user_id")?, r.try_get("email")?));
        }
    }
    Ok(out)
}

/// Locks one user row until the transaction ends (PostgreSQL `FOR UPDATE`), so its state can be
/// checked and changed without another writer in between. False when there is no such user.
pub async fn lock_user(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let sql = if is_postgres(tx) {
        "SELECT id FROM users WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id FROM users WHERE id = $1"
    };
    let found: Option<String> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

/// Serializes one agent's MFA resets until the transaction ends (a PostgreSQL advisory lock in
/// its own namespace), so the hourly count cannot be passed by resets running side by side.
pub async fn lock_agent(tx: &mut Tx, agent_email: &str) -> Result<(), sqlx::Error> {
    if is_postgres(tx) {
        sqlx::query("SELECT CAST(pg_advisory_xact_lock(7301, hashtext($1)) AS TEXT) AS locked")
            .bind(agent_email)
            .fetch_one(&mut **tx)
            .await?;
    }
    Ok(())
}
