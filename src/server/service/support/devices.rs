//! Devices and their trust: the keyset list, registration as the identity provider reports it,
//! trust, untrust, block, remove, and the bulk block of stale devices as a job.
use super::{trimmed, user_in_tx};
use crate::model::jobs::{JobReport, JobState};
use crate::model::support::*;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, support::DeviceFilter, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use serde_json::json;

pub const DEVICE_PAGE: i64 = 50;

pub async fn devices(db: &Db, q: &DeviceQuery) -> Result<DevicePage, AppError> {
    let mut f = DeviceFilter::default();
    if let Some(owner) = trimmed(&q.owner) {
        let owner = owner.to_lowercase();
        let id = if owner.starts_with("u_") {
            Some(owner)
        } else {
            let mut tx = db.pool.begin().await.map_err(internal)?;
            db::users::id_by_email(&mut tx, &owner)
                .await
                .map_err(internal)?
        };
        match id {
            Some(id) => f.owner_user_id = Some(id),
            None => return Ok(DevicePage::default()),
        }
    }
    f.device_id = trimmed(&q.device);
    if let Some(s) = trimmed(&q.state) {
        f.state = Some(TrustState::parse(&s).map_err(|e| AppError::invalid("state", e))?);
    }
    f.platform = trimmed(&q.platform).map(|p| p.to_lowercase());
    if let Some(d) = trimmed(&q.stale_days) {
        let days = d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                AppError::invalid(
                    "stale_days",
                    "Days not seen must be a number from 1 to 3650.",
                )
            })?;
        f.seen_before = Some(db::now_ms() - days * 86_400_000);
    }
    let after = match trimmed(&q.after) {
        None => None,
        Some(c) => Some(
            c.split_once('|')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| AppError::invalid("after", "Not a page cursor."))?,
        ),
    };
    let mut rows = db::support::device_page(&db.pool, &f, after, DEVICE_PAGE + 1)
        .await
        .map_err(internal)?;
    let next = if rows.len() as i64 > DEVICE_PAGE {
        rows.truncate(DEVICE_PAGE as usize);
        rows.last().map(|d| format!("{}|{}", d.last_seen_at, d.id))
    } else {
        None
    };
    Ok(DevicePage {
        devices: rows,
        next,
    })
}

pub async fn devices_of_user(db: &Db, user_id: &str) -> Result<Vec<Device>, AppError> {
    let u = users::get(db, user_id).await?;
    db::support::devices_of_users(&db.pool, &[u.id])
        .await
        .map_err(internal)
}

/// Every device of every account of a person.
pub async fn devices_of_guid(db: &Db, guid: &str) -> Result<Vec<Device>, AppError> {
    let view = users::guid_view(db, guid).await?;
    let ids: Vec<String> = view.accounts.into_iter().map(|a| a.id).collect();
    db::support::devices_of_users(&db.pool, &ids)
        .await
        .map_err(internal)
}

pub fn new_device_id() -> String {
    format!("d_{}", uuid::Uuid::now_v7().simple())
}

/// Registers a device for a user (as the identity provider reports it); it starts untrusted.
pub async fn register_device(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    input: &DeviceInput,
) -> Result<Device, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_LABEL {
        bad(
            "name",
            format!("Name is required, up to {MAX_LABEL} characters"),
        );
    }
    let platform = input.platform.trim().to_lowercase();
    if platform.is_empty()
        || platform.len() > 32
        || !platform
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        bad(
            "platform",
            "Platform is required: up to 32 letters, digits, - or _ (e.g. ios, windows)".into(),
        );
    }
    let os_version = input.os_version.trim();
    if os_version.chars().count() > 64 {
        bad(
            "os_version",
            "OS version is longer than 64 characters".into(),
        );
    }
    let kind = DeviceKind::parse(&input.kind)
        .map_err(|e| bad("kind", e))
        .ok();
    let fingerprint = input.fingerprint.trim();
    if fingerprint.is_empty() || fingerprint.chars().count() > MAX_LABEL {
        bad(
            "fingerprint",
            format!("Identifier or key fingerprint is required, up to {MAX_LABEL} characters"),
        );
    }
    let last_ip = trimmed(&input.last_ip);
    if last_ip
        .as_ref()
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
    {
        bad("last_ip", "Last IP is not an IP address".into());
    }
    let (true, Some(kind)) = (errors.is_empty(), kind) else {
        return Err(AppError::Fields(errors));
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    if user.status == UserStatus::Deprovisioned {
        return Err(AppError::invalid(
            "user",
            "The account is deprovisioned; restore it before registering devices.",
        ));
    }
    let id = new_device_id();
    db::support::insert_device(
        &mut tx,
        &db::support::NewDevice {
            id: &id,
            owner_user_id: &user.id,
            name,
            platform: &platform,
            os_version,
            kind,
            fingerprint,
            trust_state: TrustState::Untrusted,
            last_ip: last_ip.as_deref(),
            now: db::now_ms(),
        },
    )
    .await
    .map_err(internal)?;
    let d = db::support::device_tx(&mut tx, &id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    let entry = Entry::new("device.register", Outcome::Success)
        .target("device", &id)
        .details(json!({ "after": device_snapshot(&d) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(d)
}

fn device_snapshot(d: &Device) -> serde_json::Value {
    json!({
        "owner": d.owner_user_id, "owner_email": d.owner_email, "name": d.name, "platform": d.platform,
        "os_version": d.os_version, "kind": d.kind.as_str(), "fingerprint": d.fingerprint,
        "trust_state": d.trust_state.as_str(), "remembered": d.remembered,
    })
}

/// Trusts, untrusts or blocks a device. Untrust withdraws trust only from a trusted device (so it
/// cannot unblock one); trust and block change any other state.
pub async fn set_trust(
    db: &Db,
    auth: &Authorized,
    id: &str,
    to: TrustState,
) -> Result<Device, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = db::support::device_tx(&mut tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The device".into()))?;
    set_trust_in_tx(&mut tx, auth, &before, to).await?;
    let after = db::support::device_tx(&mut tx, &before.id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(after)
}

/// The one place a device's trust changes: the rule, the write and its audit record, inside
/// the caller's transaction (an administrator, the API, a Shared Signals transmitter).
pub(crate) async fn set_trust_in_tx(
    tx: &mut db::Tx,
    auth: &Authorized,
    before: &Device,
    to: TrustState,
) -> Result<(), AppError> {
    if before.trust_state == to {
        return Err(AppError::invalid(
            "trust_state",
            format!("The device is already {}.", to.as_str()),
        ));
    }
    if to == TrustState::Untrusted && before.trust_state != TrustState::Trusted {
        return Err(AppError::invalid(
            "trust_state",
            "Only a trusted device can be untrusted; a blocked device stays blocked.",
        ));
    }
    db::support::set_trust(tx, &before.id, to, db::now_ms())
        .await
        .map_err(internal)?;
    let action = match to {
        TrustState::Trusted => "device.trust",
        TrustState::Untrusted => "device.untrust",
        TrustState::Blocked => "device.block",
    };
    let entry = Entry::new(action, Outcome::Success)
        .target("device", &before.id)
        .details(json!({
            "owner": before.owner_user_id,
            "changes": { "trust_state": { "before": before.trust_state.as_str(), "after": to.as_str() } },
        }));
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn remove_device(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let before = db::support::device_tx(&mut tx, id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The device".into()))?;
    db::support::delete_device(&mut tx, &before.id)
        .await
        .map_err(internal)?;
    let entry = Entry::new("device.remove", Outcome::Success)
        .target("device", &before.id)
        .details(json!({ "before": device_snapshot(&before) }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

const BULK_BATCH: i64 = 200;

/// Blocks every device not seen for `days` days, as a job: one transaction per batch of 200
/// devices, each block with its own audit record. Returns the job id.
pub async fn start_bulk_block(db: &Db, auth: &Authorized, days: &str) -> Result<String, AppError> {
    let days = days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| {
            AppError::invalid("days", "Days not seen must be a number from 1 to 3650.")
        })?;
    let before = db::now_ms() - days * 86_400_000;
    let total = db::support::count_stale_unblocked(&db.pool, before)
        .await
        .map_err(internal)?
        .max(0) as u64;
    let job = crate::server::service::jobs::new_job_id();
    let entry = Entry::new("devices.bulk_block", Outcome::Success)
        .target("job", &job)
        .details(json!({ "not_seen_days": days, "seen_before": before, "total": total }));
    audit::record_alone(db, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    db::jobs::insert(
        &db.pool,
        &job,
        "devices.bulk_block",
        &auth.principal.email,
        JobState::Running,
        total,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let (db, auth, id) = (db.clone(), auth.clone(), job.clone());
    tokio::spawn(async move {
        let mut report = JobReport::default();
        let result = run_bulk_block(&db, &auth, &id, before, total, &mut report).await;
        let (state, summary) = match result {
            Ok(()) => (
                JobState::Done,
                format!(
                    "Blocked {} device{} not seen for {days} days.",
                    report.changed,
                    if report.changed == 1 { "" } else { "s" }
                ),
            ),
            Err(e) => {
                tracing::error!(error = %e, job = id, "bulk block stopped");
                (
                    JobState::Failed,
                    format!(
                        "Stopped by an error after {} devices; those stay blocked and audited.",
                        report.changed
                    ),
                )
            }
        };
        if let Err(e) = db::jobs::finish(
            &db.pool,
            &id,
            state,
            report.changed,
            &summary,
            &report,
            db::now_ms(),
        )
        .await
        {
            tracing::error!(error = %e, job = id, "could not record the end of a job");
        }
    });
    Ok(job)
}

async fn run_bulk_block(
    db: &Db,
    auth: &Authorized,
    job: &str,
    before: i64,
    total: u64,
    report: &mut JobReport,
) -> Result<(), AppError> {
    loop {
        let mut tx = db.begin_write().await.map_err(internal)?;
        let batch = db::support::stale_unblocked(&mut tx, before, BULK_BATCH)
            .await
            .map_err(internal)?;
        if batch.is_empty() {
            return Ok(());
        }
        let now = db::now_ms();
        for (id, state) in &batch {
            db::support::set_trust(&mut tx, id, TrustState::Blocked, now)
                .await
                .map_err(internal)?;
            let entry = Entry::new("device.block", Outcome::Success)
                .target("device", id)
                .details(json!({
                    "job": job,
                    "changes": { "trust_state": { "before": state, "after": "blocked" } },
                }));
            audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
                .await
                .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
        report.changed += batch.len() as u64;
        if let Err(e) = db::jobs::progress(
            &db.pool,
            job,
            JobState::Running,
            total.max(report.changed),
            report.changed,
            db::now_ms(),
        )
        .await
        {
            tracing::warn!(error = %e, "could not record job progress");
        }
    }
}
