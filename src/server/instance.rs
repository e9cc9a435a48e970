//! Which instance this process is (issue 17, several instances): the name the background leases
//! and the delivery leases carry, shown in the console. And the rule that SQLite serves one
//! instance: the database file is locked for the life of the process.
use crate::server::config::{err, ConfigError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub const INSTANCE_ID_VAR: &str = "GATEHOUSE_INSTANCE_ID";
const MAX_ID_CHARS: usize = 64;
/// Between the id and the process start in a delivery lease's owner; never in an id.
pub const OWNER_SEPARATOR: char = '~';

/// The instance id of a delivery lease's owner (older owners, `w_<uuid>`, as they are).
pub fn id_of_owner(owner: &str) -> &str {
    owner
        .rsplit_once(OWNER_SEPARATOR)
        .map(|(id, _)| id)
        .unwrap_or(owner)
}

/// This instance: its name and when its process started. The pair names a lease's holder, so a
/// restarted instance (or a second one given the same name by mistake) is a different holder.
#[derive(Debug)]
pub struct Instance {
    pub id: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Set on shutdown: no lease is claimed any more, so the ones released stay free.
    stopping: AtomicBool,
}

impl Instance {
    /// `GATEHOUSE_INSTANCE_ID` when set, else the host name, the process id and a random suffix.
    pub fn new(configured: Option<&str>) -> Instance {
        Instance {
            id: configured.map(str::to_string).unwrap_or_else(default_id),
            started_at: crate::server::db::now_ms(),
            stopping: AtomicBool::new(false),
        }
    }

    /// The owner named on the per-destination delivery leases: the id and the process start,
    /// so two processes never share one even if given the same id by mistake.
    pub fn lease_owner(&self) -> String {
        format!("{}{OWNER_SEPARATOR}{}", self.id, self.started_at)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gatehouse".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &suffix[..6])
}

/// `GATEHOUSE_INSTANCE_ID`: a short name for the console (a pod or host name).
pub(crate) fn configured_id(
    var: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(raw) = var(INSTANCE_ID_VAR) else {
        return Ok(None);
    };
    let id = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    if id.chars().count() > MAX_ID_CHARS || !id.chars().all(allowed) {
        return Err(err(
            INSTANCE_ID_VAR,
            format!(
                "must be at most {MAX_ID_CHARS} letters, digits, '-', '_', '.' or ':' (got {raw:?})"
            ),
        ));
    }
    Ok(Some(id.to_string()))
}

/// The lock files this process holds, by absolute path. Held until the process ends; the tests
/// start several instances on one file in one process, which is one process still.
static HELD: Mutex<Vec<(PathBuf, File)>> = Mutex::new(Vec::new());

/// SQLite allows one instance: locks `<database file>.lock` for the life of the process, or
/// fails naming the file when another process holds it. Nothing to do for PostgreSQL and for
/// in-memory databases.
pub fn lock_sqlite(database_url: &str) -> Result<(), String> {
    let Some(database) = sqlite_file(database_url)? else {
        return Ok(());
    };
    let mut lock = database.clone().into_os_string();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    let file = open_lock_file(&lock)?;
    let key = std::fs::canonicalize(&lock).unwrap_or_else(|_| lock.clone());
    let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if held.iter().any(|(path, _)| *path == key) {
        // This process holds it already (a file lock is per open file, not per process, so
        // locking again would refuse ourselves). Closing this unlocked handle keeps the lock.
        return Ok(());
    }
    let file = take_lock(file, &lock, &database)?;
    held.push((key, file));
    Ok(())
}

/// The database file of a SQLite URL; `None` for PostgreSQL and in-memory databases.
fn sqlite_file(database_url: &str) -> Result<Option<PathBuf>, String> {
    if !database_url.starts_with("sqlite:") || database_url.contains(":memory:") {
        return Ok(None);
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .map_err(|e| format!("cannot read GATEHOUSE_DATABASE_URL: {e}"))?;
    let file = options.get_filename();
    if file.as_os_str().is_empty() || file == Path::new(":memory:") {
        return Ok(None);
    }
    Ok(Some(file.to_path_buf()))
}

fn open_lock_file(lock: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(lock)
        .map_err(|e| format!("cannot open the lock file {}: {e}", lock.display()))
}

/// Takes the exclusive lock on `file` (an advisory `flock`, released by the system when the
/// process ends, however it ends) and writes this process's id into it for the next one's message.
pub fn take_lock(mut file: File, lock: &Path, database: &Path) -> Result<File, String> {
    match file.try_lock() {
        Ok(()) => {
            // Only a hint for the message of a refused instance: failing to write it is harmless.
            let _ = file
                .set_len(0)
                .and_then(|_| writeln!(file, "{}", std::process::id()));
            Ok(file)
        }
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let by = match pid.trim().parse::<u32>() {
                Ok(pid) => format!(" (process {pid})"),
                Err(_) => String::new(),
            };
            Err(format!(
                "another Gatehouse instance{by} is using {} (SQLite allows one instance; use PostgreSQL for several)",
                database.display()
            ))
        }
        Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", lock.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_with_a_clear_message() {
        let dir = std::env::temp_dir().join(format!("gh-lock-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let database = dir.join("gatehouse.db");
        let lock = dir.join("gatehouse.db.lock");
        // Two opens of one file are two open file descriptions, as two processes would hold.
        let first = take_lock(open_lock_file(&lock).unwrap(), &lock, &database).unwrap();
        let refused = take_lock(open_lock_file(&lock).unwrap(), &lock, &database).unwrap_err();
        assert!(
            refused.contains(&format!("is using {}", database.display()))
                && refused.contains("SQLite allows one instance; use PostgreSQL for several")
                && refused.contains(&format!("(process {})", std::process::id())),
            "{refused}"
        );
        drop(first);
        take_lock(open_lock_file(&lock).unwrap(), &lock, &database)
            .expect("free again once the holder closed it");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn this_process_may_open_its_own_file_again_and_postgres_needs_no_lock() {
        let dir = std::env::temp_dir().join(format!("gh-lock-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/gatehouse.db", dir.display());
        lock_sqlite(&url).unwrap();
        lock_sqlite(&url).expect("the tests start several instances on one file");
        assert!(dir.join("gatehouse.db.lock").is_file());
        lock_sqlite("postgres://gatehouse@127.0.0.1/gatehouse").unwrap();
        lock_sqlite("sqlite::memory:").unwrap();
    }

    #[test]
    fn the_instance_id_is_configured_or_made_unique() {
        let none = |_: &'static str| None;
        assert_eq!(configured_id(&none).unwrap(), None);
        let set = |_: &'static str| Some(" gh-a.1 ".to_string());
        assert_eq!(configured_id(&set).unwrap().as_deref(), Some("gh-a.1"));
        let bad = |_: &'static str| Some("two words".to_string());
        assert!(configured_id(&bad).is_err());
        let long = |_: &'static str| Some("x".repeat(65));
        assert!(configured_id(&long).is_err());
        assert_ne!(Instance::new(None).id, Instance::new(None).id);
        let named = Instance::new(Some("gh-a"));
        assert_eq!(named.id, "gh-a");
        assert_eq!(id_of_owner(&named.lease_owner()), "gh-a");
        assert_eq!(id_of_owner("w_0193"), "w_0193");
    }
}
