//! `gatehouse audit export` and `gatehouse audit verify`: the auditors' tools on the command line,
//! over the same services as the console.
use crate::model::audit::AuditQuery;
use crate::server::db::Db;
use crate::server::service::audit::{self, ExportFormat};
use crate::server::service::checkpoints;
use crate::server::startup::StartupError;
use futures::StreamExt;
use std::io::Write;

async fn open() -> Result<Db, StartupError> {
    let url = std::env::var("GATEHOUSE_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/gatehouse.db".into());
    Ok(Db::connect(&url)
        .await
        .map_err(|e| format!("cannot open the database (GATEHOUSE_DATABASE_URL): {e}"))?)
}

/// Streams matching events to standard output, in chain order. Returns the number of bytes written.
pub async fn export(query: AuditQuery, format: &str) -> Result<u64, StartupError> {
    let format = ExportFormat::parse(format)?;
    let db = open().await?;
    let filter = audit::filter_of(&db, &query)
        .await
        .map_err(|e| e.to_string())?;
    // A command-line tool: blocking writes to standard output are fine here.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut stream = std::pin::pin!(audit::export_stream(db, filter, format, None));
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        out.write_all(chunk.as_bytes())?;
    }
    out.flush()?;
    Ok(bytes)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The signer from GATEHOUSE_AUDIT_SIGNING_KEY and GATEHOUSE_AUDIT_CHECKPOINT_DIR, if a key is set.
fn signer_from_env() -> Result<Option<checkpoints::CheckpointSigner>, StartupError> {
    let Some(k) = env("GATEHOUSE_AUDIT_SIGNING_KEY") else {
        return Ok(None);
    };
    let key = checkpoints::parse_key(&k).map_err(|e| format!("GATEHOUSE_AUDIT_SIGNING_KEY {e}"))?;
    let dir =
        env("GATEHOUSE_AUDIT_CHECKPOINT_DIR").unwrap_or_else(|| "data/audit-checkpoints".into());
    Ok(Some(checkpoints::CheckpointSigner {
        key,
        dir: dir.into(),
    }))
}

/// Walks the whole chain, checking every checkpoint with the configured public key
/// (GATEHOUSE_AUDIT_VERIFY_KEY or GATEHOUSE_AUDIT_SIGNING_KEY) and, with `checkpoints_dir`, the
/// checkpoint files kept outside the database. `false` (exit status 1) names what is broken.
pub async fn verify(checkpoints_dir: Option<&str>) -> Result<bool, StartupError> {
    let keys = checkpoints::trusted_keys(
        env("GATEHOUSE_AUDIT_SIGNING_KEY").as_deref(),
        env("GATEHOUSE_AUDIT_VERIFY_KEY").as_deref(),
    )
    .map_err(|(name, problem)| format!("{name} {problem}"))?;
    if checkpoints_dir.is_some() && keys.is_empty() {
        return Err("--checkpoints needs the public key the checkpoints are signed with: set GATEHOUSE_AUDIT_VERIFY_KEY (64 hex characters; the public key is shown on the audit page)".into());
    }
    let trust = audit::Trust {
        keys,
        external_dir: checkpoints_dir.map(Into::into),
    };
    let db = open().await?;
    let started = std::time::Instant::now();
    let report = audit::verify(&db, &trust).await?;
    let secs = started.elapsed().as_secs_f64();
    if let Some((seq, why)) = report.first_broken {
        println!(
            "BROKEN at event {seq}: {why} ({} events before it are intact)",
            report.checked
        );
        return Ok(false);
    }
    if let (Some(dir), 0) = (checkpoints_dir, report.external) {
        println!("NOT PROVEN: there is no checkpoint file in {dir} to compare the chain with");
        return Ok(false);
    }
    println!(
        "intact: {} events verified in {secs:.1} s ({:.0} events/s); {} checkpoints match{}",
        report.checked,
        report.checked as f64 / secs.max(0.001),
        report.checkpoints,
        match (report.authenticated, checkpoints_dir) {
            (false, _) => " (by hash only: no GATEHOUSE_AUDIT_VERIFY_KEY or GATEHOUSE_AUDIT_SIGNING_KEY is set, so their signatures were not checked)".to_string(),
            (true, Some(dir)) => format!(", {} of them files in {dir}, all signed by the configured key", report.external),
            (true, None) => ", all signed by the configured key".to_string(),
        }
    );
    Ok(true)
}

/// Records a checkpoint of the current head now; with GATEHOUSE_AUDIT_SIGNING_KEY it is signed
/// and also written to GATEHOUSE_AUDIT_CHECKPOINT_DIR.
pub async fn checkpoint() -> Result<(), StartupError> {
    let signer = signer_from_env()?;
    let db = open().await?;
    match checkpoints::create(&db, signer.as_ref()).await? {
        Some(cp) => println!(
            "checkpoint: seq {} hash {} at {}{}",
            cp.seq,
            cp.hash,
            crate::model::time::format_utc(cp.created_at),
            match (&cp.signature, &signer) {
                (Some(sig), Some(s)) => format!(
                    " signature {sig} public key {}; written to {}",
                    cp.public_key.clone().unwrap_or_default(),
                    s.dir.join(checkpoints::file_name(cp.seq)).display()
                ),
                _ => " (unsigned: set GATEHOUSE_AUDIT_SIGNING_KEY to sign checkpoints and keep them outside the database)".into(),
            }
        ),
        None => println!("no new events since the last checkpoint"),
    }
    Ok(())
}

/// Checks an NDJSON export without the database: every line's hash, the links between
/// consecutive lines, and (if given) that the checkpoint's event is in the file with its hash.
pub fn verify_file(path: &str, checkpoint: Option<(i64, String)>) -> Result<bool, StartupError> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut previous: Option<(i64, String)> = None;
    let mut lines = 0u64;
    let mut checkpoint_seen = false;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let fail = |why: String| -> Result<bool, StartupError> {
            println!("BROKEN at line {}: {why}", i + 1);
            Ok(false)
        };
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => return fail(format!("not a JSON object ({e})")),
        };
        if !audit::exported_line_is_intact(&value) {
            return fail("its fields do not match its hash (edited)".into());
        }
        let seq = value["seq"].as_i64().unwrap_or(0);
        let hash = value["hash"].as_str().unwrap_or("").to_string();
        let prev = value["prev_hash"].as_str().unwrap_or("");
        match &previous {
            Some((p_seq, p_hash)) if seq == p_seq + 1 && prev != p_hash => {
                return fail(format!("event {seq} does not link to event {p_seq}"));
            }
            Some((p_seq, _)) if seq <= *p_seq => {
                return fail(format!("event {seq} comes after event {p_seq} (reordered)"));
            }
            None if seq == 1 && prev != audit::GENESIS_HASH => {
                return fail("the first event does not start the chain".into());
            }
            _ => {}
        }
        if let Some((cp_seq, cp_hash)) = &checkpoint {
            if seq == *cp_seq {
                if hash != *cp_hash {
                    return fail(format!("event {seq} differs from the checkpoint"));
                }
                checkpoint_seen = true;
            }
        }
        previous = Some((seq, hash));
        lines += 1;
    }
    if checkpoint.is_some() && !checkpoint_seen {
        println!("NOT PROVEN: the checkpoint's event is not in this file ({lines} lines intact)");
        return Ok(false);
    }
    println!("intact: {lines} events, each matching its hash and linked to the one before");
    Ok(true)
}

/// Archives the events before `before` (UTC date or date-time) into `archive_dir`, then removes them.
pub async fn purge(before: &str, archive_dir: &str) -> Result<(), StartupError> {
    let cutoff =
        crate::model::time::parse_utc(before, false).map_err(|e| format!("--before: {e}"))?;
    let db = open().await?;
    let through = match crate::server::db::audit::first_seq_at(&db.pool, cutoff).await? {
        Some(first_kept) => first_kept - 1,
        None => i64::MAX,
    };
    let signer = signer_from_env()?;
    let actor = crate::server::service::audit::Actor {
        subject: Some("gatehouse-cli".into()),
        email: Some(
            std::env::var("USER")
                .map(|u| format!("cli:{u}"))
                .unwrap_or_else(|_| "cli".into()),
        ),
        role: None,
    };
    match crate::server::service::retention::archive_and_purge(
        &db,
        through,
        std::path::Path::new(archive_dir),
        signer.as_ref(),
        &actor,
    )
    .await?
    {
        Some(r) => println!(
            "archived {} events (through event {}) to {} and removed them",
            r.archived,
            r.through_seq,
            r.archive.display()
        ),
        None => println!("nothing older than {before} to archive"),
    }
    Ok(())
}
