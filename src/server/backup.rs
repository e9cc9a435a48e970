//! `gatehouse backup` and `gatehouse restore` on SQLite: an online copy taken with `VACUUM INTO`
//! (one read transaction, so the server keeps writing), whose audit chain is verified before it
//! is called a backup, and a restore that refuses a copy whose chain does not verify and never
//! leaves a half-written database behind. PostgreSQL has pg_dump and pg_restore (README,
//! "Production").
use crate::server::db::{self, Db, Engine};
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta, Trust};
use crate::server::service::checkpoints;
use crate::server::startup::StartupError;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const POSTGRES_BACKUP: &str = "gatehouse backup works on SQLite only; on PostgreSQL back up with \
pg_dump -Fc (README, Production: backup and restore)";
const POSTGRES_RESTORE: &str = "gatehouse restore works on SQLite only; on PostgreSQL restore \
with pg_restore into a fresh database, then run gatehouse audit verify (README, Production: \
backup and restore)";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Not done, and why (PostgreSQL, an existing file, a database holding data).
    #[error("{0}")]
    Refused(String),
    /// The copy's audit chain does not verify: the first bad event and what is wrong with it.
    #[error("the audit chain of {path} is broken at event {seq}: {why}")]
    Broken {
        path: PathBuf,
        seq: i64,
        why: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What a verified copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub users: i64,
    pub audit_events: i64,
    /// The chain head: the last event's position and hash.
    pub head_seq: i64,
    pub head_hash: String,
    /// Events whose links were checked (after a retention purge, fewer than the head's position).
    pub verified: i64,
    pub checkpoints: usize,
}

/// Copies the live SQLite database to `dest` (which must not exist) while the server writes,
/// then verifies the copy's audit chain. The copy is written beside `dest` and renamed when
/// complete. A copy whose chain is broken is still kept at `dest` (it is the database as it is,
/// evidence included) and reported as [`BackupError::Broken`]; `restore` refuses it.
pub async fn backup(db: &Db, dest: &Path, trust: &Trust) -> Result<CopyReport, BackupError> {
    if db.engine == Engine::Postgres {
        return Err(BackupError::Refused(POSTGRES_BACKUP.into()));
    }
    if dest.exists() {
        return Err(BackupError::Refused(format!(
            "{} already exists: a backup never replaces a file; choose a new name",
            dest.display()
        )));
    }
    let dir = parent_of(dest);
    std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
    let partial = beside(dest, "partial");
    let Some(partial_name) = partial.to_str() else {
        return Err(BackupError::Refused(format!(
            "{} is not a UTF-8 path",
            dest.display()
        )));
    };
    let copied = db::backup::vacuum_into(&db.pool, partial_name).await;
    let checked = match copied {
        Ok(()) => inspect(&partial, trust).await,
        Err(e) => Err(e.into()),
    };
    let report = match checked {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if dest.exists() {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Refused(format!(
            "{} appeared while the backup was written; the backup was not kept",
            dest.display()
        )));
    }
    std::fs::rename(&partial, dest).map_err(io(format!("cannot rename to {}", dest.display())))?;
    sync_dir(&dir);
    let (report, broken) = report;
    let report = CopyReport {
        path: dest.to_path_buf(),
        ..report
    };
    match broken {
        Some((seq, why)) => Err(BackupError::Broken {
            path: report.path,
            seq,
            why,
        }),
        None => Ok(report),
    }
}

/// Replaces the SQLite database of `database_url` with the backup `from`: only when the target
/// does not exist or holds no data (unless `force`), and only when the backup's audit chain
/// verifies. The restore itself is appended to the restored chain as `audit.restore` by `actor`.
/// The copy is prepared beside the target and renamed over it, so the target is either the old
/// database or the whole restored one. Gatehouse must be stopped while it runs.
pub async fn restore(
    database_url: &str,
    from: &Path,
    trust: &Trust,
    actor: &Actor,
    force: bool,
) -> Result<CopyReport, BackupError> {
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::Refused(POSTGRES_RESTORE.into()));
    }
    let target = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?
        .get_filename()
        .to_path_buf();
    if !from.is_file() {
        return Err(BackupError::Refused(format!(
            "{} is not a file",
            from.display()
        )));
    }
    // A database with a write-ahead log beside it is live (or was not closed): its file alone
    // misses the latest writes.
    if non_empty(&side_file(from, "-wal")) {
        return Err(BackupError::Refused(format!(
            "{} has a write-ahead log beside it: it is a live database, not a backup (make one with gatehouse backup)",
            from.display()
        )));
    }
    if !force {
        if let Some(holds) = holds_data(&target).await? {
            return Err(BackupError::Refused(format!(
                "{} already holds data ({holds}); restoring would replace it: stop Gatehouse and pass --force to replace it",
                target.display()
            )));
        }
    }
    let dir = parent_of(&target);
    std::fs::create_dir_all(&dir).map_err(io(format!("cannot create {}", dir.display())))?;
    let prepared = beside(&target, "restoring");
    let result = prepare(from, &prepared, trust, actor).await;
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&prepared);
            return Err(e);
        }
    };
    // The old database's log and shared memory would be applied to the new file.
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = side_file(&target, suffix);
        if side.exists() {
            std::fs::remove_file(&side).map_err(io(format!("cannot remove {}", side.display())))?;
        }
    }
    std::fs::rename(&prepared, &target)
        .map_err(io(format!("cannot rename to {}", target.display())))?;
    sync_dir(&dir);
    Ok(CopyReport {
        path: target,
        ..report
    })
}

/// Copies `from` to `prepared`, verifies the copy's chain and records the restore in it.
async fn prepare(
    from: &Path,
    prepared: &Path,
    trust: &Trust,
    actor: &Actor,
) -> Result<CopyReport, BackupError> {
    std::fs::copy(from, prepared).map_err(io(format!(
        "cannot copy {} to {}",
        from.display(),
        prepared.display()
    )))?;
    let (before, broken) = inspect(prepared, trust).await?;
    if let Some((seq, why)) = broken {
        return Err(BackupError::Broken {
            path: from.to_path_buf(),
            seq,
            why,
        });
    }
    let db = Db::open_sqlite_file(prepared, true).await?;
    let entry = Entry::new("audit.restore", Outcome::Success).details(serde_json::json!({
        "from": from.display().to_string(),
        "backup_head_seq": before.head_seq,
        "backup_head_hash": before.head_hash,
        "users": before.users,
    }));
    let recorded = async {
        audit::record_alone(&db, actor, &RequestMeta::default(), entry).await?;
        let counts = db::backup::counts(&db.pool).await?;
        let head = db::audit::head(&db.pool).await?;
        Ok::<_, sqlx::Error>((counts, head))
    }
    .await;
    db.pool.close().await;
    let (counts, (head_seq, head_hash)) = recorded?;
    Ok(CopyReport {
        bytes: sync_file(prepared)?,
        users: counts.users,
        audit_events: counts.audit_events,
        head_seq,
        head_hash,
        // The restore's own event, appended to a chain just verified.
        verified: before.verified + 1,
        ..before
    })
}

/// Verifies the chain of the SQLite file at `path`, syncs it to disk and reports what it holds,
/// with the first broken link if any.
async fn inspect(
    path: &Path,
    trust: &Trust,
) -> Result<(CopyReport, Option<(i64, String)>), BackupError> {
    let db = Db::open_sqlite_file(path, true).await?;
    let result = async {
        let verified = audit::verify(&db, trust).await?;
        let counts = db::backup::counts(&db.pool).await?;
        let (head_seq, head_hash) = db::audit::head(&db.pool).await?;
        Ok::<_, sqlx::Error>((verified, counts, head_seq, head_hash))
    }
    .await;
    // Closed before the file is synced, renamed or copied: the file is then complete alone.
    db.pool.close().await;
    let (verified, counts, head_seq, head_hash) = result?;
    Ok((
        CopyReport {
            path: path.to_path_buf(),
            bytes: sync_file(path)?,
            users: counts.users,
            audit_events: counts.audit_events,
            head_seq,
            head_hash,
            verified: verified.checked,
            checkpoints: verified.checkpoints,
        },
        verified.first_broken,
    ))
}

/// Syncs a file to disk (SQLite does not sync what VACUUM INTO writes, and a backup must
/// survive a power cut); returns its size.
fn sync_file(path: &Path) -> Result<u64, BackupError> {
    let file = std::fs::File::open(path).map_err(io(format!("cannot open {}", path.display())))?;
    file.sync_all()
        .map_err(io(format!("cannot sync {}", path.display())))?;
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

/// `None` when `target` is missing, empty or a database without data; otherwise what it holds.
async fn holds_data(target: &Path) -> Result<Option<String>, BackupError> {
    let wal = non_empty(&side_file(target, "-wal"));
    if !non_empty(target) && !wal {
        return Ok(None);
    }
    let unknown = || Some("it is not a Gatehouse database".to_string());
    let Ok(db) = Db::open_sqlite_file(target, false).await else {
        return Ok(unknown());
    };
    let found = async {
        if db::backup::table_count(&db.pool).await? == 0 {
            return Ok::<_, sqlx::Error>(None);
        }
        let counts = db::backup::counts(&db.pool).await?;
        let (head, _) = db::audit::head(&db.pool).await?;
        Ok((counts.users > 0 || head > 0)
            .then(|| format!("{} users, audit chain at event {head}", counts.users)))
    }
    .await;
    db.pool.close().await;
    Ok(found.unwrap_or_else(|_| unknown()))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A hidden file beside `path`, for a copy that is renamed to `path` once complete.
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gatehouse.db".into());
    let id = uuid::Uuid::new_v4().simple().to_string();
    parent_of(path).join(format!(".{name}.{what}-{}", &id[..12]))
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Makes a rename durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What the command line trusts: the configured keys; never the checkpoint directory, whose
/// files name events written after the backup was taken.
fn trust_from_env() -> Result<Trust, StartupError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let keys = checkpoints::trusted_keys(
        env("GATEHOUSE_AUDIT_SIGNING_KEY").as_deref(),
        env("GATEHOUSE_AUDIT_VERIFY_KEY").as_deref(),
    )
    .map_err(|(name, problem)| format!("{name} {problem}"))?;
    Ok(Trust {
        keys,
        external_dir: None,
    })
}

fn database_url() -> String {
    std::env::var("GATEHOUSE_DATABASE_URL").unwrap_or_else(|_| "sqlite://data/gatehouse.db".into())
}

fn describe(r: &CopyReport) -> String {
    format!(
        "{} users, {} audit events ({} links verified, {} checkpoints match), chain head: event {} hash {}; {} bytes",
        r.users, r.audit_events, r.verified, r.checkpoints, r.head_seq, r.head_hash, r.bytes
    )
}

/// `gatehouse backup PATH`. `Ok(false)` (exit status 1) when the copy's chain is broken.
pub async fn backup_cli(path: &str) -> Result<bool, StartupError> {
    let url = database_url();
    if !url.starts_with("sqlite:") {
        return Err(POSTGRES_BACKUP.into());
    }
    let trust = trust_from_env()?;
    let db = Db::connect(&url)
        .await
        .map_err(|e| format!("cannot open the database (GATEHOUSE_DATABASE_URL): {e}"))?;
    match backup(&db, Path::new(path), &trust).await {
        Ok(r) => {
            println!("backed up to {}: {}", r.path.display(), describe(&r));
            Ok(true)
        }
        Err(BackupError::Broken { path, seq, why }) => {
            println!(
                "BROKEN: the copy at {} was written, but its audit chain is broken at event {seq}: {why}. The live database's chain is broken too: run gatehouse audit verify",
                path.display()
            );
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// `gatehouse restore FROM [--force]`. `Ok(false)` (exit status 1) when the backup's chain is
/// broken; nothing is changed then.
pub async fn restore_cli(from: &str, force: bool) -> Result<bool, StartupError> {
    let trust = trust_from_env()?;
    let actor = Actor {
        subject: Some("gatehouse-cli".into()),
        email: Some(
            std::env::var("USER")
                .map(|u| format!("cli:{u}"))
                .unwrap_or_else(|_| "cli".into()),
        ),
        role: None,
    };
    match restore(&database_url(), Path::new(from), &trust, &actor, force).await {
        Ok(r) => {
            println!("restored {from} to {}: {}", r.path.display(), describe(&r));
            Ok(true)
        }
        Err(BackupError::Broken { seq, why, .. }) => {
            println!("REFUSED: the audit chain of {from} is broken at event {seq}: {why}. Nothing was restored.");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
