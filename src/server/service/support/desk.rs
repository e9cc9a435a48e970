//! The support desk's views: the agent's recent resets, the search with each person's state at a
//! glance (protected when the person is staff or listed), and a user's audit trail.
use super::staff::protected_users;
use crate::model::audit::AuditEvent;
use crate::model::support::*;
use crate::model::users::UserQuery;
use crate::model::{AppError, Permission};
use crate::server::auth::Authorized;
use crate::server::config::SupportPolicy;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::users;

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
    let protected = protected_users(db, policy, &ids).await?;
    let since = db::now_ms() - 7 * 86_400_000;
    let mut out = Vec::with_capacity(found.len());
    for u in found {
        let (factors, devices) = counts
            .iter()
            .find(|(id, _, _)| *id == u.id)
            .map(|(_, f, d)| (*f, *d))
            .unwrap_or((0, 0));
        out.push(Glance {
            failed_sign_ins_7d: db::support::failed_sign_ins_since(&db.pool, &u.id, since)
                .await
                .map_err(internal)?,
            protected: protected.contains(&u.id),
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
    let protected = protected_users(db, policy, std::slice::from_ref(&u.id)).await?;
    Ok(Glance {
        failed_sign_ins_7d: db::support::failed_sign_ins_since(
            &db.pool,
            &u.id,
            db::now_ms() - 7 * 86_400_000,
        )
        .await
        .map_err(internal)?,
        protected: protected.contains(&u.id),
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
