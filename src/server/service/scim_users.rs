//! SCIM Users: what a provisioning source may do to its own accounts. Each request is one
//! transaction through the same user rules and audit records as the console (`service::users`),
//! with the source as the actor, and the source's counters kept in that transaction.
//! `active=false` suspends, `DELETE` deprovisions (into the restore window).
use crate::model::sources::SourceDetail;
use crate::model::users::{UserDetail, UserStatus};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db, Tx};
use crate::server::internal;
use crate::server::scim::user_resource::{from_scim, Incoming};
use crate::server::service::users::{self, Valid};
use serde_json::json;

fn missing() -> AppError {
    AppError::NotFound("The user".into())
}

/// The source's live account `id` (another source's, or a deprovisioned one, is not found).
async fn load(tx: &mut Tx, source: &SourceDetail, id: &str) -> Result<UserDetail, AppError> {
    match db::users::get(tx, id).await.map_err(internal)? {
        Some(u) if u.source == source.id && u.status != UserStatus::Deprovisioned => Ok(u),
        _ => Err(missing()),
    }
}

pub async fn get(db: &Db, source: &SourceDetail, id: &str) -> Result<UserDetail, AppError> {
    match db::users::get_pool(&db.pool, id).await.map_err(internal)? {
        Some(u) if u.source == source.id && u.status != UserStatus::Deprovisioned => Ok(u),
        _ => Err(missing()),
    }
}

/// The status `active` asks for, from the current one (a lockout is not a deactivation).
fn wanted_status(current: UserStatus, active: bool) -> UserStatus {
    match (current, active) {
        (UserStatus::Locked, true) => UserStatus::Locked,
        (_, true) => UserStatus::Active,
        (_, false) => UserStatus::Suspended,
    }
}

/// Keeps the current values of what the source does not own.
fn keep_unowned(incoming: &mut Incoming, before: &UserDetail, owned: &[String]) {
    let owns = |a: &str| owned.iter().any(|o| o == a);
    let input = &mut incoming.input;
    if !owns("userName") {
        input.email = before.email.clone();
    }
    if !owns("name") {
        input.display_name = before.display_name.clone();
        input.given_name = before.given_name.clone().unwrap_or_default();
        input.family_name = before.family_name.clone().unwrap_or_default();
    }
    if !owns("phoneNumbers") {
        input.phone = before.phone.clone().unwrap_or_default();
    }
    if !owns("active") {
        incoming.active = matches!(before.status, UserStatus::Active | UserStatus::Locked);
    }
}

fn valid(incoming: &Incoming) -> Result<Valid, AppError> {
    users::parse_input(&incoming.input)
}

/// Claims and checks the unique values: the email and external id as for every account, and
/// the userName (RFC 7643: unique across the service provider), which is the email unless the
/// client named the account otherwise.
async fn claim(db: &Db, tx: &mut Tx, v: &Valid, except: Option<&str>) -> Result<(), AppError> {
    let user_name = v.user_name.as_deref().unwrap_or(v.email.as_str());
    let mut keys = users::unique_keys(v);
    keys.push(format!("user_name:{user_name}"));
    db::users::claim_unique_values(tx, db.engine, &keys)
        .await
        .map_err(internal)?;
    users::check_unique(tx, v, except).await?;
    let holders = db::sources::ids_by_user_name(tx, user_name)
        .await
        .map_err(internal)?;
    if holders.iter().any(|id| Some(id.as_str()) != except) {
        return Err(AppError::Fields(vec![(
            "userName".into(),
            format!("userName {user_name} is already used by another user"),
        )]));
    }
    Ok(())
}

/// Provisions a new account. Its person is a new GUID: matching rules link it to an existing
/// person only when the source has one (`match_rule`), never silently otherwise.
pub async fn create(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    body: &serde_json::Value,
) -> Result<UserDetail, AppError> {
    let incoming = from_scim(body, &source.id, None)?;
    let v = valid(&incoming)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    claim(db, &mut tx, &v, None).await?;
    let status = if incoming.active {
        UserStatus::Active
    } else {
        UserStatus::Suspended
    };
    let created = match person_to_link(&mut tx, source, &v).await? {
        Some(guid) => {
            let matched = json!({ "rule": source.match_rule, "guid": guid });
            let via = json!({ "via_source": source.id, "matched": matched });
            users::insert_for_person(&mut tx, auth, &v, status, &guid, via).await?
        }
        None => {
            let via = json!({ "via_source": source.id });
            users::insert_new(&mut tx, auth, &v, status, via).await?
        }
    };
    db::sources::count_change(&mut tx, &source.id, "creates", db::now_ms())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(created)
}

/// The person the source's matching rule links a new account to: one person only, never a
/// guess between several (they stay duplicate candidates for an administrator to merge).
async fn person_to_link(
    tx: &mut Tx,
    source: &SourceDetail,
    v: &Valid,
) -> Result<Option<String>, AppError> {
    let (rule, Some(number)) = (source.match_rule.as_str(), &v.employee_number) else {
        return Ok(None);
    };
    if rule != "employee_number" {
        return Ok(None);
    }
    let people = db::sources::people_by_employee_number(tx, number, &source.id)
        .await
        .map_err(internal)?;
    Ok(match people.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// Writes the resource `body` over the account (PUT; PATCH builds the body first), against
/// `version` when the client sent `If-Match`.
pub async fn replace(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    id: &str,
    version: Option<i64>,
    body: &serde_json::Value,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load(&mut tx, source, id).await?;
    if version.is_some_and(|v| v != before.version) {
        return Err(AppError::Conflict(users::CONFLICT.into()));
    }
    let mut incoming = from_scim(body, &source.id, Some(&before.attributes))?;
    keep_unowned(&mut incoming, &before, &source.owned_attributes);
    let v = valid(&incoming)?;
    claim(db, &mut tx, &v, Some(id)).await?;
    let via = json!({ "via_source": source.id });
    let changed = users::write_update(&mut tx, auth, &before, &v, via).await?;
    let mut current = changed.clone().unwrap_or_else(|| before.clone());
    let to = wanted_status(current.status, incoming.active);
    let mut counter = changed.is_some().then_some("updates");
    if to != current.status {
        if current.status == UserStatus::Locked {
            users::apply_status(db, &mut tx, auth, &current, UserStatus::Active).await?;
            current = load(&mut tx, source, id).await?;
        }
        users::apply_status(db, &mut tx, auth, &current, to).await?;
        counter = Some(if to == UserStatus::Suspended {
            "deactivations"
        } else {
            "updates"
        });
    }
    let Some(counter) = counter else {
        return Ok(users::with_restore_window(db, before)); // nothing changed, nothing written
    };
    db::sources::count_change(&mut tx, &source.id, counter, db::now_ms())
        .await
        .map_err(internal)?;
    let after = load(&mut tx, source, id).await?;
    tx.commit().await.map_err(internal)?;
    Ok(users::with_restore_window(db, after))
}

/// DELETE: the account is deprovisioned (restorable in the console until the window ends).
pub async fn delete(
    db: &Db,
    auth: &Authorized,
    source: &SourceDetail,
    id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load(&mut tx, source, id).await?;
    users::apply_status(db, &mut tx, auth, &before, UserStatus::Deprovisioned).await?;
    db::sources::count_change(&mut tx, &source.id, "deactivations", db::now_ms())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// One page of the source's live accounts matching `filter` (a filter Gatehouse cannot answer
/// is the inner error, with its reason).
pub async fn list(
    db: &Db,
    source: &SourceDetail,
    filter: Option<&crate::server::scim::filter::Filter>,
    start_index: i64,
    count: i64,
) -> Result<Result<(i64, Vec<UserDetail>), db::scim_users::Unsupported>, AppError> {
    db::scim_users::page(&db.pool, &source.id, filter, start_index, count)
        .await
        .map_err(internal)
}
