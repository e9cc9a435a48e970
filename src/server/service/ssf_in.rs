//! Shared Signals transmitters as administrators manage them (Gatehouse as receiver): an
//! identity provider or MDM registered by its issuer, its keys fetched (from `jwks_uri`, or
//! discovered from its SSF metadata) and cached, enabling, disabling and removal. Each change
//! is one transaction with its audit record. Receiving is in service/ssf_receive.rs.
use crate::model::ssf::{TransmitterDetail, TransmitterInput, TransmitterView};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, ssf_in::Keys, ssf_in::TransmitterRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::audit_sink_checks::{check_name, one_line};
use crate::server::service::ssf_jwks::{fetch_keys, url_field, Fetched};
use crate::server::ssf_verify::{self, DEFAULT_MAX_AGE_SECS};
use serde_json::{json, Value};

const CONFLICT: &str = "This transmitter was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const NOT_FOUND: &str = "The Shared Signals transmitter";
const MAX_URL: usize = 300;
const MAX_MAX_AGE: i64 = 30 * 86_400;
/// Tokens shown on a transmitter's page.
const RECENT: i64 = 50;

struct Valid {
    name: String,
    issuer: String,
    jwks_uri: String,
    audience: String,
    source_id: Option<String>,
    max_age_seconds: i64,
}

async fn parse(db: &Db, public_url: &str, input: &TransmitterInput) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.into(), message));
    let name = check_name(&input.name).unwrap_or_else(|m| {
        bad("name", m);
        String::new()
    });
    let issuer = url_field(&input.issuer, "Issuer").unwrap_or_else(|m| {
        bad("issuer", m);
        String::new()
    });
    let jwks_uri = match input.jwks_uri.trim() {
        "" => String::new(),
        raw => url_field(raw, "JWKS URI").unwrap_or_else(|m| {
            bad("jwks_uri", m);
            String::new()
        }),
    };
    let audience = match input.audience.trim() {
        "" => public_url.to_string(),
        a if a.chars().count() > MAX_URL || !one_line(a) => {
            bad(
                "audience",
                format!("Audience: at most {MAX_URL} characters on one line"),
            );
            String::new()
        }
        a => a.to_string(),
    };
    let source_id = Some(input.source_id.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(source) = &source_id {
        // Checked before the look-up: PostgreSQL refuses a NUL in a text parameter.
        let found = if source.len() <= 100 && one_line(source) {
            db::sources::get(&db.pool, source).await.map_err(internal)?
        } else {
            None
        };
        if found.is_none() {
            bad(
                "source_id",
                format!("Source: there is no provisioning source {source:?}"),
            );
        }
    }
    let max_age_seconds = match input.max_age_seconds {
        0 => DEFAULT_MAX_AGE_SECS,
        n if (60..=MAX_MAX_AGE).contains(&n) => n,
        _ => {
            bad(
                "max_age_seconds",
                format!("Max age: 60 to {MAX_MAX_AGE} seconds (0: a day)"),
            );
            DEFAULT_MAX_AGE_SECS
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(Valid {
        name,
        issuer,
        jwks_uri,
        audience,
        source_id,
        max_age_seconds,
    })
}

fn taken() -> AppError {
    AppError::Fields(vec![(
        "issuer".into(),
        "Issuer: a transmitter with this issuer is already registered".into(),
    )])
}

fn keys_of(f: &Fetched, now: i64) -> Keys<'_> {
    match &f.result {
        Ok(jwks) => Keys {
            jwks,
            fetched_at: now,
            error: "",
        },
        Err(e) => Keys {
            jwks: "",
            fetched_at: now,
            error: e,
        },
    }
}

fn details(id: &str, v: &Valid) -> Value {
    json!({
        "transmitter": id, "name": v.name, "issuer": v.issuer, "jwks_uri": v.jwks_uri,
        "audience": v.audience, "source_id": v.source_id, "max_age_seconds": v.max_age_seconds,
    })
}

fn with_keys(mut d: Value, f: &Fetched) -> Value {
    d["jwks_uri"] = json!(f.jwks_uri);
    match &f.result {
        Ok(jwks) => d["key_count"] = json!(ssf_verify::usable_keys(jwks).len()),
        Err(e) => d["keys_error"] = json!(e),
    }
    d
}

async fn record(
    tx: &mut db::Tx,
    auth: &Authorized,
    action: &str,
    outcome: Outcome,
    id: &str,
    d: Value,
) -> Result<(), AppError> {
    let entry = Entry::new(action, outcome)
        .target("ssf_transmitter", id)
        .details(d);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map(|_| ())
        .map_err(internal)
}

fn row<'a>(id: &'a str, v: &'a Valid, jwks_uri: &'a str) -> TransmitterRow<'a> {
    TransmitterRow {
        id,
        name: &v.name,
        issuer: &v.issuer,
        jwks_uri,
        audience: &v.audience,
        source_id: v.source_id.as_deref(),
        max_age_seconds: v.max_age_seconds,
        now: db::now_ms(),
    }
}

fn unique_failed(e: sqlx::Error) -> AppError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => taken(),
        _ => internal(e),
    }
}

/// Registers a transmitter and fetches its keys. A transmitter whose keys cannot be fetched
/// now is registered all the same, with the reason kept ("Fetch keys" tries again).
pub async fn create(
    db: &Db,
    auth: &Authorized,
    public_url: &str,
    input: &TransmitterInput,
) -> Result<TransmitterView, AppError> {
    let valid = parse(db, public_url, input).await?;
    if db::ssf_in::id_by_issuer(&db.pool, &valid.issuer)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(taken());
    }
    let fetched = fetch_keys(&valid.issuer, &valid.jwks_uri).await;
    let id = format!("{}{}", db::ssf_in::ID_PREFIX, uuid::Uuid::new_v4().simple());
    let uri = if fetched.jwks_uri.is_empty() {
        valid.jwks_uri.clone()
    } else {
        fetched.jwks_uri.clone()
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    if db::ssf_in::issuer_taken(&mut tx, &valid.issuer, None)
        .await
        .map_err(internal)?
    {
        return Err(taken());
    }
    db::ssf_in::insert(
        &mut tx,
        &row(&id, &valid, &uri),
        &keys_of(&fetched, db::now_ms()),
    )
    .await
    .map_err(unique_failed)?;
    let d = with_keys(details(&id, &valid), &fetched);
    record(
        &mut tx,
        auth,
        "ssf.transmitter.create",
        Outcome::Success,
        &id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, &id).await
}

/// Changes a registration against the version the administrator saw. A new issuer or key
/// address (or an emptied one: discover again) fetches the keys again.
pub async fn update(
    db: &Db,
    auth: &Authorized,
    public_url: &str,
    id: &str,
    version: i64,
    input: &TransmitterInput,
) -> Result<TransmitterView, AppError> {
    let valid = parse(db, public_url, input).await?;
    let current = view(db, id).await?;
    if current.version != version {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let refetch = valid.issuer != current.issuer
        || valid.jwks_uri.is_empty()
        || valid.jwks_uri != current.jwks_uri;
    let fetched = if refetch {
        Some(fetch_keys(&valid.issuer, &valid.jwks_uri).await)
    } else {
        None
    };
    let uri = match &fetched {
        Some(f) if !f.jwks_uri.is_empty() => f.jwks_uri.clone(),
        _ => valid.jwks_uri.clone(),
    };
    let now = db::now_ms();
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    if db::ssf_in::issuer_taken(&mut tx, &valid.issuer, Some(id))
        .await
        .map_err(internal)?
    {
        return Err(taken());
    }
    let keys = fetched.as_ref().map(|f| keys_of(f, now));
    if !db::ssf_in::update(&mut tx, &row(id, &valid, &uri), version, keys.as_ref())
        .await
        .map_err(unique_failed)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    let mut d = details(id, &valid);
    d["jwks_uri"] = json!(uri);
    if let Some(f) = &fetched {
        d = with_keys(d, f);
    }
    record(
        &mut tx,
        auth,
        "ssf.transmitter.update",
        Outcome::Success,
        id,
        d,
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Fetches the keys again now (discovering their address when there is none). A failure is
/// kept as the transmitter's last error and audited; the cached keys stay.
pub async fn refresh_keys(
    db: &Db,
    auth: &Authorized,
    id: &str,
) -> Result<TransmitterView, AppError> {
    let t = db::ssf_in::by_id(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))?;
    let fetched = fetch_keys(&t.issuer, &t.jwks_uri).await;
    let now = db::now_ms();
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let outcome = match &fetched.result {
        Ok(jwks) => {
            db::ssf_in::store_keys(&mut tx, id, &fetched.jwks_uri, jwks, now)
                .await
                .map_err(internal)?;
            Outcome::Success
        }
        Err(e) => {
            db::ssf_in::keys_failed(&mut tx, id, e, now)
                .await
                .map_err(internal)?;
            Outcome::Failed
        }
    };
    let d = with_keys(json!({ "transmitter": id, "issuer": t.issuer }), &fetched);
    record(&mut tx, auth, "ssf.transmitter.keys", outcome, id, d).await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// `active` (its tokens are accepted) or `disabled` (refused, `invalid_issuer`).
pub async fn set_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
) -> Result<TransmitterView, AppError> {
    let (stored, action) = match status.trim() {
        "active" => ("active", "ssf.transmitter.enable"),
        "disabled" => ("disabled", "ssf.transmitter.disable"),
        other => {
            return Err(AppError::invalid(
                "status",
                format!(
                    "Status is active or disabled, not {:?}",
                    ssf_verify::clip(other, 40)
                ),
            ))
        }
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::ssf_in::set_status(&mut tx, id, stored, db::now_ms())
        .await
        .map_err(internal)?;
    record(
        &mut tx,
        auth,
        action,
        Outcome::Success,
        id,
        json!({ "transmitter": id, "status": stored }),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Removes a transmitter and what was received from it; its tokens are refused from now on.
pub async fn delete(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let current = view(db, id).await?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::ssf_in::delete(&mut tx, id).await.map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.transmitter.delete",
        Outcome::Success,
        id,
        json!({ "transmitter": id, "name": current.name, "issuer": current.issuer,
                "received": current.received }),
    )
    .await?;
    tx.commit().await.map_err(internal)
}

pub async fn list(db: &Db) -> Result<Vec<TransmitterView>, AppError> {
    db::ssf_in::list(&db.pool).await.map_err(internal)
}

pub async fn view(db: &Db, id: &str) -> Result<TransmitterView, AppError> {
    // Checked before the look-up: PostgreSQL refuses a NUL in a text parameter.
    if id.len() > 100 || !one_line(id) {
        return Err(AppError::NotFound(NOT_FOUND.into()));
    }
    db::ssf_in::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

/// A transmitter with the newest tokens received from it and the address it pushes to.
pub async fn detail(db: &Db, public_url: &str, id: &str) -> Result<TransmitterDetail, AppError> {
    let transmitter = view(db, id).await?;
    let recent = db::ssf_in::recent(&db.pool, id, RECENT)
        .await
        .map_err(internal)?;
    Ok(TransmitterDetail {
        transmitter,
        recent,
        push_url: format!("{public_url}/ssf/receive"),
    })
}

async fn locked(tx: &mut db::Tx, id: &str) -> Result<i64, AppError> {
    db::ssf_in::version_for_update(tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

/// The cleanup job's part: forgets received `jti`s a replay could no longer use.
pub async fn prune_received(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    db::ssf_in::prune_received(&db.pool, now).await
}
