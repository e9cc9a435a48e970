//! The progress of a revocation: each outbound target's state read from the outbox messages the
//! action wrote, and its settlement. Whoever first sees every target finished (the delivery
//! worker after a turn, or anyone reading the progress) settles it with a compare-and-set, so
//! exactly one `<action>.settled` audit record holds every target's outcome, with or without a
//! browser open.
use crate::model::revocations::*;
use crate::model::AppError;
use crate::server::db::{self, revocations::MessageState, revocations::TargetRow, Db, Tx};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use std::collections::HashMap;

/// Unsettled revocations looked at per worker turn.
const OPEN_PER_TURN: i64 = 200;

/// A target done in Gatehouse itself.
pub(crate) fn local_target(t: &TargetRow) -> RevocationTarget {
    RevocationTarget {
        kind: t.kind.clone(),
        id: t.target_id.clone(),
        name: t.name.clone(),
        href: t.href.clone(),
        state: TargetState::Done,
        detail: t.detail.clone(),
        messages: 0,
        attempts: 0,
        error: String::new(),
    }
}

/// An outbound target's state from its messages. Any message still pending: waiting. An
/// application hears "this person changed", and a delivery answers every older message about
/// them, so it is confirmed when its newest message was delivered. A receiver gets distinct
/// tokens: confirmed when every one was delivered; a token dropped with its stream (disabled or
/// deleted) or dead-lettered fails it.
fn outbound_target(t: &TargetRow, states: &HashMap<i64, &MessageState>) -> RevocationTarget {
    let found: Vec<&MessageState> = t
        .messages
        .iter()
        .filter_map(|s| states.get(s).copied())
        .collect();
    let pending: Vec<&&MessageState> = found.iter().filter(|m| m.state == "pending").collect();
    let dead = found.iter().find(|m| m.state == "dead");
    let (state, attempts, error, detail) =
        if let Some(busiest) = pending.iter().max_by_key(|m| (m.attempts, m.seq)) {
            let detail = if busiest.attempts == 0 {
                format!("{} queued", plural(pending.len() as i64, "message"))
            } else {
                format!("Retrying after {}", plural(busiest.attempts, "attempt"))
            };
            (
                TargetState::Waiting,
                busiest.attempts,
                busiest.error.clone().unwrap_or_default(),
                detail,
            )
        } else if t.kind == "application" {
            match found.iter().max_by_key(|m| m.seq) {
                Some(newest) if newest.state == "delivered" => (
                    TargetState::Confirmed,
                    newest.attempts,
                    String::new(),
                    "Delivered".into(),
                ),
                Some(newest) => (
                    TargetState::Failed,
                    newest.attempts,
                    newest.error.clone().unwrap_or_default(),
                    "Given up after the target's attempt limit".into(),
                ),
                None => (
                    TargetState::Failed,
                    0,
                    String::new(),
                    "The application's provisioning target was removed".into(),
                ),
            }
        } else if found.len() < t.messages.len() {
            (
                TargetState::Failed,
                0,
                String::new(),
                "Dropped: the receiver's stream was disabled or deleted".into(),
            )
        } else if let Some(dead) = dead {
            (
                TargetState::Failed,
                dead.attempts,
                dead.error.clone().unwrap_or_default(),
                "Given up after the receiver's attempt limit".into(),
            )
        } else {
            let attempts = found.iter().map(|m| m.attempts).max().unwrap_or(0);
            (
                TargetState::Confirmed,
                attempts,
                String::new(),
                format!("{} accepted", plural(found.len() as i64, "event")),
            )
        };
    RevocationTarget {
        kind: t.kind.clone(),
        id: t.target_id.clone(),
        name: t.name.clone(),
        href: t.href.clone(),
        state,
        detail,
        messages: t.messages.len() as i64,
        attempts,
        error,
    }
}

fn counted(revocation: Revocation, targets: Vec<RevocationTarget>) -> RevocationProgress {
    let count = |s: TargetState| targets.iter().filter(|t| t.state == s).count() as i64;
    let (confirmed, waiting, failed, done) = (
        count(TargetState::Confirmed),
        count(TargetState::Waiting),
        count(TargetState::Failed),
        count(TargetState::Done),
    );
    RevocationProgress {
        settled: revocation.settled_at.is_some(),
        outbound: targets.iter().filter(|t| t.outbound()).count() as i64,
        revocation,
        targets,
        confirmed,
        waiting,
        failed,
        done,
    }
}

/// Reads a revocation as it stands: a settled one as recorded when it settled (a later replay
/// of the messages does not reopen it), an open one from its messages now.
async fn read(db: &Db, id: &str) -> Result<Option<RevocationProgress>, sqlx::Error> {
    let Some((revocation, outcome)) = db::revocations::get(&db.pool, id).await? else {
        return Ok(None);
    };
    if revocation.settled_at.is_some() {
        if let Ok(targets) = serde_json::from_str::<Vec<RevocationTarget>>(&outcome) {
            return Ok(Some(counted(revocation, targets)));
        }
    }
    let rows = db::revocations::targets(&db.pool, id).await?;
    let seqs: Vec<i64> = rows.iter().flat_map(|t| t.messages.clone()).collect();
    let states = db::revocations::message_states(&db.pool, &seqs).await?;
    let by_seq: HashMap<i64, &MessageState> = states.iter().map(|m| (m.seq, m)).collect();
    let targets = rows
        .iter()
        .map(|t| {
            if t.messages.is_empty() {
                local_target(t)
            } else {
                outbound_target(t, &by_seq)
            }
        })
        .collect();
    Ok(Some(counted(revocation, targets)))
}

/// Where every target of a revocation stands; settles it when every one has finished. Needs
/// no caller: the benchmark and the REST edge poll this.
pub async fn progress(db: &Db, id: &str) -> Result<RevocationProgress, AppError> {
    let not_found = || AppError::NotFound("The revocation".into());
    let id = id.trim();
    if !id.starts_with("rev_") || id.len() > 64 {
        return Err(not_found());
    }
    let p = read(db, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    if p.settled || p.waiting > 0 {
        return Ok(p);
    }
    settle(db, &p).await.map_err(internal)?;
    read(db, id).await.map_err(internal)?.ok_or_else(not_found)
}

/// Settles `p` (every target finished) unless someone else did first; true when this call did.
async fn settle(db: &Db, p: &RevocationProgress) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let r = &p.revocation;
    if !settle_in(&mut tx, &r.id, &r.guid, r.kind, &p.targets).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// The compare-and-set and the one audit record with every target's outcome, inside `tx`
/// (the action's own when nothing went out). Gatehouse itself is the actor: it observed the
/// outcome, whoever asked.
pub(crate) async fn settle_in(
    tx: &mut Tx,
    id: &str,
    guid: &str,
    kind: RevocationKind,
    targets: &[RevocationTarget],
) -> Result<bool, sqlx::Error> {
    let outcome = serde_json::to_string(targets).unwrap_or_else(|_| "[]".into());
    if !db::revocations::settle(tx, id, db::now_ms(), &outcome).await? {
        return Ok(false);
    }
    let failed = targets
        .iter()
        .filter(|t| t.state == TargetState::Failed)
        .count();
    let count = |s: TargetState| targets.iter().filter(|t| t.state == s).count();
    let action = format!("{}.settled", kind.action());
    let entry = Entry::new(
        &action,
        if failed == 0 {
            Outcome::Success
        } else {
            Outcome::Failed
        },
    )
    .target("guid", guid)
    .details(serde_json::json!({
        "revocation": id,
        "confirmed": count(TargetState::Confirmed),
        "failed": failed,
        "done": count(TargetState::Done),
        "targets": targets.iter().map(|t| serde_json::json!({
            "kind": t.kind, "id": t.id, "name": t.name, "state": t.state.as_str(),
            "attempts": t.attempts, "error": t.error,
        })).collect::<Vec<_>>(),
    }));
    audit::record(tx, &Actor::system(), &RequestMeta::default(), entry).await?;
    Ok(true)
}

/// Settles every open revocation whose targets have all finished; the delivery worker calls
/// this after a turn that delivered or gave up on something. The number settled.
pub async fn settle_finished(db: &Db) -> Result<usize, sqlx::Error> {
    let mut settled = 0;
    for id in db::revocations::open(&db.pool, OPEN_PER_TURN).await? {
        let Some(p) = read(db, &id).await? else {
            continue;
        };
        if !p.settled && p.waiting == 0 && settle(db, &p).await? {
            settled += 1;
        }
    }
    Ok(settled)
}

/// A person's revocations (newest first) and what an action would reach now.
pub async fn of_person(db: &Db, guid: &str) -> Result<PersonRevocations, AppError> {
    let view = crate::server::service::users::guid_view(db, guid).await?;
    let emails: Vec<String> = view
        .accounts
        .iter()
        .map(|a| a.email.to_lowercase())
        .collect();
    let now = db::now_ms();
    let mut preview = db::revocations::preview(&db.pool, &view.guid, &emails, now)
        .await
        .map_err(internal)?;
    preview.receivers = db::revocations::listening_streams(&db.pool)
        .await
        .map_err(internal)?
        .iter()
        .filter(|requested| {
            let requested: Vec<String> = serde_json::from_str(requested).unwrap_or_default();
            db::ssf::delivered(&requested).iter().any(|e| {
                e == crate::server::ssf_events::SESSION_REVOKED
                    || e == crate::server::ssf_events::ACCOUNT_DISABLED
            })
        })
        .count() as i64;
    let revocations = db::revocations::of_person(&db.pool, &view.guid, 50)
        .await
        .map_err(internal)?;
    Ok(PersonRevocations {
        guid: view.guid,
        preview,
        revocations,
    })
}
