//! Audit checkpoints: the chain head (position and hash) at a moment, signed with Gatehouse's
//! Ed25519 key when `GATEHOUSE_AUDIT_SIGNING_KEY` is set. An auditor keeps the public key and
//! checkpoints outside Gatehouse; anyone who rewrites the chain (even recomputing every hash)
//! cannot produce a chain that matches a signed checkpoint.
use crate::model::audit::Checkpoint;
use crate::server::db::{self, Db};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use std::time::Duration;

/// The exact text that is signed.
pub fn message(seq: i64, hash: &str, created_at: i64) -> String {
    format!("gatehouse-audit-checkpoint:v1:{seq}:{hash}:{created_at}")
}

/// Reads a 32-byte Ed25519 secret key given as 64 hex characters.
pub fn parse_key(hex_seed: &str) -> Result<SigningKey, String> {
    let bytes =
        hex::decode(hex_seed.trim()).map_err(|_| "must be 64 hex characters".to_string())?;
    let seed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (64 hex characters)".to_string())?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Records a checkpoint of the current head, unless the head has not moved since the last one.
pub async fn create(db: &Db, key: Option<&SigningKey>) -> Result<Option<Checkpoint>, sqlx::Error> {
    let (seq, hash) = db::audit::head(&db.pool).await?;
    if seq == 0 || db::audit::latest_checkpoint_seq(&db.pool).await? >= seq {
        return Ok(None);
    }
    let created_at = db::now_ms();
    let (public_key, signature) = match key {
        Some(k) => (
            Some(hex::encode(k.verifying_key().to_bytes())),
            Some(hex::encode(
                k.sign(message(seq, &hash, created_at).as_bytes())
                    .to_bytes(),
            )),
        ),
        None => (None, None),
    };
    let cp = Checkpoint {
        seq,
        hash,
        created_at,
        public_key,
        signature,
    };
    // Several instances may try at once; the primary key keeps one checkpoint per position.
    db::audit::insert_checkpoint(&db.pool, &cp).await?;
    Ok(Some(cp))
}

/// True when the checkpoint carries a valid signature by its public key.
pub fn signature_is_valid(cp: &Checkpoint) -> bool {
    let (Some(pk), Some(sig)) = (&cp.public_key, &cp.signature) else {
        return false;
    };
    let (Ok(pk), Ok(sig)) = (hex::decode(pk), hex::decode(sig)) else {
        return false;
    };
    let (Ok(pk), Ok(sig)) = (<[u8; 32]>::try_from(pk), <[u8; 64]>::try_from(sig)) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    key.verify(
        message(cp.seq, &cp.hash, cp.created_at).as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .is_ok()
}

/// Checkpoints the head every `every`, on every instance (duplicates are ignored).
pub fn spawn(db: Db, key: Option<SigningKey>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = create(&db, key.as_ref()).await {
                tracing::warn!(error = %e, "audit checkpoint failed; will retry");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let key = parse_key(&"07".repeat(32)).unwrap();
        let mut cp = Checkpoint {
            seq: 42,
            hash: "ab".repeat(32),
            created_at: 1_795_430_444_000,
            public_key: Some(hex::encode(key.verifying_key().to_bytes())),
            signature: None,
        };
        cp.signature = Some(hex::encode(
            key.sign(message(cp.seq, &cp.hash, cp.created_at).as_bytes())
                .to_bytes(),
        ));
        assert!(signature_is_valid(&cp));
        cp.seq = 43;
        assert!(!signature_is_valid(&cp));
        assert!(parse_key("zz").is_err());
    }
}
