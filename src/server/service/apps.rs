//! Applications: the rules. Each action runs in one transaction with its audit record; a new
//! client secret is returned once and only its hash is kept.
use crate::model::apps::*;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, apps::AppRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::secrets;
use serde_json::{json, Value};

pub const PAGE_SIZE: i64 = 50;
const CONFLICT: &str = "This application was changed by someone else since you opened it. Reload to see their changes, then make yours again.";

/// An application's fields after parsing.
struct Valid {
    name: String,
    owner_user_id: String,
    kind: AppKind,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    scopes: Vec<String>,
    pkce_required: bool,
}

impl Valid {
    fn row<'a>(&'a self, id: &'a str, now: i64) -> AppRow<'a> {
        AppRow {
            id,
            name: &self.name,
            owner_user_id: Some(&self.owner_user_id),
            kind: self.kind,
            redirect_uris: &self.redirect_uris,
            post_logout_redirect_uris: &self.post_logout_redirect_uris,
            grant_types: &self.grant_types,
            scopes: &self.scopes,
            pkce_required: self.pkce_required,
            now,
        }
    }
}

/// Splits scopes given by space, comma or line.
pub fn scope_list(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split(|c: char| c.is_whitespace() || c == ',') {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Parses every field and reports every problem at once, by field. The owner is looked up in
/// the caller's transaction.
async fn parse_input(tx: &mut db::Tx, input: &AppInput) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let name = input.name.trim().to_string();
    if name.is_empty() {
        bad("name", "Name is required".into());
    } else if name.chars().count() > MAX_APP_NAME {
        bad(
            "name",
            format!("Name is longer than {MAX_APP_NAME} characters"),
        );
    } else if name.chars().any(char::is_control) {
        bad("name", "Name contains control characters".into());
    }
    let kind = AppKind::parse(&input.kind)
        .map_err(|e| bad("kind", format!("Kind: {e}")))
        .ok();
    let mut uris = |field: &str, label: &str, raw: &str| -> Vec<String> {
        let list = lines(raw);
        if list.len() > MAX_URIS {
            bad(
                field,
                format!("{label}: at most {MAX_URIS} URIs, {} given", list.len()),
            );
        }
        let mut ok = Vec::new();
        for u in list {
            match check_redirect_uri(&u) {
                Ok(u) => ok.push(u),
                Err(e) => bad(field, format!("{label}: {e}")),
            }
        }
        ok
    };
    let redirect_uris = uris("redirect_uris", "Redirect URI", &input.redirect_uris);
    let post_logout_redirect_uris = uris(
        "post_logout_redirect_uris",
        "Post-logout redirect URI",
        &input.post_logout_redirect_uris,
    );
    let mut grant_types = Vec::new();
    for g in &input.grant_types {
        match GrantType::parse(g) {
            Ok(g) if !grant_types.contains(&g) => grant_types.push(g),
            Ok(_) => {}
            Err(e) => bad("grant_types", format!("Grant types: {e}")),
        }
    }
    if let Some(kind) = kind {
        if grant_types.is_empty() {
            bad("grant_types", "Choose at least one grant type".to_string());
        }
        for g in &grant_types {
            if !kind.allowed_grants().contains(g) {
                bad(
                    "grant_types",
                    format!(
                        "A {} cannot use the {} grant",
                        kind.label().to_lowercase(),
                        g.label().to_lowercase()
                    ),
                );
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            bad(
                "redirect_uris",
                "The authorization code grant needs at least one redirect URI".into(),
            );
        }
        if kind == AppKind::MachineToMachine
            && !(redirect_uris.is_empty() && post_logout_redirect_uris.is_empty())
        {
            bad(
                "redirect_uris",
                "A machine-to-machine application has no redirect URIs".into(),
            );
        }
    }
    let pkce_required = matches!(input.pkce_required.as_str(), "on" | "true" | "1");
    if !pkce_required && kind.is_some_and(|k| !k.is_confidential()) {
        bad(
            "pkce_required",
            "PKCE is required for single-page and native applications (they cannot keep a secret)"
                .into(),
        );
    }
    let raw_scopes = scope_list(&input.scopes);
    if raw_scopes.len() > MAX_SCOPES {
        bad(
            "scopes",
            format!("At most {MAX_SCOPES} scopes, {} given", raw_scopes.len()),
        );
    }
    let mut scopes = Vec::new();
    for s in raw_scopes {
        match check_scope(&s) {
            Ok(s) => scopes.push(s),
            Err(e) => bad("scopes", format!("Scopes: {e}")),
        }
    }
    let owner_email = input.owner.trim().to_lowercase();
    let mut owner_user_id = None;
    if owner_email.is_empty() {
        bad(
            "owner",
            "Owner is required: the email of the person responsible".into(),
        );
    } else {
        match db::users::id_by_email(tx, &owner_email)
            .await
            .map_err(internal)?
        {
            None => bad(
                "owner",
                format!("Owner: no user has the email {owner_email}"),
            ),
            Some(id) => {
                let user = db::users::get(tx, &id).await.map_err(internal)?;
                if user.is_some_and(|u| u.status == UserStatus::Deprovisioned) {
                    bad(
                        "owner",
                        format!("Owner: {owner_email} is deprovisioned; choose someone who is still here"),
                    );
                } else {
                    owner_user_id = Some(id);
                }
            }
        }
    }
    match (errors.is_empty(), kind, owner_user_id) {
        (true, Some(kind), Some(owner_user_id)) => Ok(Valid {
            name,
            owner_user_id,
            kind,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            pkce_required,
        }),
        _ => Err(AppError::Fields(errors)),
    }
}

fn snapshot(a: &AppDetail) -> Value {
    json!({
        "name": a.name, "kind": a.kind.as_str(), "status": a.status.as_str(), "owner": a.owner_email,
        "redirect_uris": a.redirect_uris, "post_logout_redirect_uris": a.post_logout_redirect_uris,
        "grant_types": a.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": a.scopes, "pkce_required": a.pkce_required,
    })
}

fn new_app_id() -> String {
    format!("app_{}", uuid::Uuid::new_v4().simple())
}

fn new_secret_id() -> String {
    format!("cs_{}", uuid::Uuid::now_v7().simple())
}

async fn name_is_free(tx: &mut db::Tx, name: &str, except: Option<&str>) -> Result<(), AppError> {
    match db::apps::app_id_by_name(tx, name).await.map_err(internal)? {
        Some(other) if Some(other.as_str()) != except => Err(AppError::Fields(vec![(
            "name".into(),
            format!("Name {name} is already used by another application"),
        )])),
        _ => Ok(()),
    }
}

async fn load(tx: &mut db::Tx, id: &str) -> Result<AppDetail, AppError> {
    db::apps::get_app(&mut **tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The application".into()))
}

/// Registers an application; a confidential one gets its first client secret, shown once.
pub async fn create(db: &Db, auth: &Authorized, input: &AppInput) -> Result<NewSecret, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let v = parse_input(&mut tx, input).await?;
    name_is_free(&mut tx, &v.name, None).await?;
    let (id, now) = (new_app_id(), db::now_ms());
    db::apps::insert_app(&mut tx, &v.row(&id, now))
        .await
        .map_err(internal)?;
    let secret = if v.kind.is_confidential() {
        Some(add_secret(&mut tx, &id, now).await?)
    } else {
        None
    };
    let created = load(&mut tx, &id).await?;
    let entry = Entry::new("application.create", Outcome::Success)
        .target("application", &id)
        .details(json!({ "after": snapshot(&created), "secret_shown": secret.as_ref().map(|(sid, _)| sid) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(NewSecret {
        app: get(db, &id).await?,
        secret: secret.map(|(_, s)| s),
    })
}

/// Stores a new secret's hash; returns `(secret id, secret)`.
async fn add_secret(tx: &mut db::Tx, app_id: &str, now: i64) -> Result<(String, String), AppError> {
    let (sid, secret) = (new_secret_id(), secrets::new_client_secret());
    db::apps::insert_secret(
        tx,
        &sid,
        app_id,
        &secrets::hash_hex(&secret),
        &secrets::hint(&secret),
        now,
    )
    .await
    .map_err(internal)?;
    Ok((sid, secret))
}

pub async fn update(
    db: &Db,
    auth: &Authorized,
    id: &str,
    version: i64,
    input: &AppInput,
) -> Result<AppDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load(&mut tx, id).await?;
    let v = parse_input(&mut tx, input).await?;
    if v.kind != before.kind {
        return Err(AppError::invalid(
            "kind",
            "The kind of an application cannot change (its clients are built for it); register a new application",
        ));
    }
    name_is_free(&mut tx, &v.name, Some(id)).await?;
    let now = db::now_ms();
    if !db::apps::update_app(&mut tx, &v.row(id, now), version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let after = load(&mut tx, id).await?;
    let diff = crate::server::service::users::changes(&snapshot(&before), &snapshot(&after));
    if diff.as_object().is_some_and(|m| m.is_empty()) {
        return get(db, id).await; // nothing changed: the transaction is dropped, nothing written
    }
    let entry = Entry::new("application.update", Outcome::Success)
        .target("application", id)
        .details(json!({ "changes": diff }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    get(db, id).await
}

/// Disables (every key and secret stops working) or re-enables an application.
pub async fn set_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
) -> Result<AppDetail, AppError> {
    let status = AppStatus::parse(status).map_err(|e| AppError::invalid("status", e))?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = load(&mut tx, id).await?;
    if before.status == status {
        return get(db, id).await;
    }
    db::apps::set_app_status(&mut tx, id, status, db::now_ms())
        .await
        .map_err(internal)?;
    let entry = Entry::new("application.status", Outcome::Success)
        .target("application", id)
        .details(json!({ "before": before.status.as_str(), "after": status.as_str() }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    get(db, id).await
}

fn grace_ms(grace_secs: i64) -> Result<i64, AppError> {
    if GRACE_PERIODS.iter().any(|(s, _)| *s == grace_secs) {
        Ok(grace_secs * 1000)
    } else {
        Err(AppError::invalid(
            "grace",
            "Choose a grace period from the list (none, 1 hour, 24 hours, 7 days or 30 days)",
        ))
    }
}

/// A new client secret; the current ones stay valid for the grace period, then stop.
pub async fn rotate_secret(
    db: &Db,
    auth: &Authorized,
    id: &str,
    grace_secs: i64,
) -> Result<NewSecret, AppError> {
    let grace = grace_ms(grace_secs)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let app = load(&mut tx, id).await?;
    if !app.kind.is_confidential() {
        return Err(AppError::Conflict(format!(
            "A {} is a public client and has no secret (it uses PKCE)",
            app.kind.label().to_lowercase()
        )));
    }
    let now = db::now_ms();
    let (sid, secret) = add_secret(&mut tx, id, now).await?;
    let retiring = db::apps::expire_other_secrets(&mut tx, id, &sid, now + grace)
        .await
        .map_err(internal)?;
    let entry = Entry::new("application.secret.rotate", Outcome::Success)
        .target("application", id)
        .details(json!({
            "new_secret": sid, "secret_shown": true, "grace_seconds": grace_secs,
            "old_secrets_valid_until": now + grace, "old_secrets": retiring,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(NewSecret {
        app: get(db, id).await?,
        secret: Some(secret),
    })
}

pub async fn revoke_secret(
    db: &Db,
    auth: &Authorized,
    id: &str,
    secret_id: &str,
) -> Result<AppDetail, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    load(&mut tx, id).await?;
    if !db::apps::revoke_secret(&mut tx, id, secret_id, db::now_ms())
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound(
            "An unrevoked secret with that id on this application".into(),
        ));
    }
    let entry = Entry::new("application.secret.revoke", Outcome::Success)
        .target("application", id)
        .details(json!({ "secret": secret_id }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    get(db, id).await
}

/// Assigns a person (by GUID, or by the email of one of their accounts) to the application.
pub async fn assign(
    db: &Db,
    auth: &Authorized,
    id: &str,
    person: &str,
) -> Result<Vec<Assignment>, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    load(&mut tx, id).await?;
    let guid = resolve_person(&mut tx, person).await?;
    if db::apps::assign(&mut tx, id, &guid, db::now_ms())
        .await
        .map_err(internal)?
    {
        let entry = Entry::new("application.assign", Outcome::Success)
            .target("application", id)
            .details(json!({ "guid": guid }));
        audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        db.keys_changed();
    }
    assignments(db, id).await
}

pub async fn unassign(
    db: &Db,
    auth: &Authorized,
    id: &str,
    guid: &str,
) -> Result<Vec<Assignment>, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    load(&mut tx, id).await?;
    if !db::apps::unassign(&mut tx, id, guid.trim())
        .await
        .map_err(internal)?
    {
        return Err(AppError::NotFound(
            "That person's assignment to this application".into(),
        ));
    }
    let entry = Entry::new("application.unassign", Outcome::Success)
        .target("application", id)
        .details(json!({ "guid": guid.trim() }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    assignments(db, id).await
}

/// A GUID (following merges) from a GUID or an account's email.
async fn resolve_person(tx: &mut db::Tx, person: &str) -> Result<String, AppError> {
    let person = person.trim();
    let missing = || {
        AppError::invalid(
            "person",
            format!("No person has the GUID or account email {person:?}"),
        )
    };
    if person.is_empty() {
        return Err(AppError::invalid(
            "person",
            "Give the person's GUID or the email of one of their accounts",
        ));
    }
    if person.contains('@') {
        let user_id = db::users::id_by_email(tx, &person.to_lowercase())
            .await
            .map_err(internal)?
            .ok_or_else(missing)?;
        let user = db::users::get(tx, &user_id)
            .await
            .map_err(internal)?
            .ok_or_else(missing)?;
        return Ok(user.guid);
    }
    let guid = db::users::guid_in_tx(tx, person)
        .await
        .map_err(internal)?
        .ok_or_else(missing)?;
    Ok(guid.merged_into.unwrap_or_else(|| person.to_string()))
}

pub async fn get(db: &Db, id: &str) -> Result<AppDetail, AppError> {
    let mut app = db::apps::get_app(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The application".into()))?;
    db::apps::app_extras(&db.pool, &mut app, db::now_ms())
        .await
        .map_err(internal)?;
    Ok(app)
}

pub async fn assignments(db: &Db, id: &str) -> Result<Vec<Assignment>, AppError> {
    db::apps::assignments(&db.pool, id, 200)
        .await
        .map_err(internal)
}

pub async fn list(db: &Db, query: &AppQuery) -> Result<AppPage, AppError> {
    let mut filters = Vec::new();
    if !query.status.trim().is_empty() {
        let s = AppStatus::parse(&query.status).map_err(|e| AppError::invalid("status", e))?;
        filters.push(("status", s.as_str().to_string()));
    }
    if !query.kind.trim().is_empty() {
        let k = AppKind::parse(&query.kind).map_err(|e| AppError::invalid("kind", e))?;
        filters.push(("kind", k.as_str().to_string()));
    }
    let q = query.q.trim().to_lowercase();
    if q.starts_with("app_") && q.len() == 36 {
        let found = db::apps::get_app(&db.pool, &q).await.map_err(internal)?;
        return Ok(AppPage {
            apps: found
                .into_iter()
                .map(|a| AppSummary {
                    id: a.id,
                    name: a.name,
                    kind: a.kind,
                    status: a.status,
                    owner_email: a.owner_email,
                    created_at: a.created_at,
                })
                .collect(),
            next: None,
        });
    }
    let after = query
        .after
        .rsplit_once('|')
        .map(|(k, id)| (k.to_string(), id.to_string()));
    let prefix = (!q.is_empty()).then_some(q.as_str());
    let mut rows = db::apps::page_apps(&db.pool, prefix, &filters, after, PAGE_SIZE + 1)
        .await
        .map_err(internal)?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|(a, key)| format!("{key}|{}", a.id))
    } else {
        None
    };
    Ok(AppPage {
        apps: rows.into_iter().map(|(a, _)| a).collect(),
        next,
    })
}
