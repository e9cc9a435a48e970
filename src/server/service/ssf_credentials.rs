//! CAEP credential-change received from a transmitter (Gatehouse as receiver): the MFA factors
//! of one account, added or removed through the support desk's own functions, with the
//! transmitter as the audit records' actor.
use crate::model::support::{Factor, FactorKind, FactorStatus};
use crate::model::users::UserDetail;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Tx};
use crate::server::internal;
use crate::server::service::ssf_apply::{Failure, Step};
use crate::server::service::support;
use crate::server::ssf_verify::{clip, Refusal};
use serde_json::Value;

/// CAEP's credential types for Gatehouse's factor kinds (the inverse of
/// `ssf_events::credential_type`); passwords, PINs, certificates are not factors kept here.
pub fn factor_kind(credential_type: &str) -> Option<FactorKind> {
    Some(match credential_type {
        "app" => FactorKind::Totp,
        "fido2-platform" | "fido2-roaming" | "fido-u2f" => FactorKind::Webauthn,
        "phone-sms" => FactorKind::Sms,
        "phone-voice" => FactorKind::Voice,
        "email-otp" => FactorKind::EmailOtp,
        "recovery-code" => FactorKind::RecoveryCodes,
        _ => return None,
    })
}

/// CAEP credential-change: `create` adds the factor, `revoke`/`delete` remove the matching
/// ones (same kind; same label when `friendly_name` is given), `update` is recorded only.
pub(crate) async fn credential(
    tx: &mut Tx,
    auth: &Authorized,
    user: &UserDetail,
    event: &Value,
    at: i64,
) -> Result<Step, Failure> {
    let credential_type = event["credential_type"].as_str().unwrap_or_default();
    let change = event["change_type"].as_str().unwrap_or_default();
    if credential_type.is_empty() || change.is_empty() {
        return Err(Failure::Refused(Refusal::request(
            "credential-change needs credential_type and change_type",
        )));
    }
    let step = |changed: bool, line: String| Step {
        user_id: user.id.clone(),
        changed,
        line,
    };
    let Some(kind) = factor_kind(credential_type) else {
        return Ok(step(
            false,
            format!(
                "Credential type {} is not an MFA factor Gatehouse keeps",
                clip(credential_type, 60)
            ),
        ));
    };
    let name = event["friendly_name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| clip(n, crate::model::support::MAX_LABEL));
    let existing = db::support::factors_of_tx(tx, &user.id)
        .await
        .map_err(internal)?;
    let same = |f: &&Factor| f.kind == kind && name.as_ref().is_none_or(|n| &f.label == n);
    match change {
        "create" => {
            let label = name.clone().unwrap_or_else(|| kind.label().to_string());
            if existing.iter().any(|f| f.kind == kind && f.label == label) {
                return Ok(step(
                    false,
                    format!("{} already has {label} ({})", user.email, kind.as_str()),
                ));
            }
            let f = Factor {
                id: support::new_factor_id(),
                user_id: user.id.clone(),
                kind,
                label: label.clone(),
                status: FactorStatus::Active,
                enrolled_at: at,
                last_used_at: None,
                credential_id: None,
                authenticator_name: None,
                aaguid: event["fido2_aaguid"].as_str().map(|a| clip(a, 100)),
                phone: None,
                email: None,
                codes_left: None,
            };
            match support::insert_factor_in_tx(tx, auth, user, &f).await {
                Ok(()) => Ok(step(
                    true,
                    format!("Added {label} ({}) to {}", kind.as_str(), user.email),
                )),
                Err(AppError::Invalid { message, .. }) => Ok(step(false, message)),
                Err(e) => Err(e.into()),
            }
        }
        "revoke" | "delete" => {
            let matching: Vec<&Factor> = existing.iter().filter(same).collect();
            if matching.is_empty() {
                return Ok(step(
                    false,
                    format!("{} has no such {} factor", user.email, kind.as_str()),
                ));
            }
            for f in &matching {
                support::delete_factor_in_tx(tx, auth, &user.id, f).await?;
            }
            Ok(step(
                true,
                format!(
                    "Removed {} {} factor(s) of {}",
                    matching.len(),
                    kind.as_str(),
                    user.email
                ),
            ))
        }
        "update" => Ok(step(
            false,
            format!(
                "A {} factor of {} was updated at the transmitter; nothing to change",
                kind.as_str(),
                user.email
            ),
        )),
        other => Err(Failure::Refused(Refusal::request(format!(
            "change_type must be create, revoke, update or delete, not {}",
            clip(other, 40)
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caep_credential_types_map_to_factor_kinds_and_back() {
        for kind in FactorKind::ALL {
            let caep = crate::server::ssf_events::credential_type(kind.as_str());
            assert_eq!(factor_kind(caep), Some(kind), "{caep}");
        }
        assert_eq!(factor_kind("fido2-platform"), Some(FactorKind::Webauthn));
        assert_eq!(factor_kind("password"), None);
    }
}
