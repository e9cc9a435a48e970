//! Checkpoints protect the chain from someone who can write the database: their signatures are
//! checked with the configured key (never the key stored beside them), the table is append-only,
//! and the copies kept outside the database show rows that were removed or rewritten.
use crate::common::*;
use gatehouse::model::audit::Checkpoint;
use gatehouse::server::db::audit as db_audit;
use gatehouse::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta, Trust};
use gatehouse::server::service::checkpoints::{self, CheckpointSigner};
use std::path::{Path, PathBuf};

/// Gatehouse's signing key in these tests, and a key the insider made.
pub const OURS: &str = "5e";
const THEIRS: &str = "7f";

pub fn temp_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gh-{tag}-{}", uuid::Uuid::new_v4().simple()))
}

fn key_signer(seed: &str, dir: &Path) -> CheckpointSigner {
    CheckpointSigner {
        key: checkpoints::parse_key(&seed.repeat(32)).unwrap(),
        dir: dir.to_path_buf(),
    }
}

/// An instance that signs checkpoints with [`OURS`] and writes them to a fresh directory.
pub async fn spawn_signing() -> (TestApp, CheckpointSigner) {
    let dir = temp_dir("checkpoints").display().to_string();
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_AUDIT_SIGNING_KEY", OURS.repeat(32));
        v.insert("GATEHOUSE_AUDIT_CHECKPOINT_DIR", dir);
    })
    .await;
    let signer = app
        .state
        .config
        .checkpoint_signer()
        .expect("a signing key is configured");
    (app, signer)
}

pub async fn append_n(app: &TestApp, n: usize) {
    let actor = Actor {
        subject: Some("t".into()),
        email: Some("t@example.com".into()),
        role: None,
    };
    for i in 0..n {
        let entry =
            Entry::new("test.event", Outcome::Success).details(serde_json::json!({ "i": i }));
        audit::record_alone(&app.state.db, &actor, &RequestMeta::default(), entry)
            .await
            .unwrap();
    }
}

pub async fn tick(app: &TestApp, signer: &CheckpointSigner) -> Checkpoint {
    checkpoints::tick(&app.state.db, Some(signer))
        .await
        .expect("a new checkpoint")
}

/// The configured keys, checkpoints in the database only.
fn database_only(app: &TestApp) -> Trust {
    Trust {
        keys: app.state.config.audit_verify_keys.clone(),
        external_dir: None,
    }
}

/// The configured keys and the checkpoint files in `dir`.
fn with_files(app: &TestApp, dir: &Path) -> Trust {
    Trust {
        keys: app.state.config.audit_verify_keys.clone(),
        external_dir: Some(dir.to_path_buf()),
    }
}

pub async fn intact(app: &TestApp, trust: &Trust) -> audit::VerifyReport {
    let report = audit::verify(&app.state.db, trust).await.unwrap();
    assert_eq!(report.first_broken, None, "{report:?}");
    report
}

async fn broken(app: &TestApp, trust: &Trust) -> (i64, String) {
    audit::verify(&app.state.db, trust)
        .await
        .unwrap()
        .first_broken
        .expect("verification fails")
}

pub async fn sql(app: &TestApp, statement: &str) {
    sqlx::query(statement)
        .execute(&app.state.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// The insider drops the guards on the events and on the checkpoints.
pub async fn drop_guards(app: &TestApp) {
    let statements: &[&str] = if engine() == "postgres" {
        &[
            "DROP TRIGGER audit_events_no_update ON audit_events",
            "DROP TRIGGER audit_checkpoints_no_update ON audit_checkpoints",
        ]
    } else {
        &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
            "DROP TRIGGER audit_checkpoints_no_update",
            "DROP TRIGGER audit_checkpoints_no_delete",
        ]
    };
    for s in statements {
        sql(app, s).await;
    }
}

/// The insider edits event `from` and recomputes every later hash with the chain's own hash
/// function, then moves the head: the chain is consistent again on its own.
pub async fn rewrite_from(app: &TestApp, from: i64) {
    let pool = &app.state.db.pool;
    let rows = db_audit::chain_slice(&app.state.db, 0, 10_000)
        .await
        .unwrap();
    assert!(rows.len() as i64 > from, "events to rewrite");
    let mut prev = audit::GENESIS_HASH.to_string();
    for r in rows {
        let e = r.event;
        if e.seq < from {
            prev = e.hash.clone();
            continue;
        }
        let actor = if e.seq == from {
            Some("forger@x.example")
        } else {
            e.actor_email.as_deref()
        };
        let forged = db_audit::AuditRow {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_subject: e.actor_subject.as_deref(),
            actor_email: actor,
            actor_role: e.actor_role.as_deref(),
            action: &e.action,
            target_type: e.target_type.as_deref(),
            target_id: e.target_id.as_deref(),
            outcome: &e.outcome,
            client_ip: e.client_ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            details: &e.details,
            prev_hash: &prev,
            hash: "",
        };
        let hash = audit::chain_hash(&forged);
        sqlx::query(
            "UPDATE audit_events SET actor_email = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(actor)
        .bind(&prev)
        .bind(&hash)
        .bind(e.seq)
        .execute(pool)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(pool)
        .await
        .unwrap();
}

/// The insider replaces every checkpoint with one of the rewritten chain, signed by `with`
/// (their own key) or unsigned. Returns the positions.
pub async fn replace_checkpoints(app: &TestApp, with: Option<&CheckpointSigner>) -> Vec<i64> {
    let pool = &app.state.db.pool;
    let old = db_audit::checkpoints(pool, 100).await.unwrap();
    assert!(!old.is_empty(), "there are checkpoints to replace");
    sql(app, "DELETE FROM audit_checkpoints").await;
    for cp in &old {
        let hash = db_audit::hash_at(pool, cp.seq).await.unwrap().unwrap();
        let new = match with {
            Some(s) => s.sign(cp.seq, &hash),
            None => Checkpoint {
                seq: cp.seq,
                hash,
                created_at: cp.created_at,
                public_key: None,
                signature: None,
            },
        };
        db_audit::insert_checkpoint(pool, &new).await.unwrap();
    }
    old.iter().map(|c| c.seq).collect()
}

#[tokio::test]
async fn a_chain_and_its_signed_checkpoints_verify_with_the_configured_key() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 4).await;
    let first = tick(&app, &signer).await;
    append_n(&app, 3).await;
    let second = tick(&app, &signer).await;
    assert_eq!((first.seq, second.seq), (4, 7));

    let r = intact(&app, &database_only(&app)).await;
    assert!(r.authenticated);
    assert_eq!((r.checked, r.checkpoints, r.external), (7, 2, 0));
    let r = intact(&app, &with_files(&app, &signer.dir)).await;
    assert_eq!((r.checkpoints, r.external), (4, 2));
    // The console's job trusts what the configuration says, the directory included.
    let r = intact(&app, &app.state.config.audit_trust()).await;
    assert_eq!(r.external, 2);

    // An auditor's machine holds only the public key (GATEHOUSE_AUDIT_VERIFY_KEY).
    let public = hex::encode(signer.key.verifying_key().to_bytes());
    let auditor = TestApp::spawn_on(&app.state.config.database_url, |v| {
        v.insert("GATEHOUSE_AUDIT_VERIFY_KEY", public);
    })
    .await;
    assert!(auditor.state.config.checkpoint_signer().is_none());
    let r = intact(&auditor, &with_files(&auditor, &signer.dir)).await;
    assert!(r.authenticated);
    assert_eq!(r.external, 2);
}

#[tokio::test]
async fn a_rewritten_chain_with_checkpoints_signed_by_another_key_fails() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 5).await;
    tick(&app, &signer).await;
    append_n(&app, 3).await;
    tick(&app, &signer).await;
    intact(&app, &database_only(&app)).await;

    drop_guards(&app).await;
    rewrite_from(&app, 2).await;
    let insider = key_signer(THEIRS, &temp_dir("insider"));
    assert_eq!(replace_checkpoints(&app, Some(&insider)).await, vec![8, 5]);
    // Checked only against the key stored beside them, the forgery holds together: this is
    // what the configured key is for.
    assert_eq!(
        audit::verify(&app.state.db, &Trust::default())
            .await
            .unwrap()
            .first_broken,
        None
    );
    let (seq, why) = broken(&app, &database_only(&app)).await;
    assert_eq!(seq, 5, "{why}");
    assert!(
        why.contains("checkpoint of event 5") && why.contains("another key"),
        "{why}"
    );
}

#[tokio::test]
async fn a_rewritten_chain_with_unsigned_checkpoints_fails() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 5).await;
    tick(&app, &signer).await;
    append_n(&app, 3).await;
    tick(&app, &signer).await;

    drop_guards(&app).await;
    rewrite_from(&app, 2).await;
    replace_checkpoints(&app, None).await;
    let (seq, why) = broken(&app, &database_only(&app)).await;
    assert_eq!(seq, 8, "{why}");
    assert!(
        why.contains("checkpoint of event 8") && why.contains("unsigned"),
        "{why}"
    );
}

#[tokio::test]
async fn unsigned_checkpoints_count_only_before_the_first_signed_one() {
    let (app, signer) = spawn_signing().await;
    // Taken before signing was configured.
    append_n(&app, 3).await;
    checkpoints::tick(&app.state.db, None)
        .await
        .expect("an unsigned checkpoint");
    append_n(&app, 3).await;
    tick(&app, &signer).await;
    let r = intact(&app, &database_only(&app)).await;
    assert_eq!(r.checkpoints, 2);

    // A later unsigned one (inserting is allowed: the table is append-only) is refused.
    append_n(&app, 2).await;
    let hash = db_audit::hash_at(&app.state.db.pool, 8)
        .await
        .unwrap()
        .unwrap();
    let unsigned = Checkpoint {
        seq: 8,
        hash,
        created_at: 1,
        public_key: None,
        signature: None,
    };
    db_audit::insert_checkpoint(&app.state.db.pool, &unsigned)
        .await
        .unwrap();
    let (seq, why) = broken(&app, &database_only(&app)).await;
    assert_eq!(seq, 8);
    assert!(
        why.contains("unsigned, but a signing key is configured"),
        "{why}"
    );
}

#[tokio::test]
async fn rewritten_checkpoint_rows_fail_and_deleted_ones_are_caught_by_the_files() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 5).await;
    tick(&app, &signer).await;
    append_n(&app, 3).await;
    tick(&app, &signer).await;

    drop_guards(&app).await;
    rewrite_from(&app, 2).await;
    // The checkpoint rows are made to match the rewritten chain; their signatures no longer do.
    sql(&app, "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_events WHERE audit_events.seq = audit_checkpoints.seq)").await;
    let (seq, why) = broken(&app, &database_only(&app)).await;
    assert_eq!(seq, 5);
    assert!(
        why.contains("does not verify with the configured key"),
        "{why}"
    );

    // Removing them leaves nothing in the database to compare with (documented), but the files
    // written outside it still hold the original hashes.
    sql(&app, "DELETE FROM audit_checkpoints").await;
    intact(&app, &database_only(&app)).await;
    let (seq, why) = broken(&app, &with_files(&app, &signer.dir)).await;
    assert_eq!(seq, 5);
    assert!(
        why.contains("checkpoint-00000000000000000005.json") && why.contains("rewritten"),
        "{why}"
    );
}

#[tokio::test]
async fn the_files_show_a_deleted_tail_and_a_moved_head() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 5).await;
    tick(&app, &signer).await;
    append_n(&app, 3).await;
    tick(&app, &signer).await;

    // The insider removes events 6 to 8, moves the head back and removes the checkpoint of 8.
    drop_guards(&app).await;
    let pool = &app.state.db.pool;
    let hash5 = db_audit::hash_at(pool, 5).await.unwrap().unwrap();
    sql(&app, "DELETE FROM audit_events WHERE seq > 5").await;
    sql(&app, "DELETE FROM audit_checkpoints WHERE seq > 5").await;
    sqlx::query("UPDATE audit_head SET seq = 5, hash = $1 WHERE id = 1")
        .bind(&hash5)
        .execute(pool)
        .await
        .unwrap();
    // Nothing left in the database shows it (documented)...
    intact(&app, &database_only(&app)).await;
    // ...but the file of checkpoint 8 does.
    let (seq, why) = broken(&app, &with_files(&app, &signer.dir)).await;
    assert_eq!(seq, 8);
    assert!(
        why.contains("checkpoint-00000000000000000008.json") && why.contains("head is event 5"),
        "{why}"
    );
}

#[tokio::test]
async fn a_foreign_or_unsigned_checkpoint_file_fails() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 3).await;
    tick(&app, &signer).await;
    intact(&app, &with_files(&app, &signer.dir)).await;
    // A file signed by another key, even one that matches the chain, is refused.
    let hash = db_audit::hash_at(&app.state.db.pool, 2)
        .await
        .unwrap()
        .unwrap();
    let insider = key_signer(THEIRS, &signer.dir);
    let forged = insider.sign(2, &hash);
    let path = insider.write_file(&forged).unwrap();
    let (seq, why) = broken(&app, &with_files(&app, &signer.dir)).await;
    assert_eq!(seq, 2);
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(why.contains("another key"), "{why}");
    std::fs::remove_file(&path).unwrap();
    let unsigned = Checkpoint {
        signature: None,
        ..forged
    };
    std::fs::write(
        signer.dir.join("unsigned.json"),
        serde_json::to_string(&unsigned).unwrap(),
    )
    .unwrap();
    let (_, why) = broken(&app, &with_files(&app, &signer.dir)).await;
    assert!(
        why.contains("unsigned.json") && why.contains("unsigned"),
        "{why}"
    );
}

#[tokio::test]
async fn checkpoints_are_append_only() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 3).await;
    let cp = tick(&app, &signer).await;
    let pool = &app.state.db.pool;
    for statement in [
        "UPDATE audit_checkpoints SET hash = 'x'",
        "DELETE FROM audit_checkpoints",
    ] {
        let result = sqlx::query(statement).execute(pool).await;
        let err = result.expect_err(statement).to_string();
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    if engine() == "postgres" {
        for statement in [
            "INSERT INTO audit_checkpoints (seq, hash, created_at) VALUES (3, 'x', 1) ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash",
            "TRUNCATE audit_checkpoints",
            "TRUNCATE audit_events",
        ] {
            let err = sqlx::query(statement)
                .execute(pool)
                .await
                .expect_err(statement)
                .to_string();
            assert!(err.contains("append-only"), "{statement}: {err}");
        }
    } else {
        // REPLACE deletes without firing delete triggers: the new row is ignored instead.
        sql(
            &app,
            "INSERT OR REPLACE INTO audit_checkpoints (seq, hash, created_at) VALUES (3, 'x', 1)",
        )
        .await;
        let err = sqlx::query("INSERT OR REPLACE INTO audit_events (seq, occurred_at, action, outcome, details, prev_hash, hash) VALUES (2, 1, 'x', 'success', '{}', 'x', 'x')")
            .execute(pool)
            .await
            .expect_err("replacing an event")
            .to_string();
        assert!(err.contains("append-only"), "{err}");
    }
    let rows = db_audit::checkpoints(pool, 10).await.unwrap();
    assert_eq!(rows, vec![cp], "the checkpoint is unchanged");
    intact(&app, &database_only(&app)).await;
}

#[tokio::test]
async fn the_checkpointer_writes_a_file_for_each_signed_checkpoint() {
    let (app, signer) = spawn_signing().await;
    assert_eq!(
        checkpoints::tick(&app.state.db, Some(&signer)).await,
        None,
        "no events, no checkpoint"
    );
    append_n(&app, 2).await;
    let cp = tick(&app, &signer).await;
    let file = signer.dir.join("checkpoint-00000000000000000002.json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["seq"], 2);
    assert_eq!(written["hash"], cp.hash.as_str());
    assert_eq!(written["created_at"], cp.created_at);
    assert_eq!(
        written["public_key"],
        hex::encode(signer.key.verifying_key().to_bytes())
    );
    assert_eq!(written["signature"], cp.signature.clone().unwrap().as_str());
    // The same checkpoint is in the database.
    assert_eq!(
        db_audit::checkpoints(&app.state.db.pool, 10).await.unwrap(),
        vec![cp]
    );
    // No new events: no new checkpoint, no new file. New events: the next tick writes one.
    assert_eq!(checkpoints::tick(&app.state.db, Some(&signer)).await, None);
    append_n(&app, 1).await;
    assert_eq!(tick(&app, &signer).await.seq, 3);
    let names: Vec<String> = std::fs::read_dir(&signer.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // Without a key the checkpoint is recorded unsigned and no file is written.
    append_n(&app, 1).await;
    let unsigned = checkpoints::tick(&app.state.db, None).await.unwrap();
    assert_eq!(unsigned.signature, None);
    assert_eq!(std::fs::read_dir(&signer.dir).unwrap().count(), 2);
}
