//! Bulk inserts for the `seed` command: multi-row statements in large transactions.
use super::{Db, Engine};
use sqlx::{AnyPool, Row};

pub struct SeedUser {
    pub id: String,
    pub guid_id: String,
    pub email: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<String>,
    pub status: &'static str,
    pub source: &'static str,
    pub external_id: String,
    pub attributes: String,
    pub created_at: i64,
    pub last_sign_in_at: i64,
}

/// A seeded person: GUID, created at, and profile (name, email, phone).
pub type SeedGuid = (String, i64, String, String, Option<String>);

/// A seeded MFA factor: the columns of `mfa_factors`, in order.
pub struct SeedFactor {
    pub id: String,
    pub user_id: String,
    pub kind: &'static str,
    pub label: String,
    pub status: &'static str,
    pub enrolled_at: i64,
    pub last_used_at: Option<i64>,
    pub credential_id: Option<String>,
    pub authenticator_name: Option<&'static str>,
    pub aaguid: Option<&'static str>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub codes_left: Option<i64>,
}

/// A seeded device.
pub struct SeedDevice {
    pub id: String,
    pub owner_user_id: String,
    pub name: String,
    pub platform: &'static str,
    pub os_version: &'static str,
    pub kind: &'static str,
    pub fingerprint: String,
    pub trust_state: &'static str,
    pub remembered: bool,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub last_ip: String,
}

/// Inserts GUIDs, users and their name tokens, factors and devices, all in one transaction.
pub async fn insert_batch(
    db: &Db,
    guids: &[SeedGuid],
    users: &[SeedUser],
    tokens: &[(String, String, String)],
    factors: &[SeedFactor],
    devices: &[SeedDevice],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db.engine == Engine::Sqlite {
        // Random-order index inserts (emails, name tokens) are fast while the B-trees fit in the
        // page cache; 1 GiB keeps a million users' indexes in memory during the seed.
        sqlx::query("PRAGMA cache_size = -1048576")
            .execute(&mut *tx)
            .await?;
    }
    for chunk in guids.chunks(rows_per_insert(db, 5)) {
        let mut sql =
            String::from("INSERT INTO guids (id, created_at, display_name, email, phone) VALUES ");
        push_placeholders(&mut sql, chunk.len(), 5);
        let mut q = sqlx::query(&sql);
        for (id, at, name, email, phone) in chunk {
            q = q.bind(id).bind(*at).bind(name).bind(email).bind(phone);
        }
        q.execute(&mut *tx).await?;
    }
    const COLS: usize = 17;
    for chunk in users.chunks(rows_per_insert(db, COLS)) {
        let mut sql = String::from(
            "INSERT INTO users (id, guid_id, email, email_verified, display_name, sort_name, given_name, family_name, phone, \
             status, source, external_id, attributes, created_at, updated_at, last_sign_in_at, email_key) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), COLS);
        let mut q = sqlx::query(&sql);
        for u in chunk {
            q = q
                .bind(&u.id)
                .bind(&u.guid_id)
                .bind(&u.email)
                .bind(1i64)
                .bind(&u.display_name)
                .bind(u.display_name.to_lowercase())
                .bind(&u.given_name)
                .bind(&u.family_name)
                .bind(&u.phone)
                .bind(u.status)
                .bind(u.source)
                .bind(&u.external_id)
                .bind(&u.attributes)
                .bind(u.created_at)
                .bind(u.created_at)
                .bind(u.last_sign_in_at)
                .bind(crate::model::users::mailbox_key(&u.email));
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in tokens.chunks(rows_per_insert(db, 3)) {
        let mut sql =
            String::from("INSERT INTO user_name_tokens (token, user_id, sort_name) VALUES ");
        push_placeholders(&mut sql, chunk.len(), 3);
        if db.engine == Engine::Postgres {
            sql.push_str(" ON CONFLICT DO NOTHING");
        } else {
            sql = sql.replacen("INSERT INTO", "INSERT OR IGNORE INTO", 1);
        }
        let mut q = sqlx::query(&sql);
        for (t, u, sort_name) in chunk {
            q = q.bind(t).bind(u).bind(sort_name);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in factors.chunks(rows_per_insert(db, 13)) {
        let mut sql = String::from(
            "INSERT INTO mfa_factors (id, user_id, kind, label, status, enrolled_at, last_used_at, credential_id, \
             authenticator_name, aaguid, phone, email, codes_left) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 13);
        let mut q = sqlx::query(&sql);
        for f in chunk {
            q = q
                .bind(&f.id)
                .bind(&f.user_id)
                .bind(f.kind)
                .bind(&f.label)
                .bind(f.status)
                .bind(f.enrolled_at)
                .bind(f.last_used_at)
                .bind(&f.credential_id)
                .bind(f.authenticator_name)
                .bind(f.aaguid)
                .bind(&f.phone)
                .bind(&f.email)
                .bind(f.codes_left);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in devices.chunks(rows_per_insert(db, 13)) {
        let mut sql = String::from(
            "INSERT INTO devices (id, owner_user_id, name, platform, os_version, kind, fingerprint, trust_state, \
             remembered, first_seen_at, last_seen_at, last_ip, updated_at) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 13);
        let mut q = sqlx::query(&sql);
        for d in chunk {
            q = q
                .bind(&d.id)
                .bind(&d.owner_user_id)
                .bind(&d.name)
                .bind(d.platform)
                .bind(d.os_version)
                .bind(d.kind)
                .bind(&d.fingerprint)
                .bind(d.trust_state)
                .bind(d.remembered as i64)
                .bind(d.first_seen_at)
                .bind(d.last_seen_at)
                .bind(&d.last_ip)
                .bind(d.last_seen_at);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Rows per multi-row INSERT. SQLite looks each `$N` parameter up by name, a linear search, so
/// binding costs grow with the square of the parameter count: keep its statements near 500
/// parameters. PostgreSQL takes large statements well.
pub fn rows_per_insert(db: &Db, columns: usize) -> usize {
    match db.engine {
        Engine::Sqlite => (500 / columns).max(1),
        Engine::Postgres => 20_000 / columns,
    }
}

fn push_placeholders(sql: &mut String, rows: usize, cols: usize) {
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${n}"));
            n += 1;
        }
        sql.push(')');
    }
}

/// Appends synthetic audit events to the chain in one transaction: `make(seq, prev_hash)` builds
/// each row (with its hash). Used by the audit benchmark only.
pub async fn append_audit_batch(
    db: &Db,
    n: usize,
    mut make: impl FnMut(i64, &str) -> super::audit::OwnedAuditRow,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db.engine == Engine::Sqlite {
        // As for users: keep the indexes' B-trees in the page cache while appending millions.
        sqlx::query("PRAGMA cache_size = -1048576")
            .execute(&mut *tx)
            .await?;
    }
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n as i64)
        .fetch_one(&mut *tx)
        .await?;
    use sqlx::Row;
    let last: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let first = last - n as i64 + 1;
    let rows: Vec<super::audit::OwnedAuditRow> = (first..=last)
        .map(|seq| {
            let row = make(seq, &prev);
            prev = row.hash.clone();
            row
        })
        .collect();
    for chunk in rows.chunks(rows_per_insert(db, 14)) {
        let mut sql = String::from(
            "INSERT INTO audit_events (seq, occurred_at, actor_subject, actor_email, actor_role, action, \
             target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 14);
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.seq)
                .bind(r.occurred_at)
                .bind(&r.actor_subject)
                .bind(&r.actor_email)
                .bind(&r.actor_role)
                .bind(&r.action)
                .bind(&r.target_type)
                .bind(&r.target_id)
                .bind(&r.outcome)
                .bind(&r.client_ip)
                .bind(&r.user_agent)
                .bind(&r.details)
                .bind(&r.prev_hash)
                .bind(&r.hash);
        }
        q.execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(last)
}

/// The benchmark's big group: a console group holding the first `members` users by id, made
/// once per database. Returns the group's id.
pub async fn big_group(pool: &AnyPool, members: i64) -> Result<String, sqlx::Error> {
    const ID: &str = "grp_0000000000000000000000000bench";
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM directory_groups WHERE id = $1")
            .bind(ID)
            .fetch_optional(pool)
            .await?;
    if exists.is_some() {
        return Ok(ID.to_string());
    }
    let now = super::now_ms();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO directory_groups (id, name, name_key, description, source, member_count, created_at, updated_at, version) \
         VALUES ($1, 'Benchmark everyone', 'benchmark everyone', '', 'console', 0, $2, $2, 1)",
    )
    .bind(ID)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id, sort_name, added_at) \
         SELECT $1, id, sort_name, $2 FROM users ORDER BY id LIMIT $3",
    )
    .bind(ID)
    .bind(now)
    .bind(members)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE directory_groups SET member_count = (SELECT COUNT(*) FROM group_members WHERE group_id = $1) WHERE id = $1",
    )
    .bind(ID)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ID.to_string())
}

/// The member at the middle of a group in name order, as a member-page cursor.
pub async fn middle_member_cursor(pool: &AnyPool, group_id: &str) -> Result<String, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT member_count FROM directory_groups WHERE id = $1")
        .bind(group_id)
        .fetch_one(pool)
        .await?;
    let row = sqlx::query(
        "SELECT sort_name, user_id FROM group_members WHERE group_id = $1 \
         ORDER BY sort_name, user_id LIMIT 1 OFFSET $2",
    )
    .bind(group_id)
    .bind(count / 2)
    .fetch_one(pool)
    .await?;
    Ok(format!(
        "{}|{}",
        row.try_get::<String, _>("sort_name")?,
        row.try_get::<String, _>("user_id")?
    ))
}
