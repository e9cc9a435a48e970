//! What a Gatehouse session holds, and the server-side absolute timeout.
use crate::model::Principal;
use crate::server::auth::oidc::PendingSignIn;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tower_sessions::Session;

const SIGNED_IN: &str = "signed_in";
const PENDING: &str = "pending_sign_in";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    pub principal: Principal,
    /// Unix seconds; the absolute timeout counts from here.
    pub signed_in_at: i64,
    /// Unix seconds of the last request seen (refreshed at most once a minute); the idle timeout counts from here.
    pub last_seen: i64,
    /// Kept for RP-initiated logout (`id_token_hint`).
    pub id_token: String,
    /// The person's IdP groups as last seen; the role is derived from them with the role map in
    /// force on every request, so a changed `GATEHOUSE_ROLE_MAP` applies to existing sessions.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Tokens for asking the provider again (userinfo, refresh). Kept only in the server-side
    /// session store, never in the cookie.
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Unix seconds of the last successful role check at the provider.
    #[serde(default)]
    pub checked_at: i64,
}

/// Session lifetimes, enforced here on the server whatever the cookie says.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

/// The signed-in person, or `None`. A session idle too long or past its absolute lifetime, or
/// whose groups no longer map to a role, is ended here. The role is derived afresh from the
/// groups on every request. Activity is written back at most once a minute, not on every request.
pub async fn current(session: &Session, state: &crate::server::AppState) -> Option<SignedIn> {
    let (timeouts, oidc) = (state.timeouts(), &state.config.oidc);
    let mut signed_in: SignedIn = session.get(SIGNED_IN).await.ok().flatten()?;
    let Some(role) = oidc.role_for(&signed_in.groups) else {
        let _ = session.flush().await;
        return None;
    };
    signed_in.principal.role = role;
    let now = state.clock.now_secs();
    let age = now - signed_in.signed_in_at;
    let idle = now - signed_in.last_seen;
    if age < 0
        || age as u64 >= timeouts.absolute.as_secs()
        || idle as u64 >= timeouts.idle.as_secs()
    {
        let _ = session.flush().await;
        return None;
    }
    if idle >= 60 {
        signed_in.last_seen = now;
        let _ = session.insert(SIGNED_IN, &signed_in).await;
    }
    Some(signed_in)
}

/// Starts a fresh session for the person: a new session id (no fixation), nothing carried over.
/// Returns the new session's id (saved at once, so the console sessions list can name it).
pub async fn establish(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<String, tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(SIGNED_IN, signed_in).await?;
    session.save().await?;
    Ok(session.id().map(|id| id.to_string()).unwrap_or_default())
}

/// Stores what a role check at the provider found.
pub async fn update(
    session: &Session,
    signed_in: &SignedIn,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(SIGNED_IN, signed_in).await
}

/// The id of this browser's session, if it has one.
pub fn id(session: &Session) -> Option<String> {
    session.id().map(|id| id.to_string())
}

pub async fn set_pending(
    session: &Session,
    pending: &PendingSignIn,
) -> Result<(), tower_sessions::session::Error> {
    session.insert(PENDING, pending).await
}

/// Takes the pending sign-in out of the session, so a callback can be used once only.
/// A session without one is left untouched (no write, no cookie).
pub async fn take_pending(session: &Session) -> Option<PendingSignIn> {
    let pending: PendingSignIn = session.get(PENDING).await.ok().flatten()?;
    let _ = session.remove_value(PENDING).await;
    Some(pending)
}

/// Creates a signed-in session record directly in the store, bypassing the identity provider.
/// Only for the benchmark harness, which measures pages rather than sign-in.
pub async fn create_for_benchmark(
    store: &crate::server::db::SessionStore,
    principal: Principal,
    groups: Vec<String>,
) -> Result<String, String> {
    use tower_sessions::session::{Id, Record};
    use tower_sessions::SessionStore as _;
    let now = chrono::Utc::now().timestamp();
    let signed_in = SignedIn {
        principal,
        signed_in_at: now,
        last_seen: now,
        id_token: String::new(),
        groups,
        access_token: None,
        refresh_token: None,
        // A benchmark session is never re-checked at a provider within its run.
        checked_at: now + 86_400,
    };
    let value = serde_json::to_value(&signed_in).map_err(|e| e.to_string())?;
    let mut record = Record {
        id: Id::default(),
        data: [(SIGNED_IN.to_string(), value)].into_iter().collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(2),
    };
    store.create(&mut record).await.map_err(|e| e.to_string())?;
    Ok(record.id.to_string())
}
