//! People (GUIDs): the GUIDs page, duplicate candidates, and purging deprovisioned accounts
//! whose restore window has ended.
use crate::model::users::*;
use crate::model::AppError;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::leases;
use crate::server::service::users;
use serde_json::json;
use std::time::Duration;

pub const PAGE_SIZE: i64 = 50;

/// The GUIDs page: newest people first, or the people behind a search.
pub async fn page(db: &Db, query: &GuidQuery) -> Result<GuidPage, AppError> {
    let q = query.q.trim();
    if q.to_lowercase().starts_with("g_") {
        let guids = db::people::by_prefix(&db.pool, &q.to_lowercase(), PAGE_SIZE)
            .await
            .map_err(internal)?;
        return Ok(GuidPage { guids, next: None });
    }
    if !q.is_empty() {
        // Any user search (email, name, phone, external id ...) lists the people behind it.
        let found = users::list(
            db,
            &UserQuery {
                q: q.to_string(),
                ..Default::default()
            },
        )
        .await?;
        let mut ids: Vec<String> = found.users.into_iter().map(|u| u.guid).collect();
        ids.sort();
        ids.dedup();
        let guids = db::people::by_ids(&db.pool, &ids).await.map_err(internal)?;
        return Ok(GuidPage { guids, next: None });
    }
    let after = query
        .after
        .split_once('|')
        .and_then(|(at, id)| at.parse::<i64>().ok().map(|at| (at, id.to_string())));
    let mut guids = db::people::page(&db.pool, after, PAGE_SIZE + 1)
        .await
        .map_err(internal)?;
    let next = if guids.len() as i64 > PAGE_SIZE {
        guids.truncate(PAGE_SIZE as usize);
        guids.last().map(|g| format!("{}|{}", g.created_at, g.guid))
    } else {
        None
    };
    Ok(GuidPage { guids, next })
}

/// Pairs of people that look like one, for one kind of evidence, a keyset page at a time.
pub async fn duplicates(
    db: &Db,
    reason: DuplicateReason,
    after: &str,
) -> Result<DuplicatePage, AppError> {
    let after = {
        let mut parts = after.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(e), Some(a), Some(b)) if !e.is_empty() => {
                Some((e.to_string(), a.to_string(), b.to_string()))
            }
            _ => None,
        }
    };
    let mut candidates = db::people::duplicate_pairs(&db.pool, reason, after, PAGE_SIZE + 1)
        .await
        .map_err(internal)?;
    let next = if candidates.len() as i64 > PAGE_SIZE {
        candidates.truncate(PAGE_SIZE as usize);
        candidates
            .last()
            .map(|c| format!("{}|{}|{}", c.evidence, c.guid, c.other_guid))
    } else {
        None
    };
    Ok(DuplicatePage { candidates, next })
}

/// Other people who may be this person, with the reason, for the GUID view.
pub async fn duplicates_of(db: &Db, guid: &str) -> Result<Vec<DuplicateCandidate>, AppError> {
    let mut out = Vec::new();
    for reason in DuplicateReason::ALL {
        out.extend(
            db::people::duplicates_of(&db.pool, guid.trim(), reason, 20)
                .await
                .map_err(internal)?,
        );
    }
    Ok(out)
}

fn system() -> Actor {
    Actor::system()
}

/// Deletes deprovisioned accounts whose restore window has ended, each with its audit record in
/// the same transaction. Safe to run on every instance at once: a purge re-checks its row.
pub async fn purge_expired(db: &Db, now_ms: i64) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms - db.restore_window_ms;
    let mut purged = 0;
    loop {
        let batch = db::people::expired_deprovisioned(&db.pool, cutoff, 200).await?;
        if batch.is_empty() {
            return Ok(purged);
        }
        let mut tx = db.begin_write().await?;
        for (id, guid, email) in &batch {
            if let Some(removed) = db::people::purge_user(&mut tx, id, cutoff).await? {
                purged += 1;
                // The email is kept so an auditor can still answer "what happened to ada@...";
                // every key, factor, device and link that went with the account is named.
                let entry = Entry::new("user.purge", Outcome::Success)
                    .target("user", id)
                    .details(json!({
                        "guid": guid, "email": email, "reason": "restore window ended",
                        "removed": removed,
                    }));
                audit::record(&mut tx, &system(), &RequestMeta::default(), entry).await?;
            }
        }
        tx.commit().await?;
        if batch.len() < 200 {
            return Ok(purged);
        }
    }
}

/// The purge: once a minute, on one instance at a time.
pub const PURGE: leases::Task = leases::Task {
    name: "user_purge",
    every: Duration::from_secs(60),
    wait_first: false,
};

/// Purges once a minute in the background, on whichever instance holds the task's lease.
pub fn spawn_purge(
    lessee: leases::Lessee,
    metrics: std::sync::Arc<crate::server::metrics::Metrics>,
) {
    let db = lessee.db.clone();
    leases::spawn(lessee, PURGE, metrics, move || {
        let db = db.clone();
        async move {
            match purge_expired(&db, db::now_ms()).await {
                Ok(0) => Ok(()),
                Ok(n) => {
                    tracing::info!(purged = n, "purged deprovisioned users");
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "purge failed; will retry");
                    Err(e.to_string())
                }
            }
        }
    });
}
