//! Groups: the rules. Each change runs in one transaction with its audit record. Groups made in
//! the console (or through the management API) are changed there; a group owned by a
//! provisioning source is read-only everywhere but at that source.
use crate::model::groups::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, groups::GroupRow, Db, Tx};
use crate::server::internal;
use crate::server::service::group_writes as writes;

pub const PAGE_SIZE: i64 = 50;
pub const MEMBER_PAGE_SIZE: i64 = 100;

/// A group's fields after parsing.
struct Valid {
    name: String,
    description: String,
}

/// Parses every field and reports every problem at once, by field.
fn parse_input(input: &GroupInput) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push(("name".into(), "Name is required".into()));
    } else if name.chars().count() > MAX_GROUP_NAME {
        errors.push((
            "name".into(),
            format!("Name is longer than {MAX_GROUP_NAME} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(("name".into(), "Name contains control characters".into()));
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_GROUP_DESCRIPTION {
        errors.push((
            "description".into(),
            format!("Description is longer than {MAX_GROUP_DESCRIPTION} characters"),
        ));
    } else if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push((
            "description".into(),
            "Description contains control characters".into(),
        ));
    }
    if errors.is_empty() {
        Ok(Valid { name, description })
    } else {
        Err(AppError::Fields(errors))
    }
}

pub async fn create(
    db: &Db,
    auth: &Authorized,
    input: &GroupInput,
) -> Result<GroupDetail, AppError> {
    let v = parse_input(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let id = writes::new_group_id();
    let row = GroupRow {
        id: &id,
        name: &v.name,
        description: &v.description,
        source: writes::writer(auth),
        external_id: None,
        now: db::now_ms(),
    };
    let created = writes::insert(&mut tx, auth, &row).await?;
    tx.commit().await.map_err(internal)?;
    Ok(created)
}

pub async fn update(
    db: &Db,
    auth: &Authorized,
    id: &str,
    version: i64,
    input: &GroupInput,
) -> Result<GroupDetail, AppError> {
    let v = parse_input(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = writes::load(&mut tx, id).await?;
    let row = GroupRow {
        id,
        name: &v.name,
        description: &v.description,
        source: &before.source,
        external_id: before.external_id.as_deref(),
        now: db::now_ms(),
    };
    match writes::update(&mut tx, auth, &before, &row, version).await? {
        Some(after) => {
            tx.commit().await.map_err(internal)?;
            Ok(after)
        }
        None => Ok(before), // nothing changed: the transaction is dropped, nothing written
    }
}

/// Deletes the group and its memberships (the users stay).
pub async fn delete(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = writes::load(&mut tx, id).await?;
    writes::delete(&mut tx, auth, &before).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed(); // applications assigned through the group no longer are
    Ok(())
}

/// A user id from a user id or an account's email.
async fn resolve_user(tx: &mut Tx, who: &str) -> Result<(String, String), AppError> {
    let who = who.trim();
    if who.is_empty() {
        return Err(AppError::invalid(
            "user",
            "Give the account's email or user id",
        ));
    }
    let id = if who.contains('@') {
        db::users::id_by_email(tx, &who.to_lowercase())
            .await
            .map_err(internal)?
    } else {
        Some(who.to_string())
    };
    let user = match id {
        Some(id) => db::users::get(tx, &id).await.map_err(internal)?,
        None => None,
    };
    let user = user.ok_or_else(|| {
        AppError::invalid(
            "user",
            format!("No account has the email or user id {who:?}"),
        )
    })?;
    Ok((user.id, user.display_name.to_lowercase()))
}

/// Adds an account (by email or user id) to a group of the caller's source.
pub async fn add_member(
    db: &Db,
    auth: &Authorized,
    id: &str,
    who: &str,
) -> Result<GroupDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let group = writes::load(&mut tx, id).await?;
    writes::may_change(auth, &group)?;
    let (user_id, sort_name) = resolve_user(&mut tx, who).await?;
    if !writes::add_member(&mut tx, auth, &group, &user_id, &sort_name).await? {
        return Ok(group); // already a member: nothing to write
    }
    let after = writes::load(&mut tx, id).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed(); // a personal key refused as unassigned may now be valid
    Ok(after)
}

pub async fn remove_member(
    db: &Db,
    auth: &Authorized,
    id: &str,
    user_id: &str,
) -> Result<GroupDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let group = writes::load(&mut tx, id).await?;
    if !writes::remove_member(&mut tx, auth, &group, user_id.trim()).await? {
        return Err(AppError::NotFound("That member of this group".into()));
    }
    let after = writes::load(&mut tx, id).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed(); // an application assigned through the group may no longer be
    Ok(after)
}

pub async fn get(db: &Db, id: &str) -> Result<GroupDetail, AppError> {
    db::groups::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The group".into()))
}

/// `key|id` cursors: the key is a lowercase name, which may itself hold `|`.
fn cursor(after: &str) -> Option<(String, String)> {
    after
        .rsplit_once('|')
        .map(|(k, id)| (k.to_string(), id.to_string()))
}

pub async fn list(db: &Db, query: &GroupQuery) -> Result<GroupPage, AppError> {
    let q = query.q.trim().to_lowercase();
    if q.starts_with("grp_") && q.len() == 36 {
        let found = db::groups::get(&db.pool, &q).await.map_err(internal)?;
        return Ok(GroupPage {
            groups: found
                .into_iter()
                .map(|g| GroupSummary {
                    id: g.id,
                    name: g.name,
                    description: g.description,
                    source: g.source,
                    member_count: g.member_count,
                })
                .collect(),
            next: None,
        });
    }
    let source = query.source.trim().to_lowercase();
    let prefix = (!q.is_empty()).then_some(q.as_str());
    let source = (!source.is_empty()).then_some(source.as_str());
    let mut rows = db::groups::page(
        &db.pool,
        prefix,
        source,
        cursor(&query.after),
        PAGE_SIZE + 1,
    )
    .await
    .map_err(internal)?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|(g, key)| format!("{key}|{}", g.id))
    } else {
        None
    };
    Ok(GroupPage {
        groups: rows.into_iter().map(|(g, _)| g).collect(),
        next,
    })
}

/// One page of members in name order (`limit` at most 200).
pub async fn members(db: &Db, id: &str, after: &str, limit: i64) -> Result<MemberPage, AppError> {
    get(db, id).await?;
    let limit = limit.clamp(1, 200);
    let mut rows = db::groups::members(&db.pool, id, cursor(after), limit + 1)
        .await
        .map_err(internal)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|(m, key)| format!("{key}|{}", m.user_id))
    } else {
        None
    };
    Ok(MemberPage {
        members: rows.into_iter().map(|(m, _)| m).collect(),
        next,
    })
}

pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<Membership>, AppError> {
    db::groups::of_user(&db.pool, user_id)
        .await
        .map_err(internal)
}

pub async fn of_person(db: &Db, guid: &str) -> Result<Vec<Membership>, AppError> {
    db::groups::of_person(&db.pool, guid)
        .await
        .map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = GroupInput {
            name: " ".into(),
            description: "x".repeat(MAX_GROUP_DESCRIPTION + 1),
        };
        let Err(AppError::Fields(errors)) = parse_input(&input) else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "description"]);
    }

    #[test]
    fn names_are_trimmed_and_control_characters_refused() {
        let ok = parse_input(&GroupInput {
            name: "  Engineering ".into(),
            description: "Line one\nline two".into(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.name, "Engineering");
        assert!(parse_input(&GroupInput {
            name: "Eng\u{7}".into(),
            description: String::new(),
        })
        .is_err());
    }

    #[test]
    fn a_cursor_keeps_a_bar_inside_the_name() {
        assert_eq!(
            cursor("a|b|grp_1"),
            Some(("a|b".to_string(), "grp_1".to_string()))
        );
        assert_eq!(cursor(""), None);
    }
}
