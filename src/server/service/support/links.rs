//! The one-time re-enrollment link a reset issues: checked when opened, used once when posted.
//! Using is one conditional UPDATE (unused and unexpired), so of two uses at the same moment
//! exactly one succeeds, on both engines; the loser is refused as already used.
use super::reset::token_hash;
use crate::model::AppError;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use serde_json::json;

/// Why a re-enrollment link cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

impl LinkProblem {
    pub fn message(&self) -> &'static str {
        match self {
            LinkProblem::Unknown => "This re-enrollment link is not valid. Check that you copied all of it, or ask the support desk for a new one.",
            LinkProblem::Used => "This re-enrollment link has already been used. Each link works once; ask the support desk for a new one.",
            LinkProblem::Expired => "This re-enrollment link has expired. Ask the support desk for a new one.",
        }
    }
}

fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a link can be used now (without using it).
pub async fn check_link(db: &Db, token: &str) -> Result<Result<(), LinkProblem>, AppError> {
    if !plausible_token(token) {
        return Ok(Err(LinkProblem::Unknown));
    }
    let mut tx = db.pool.begin().await.map_err(internal)?;
    let link = db::support::link_tx(&mut tx, &token_hash(token))
        .await
        .map_err(internal)?;
    Ok(match link {
        None => Err(LinkProblem::Unknown),
        Some(l) if l.used_at.is_some() => Err(LinkProblem::Used),
        Some(l) if l.expires_at <= db::now_ms() => Err(LinkProblem::Expired),
        Some(_) => Ok(()),
    })
}

/// Uses a re-enrollment link once: marks it used (audited `mfa.enrollment_link.used`). A used or
/// expired link is refused (and the refusal audited); an unknown one is refused.
pub async fn use_link(
    db: &Db,
    meta: &RequestMeta,
    token: &str,
) -> Result<Result<String, LinkProblem>, AppError> {
    if !plausible_token(token) {
        return Ok(Err(LinkProblem::Unknown));
    }
    let hash = token_hash(token);
    let mut tx = db.begin_write().await.map_err(internal)?;
    let Some(link) = db::support::link_tx(&mut tx, &hash)
        .await
        .map_err(internal)?
    else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let now = db::now_ms();
    let problem = if link.used_at.is_some() {
        Some(LinkProblem::Used)
    } else if link.expires_at <= now {
        Some(LinkProblem::Expired)
    } else if !db::support::use_link(&mut tx, &hash, now)
        .await
        .map_err(internal)?
    {
        Some(LinkProblem::Used)
    } else {
        None
    };
    let user = db::users::get(&mut tx, &link.user_id)
        .await
        .map_err(internal)?;
    let actor = Actor {
        subject: None,
        email: user.as_ref().map(|u| u.email.clone()),
        role: None,
    };
    let (outcome, why) = match &problem {
        None => (Outcome::Success, None),
        Some(LinkProblem::Used) => (Outcome::Failed, Some("already_used")),
        Some(LinkProblem::Expired) => (Outcome::Failed, Some("expired")),
        Some(LinkProblem::Unknown) => (Outcome::Failed, Some("unknown")),
    };
    let entry = Entry::new("mfa.enrollment_link.used", outcome)
        .target("user", &link.user_id)
        .details(json!({ "reset_id": link.reset_id, "refused": why }));
    audit::record(&mut tx, &actor, meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(match problem {
        Some(p) => Err(p),
        None => Ok(user.map(|u| u.display_name).unwrap_or_default()),
    })
}
