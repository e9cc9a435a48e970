//! SCIM Groups: a provisioning source's own groups and their members, each request one
//! transaction through the group writes the console uses (`group_writes`), with the source as
//! the actor. Members must be accounts of the same source.
use crate::model::groups::GroupDetail;
use crate::model::sources::SourceDetail;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, groups::GroupRow, Db, Tx};
use crate::server::internal;
use crate::server::service::group_writes as writes;
use std::collections::BTreeSet;

/// What a request asks of a group: fields to set and members to add or remove.
#[derive(Debug, Default)]
pub struct GroupChange {
    pub name: Option<String>,
    /// `Some(None)` clears the external id.
    pub external_id: Option<Option<String>>,
    /// Replace the members with exactly these.
    pub members: Option<Vec<String>>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// Remove every member (before `add`).
    pub remove_all: bool,
}

fn missing() -> AppError {
    AppError::NotFound("The group".into())
}

async fn load_own(tx: &mut Tx, source: &SourceDetail, id: &str) -> Result<GroupDetail, AppError> {
    match db::groups::get(&mut **tx, id).await.map_err(internal)? {
        Some(g) if g.source == source.id => Ok(g),
        _ => Err(missing()),
    }
}

pub async fn get(db: &Db, source: &SourceDetail, id: &str) -> Result<GroupDetail, AppError> {
    match db::groups::get(&db.pool, id).await.map_err(internal)? {
        Some(g) if g.source == source.id => Ok(g),
        _ => Err(missing()),
    }
}

/// A member: a live account of the same source; returns its sort name.
async fn member_of_source(
    tx: &mut Tx,
    source: &SourceDetail,
    user_id: &str,
) -> Result<String, AppError> {
    match db::users::get(tx, user_id).await.map_err(internal)? {
        Some(u) if u.source == source.id && u.status != UserStatus::Deprovisioned => {
            Ok(u.display_name.to_lowercase())
        }
        _ => Err(AppError::invalid(
            "members",
            format!(
                "No user {user_id} of this source: provision the user before adding it to a group"
            ),
        )),
    }
}

fn valid_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > crate::model::groups::MAX_GROUP_NAME
        || name.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "displayName",
            "displayName is required, at most 200 characters without control characters",
        ));
    }
    Ok(name.to_string())
}

/// Applies the member changes: removals first, then additions (each audited once).
async fn apply_members(
    tx: &mut Tx,
    auth: &Authorized,
    source: &SourceDetail,
    group: &GroupDetail,
    change: &GroupChange,
) -> Result<bool, AppError> {
    let mut changed = false;
    let current: BTreeSet<String> = db::groups::member_ids(tx, &group.id)
        .await
        .map_err(internal)?
        .into_iter()
        .collect();
    let (mut remove, mut add): (BTreeSet<String>, BTreeSet<String>) =
        (BTreeSet::new(), BTreeSet::new());
    if let Some(wanted) = &change.members {
        let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
        remove.extend(current.difference(&wanted).cloned());
        add.extend(wanted.difference(&current).cloned());
    }
    if change.remove_all {
        remove.extend(current.iter().cloned());
    }
    remove.extend(
        change
            .remove
            .iter()
            .filter(|id| current.contains(*id))
            .cloned(),
    );
    add.extend(change.add.iter().cloned());
    for id in &remove {
        if !add.contains(id) {
            changed |= writes::remove_member(tx, auth, group, id).await?;
        }
    }
    for id in &add {
        if current.contains(id) && !remove.contains(id) {
            continue;
        }
        let sort_name = member_of_source(tx, source, id).await?;
        changed |= writes::add_member(tx, auth, group, id, &sort_name).await?;
    }
    Ok(changed)
}

pub async fn create(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    change: &GroupChange,
) -> Result<GroupDetail, AppError> {
    let name = valid_name(change.name.as_deref().unwrap_or(""))?;
    let external_id = change.external_id.clone().flatten();
    let mut tx = db.begin_write().await.map_err(internal)?;
    let id = writes::new_group_id();
    let row = GroupRow {
        id: &id,
        name: &name,
        description: "",
        source: &source.id,
        external_id: external_id.as_deref(),
        now: db::now_ms(),
    };
    let created = writes::insert(&mut tx, auth, &row).await?;
    apply_members(&mut tx, auth, source, &created, change).await?;
    db::sources::count_change(&mut tx, &source.id, "creates", db::now_ms())
        .await
        .map_err(internal)?;
    let after = writes::load(&mut tx, &id).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(after)
}

/// Changes a group (PUT and PATCH), against `version` when the client sent `If-Match`.
pub async fn change(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    id: &str,
    version: Option<i64>,
    change: &GroupChange,
) -> Result<GroupDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load_own(&mut tx, source, id).await?;
    if version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(
            "The group changed since that version".into(),
        ));
    }
    let mut changed = false;
    if change.name.is_some() || change.external_id.is_some() {
        let name = match &change.name {
            Some(n) => valid_name(n)?,
            None => before.name.clone(),
        };
        let external_id = match &change.external_id {
            Some(e) => e.clone(),
            None => before.external_id.clone(),
        };
        let row = GroupRow {
            id,
            name: &name,
            description: &before.description,
            source: &source.id,
            external_id: external_id.as_deref(),
            now: db::now_ms(),
        };
        changed |= writes::update(&mut tx, auth, &before, &row, before.version)
            .await?
            .is_some();
    }
    let current = writes::load(&mut tx, id).await?;
    changed |= apply_members(&mut tx, auth, source, &current, change).await?;
    if !changed {
        return Ok(before);
    }
    db::sources::count_change(&mut tx, &source.id, "updates", db::now_ms())
        .await
        .map_err(internal)?;
    let after = writes::load(&mut tx, id).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(after)
}

pub async fn delete(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load_own(&mut tx, source, id).await?;
    writes::delete(&mut tx, auth, &before).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(())
}

/// One page of the source's groups where each `(field, value)` matches exactly.
pub async fn list(
    db: &Db,
    source: &SourceDetail,
    wanted: &[(&str, String)],
    start: i64,
    count: i64,
) -> Result<(i64, Vec<GroupDetail>), AppError> {
    db::groups::scim_page(&db.pool, &source.id, wanted, start, count)
        .await
        .map_err(internal)
}

pub async fn members(db: &Db, id: &str) -> Result<Vec<String>, AppError> {
    db::groups::all_members(&db.pool, id)
        .await
        .map_err(internal)
}
