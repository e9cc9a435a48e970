//! Verifying the audit chain: every link from the retention anchor to the head, the anchor
//! itself, and every checkpoint (those in the database and, when given, the copies kept outside
//! it), signatures checked with the keys from the configuration, never the key stored beside a
//! checkpoint. Shared by `gatehouse audit verify` and the console's "Verify integrity" job.
use crate::model::jobs::JobState;
use crate::model::time::format_utc;
use crate::server::db::{self, Db};
use crate::server::service::audit::{chain_hash, row_of};
use crate::server::service::checkpoints::{self, SignatureProblem};
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::path::PathBuf;

/// What verification trusts; it comes from the configuration, never from the database.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Public keys whose signatures count. Empty when no key is configured: checkpoints are then
    /// compared by hash only, and anyone who can write the database can replace them.
    pub keys: Vec<VerifyingKey>,
    /// A directory of checkpoint files kept outside the database, compared with the chain too.
    pub external_dir: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub checked: i64,
    /// The first event whose link is broken, or the checkpoint that does not hold, and why.
    pub first_broken: Option<(i64, String)>,
    /// Checkpoints compared with the chain (database and files).
    pub checkpoints: usize,
    /// Of those, checkpoint files from the external directory.
    pub external: usize,
    /// Whether signatures were checked with a configured key.
    pub authenticated: bool,
}

/// Why verification stopped early: a database error, or a broken chain (position, reason).
enum Stop {
    Db(sqlx::Error),
    Broken(i64, String),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Db(e)
    }
}

fn broken<T>(seq: i64, why: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Broken(seq, why.into()))
}

/// A checkpoint the chain must match, and where it was found (named in every message).
struct Expected {
    seq: i64,
    hash: String,
    source: String,
    external: bool,
}

/// Walks the whole chain in order and reports the first broken link or checkpoint.
pub async fn verify(db: &Db, trust: &Trust) -> Result<VerifyReport, sqlx::Error> {
    verify_reporting(db, trust, None).await
}

/// `verify`, writing its progress to `job` every 20,000 events.
pub(crate) async fn verify_reporting(
    db: &Db,
    trust: &Trust,
    job: Option<&str>,
) -> Result<VerifyReport, sqlx::Error> {
    let mut report = VerifyReport {
        checked: 0,
        first_broken: None,
        checkpoints: 0,
        external: 0,
        authenticated: !trust.keys.is_empty(),
    };
    match walk(db, trust, job, &mut report).await {
        Ok(()) => Ok(report),
        Err(Stop::Broken(seq, why)) => {
            report.first_broken = Some((seq, why));
            Ok(report)
        }
        Err(Stop::Db(e)) => Err(e),
    }
}

async fn walk(
    db: &Db,
    trust: &Trust,
    job: Option<&str>,
    report: &mut VerifyReport,
) -> Result<(), Stop> {
    let (head_seq, head_hash) = db::audit::head(&db.pool).await?;
    // After a retention purge the chain starts at the anchor, which the purge's own audit event
    // names: a moved anchor (events removed without a purge) does not match it.
    let (anchor_seq, anchor_hash) = db::audit::anchor(&db.pool).await?;
    if anchor_seq > 0 {
        let purge = db::audit::last_purge_details(&db.pool)
            .await?
            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
            .filter(|d| {
                d["through_seq"].as_i64() == Some(anchor_seq)
                    && d["through_hash"].as_str() == Some(anchor_hash.as_str())
            });
        let Some(purge) = purge else {
            return broken(anchor_seq, "the chain's starting anchor is not the one the last purge recorded (events removed outside retention)");
        };
        // Anyone who can write the database can append a purge event; only Gatehouse's key can
        // sign one.
        if !trust.keys.is_empty() {
            if let Err(problem) = checkpoints::check_purge_signature(&purge, &trust.keys) {
                return broken(anchor_seq, format!(
                    "the last purge, which removed the events through {anchor_seq}, {problem}: events removed outside retention (or purged without the key)"
                ));
            }
        }
    }

    // Every checkpoint must be signed by a configured key and match the chain at its position.
    let mut expected = database_checkpoints(db, &trust.keys).await?;
    if let Some(dir) = &trust.external_dir {
        expected.extend(external_checkpoints(dir, &trust.keys)?);
    }
    expected.sort_by_key(|e| e.seq);
    report.checkpoints = expected.len();
    report.external = expected.iter().filter(|e| e.external).count();
    let mut at_seq: HashMap<i64, Vec<Expected>> = HashMap::new();
    for e in expected {
        if e.seq > head_seq {
            return broken(e.seq, format!(
                "{} names event {}, but the chain's head is event {head_seq}: events were removed and the head moved back",
                e.source, e.seq
            ));
        }
        if e.seq < anchor_seq {
            // Archived and removed by the audited purge that recorded the anchor.
            continue;
        }
        if e.seq == anchor_seq {
            if e.hash != anchor_hash {
                return broken(e.seq, format!(
                    "{} differs from the anchor the last purge recorded at event {}: the chain was rewritten",
                    e.source, e.seq
                ));
            }
            continue;
        }
        if e.external {
            // Named directly, so a removed event is reported with the file that proves it.
            match db::audit::hash_at(&db.pool, e.seq).await? {
                None => {
                    return broken(e.seq, format!(
                        "event {} is missing from the database, but {} records it: rows were deleted",
                        e.seq, e.source
                    ))
                }
                Some(h) if h != e.hash => {
                    return broken(e.seq, format!(
                        "event {} has another hash than {} records: the chain was rewritten",
                        e.seq, e.source
                    ))
                }
                Some(_) => continue,
            }
        }
        at_seq.entry(e.seq).or_default().push(e);
    }

    let mut expected_prev = anchor_hash;
    let mut expected_seq = anchor_seq + 1;
    let mut reported = 0;
    loop {
        let rows = db::audit::chain_slice(db, expected_seq - 1, 5000).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let e = &r.event;
            if e.seq > head_seq {
                return broken(
                    e.seq,
                    format!(
                        "event {} is after the last one the head records ({head_seq}): inserted",
                        e.seq
                    ),
                );
            }
            if e.seq != expected_seq {
                return broken(
                    e.seq,
                    format!(
                    "expected event {expected_seq} next but found {} (deleted or inserted events)",
                    e.seq
                ),
                );
            }
            if r.prev_hash != expected_prev {
                return broken(
                    e.seq,
                    "its previous-hash does not match the event before it (inserted or reordered)",
                );
            }
            if chain_hash(&row_of(e, &r.prev_hash)) != e.hash {
                return broken(e.seq, "its content does not match its hash (edited)");
            }
            for cp in at_seq.get(&e.seq).into_iter().flatten() {
                if cp.hash != e.hash {
                    return broken(
                        e.seq,
                        format!(
                            "its hash differs from {} (the chain was rewritten)",
                            cp.source
                        ),
                    );
                }
            }
            expected_prev = e.hash.clone();
            expected_seq += 1;
            report.checked += 1;
        }
        if let Some(id) = job {
            if report.checked - reported >= 20_000 {
                reported = report.checked;
                let total = (head_seq - anchor_seq).max(report.checked) as u64;
                db::jobs::progress(
                    &db.pool,
                    id,
                    JobState::Running,
                    total,
                    report.checked as u64,
                    db::now_ms(),
                )
                .await?;
            }
        }
    }
    let last = expected_seq - 1;
    if last != head_seq || expected_prev != head_hash {
        return broken(
            last + 1,
            format!("the chain ends at {last} but the head records {head_seq} events (truncated)"),
        );
    }
    Ok(())
}

/// The checkpoints in the database. With a key configured each must be signed by it; unsigned
/// ones are accepted only before the first signed one (taken before signing was configured: the
/// signed one after them covers the same events), and at least one must be signed.
async fn database_checkpoints(db: &Db, keys: &[VerifyingKey]) -> Result<Vec<Expected>, Stop> {
    let mut rows = db::audit::checkpoints(&db.pool, i64::MAX).await?;
    rows.reverse();
    let mut signed_seen = false;
    let mut out = Vec::with_capacity(rows.len());
    for cp in rows {
        let source = format!(
            "the checkpoint of event {} in the database (taken {})",
            cp.seq,
            format_utc(cp.created_at)
        );
        if !keys.is_empty() {
            match checkpoints::check_signature(&cp, keys) {
                Ok(()) => signed_seen = true,
                Err(SignatureProblem::Unsigned) if !signed_seen => {}
                Err(problem) => {
                    return broken(
                        cp.seq,
                        format!("{source} {problem}: the checkpoints were replaced"),
                    )
                }
            }
        }
        out.push(Expected {
            seq: cp.seq,
            hash: cp.hash,
            source,
            external: false,
        });
    }
    if !keys.is_empty() && !signed_seen {
        if let Some(last) = out.last() {
            return broken(last.seq, format!(
                "{} is unsigned and no checkpoint in the database is signed by the configured key: the checkpoints were replaced",
                last.source
            ));
        }
    }
    Ok(out)
}

/// The checkpoint files in `dir`: each must be signed by a configured key.
fn external_checkpoints(
    dir: &std::path::Path,
    keys: &[VerifyingKey],
) -> Result<Vec<Expected>, Stop> {
    if keys.is_empty() {
        return broken(0, "checkpoint files can be checked only with the public key: set GATEHOUSE_AUDIT_VERIFY_KEY (or GATEHOUSE_AUDIT_SIGNING_KEY)");
    }
    let files = checkpoints::read_dir(dir).or_else(|why| broken(0, why))?;
    let mut out = Vec::with_capacity(files.len());
    for (path, cp) in files {
        let source = format!("the checkpoint file {}", path.display());
        if let Err(problem) = checkpoints::check_signature(&cp, keys) {
            return broken(cp.seq, format!("{source} {problem}"));
        }
        out.push(Expected {
            seq: cp.seq,
            hash: cp.hash,
            source,
            external: true,
        });
    }
    Ok(out)
}
