//! Who support may not act on. Protection follows the person (GUID), not one email: a person is
//! protected when any of their accounts is listed in `GATEHOUSE_PROTECTED_ACCOUNTS` or has signed
//! in to the console with any role (staff: admins, support agents, auditors). Nobody acts on any
//! account of their own person. The MFA reset, the unlock and signing out or revoking a person
//! everywhere share these rules.
use super::clip;
use crate::model::users::UserDetail;
use crate::model::{AppError, Permission, Role};
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, RequestMeta};
use std::collections::HashSet;

/// Audits a console sign-in. When the identity provider vouches for the email
/// (`email_verified`), the email is recorded as staff with its role in the same transaction, so
/// support can never reset or unlock any account of that person. An unverified email identifies
/// nobody: it is not recorded (the sign-in is still audited).
pub async fn record_sign_in(
    db: &Db,
    actor: &Actor,
    meta: &RequestMeta,
    entry: Entry<'_>,
    email: &str,
    email_verified: bool,
    role: Role,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seq = audit::record(&mut tx, actor, meta, entry).await?;
    let email = email.trim().to_lowercase();
    if email_verified && !email.is_empty() {
        db::staff::note_staff(&mut tx, &email, role, db::now_ms()).await?;
    } else {
        tracing::info!(
            role = role.as_str(),
            "sign-in with an unverified email: not recorded as staff"
        );
    }
    tx.commit().await?;
    Ok(seq)
}

/// A support action guarded by the person rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    ResetMfa,
    Unlock,
    /// Sign out everywhere (support and admins).
    SignOut,
    /// Revoke everywhere (admins).
    Revoke,
}

impl Act {
    /// Completes "You do not have permission to ... <account>".
    fn verb(self) -> &'static str {
        match self {
            Act::ResetMfa => "reset the MFA of",
            Act::Unlock => "unlock",
            Act::SignOut => "sign out everywhere",
            Act::Revoke => "revoke everywhere",
        }
    }

    /// The permission that lets its holder act on staff and protected people (admins).
    fn over_staff(self) -> Permission {
        match self {
            Act::ResetMfa => Permission::ResetAdminMfa,
            Act::Unlock => Permission::WriteUsers,
            Act::SignOut | Act::Revoke => Permission::RevokeEverywhere,
        }
    }

    /// Ending staff's console sessions stays a console act: a token acts on non-staff only.
    fn over_staff_in_console_only(self) -> bool {
        matches!(self, Act::SignOut | Act::Revoke)
    }
}

/// Refuses (403) when `user` belongs to the agent's own person, or — unless the agent holds the
/// act's admin permission — to a protected or staff person. Reads inside the caller's transaction.
pub(crate) async fn guard_person(
    tx: &mut Tx,
    policy: &SupportPolicy,
    auth: &Authorized,
    user: &UserDetail,
    act: Act,
) -> Result<(), AppError> {
    let emails = db::staff::person_emails(tx, &user.id)
        .await
        .map_err(internal)?;
    let agent = auth.principal.email.trim().to_lowercase();
    let through = |email: &str| {
        if email == user.email {
            String::new()
        } else {
            format!(" (through this person's account {})", clip(email, 120))
        }
    };
    if let Some(own) = emails.iter().find(|e| **e == agent) {
        return Err(AppError::Forbidden(match act {
            Act::ResetMfa => format!("reset your own MFA{}; ask a colleague", through(own)),
            Act::Unlock => format!("unlock your own account{}; ask a colleague", through(own)),
            Act::SignOut => format!(
                "sign yourself out everywhere{}; ask a colleague",
                through(own)
            ),
            Act::Revoke => format!(
                "revoke your own access everywhere{}; ask a colleague",
                through(own)
            ),
        }));
    }
    let via_api = auth.meta.api.is_some() && act.over_staff_in_console_only();
    if auth.principal.can(act.over_staff()) && !via_api {
        return Ok(());
    }
    if let Some(listed) = emails
        .iter()
        .find(|e| policy.protected_accounts.contains(e))
    {
        return Err(AppError::Forbidden(format!(
            "{} a protected administrator account{}",
            act.verb(),
            through(listed)
        )));
    }
    let staff = db::staff::staff_among(tx, &emails)
        .await
        .map_err(internal)?;
    match staff.first() {
        None => Ok(()),
        Some((email, role)) if role == Role::Admin.as_str() => Err(AppError::Forbidden(format!(
            "{} an administrator account{}",
            act.verb(),
            through(email)
        ))),
        Some((email, role)) => Err(AppError::Forbidden(format!(
            "{} another support agent or auditor (this person signs in to the console as {role}){}",
            act.verb(),
            through(email)
        ))),
    }
}

/// Which of `user_ids` belong to a protected or staff person (for the support desk's glance).
pub(super) async fn protected_users(
    db: &Db,
    policy: &SupportPolicy,
    user_ids: &[String],
) -> Result<HashSet<String>, AppError> {
    let pairs = db::staff::person_emails_of_users(&db.pool, user_ids)
        .await
        .map_err(internal)?;
    let emails: Vec<String> = pairs
        .iter()
        .map(|(_, e)| e.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut conn = db.pool.acquire().await.map_err(internal)?;
    let staff: HashSet<String> = db::staff::staff_among(&mut conn, &emails)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    Ok(pairs
        .into_iter()
        .filter(|(_, e)| staff.contains(e) || policy.protected_accounts.contains(e))
        .map(|(id, _)| id)
        .collect())
}
