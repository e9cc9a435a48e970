//! The retention scheduler: its cutoff, driven by the time the test gives it, and two instances
//! purging at once.
use crate::audit_checkpoints::{intact, spawn_signing, temp_dir};
use crate::common::*;
use gatehouse::server::db::audit as db_audit;
use gatehouse::server::service::audit;
use gatehouse::server::service::retention;
use std::time::Duration;

const DAY: i64 = 86_400_000;
const THIRTY_DAYS: Duration = Duration::from_secs(30 * 86_400);

/// Appends an event that occurred at `at_ms` (through the chain's own append, with a chosen time).
async fn append_at(app: &TestApp, at_ms: i64) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let (seq, prev) = db_audit::claim_next(&mut tx).await.unwrap();
    let details = format!("{{\"at\":{at_ms}}}");
    let mut row = db_audit::AuditRow {
        seq,
        occurred_at: at_ms,
        actor_subject: None,
        actor_email: Some("t@example.com"),
        actor_role: None,
        action: "test.event",
        target_type: None,
        target_id: None,
        outcome: "success",
        client_ip: None,
        user_agent: None,
        details: &details,
        prev_hash: &prev,
        hash: "",
    };
    let hash = audit::chain_hash(&row);
    row.hash = &hash;
    db_audit::insert(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();
    seq
}

async fn purge_events(app: &TestApp) -> Vec<gatehouse::model::audit::AuditEvent> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "audit.purge")
        .collect()
}

#[tokio::test]
async fn the_retention_tick_removes_exactly_the_events_before_the_cutoff() {
    let (app, signer) = spawn_signing().await;
    let now = gatehouse::server::db::now_ms();
    for at in [now - 40 * DAY, now - 31 * DAY, now - 30 * DAY - 1] {
        append_at(&app, at).await;
    }
    let at_cutoff = append_at(&app, now - 30 * DAY).await;
    append_at(&app, now - DAY).await;
    let archive = temp_dir("archive");

    let report = retention::tick(&app.state.db, THIRTY_DAYS, now, &archive, Some(&signer))
        .await
        .unwrap()
        .expect("old events are purged");
    assert_eq!((report.archived, report.through_seq), (3, 3));
    let kept: Vec<i64> = app.audit_events().await.iter().map(|e| e.seq).collect();
    assert_eq!(
        kept,
        vec![at_cutoff, 5, 6],
        "the event at the cutoff is kept"
    );
    assert_eq!(purge_events(&app).await.len(), 1);
    // The purge's own checkpoint is signed and in the checkpoint directory too.
    assert!(signer
        .dir
        .join("checkpoint-00000000000000000003.json")
        .is_file());
    intact(&app, &app.state.config.audit_trust()).await;

    // The same moment again: nothing more to do.
    assert!(
        retention::tick(&app.state.db, THIRTY_DAYS, now, &archive, Some(&signer))
            .await
            .unwrap()
            .is_none()
    );
    // Two days later the event that was at the cutoff is older than it.
    let report = retention::tick(
        &app.state.db,
        THIRTY_DAYS,
        now + 2 * DAY,
        &archive,
        Some(&signer),
    )
    .await
    .unwrap()
    .expect("one more event is purged");
    assert_eq!((report.archived, report.through_seq), (1, 4));
    assert_eq!(purge_events(&app).await.len(), 2);
    let r = intact(&app, &app.state.config.audit_trust()).await;
    assert!(r.external >= 2, "{r:?}");
}

#[tokio::test]
async fn two_instances_purging_at_once_remove_the_events_once() {
    let (first, signer) = spawn_signing().await;
    let second = TestApp::spawn_on(&first.state.config.database_url, |_| {}).await;
    let now = gatehouse::server::db::now_ms();
    for i in 0..6 {
        append_at(&first, now - (40 - i) * DAY).await;
    }
    append_at(&first, now).await;
    let (dir_a, dir_b) = (temp_dir("archive-a"), temp_dir("archive-b"));
    let (a, b) = tokio::join!(
        retention::tick(&first.state.db, THIRTY_DAYS, now, &dir_a, Some(&signer)),
        retention::tick(&second.state.db, THIRTY_DAYS, now, &dir_b, Some(&signer)),
    );
    let purged: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(purged.len(), 1, "exactly one instance purges: {purged:?}");
    assert_eq!(purged[0].through_seq, 6);
    assert_eq!(purge_events(&first).await.len(), 1);
    let (anchor, _) = db_audit::anchor(&first.state.db.pool).await.unwrap();
    assert_eq!(anchor, 6);
    let kept: Vec<i64> = first.audit_events().await.iter().map(|e| e.seq).collect();
    assert_eq!(kept, vec![7, 8]);
    intact(&first, &first.state.config.audit_trust()).await;
}

#[tokio::test]
async fn a_purge_imitated_without_the_key_fails_verification() {
    let (app, signer) = spawn_signing().await;
    let now = gatehouse::server::db::now_ms();
    for i in 0..3 {
        append_at(&app, now - (40 - i) * DAY).await;
    }
    for _ in 0..4 {
        append_at(&app, now - DAY).await;
    }
    retention::tick(
        &app.state.db,
        THIRTY_DAYS,
        now,
        &temp_dir("archive"),
        Some(&signer),
    )
    .await
    .unwrap()
    .expect("a purge");
    intact(&app, &app.state.config.audit_trust()).await;

    // The insider appends a purge event of their own naming event 5, moves the anchor there
    // (which lets the delete trigger remove events 4 and 5) and deletes them.
    let pool = &app.state.db.pool;
    let hash5 = db_audit::hash_at(pool, 5).await.unwrap().unwrap();
    let insider = gatehouse::server::service::checkpoints::CheckpointSigner {
        key: gatehouse::server::service::checkpoints::parse_key(&"7f".repeat(32)).unwrap(),
        dir: temp_dir("insider"),
    };
    for signature in [None, Some(insider.sign_purge(3, 5, &hash5))] {
        let mut details = serde_json::json!({
            "through_seq": 5, "through_hash": hash5, "previous_anchor": 3, "events": 2,
        });
        if let Some(sig) = &signature {
            details["signature"] = sig.clone().into();
            details["public_key"] = hex::encode(insider.key.verifying_key().to_bytes()).into();
        }
        audit::record_alone(
            &app.state.db,
            &retention::system_actor(),
            &audit::RequestMeta::default(),
            audit::Entry::new("audit.purge", audit::Outcome::Success).details(details),
        )
        .await
        .unwrap();
        sqlx::query("UPDATE audit_anchor SET seq = 5, hash = $1 WHERE id = 1")
            .bind(&hash5)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_events WHERE seq <= 5")
            .execute(pool)
            .await
            .unwrap();
        // Without a key the imitation passes; with it, it does not.
        assert_eq!(
            audit::verify(&app.state.db, &audit::Trust::default())
                .await
                .unwrap()
                .first_broken,
            None
        );
        let (seq, why) = audit::verify(&app.state.db, &app.state.config.audit_trust())
            .await
            .unwrap()
            .first_broken
            .expect("the imitated purge is found");
        assert_eq!(seq, 5);
        let expected = if signature.is_some() {
            "another key"
        } else {
            "unsigned"
        };
        assert!(
            why.contains("last purge") && why.contains(expected),
            "{why}"
        );
    }
}
