//! The audit log is a hash chain: appends from many writers never fork it, and tampering breaks it.
use crate::common::*;
use gatehouse::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};

async fn append_n(app: &TestApp, n: usize) {
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

#[tokio::test]
async fn concurrent_writers_on_two_instances_keep_one_chain() {
    let first = TestApp::spawn().await;
    let url = first.state.config.database_url.clone();
    let second = TestApp::spawn_on(&url, |_| {}).await;
    let (a, b) = tokio::join!(
        async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..4 {
                let db = first.state.db.clone();
                set.spawn(async move {
                    let actor = Actor::default();
                    for _ in 0..25 {
                        audit::record_alone(
                            &db,
                            &actor,
                            &RequestMeta::default(),
                            Entry::new("test.a", Outcome::Success),
                        )
                        .await
                        .unwrap();
                    }
                });
            }
            set.join_all().await
        },
        async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..4 {
                let db = second.state.db.clone();
                set.spawn(async move {
                    let actor = Actor::default();
                    for _ in 0..25 {
                        audit::record_alone(
                            &db,
                            &actor,
                            &RequestMeta::default(),
                            Entry::new("test.b", Outcome::Success),
                        )
                        .await
                        .unwrap();
                    }
                });
            }
            set.join_all().await
        }
    );
    assert_eq!((a.len(), b.len()), (4, 4));
    let report = audit::verify(&first.state.db, &first.state.config.audit_trust())
        .await
        .unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!(report.checked, 200);
}

#[tokio::test]
async fn sql_cannot_edit_or_delete_events() {
    let app = TestApp::spawn().await;
    append_n(&app, 3).await;
    let upd = sqlx::query("UPDATE audit_events SET action = 'x' WHERE seq = 2")
        .execute(&app.state.db.pool)
        .await;
    assert!(upd.is_err(), "updates are refused");
    let del = sqlx::query("DELETE FROM audit_events WHERE seq = 2")
        .execute(&app.state.db.pool)
        .await;
    assert!(del.is_err(), "deletes are refused");
}

#[tokio::test]
async fn verification_finds_an_edited_event() {
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    assert_eq!(
        audit::verify(&app.state.db, &app.state.config.audit_trust())
            .await
            .unwrap()
            .first_broken,
        None
    );
    // Someone with database access disables the guard and edits a record.
    disable_append_only(&app).await;
    sqlx::query("UPDATE audit_events SET actor_email = 'someone@else' WHERE seq = 3")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let report = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap();
    let (seq, why) = report.first_broken.expect("the edit is found");
    assert_eq!(seq, 3);
    assert!(why.contains("edited"), "{why}");
}

#[tokio::test]
async fn verification_finds_a_deleted_event() {
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    disable_append_only(&app).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = 2")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (seq, _) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("the deletion is found");
    assert_eq!(seq, 3);
}

#[tokio::test]
async fn verification_finds_a_truncated_tail() {
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    disable_append_only(&app).await;
    sqlx::query("DELETE FROM audit_events WHERE seq >= 4")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (_, why) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("the truncation is found");
    assert!(why.contains("truncated"), "{why}");
}

/// Someone with database access removes the append-only triggers (tamper tests).
pub async fn disable_append_only(app: &TestApp) {
    let statements: &[&str] = if engine() == "postgres" {
        &["DROP TRIGGER audit_events_no_update ON audit_events"]
    } else {
        &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ]
    };
    for s in statements {
        sqlx::query(s).execute(&app.state.db.pool).await.unwrap();
    }
}

#[tokio::test]
async fn verification_finds_an_event_inserted_after_the_head() {
    let app = TestApp::spawn().await;
    append_n(&app, 3).await;
    // A forged event with a correct-looking hash, appended without moving the head.
    let (head, prev) = gatehouse::server::db::audit::head(&app.state.db.pool)
        .await
        .unwrap();
    let row = gatehouse::server::db::audit::AuditRow {
        seq: head + 1,
        occurred_at: 1,
        actor_subject: None,
        actor_email: Some("forger@x.example"),
        actor_role: None,
        action: "test.forged",
        target_type: None,
        target_id: None,
        outcome: "success",
        client_ip: None,
        user_agent: None,
        details: "{}",
        prev_hash: &prev,
        hash: "",
    };
    let hash = audit::chain_hash(&row);
    sqlx::query("INSERT INTO audit_events (seq, occurred_at, actor_email, action, outcome, details, prev_hash, hash) VALUES ($1, 1, 'forger@x.example', 'test.forged', 'success', '{}', $2, $3)")
        .bind(head + 1)
        .bind(&prev)
        .bind(&hash)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (seq, why) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("found");
    assert_eq!(seq, head + 1);
    assert!(why.contains("inserted"), "{why}");
}

#[tokio::test]
async fn verification_finds_an_event_inserted_in_the_middle() {
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    disable_append_only(&app).await;
    // Make room at 3 by renumbering 3..5 to 4..6 (highest first), then put a forged event at 3.
    for seq in [5, 4, 3] {
        sqlx::query("UPDATE audit_events SET seq = seq + 1 WHERE seq = $1")
            .bind(seq)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO audit_events (seq, occurred_at, action, outcome, details, prev_hash, hash) SELECT 3, 1, 'test.forged', 'success', '{}', hash, hash FROM audit_events WHERE seq = 2")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (seq, _) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("found");
    assert_eq!(seq, 3);
}

#[tokio::test]
async fn verification_finds_reordered_events() {
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    disable_append_only(&app).await;
    // Swap the positions of events 2 and 3 (through a free position).
    for (from, to) in [(2, 100), (3, 2), (100, 3)] {
        sqlx::query("UPDATE audit_events SET seq = $1 WHERE seq = $2")
            .bind(to)
            .bind(from)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    let (seq, _) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("found");
    assert_eq!(seq, 2);
}

#[tokio::test]
async fn a_rewritten_chain_with_recomputed_hashes_fails_against_a_signed_checkpoint() {
    use gatehouse::server::service::checkpoints;
    let app = TestApp::spawn().await;
    append_n(&app, 5).await;
    let signer = checkpoints::CheckpointSigner {
        key: checkpoints::parse_key(&"2a".repeat(32)).unwrap(),
        dir: std::env::temp_dir().join(format!("gh-cp-{}", uuid::Uuid::new_v4().simple())),
    };
    let cp = checkpoints::create(&app.state.db, Some(&signer))
        .await
        .unwrap()
        .expect("a checkpoint");
    assert_eq!(
        checkpoints::check_signature(&cp, &[signer.key.verifying_key()]),
        Ok(())
    );
    assert_eq!(
        checkpoints::create(&app.state.db, Some(&signer))
            .await
            .unwrap(),
        None,
        "nothing new to checkpoint"
    );
    append_n(&app, 2).await;
    assert_eq!(
        audit::verify(&app.state.db, &app.state.config.audit_trust())
            .await
            .unwrap()
            .first_broken,
        None
    );

    // An administrator with database access edits event 2 and recomputes every later hash, so
    // the chain is consistent again on its own.
    disable_append_only(&app).await;
    let pool = &app.state.db.pool;
    let mut prev = gatehouse::server::db::audit::chain_slice(&app.state.db, 0, 1)
        .await
        .unwrap()[0]
        .event
        .hash
        .clone();
    for row in gatehouse::server::db::audit::chain_slice(&app.state.db, 1, 100)
        .await
        .unwrap()
    {
        let e = row.event;
        let actor = if e.seq == 2 {
            Some("forger@x.example")
        } else {
            e.actor_email.as_deref()
        };
        let forged = gatehouse::server::db::audit::AuditRow {
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
    let (seq, why) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("found");
    assert_eq!(seq, cp.seq);
    assert!(why.contains("checkpoint"), "{why}");
}

fn system_actor() -> Actor {
    Actor {
        subject: Some("gatehouse".into()),
        email: Some("system".into()),
        role: None,
    }
}

#[tokio::test]
async fn retention_archives_then_removes_and_the_chain_still_verifies() {
    use gatehouse::server::service::{checkpoints, retention};
    let app = TestApp::spawn().await;
    append_n(&app, 10).await;
    let dir = std::env::temp_dir().join(format!("gh-archive-{}", uuid::Uuid::new_v4().simple()));
    let signer = checkpoints::CheckpointSigner {
        key: checkpoints::parse_key(&"11".repeat(32)).unwrap(),
        dir: dir.join("checkpoints"),
    };
    let report =
        retention::archive_and_purge(&app.state.db, 6, &dir, Some(&signer), &system_actor())
            .await
            .unwrap()
            .expect("something to archive");
    assert_eq!((report.archived, report.through_seq), (6, 6));

    // The archive checks out offline against its signed checkpoint.
    let cp: gatehouse::model::audit::Checkpoint = serde_json::from_str(
        &std::fs::read_to_string(report.archive.with_extension("checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        checkpoints::check_signature(&cp, &[signer.key.verifying_key()]),
        Ok(())
    );
    assert!(gatehouse::server::audit_cli::verify_file(
        report.archive.to_str().unwrap(),
        Some((cp.seq, cp.hash.clone()))
    )
    .unwrap());
    let lines = std::fs::read_to_string(&report.archive)
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 6);

    // The log keeps verifying from the anchor; the purge is its own audit event.
    let after = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap();
    assert_eq!(after.first_broken, None, "{after:?}");
    assert_eq!(after.checked, 5, "events 7 to 10 and the purge event");
    let last = app
        .audit_events()
        .await
        .into_iter()
        .max_by_key(|e| e.seq)
        .unwrap();
    assert_eq!(last.action, "audit.purge");
    assert!(
        last.details.contains("\"through_seq\":6"),
        "{}",
        last.details
    );
    // Later events are still protected, and a second purge finds nothing new.
    let del = sqlx::query("DELETE FROM audit_events WHERE seq = 8")
        .execute(&app.state.db.pool)
        .await;
    assert!(del.is_err(), "only archived events may be removed");
    assert!(
        retention::archive_and_purge(&app.state.db, 6, &dir, None, &system_actor())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn moving_the_anchor_to_hide_events_is_detected() {
    use gatehouse::server::service::retention;
    let app = TestApp::spawn().await;
    append_n(&app, 8).await;
    let dir = std::env::temp_dir().join(format!("gh-archive-{}", uuid::Uuid::new_v4().simple()));
    retention::archive_and_purge(&app.state.db, 2, &dir, None, &system_actor())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        audit::verify(&app.state.db, &app.state.config.audit_trust())
            .await
            .unwrap()
            .first_broken,
        None
    );
    // Someone moves the anchor forward, which lets the trigger allow deleting events 3 and 4.
    let pool = &app.state.db.pool;
    let hash4 = gatehouse::server::db::audit::hash_at(pool, 4)
        .await
        .unwrap()
        .unwrap();
    sqlx::query("UPDATE audit_anchor SET seq = 4, hash = $1 WHERE id = 1")
        .bind(&hash4)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq <= 4")
        .execute(pool)
        .await
        .unwrap();
    let (_, why) = audit::verify(&app.state.db, &app.state.config.audit_trust())
        .await
        .unwrap()
        .first_broken
        .expect("found");
    assert!(why.contains("anchor"), "{why}");
}
