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
use super::revocation_steps::{
    end_sessions, outbound_targets, revoke_keys, revoke_tokens, suspend, Work,
};
use super::support::{guard_person, has_details, ticket_problem, Act};
use crate::model::revocations::*;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, revocations::TargetRow, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use serde_json::json;

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
    let merged_meanwhile = db::users::guid_in_tx(&mut tx, &guid)
        .await
        .map_err(internal)?
        .is_none_or(|row| row.merged_into.is_some());
    if merged_meanwhile {
        return Err(AppError::Conflict(
            "This person was merged into another just now; open the person again and retry.".into(),
        ));
    }
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
        ticket: &v.ticket,
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
