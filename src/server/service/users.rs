//! Users and GUIDs: the rules. Each action runs in one transaction with its audit record.
use crate::model::users::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, users::UserRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use serde_json::{json, Value};

pub use super::guids::{guid_view, merge, relink};
pub use super::user_list::list;

/// A user's fields after parsing; bad input cannot get past `parse_input`.
pub(crate) struct Valid {
    pub(crate) email: ValidEmail,
    pub(crate) display_name: String,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) phone: Option<ValidPhone>,
    pub(crate) source: String,
    pub(crate) external_id: Option<String>,
    pub(crate) attributes: String,
    /// Read from `attributes` (SCIM's enterprise extension).
    pub(crate) employee_number: Option<String>,
    /// Read from `attributes`: SCIM's userName when it is not the email.
    pub(crate) user_name: Option<String>,
}

fn optional(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parses every field and reports every problem at once, by field.
pub(crate) fn parse_input(input: &UserInput) -> Result<Valid, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let email = ValidEmail::parse(&input.email)
        .map_err(|e| bad("email", format!("Email {e}")))
        .ok();
    let display_name = input.display_name.trim().to_string();
    if display_name.is_empty() {
        bad("display_name", "Display name is required".into());
    }
    for (field, label, value) in [
        ("display_name", "Display name", &input.display_name),
        ("given_name", "Given name", &input.given_name),
        ("family_name", "Family name", &input.family_name),
    ] {
        if value.trim().chars().count() > MAX_NAME {
            bad(
                field,
                format!("{label} is longer than {MAX_NAME} characters"),
            );
        }
    }
    let phone = match optional(&input.phone) {
        None => None,
        Some(p) => ValidPhone::parse(&p)
            .map_err(|e| bad("phone", format!("Phone {e}")))
            .ok(),
    };
    let source = input.source.trim().to_lowercase();
    if source.is_empty() {
        bad(
            "source",
            "Source is required (the business unit, application or directory)".into(),
        );
    } else if source.len() > MAX_SOURCE
        || !source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bad(
            "source",
            format!(
                "Source must be up to {MAX_SOURCE} letters, digits, dots, dashes or underscores"
            ),
        );
    }
    let external_id = optional(&input.external_id);
    if external_id
        .as_ref()
        .is_some_and(|x| x.len() > MAX_EXTERNAL_ID)
    {
        bad(
            "external_id",
            format!("External id is longer than {MAX_EXTERNAL_ID} characters"),
        );
    }
    let attributes = match input.attributes.trim() {
        "" => "{}".to_string(),
        raw if raw.len() > MAX_ATTRIBUTES_BYTES => {
            bad(
                "attributes",
                format!(
                    "Attributes are larger than {} KiB",
                    MAX_ATTRIBUTES_BYTES / 1024
                ),
            );
            String::new()
        }
        raw => match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => v.to_string(),
            Ok(_) => {
                bad(
                    "attributes",
                    "Attributes must be a JSON object, like {\"team\": \"blue\"}".into(),
                );
                String::new()
            }
            Err(e) => {
                bad("attributes", format!("Attributes are not valid JSON ({e})"));
                String::new()
            }
        },
    };
    let parsed = serde_json::from_str::<Value>(&attributes).unwrap_or_default();
    let employee_number = crate::model::users::employee_number(&parsed);
    let user_name = crate::model::users::scim_user_name(&parsed);
    match (errors.is_empty(), email) {
        (true, Some(email)) => Ok(Valid {
            email,
            display_name,
            given_name: optional(&input.given_name),
            family_name: optional(&input.family_name),
            phone,
            source,
            external_id,
            attributes,
            employee_number,
            user_name,
        }),
        _ => Err(AppError::Fields(errors)),
    }
}

impl Valid {
    /// The profile a new person gets from its first account.
    fn profile(&self) -> PersonProfile {
        PersonProfile {
            display_name: Some(self.display_name.clone()),
            email: Some(self.email.as_str().to_string()),
            phone: self.phone.as_ref().map(|p| p.as_str().to_string()),
        }
    }
}

fn row<'a>(id: &'a str, guid: &'a str, v: &'a Valid, status: UserStatus, now: i64) -> UserRow<'a> {
    UserRow {
        id,
        guid_id: guid,
        email: v.email.as_str(),
        email_verified: false,
        display_name: &v.display_name,
        given_name: v.given_name.as_deref(),
        family_name: v.family_name.as_deref(),
        phone: v.phone.as_ref().map(ValidPhone::as_str),
        status,
        source: &v.source,
        external_id: v.external_id.as_deref(),
        attributes: &v.attributes,
        employee_number: v.employee_number.as_deref(),
        user_name: v.user_name.as_deref(),
        now,
    }
}

pub fn new_user_id() -> String {
    format!("u_{}", uuid::Uuid::now_v7().simple())
}

/// GUIDs are random (122 bits), so they cannot be guessed or enumerated.
pub fn new_guid() -> String {
    format!("g_{}", uuid::Uuid::new_v4().simple())
}

fn email_taken(v: &Valid) -> AppError {
    AppError::Fields(vec![(
        "email".into(),
        format!("Email {} is already used by another user", v.email.as_str()),
    )])
}

fn external_id_taken(v: &Valid) -> AppError {
    AppError::Fields(vec![(
        "external_id".into(),
        format!(
            "External id {} is already used in source {}",
            v.external_id.as_deref().unwrap_or(""),
            v.source
        ),
    )])
}

/// The unique values a write of `v` claims (see `db::users::claim_unique_values`).
pub(crate) fn unique_keys(v: &Valid) -> Vec<String> {
    let mut keys = vec![format!("email:{}", v.email.as_str())];
    if let Some(ext) = &v.external_id {
        keys.push(format!("external_id:{}/{ext}", v.source));
    }
    keys
}

/// A failed write of `v`: a unique-constraint violation (a writer that raced past
/// `check_unique`) is the same field error as a sequential duplicate, never a 500.
pub(crate) fn write_failed(e: sqlx::Error, v: &Valid) -> AppError {
    match db::users::unique_violation(&e) {
        Some("email") => email_taken(v),
        Some(_) => external_id_taken(v),
        None => internal(e),
    }
}

/// Refuses an email or external id that another user holds. On PostgreSQL the caller first
/// claims the values (`unique_keys`), so a concurrent writer of the same value is seen here.
pub(crate) async fn check_unique(
    tx: &mut db::Tx,
    v: &Valid,
    except: Option<&str>,
) -> Result<(), AppError> {
    if let Some(other) = db::users::id_by_email(tx, v.email.as_str())
        .await
        .map_err(internal)?
    {
        if Some(other.as_str()) != except {
            return Err(email_taken(v));
        }
    }
    if let Some(ext) = &v.external_id {
        if let Some(other) = db::users::id_by_external(tx, &v.source, ext)
            .await
            .map_err(internal)?
        {
            if Some(other.as_str()) != except {
                return Err(external_id_taken(v));
            }
        }
    }
    Ok(())
}

pub(crate) fn snapshot(u: &UserDetail) -> Value {
    json!({
        "email": u.email, "display_name": u.display_name, "given_name": u.given_name, "family_name": u.family_name,
        "phone": u.phone, "status": u.status.as_str(), "source": u.source, "external_id": u.external_id,
        "attributes": u.attributes, "guid": u.guid,
    })
}

/// `{"field": {"before": .., "after": ..}}` for the fields that differ.
pub(crate) fn changes(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            let bv = b.get(k).unwrap_or(&Value::Null);
            if bv != av {
                out.insert(k.clone(), json!({ "before": bv, "after": av }));
            }
        }
    }
    Value::Object(out)
}

pub async fn create(db: &Db, auth: &Authorized, input: &UserInput) -> Result<UserDetail, AppError> {
    let v = parse_input(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::users::claim_unique_values(&mut tx, db.engine, &unique_keys(&v))
        .await
        .map_err(internal)?;
    check_unique(&mut tx, &v, None).await?;
    let created = insert_new(&mut tx, auth, &v, UserStatus::Active, json!({})).await?;
    tx.commit().await.map_err(internal)?;
    Ok(created)
}

/// Writes a new user (and its new GUID) with its audit record, inside the caller's transaction.
/// `via` adds context to the audit details (e.g. the import job).
pub(crate) async fn insert_new(
    tx: &mut db::Tx,
    auth: &Authorized,
    v: &Valid,
    status: UserStatus,
    via: Value,
) -> Result<UserDetail, AppError> {
    let guid = new_guid();
    db::users::insert_guid(tx, &guid, db::now_ms(), &v.profile())
        .await
        .map_err(internal)?;
    insert_for_person(tx, auth, v, status, &guid, via).await
}

/// Writes a new user as an account of the existing person `guid`, with its audit record.
pub(crate) async fn insert_for_person(
    tx: &mut db::Tx,
    auth: &Authorized,
    v: &Valid,
    status: UserStatus,
    guid: &str,
    via: Value,
) -> Result<UserDetail, AppError> {
    let now = db::now_ms();
    let id = new_user_id();
    db::users::insert_user(tx, &row(&id, guid, v, status, now))
        .await
        .map_err(|e| write_failed(e, v))?;
    let created = db::users::get(tx, &id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    let mut details = json!({ "after": snapshot(&created) });
    if let (Some(d), Some(extra)) = (details.as_object_mut(), via.as_object()) {
        d.extend(extra.clone());
    }
    let entry = Entry::new("user.create", Outcome::Success)
        .target("user", &id)
        .details(details);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(created)
}

/// Writes new values over `before` with the audit record of what changed, inside the caller's
/// transaction; `None` when nothing changed (nothing is written then).
pub(crate) async fn write_update(
    tx: &mut db::Tx,
    auth: &Authorized,
    before: &UserDetail,
    v: &Valid,
    via: Value,
) -> Result<Option<UserDetail>, AppError> {
    let now = db::now_ms();
    let proposed = UserDetail {
        email: v.email.as_str().to_string(),
        display_name: v.display_name.clone(),
        given_name: v.given_name.clone(),
        family_name: v.family_name.clone(),
        phone: v.phone.as_ref().map(|p| p.as_str().to_string()),
        source: v.source.clone(),
        external_id: v.external_id.clone(),
        attributes: v.attributes.clone(),
        ..before.clone()
    };
    let diff = changes(&snapshot(before), &snapshot(&proposed));
    if diff.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(None);
    }
    if !db::users::update_user(
        tx,
        &row(&before.id, &before.guid, v, before.status, now),
        before.version,
    )
    .await
    .map_err(|e| write_failed(e, v))?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let after = db::users::get(tx, &before.id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    let mut details = json!({ "changes": diff });
    if let (Some(d), Some(extra)) = (details.as_object_mut(), via.as_object()) {
        d.extend(extra.clone());
    }
    let entry = Entry::new("user.update", Outcome::Success)
        .target("user", &before.id)
        .details(details);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(Some(after))
}

pub(crate) const CONFLICT: &str = "This user was changed by someone else since you opened it. Reload to see their changes, then make yours again.";

pub async fn update(
    db: &Db,
    auth: &Authorized,
    id: &str,
    version: i64,
    input: &UserInput,
) -> Result<UserDetail, AppError> {
    let v = parse_input(input)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::users::claim_unique_values(&mut tx, db.engine, &unique_keys(&v))
        .await
        .map_err(internal)?;
    let before = db::users::get(&mut tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The user".into()))?;
    if before.version != version {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    check_unique(&mut tx, &v, Some(id)).await?;
    let after = match write_update(&mut tx, auth, &before, &v, json!({})).await? {
        Some(after) => after,
        None => before,
    };
    tx.commit().await.map_err(internal)?;
    Ok(with_restore_window(db, after))
}

/// Moves a user through the lifecycle; `version` guards against acting on a stale view.
pub async fn change_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    to: UserStatus,
    version: i64,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = db::users::get(&mut tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The user".into()))?;
    if before.version != version {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    apply_status(db, &mut tx, auth, &before, to).await?;
    let after = db::users::get(&mut tx, id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(with_restore_window(db, after))
}

/// The one place a status changes: the lifecycle rule, the restore window, the write and its
/// audit record, inside the caller's transaction. A refusal writes nothing.
pub(crate) async fn apply_status(
    db: &Db,
    tx: &mut db::Tx,
    auth: &Authorized,
    before: &UserDetail,
    to: UserStatus,
) -> Result<(), AppError> {
    before
        .status
        .transition_to(to)
        .map_err(|why| AppError::invalid("status", format!("Cannot change the status: {why}.")))?;
    let now = db::now_ms();
    if let Some(until) = with_restore_window(db, before.clone()).restorable_until {
        if now > until {
            return Err(AppError::invalid(
                "status",
                format!(
                    "Cannot restore: the restore window ended on {}; the account is waiting to be purged.",
                    crate::model::time::format_utc(until)
                ),
            ));
        }
    }
    if !db::users::set_status(tx, &before.id, to, now, before.version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let entry = Entry::new("user.status", Outcome::Success)
        .target("user", &before.id)
        .details(json!({ "changes": { "status": { "before": before.status.as_str(), "after": to.as_str() } } }));
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(())
}

/// Fills in until when a deprovisioned user can still be restored.
pub fn with_restore_window(db: &Db, mut user: UserDetail) -> UserDetail {
    user.restorable_until = match (user.status, user.deprovisioned_at) {
        (UserStatus::Deprovisioned, Some(at)) => Some(at + db.restore_window_ms),
        _ => None,
    };
    user
}

pub async fn get(db: &Db, id: &str) -> Result<UserDetail, AppError> {
    db::users::get_pool(&db.pool, id.trim())
        .await
        .map_err(internal)?
        .map(|u| with_restore_window(db, u))
        .ok_or_else(|| AppError::NotFound("The user".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> UserInput {
        UserInput {
            email: "Ada@Example.com".into(),
            display_name: "Ada Lovelace".into(),
            source: "Research".into(),
            ..Default::default()
        }
    }

    #[test]
    fn input_is_parsed_and_normalized() {
        let v = parse_input(&input()).unwrap();
        assert_eq!(v.email.as_str(), "ada@example.com");
        assert_eq!(v.source, "research");
        assert_eq!(v.attributes, "{}");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = UserInput {
            email: "nope".into(),
            display_name: "x".repeat(300),
            phone: "079 123".into(),
            source: "".into(),
            attributes: "[1,2]".into(),
            ..Default::default()
        };
        let Err(AppError::Fields(errors)) = parse_input(&bad) else {
            panic!("expected field errors")
        };
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["email", "display_name", "phone", "source", "attributes"]
        );
    }

    #[test]
    fn changes_lists_only_changed_fields() {
        let c = changes(&json!({"a": 1, "b": 2}), &json!({"a": 1, "b": 3}));
        assert_eq!(c, json!({"b": {"before": 2, "after": 3}}));
    }
}
