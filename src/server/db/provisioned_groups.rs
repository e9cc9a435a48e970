//! SQL for the SCIM Groups Gatehouse makes in provisioning targets (groups out, issue 15): which
//! group a target should hold, its members' ids there, and the Groups already made.
use sqlx::AnyPool;

/// The group's name when the target's application is assigned the group (so the target sends
/// it); `None` when the group is gone or not assigned there.
pub async fn name_if_sent(
    pool: &AnyPool,
    app_id: &str,
    group_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT g.name FROM directory_groups g JOIN app_group_assignments ag ON ag.group_id = g.id \
         WHERE g.id = $1 AND ag.application_id = $2",
    )
    .bind(group_id)
    .bind(app_id)
    .fetch_optional(pool)
    .await
}

/// The target-side ids of a group's members whose person has an account there (several
/// accounts of one person in the group are one member), in a stable order.
pub async fn member_remote_ids(
    pool: &AnyPool,
    target_id: &str,
    group_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT p.remote_id FROM group_members m JOIN users u ON u.id = m.user_id \
         JOIN provisioned_accounts p ON p.target_id = $1 AND p.guid_id = u.guid_id \
         WHERE m.group_id = $2 ORDER BY p.remote_id",
    )
    .bind(target_id)
    .bind(group_id)
    .fetch_all(pool)
    .await
}

/// The groups of a person (through any of their accounts) whose Group Gatehouse already made
/// in the target: those must be sent again once the person's account is made there.
pub async fn made_groups_of_person(
    pool: &AnyPool,
    target_id: &str,
    guid: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT pg.group_id FROM provisioned_groups pg \
         JOIN group_members m ON m.group_id = pg.group_id JOIN users u ON u.id = m.user_id \
         WHERE pg.target_id = $1 AND u.guid_id = $2 ORDER BY pg.group_id",
    )
    .bind(target_id)
    .bind(guid)
    .fetch_all(pool)
    .await
}

/// The id there of the Group Gatehouse made for a group, if any.
pub async fn remote_id(
    pool: &AnyPool,
    target_id: &str,
    group_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT remote_id FROM provisioned_groups WHERE target_id = $1 AND group_id = $2",
    )
    .bind(target_id)
    .bind(group_id)
    .fetch_optional(pool)
    .await
}

pub async fn save(
    pool: &AnyPool,
    target_id: &str,
    group_id: &str,
    remote_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO provisioned_groups (target_id, group_id, remote_id, synced_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (target_id, group_id) DO UPDATE SET \
         remote_id = excluded.remote_id, synced_at = excluded.synced_at",
    )
    .bind(target_id)
    .bind(group_id)
    .bind(remote_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn forget(pool: &AnyPool, target_id: &str, group_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM provisioned_groups WHERE target_id = $1 AND group_id = $2")
        .bind(target_id)
        .bind(group_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// How many Groups Gatehouse made in a target (shown on the application page).
pub async fn count(pool: &AnyPool, target_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM provisioned_groups WHERE target_id = $1")
        .bind(target_id)
        .fetch_one(pool)
        .await
}
