//! The support desk's rules: MFA factors, the MFA reset with its guard rails and one-time
//! re-enrollment link, devices and their trust. Each change runs in one transaction with its
//! audit record; every MFA reset attempt, allowed or refused, is audited.
use crate::model::audit::AuditEvent;
use crate::model::jobs::{JobReport, JobState};
use crate::model::support::*;
use crate::model::users::{UserDetail, UserQuery, UserStatus, ValidEmail, ValidPhone};
use crate::model::{AppError, Permission};
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, support::DeviceFilter, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::users;
use serde_json::json;
use sha2::{Digest, Sha256};

fn not_found_user() -> AppError {
    AppError::NotFound("The user".into())
}

async fn user_in_tx(tx: &mut Tx, id: &str) -> Result<UserDetail, AppError> {
    db::users::get(tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(not_found_user)
}

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The first `n` characters, for audit details of refused (possibly hostile) input.
fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

// ------------------------------------------------------------------------------------ factors --

pub async fn factors(db: &Db, user_id: &str) -> Result<Vec<Factor>, AppError> {
    users::get(db, user_id).await?;
    db::support::factors_of(&db.pool, user_id.trim())
        .await
        .map_err(internal)
}

/// Every factor of every account of a person.
pub async fn factors_of_guid(db: &Db, guid: &str) -> Result<Vec<Factor>, AppError> {
    let view = users::guid_view(db, guid).await?;
    let mut out = Vec::new();
    for a in view.accounts {
        out.extend(
            db::support::factors_of(&db.pool, &a.id)
                .await
                .map_err(internal)?,
        );
    }
    Ok(out)
}

pub fn new_factor_id() -> String {
    format!("f_{}", uuid::Uuid::now_v7().simple())
}

/// Checks a factor as reported by the identity provider (or typed by an administrator).
pub fn parse_factor(user_id: &str, input: &FactorInput, now: i64) -> Result<Factor, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let kind = FactorKind::parse(&input.kind)
        .map_err(|e| bad("kind", e))
        .ok();
    let label = input.label.trim().to_string();
    if label.is_empty() {
        bad("label", "Label is required".into());
    } else if label.chars().count() > MAX_LABEL {
        bad(
            "label",
            format!("Label is longer than {MAX_LABEL} characters"),
        );
    }
    let status = match input.status.trim() {
        "" => Some(FactorStatus::Active),
        s => FactorStatus::parse(s).map_err(|e| bad("status", e)).ok(),
    };
    let short = |v: &str| trimmed(v).map(|s| clip(&s, MAX_LABEL));
    let (
        mut credential_id,
        mut authenticator_name,
        mut aaguid,
        mut phone,
        mut email,
        mut codes_left,
    ) = (None, None, None, None, None, None);
    match kind {
        Some(FactorKind::Webauthn) => {
            credential_id = short(&input.credential_id);
            if credential_id.is_none() {
                bad("credential_id", "A passkey needs its credential id".into());
            }
            authenticator_name = short(&input.authenticator_name);
            aaguid = short(&input.aaguid);
        }
        Some(FactorKind::Sms | FactorKind::Voice) => match ValidPhone::parse(&input.phone) {
            Ok(p) => phone = Some(p.as_str().to_string()),
            Err(e) => bad("phone", format!("Phone {e}")),
        },
        Some(FactorKind::EmailOtp) => match ValidEmail::parse(&input.email) {
            Ok(e) => email = Some(e.as_str().to_string()),
            Err(e) => bad("email", format!("Email {e}")),
        },
        Some(FactorKind::RecoveryCodes) => match input.codes_left.trim().parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => codes_left = Some(n),
            _ => bad(
                "codes_left",
                "Codes left must be a number from 0 to 100".into(),
            ),
        },
        Some(FactorKind::Totp) | None => {}
    }
    match (errors.is_empty(), kind, status) {
        (true, Some(kind), Some(status)) => Ok(Factor {
            id: new_factor_id(),
            user_id: user_id.to_string(),
            kind,
            label,
            status,
            enrolled_at: now,
            last_used_at: None,
            credential_id,
            authenticator_name,
            aaguid,
            phone,
            email,
            codes_left,
        }),
        _ => Err(AppError::Fields(errors)),
    }
}

/// Records a factor the identity provider reports as enrolled.
pub async fn add_factor(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    input: &FactorInput,
) -> Result<Factor, AppError> {
    let f = parse_factor(user_id.trim(), input, db::now_ms())?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    if user.status == UserStatus::Deprovisioned {
        return Err(AppError::invalid(
            "user",
            "The account is deprovisioned; restore it before adding factors.",
        ));
    }
    db::support::insert_factor(&mut tx, &f)
        .await
        .map_err(internal)?;
    let entry = Entry::new("mfa.factor.add", Outcome::Success)
        .target("user", &user.id)
        .details(json!({ "factor": factor_snapshot(&f) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(f)
}

fn factor_snapshot(f: &Factor) -> serde_json::Value {
    json!({ "id": f.id, "kind": f.kind.as_str(), "label": f.label, "status": f.status.as_str(), "detail": f.detail() })
}

/// Removes one factor of a user.
pub async fn remove_factor(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    factor_id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    let all = db::support::factors_of_tx(&mut tx, &user.id)
        .await
        .map_err(internal)?;
    let Some(f) = all.iter().find(|f| f.id == factor_id.trim()) else {
        return Err(AppError::NotFound(format!(
            "Factor {} of this user",
            clip(factor_id.trim(), 64)
        )));
    };
    db::support::delete_factor(&mut tx, &user.id, &f.id)
        .await
        .map_err(internal)?;
    let entry = Entry::new("mfa.factor.remove", Outcome::Success)
        .target("user", &user.id)
        .details(json!({ "factor": factor_snapshot(f) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

// ---------------------------------------------------------------------------------- the reset --

pub fn options(policy: &SupportPolicy) -> ResetOptions {
    ResetOptions {
        checks: policy.verification_checks.clone(),
        reasons: policy.reset_reasons.clone(),
        link_valid_secs: policy.enrollment_link_ttl.as_secs() as i64,
        resets_per_hour: policy.resets_per_hour as i64,
    }
}

/// An administrator account: listed in `GATEHOUSE_PROTECTED_ACCOUNTS`, or its email has signed
/// in to the console as an administrator.
async fn is_protected(tx: &mut Tx, policy: &SupportPolicy, email: &str) -> Result<bool, AppError> {
    let email = email.trim().to_lowercase();
    if policy.protected_accounts.contains(&email) {
        return Ok(true);
    }
    db::support::is_console_admin_tx(tx, &email)
        .await
        .map_err(internal)
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
    } else if note.is_empty() && reason == "Other" {
        bad("note", "Describe the reason when it is \"Other\"".into());
    }
    let ticket = input.ticket.trim().to_string();
    if ticket.is_empty() {
        bad("ticket", "A ticket reference is required".into());
    } else if ticket.chars().count() > MAX_TICKET
        || !ticket
            .chars()
            .all(|c| c.is_alphanumeric() || "-_#/.:".contains(c))
    {
        bad(
            "ticket",
            format!(
                "The ticket reference must be up to {MAX_TICKET} letters, digits or - _ # / . :"
            ),
        );
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
    if user.email.eq_ignore_ascii_case(auth.principal.email.trim()) {
        return Err(AppError::Forbidden(
            "reset your own MFA; ask a colleague".into(),
        ));
    }
    if !auth.principal.can(Permission::ResetAdminMfa)
        && is_protected(&mut tx, policy, &user.email).await?
    {
        return Err(AppError::Forbidden(
            Permission::ResetAdminMfa.describe().to_string(),
        ));
    }
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

/// Why a re-enrollment link cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

impl LinkProblem {
    pub fn message(&self) -> &'static str {
        match self {
            LinkProblem::Unknown => "This re-enrollment link is not valid. Check that you copied all of it, or ask the support desk for a new one.",
            LinkProblem::Used => "This re-enrollment link has already been used. Each link works once; ask the support desk for a new one.",
            LinkProblem::Expired => "This re-enrollment link has expired. Ask the support desk for a new one.",
        }
    }
}

fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a link can be used now (without using it).
pub async fn check_link(db: &Db, token: &str) -> Result<Result<(), LinkProblem>, AppError> {
    if !plausible_token(token) {
        return Ok(Err(LinkProblem::Unknown));
    }
    let mut tx = db.pool.begin().await.map_err(internal)?;
    let link = db::support::link_tx(&mut tx, &token_hash(token))
        .await
        .map_err(internal)?;
    Ok(match link {
        None => Err(LinkProblem::Unknown),
        Some(l) if l.used_at.is_some() => Err(LinkProblem::Used),
        Some(l) if l.expires_at <= db::now_ms() => Err(LinkProblem::Expired),
        Some(_) => Ok(()),
    })
}

/// Uses a re-enrollment link once: marks it used (audited `mfa.enrollment_link.used`). A used or
/// expired link is refused (and the refusal audited); an unknown one is refused.
pub async fn use_link(
    db: &Db,
    meta: &RequestMeta,
    token: &str,
) -> Result<Result<String, LinkProblem>, AppError> {
    if !plausible_token(token) {
        return Ok(Err(LinkProblem::Unknown));
    }
    let hash = token_hash(token);
    let mut tx = db.begin_write().await.map_err(internal)?;
    let Some(link) = db::support::link_tx(&mut tx, &hash)
        .await
        .map_err(internal)?
    else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let now = db::now_ms();
    let problem = if link.used_at.is_some() {
        Some(LinkProblem::Used)
    } else if link.expires_at <= now {
        Some(LinkProblem::Expired)
    } else if !db::support::use_link(&mut tx, &hash, now)
        .await
        .map_err(internal)?
    {
        Some(LinkProblem::Used)
    } else {
        None
    };
    let user = db::users::get(&mut tx, &link.user_id)
        .await
        .map_err(internal)?;
    let actor = Actor {
        subject: None,
        email: user.as_ref().map(|u| u.email.clone()),
        role: None,
    };
    let (outcome, why) = match &problem {
        None => (Outcome::Success, None),
        Some(LinkProblem::Used) => (Outcome::Failed, Some("already_used")),
        Some(LinkProblem::Expired) => (Outcome::Failed, Some("expired")),
        Some(LinkProblem::Unknown) => (Outcome::Failed, Some("unknown")),
    };
    let entry = Entry::new("mfa.enrollment_link.used", outcome)
        .target("user", &link.user_id)
        .details(json!({ "reset_id": link.reset_id, "refused": why }));
    audit::record(&mut tx, &actor, meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(match problem {
        Some(p) => Err(p),
        None => Ok(user.map(|u| u.display_name).unwrap_or_default()),
    })
}

/// Audits a console sign-in; an administrator's email is remembered in the same transaction, so
/// support can never reset that account's MFA.
pub async fn record_sign_in(
    db: &Db,
    actor: &Actor,
    meta: &RequestMeta,
    entry: Entry<'_>,
    email: &str,
    role: crate::model::Role,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seq = audit::record(&mut tx, actor, meta, entry).await?;
    if role == crate::model::Role::Admin {
        db::support::note_console_admin(&mut tx, email, db::now_ms()).await?;
    }
    tx.commit().await?;
    Ok(seq)
}

// ------------------------------------------------------------------------------- support home --

pub async fn recent_resets(db: &Db, auth: &Authorized) -> Result<Vec<ResetRecord>, AppError> {
    db::support::recent_resets(&db.pool, &auth.principal.email, 20)
        .await
        .map_err(internal)
}

/// At most this many people per support search.
pub const GLANCE_LIMIT: usize = 20;

/// People matching the search box (as on the users page), each with their state at a glance.
pub async fn search(db: &Db, policy: &SupportPolicy, q: &str) -> Result<Vec<Glance>, AppError> {
    if q.trim().is_empty() {
        return Ok(Vec::new());
    }
    let page = users::list(
        db,
        &UserQuery {
            q: q.trim().to_string(),
            ..Default::default()
        },
    )
    .await?;
    let found: Vec<_> = page.users.into_iter().take(GLANCE_LIMIT).collect();
    let ids: Vec<String> = found.iter().map(|u| u.id.clone()).collect();
    let counts = db::support::counts_of(&db.pool, &ids)
        .await
        .map_err(internal)?;
    let emails: Vec<String> = found.iter().map(|u| u.email.to_lowercase()).collect();
    let admins = db::support::console_admins_among(&db.pool, &emails)
        .await
        .map_err(internal)?;
    let since = db::now_ms() - 7 * 86_400_000;
    let mut out = Vec::with_capacity(found.len());
    for u in found {
        let (factors, devices) = counts
            .iter()
            .find(|(id, _, _)| *id == u.id)
            .map(|(_, f, d)| (*f, *d))
            .unwrap_or((0, 0));
        let email = u.email.to_lowercase();
        out.push(Glance {
            failed_sign_ins_7d: db::support::failed_sign_ins_since(&db.pool, &u.id, since)
                .await
                .map_err(internal)?,
            protected: admins.contains(&email) || policy.protected_accounts.contains(&email),
            user_id: u.id,
            guid: u.guid,
            email: u.email,
            display_name: u.display_name,
            status: u.status,
            factors,
            devices,
            last_sign_in_at: u.last_sign_in_at,
        });
    }
    Ok(out)
}

/// One person's state at a glance.
pub async fn glance(db: &Db, policy: &SupportPolicy, user_id: &str) -> Result<Glance, AppError> {
    let u = users::get(db, user_id).await?;
    let counts = db::support::counts_of(&db.pool, std::slice::from_ref(&u.id))
        .await
        .map_err(internal)?;
    let (factors, devices) = counts.first().map(|c| (c.1, c.2)).unwrap_or((0, 0));
    let email = u.email.to_lowercase();
    let admins = db::support::console_admins_among(&db.pool, std::slice::from_ref(&email))
        .await
        .map_err(internal)?;
    Ok(Glance {
        failed_sign_ins_7d: db::support::failed_sign_ins_since(
            &db.pool,
            &u.id,
            db::now_ms() - 7 * 86_400_000,
        )
        .await
        .map_err(internal)?,
        protected: !admins.is_empty() || policy.protected_accounts.contains(&email),
        user_id: u.id,
        guid: u.guid,
        email: u.email,
        display_name: u.display_name,
        status: u.status,
        factors,
        devices,
        last_sign_in_at: u.last_sign_in_at,
    })
}

/// A user's recent audit trail. The full trail belongs to those who read the audit log; others
/// (support) see only their own actions on the user.
pub async fn user_trail(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
) -> Result<Vec<AuditEvent>, AppError> {
    let id = user_id.trim();
    if auth.principal.can(Permission::ReadAudit) {
        db::audit::by_target(&db.pool, "user", id, 20).await
    } else {
        db::audit::by_target_and_actor(&db.pool, "user", id, &auth.principal.email, 20).await
    }
    .map_err(internal)
}

// ------------------------------------------------------------------------------------ devices --

pub const DEVICE_PAGE: i64 = 50;

pub async fn devices(db: &Db, q: &DeviceQuery) -> Result<DevicePage, AppError> {
    let mut f = DeviceFilter::default();
    if let Some(owner) = trimmed(&q.owner) {
        let owner = owner.to_lowercase();
        let id = if owner.starts_with("u_") {
            Some(owner)
        } else {
            let mut tx = db.pool.begin().await.map_err(internal)?;
            db::users::id_by_email(&mut tx, &owner)
                .await
                .map_err(internal)?
        };
        match id {
            Some(id) => f.owner_user_id = Some(id),
            None => return Ok(DevicePage::default()),
        }
    }
    f.device_id = trimmed(&q.device);
    if let Some(s) = trimmed(&q.state) {
        f.state = Some(TrustState::parse(&s).map_err(|e| AppError::invalid("state", e))?);
    }
    f.platform = trimmed(&q.platform).map(|p| p.to_lowercase());
    if let Some(d) = trimmed(&q.stale_days) {
        let days = d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                AppError::invalid(
                    "stale_days",
                    "Days not seen must be a number from 1 to 3650.",
                )
            })?;
        f.seen_before = Some(db::now_ms() - days * 86_400_000);
    }
    let after = match trimmed(&q.after) {
        None => None,
        Some(c) => Some(
            c.split_once('|')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| AppError::invalid("after", "Not a page cursor."))?,
        ),
    };
    let mut rows = db::support::device_page(&db.pool, &f, after, DEVICE_PAGE + 1)
        .await
        .map_err(internal)?;
    let next = if rows.len() as i64 > DEVICE_PAGE {
        rows.truncate(DEVICE_PAGE as usize);
        rows.last().map(|d| format!("{}|{}", d.last_seen_at, d.id))
    } else {
        None
    };
    Ok(DevicePage {
        devices: rows,
        next,
    })
}

pub async fn devices_of_user(db: &Db, user_id: &str) -> Result<Vec<Device>, AppError> {
    let u = users::get(db, user_id).await?;
    db::support::devices_of_users(&db.pool, &[u.id])
        .await
        .map_err(internal)
}

/// Every device of every account of a person.
pub async fn devices_of_guid(db: &Db, guid: &str) -> Result<Vec<Device>, AppError> {
    let view = users::guid_view(db, guid).await?;
    let ids: Vec<String> = view.accounts.into_iter().map(|a| a.id).collect();
    db::support::devices_of_users(&db.pool, &ids)
        .await
        .map_err(internal)
}

pub fn new_device_id() -> String {
    format!("d_{}", uuid::Uuid::now_v7().simple())
}

/// Registers a device for a user (as the identity provider reports it); it starts untrusted.
pub async fn register_device(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    input: &DeviceInput,
) -> Result<Device, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_LABEL {
        bad(
            "name",
            format!("Name is required, up to {MAX_LABEL} characters"),
        );
    }
    let platform = input.platform.trim().to_lowercase();
    if platform.is_empty()
        || platform.len() > 32
        || !platform
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        bad(
            "platform",
            "Platform is required: up to 32 letters, digits, - or _ (e.g. ios, windows)".into(),
        );
    }
    let os_version = input.os_version.trim();
    if os_version.chars().count() > 64 {
        bad(
            "os_version",
            "OS version is longer than 64 characters".into(),
        );
    }
    let kind = DeviceKind::parse(&input.kind)
        .map_err(|e| bad("kind", e))
        .ok();
    let fingerprint = input.fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.chars().count() > MAX_LABEL {
        bad(
            "fingerprint",
            format!("Identifier or key fingerprint is required, up to {MAX_LABEL} characters"),
        );
    }
    let last_ip = trimmed(&input.last_ip);
    if last_ip
        .as_ref()
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
    {
        bad("last_ip", "Last IP is not an IP address".into());
    }
    let (true, Some(kind)) = (errors.is_empty(), kind) else {
        return Err(AppError::Fields(errors));
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    if user.status == UserStatus::Deprovisioned {
        return Err(AppError::invalid(
            "user",
            "The account is deprovisioned; restore it before registering devices.",
        ));
    }
    let id = new_device_id();
    db::support::insert_device(
        &mut tx,
        &db::support::NewDevice {
            id: &id,
            owner_user_id: &user.id,
            name,
            platform: &platform,
            os_version,
            kind,
            fingerprint,
            trust_state: TrustState::Untrusted,
            last_ip: last_ip.as_deref(),
            now: db::now_ms(),
        },
    )
    .await
    .map_err(internal)?;
    let d = db::support::device_tx(&mut tx, &id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    let entry = Entry::new("device.register", Outcome::Success)
        .target("device", &id)
        .details(json!({ "after": device_snapshot(&d) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(d)
}

fn device_snapshot(d: &Device) -> serde_json::Value {
    json!({
        "owner": d.owner_user_id, "owner_email": d.owner_email, "name": d.name, "platform": d.platform,
        "os_version": d.os_version, "kind": d.kind.as_str(), "fingerprint": d.fingerprint,
        "trust_state": d.trust_state.as_str(), "remembered": d.remembered,
    })
}

/// Trusts, untrusts or blocks a device. Untrust withdraws trust only from a trusted device (so it
/// cannot unblock one); trust and block change any other state.
pub async fn set_trust(
    db: &Db,
    auth: &Authorized,
    id: &str,
    to: TrustState,
) -> Result<Device, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = db::support::device_tx(&mut tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The device".into()))?;
    if before.trust_state == to {
        return Err(AppError::invalid(
            "trust_state",
            format!("The device is already {}.", to.as_str()),
        ));
    }
    if to == TrustState::Untrusted && before.trust_state != TrustState::Trusted {
        return Err(AppError::invalid(
            "trust_state",
            "Only a trusted device can be untrusted; a blocked device stays blocked.",
        ));
    }
    db::support::set_trust(&mut tx, &before.id, to, db::now_ms())
        .await
        .map_err(internal)?;
    let action = match to {
        TrustState::Trusted => "device.trust",
        TrustState::Untrusted => "device.untrust",
        TrustState::Blocked => "device.block",
    };
    let entry = Entry::new(action, Outcome::Success)
        .target("device", &before.id)
        .details(json!({
            "owner": before.owner_user_id,
            "changes": { "trust_state": { "before": before.trust_state.as_str(), "after": to.as_str() } },
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    let after = db::support::device_tx(&mut tx, &before.id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(after)
}

pub async fn remove_device(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = db::support::device_tx(&mut tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The device".into()))?;
    db::support::delete_device(&mut tx, &before.id)
        .await
        .map_err(internal)?;
    let entry = Entry::new("device.remove", Outcome::Success)
        .target("device", &before.id)
        .details(json!({ "before": device_snapshot(&before) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

const BULK_BATCH: i64 = 200;

/// Blocks every device not seen for `days` days, as a job: one transaction per batch of 200
/// devices, each block with its own audit record. Returns the job id.
pub async fn start_bulk_block(db: &Db, auth: &Authorized, days: &str) -> Result<String, AppError> {
    let days = days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| {
            AppError::invalid("days", "Days not seen must be a number from 1 to 3650.")
        })?;
    let before = db::now_ms() - days * 86_400_000;
    let total = db::support::count_stale_unblocked(&db.pool, before)
        .await
        .map_err(internal)?
        .max(0) as u64;
    let job = crate::server::service::jobs::new_job_id();
    let entry = Entry::new("devices.bulk_block", Outcome::Success)
        .target("job", &job)
        .details(json!({ "not_seen_days": days, "seen_before": before, "total": total }));
    audit::record_alone(db, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    db::jobs::insert(
        &db.pool,
        &job,
        "devices.bulk_block",
        &auth.principal.email,
        JobState::Running,
        total,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let (db, auth, id) = (db.clone(), auth.clone(), job.clone());
    tokio::spawn(async move {
        let mut report = JobReport::default();
        let result = run_bulk_block(&db, &auth, &id, before, total, &mut report).await;
        let (state, summary) = match result {
            Ok(()) => (
                JobState::Done,
                format!(
                    "Blocked {} device{} not seen for {days} days.",
                    report.changed,
                    if report.changed == 1 { "" } else { "s" }
                ),
            ),
            Err(e) => {
                tracing::error!(error = %e, job = id, "bulk block stopped");
                (
                    JobState::Failed,
                    format!(
                        "Stopped by an error after {} devices; those stay blocked and audited.",
                        report.changed
                    ),
                )
            }
        };
        if let Err(e) = db::jobs::finish(
            &db.pool,
            &id,
            state,
            report.changed,
            &summary,
            &report,
            db::now_ms(),
        )
        .await
        {
            tracing::error!(error = %e, job = id, "could not record the end of a job");
        }
    });
    Ok(job)
}

async fn run_bulk_block(
    db: &Db,
    auth: &Authorized,
    job: &str,
    before: i64,
    total: u64,
    report: &mut JobReport,
) -> Result<(), AppError> {
    loop {
        let mut tx = db.begin_write().await.map_err(internal)?;
        let batch = db::support::stale_unblocked(&mut tx, before, BULK_BATCH)
            .await
            .map_err(internal)?;
        if batch.is_empty() {
            return Ok(());
        }
        let now = db::now_ms();
        for (id, state) in &batch {
            db::support::set_trust(&mut tx, id, TrustState::Blocked, now)
                .await
                .map_err(internal)?;
            let entry = Entry::new("device.block", Outcome::Success)
                .target("device", id)
                .details(json!({
                    "job": job,
                    "changes": { "trust_state": { "before": state, "after": "blocked" } },
                }));
            audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
                .await
                .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
        report.changed += batch.len() as u64;
        if let Err(e) = db::jobs::progress(
            &db.pool,
            job,
            JobState::Running,
            total.max(report.changed),
            report.changed,
            db::now_ms(),
        )
        .await
        {
            tracing::warn!(error = %e, "could not record job progress");
        }
    }
}
