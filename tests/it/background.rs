//! The background schedulers' ticks, driven with an explicit time instead of waited for: the
//! user purge after the restore window, and the clean-up of console sessions past the absolute
//! timeout. (Retention and checkpoints: `audit_retention`, `audit_checkpoints`.)
use crate::common::*;
use gatehouse::server::db::now_ms;
use gatehouse::server::service::{console_sessions, people};
use reqwest::StatusCode;

#[tokio::test]
async fn the_purge_tick_removes_a_deprovisioned_user_only_after_the_restore_window() {
    let app = TestApp::spawn_with(|v| {
        v.insert("GATEHOUSE_RESTORE_WINDOW_SECS", "3600".into());
    })
    .await;
    app.sign_in(ADMIN).await;
    let gone = app.create_user("gone@x.example", "Soon Gone", &[]).await;
    let kept = app.create_user("kept@x.example", "Stays", &[]).await;
    let id = gone["id"].as_str().unwrap();
    app.call_ok(
        "users/status",
        &form(&[("id", id), ("status", "deprovisioned"), ("version", "1")]),
    )
    .await;
    let now = now_ms();
    assert_eq!(people::purge_expired(&app.state.db, now).await.unwrap(), 0);
    assert_eq!(
        people::purge_expired(&app.state.db, now + 3_590_000)
            .await
            .unwrap(),
        0,
        "still inside the window"
    );
    assert_eq!(
        people::purge_expired(&app.state.db, now + 3_601_000)
            .await
            .unwrap(),
        1
    );
    let res = app
        .call(&app.client, "users/get", &format!("id={id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let other = kept["id"].as_str().unwrap();
    let res = app
        .call(&app.client, "users/get", &format!("id={other}"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an active user is never purged"
    );
    let purges: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "user.purge")
        .collect();
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0].target_id.as_deref(), Some(id));
    // A second tick finds nothing more to do.
    assert_eq!(
        people::purge_expired(&app.state.db, now + 7_200_000)
            .await
            .unwrap(),
        0
    );
}

async fn console_session_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_clean_up_tick_forgets_console_sessions_past_the_absolute_timeout() {
    let app = TestApp::spawn().await;
    app.sign_in(ADMIN).await;
    app.sign_in_with(&browser(), SUPPORT).await;
    assert_eq!(console_session_count(&app).await, 2);
    let absolute = app.state.config.session_absolute.as_millis() as i64;
    let now = now_ms();
    assert_eq!(
        console_sessions::clean_up(&app.state.db, now, absolute)
            .await
            .unwrap(),
        0,
        "sessions in use are kept"
    );
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    assert_eq!(
        console_sessions::clean_up(&app.state.db, now + absolute + 60_000, absolute)
            .await
            .unwrap(),
        2
    );
    assert_eq!(console_session_count(&app).await, 0);
}
