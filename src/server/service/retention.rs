//! Audit retention: events older than the retention period are first archived (an NDJSON file
//! with a signed checkpoint beside it, checked after writing) and only then removed; the chain
//! continues from a recorded anchor, and the purge itself is an audit event that names the
//! anchor, so verification still succeeds afterwards and a moved anchor is detected.
use crate::model::audit::Checkpoint;
use crate::server::db::{self, Db};
use crate::server::service::audit::{self, Actor, Entry, ExportFormat, Outcome, RequestMeta};
use crate::server::service::checkpoints::CheckpointSigner;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug)]
pub struct PurgeReport {
    pub archived: u64,
    pub through_seq: i64,
    pub archive: PathBuf,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Archives and removes the events up to `through_seq` (clamped to the events before the head's
/// last one, so the chain never becomes empty). `None` when there is nothing to remove, or when
/// another instance purged meanwhile.
pub async fn archive_and_purge(
    db: &Db,
    through_seq: i64,
    archive_dir: &Path,
    signer: Option<&CheckpointSigner>,
    actor: &Actor,
) -> Result<Option<PurgeReport>, Error> {
    let (anchor_seq, anchor_hash) = db::audit::anchor(&db.pool).await?;
    let (head, _) = db::audit::head(&db.pool).await?;
    let through = through_seq.min(head - 1);
    if through <= anchor_seq {
        return Ok(None);
    }
    let Some(through_hash) = db::audit::hash_at(&db.pool, through).await? else {
        // Another instance purged through here since the anchor was read.
        if db::audit::anchor(&db.pool).await?.0 != anchor_seq {
            return Ok(None);
        }
        return Err(format!("event {through} is missing; run `gatehouse audit verify`").into());
    };
    std::fs::create_dir_all(archive_dir)?;
    let stamp = crate::model::time::format_utc(db::now_ms())[..19].replace([' ', ':'], "-");
    let archive = archive_dir.join(format!("audit-{}-{through}-{stamp}.ndjson", anchor_seq + 1));

    // 1. Write the archive and its checkpoint, then read the file back and check it.
    let filter = db::audit::Filter {
        min_seq: Some(anchor_seq + 1),
        max_seq: Some(through + 1),
        ..Default::default()
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(&archive)?);
    let mut digest = Sha256::new();
    let mut stream = std::pin::pin!(audit::export_stream(
        db.clone(),
        filter,
        ExportFormat::Ndjson,
        None
    ));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        digest.update(chunk.as_bytes());
        file.write_all(chunk.as_bytes())?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let archive_sha256 = hex::encode(digest.finalize());
    // The new anchor's checkpoint: beside the archive, and (signed) in the checkpoint directory.
    let checkpoint = match signer {
        Some(s) => s.sign(through, &through_hash),
        None => Checkpoint {
            seq: through,
            hash: through_hash.clone(),
            created_at: db::now_ms(),
            public_key: None,
            signature: None,
        },
    };
    let checkpoint_file = archive.with_extension("checkpoint.json");
    std::fs::write(&checkpoint_file, serde_json::to_string_pretty(&checkpoint)?)?;
    let archived = match check_archive(&archive, anchor_seq, &anchor_hash, through, &through_hash) {
        Ok(n) => n,
        // Another instance removed these events while this one was copying them: its archive
        // is the complete one, this partial copy goes.
        Err(_) if db::audit::anchor(&db.pool).await?.0 != anchor_seq => {
            let _ = std::fs::remove_file(&archive);
            let _ = std::fs::remove_file(&checkpoint_file);
            tracing::info!("another instance purged these audit events first");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if let Some(s) = signer {
        s.write_file(&checkpoint)?;
    }
    db::audit::insert_checkpoint(&db.pool, &checkpoint).await?;

    // 2. One transaction: the purge event (naming the new anchor), the anchor, the deletion.
    let mut tx = db.begin_write().await?;
    let mut details = serde_json::json!({
        "through_seq": through, "through_hash": through_hash, "previous_anchor": anchor_seq,
        "events": archived, "archive": archive.file_name().map(|n| n.to_string_lossy().to_string()),
        "archive_sha256": archive_sha256,
    });
    // Signed, so that only Gatehouse's key can move the anchor (verification checks it).
    if let Some(s) = signer {
        details["signature"] = s.sign_purge(anchor_seq, through, &through_hash).into();
        details["public_key"] = hex::encode(s.key.verifying_key().to_bytes()).into();
    }
    let entry = Entry::new("audit.purge", Outcome::Success).details(details);
    audit::record(&mut tx, actor, &RequestMeta::default(), entry).await?;
    // Appending locked the head, so purges queue here; one that finds the anchor moved lost the
    // race to another instance, which archived and removed these events already. Its archive
    // may have the same name as this one's (a shared directory), so this copy is left in place.
    if db::audit::anchor_in(&mut tx).await?.0 != anchor_seq {
        tx.rollback().await?;
        tracing::info!(archive = %archive.display(), "another instance purged these audit events first");
        return Ok(None);
    }
    db::audit::purge_through(&mut tx, through, &through_hash).await?;
    tx.commit().await?;
    Ok(Some(PurgeReport {
        archived,
        through_seq: through,
        archive,
    }))
}

/// Reads an archive back: every line intact and linked, from the old anchor to the new one.
fn check_archive(
    path: &Path,
    anchor_seq: i64,
    anchor_hash: &str,
    through: i64,
    through_hash: &str,
) -> Result<u64, Error> {
    use std::io::BufRead;
    let (mut seq, mut prev) = (anchor_seq, anchor_hash.to_string());
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let ok = audit::exported_line_is_intact(&v)
            && v["seq"].as_i64() == Some(seq + 1)
            && v["prev_hash"].as_str() == Some(prev.as_str());
        if !ok {
            return Err(format!(
                "the archive {} is not a clean copy at event {}; nothing was removed",
                path.display(),
                seq + 1
            )
            .into());
        }
        seq += 1;
        prev = v["hash"].as_str().unwrap_or_default().to_string();
    }
    if seq != through || prev != through_hash {
        return Err(format!(
            "the archive {} ends at {seq}, not {through}; nothing was removed",
            path.display()
        )
        .into());
    }
    Ok((through - anchor_seq) as u64)
}

/// The actor of scheduled purges.
pub fn system_actor() -> Actor {
    Actor::system()
}

/// One step of the retention scheduler at time `now_ms`: archives and removes the events that
/// occurred before `now_ms - retention` (an event exactly at the cutoff is kept). The scheduler
/// calls it daily; tests call it with the time they choose.
pub async fn tick(
    db: &Db,
    retention: Duration,
    now_ms: i64,
    archive_dir: &Path,
    signer: Option<&CheckpointSigner>,
) -> Result<Option<PurgeReport>, Error> {
    let cutoff = now_ms - retention.as_millis() as i64;
    let through = match db::audit::first_seq_at(&db.pool, cutoff).await? {
        Some(first_kept) => first_kept - 1,
        None => i64::MAX,
    };
    archive_and_purge(db, through, archive_dir, signer, &system_actor()).await
}

/// Purges events older than `retention` once a day, on whichever instance holds the task's
/// lease (renewed during the run, however long the archive takes).
pub fn spawn(
    lessee: crate::server::service::leases::Lessee,
    retention: Duration,
    archive_dir: PathBuf,
    signer: Option<CheckpointSigner>,
    metrics: std::sync::Arc<crate::server::metrics::Metrics>,
) {
    use crate::server::service::leases;
    let task = leases::Task {
        name: "audit_retention",
        every: Duration::from_secs(86_400),
        wait_first: false,
    };
    let db = lessee.db.clone();
    leases::spawn(lessee, task, metrics, move || {
        let (db, archive_dir, signer) = (db.clone(), archive_dir.clone(), signer.clone());
        async move {
            match tick(&db, retention, db::now_ms(), &archive_dir, signer.as_ref()).await {
                Ok(Some(r)) => {
                    tracing::info!(events = r.archived, archive = %r.archive.display(), "audit events archived and removed");
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => {
                    tracing::error!(error = %e, "audit retention failed; nothing was removed");
                    Err(e.to_string())
                }
            }
        }
    });
}
