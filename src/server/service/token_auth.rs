//! Authenticating management API tokens. A presented token is parsed (shape and checksum, no
//! look-up for garbage), then read once and kept for at most [`TRUST`]: a revocation, a disabled
//! service account or an expiry is seen by every instance within that time, and this instance
//! forgets everything at once after its own change (`Db::keys_changed`).
use crate::model::api::{Scope, TokenKind, TokenSummary};
use crate::model::{Principal, Role};
use crate::server::db::{self, api_tokens::TokenForAuth, Db};
use crate::server::service::audit::{self, Actor, Outcome, RequestMeta};
use crate::server::service::secrets;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read token is trusted without reading it again: a revocation made on another
/// instance is seen within this time. Judged by the instance's clock, so tests can drive it.
pub const TRUST: Duration = Duration::from_secs(1);
const TRUST_MS: i64 = TRUST.as_millis() as i64;
/// Entries kept at most (a flood of distinct well-formed tokens cannot grow memory).
const MAX_ENTRIES: usize = 100_000;

/// Why a token is refused. The reasons after `Unknown` are given only when the secret matched,
/// so a token id's existence never leaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Unknown,
    Expired,
    Revoked,
    Disabled,
    /// A personal token whose owner's role was removed or not confirmed for too long.
    RoleLost,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Malformed => "The bearer token is not a Gatehouse API token.",
            Refusal::Unknown => "The bearer token is not valid.",
            Refusal::Expired => "The bearer token has expired.",
            Refusal::Revoked => "The bearer token was revoked.",
            Refusal::Disabled => "The token's service account is disabled.",
            Refusal::RoleLost => {
                "The token's owner no longer holds a confirmed console role; they must sign in to the console again."
            }
        }
    }
}

/// An authenticated caller of the API.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenSummary,
    /// Personal tokens: the staff member's subject at the identity provider.
    pub owner_subject: Option<String>,
    /// Personal tokens: the owner's role as last confirmed by the identity provider.
    pub owner_role: Option<Role>,
}

impl Caller {
    pub fn holds(&self, scope: Scope) -> bool {
        self.token.scopes.contains(&scope)
    }

    pub fn is_personal(&self) -> bool {
        self.token.kind == TokenKind::Personal
    }
}

struct Entry {
    read_at_ms: i64,
    generation: u64,
    token: Option<Arc<TokenForAuth>>,
}

pub struct TokenAuthenticator {
    db: Db,
    /// A personal token works only while its owner's role was confirmed within this time.
    owner_ttl_ms: i64,
    cache: Mutex<HashMap<String, Entry>>,
    /// `(last used, uses, reads of people's data)` per token id since the last flush.
    usage: Mutex<HashMap<String, (i64, i64, i64)>>,
}

impl TokenAuthenticator {
    pub fn new(db: Db, owner_ttl: Duration) -> TokenAuthenticator {
        TokenAuthenticator {
            db,
            owner_ttl_ms: owner_ttl.as_millis() as i64,
            cache: Mutex::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
        }
    }

    async fn read(&self, id: &str, now_ms: i64) -> Result<Option<Arc<TokenForAuth>>, sqlx::Error> {
        let generation = self.db.key_changes.load(Ordering::Acquire);
        let fresh = |read_at_ms: i64| (0..TRUST_MS).contains(&(now_ms - read_at_ms));
        if let Some(e) = self.cache.lock().unwrap().get(id) {
            if e.generation == generation && fresh(e.read_at_ms) {
                return Ok(e.token.clone());
            }
        }
        let token = db::api_tokens::token_for_auth(&self.db.pool, id)
            .await?
            .map(Arc::new);
        let mut cache = self.cache.lock().unwrap();
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, e| fresh(e.read_at_ms));
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            id.to_string(),
            Entry {
                read_at_ms: now_ms,
                generation,
                token: token.clone(),
            },
        );
        Ok(token)
    }

    /// The caller a presented token stands for, at time `now_ms`.
    pub async fn authenticate(
        &self,
        presented: &str,
        now_ms: i64,
    ) -> Result<Result<Caller, Refusal>, sqlx::Error> {
        let Ok(id) = secrets::parse_token(presented.trim()) else {
            return Ok(Err(Refusal::Malformed));
        };
        let Some(token) = self.read(id, now_ms).await? else {
            return Ok(Err(Refusal::Unknown));
        };
        let Ok(stored) = <[u8; 32]>::try_from(hex::decode(&token.secret_hash).unwrap_or_default())
        else {
            return Ok(Err(Refusal::Unknown));
        };
        if !secrets::matches(&secrets::hash(presented.trim()), &stored) {
            return Ok(Err(Refusal::Unknown));
        }
        if token.summary.revoked_at.is_some() {
            return Ok(Err(Refusal::Revoked));
        }
        if token.summary.expires_at <= now_ms {
            return Ok(Err(Refusal::Expired));
        }
        if token
            .account_status
            .as_deref()
            .is_some_and(|s| s != "active")
        {
            return Ok(Err(Refusal::Disabled));
        }
        let owner_role = match token.summary.kind {
            TokenKind::Service => None,
            TokenKind::Personal => {
                let confirmed = token.owner_confirmed_at.unwrap_or(0);
                match token.owner_role.as_deref().and_then(Role::parse) {
                    Some(role) if now_ms - confirmed < self.owner_ttl_ms => Some(role),
                    _ => return Ok(Err(Refusal::RoleLost)),
                }
            }
        };
        let mut usage = self.usage.lock().unwrap();
        let used = usage.entry(token.summary.id.clone()).or_insert((0, 0, 0));
        used.0 = used.0.max(now_ms);
        used.1 += 1;
        Ok(Ok(Caller {
            token: token.summary.clone(),
            owner_subject: token.owner_subject.clone(),
            owner_role,
        }))
    }

    /// Counts a read of people's data by a token (flushed with its usage).
    pub fn count_personal_read(&self, token_id: &str) {
        let mut usage = self.usage.lock().unwrap();
        usage.entry(token_id.to_string()).or_insert((0, 0, 0)).2 += 1;
    }

    /// Writes the usage counted in memory every `flush_every`.
    pub fn spawn(self: &Arc<Self>, flush_every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(flush_every).await;
                if let Err(e) = me.flush_usage().await {
                    tracing::warn!(error = %e, "could not write token usage; will retry");
                }
            }
        });
    }

    /// Writes the usage counted since the last flush, in one transaction.
    pub async fn flush_usage(&self) -> Result<(), sqlx::Error> {
        let batch: Vec<(String, i64, i64, i64)> = {
            let mut usage = self.usage.lock().unwrap();
            usage
                .drain()
                .map(|(id, (at, n, reads))| (id, at, n, reads))
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        db::api_tokens::record_usage(&mut tx, &batch).await?;
        tx.commit().await
    }
}

/// The identity provider confirmed a staff member's role (sign-in or re-check): their personal
/// tokens may act under it.
pub async fn owner_confirmed(
    db: &Db,
    principal: &Principal,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    db::api_tokens::note_owner(
        &mut tx,
        &principal.subject,
        &principal.email,
        principal.role.as_str(),
        now_ms,
    )
    .await?;
    tx.commit().await
}

/// The identity provider no longer gives the person a role: their personal tokens are revoked,
/// audited in the same transaction, and every instance stops trusting them within [`TRUST`].
pub async fn owner_lost(
    db: &Db,
    actor: &Actor,
    meta: &RequestMeta,
    subject: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let revoked = db::api_tokens::drop_owner(&mut tx, subject, now_ms).await?;
    if !revoked.is_empty() {
        let entry = audit::Entry::new("api_token.revoke", Outcome::Success)
            .details(serde_json::json!({ "tokens": revoked, "reason": "owner_role_removed" }));
        audit::record(&mut tx, actor, meta, entry).await?;
    }
    tx.commit().await?;
    if !revoked.is_empty() {
        db.keys_changed();
    }
    Ok(())
}
