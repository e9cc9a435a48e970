//! Backup and restore (issue 17): an online SQLite copy taken while users are being created is
//! one consistent moment with its audit chain intact, a restored copy starts Gatehouse, a
//! tampered copy is refused naming the bad event, and nothing with data is overwritten unless
//! asked. On PostgreSQL both commands point to pg_dump and pg_restore, and that documented
//! procedure is itself tested.
use crate::common::*;
use gatehouse::model::users::UserInput;
use gatehouse::model::{Permission, Principal, Role};
use gatehouse::server::auth::Authorized;
use gatehouse::server::backup::{self, BackupError};
use gatehouse::server::service::audit::{self, Actor, RequestMeta, Trust};
use gatehouse::server::service::users;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn admin() -> Authorized {
    Authorized {
        principal: Principal {
            subject: "admin-sub".into(),
            email: ADMIN.into(),
            name: "Ada Admin".into(),
            role: Role::Admin,
            scopes: None,
        },
        permission: Permission::WriteUsers,
        meta: RequestMeta::default(),
    }
}

fn operator() -> Actor {
    Actor {
        subject: Some("gatehouse-cli".into()),
        email: Some("cli:test".into()),
        role: None,
    }
}

fn person(n: usize) -> UserInput {
    UserInput {
        email: format!("load-{n}-{}@example.com", uuid::Uuid::new_v4().simple()),
        display_name: format!("Load {n}"),
        source: "hr-emea".into(),
        ..Default::default()
    }
}

/// A new directory of this test's own.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gh-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Users, `user.create` events and all events in a SQLite file (opened on its own).
async fn counts_in(path: &Path) -> (i64, i64, i64) {
    let pool = sqlx::SqlitePool::connect(&sqlite_url(path)).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let created: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.create'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (users, created, events)
}

/// Files in `dir` other than `keep`: a failed or finished command leaves no partial copy.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !keep.contains(&name.as_str()))
        .collect()
}

/// Steady writes: users created one after another, each with its audit event, until stopped.
struct SteadyWriter {
    created: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl SteadyWriter {
    fn start(app: &TestApp) -> SteadyWriter {
        let created = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (db, count, halt) = (app.state.db.clone(), created.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let auth = admin();
            while !halt.load(Ordering::Acquire) {
                let n = count.load(Ordering::Acquire);
                users::create(&db, &auth, &person(n)).await.unwrap();
                count.fetch_add(1, Ordering::AcqRel);
            }
        });
        SteadyWriter {
            created,
            stop,
            task,
        }
    }

    fn created(&self) -> usize {
        self.created.load(Ordering::Acquire)
    }

    /// Waits until `n` users were created (at most 30 s).
    async fn wait_for(&self, n: usize) {
        for _ in 0..600 {
            if self.created() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the writer did not reach {n} users within 30 s");
    }

    /// Stops the writes; returns how many users were created in all.
    async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Release);
        self.task.await.unwrap();
        self.created.load(Ordering::Acquire)
    }
}

#[tokio::test]
async fn an_online_backup_is_one_consistent_moment_and_restores_with_its_chain_intact() {
    if engine() == "postgres" {
        return; // SQLite only; the PostgreSQL refusal has its own test.
    }
    let app = TestApp::spawn().await;
    let dir = scratch();

    let writer = SteadyWriter::start(&app);
    writer.wait_for(30).await;
    let before = writer.created();
    let path = dir.join("gatehouse-backup.db");
    let report = backup::backup(&app.state.db, &path, &Trust::default())
        .await
        .expect("the backup succeeds while users are being created");
    let after = writer.created();
    // Writes carry on after the backup, so the copy is a moment, not the end.
    writer.wait_for(after + 10).await;
    let total = writer.stop().await as i64;

    assert_eq!(report.path, path);
    assert!(report.bytes > 0);
    assert!(
        report.users >= before as i64 && report.users <= after as i64 + 1,
        "the copy holds the users of a moment during the backup: {} (before {before}, after {after})",
        report.users
    );
    assert!(report.users < total, "{} of {total}", report.users);
    assert_eq!(
        report.audit_events, report.head_seq,
        "no retention purge here"
    );
    assert_eq!(report.verified, report.head_seq);
    // Every change in the copy has its audit event, and every event its change.
    let (users_in_copy, created_in_copy, events_in_copy) = counts_in(&path).await;
    assert_eq!(users_in_copy, report.users);
    assert_eq!(created_in_copy, users_in_copy, "user.create events = users");
    assert_eq!(events_in_copy, report.audit_events);
    assert_eq!(
        leftovers(&dir, &["gatehouse-backup.db"]),
        Vec::<String>::new()
    );

    // Restore into a fresh location and start Gatehouse on it.
    let target = dir.join("restored").join("gatehouse.db");
    let restored = backup::restore(
        &sqlite_url(&target),
        &path,
        &Trust::default(),
        &operator(),
        false,
    )
    .await
    .expect("a verified backup restores into a new location");
    assert_eq!(restored.path, target);
    assert_eq!(restored.users, report.users);
    assert_eq!(
        restored.audit_events,
        report.audit_events + 1,
        "the restore is audited"
    );
    assert_eq!(restored.head_seq, report.head_seq + 1);
    let restored_app = TestApp::spawn_on(&sqlite_url(&target), |_| {}).await;
    let (users_restored, created_restored, _) = counts_in(&target).await;
    assert_eq!(
        (users_restored, created_restored),
        (report.users, report.users)
    );
    let verified = audit::verify(&restored_app.state.db, &Trust::default())
        .await
        .unwrap();
    assert_eq!(verified.first_broken, None);
    assert_eq!(verified.checked, report.head_seq + 1);
    let events = restored_app.audit_events().await;
    let last = events.last().expect("events");
    assert_eq!(last.action, "audit.restore");
    assert_eq!(last.actor_email.as_deref(), Some("cli:test"));
    // The restored instance serves.
    assert_eq!(restored_app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn a_tampered_copy_is_refused_naming_the_first_bad_event() {
    if engine() == "postgres" {
        return;
    }
    let app = TestApp::spawn().await;
    for n in 0..3 {
        users::create(&app.state.db, &admin(), &person(n))
            .await
            .unwrap();
    }
    let dir = scratch();
    let path = dir.join("copy.db");
    let report = backup::backup(&app.state.db, &path, &Trust::default())
        .await
        .unwrap();
    assert!(report.head_seq >= 3, "{report:?}");

    // Someone edits an event in the copy (the append-only guard dropped first).
    let pool = sqlx::SqlitePool::connect(&sqlite_url(&path)).await.unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET details = '{\"forged\":true}' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let target = dir.join("restored.db");
    let err = backup::restore(
        &sqlite_url(&target),
        &path,
        &Trust::default(),
        &operator(),
        false,
    )
    .await
    .expect_err("a copy whose chain is broken is refused");
    match &err {
        BackupError::Broken { seq, why, .. } => {
            assert_eq!(*seq, 2, "{err}");
            assert!(why.contains("edited"), "{err}");
        }
        other => panic!("expected a broken chain, got {other}"),
    }
    assert!(err.to_string().contains("event 2"), "{err}");
    assert!(!target.exists(), "nothing is restored");
    assert_eq!(leftovers(&dir, &["copy.db"]), Vec::<String>::new());
}

#[tokio::test]
async fn nothing_with_data_is_overwritten_unless_forced() {
    if engine() == "postgres" {
        return;
    }
    let app = TestApp::spawn().await;
    users::create(&app.state.db, &admin(), &person(0))
        .await
        .unwrap();
    let dir = scratch();
    let first = dir.join("first.db");
    backup::backup(&app.state.db, &first, &Trust::default())
        .await
        .unwrap();

    // A backup never replaces a file.
    let err = backup::backup(&app.state.db, &first, &Trust::default())
        .await
        .expect_err("an existing file is refused");
    assert!(matches!(err, BackupError::Refused(_)), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");

    users::create(&app.state.db, &admin(), &person(1))
        .await
        .unwrap();
    let second = dir.join("second.db");
    let later = backup::backup(&app.state.db, &second, &Trust::default())
        .await
        .unwrap();

    // An empty file is no data: restored into.
    let target = dir.join("live.db");
    std::fs::write(&target, b"").unwrap();
    let url = sqlite_url(&target);
    let restored = backup::restore(&url, &first, &Trust::default(), &operator(), false)
        .await
        .unwrap();
    assert_eq!(restored.users, 1);

    // Now it holds data: refused without --force, and left as it was.
    let err = backup::restore(&url, &second, &Trust::default(), &operator(), false)
        .await
        .expect_err("a database with data is not replaced without --force");
    assert!(matches!(err, BackupError::Refused(_)), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert!(err.to_string().contains("1 users"), "{err}");
    assert_eq!(counts_in(&target).await.0, 1);

    // With --force it is replaced by the later backup.
    let replaced = backup::restore(&url, &second, &Trust::default(), &operator(), true)
        .await
        .unwrap();
    assert_eq!(replaced.users, later.users);
    assert_eq!(counts_in(&target).await.0, 2);
    assert_eq!(
        leftovers(&dir, &["first.db", "second.db", "live.db"]),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn on_postgresql_backup_and_restore_point_to_pg_dump_and_pg_restore() {
    if engine() != "postgres" {
        return; // The SQLite commands are tested above.
    }
    let app = TestApp::spawn().await;
    let dir = scratch();
    let path = dir.join("copy.db");
    let err = backup::backup(&app.state.db, &path, &Trust::default())
        .await
        .expect_err("no VACUUM INTO on PostgreSQL");
    assert!(matches!(err, BackupError::Refused(_)), "{err}");
    assert!(err.to_string().contains("pg_dump -Fc"), "{err}");
    assert!(!path.exists());

    std::fs::write(&path, b"not used").unwrap();
    let err = backup::restore(
        &app.state.config.database_url,
        &path,
        &Trust::default(),
        &operator(),
        false,
    )
    .await
    .expect_err("restore refuses PostgreSQL");
    assert!(matches!(err, BackupError::Refused(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("pg_restore"), "{message}");
    assert!(message.contains("gatehouse audit verify"), "{message}");
}

/// Runs a PostgreSQL client tool; panics with its output when it fails.
async fn pg_tool(program: &str, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Users and `user.create` events in a PostgreSQL database (opened on its own).
async fn pg_counts(url: &str) -> (i64, i64) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    let created: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.create'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    (users, created)
}

/// The README's PostgreSQL procedure, step by step: `pg_dump -Fc` while users are being
/// created, `pg_restore` into a fresh database, `gatehouse audit verify` on it, Gatehouse serves.
#[tokio::test]
async fn on_postgresql_the_documented_dump_and_restore_keeps_a_moment_and_its_chain() {
    if engine() != "postgres" {
        return;
    }
    let app = TestApp::spawn().await;
    let dir = scratch();
    let writer = SteadyWriter::start(&app);
    writer.wait_for(20).await;
    let before = writer.created() as i64;
    let dump = dir.join("gatehouse.dump");
    let live = app.state.config.database_url.clone();
    pg_tool(
        "pg_dump",
        &["-Fc", "-d", &live, "-f", &dump.display().to_string()],
    )
    .await;
    let after = writer.created() as i64;
    writer.stop().await;

    let restored_url = fresh_database_url().await;
    pg_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "-d",
            &restored_url,
            &dump.display().to_string(),
        ],
    )
    .await;
    let (users_restored, created_restored) = pg_counts(&restored_url).await;
    assert!(
        users_restored >= before && users_restored <= after + 1,
        "the dump is one moment during the load: {users_restored} users (before {before}, after {after})"
    );
    assert_eq!(
        created_restored, users_restored,
        "user.create events = users"
    );

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["audit", "verify"])
        .env_remove("GATEHOUSE_AUDIT_VERIFY_KEY")
        .env_remove("GATEHOUSE_AUDIT_CHECKPOINT_DIR")
        .env("GATEHOUSE_DATABASE_URL", &restored_url)
        .output()
        .await
        .expect("run gatehouse audit verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("intact: "), "{text}");

    let restored_app = TestApp::spawn_on(&restored_url, |_| {}).await;
    assert_eq!(restored_app.get("/readyz").await.status(), 200);
    let verified = audit::verify(&restored_app.state.db, &Trust::default())
        .await
        .unwrap();
    assert_eq!(verified.first_broken, None);
}
