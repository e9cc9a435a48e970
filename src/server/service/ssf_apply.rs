//! What an accepted Security Event Token changes (Gatehouse as receiver), inside the
//! transaction that records its `jti`: the subject matched to accounts, then each event applied
//! through the same "one place" functions the console uses (status, factors, device trust), with
//! the transmitter as the audit records' actor. A legal no-op is `ignored` with its reason.
use crate::model::support::TrustState;
use crate::model::users::{UserDetail, UserStatus, ValidEmail};
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, ssf_in::Transmitter, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::{ssf_credentials, support, users};
use crate::server::ssf_events::{
    ACCOUNT_DISABLED, ACCOUNT_ENABLED, CREDENTIAL_CHANGE, VERIFICATION,
};
use crate::server::ssf_verify::{self, clip, Checked, Refusal, Subject};
use serde_json::{json, Value};

pub const SESSION_ESTABLISHED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-established";
pub const DEVICE_COMPLIANCE_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change";
/// Gatehouse's own counterpart of session-established for a sign-in that failed (CAEP has
/// none); its body is session-established's.
pub const SIGN_IN_FAILED: &str = "urn:gatehouse:secevent:sign-in-failed";
const MAX_SUMMARY: usize = 500;

/// What a token did, for its `ssf_received` row.
#[derive(Debug)]
pub struct Applied {
    /// `applied`, `unmatched` or `ignored`.
    pub result: &'static str,
    pub user_id: Option<String>,
    pub summary: String,
}

/// Why a token was not applied: its event does not conform (refused, nothing written), or
/// Gatehouse failed.
pub enum Failure {
    Refused(Refusal),
    Internal(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Internal(e)
    }
}

fn ignored(summary: impl Into<String>) -> Applied {
    Applied {
        result: "ignored",
        user_id: None,
        summary: clip(&summary.into(), MAX_SUMMARY),
    }
}

fn unmatched(summary: impl Into<String>) -> Applied {
    Applied {
        result: "unmatched",
        user_id: None,
        summary: clip(&summary.into(), MAX_SUMMARY),
    }
}

/// One account's part of an event: did it change anything, and the line that says so.
pub(crate) struct Step {
    pub user_id: String,
    pub changed: bool,
    pub line: String,
}

fn combine(steps: Vec<Step>) -> Applied {
    let changed = steps.iter().find(|s| s.changed);
    let user_id = changed.or(steps.first()).map(|s| s.user_id.clone());
    let summary = steps
        .iter()
        .map(|s| s.line.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Applied {
        result: if changed.is_some() {
            "applied"
        } else {
            "ignored"
        },
        user_id,
        summary: clip(&summary, MAX_SUMMARY),
    }
}

/// Applies one verified token's event.
pub async fn apply(
    db: &Db,
    tx: &mut Tx,
    t: &Transmitter,
    auth: &Authorized,
    checked: &Checked,
    claims: &Value,
    now_ms: i64,
) -> Result<Applied, Failure> {
    let event = &checked.event;
    let kind = checked.event_type.as_str();
    if kind == VERIFICATION {
        return Ok(ignored("Verification event: the stream works"));
    }
    let handled = [
        SESSION_ESTABLISHED,
        SIGN_IN_FAILED,
        CREDENTIAL_CHANGE,
        DEVICE_COMPLIANCE_CHANGE,
        ACCOUNT_DISABLED,
        ACCOUNT_ENABLED,
    ];
    if !handled.contains(&kind) {
        return Ok(ignored(format!(
            "Event type {} is not acted on",
            clip(kind, 200)
        )));
    }
    let Some(subject) = ssf_verify::subject(claims, event) else {
        return Err(Failure::Refused(Refusal::request(
            "the token names no subject (sub_id)",
        )));
    };
    if kind == DEVICE_COMPLIANCE_CHANGE {
        return device_compliance(db, tx, t, auth, &subject, event).await;
    }
    let user_subject = match &subject {
        Subject::Complex { user: Some(u), .. } => u.as_ref(),
        Subject::Complex { user: None, .. } => {
            return Ok(unmatched("The complex subject names no user"))
        }
        s => s,
    };
    let ids = match users_for(tx, t, user_subject).await? {
        Ok(ids) => ids,
        Err(why) => return Ok(unmatched(why)),
    };
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    db::users::lock_users(tx, db.engine, &refs)
        .await
        .map_err(internal)?;
    let at = event_time(event, checked.iat, now_ms);
    let mut steps = Vec::new();
    for id in &ids {
        let Some(user) = db::users::get(tx, id).await.map_err(internal)? else {
            continue;
        };
        let step = match kind {
            SESSION_ESTABLISHED | SIGN_IN_FAILED => {
                sign_in(tx, t, auth, &user, event, at, kind == SESSION_ESTABLISHED).await?
            }
            CREDENTIAL_CHANGE => ssf_credentials::credential(tx, auth, &user, event, at).await?,
            _ => status(db, tx, auth, &user, kind == ACCOUNT_DISABLED).await?,
        };
        steps.push(step);
    }
    if steps.is_empty() {
        return Ok(unmatched(format!("No user has {}", subject.describe())));
    }
    Ok(combine(steps))
}

/// CAEP's `event_timestamp` (seconds), else the token's `iat`, in ms; never in the future.
fn event_time(event: &Value, iat: i64, now_ms: i64) -> i64 {
    let secs = event["event_timestamp"].as_i64().unwrap_or(iat);
    secs.saturating_mul(1000).min(now_ms)
}

/// The accounts a user subject names, or why none.
async fn users_for(
    tx: &mut Tx,
    t: &Transmitter,
    subject: &Subject,
) -> Result<Result<Vec<String>, String>, AppError> {
    let source = t.source_id.as_deref();
    let ids = match subject {
        Subject::Email(raw) => match ValidEmail::parse(raw) {
            Ok(email) => db::ssf_subjects::users_by_email(tx, email.as_str(), source)
                .await
                .map_err(internal)?,
            Err(_) => Vec::new(),
        },
        Subject::IssSub { sub, .. } => {
            let Some(source) = source else {
                return Ok(Err(
                    "An iss_sub subject is matched in the transmitter's provisioning source, and it has none".into(),
                ));
            };
            db::users::id_by_external(tx, source, sub)
                .await
                .map_err(internal)?
                .into_iter()
                .collect()
        }
        Subject::Opaque(id) => match db::ssf_subjects::user_by_id(tx, id, source)
            .await
            .map_err(internal)?
        {
            Some(user) => vec![user],
            None => db::ssf_subjects::users_of_guid(tx, id, source)
                .await
                .map_err(internal)?,
        },
        Subject::Aliases(list) => {
            for alias in list {
                if let Ok(ids) = Box::pin(users_for(tx, t, alias)).await? {
                    if !ids.is_empty() {
                        return Ok(Ok(ids));
                    }
                }
            }
            Vec::new()
        }
        Subject::Complex { .. } => Vec::new(),
        Subject::Other(format) => {
            return Ok(Err(format!(
                "Subject format {format} is not matched to users"
            )))
        }
    };
    if ids.is_empty() {
        return Ok(Err(format!("No user has {}", subject.describe())));
    }
    Ok(Ok(ids))
}

fn strings(v: &Value, max: usize) -> Option<Vec<String>> {
    let list: Vec<String> = v
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .take(max)
        .map(|s| clip(s, 100))
        .collect();
    (!list.is_empty()).then_some(list)
}

/// CAEP session-established (the last sign-in moves forward) or Gatehouse's sign-in-failed:
/// a `user.sign_in` audit record either way, which the support desk counts.
async fn sign_in(
    tx: &mut Tx,
    t: &Transmitter,
    auth: &Authorized,
    user: &UserDetail,
    event: &Value,
    at: i64,
    succeeded: bool,
) -> Result<Step, AppError> {
    let mut details = json!({ "transmitter": t.id, "at": at });
    if let Some(ips) = strings(&event["ips"], 10) {
        details["ips"] = json!(ips);
    }
    if let Some(amr) = strings(&event["amr"], 10) {
        details["amr"] = json!(amr);
    }
    if let Some(acr) = event["acr"].as_str() {
        details["acr"] = json!(clip(acr, 100));
    }
    let outcome = if succeeded {
        db::ssf_subjects::note_sign_in(tx, &user.id, at)
            .await
            .map_err(internal)?;
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let entry = Entry::new("user.sign_in", outcome)
        .target("user", &user.id)
        .details(details);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    Ok(Step {
        user_id: user.id.clone(),
        changed: true,
        line: format!(
            "{} recorded for {}",
            if succeeded {
                "Sign-in"
            } else {
                "Failed sign-in"
            },
            user.email
        ),
    })
}

/// RISC account-disabled suspends an active account; account-enabled reactivates a suspended
/// one. Anything else is not a legal move for the transmitter and is ignored with the reason.
async fn status(
    db: &Db,
    tx: &mut Tx,
    auth: &Authorized,
    user: &UserDetail,
    disable: bool,
) -> Result<Step, AppError> {
    let (from, to) = if disable {
        (UserStatus::Active, UserStatus::Suspended)
    } else {
        (UserStatus::Suspended, UserStatus::Active)
    };
    let step = |changed: bool, line: String| Step {
        user_id: user.id.clone(),
        changed,
        line,
    };
    if user.status != from {
        return Ok(step(
            false,
            format!(
                "{} is {}; only an {} account is {}",
                user.email,
                user.status.as_str(),
                from.as_str(),
                if disable { "suspended" } else { "reactivated" }
            ),
        ));
    }
    match users::apply_status(db, tx, auth, user, to).await {
        Ok(()) => Ok(step(true, format!("{} is now {}", user.email, to.as_str()))),
        Err(AppError::Invalid { message, .. }) => Ok(step(false, message)),
        Err(e) => Err(e),
    }
}

/// CAEP device-compliance-change: the device named by the subject (complex: `device` and
/// `user`; or the device alone) is trusted when compliant, untrusted when not. A blocked
/// device stays blocked.
async fn device_compliance(
    db: &Db,
    tx: &mut Tx,
    t: &Transmitter,
    auth: &Authorized,
    subject: &Subject,
    event: &Value,
) -> Result<Applied, Failure> {
    let to = match event["current_status"].as_str() {
        Some("compliant") => TrustState::Trusted,
        Some("not-compliant") => TrustState::Untrusted,
        _ => {
            return Err(Failure::Refused(Refusal::request(
                "current_status must be compliant or not-compliant",
            )))
        }
    };
    let (device, owners) = match subject {
        Subject::Complex {
            device: Some(d),
            user,
        } => {
            let owners = match user {
                Some(u) => match users_for(tx, t, u).await? {
                    Ok(ids) => Some(ids),
                    Err(why) => return Ok(unmatched(why)),
                },
                None => None,
            };
            (d.clone(), owners)
        }
        Subject::Opaque(d) => (d.clone(), None),
        other => {
            return Ok(unmatched(format!(
                "A device-compliance-change names a device (complex or opaque subject), not {}",
                other.describe()
            )))
        }
    };
    let found = db::ssf_subjects::devices_matching(tx, &device, owners.as_deref())
        .await
        .map_err(internal)?;
    if found.is_empty() {
        return Ok(unmatched(format!("No device {}", clip(&device, 100))));
    }
    let mut steps = Vec::new();
    for id in found {
        let Some(before) = db::support::device_tx(tx, &id).await.map_err(internal)? else {
            continue;
        };
        let refs = [before.owner_user_id.as_str()];
        db::users::lock_users(tx, db.engine, &refs)
            .await
            .map_err(internal)?;
        let mut step = Step {
            user_id: before.owner_user_id.clone(),
            changed: false,
            line: String::new(),
        };
        if before.trust_state == to {
            step.line = format!("Device {} is already {}", before.name, to.as_str());
        } else if before.trust_state == TrustState::Blocked {
            step.line = format!("Device {} is blocked and stays blocked", before.name);
        } else {
            support::set_trust_in_tx(tx, auth, &before, to).await?;
            step.changed = true;
            step.line = format!(
                "Device {} of {} is now {}",
                before.name,
                before.owner_email,
                to.as_str()
            );
        }
        steps.push(step);
    }
    Ok(combine(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_time_is_never_in_the_future() {
        assert_eq!(
            event_time(&json!({"event_timestamp": 10}), 20, 99_000),
            10_000
        );
        assert_eq!(event_time(&json!({}), 20, 99_000), 20_000);
        assert_eq!(
            event_time(&json!({"event_timestamp": 500}), 20, 99_000),
            99_000
        );
    }

    #[test]
    fn several_accounts_make_one_line() {
        let a = combine(vec![
            Step {
                user_id: "u1".into(),
                changed: false,
                line: "a".into(),
            },
            Step {
                user_id: "u2".into(),
                changed: true,
                line: "b".into(),
            },
        ]);
        assert_eq!(a.result, "applied");
        assert_eq!(a.user_id.as_deref(), Some("u2"));
        assert_eq!(a.summary, "a; b");
    }
}
