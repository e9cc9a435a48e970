//! The MFA reset: checked input, the guard rails (see `staff`), the hourly limit per agent, and
//! the one-time re-enrollment link it issues. Every attempt, allowed or refused, is audited.
use super::factors::factor_snapshot;
use super::staff::{guard_person, Act};
use super::{clip, not_found_user, user_in_tx};
use crate::model::support::*;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use serde_json::json;
use sha2::{Digest, Sha256};

pub fn options(policy: &SupportPolicy) -> ResetOptions {
    ResetOptions {
        checks: policy.verification_checks.clone(),
        reasons: policy.reset_reasons.clone(),
        link_valid_secs: policy.enrollment_link_ttl.as_secs() as i64,
        resets_per_hour: policy.resets_per_hour as i64,
    }
}

/// The reset's input after checking; every problem is reported at once, by field.
struct ValidReset {
    checks: Vec<String>,
    reason: String,
    note: String,
    ticket: String,
}

fn parse_reset(policy: &SupportPolicy, input: &MfaResetInput) -> Result<ValidReset, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let mut checks: Vec<String> = input
        .checks
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    checks.sort();
    checks.dedup();
    if checks.is_empty() {
        bad(
            "checks",
            "Record how the caller's identity was verified (at least one check)".into(),
        );
    } else if let Some(unknown) = checks
        .iter()
        .find(|c| !policy.verification_checks.contains(c))
    {
        bad(
            "checks",
            format!(
                "{:?} is not one of the verification checks",
                clip(unknown, 80)
            ),
        );
    }
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        bad("reason", "Choose a reason".into());
    } else if !policy.reset_reasons.contains(&reason) {
        bad(
            "reason",
            format!("{:?} is not one of the reasons", clip(&reason, 80)),
        );
    }
    let note = input.note.trim().to_string();
    if note.chars().count() > MAX_NOTE {
        bad(
            "note",
            format!("The reason's details are longer than {MAX_NOTE} characters"),
        );
    } else if needs_details(&reason) && !has_details(&note) {
        bad(
            "note",
            format!(
                "Describe the reason in the details when it is {:?}",
                clip(&reason, 80)
            ),
        );
    }
    let ticket = input.ticket.trim().to_string();
    if ticket.is_empty() {
        bad("ticket", "A ticket reference is required".into());
    } else if let Some(problem) = ticket_problem(&ticket) {
        bad("ticket", problem);
    }
    if input.confirm_email.trim().is_empty() {
        bad("confirm_email", "Type the person's email to confirm".into());
    }
    if errors.is_empty() {
        Ok(ValidReset {
            checks,
            reason,
            note,
            ticket,
        })
    } else {
        Err(AppError::Fields(errors))
    }
}

/// Whether a reason needs details: "Other" in any case, alone or followed by more words or
/// punctuation ("other", "Other (describe)", "Other: ...").
pub fn needs_details(reason: &str) -> bool {
    let r = reason.trim().to_lowercase();
    r == "other"
        || r.strip_prefix("other")
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
}

/// Details are words: at least one letter or digit (spaces, punctuation and invisible characters
/// alone describe nothing).
pub(crate) fn has_details(note: &str) -> bool {
    note.chars().any(char::is_alphanumeric)
}

/// What is wrong with a (non-empty, trimmed) ticket reference, if anything.
pub(crate) fn ticket_problem(ticket: &str) -> Option<String> {
    (ticket.chars().count() > MAX_TICKET
        || !ticket
            .chars()
            .all(|c| c.is_alphanumeric() || "-_#/.:".contains(c)))
    .then(|| {
        format!("The ticket reference must be up to {MAX_TICKET} letters, digits or - _ # / . :")
    })
}

/// A new link token: 32 random bytes, base64url. Only its SHA-256 is stored.
fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Resets a person's MFA: removes the factors (all, or the chosen ones), withdraws the trust of
/// their devices and any remembered device, and issues a one-time re-enrollment link. Refusals
/// change nothing and are audited with the reason and ticket given.
pub async fn reset_mfa(
    db: &Db,
    policy: &SupportPolicy,
    public_url: &str,
    auth: &Authorized,
    input: &MfaResetInput,
) -> Result<MfaResetOutcome, AppError> {
    let result = attempt_reset(db, policy, public_url, auth, input).await;
    if let Err(e) = &result {
        let outcome = match e {
            AppError::Forbidden(_) | AppError::RateLimited(_) => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let target = clip(input.user_id.trim(), 64);
        let entry = Entry::new("mfa.reset", outcome)
            .target("user", &target)
            .details(json!({
                "refused": e.to_string(),
                "reason": clip(input.reason.trim(), 120),
                "note": clip(input.note.trim(), MAX_NOTE),
                "ticket": clip(input.ticket.trim(), MAX_TICKET),
                "checks": input.checks.iter().take(10).map(|c| clip(c, 120)).collect::<Vec<_>>(),
            }));
        if let Err(err) = audit::record_alone(db, &auth.actor(), &auth.meta, entry).await {
            tracing::error!(error = %err, "could not audit a refused MFA reset");
            return Err(internal(err));
        }
    }
    result
}

async fn attempt_reset(
    db: &Db,
    policy: &SupportPolicy,
    public_url: &str,
    auth: &Authorized,
    input: &MfaResetInput,
) -> Result<MfaResetOutcome, AppError> {
    let v = parse_reset(policy, input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    // One agent's resets run one at a time (the hourly count below stays true until commit), and
    // the person's row is locked so two resets of one account cannot both issue a live link.
    db::staff::lock_agent(&mut tx, &auth.principal.email)
        .await
        .map_err(internal)?;
    if !db::staff::lock_user(&mut tx, input.user_id.trim())
        .await
        .map_err(internal)?
    {
        return Err(not_found_user());
    }
    let user = user_in_tx(&mut tx, &input.user_id).await?;
    if user.status == UserStatus::Deprovisioned {
        return Err(AppError::invalid(
            "user",
            "The account is deprovisioned; its MFA cannot be reset.",
        ));
    }
    if !input.confirm_email.trim().eq_ignore_ascii_case(&user.email) {
        return Err(AppError::invalid(
            "confirm_email",
            "The email typed does not match this person's email.",
        ));
    }
    guard_person(&mut tx, policy, auth, &user, Act::ResetMfa).await?;
    let now = db::now_ms();
    let done = db::support::resets_by_agent_since(&mut tx, &auth.principal.email, now - 3_600_000)
        .await
        .map_err(internal)?;
    if done >= policy.resets_per_hour as i64 {
        return Err(AppError::RateLimited(format!(
            "you have reset MFA {done} times in the last hour (the limit is {}); try again later or ask a colleague.",
            policy.resets_per_hour
        )));
    }
    let all = db::support::factors_of_tx(&mut tx, &user.id)
        .await
        .map_err(internal)?;
    let chosen: Vec<&Factor> = if input.factor_ids.iter().all(|f| f.trim().is_empty()) {
        all.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for id in input
            .factor_ids
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
        {
            match all.iter().find(|f| f.id == id) {
                Some(f) => chosen.push(f),
                None => {
                    return Err(AppError::invalid(
                        "factor_ids",
                        format!("{} is not a factor of this person.", clip(id, 64)),
                    ))
                }
            }
        }
        chosen.dedup_by(|a, b| a.id == b.id);
        chosen
    };
    for f in &chosen {
        db::support::delete_factor(&mut tx, &user.id, &f.id)
            .await
            .map_err(internal)?;
    }
    let devices = db::support::revoke_trust_of_user(&mut tx, &user.id, now)
        .await
        .map_err(internal)?;
    db::support::expire_links_of(&mut tx, &user.id, now)
        .await
        .map_err(internal)?;
    let reset_id = format!("r_{}", uuid::Uuid::now_v7().simple());
    let token = new_token();
    let expires_at = now + policy.enrollment_link_ttl.as_millis() as i64;
    db::support::insert_link(
        &mut tx,
        &token_hash(&token),
        &user.id,
        &reset_id,
        now,
        expires_at,
    )
    .await
    .map_err(internal)?;
    let checks = serde_json::to_string(&v.checks).map_err(internal)?;
    db::support::insert_reset(
        &mut tx,
        &db::support::ResetRow {
            id: &reset_id,
            agent_email: &auth.principal.email,
            user_id: &user.id,
            user_email: &user.email,
            ticket: &v.ticket,
            reason: &v.reason,
            note: &v.note,
            checks: &checks,
            factors_removed: chosen.len() as i64,
            devices_untrusted: devices.len() as i64,
            now,
        },
    )
    .await
    .map_err(internal)?;
    let entry = Entry::new("mfa.reset", Outcome::Success)
        .target("user", &user.id)
        .details(json!({
            "reset_id": reset_id,
            "reason": v.reason, "note": v.note, "ticket": v.ticket, "checks": v.checks,
            "factors_removed": chosen.iter().map(|f| factor_snapshot(f)).collect::<Vec<_>>(),
            "all_factors": chosen.len() == all.len(),
            "devices_untrusted": devices,
            "enrollment_link_expires_at": expires_at,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(MfaResetOutcome {
        reset_id,
        enrollment_link: format!("{public_url}/enroll/{token}"),
        expires_at,
        factors_removed: chosen.len() as i64,
        devices_untrusted: devices.len() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_in_any_spelling_needs_details() {
        for r in [
            "Other",
            "other",
            " OTHER ",
            "Other (describe)",
            "Other: see note",
        ] {
            assert!(needs_details(r), "{r:?}");
        }
        for r in [
            "Lost or stolen phone",
            "Otherwise broken",
            "Another reason",
            "",
        ] {
            assert!(!needs_details(r), "{r:?}");
        }
        for n in ["", "   ", "...", "\u{200b}\u{200b}", "-"] {
            assert!(!has_details(n), "{n:?}");
        }
        assert!(has_details("Phone replaced by the carrier"));
    }
}
