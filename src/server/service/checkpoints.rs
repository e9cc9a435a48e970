//! Audit checkpoints: the chain head (position and hash) at a moment, signed with Gatehouse's
//! Ed25519 key when `GATEHOUSE_AUDIT_SIGNING_KEY` is set. Every signed checkpoint is also written
//! as a file outside the database (`GATEHOUSE_AUDIT_CHECKPOINT_DIR`), so someone who can write
//! the database can neither forge one (no secret key) nor remove the record of one.
//! Signatures are checked against the public keys from the configuration, never against the key
//! stored beside a checkpoint (docs/audit-chain.md).
use crate::model::audit::{Checkpoint, CheckpointsView};
use crate::server::db::{self, Db};
use ed25519_dalek::{Signer as _, SigningKey, Verifier, VerifyingKey};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The exact text that is signed.
pub fn message(seq: i64, hash: &str, created_at: i64) -> String {
    format!("gatehouse-audit-checkpoint:v1:{seq}:{hash}:{created_at}")
}

fn hex32(hex_value: &str) -> Result<[u8; 32], String> {
    let bytes =
        hex::decode(hex_value.trim()).map_err(|_| "must be 64 hex characters".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (64 hex characters)".to_string())
}

/// Reads a 32-byte Ed25519 secret key given as 64 hex characters.
pub fn parse_key(hex_seed: &str) -> Result<SigningKey, String> {
    Ok(SigningKey::from_bytes(&hex32(hex_seed)?))
}

/// Reads an Ed25519 public key given as 64 hex characters.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_bytes(&hex32(hex_key)?)
        .map_err(|_| "is not a valid Ed25519 public key".to_string())
}

/// The public keys verification trusts, from the settings: the signing key's own and every key
/// listed in `GATEHOUSE_AUDIT_VERIFY_KEY` (comma-separated, so keys rotated out keep counting).
/// The error names the setting.
pub fn trusted_keys(
    signing_key: Option<&str>,
    verify_keys: Option<&str>,
) -> Result<Vec<VerifyingKey>, (&'static str, String)> {
    let mut keys = Vec::new();
    if let Some(k) = signing_key.filter(|k| !k.trim().is_empty()) {
        let key = parse_key(k).map_err(|e| ("GATEHOUSE_AUDIT_SIGNING_KEY", e))?;
        keys.push(key.verifying_key());
    }
    for k in verify_keys
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        let key = parse_public_key(k).map_err(|e| ("GATEHOUSE_AUDIT_VERIFY_KEY", e))?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Signs checkpoints and keeps a copy of each one outside the database.
#[derive(Clone)]
pub struct CheckpointSigner {
    pub key: SigningKey,
    /// Where each signed checkpoint is written as a file.
    pub dir: PathBuf,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field(
                "public_key",
                &hex::encode(self.key.verifying_key().to_bytes()),
            )
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// One checkpoint file: the checkpoint's fields, plus the time in words for people.
#[derive(serde::Serialize)]
struct CheckpointFile<'a> {
    #[serde(flatten)]
    checkpoint: &'a Checkpoint,
    created_at_utc: String,
}

impl CheckpointSigner {
    /// A signed checkpoint of (`seq`, `hash`) taken now.
    pub fn sign(&self, seq: i64, hash: &str) -> Checkpoint {
        let created_at = db::now_ms();
        let signature = self.key.sign(message(seq, hash, created_at).as_bytes());
        Checkpoint {
            seq,
            hash: hash.to_string(),
            created_at,
            public_key: Some(hex::encode(self.key.verifying_key().to_bytes())),
            signature: Some(hex::encode(signature.to_bytes())),
        }
    }

    /// Writes `cp` to `<dir>/checkpoint-<seq>.json` atomically (a temporary file, synced, then
    /// renamed), so a reader never sees half a file. Another instance writing the same position
    /// replaces it with an equally valid checkpoint of the same event.
    pub fn write_file(&self, cp: &Checkpoint) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let name = file_name(cp.seq);
        let target = self.dir.join(&name);
        let temp = self
            .dir
            .join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let text = serde_json::to_string_pretty(&CheckpointFile {
            checkpoint: cp,
            created_at_utc: crate::model::time::format_utc(cp.created_at),
        })
        .map_err(std::io::Error::other)?;
        let written =
            write_synced(&temp, text.as_bytes()).and_then(|()| std::fs::rename(&temp, &target));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written?;
        // The rename is durable once the directory is synced (not possible everywhere).
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(target)
    }
}

/// Writes `bytes` to a new file at `path` and waits until they are on disk.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// The file name of the checkpoint of event `seq` (zero-padded, so names sort by position).
pub fn file_name(seq: i64) -> String {
    format!("checkpoint-{seq:020}.json")
}

/// Records a checkpoint of the current head, unless the head has not moved since the last one.
/// A signed checkpoint is written to its file first, then to the database: a failure leaves no
/// checkpoint in the database without its copy outside (the next tick tries again).
pub async fn create(
    db: &Db,
    signer: Option<&CheckpointSigner>,
) -> Result<Option<Checkpoint>, Error> {
    let (seq, hash) = db::audit::head(&db.pool).await?;
    if seq == 0 || db::audit::latest_checkpoint_seq(&db.pool).await? >= seq {
        return Ok(None);
    }
    let cp = match signer {
        Some(s) => {
            let cp = s.sign(seq, &hash);
            s.write_file(&cp).map_err(|e| {
                format!(
                    "cannot write the checkpoint file in {} (GATEHOUSE_AUDIT_CHECKPOINT_DIR): {e}",
                    s.dir.display()
                )
            })?;
            cp
        }
        None => Checkpoint {
            seq,
            hash,
            created_at: db::now_ms(),
            public_key: None,
            signature: None,
        },
    };
    // Several instances may try at once; the primary key keeps one checkpoint per position.
    db::audit::insert_checkpoint(&db.pool, &cp).await?;
    Ok(Some(cp))
}

/// The text a retention purge signs: the anchor it moves from and the one it moves to.
pub fn purge_message(previous_anchor: i64, through_seq: i64, through_hash: &str) -> String {
    format!("gatehouse-audit-purge:v1:{previous_anchor}:{through_seq}:{through_hash}")
}

impl CheckpointSigner {
    /// The signature (hex) of a purge from `previous_anchor` through (`through_seq`, `through_hash`).
    pub fn sign_purge(&self, previous_anchor: i64, through_seq: i64, through_hash: &str) -> String {
        let msg = purge_message(previous_anchor, through_seq, through_hash);
        hex::encode(self.key.sign(msg.as_bytes()).to_bytes())
    }
}

/// Checks the signature an `audit.purge` event's details carry (`signature`, `public_key`) with
/// the `trusted` keys: only Gatehouse's key can move the anchor.
pub fn check_purge_signature(
    details: &serde_json::Value,
    trusted: &[VerifyingKey],
) -> Result<(), SignatureProblem> {
    let (Some(previous), Some(seq), Some(hash)) = (
        details["previous_anchor"].as_i64(),
        details["through_seq"].as_i64(),
        details["through_hash"].as_str(),
    ) else {
        return Err(SignatureProblem::Invalid);
    };
    let Some(signature) = details["signature"].as_str() else {
        return Err(SignatureProblem::Unsigned);
    };
    let bytes = hex::decode(signature)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok());
    if let Some(bytes) = bytes {
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        let msg = purge_message(previous, seq, hash);
        if trusted
            .iter()
            .any(|k| k.verify(msg.as_bytes(), &sig).is_ok())
        {
            return Ok(());
        }
    }
    let stored = details["public_key"].as_str().unwrap_or_default();
    if trusted
        .iter()
        .any(|k| hex::encode(k.to_bytes()).eq_ignore_ascii_case(stored))
    {
        Err(SignatureProblem::Invalid)
    } else {
        Err(SignatureProblem::OtherKey(stored.to_string()))
    }
}

/// Why a checkpoint does not count as signed by a configured key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureProblem {
    Unsigned,
    /// Signed with another key (its hex public key, as stored beside it).
    OtherKey(String),
    /// Claims a configured key, but the signature does not match its content.
    Invalid,
}

impl std::fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureProblem::Unsigned => write!(f, "is unsigned, but a signing key is configured"),
            SignatureProblem::OtherKey(pk) => write!(
                f,
                "is signed by another key ({}), not the configured one",
                pk.get(..16).unwrap_or(pk)
            ),
            SignatureProblem::Invalid => write!(
                f,
                "has a signature that does not verify with the configured key (altered)"
            ),
        }
    }
}

/// Checks `cp`'s signature with the `trusted` keys (from the configuration). The public key
/// stored beside the checkpoint is only used to say which key signed it when none matches.
pub fn check_signature(cp: &Checkpoint, trusted: &[VerifyingKey]) -> Result<(), SignatureProblem> {
    let Some(sig) = &cp.signature else {
        return Err(SignatureProblem::Unsigned);
    };
    let stored_key = cp.public_key.clone().unwrap_or_default();
    let bytes = hex::decode(sig)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok());
    if let Some(bytes) = bytes {
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        let msg = message(cp.seq, &cp.hash, cp.created_at);
        if trusted
            .iter()
            .any(|k| k.verify(msg.as_bytes(), &sig).is_ok())
        {
            return Ok(());
        }
    }
    let claims_trusted = trusted
        .iter()
        .any(|k| hex::encode(k.to_bytes()).eq_ignore_ascii_case(stored_key.trim()));
    if claims_trusted {
        Err(SignatureProblem::Invalid)
    } else {
        Err(SignatureProblem::OtherKey(stored_key))
    }
}

/// Every checkpoint file in `dir` (the external record), by position. An unreadable directory
/// or a file that is not a checkpoint is an error naming it.
pub fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, Checkpoint)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read the checkpoint directory {}: {e}",
            dir.display()
        )
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| {
                format!(
                    "cannot read the checkpoint directory {}: {e}",
                    dir.display()
                )
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Temporary files of a write in progress start with a dot.
        if name.starts_with('.') || !name.ends_with(".json") || !path.is_file() {
            continue;
        }
        let cp: Checkpoint = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|e| format!("the checkpoint file {} cannot be read: {e}", path.display()))?;
        found.push((path, cp));
    }
    found.sort_by(|a, b| (a.1.seq, &a.0).cmp(&(b.1.seq, &b.0)));
    Ok(found)
}

/// One step of the checkpoint scheduler (the scheduler calls it every period; tests call it
/// directly instead of waiting).
pub async fn tick(db: &Db, signer: Option<&CheckpointSigner>) -> Option<Checkpoint> {
    match create(db, signer).await {
        Ok(cp) => cp,
        Err(e) => {
            tracing::warn!(error = %e, "audit checkpoint failed; will retry");
            None
        }
    }
}

/// Checkpoints the head every `every` on whichever instance holds the task's lease (a duplicate
/// would be ignored anyway); a new database waits one period first.
pub fn spawn(
    lessee: crate::server::service::leases::Lessee,
    signer: Option<CheckpointSigner>,
    every: Duration,
    metrics: std::sync::Arc<crate::server::metrics::Metrics>,
) {
    use crate::server::service::leases;
    let task = leases::Task {
        name: "audit_checkpoint",
        every,
        wait_first: true,
    };
    let db = lessee.db.clone();
    leases::spawn(lessee, task, metrics, move || {
        let (db, signer) = (db.clone(), signer.clone());
        async move {
            create(&db, signer.as_ref()).await.map(|_| ()).map_err(|e| {
                tracing::warn!(error = %e, "audit checkpoint failed; will retry");
                e.to_string()
            })
        }
    });
}

/// The latest checkpoints, each marked valid only when signed by a configured key.
pub async fn view(db: &Db, trusted: &[VerifyingKey]) -> Result<CheckpointsView, sqlx::Error> {
    let checkpoints = db::audit::checkpoints(&db.pool, 10)
        .await?
        .into_iter()
        .map(|c| {
            let valid = check_signature(&c, trusted).is_ok();
            (c, valid)
        })
        .collect();
    Ok(CheckpointsView {
        public_key: trusted.first().map(|k| hex::encode(k.to_bytes())),
        checkpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: &str) -> CheckpointSigner {
        CheckpointSigner {
            key: parse_key(&seed.repeat(32)).unwrap(),
            dir: std::env::temp_dir().join(format!("gh-cp-{}", uuid::Uuid::new_v4().simple())),
        }
    }

    #[test]
    fn signatures_verify_with_the_configured_key_only() {
        let ours = signer("07");
        let theirs = signer("08");
        let trusted = [ours.key.verifying_key()];
        let mut cp = ours.sign(42, &"ab".repeat(32));
        assert_eq!(check_signature(&cp, &trusted), Ok(()));
        // Any change to the signed fields breaks it.
        cp.seq = 43;
        assert_eq!(
            check_signature(&cp, &trusted),
            Err(SignatureProblem::Invalid)
        );
        // A checkpoint signed by another key, carrying that key beside it, is refused.
        let foreign = theirs.sign(42, &"ab".repeat(32));
        assert!(matches!(
            check_signature(&foreign, &trusted),
            Err(SignatureProblem::OtherKey(_))
        ));
        // A foreign signature that claims our public key is refused too.
        let mut claims_ours = foreign.clone();
        claims_ours.public_key = ours.sign(1, "x").public_key;
        assert_eq!(
            check_signature(&claims_ours, &trusted),
            Err(SignatureProblem::Invalid)
        );
        let unsigned = Checkpoint {
            signature: None,
            public_key: None,
            ..foreign
        };
        assert_eq!(
            check_signature(&unsigned, &trusted),
            Err(SignatureProblem::Unsigned)
        );
        assert!(parse_key("zz").is_err());
    }

    #[test]
    fn trusted_keys_come_from_either_setting() {
        let s = signer("07");
        let public = hex::encode(s.key.verifying_key().to_bytes());
        let seed = "07".repeat(32);
        assert_eq!(
            trusted_keys(Some(&seed), None).unwrap(),
            vec![s.key.verifying_key()]
        );
        assert_eq!(
            trusted_keys(None, Some(&public)).unwrap(),
            vec![s.key.verifying_key()]
        );
        // Both: the same key once; a rotated-out key listed beside it counts too.
        let old = hex::encode(signer("09").key.verifying_key().to_bytes());
        assert_eq!(
            trusted_keys(Some(&seed), Some(&format!("{public}, {old}")))
                .unwrap()
                .len(),
            2
        );
        assert!(trusted_keys(None, None).unwrap().is_empty());
        assert_eq!(
            trusted_keys(None, Some("abc")).unwrap_err().0,
            "GATEHOUSE_AUDIT_VERIFY_KEY"
        );
        assert_eq!(
            trusted_keys(Some("abc"), None).unwrap_err().0,
            "GATEHOUSE_AUDIT_SIGNING_KEY"
        );
    }

    #[test]
    fn checkpoint_files_are_written_whole_and_read_back() {
        let s = signer("07");
        let cp = s.sign(7, &"cd".repeat(32));
        let path = s.write_file(&cp).unwrap();
        assert_eq!(
            path.file_name().unwrap(),
            "checkpoint-00000000000000000007.json"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"created_at_utc\""), "{text}");
        let read = read_dir(&s.dir).unwrap();
        assert_eq!(read.len(), 1, "one file, no temporary file left");
        assert_eq!(read[0].1, cp);
        assert_eq!(std::fs::read_dir(&s.dir).unwrap().count(), 1);
        std::fs::write(s.dir.join("broken.json"), "{").unwrap();
        let err = read_dir(&s.dir).unwrap_err();
        assert!(err.contains("broken.json"), "{err}");
        let _ = std::fs::remove_dir_all(&s.dir);
    }
}
