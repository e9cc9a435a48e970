//! SQL for groups and their members.
use super::users::Arg;
use super::Tx;
use crate::model::groups::{GroupDetail, GroupMember, GroupSummary, Membership};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};

/// A group's own fields as written by the service (already validated).
pub struct GroupRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub source: &'a str,
    pub external_id: Option<&'a str>,
    pub now: i64,
}

const DETAIL: &str =
    "id, name, description, source, external_id, member_count, created_at, updated_at, version";
const SUMMARY: &str = "g.id, g.name, g.name_key, g.description, g.source, g.member_count";

fn detail(r: &AnyRow) -> Result<GroupDetail, sqlx::Error> {
    Ok(GroupDetail {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        source: r.try_get("source")?,
        external_id: r.try_get("external_id")?,
        member_count: r.try_get("member_count")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

fn summary(r: &AnyRow) -> Result<GroupSummary, sqlx::Error> {
    Ok(GroupSummary {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        source: r.try_get("source")?,
        member_count: r.try_get("member_count")?,
    })
}

pub async fn insert(tx: &mut Tx, g: &GroupRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO directory_groups (id, name, name_key, description, source, external_id, member_count, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, 1)",
    )
    .bind(g.id)
    .bind(g.name)
    .bind(g.name.to_lowercase())
    .bind(g.description)
    .bind(g.source)
    .bind(g.external_id)
    .bind(g.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes new values if the row is still at `version`; false when someone changed it meanwhile.
pub async fn update(tx: &mut Tx, g: &GroupRow<'_>, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE directory_groups SET name = $2, name_key = $3, description = $4, external_id = $5, \
         updated_at = $6, version = version + 1 WHERE id = $1 AND version = $7",
    )
    .bind(g.id)
    .bind(g.name)
    .bind(g.name.to_lowercase())
    .bind(g.description)
    .bind(g.external_id)
    .bind(g.now)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    let updated = done.rows_affected() == 1;
    if updated {
        // Its name is the Group's displayName in the targets that send it.
        super::outbox::group_changed(tx, g.id, g.now).await?;
    }
    Ok(updated)
}

/// Removes the group and its memberships.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let now = super::now_ms();
    super::outbox::group_dissolving(tx, id, now).await?;
    // While its assignments still say which targets send it: the Group is deleted there.
    super::outbox::group_changed(tx, id, now).await?;
    for sql in [
        "DELETE FROM group_members WHERE group_id = $1",
        "DELETE FROM app_group_assignments WHERE group_id = $1",
        "DELETE FROM directory_groups WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> Result<Option<GroupDetail>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DETAIL} FROM directory_groups WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    row.as_ref().map(detail).transpose()
}

/// The group of `source` with this name (compared without case), if any.
pub async fn id_by_name(
    tx: &mut Tx,
    source: &str,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM directory_groups WHERE source = $1 AND name_key = $2")
        .bind(source)
        .bind(name.to_lowercase())
        .fetch_optional(&mut **tx)
        .await
}

/// A group with this name (without case): a console group first, else the first by id.
pub async fn id_by_any_name(tx: &mut Tx, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM directory_groups WHERE name_key = $1 \
         ORDER BY CASE WHEN source = 'console' THEN 0 ELSE 1 END, id LIMIT 1",
    )
    .bind(name.to_lowercase())
    .fetch_optional(&mut **tx)
    .await
}

/// One keyset page ordered by name. `prefix` matches the start of the name (lowercase).
pub async fn page(
    pool: &AnyPool,
    prefix: Option<&str>,
    source: Option<&str>,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(GroupSummary, String)>, sqlx::Error> {
    let mut sql = format!("SELECT {SUMMARY} FROM directory_groups g WHERE 1 = 1");
    let mut args = Vec::new();
    if let Some(p) = prefix {
        args.push(Arg::Text(p.to_string()));
        args.push(Arg::Text(format!("{p}\u{10FFFF}")));
        sql.push_str(&format!(
            " AND g.name_key >= ${} AND g.name_key < ${}",
            args.len() - 1,
            args.len()
        ));
    }
    if let Some(s) = source {
        args.push(Arg::Text(s.to_string()));
        sql.push_str(&format!(" AND g.source = ${}", args.len()));
    }
    if let Some((key, id)) = after {
        args.push(Arg::Text(key));
        args.push(Arg::Text(id));
        sql.push_str(&format!(
            " AND (g.name_key, g.id) > (${}, ${})",
            args.len() - 1,
            args.len()
        ));
    }
    args.push(Arg::Int(limit));
    sql.push_str(&format!(" ORDER BY g.name_key, g.id LIMIT ${}", args.len()));
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| Ok((summary(r)?, r.try_get::<String, _>("name_key")?)))
        .collect()
}

/// Adds a member; false when they already were one. Keeps the count and the version.
pub async fn add_member(
    tx: &mut Tx,
    group_id: &str,
    user_id: &str,
    sort_name: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, user_id, sort_name, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(sort_name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let added = done.rows_affected() == 1;
    if added {
        count_change(tx, group_id, 1, now).await?;
        super::outbox::user_changed(tx, user_id, now).await?;
        super::outbox::group_changed(tx, group_id, now).await?;
    }
    Ok(added)
}

/// Removes a member; false when they were not one.
pub async fn remove_member(
    tx: &mut Tx,
    group_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let removed = done.rows_affected() == 1;
    if removed {
        count_change(tx, group_id, -1, now).await?;
        super::outbox::user_changed(tx, user_id, now).await?;
        super::outbox::group_changed(tx, group_id, now).await?;
    }
    Ok(removed)
}

async fn count_change(tx: &mut Tx, group_id: &str, by: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE directory_groups SET member_count = member_count + $2, updated_at = $3, \
         version = version + 1 WHERE id = $1",
    )
    .bind(group_id)
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps the members' sort names in step with a renamed user.
pub async fn rename_member(tx: &mut Tx, user_id: &str, sort_name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE group_members SET sort_name = $2 WHERE user_id = $1 AND sort_name <> $2")
        .bind(user_id)
        .bind(sort_name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One keyset page of members in name order; each carries its cursor key (sort name).
pub async fn members(
    pool: &AnyPool,
    group_id: &str,
    after: Option<(String, String)>,
    limit: i64,
) -> Result<Vec<(GroupMember, String)>, sqlx::Error> {
    let (key, id) = after.unwrap_or_default();
    let rows = sqlx::query(
        "SELECT m.user_id, m.sort_name, m.added_at, u.email, u.display_name, u.status \
         FROM group_members m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND (m.sort_name, m.user_id) > ($2, $3) \
         ORDER BY m.sort_name, m.user_id LIMIT $4",
    )
    .bind(group_id)
    .bind(key)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                GroupMember {
                    user_id: r.try_get("user_id")?,
                    email: r.try_get("email")?,
                    display_name: r.try_get("display_name")?,
                    status: r.try_get("status")?,
                    added_at: r.try_get("added_at")?,
                },
                r.try_get::<String, _>("sort_name")?,
            ))
        })
        .collect()
}

/// Whether the user is a member of the group.
pub async fn is_member(tx: &mut Tx, group_id: &str, user_id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// The groups of one account (`column` = `m.user_id`) or of every account of a person
/// (`u.guid_id`), by group name.
async fn memberships(
    pool: &AnyPool,
    column: &str,
    value: &str,
) -> Result<Vec<Membership>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {SUMMARY}, m.user_id, m.added_at, u.email FROM group_members m \
         JOIN directory_groups g ON g.id = m.group_id JOIN users u ON u.id = m.user_id \
         WHERE {column} = $1 ORDER BY g.name_key, g.id, u.email LIMIT 500"
    ))
    .bind(value)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Membership {
                group: summary(r)?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                added_at: r.try_get("added_at")?,
            })
        })
        .collect()
}

pub async fn of_user(pool: &AnyPool, user_id: &str) -> Result<Vec<Membership>, sqlx::Error> {
    memberships(pool, "m.user_id", user_id).await
}

pub async fn of_person(pool: &AnyPool, guid: &str) -> Result<Vec<Membership>, sqlx::Error> {
    memberships(pool, "u.guid_id", guid).await
}

// --- applications assigned to groups: every member's person is assigned through the group ---

/// Assigns the group to the application; false when it already was.
pub async fn assign_to_app(
    tx: &mut Tx,
    app_id: &str,
    group_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO app_group_assignments (application_id, group_id, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (application_id, group_id) DO NOTHING",
    )
    .bind(app_id)
    .bind(group_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::outbox::group_changed_for_app(tx, app_id, group_id, now).await?;
    super::outbox::group_for_app(tx, app_id, group_id, now).await?;
    Ok(true)
}

pub async fn unassign_from_app(
    tx: &mut Tx,
    app_id: &str,
    group_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM app_group_assignments WHERE application_id = $1 AND group_id = $2",
    )
    .bind(app_id)
    .bind(group_id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let now = super::now_ms();
    super::outbox::group_changed_for_app(tx, app_id, group_id, now).await?;
    super::outbox::group_for_app(tx, app_id, group_id, now).await?;
    Ok(true)
}

/// The groups assigned to an application, by name.
pub async fn of_app(pool: &AnyPool, app_id: &str) -> Result<Vec<GroupSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {SUMMARY} FROM app_group_assignments s JOIN directory_groups g ON g.id = s.group_id \
         WHERE s.application_id = $1 ORDER BY g.name_key, g.id LIMIT 500"
    ))
    .bind(app_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(summary).collect()
}

/// Why a person is assigned to each application: `(application id, group id, group name)` for
/// every group of one of the person's accounts that is assigned to an application.
pub async fn app_grants_of_person(
    pool: &AnyPool,
    guid: &str,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT s.application_id, g.id, g.name FROM users u \
         JOIN group_members m ON m.user_id = u.id \
         JOIN app_group_assignments s ON s.group_id = m.group_id \
         JOIN directory_groups g ON g.id = m.group_id \
         WHERE u.guid_id = $1 ORDER BY s.application_id, g.name LIMIT 1000",
    )
    .bind(guid)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

// --- SCIM: a source's groups found by the attributes its clients look them up by ---

/// One page (1-based `start`) of a source's groups, by id, where each given field matches
/// exactly (`name` without case), and how many match in all.
pub async fn scim_page(
    pool: &AnyPool,
    source: &str,
    wanted: &[(&str, String)],
    start: i64,
    count: i64,
) -> Result<(i64, Vec<GroupDetail>), sqlx::Error> {
    let mut sql = String::from("FROM directory_groups WHERE source = $1");
    let mut args = vec![source.to_string()];
    for (field, value) in wanted {
        let column = match *field {
            "name" => "name_key",
            "external_id" => "external_id",
            _ => "id",
        };
        args.push(if *field == "name" {
            value.to_lowercase()
        } else {
            value.clone()
        });
        sql.push_str(&format!(" AND {column} = ${}", args.len()));
    }
    let count_sql = format!("SELECT COUNT(*) {sql}");
    let mut q = sqlx::query_scalar::<_, i64>(&count_sql);
    for a in &args {
        q = q.bind(a.clone());
    }
    let total = q.fetch_one(pool).await?;
    let n = args.len();
    let page_sql = format!(
        "SELECT {DETAIL} {sql} ORDER BY id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(&page_sql);
    for a in args {
        q = q.bind(a);
    }
    let rows = q
        .bind(count)
        .bind((start - 1).max(0))
        .fetch_all(pool)
        .await?;
    Ok((total, rows.iter().map(detail).collect::<Result<_, _>>()?))
}

/// The user ids of every member of a group, in name order (the members index).
pub async fn all_members(pool: &AnyPool, group_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY sort_name, user_id",
    )
    .bind(group_id)
    .fetch_all(pool)
    .await
}

/// The ids of every member of a group, inside the caller's transaction.
pub async fn member_ids(tx: &mut Tx, group_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
        .bind(group_id)
        .fetch_all(&mut **tx)
        .await
}
