//! `Idempotency-Key` for the API's creating POSTs: the first request with a key claims it before
//! it runs, and its answer is kept for 24 hours; a retry gets that answer again instead of
//! creating twice, the same key with another body is refused, and a retry while the first is
//! still running is told so. A failure on our side gives the key up so the retry can run.
use crate::server::db::{self, api_tokens::StoredAnswer, Db};

pub const KEEP_MS: i64 = 24 * 3_600_000;
pub const MAX_KEY: usize = 255;

pub enum Claim {
    /// This request holds the key: run it, then [`complete`] or [`release`].
    Fresh,
    /// An earlier request with this key and body answered this.
    Replay(StoredAnswer),
    /// The key was used with another request body.
    Mismatch,
    /// The first request with this key has not answered yet.
    InProgress,
}

fn judge(found: StoredAnswer, request_hash: &str) -> Claim {
    if found.request_hash != request_hash {
        Claim::Mismatch
    } else if found.status == 0 {
        Claim::InProgress
    } else {
        Claim::Replay(found)
    }
}

pub async fn claim(
    db: &Db,
    token_id: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
) -> Result<Claim, sqlx::Error> {
    let since = now_ms - KEEP_MS;
    if let Some(found) = db::api_tokens::idempotent_answer(&db.pool, token_id, key, since).await? {
        return Ok(judge(found, request_hash));
    }
    // An expired answer under this key is forgotten first.
    db::api_tokens::release_key(&db.pool, token_id, key).await?;
    let pending = StoredAnswer {
        request_hash: request_hash.to_string(),
        status: 0,
        body: String::new(),
        location: None,
    };
    let mut tx = db.begin_write().await?;
    let claimed = db::api_tokens::store_answer(&mut tx, token_id, key, &pending, now_ms).await;
    match claimed {
        Ok(()) => {
            tx.commit().await?;
            Ok(Claim::Fresh)
        }
        Err(_) => {
            // Another request claimed it at the same moment.
            drop(tx);
            match db::api_tokens::idempotent_answer(&db.pool, token_id, key, since).await? {
                Some(found) => Ok(judge(found, request_hash)),
                None => Ok(Claim::InProgress),
            }
        }
    }
}

pub async fn complete(
    db: &Db,
    token_id: &str,
    key: &str,
    answer: &StoredAnswer,
) -> Result<(), sqlx::Error> {
    db::api_tokens::complete_answer(&db.pool, token_id, key, answer).await
}

pub async fn release(db: &Db, token_id: &str, key: &str) -> Result<(), sqlx::Error> {
    db::api_tokens::release_key(&db.pool, token_id, key).await
}
