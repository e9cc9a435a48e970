//! The steps of one revocation (`revocations.rs`), each inside the action's transaction with the
//! same audit records as the single act it repeats: suspending an account (`user.status`),
//! revoking a key (`api_key.revoke`) or a token (`api_token.revoke`), ending a console session
//! (`auth.session_ended`); then the outbound targets the transaction wrote messages to.
use crate::model::revocations::RevocationKind;
use crate::model::users::{UserDetail, UserStatus};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, revocations::TargetRow, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use crate::server::ssf_events::{ACCOUNT_DISABLED, SESSION_REVOKED};
use serde_json::{json, Value};

/// What every step of one action shares.
pub(crate) struct Work<'a> {
    pub(crate) id: &'a str,
    pub(crate) auth: &'a Authorized,
    pub(crate) ticket: &'a str,
    pub(crate) now: i64,
}

impl Work<'_> {
    async fn record(&self, tx: &mut Tx, entry: Entry<'_>) -> Result<(), AppError> {
        audit::record(tx, &self.auth.actor(), &self.auth.meta, entry)
            .await
            .map(|_| ())
            .map_err(internal)
    }
}

fn done(kind: &str, id: &str, name: &str, href: String, detail: String) -> TargetRow {
    TargetRow {
        kind: kind.into(),
        target_id: id.into(),
        name: name.into(),
        href,
        detail,
        messages: Vec::new(),
    }
}

/// Suspends every active or locked account (a locked one would otherwise stay active in the
/// applications); staged and deprovisioned ones keep their status.
pub(crate) async fn suspend(
    db: &Db,
    tx: &mut Tx,
    w: &Work<'_>,
    accounts: &[UserDetail],
) -> Result<(Vec<TargetRow>, Value), AppError> {
    let mut rows = Vec::new();
    let mut details = Vec::new();
    for a in accounts {
        let (after, detail) = match a.status {
            UserStatus::Active | UserStatus::Locked => {
                users::apply_status(db, tx, w.auth, a, UserStatus::Suspended).await?;
                let was = a.status.as_str();
                (UserStatus::Suspended, format!("Suspended (was {was})"))
            }
            UserStatus::Suspended => (a.status, "Already suspended".to_string()),
            UserStatus::Deprovisioned => (a.status, "Already deprovisioned".to_string()),
            UserStatus::Staged => (a.status, "Stays staged: never activated".to_string()),
        };
        details.push(json!({
            "id": a.id, "email": a.email, "before": a.status.as_str(), "after": after.as_str(),
        }));
        rows.push(done(
            "account",
            &a.id,
            &a.email,
            format!("/users/{}", a.id),
            detail,
        ));
    }
    Ok((rows, Value::Array(details)))
}

pub(crate) async fn revoke_keys(
    tx: &mut Tx,
    w: &Work<'_>,
    accounts: &[UserDetail],
) -> Result<(Vec<TargetRow>, Value), AppError> {
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let keys = db::revocations::live_keys(tx, &ids, w.now)
        .await
        .map_err(internal)?;
    let mut rows = Vec::new();
    for (key_id, name) in &keys {
        if !db::apps::revoke_key(tx, key_id, w.now)
            .await
            .map_err(internal)?
        {
            continue;
        }
        // The same record as revoking the key by hand: every instance's cache drops it.
        let entry = Entry::new("api_key.revoke", Outcome::Success)
            .target("api_key", key_id)
            .details(json!({ "status_before": "active", "revocation": w.id }));
        w.record(tx, entry).await?;
        rows.push(done(
            "api_key",
            key_id,
            &format!("{name} (ghk_{key_id})"),
            format!("/keys/{key_id}"),
            "Revoked".into(),
        ));
    }
    let details = keys
        .iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    Ok((rows, Value::Array(details)))
}

pub(crate) async fn revoke_tokens(
    tx: &mut Tx,
    w: &Work<'_>,
    emails: &[String],
) -> Result<(Vec<TargetRow>, Value), AppError> {
    let tokens = db::revocations::live_staff_tokens(tx, emails, w.now)
        .await
        .map_err(internal)?;
    let mut rows = Vec::new();
    for (token_id, name, owner) in &tokens {
        if !db::api_tokens::revoke_token(tx, token_id, w.now)
            .await
            .map_err(internal)?
        {
            continue;
        }
        let entry = Entry::new("api_token.revoke", Outcome::Success)
            .target("api_token", token_id)
            .details(json!({
                "kind": "personal", "name": name, "owner": owner,
                "reason": "revoked_everywhere", "revocation": w.id,
            }));
        w.record(tx, entry).await?;
        rows.push(done(
            "api_token",
            token_id,
            &format!("{name} ({owner})"),
            String::new(),
            "Personal API token revoked".into(),
        ));
    }
    let details = tokens
        .iter()
        .map(|(id, name, owner)| json!({ "id": id, "name": name, "owner": owner }))
        .collect();
    Ok((rows, Value::Array(details)))
}

pub(crate) async fn end_sessions(
    tx: &mut Tx,
    w: &Work<'_>,
    kind: RevocationKind,
    emails: &[String],
) -> Result<(Vec<TargetRow>, Value), AppError> {
    let reason = match kind {
        RevocationKind::Revoke => "revoked_everywhere",
        RevocationKind::SignOut => "signed_out_everywhere",
    };
    let sessions = db::revocations::open_staff_sessions(tx, emails)
        .await
        .map_err(internal)?;
    let mut rows = Vec::new();
    for (key, email, role) in &sessions {
        if !db::console_sessions::end(tx, key, reason, w.now)
            .await
            .map_err(internal)?
        {
            continue;
        }
        let entry = Entry::new("auth.session_ended", Outcome::Success)
            .target("session", key)
            .details(json!({
                "reason": reason, "session_of": email, "role": role, "revocation": w.id,
                "ticket": w.ticket,
            }));
        w.record(tx, entry).await?;
        rows.push(done(
            "session",
            key,
            &format!("{email} ({role})"),
            String::new(),
            "Console session ended".into(),
        ));
    }
    let details = sessions
        .iter()
        .map(|(id, email, role)| json!({ "id": id, "email": email, "role": role }))
        .collect();
    Ok((rows, Value::Array(details)))
}

/// One target per application and per receiver this transaction wrote messages to.
pub(crate) async fn outbound_targets(
    tx: &mut Tx,
    before: i64,
    guid: &str,
    revoke: bool,
) -> Result<Vec<TargetRow>, AppError> {
    let mut out: Vec<TargetRow> = Vec::new();
    let mut add = |kind: &str, w: db::revocations::Written, href: String| match out
        .iter_mut()
        .find(|t| t.kind == kind && t.target_id == w.target_id)
    {
        Some(t) => t.messages.push(w.seq),
        None => out.push(TargetRow {
            kind: kind.into(),
            target_id: w.target_id,
            name: w.name,
            href,
            detail: String::new(),
            messages: vec![w.seq],
        }),
    };
    if revoke {
        for w in db::revocations::application_messages(tx, before, guid)
            .await
            .map_err(internal)?
        {
            let href = format!("/apps/{}", w.page_id);
            add("application", w, href);
        }
    }
    let events: &[&str] = if revoke {
        &[ACCOUNT_DISABLED, SESSION_REVOKED]
    } else {
        &[SESSION_REVOKED]
    };
    for w in db::revocations::receiver_messages(tx, before, events)
        .await
        .map_err(internal)?
    {
        let href = format!("/signals/{}", w.page_id);
        add("receiver", w, href);
    }
    Ok(out)
}
