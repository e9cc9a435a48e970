//! Support's one write on a user: a locked account back to active. The state check, the guard
//! rails (the MFA reset's: never one's own person; staff and protected people only for those who
//! may change users) and the write are one transaction, with the user's row locked; every
//! refusal is audited and changes nothing.
use super::staff::{guard_person, Act};
use super::{clip, not_found_user, user_in_tx};
use crate::model::users::{UserDetail, UserStatus};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use serde_json::json;

/// Unlocks a locked user; `version` guards against acting on a stale view.
pub async fn unlock(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    id: &str,
    version: i64,
) -> Result<UserDetail, AppError> {
    let result = attempt_unlock(db, policy, auth, id, version).await;
    if let Err(e) = &result {
        let outcome = match e {
            AppError::Forbidden(_) => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let target = clip(id.trim(), 64);
        let entry = Entry::new("user.status", outcome)
            .target("user", &target)
            .details(json!({ "refused": e.to_string(), "via": "unlock", "requested": "active" }));
        if let Err(err) = audit::record_alone(db, &auth.actor(), &auth.meta, entry).await {
            tracing::error!(error = %err, "could not audit a refused unlock");
            return Err(internal(err));
        }
    }
    result
}

async fn attempt_unlock(
    db: &Db,
    policy: &SupportPolicy,
    auth: &Authorized,
    id: &str,
    version: i64,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::staff::lock_user(&mut tx, id.trim())
        .await
        .map_err(internal)?
    {
        return Err(not_found_user());
    }
    let before = user_in_tx(&mut tx, id).await?;
    if before.version != version {
        return Err(AppError::Conflict(users::CONFLICT.into()));
    }
    if before.status != UserStatus::Locked {
        return Err(AppError::invalid(
            "status",
            format!(
                "Only a locked user can be unlocked; this one is {}.",
                before.status.as_str()
            ),
        ));
    }
    guard_person(&mut tx, policy, auth, &before, Act::Unlock).await?;
    users::apply_status(db, &mut tx, auth, &before, UserStatus::Active).await?;
    let after = user_in_tx(&mut tx, &before.id).await?;
    tx.commit().await.map_err(internal)?;
    Ok(users::with_restore_window(db, after))
}
