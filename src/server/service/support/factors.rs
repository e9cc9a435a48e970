//! MFA factors as the identity provider reports them: listed per account and per person, added
//! and removed one at a time by administrators.
use super::{clip, trimmed, user_in_tx};
use crate::model::support::*;
use crate::model::users::{UserDetail, UserStatus, ValidEmail, ValidPhone};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use serde_json::json;

pub async fn factors(db: &Db, user_id: &str) -> Result<Vec<Factor>, AppError> {
    users::get(db, user_id).await?;
    db::support::factors_of(&db.pool, user_id.trim())
        .await
        .map_err(internal)
}

/// Every factor of every account of a person.
pub async fn factors_of_guid(db: &Db, guid: &str) -> Result<Vec<Factor>, AppError> {
    let view = users::guid_view(db, guid).await?;
    let mut out = Vec::new();
    for a in view.accounts {
        out.extend(
            db::support::factors_of(&db.pool, &a.id)
                .await
                .map_err(internal)?,
        );
    }
    Ok(out)
}

pub fn new_factor_id() -> String {
    format!("f_{}", uuid::Uuid::now_v7().simple())
}

/// Checks a factor as reported by the identity provider (or typed by an administrator).
pub fn parse_factor(user_id: &str, input: &FactorInput, now: i64) -> Result<Factor, AppError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| errors.push((field.to_string(), message));
    let kind = FactorKind::parse(&input.kind)
        .map_err(|e| bad("kind", e))
        .ok();
    let label = input.label.trim().to_string();
    if label.is_empty() {
        bad("label", "Label is required".into());
    } else if label.chars().count() > MAX_LABEL {
        bad(
            "label",
            format!("Label is longer than {MAX_LABEL} characters"),
        );
    }
    let status = match input.status.trim() {
        "" => Some(FactorStatus::Active),
        s => FactorStatus::parse(s).map_err(|e| bad("status", e)).ok(),
    };
    let short = |v: &str| trimmed(v).map(|s| clip(&s, MAX_LABEL));
    let (
        mut credential_id,
        mut authenticator_name,
        mut aaguid,
        mut phone,
        mut email,
        mut codes_left,
    ) = (None, None, None, None, None, None);
    match kind {
        Some(FactorKind::Webauthn) => {
            credential_id = short(&input.credential_id);
            if credential_id.is_none() {
                bad("credential_id", "A passkey needs its credential id".into());
            }
            authenticator_name = short(&input.authenticator_name);
            aaguid = short(&input.aaguid);
        }
        Some(FactorKind::Sms | FactorKind::Voice) => match ValidPhone::parse(&input.phone) {
            Ok(p) => phone = Some(p.as_str().to_string()),
            Err(e) => bad("phone", format!("Phone {e}")),
        },
        Some(FactorKind::EmailOtp) => match ValidEmail::parse(&input.email) {
            Ok(e) => email = Some(e.as_str().to_string()),
            Err(e) => bad("email", format!("Email {e}")),
        },
        Some(FactorKind::RecoveryCodes) => match input.codes_left.trim().parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => codes_left = Some(n),
            _ => bad(
                "codes_left",
                "Codes left must be a number from 0 to 100".into(),
            ),
        },
        Some(FactorKind::Totp) | None => {}
    }
    match (errors.is_empty(), kind, status) {
        (true, Some(kind), Some(status)) => Ok(Factor {
            id: new_factor_id(),
            user_id: user_id.to_string(),
            kind,
            label,
            status,
            enrolled_at: now,
            last_used_at: None,
            credential_id,
            authenticator_name,
            aaguid,
            phone,
            email,
            codes_left,
        }),
        _ => Err(AppError::Fields(errors)),
    }
}

/// Records a factor the identity provider reports as enrolled.
pub async fn add_factor(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    input: &FactorInput,
) -> Result<Factor, AppError> {
    let f = parse_factor(user_id.trim(), input, db::now_ms())?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    insert_factor_in_tx(&mut tx, auth, &user, &f).await?;
    tx.commit().await.map_err(internal)?;
    Ok(f)
}

/// The one place a factor is added: the rule, the write and its audit record, inside the
/// caller's transaction (an administrator, the API, a Shared Signals transmitter).
pub(crate) async fn insert_factor_in_tx(
    tx: &mut db::Tx,
    auth: &Authorized,
    user: &UserDetail,
    f: &Factor,
) -> Result<(), AppError> {
    if user.status == UserStatus::Deprovisioned {
        return Err(AppError::invalid(
            "user",
            "The account is deprovisioned; restore it before adding factors.",
        ));
    }
    db::support::insert_factor(tx, f).await.map_err(internal)?;
    let entry = Entry::new("mfa.factor.add", Outcome::Success)
        .target("user", &user.id)
        .details(json!({ "factor": factor_snapshot(f) }));
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(())
}

pub(super) fn factor_snapshot(f: &Factor) -> serde_json::Value {
    json!({ "id": f.id, "kind": f.kind.as_str(), "label": f.label, "status": f.status.as_str(), "detail": f.detail() })
}

/// Removes one factor of a user.
pub async fn remove_factor(
    db: &Db,
    auth: &Authorized,
    user_id: &str,
    factor_id: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let user = user_in_tx(&mut tx, user_id).await?;
    let all = db::support::factors_of_tx(&mut tx, &user.id)
        .await
        .map_err(internal)?;
    let Some(f) = all.iter().find(|f| f.id == factor_id.trim()) else {
        return Err(AppError::NotFound(format!(
            "Factor {} of this user",
            clip(factor_id.trim(), 64)
        )));
    };
    delete_factor_in_tx(&mut tx, auth, &user.id, f).await?;
    tx.commit().await.map_err(internal)
}

/// The one place a factor is removed: the write and its audit record, inside the caller's
/// transaction.
pub(crate) async fn delete_factor_in_tx(
    tx: &mut db::Tx,
    auth: &Authorized,
    user_id: &str,
    f: &Factor,
) -> Result<(), AppError> {
    db::support::delete_factor(tx, user_id, &f.id)
        .await
        .map_err(internal)?;
    let entry = Entry::new("mfa.factor.remove", Outcome::Success)
        .target("user", user_id)
        .details(json!({ "factor": factor_snapshot(f) }));
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(())
}
