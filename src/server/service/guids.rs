//! People (GUIDs) and their accounts: the consolidated view, merging two people, and moving
//! one account to another person. On PostgreSQL each write locks the GUID rows it reads, in id
//! order, before reading them, so opposite merges at the same time queue: the first one wins and
//! the second finds its GUID already merged (a conflict), never a cycle or a deadlock.
use crate::model::users::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, users::GuidRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users::new_guid;
use serde_json::json;

/// The consolidated view of a person. An absorbed GUID resolves to its survivor.
pub async fn guid_view(db: &Db, id: &str) -> Result<GuidView, AppError> {
    let not_found = || AppError::NotFound("The GUID".into());
    let mut guid = id.trim().to_string();
    let mut row = db::users::guid(&db.pool, &guid)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    if let Some(survivor) = row.merged_into.clone() {
        row = db::users::guid(&db.pool, &survivor)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        guid = survivor;
    }
    Ok(GuidView {
        accounts: db::users::accounts_of_guid(&db.pool, &guid)
            .await
            .map_err(internal)?,
        absorbed: db::users::absorbed_into(&db.pool, &guid)
            .await
            .map_err(internal)?,
        created_at: row.created_at,
        profile: row.profile,
        guid,
    })
}

/// Merges `absorbed` into `survivor`: every account moves, the absorbed GUID resolves to the
/// survivor from now on, and each conflicting profile field takes the side the admin chose. The
/// audit record holds both profiles, the choices and the moved accounts, so it can be undone by hand.
pub async fn merge(
    db: &Db,
    auth: &Authorized,
    survivor: &str,
    absorbed: &str,
    choices: &MergeChoices,
) -> Result<GuidView, AppError> {
    let (survivor, absorbed) = (survivor.trim(), absorbed.trim());
    if survivor == absorbed {
        return Err(AppError::invalid(
            "guid",
            "A GUID cannot be merged with itself.",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::users::lock_guids(&mut tx, db.engine, &[survivor, absorbed])
        .await
        .map_err(internal)?;
    let mut rows = Vec::new();
    for (id, label) in [(survivor, "surviving"), (absorbed, "absorbed")] {
        match db::users::guid_in_tx(&mut tx, id).await.map_err(internal)? {
            None => return Err(AppError::NotFound(format!("The {label} GUID {id}"))),
            Some(GuidRow {
                merged_into: Some(into),
                ..
            }) => {
                return Err(AppError::Conflict(format!(
                    "GUID {id} was already merged into {into}; use that one."
                )))
            }
            Some(row) => rows.push(row.profile),
        }
    }
    let (kept, gone) = (&rows[0], &rows[1]);
    let result = choices.apply(kept, gone)?;
    db::users::lock_accounts_of(&mut tx, db.engine, &[survivor, absorbed])
        .await
        .map_err(internal)?;
    let moved = db::users::merge_guids(&mut tx, survivor, absorbed, db::now_ms())
        .await
        .map_err(internal)?;
    db::users::set_guid_profile(&mut tx, survivor, &result)
        .await
        .map_err(internal)?;
    let entry = Entry::new("guid.merge", Outcome::Success)
        .target("guid", survivor)
        .details(json!({
            "survivor": survivor, "absorbed": absorbed, "moved_users": moved,
            "profiles": { "survivor": kept, "absorbed": gone, "result": result },
            "choices": choices,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    guid_view(db, survivor).await
}

/// Moves one account to another (existing, unmerged) GUID, or to a new GUID when `to` is `None`.
pub async fn relink(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    to: Option<&str>,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    // GUID rows before user rows, as in a merge.
    if let Some(g) = to {
        db::users::lock_guids(&mut tx, db.engine, &[g.trim()])
            .await
            .map_err(internal)?;
    }
    db::users::lock_users(&mut tx, db.engine, &[user_id])
        .await
        .map_err(internal)?;
    let user = db::users::get(&mut tx, user_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The user".into()))?;
    let now = db::now_ms();
    let target = match to.map(str::trim) {
        Some(g) => match db::users::guid_in_tx(&mut tx, g)
            .await
            .map_err(internal)?
            .map(|row| row.merged_into)
        {
            None => return Err(AppError::NotFound(format!("GUID {g}"))),
            Some(Some(into)) => {
                return Err(AppError::invalid(
                    "guid",
                    format!("GUID {g} was merged into {into}; link to that one."),
                ))
            }
            Some(None) if g == user.guid => {
                return Err(AppError::invalid(
                    "guid",
                    "The account is already linked to that GUID.",
                ))
            }
            Some(None) => g.to_string(),
        },
        None => {
            let g = new_guid();
            let profile = PersonProfile {
                display_name: Some(user.display_name.clone()),
                email: Some(user.email.clone()),
                phone: user.phone.clone(),
            };
            db::users::insert_guid(&mut tx, &g, now, &profile)
                .await
                .map_err(internal)?;
            g
        }
    };
    db::users::set_guid(&mut tx, user_id, &target, now)
        .await
        .map_err(internal)?;
    let action = if to.is_some() {
        "user.link"
    } else {
        "user.unlink"
    };
    let entry = Entry::new(action, Outcome::Success)
        .target("user", user_id)
        .details(json!({ "changes": { "guid": { "before": user.guid, "after": target } } }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db::users::get_pool(&db.pool, user_id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)
}
