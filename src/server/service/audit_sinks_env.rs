//! Sinks from `GATEHOUSE_AUDIT_SINKS` (issue 17): stored at start, matched by name, with the
//! source `env` (read-only in the console).
use super::audit_sink_checks::Valid;
use super::audit_sinks::{check_start, details, insert, new_id, record, seal};
use crate::model::AppError;
use crate::server::config_audit_stream::{AuditStreamPolicy, EnvSink};
use crate::server::db::{
    self, audit_sinks::Credential, audit_sinks::Sink, audit_sinks::SinkRow, Db,
};
use crate::server::internal;
use crate::server::service::audit::{Actor, RequestMeta};
use serde_json::json;

/// Makes the stored sinks of the environment what `GATEHOUSE_AUDIT_SINKS` says, at start: new
/// ones are made (their cursor before their own creation record, or before `from_seq`), changed
/// ones updated (the cursor stays), ones no longer listed removed; each change audited as
/// Gatehouse itself. A console sink of the same name stops the start.
pub async fn apply_env(db: &Db, policy: &AuditStreamPolicy) -> Result<(), String> {
    let failed = |e: sqlx::Error| format!("cannot apply GATEHOUSE_AUDIT_SINKS: {e}");
    for (id, name) in db::audit_sinks::from_env(&db.pool).await.map_err(failed)? {
        if !policy.sinks.iter().any(|s| s.name == name) {
            remove_env(db, &id, &name)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for s in &policy.sinks {
        let existing = db::audit_sinks::by_name(&db.pool, &s.name)
            .await
            .map_err(failed)?;
        match existing {
            Some(sink) if sink.source != "env" => {
                return Err(format!(
                    "GATEHOUSE_AUDIT_SINKS: the sink {:?} is also configured in the console; rename one of them",
                    s.name
                ))
            }
            Some(sink) => update_env(db, policy, s, &sink)
                .await
                .map_err(|e| format!("GATEHOUSE_AUDIT_SINKS, sink {:?}: {e}", s.name))?,
            None => create_env(db, policy, s)
                .await
                .map_err(|e| format!("GATEHOUSE_AUDIT_SINKS, sink {:?}: {e}", s.name))?,
        }
    }
    Ok(())
}

fn valid_of(s: &EnvSink) -> Valid {
    Valid {
        name: s.name.clone(),
        kind: match s.kind.as_str() {
            "hec" => "hec",
            "syslog" => "syslog",
            _ => "ndjson",
        },
        format: if s.format == "ocsf" {
            "ocsf"
        } else {
            "gatehouse"
        },
        url: s.url.clone(),
        token: s.token.expose().to_string(),
        batch_size: s.batch_size,
        from_seq: s.from_seq,
    }
}

async fn create_env(db: &Db, policy: &AuditStreamPolicy, s: &EnvSink) -> Result<(), AppError> {
    let valid = valid_of(s);
    if let Some(from) = valid.from_seq {
        check_start(db, "from_seq", from).await?;
    }
    let id = new_id();
    let sealed = seal(policy.secrets_key.as_ref(), &valid.token, &id)?;
    let made = insert(
        db,
        &Actor::system(),
        &RequestMeta::default(),
        &id,
        &valid,
        "env",
        &sealed,
    )
    .await;
    match made {
        // Another instance starting at the same moment made it first.
        Err(AppError::Invalid { field, .. }) if field == "name" => Ok(()),
        other => other,
    }
}

async fn update_env(
    db: &Db,
    policy: &AuditStreamPolicy,
    s: &EnvSink,
    sink: &Sink,
) -> Result<(), AppError> {
    let valid = valid_of(s);
    let token_now = match (&policy.secrets_key, sink.credential_sealed.is_empty()) {
        (_, true) => Some(String::new()),
        (Some(key), false) => key.open(&sink.credential_sealed, &sink.id).ok(),
        (None, false) => None,
    };
    let same = sink.kind == valid.kind
        && sink.format == valid.format
        && sink.url == valid.url
        && sink.batch_size == valid.batch_size
        && token_now.as_deref() == Some(valid.token.as_str());
    if same {
        return Ok(());
    }
    let sealed = seal(policy.secrets_key.as_ref(), &valid.token, &sink.id)?;
    let credential = Credential {
        sealed: &sealed.0,
        hint: &sealed.1,
    };
    let row = SinkRow {
        id: &sink.id,
        name: &valid.name,
        kind: valid.kind,
        format: valid.format,
        url: &valid.url,
        batch_size: valid.batch_size,
        now: db::now_ms(),
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::audit_sinks::update(&mut tx, &row, sink.version, Some(&credential))
        .await
        .map_err(internal)?
    {
        // Another instance starting at the same moment updated it first.
        return Ok(());
    }
    let d = details(&sink.id, &valid, "env");
    record(
        &mut tx,
        &Actor::system(),
        &RequestMeta::default(),
        "audit.sink.update",
        &sink.id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)
}

async fn remove_env(db: &Db, id: &str, name: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::audit_sinks::delete(&mut tx, id)
        .await
        .map_err(internal)?;
    let d = json!({ "sink": id, "name": name, "source": "env",
                    "reason": "no longer in GATEHOUSE_AUDIT_SINKS" });
    record(
        &mut tx,
        &Actor::system(),
        &RequestMeta::default(),
        "audit.sink.delete",
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)
}
