//! The writes of groups inside a caller's transaction, each with its audit record: the console,
//! the management API and SCIM all change groups through these, so the rule of who may change
//! a group and the audit records cannot differ between them.
use crate::model::groups::{GroupDetail, CONSOLE_SOURCE};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, groups::GroupRow, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use serde_json::{json, Value};

/// The source a caller writes as: a provisioning source (`scim:<id>`), else the console.
pub(crate) fn writer(auth: &Authorized) -> &str {
    auth.principal
        .subject
        .strip_prefix("scim:")
        .unwrap_or(CONSOLE_SOURCE)
}

/// A group is changed only by its own source: the console's by the console (and the API), a
/// provisioning source's by that source.
pub(crate) fn may_change(auth: &Authorized, g: &GroupDetail) -> Result<(), AppError> {
    if g.source == writer(auth) {
        Ok(())
    } else if writer(auth) != CONSOLE_SOURCE {
        Err(AppError::NotFound("The group".into())) // a source sees only its own groups
    } else {
        Err(AppError::Conflict(format!(
            "The group {} is provisioned by the source {}; change it there (here it is read-only)",
            g.name, g.source
        )))
    }
}

pub(crate) fn snapshot(g: &GroupDetail) -> Value {
    json!({ "name": g.name, "description": g.description, "source": g.source, "external_id": g.external_id })
}

pub(crate) async fn load(tx: &mut Tx, id: &str) -> Result<GroupDetail, AppError> {
    db::groups::get(&mut **tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The group".into()))
}

async fn write_audit(
    tx: &mut Tx,
    auth: &Authorized,
    action: &str,
    id: &str,
    details: Value,
) -> Result<(), AppError> {
    let entry = Entry::new(action, Outcome::Success)
        .target("group", id)
        .details(details);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(())
}

/// Refuses a name another group of the same source has (compared without case).
pub(crate) async fn name_is_free(
    tx: &mut Tx,
    source: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), AppError> {
    match db::groups::id_by_name(tx, source, name)
        .await
        .map_err(internal)?
    {
        Some(other) if Some(other.as_str()) != except => Err(AppError::Fields(vec![(
            "name".into(),
            format!("Name {name} is already used by another group"),
        )])),
        _ => Ok(()),
    }
}

pub(crate) fn new_group_id() -> String {
    format!("grp_{}", uuid::Uuid::new_v4().simple())
}

/// Writes a new group of the caller's source.
pub(crate) async fn insert(
    tx: &mut Tx,
    auth: &Authorized,
    row: &GroupRow<'_>,
) -> Result<GroupDetail, AppError> {
    name_is_free(tx, row.source, row.name, None).await?;
    db::groups::insert(tx, row).await.map_err(internal)?;
    let created = load(tx, row.id).await?;
    write_audit(
        tx,
        auth,
        "group.create",
        row.id,
        json!({ "after": snapshot(&created) }),
    )
    .await?;
    Ok(created)
}

/// Writes new fields over `before` (at its version); `None` when nothing changed.
pub(crate) async fn update(
    tx: &mut Tx,
    auth: &Authorized,
    before: &GroupDetail,
    row: &GroupRow<'_>,
    version: i64,
) -> Result<Option<GroupDetail>, AppError> {
    may_change(auth, before)?;
    name_is_free(tx, &before.source, row.name, Some(&before.id)).await?;
    if !db::groups::update(tx, row, version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(
            "This group was changed by someone else since you opened it. Reload to see their changes, then make yours again.".into(),
        ));
    }
    let after = load(tx, &before.id).await?;
    let diff = crate::server::service::users::changes(&snapshot(before), &snapshot(&after));
    if diff.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(None);
    }
    write_audit(
        tx,
        auth,
        "group.update",
        &before.id,
        json!({ "changes": diff }),
    )
    .await?;
    Ok(Some(after))
}

pub(crate) async fn delete(
    tx: &mut Tx,
    auth: &Authorized,
    before: &GroupDetail,
) -> Result<(), AppError> {
    may_change(auth, before)?;
    db::groups::delete(tx, &before.id).await.map_err(internal)?;
    write_audit(
        tx,
        auth,
        "group.delete",
        &before.id,
        json!({ "before": snapshot(before), "members": before.member_count }),
    )
    .await
}

/// Adds a member; false (and nothing written) when they already were one.
pub(crate) async fn add_member(
    tx: &mut Tx,
    auth: &Authorized,
    group: &GroupDetail,
    user_id: &str,
    sort_name: &str,
) -> Result<bool, AppError> {
    may_change(auth, group)?;
    if !db::groups::add_member(tx, &group.id, user_id, sort_name, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Ok(false);
    }
    write_audit(
        tx,
        auth,
        "group.member.add",
        &group.id,
        json!({ "user": user_id }),
    )
    .await?;
    Ok(true)
}

/// Removes a member; false (and nothing written) when they were not one.
pub(crate) async fn remove_member(
    tx: &mut Tx,
    auth: &Authorized,
    group: &GroupDetail,
    user_id: &str,
) -> Result<bool, AppError> {
    may_change(auth, group)?;
    if !db::groups::remove_member(tx, &group.id, user_id, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Ok(false);
    }
    write_audit(
        tx,
        auth,
        "group.member.remove",
        &group.id,
        json!({ "user": user_id }),
    )
    .await?;
    Ok(true)
}
