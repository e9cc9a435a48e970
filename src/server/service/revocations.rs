//! Revoke everywhere and sign out everywhere (issue 16): one action on a person, in one
//! transaction. Revoke suspends every account that is active (through `users::apply_status`, the
//! one place a status changes, so provisioning deactivation and RISC account-disabled come from
//! there), revokes the keys the accounts own and the personal tokens of staff with one of their
//! emails, ends those staff's console sessions, and writes one `user.revoke_everywhere` record
//! per account, which raises session-revoked (and account-disabled where the suspension did not)
//! for every receiver. Sign out ends the console sessions and raises session-revoked only.
//!
//! The action records the outbox messages it wrote per application and receiver; their states
//! are its progress (`revocation_progress`), settled once with one audit record.
use super::revocation_progress::{self, settle_in};
use super::support::{guard_person, has_details, ticket_problem, Act};
use crate::model::revocations::*;
use crate::model::users::{UserDetail, UserStatus};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, revocations::TargetRow, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use crate::server::ssf_events::{ACCOUNT_DISABLED, SESSION_REVOKED};
use serde_json::{json, Value};

pub use super::revocation_progress::{of_person, progress, settle_finished};

/// Checked input.
struct Valid {
    reason: String,
    ticket: String,
}

fn parse(input: &RevocationInput) -> Result<Valid, AppError> {
    let mut errors = Vec::new();
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        errors.push((
            "reason".to_string(),
            "Give a reason: why this is done".to_string(),
        ));
    } else if reason.chars().count() > MAX_REASON {
        errors.push((
            "reason".into(),
            format!("The reason is longer than {MAX_REASON} characters"),
        ));
    } else if !has_details(&reason) {
        errors.push(("reason".into(), "The reason must say why, in words".into()));
    }
    let ticket = input.ticket.trim().to_string();
    if let Some(problem) = (!ticket.is_empty())
        .then(|| ticket_problem(&ticket))
        .flatten()
    {
        errors.push(("ticket".into(), problem));
    }
    if errors.is_empty() {
        Ok(Valid { reason, ticket })
    } else {
        Err(AppError::Fields(errors))
    }
}

/// Revokes the person everywhere (administrators; `people:revoke`).
pub async fn revoke_everywhere(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    guid: &str,
    input: &RevocationInput,
) -> Result<RevocationProgress, AppError> {
    audited(db, policy, auth, guid, input, RevocationKind::Revoke).await
}

/// Signs the person out everywhere (support and administrators; `people:sign_out`).
pub async fn sign_out_everywhere(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    guid: &str,
    input: &RevocationInput,
) -> Result<RevocationProgress, AppError> {
    audited(db, policy, auth, guid, input, RevocationKind::SignOut).await
}

/// A refusal by the person guard (own person, staff, protected) is audited, as the MFA reset's.
async fn audited(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    guid: &str,
    input: &RevocationInput,
    kind: RevocationKind,
) -> Result<RevocationProgress, AppError> {
    let result = act(db, policy, auth, guid, input, kind).await;
    if let Err(e @ AppError::Forbidden(_)) = &result {
        let target: String = guid.trim().chars().take(64).collect();
        let entry = Entry::new(kind.action(), Outcome::Denied)
            .target("guid", &target)
            .details(json!({
                "refused": e.to_string(),
                "reason": input.reason.trim().chars().take(MAX_REASON).collect::<String>(),
                "ticket": input.ticket.trim().chars().take(64).collect::<String>(),
            }));
        audit::record_alone(db, &auth.actor(), &auth.meta, entry)
            .await
            .map_err(internal)?;
    }
    result
}

/// The survivor of a merged GUID (merges can chain); `None` for an unknown GUID.
async fn resolve(tx: &mut Tx, guid: &str) -> Result<Option<String>, sqlx::Error> {
    let mut id = guid.trim().to_string();
    for _ in 0..16 {
        match db::users::guid_in_tx(tx, &id).await? {
            None => return Ok(None),
            Some(row) => match row.merged_into {
                Some(next) => id = next,
                None => return Ok(Some(id)),
            },
        }
    }
    Ok(None)
}

async fn act(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    named: &str,
    input: &RevocationInput,
    kind: RevocationKind,
) -> Result<RevocationProgress, AppError> {
    let v = parse(input)?;
    let revoke = kind == RevocationKind::Revoke;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let guid = resolve(&mut tx, named)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The person".into()))?;
    // Row locks first, then the audit chain, in the order every other writer takes them.
    db::users::lock_guids(&mut tx, db.engine, &[&guid])
        .await
        .map_err(internal)?;
    db::users::lock_accounts_of(&mut tx, db.engine, &[&guid])
        .await
        .map_err(internal)?;
    let accounts = db::revocations::accounts(&mut tx, &guid)
        .await
        .map_err(internal)?;
    let Some(first) = accounts.first() else {
        return Err(AppError::Conflict(
            "This person has no accounts: there is nobody to sign out or revoke.".into(),
        ));
    };
    let act = if revoke { Act::Revoke } else { Act::SignOut };
    guard_person(&mut tx, policy, auth, first, act).await?;
    db::revocations::hold_audit_chain(&mut tx)
        .await
        .map_err(internal)?;
    let before = db::revocations::outbox_high_water(&mut tx)
        .await
        .map_err(internal)?;
    let id = format!("rev_{}", uuid::Uuid::now_v7().simple());
    let now = db::now_ms();
    let emails: Vec<String> = accounts.iter().map(|a| a.email.to_lowercase()).collect();
    let w = Work {
        id: &id,
        auth,
        v: &v,
        now,
    };
    let mut local = Vec::new();
    let mut summary = json!({ "revocation": id, "reason": v.reason, "ticket": v.ticket });
    if named.trim() != guid {
        summary["named"] = json!(named.trim());
    }
    if revoke {
        let (rows, details) = suspend(db, &mut tx, &w, &accounts).await?;
        local.extend(rows);
        summary["accounts"] = details;
        let (rows, details) = revoke_keys(&mut tx, &w, &accounts).await?;
        local.extend(rows);
        summary["keys"] = details;
        let (rows, details) = revoke_tokens(&mut tx, &w, &emails).await?;
        local.extend(rows);
        summary["tokens"] = details;
    } else {
        summary["accounts"] = json!(accounts
            .iter()
            .map(|a| json!({ "id": a.id, "email": a.email, "status": a.status.as_str() }))
            .collect::<Vec<_>>());
    }
    let (rows, details) = end_sessions(&mut tx, &w, kind, &emails).await?;
    local.extend(rows);
    summary["sessions"] = details;
    // One record per account: the Shared Signals events of this action come from these.
    let per_account = if revoke {
        "user.revoke_everywhere"
    } else {
        "user.sign_out_everywhere"
    };
    for a in &accounts {
        let suspended = revoke && a.status == UserStatus::Active;
        let entry = Entry::new(per_account, Outcome::Success)
            .target("user", &a.id)
            .details(json!({
                "revocation": id, "reason": v.reason, "ticket": v.ticket, "suspended": suspended,
            }));
        audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
            .await
            .map_err(internal)?;
    }
    if revoke {
        // Every application hears of the person once more, even when no status changed (an
        // account suspended before): the delivery sends the state as it is now.
        db::outbox::person_changed(&mut tx, &guid, now)
            .await
            .map_err(internal)?;
    }
    let outbound = outbound_targets(&mut tx, before, &guid, revoke).await?;
    summary["targets"] = json!(outbound
        .iter()
        .map(|t| json!({ "kind": t.kind, "id": t.target_id, "name": t.name, "messages": t.messages.len() }))
        .collect::<Vec<_>>());
    db::revocations::insert(
        &mut tx,
        &db::revocations::NewRevocation {
            id: &id,
            guid: &guid,
            kind,
            actor: &auth.principal.email,
            reason: &v.reason,
            ticket: &v.ticket,
            now,
        },
    )
    .await
    .map_err(internal)?;
    let all: Vec<TargetRow> = local.into_iter().chain(outbound).collect();
    for (ord, t) in all.iter().enumerate() {
        db::revocations::insert_target(&mut tx, &id, ord as i64, t)
            .await
            .map_err(internal)?;
    }
    let entry = Entry::new(kind.action(), Outcome::Success)
        .target("guid", &guid)
        .details(summary);
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    if all.iter().all(|t| t.messages.is_empty()) {
        // Nothing goes out: settled here, in the action's transaction.
        let targets: Vec<RevocationTarget> =
            all.iter().map(revocation_progress::local_target).collect();
        settle_in(&mut tx, &id, &guid, kind, &targets)
            .await
            .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    if revoke {
        db.keys_changed();
    }
    progress(db, &id).await
}

/// What every step of one action shares.
struct Work<'a> {
    id: &'a str,
    auth: &'a Authorized,
    v: &'a Valid,
    now: i64,
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

/// Suspends every active account; the others keep their status (the lifecycle allows no move
/// to suspended from locked, staged or deprovisioned).
async fn suspend(
    db: &Db,
    tx: &mut Tx,
    w: &Work<'_>,
    accounts: &[UserDetail],
) -> Result<(Vec<TargetRow>, Value), AppError> {
    let mut rows = Vec::new();
    let mut details = Vec::new();
    for a in accounts {
        let (after, detail) = match a.status {
            UserStatus::Active => {
                users::apply_status(db, tx, w.auth, a, UserStatus::Suspended).await?;
                (UserStatus::Suspended, "Suspended (was active)".to_string())
            }
            UserStatus::Suspended => (a.status, "Already suspended".to_string()),
            UserStatus::Deprovisioned => (a.status, "Already deprovisioned".to_string()),
            UserStatus::Locked => (
                a.status,
                "Stays locked: a locked account cannot be suspended (unlock it first)".to_string(),
            ),
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

async fn revoke_keys(
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

async fn revoke_tokens(
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

async fn end_sessions(
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
                "ticket": w.v.ticket,
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
async fn outbound_targets(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn input(reason: &str, ticket: &str) -> RevocationInput {
        RevocationInput {
            reason: reason.into(),
            ticket: ticket.into(),
        }
    }

    #[test]
    fn a_reason_is_required_and_the_ticket_follows_the_reset_rules() {
        assert!(parse(&input("Laptop stolen", "")).is_ok());
        assert!(parse(&input(" Laptop stolen ", "SEC-1")).is_ok());
        let Err(AppError::Fields(e)) = parse(&input("  ", "bad ticket!")) else {
            panic!("refused")
        };
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["reason", "ticket"]);
        assert!(
            parse(&input("...", "")).is_err(),
            "punctuation says nothing"
        );
        assert!(parse(&input(&"x".repeat(MAX_REASON + 1), "")).is_err());
    }
}
