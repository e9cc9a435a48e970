//! Revoke everywhere and sign out everywhere (issue 16): one action on a person reaching every
//! place they are signed in or provisioned, and its progress target by target. Nothing here
//! touches I/O.
use serde::{Deserialize, Serialize};

/// The longest reason kept (the MFA reset's note has the same bound).
pub const MAX_REASON: usize = crate::model::support::MAX_NOTE;

/// What the caller gives: why (required) and the ticket it belongs to (optional).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"reason": "Laptop stolen, reported by phone", "ticket": "SEC-4711"})))]
#[serde(default)]
pub struct RevocationInput {
    /// Why, in a few words (required, at most 500 characters). Stays in Gatehouse: receivers
    /// are told only that it happened, with the ticket.
    pub reason: String,
    /// A ticket reference (optional): letters, digits and `- _ # / . :`, at most 64.
    pub ticket: String,
}

/// Which action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// Suspend every account, revoke keys and personal tokens, end console sessions, deactivate
    /// in every application, tell every receiver (account-disabled and session-revoked).
    Revoke,
    /// End console sessions and tell every receiver (session-revoked only).
    SignOut,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::Revoke => "revoke",
            RevocationKind::SignOut => "sign_out",
        }
    }

    pub fn parse(s: &str) -> RevocationKind {
        if s == "revoke" {
            RevocationKind::Revoke
        } else {
            RevocationKind::SignOut
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RevocationKind::Revoke => "Revoke everywhere",
            RevocationKind::SignOut => "Sign out everywhere",
        }
    }

    /// The audit action of the act; `<action>.settled` records the outcome.
    pub fn action(self) -> &'static str {
        match self {
            RevocationKind::Revoke => "person.revoke_everywhere",
            RevocationKind::SignOut => "person.sign_out_everywhere",
        }
    }
}

/// One action on a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// `rev_...`
    pub id: String,
    /// The person (the survivor when a merged GUID was named).
    pub guid: String,
    pub kind: RevocationKind,
    /// Who started it.
    pub actor: String,
    pub reason: String,
    pub ticket: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms when every target had finished; `None` while one is waiting.
    pub settled_at: Option<i64>,
}

/// Where a target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Done in Gatehouse itself, in the action's transaction.
    Done,
    /// Queued or being retried.
    Waiting,
    /// The application or receiver accepted it.
    Confirmed,
    /// Given up: attempts exhausted (dead-lettered) or dropped with the receiver's stream.
    Failed,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Done => "done",
            TargetState::Waiting => "waiting",
            TargetState::Confirmed => "confirmed",
            TargetState::Failed => "failed",
        }
    }

    pub fn finished(self) -> bool {
        self != TargetState::Waiting
    }
}

/// One place the action reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevocationTarget {
    /// `account`, `api_key`, `api_token`, `session` (done here) or `application`, `receiver`
    /// (delivered through the outbox).
    pub kind: String,
    /// The account, key, token, session (hashed id), provisioning target or receiver.
    pub id: String,
    pub name: String,
    /// The console page of the target, if it has one.
    pub href: String,
    pub state: TargetState,
    /// What was done here (local targets), or what is waiting (outbound ones).
    pub detail: String,
    /// Outbox messages of this action for the target.
    pub messages: i64,
    /// Attempts of the message tried most (outbound targets).
    pub attempts: i64,
    /// The last error, while retrying or once failed.
    pub error: String,
}

impl RevocationTarget {
    pub fn outbound(&self) -> bool {
        self.kind == "application" || self.kind == "receiver"
    }
}

/// An action and where each target stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevocationProgress {
    pub revocation: Revocation,
    /// Local targets first (done), then applications, then receivers.
    pub targets: Vec<RevocationTarget>,
    /// Outbound targets (applications and receivers).
    pub outbound: i64,
    pub confirmed: i64,
    pub waiting: i64,
    pub failed: i64,
    /// Local targets done in Gatehouse.
    pub done: i64,
    /// Every target has finished (the same as `revocation.settled_at` being set).
    pub settled: bool,
}

impl RevocationProgress {
    /// "3 of 7 confirmed" (outbound targets), or what was done when nothing went out.
    pub fn summary(&self) -> String {
        if self.outbound == 0 {
            return format!(
                "{} done in Gatehouse; nothing to deliver",
                plural(self.done, "target")
            );
        }
        let mut s = format!("{} of {} confirmed", self.confirmed, self.outbound);
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        if self.waiting > 0 {
            s.push_str(&format!(", {} waiting", self.waiting));
        }
        s
    }
}

/// What an action on this person would reach now (the console's warning shows it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevocationPreview {
    pub accounts: i64,
    /// Accounts that are active now and would be suspended.
    pub suspendable: i64,
    /// Active API keys owned by the person's accounts.
    pub keys: i64,
    /// Live personal API tokens of staff with one of the person's emails.
    pub tokens: i64,
    /// Open console sessions of staff with one of the person's emails.
    pub sessions: i64,
    /// Applications whose SCIM target hears of this person.
    pub applications: i64,
    /// Receivers whose stream delivers account-disabled or session-revoked.
    pub receivers: i64,
}

/// The person page's view: what an action would reach, and the actions so far (newest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonRevocations {
    pub guid: String,
    pub preview: RevocationPreview,
    pub revocations: Vec<Revocation>,
}

pub fn plural(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(outbound: i64, confirmed: i64, failed: i64, done: i64) -> RevocationProgress {
        RevocationProgress {
            revocation: Revocation {
                id: "rev_1".into(),
                guid: "g_1".into(),
                kind: RevocationKind::Revoke,
                actor: "a@x".into(),
                reason: "r".into(),
                ticket: String::new(),
                created_at: 0,
                settled_at: None,
            },
            targets: Vec::new(),
            outbound,
            confirmed,
            waiting: outbound - confirmed - failed,
            failed,
            done,
            settled: false,
        }
    }

    #[test]
    fn the_summary_counts_outbound_targets() {
        assert_eq!(
            progress(7, 3, 0, 2).summary(),
            "3 of 7 confirmed, 4 waiting"
        );
        assert_eq!(progress(2, 1, 1, 0).summary(), "1 of 2 confirmed, 1 failed");
        assert_eq!(
            progress(0, 0, 0, 1).summary(),
            "1 target done in Gatehouse; nothing to deliver"
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in [RevocationKind::Revoke, RevocationKind::SignOut] {
            assert_eq!(RevocationKind::parse(k.as_str()), k);
        }
    }
}
