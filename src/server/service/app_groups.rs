//! Applications assigned to groups: every member's person is assigned through the group for as
//! long as they are a member. Nothing is copied: "assigned" is read as "assigned directly, or
//! through a group of one of the person's accounts", so leaving a group ends the assignment
//! that came from it at once, and an assignment made directly stays.
use crate::model::apps::PersonApp;
use crate::model::groups::GroupSummary;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use serde_json::json;

/// A group by id, or by name among console groups, then any source's (the first by id).
async fn resolve_group(tx: &mut Tx, group: &str) -> Result<(String, String), AppError> {
    let group = group.trim();
    if group.is_empty() {
        return Err(AppError::invalid("group", "Give the group's name or id"));
    }
    let found = match db::groups::get(&mut **tx, group).await.map_err(internal)? {
        Some(g) => Some(g),
        None => match db::groups::id_by_any_name(tx, group)
            .await
            .map_err(internal)?
        {
            Some(id) => db::groups::get(&mut **tx, &id).await.map_err(internal)?,
            None => None,
        },
    };
    found
        .map(|g| (g.id, g.name))
        .ok_or_else(|| AppError::invalid("group", format!("No group has the name or id {group:?}")))
}

async fn app_exists(tx: &mut Tx, app_id: &str) -> Result<(), AppError> {
    db::apps::get_app(&mut **tx, app_id)
        .await
        .map_err(internal)?
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound("The application".into()))
}

/// Assigns every member of a group (by name or id) to the application.
pub async fn assign(
    db: &Db,
    auth: &Authorized,
    app_id: &str,
    group: &str,
) -> Result<Vec<GroupSummary>, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    app_exists(&mut tx, app_id).await?;
    let (group_id, name) = resolve_group(&mut tx, group).await?;
    if db::groups::assign_to_app(&mut tx, app_id, &group_id, db::now_ms())
        .await
        .map_err(internal)?
    {
        let entry = Entry::new("application.group.assign", Outcome::Success)
            .target("application", app_id)
            .details(json!({ "group": group_id, "group_name": name }));
        audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        db.keys_changed();
    }
    of_app(db, app_id).await
}

pub async fn unassign(
    db: &Db,
    auth: &Authorized,
    app_id: &str,
    group_id: &str,
) -> Result<Vec<GroupSummary>, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    app_exists(&mut tx, app_id).await?;
    let group_id = group_id.trim();
    if !db::groups::unassign_from_app(&mut tx, app_id, group_id)
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound(
            "That group's assignment to this application".into(),
        ));
    }
    let entry = Entry::new("application.group.unassign", Outcome::Success)
        .target("application", app_id)
        .details(json!({ "group": group_id }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    of_app(db, app_id).await
}

pub async fn of_app(db: &Db, app_id: &str) -> Result<Vec<GroupSummary>, AppError> {
    db::groups::of_app(&db.pool, app_id).await.map_err(internal)
}

/// The applications a person may use, each with why: directly, and through which groups.
pub async fn of_person(db: &Db, guid: &str) -> Result<Vec<PersonApp>, AppError> {
    let apps = db::apps::apps_of_guid(&db.pool, guid)
        .await
        .map_err(internal)?;
    let grants = db::groups::app_grants_of_person(&db.pool, guid)
        .await
        .map_err(internal)?;
    Ok(apps
        .into_iter()
        .map(|(app, direct)| {
            let through_groups = grants
                .iter()
                .filter(|(a, _, _)| *a == app.id)
                .map(|(_, id, name)| (id.clone(), name.clone()))
                .collect();
            PersonApp {
                app,
                direct,
                through_groups,
            }
        })
        .collect())
}
