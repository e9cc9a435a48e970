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
    let report = audit::verify(&first.state.db).await.unwrap();
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
        audit::verify(&app.state.db).await.unwrap().first_broken,
        None
    );
    // Someone with database access disables the guard and edits a record.
    disable_append_only(&app).await;
    sqlx::query("UPDATE audit_events SET actor_email = 'someone@else' WHERE seq = 3")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let report = audit::verify(&app.state.db).await.unwrap();
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
    let (seq, _) = audit::verify(&app.state.db)
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
    let (_, why) = audit::verify(&app.state.db)
        .await
        .unwrap()
        .first_broken
        .expect("the truncation is found");
    assert!(why.contains("truncated"), "{why}");
}

async fn disable_append_only(app: &TestApp) {
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
