//! The checkpoint tools people use: the console's "Verify integrity" job and the `gatehouse
//! audit checkpoint` and `gatehouse audit verify --checkpoints DIR` commands.
use crate::audit_checkpoints::*;
use crate::common::*;
use gatehouse::server::db::audit as db_audit;
use gatehouse::server::service::checkpoints;

#[tokio::test]
async fn the_console_verification_uses_the_configured_key() {
    let (app, signer) = spawn_signing().await;
    append_n(&app, 4).await;
    tick(&app, &signer).await;
    drop_guards(&app).await;
    rewrite_from(&app, 2).await;
    replace_checkpoints(&app, None).await;
    app.sign_in(AUDITOR).await;
    let id = app.call_ok("audit/verify", "").await;
    let id = id.as_str().unwrap();
    let mut job = serde_json::Value::Null;
    for _ in 0..100 {
        job = app.call_ok("audit/job", &format!("id={id}")).await;
        if job["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let summary = job["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("broken at event 4") && summary.contains("unsigned"),
        "{job}"
    );
}

/// Runs the `gatehouse` command with `env`; returns its exit status and output.
async fn gatehouse(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_remove("GATEHOUSE_AUDIT_SIGNING_KEY")
        .env_remove("GATEHOUSE_AUDIT_VERIFY_KEY")
        .env_remove("GATEHOUSE_AUDIT_CHECKPOINT_DIR")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run gatehouse");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn the_command_line_writes_checkpoint_files_and_verifies_against_them() {
    let app = TestApp::spawn().await;
    append_n(&app, 4).await;
    let url = app.state.config.database_url.clone();
    let dir = temp_dir("cli");
    let dir_s = dir.display().to_string();
    let seed = OURS.repeat(32);
    let (code, out) = gatehouse(
        &["audit", "checkpoint"],
        &[
            ("GATEHOUSE_DATABASE_URL", url.as_str()),
            ("GATEHOUSE_AUDIT_SIGNING_KEY", seed.as_str()),
            ("GATEHOUSE_AUDIT_CHECKPOINT_DIR", dir_s.as_str()),
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(
        dir.join("checkpoint-00000000000000000004.json").is_file(),
        "{out}"
    );

    // The auditor has only the public key.
    let public = hex::encode(
        checkpoints::parse_key(&seed)
            .unwrap()
            .verifying_key()
            .to_bytes(),
    );
    let auditor = [
        ("GATEHOUSE_DATABASE_URL", url.as_str()),
        ("GATEHOUSE_AUDIT_VERIFY_KEY", public.as_str()),
    ];
    let (code, out) = gatehouse(&["audit", "verify", "--checkpoints", &dir_s], &auditor).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 4 events"), "{out}");

    // Events 3 and 4 removed and the head moved back: exit status 1, naming the file.
    drop_guards(&app).await;
    let hash2 = db_audit::hash_at(&app.state.db.pool, 2)
        .await
        .unwrap()
        .unwrap();
    sql(&app, "DELETE FROM audit_events WHERE seq > 2").await;
    sql(&app, "DELETE FROM audit_checkpoints").await;
    sqlx::query("UPDATE audit_head SET seq = 2, hash = $1 WHERE id = 1")
        .bind(&hash2)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (code, out) = gatehouse(&["audit", "verify", "--checkpoints", &dir_s], &auditor).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN at event 4") && out.contains("checkpoint-00000000000000000004.json"),
        "{out}"
    );

    // Without a key the files cannot be trusted; an empty directory proves nothing.
    let (code, out) = gatehouse(
        &["audit", "verify", "--checkpoints", &dir_s],
        &[("GATEHOUSE_DATABASE_URL", url.as_str())],
    )
    .await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("GATEHOUSE_AUDIT_VERIFY_KEY"), "{out}");
    let empty = temp_dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, out) = gatehouse(
        &[
            "audit",
            "verify",
            "--checkpoints",
            &empty.display().to_string(),
        ],
        &auditor,
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no checkpoint file"), "{out}");
}
