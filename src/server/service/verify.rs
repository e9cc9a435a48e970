//! Key verification for API gateways: the hot path. Keys are cached in process; the database is
//! read once per key (and once per unknown key id) until something changes it.
//!
//! Revocation on every instance: every change to a key, an application or a user is written with
//! its audit record, and audit sequence numbers are handed out in commit order (the chain head is
//! locked until commit). Each instance reads the audit events after the last one it saw every
//! 250 ms and drops the cache entries they touch. The cache is trusted only while that poll has
//! succeeded within the last second; otherwise every verification reads the database. So a
//! revocation is seen everywhere within about 250 ms plus one poll, and never later than 1 s.
use crate::server::clock::Clock;
use crate::server::db::{self, apps::KeyForVerify, Db};
use crate::server::metrics::Metrics;
use crate::server::service::rate_limit::FailureLimiter;
use crate::server::service::secrets;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// The cache is trusted this long after the last successful poll.
pub const TRUST_FOR_MS: i64 = 1000;
/// Past this many entries the cache starts over (protects memory from floods of unknown ids).
const MAX_ENTRIES: usize = 500_000;

/// Why a key is refused. The reasons after `Invalid` are given only for a key whose secret
/// matched, so a caller learns nothing about key ids it does not hold the secret for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Wrong shape or checksum: refused without a look-up.
    Malformed,
    /// No such key, or a wrong secret.
    Invalid,
    Expired,
    Revoked,
    /// Its application is disabled, or its owner is no longer active or assigned.
    Disabled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Invalid => "invalid",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::Disabled => "disabled",
        }
    }
}

/// A cached key: what the database said, with the answer for a valid key pre-rendered.
pub struct CachedKey {
    pub row: KeyForVerify,
    hash: [u8; 32],
    /// The JSON body answered for this key while it is valid.
    pub valid_body: axum::body::Bytes,
}

enum Entry {
    Missing,
    Key(Arc<CachedKey>),
}

pub enum Verdict {
    Valid(Arc<CachedKey>),
    Refused(Reason),
}

#[derive(Debug)]
pub struct Unavailable;

pub struct Verifier {
    db: Db,
    /// Judges trust and expiry; tests drive it instead of sleeping.
    clock: Arc<Clock>,
    cache: RwLock<HashMap<String, Entry>>,
    /// The last audit sequence number the cache has caught up with.
    seen_seq: AtomicI64,
    trusted_until: AtomicI64,
    usage: Mutex<HashMap<String, (i64, i64)>>,
    /// Failures of callers that did not authenticate, per client IP.
    anonymous: FailureLimiter<IpAddr>,
    /// Failures of keys presented by an authenticated gateway, per gateway key and end client.
    per_client: FailureLimiter<(String, IpAddr)>,
    /// The value of `Db::key_changes` the last poll started from.
    polled_changes: AtomicU64,
    /// Cache hits and misses, and the runs of the poll and the usage writer.
    metrics: Arc<Metrics>,
}

impl Verifier {
    pub fn new(
        db: Db,
        clock: Arc<Clock>,
        failures_per_minute: u32,
        metrics: Arc<Metrics>,
    ) -> Verifier {
        Verifier {
            db,
            clock,
            cache: RwLock::new(HashMap::new()),
            seen_seq: AtomicI64::new(-1),
            trusted_until: AtomicI64::new(0),
            usage: Mutex::new(HashMap::new()),
            anonymous: FailureLimiter::new(failures_per_minute, 60_000),
            per_client: FailureLimiter::new(failures_per_minute, 60_000),
            polled_changes: AtomicU64::new(0),
            metrics,
        }
    }

    /// Starts the poll that keeps the cache current and the usage writer.
    pub fn spawn(self: &Arc<Self>, flush_every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let result = me.poll().await;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "key cache: could not read changes; verifying against the database");
                }
                me.metrics.task("key_cache_poll", result.is_ok());
                tokio::time::sleep(POLL_EVERY).await;
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(flush_every).await;
                let result = me.flush_usage().await;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "could not write key usage; will retry");
                }
                me.metrics.task("key_usage_flush", result.is_ok());
                let now = me.clock.now_ms();
                me.anonymous.forget_old(now);
                me.per_client.forget_old(now);
            }
        });
    }

    /// Reads the changes since the last poll and drops the cache entries they touch.
    pub async fn poll(&self) -> Result<(), sqlx::Error> {
        let started = self.clock.now_ms();
        let mut seen = self.seen_seq.load(Ordering::Acquire);
        if seen < 0 {
            // First poll: everything cached so far was read after this point.
            seen = db::apps::head_seq(&self.db.pool).await?;
            self.cache.write().map(|mut c| c.clear()).ok();
        }
        loop {
            let events = db::apps::key_events_after(&self.db.pool, seen).await?;
            let Some(last) = events.last().map(|e| e.0) else {
                break;
            };
            self.invalidate(&events);
            seen = last;
            self.seen_seq.store(seen, Ordering::Release);
            if events.len() < 5000 {
                break;
            }
        }
        self.seen_seq.store(seen, Ordering::Release);
        self.trusted_until
            .store(started + TRUST_FOR_MS, Ordering::Release);
        Ok(())
    }

    fn invalidate(&self, events: &[(i64, String, Option<String>)]) {
        let mut keys = HashSet::new();
        let mut apps = HashSet::new();
        let mut users = HashSet::new();
        let mut people_changed = false;
        for (_, action, target) in events {
            let target = target.clone().unwrap_or_default();
            if action.starts_with("api_key.") {
                keys.insert(target);
            } else if action.starts_with("application.") {
                apps.insert(target);
            } else if action.starts_with("user.") {
                users.insert(target);
            } else if action.starts_with("guid.") || action.starts_with("group.") {
                people_changed = true;
            }
        }
        if keys.is_empty() && apps.is_empty() && users.is_empty() && !people_changed {
            return;
        }
        let Ok(mut cache) = self.cache.write() else {
            return;
        };
        for k in &keys {
            cache.remove(k);
        }
        if !apps.is_empty() || !users.is_empty() || people_changed {
            cache.retain(|_, e| match e {
                Entry::Missing => true,
                Entry::Key(k) => {
                    !apps.contains(&k.row.application_id)
                        && !k
                            .row
                            .owner_user_id
                            .as_ref()
                            .is_some_and(|u| users.contains(u) || people_changed)
                }
            });
        }
    }

    fn trusted(&self, now: i64) -> bool {
        now < self.trusted_until.load(Ordering::Acquire)
    }

    /// Checks a presented key. `Err` only when the database is needed and unreachable.
    pub async fn verify(&self, presented: &str) -> Result<Verdict, Unavailable> {
        let id = match secrets::parse_key(presented) {
            Ok(id) => id,
            Err(_) => return Ok(Verdict::Refused(Reason::Malformed)),
        };
        let changes = self.db.key_changes.load(Ordering::Acquire);
        if changes != self.polled_changes.load(Ordering::Acquire) {
            // This instance committed a change: catch up before answering.
            if self.poll().await.is_ok() {
                self.polled_changes.store(changes, Ordering::Release);
            }
        }
        let now = self.clock.now_ms();
        let cached = if self.trusted(now) {
            self.cache.read().ok().and_then(|c| match c.get(id) {
                Some(Entry::Missing) => Some(None),
                Some(Entry::Key(k)) => Some(Some(k.clone())),
                None => None,
            })
        } else {
            None
        };
        self.metrics.note_key_cache(cached.is_some());
        let key = match cached {
            Some(k) => k,
            None => self.load(id).await?,
        };
        let Some(key) = key else {
            return Ok(Verdict::Refused(Reason::Invalid));
        };
        if !secrets::matches(&secrets::hash(presented), &key.hash) {
            return Ok(Verdict::Refused(Reason::Invalid));
        }
        let row = &key.row;
        let verdict = if row.revoked {
            Verdict::Refused(Reason::Revoked)
        } else if row.expires_at.is_some_and(|e| e <= now) {
            Verdict::Refused(Reason::Expired)
        } else if !(row.application_active && row.owner_active && row.owner_assigned) {
            Verdict::Refused(Reason::Disabled)
        } else {
            self.count_use(&row.id, now);
            Verdict::Valid(key)
        };
        Ok(verdict)
    }

    async fn load(&self, id: &str) -> Result<Option<Arc<CachedKey>>, Unavailable> {
        let seen_before = self.seen_seq.load(Ordering::Acquire);
        let row = db::apps::key_for_verify(&self.db.pool, id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "key verification: database unreachable");
                Unavailable
            })?;
        let key = row.map(|row| {
            let hash = hex::decode(&row.secret_hash)
                .ok()
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .unwrap_or([0; 32]);
            let valid_body = valid_body(&row);
            Arc::new(CachedKey {
                row,
                hash,
                valid_body,
            })
        });
        // Cache only if no poll ran meanwhile: a change the poll saw may postdate what we read.
        if let Ok(mut cache) = self.cache.write() {
            if self.seen_seq.load(Ordering::Acquire) == seen_before && seen_before >= 0 {
                if cache.len() >= MAX_ENTRIES {
                    cache.clear();
                }
                let entry = match &key {
                    Some(k) => Entry::Key(k.clone()),
                    None => Entry::Missing,
                };
                cache.insert(id.to_string(), entry);
            }
        }
        Ok(key)
    }

    fn count_use(&self, id: &str, now: i64) {
        if let Ok(mut usage) = self.usage.lock() {
            match usage.get_mut(id) {
                Some(u) => {
                    u.0 = now;
                    u.1 += 1;
                }
                None => {
                    usage.insert(id.to_string(), (now, 1));
                }
            }
        }
    }

    /// Writes the usage counted since the last flush, in one transaction.
    pub async fn flush_usage(&self) -> Result<(), sqlx::Error> {
        let batch: Vec<(String, i64, i64)> = match self.usage.lock() {
            Ok(mut usage) => usage.drain().map(|(id, (at, n))| (id, at, n)).collect(),
            Err(_) => return Ok(()),
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        for chunk in batch.chunks(150) {
            db::apps::record_usage(&mut tx, chunk).await?;
        }
        tx.commit().await
    }

    /// An unauthenticated caller from this address failed too often recently. Only ever
    /// asked after the caller failed to authenticate, so a gateway holding a valid key is
    /// never refused because of others sharing its address.
    pub fn anonymous_limited(&self, client: IpAddr) -> bool {
        self.anonymous.is_limited(&client, self.clock.now_ms())
    }

    pub fn anonymous_failed(&self, client: IpAddr) {
        self.anonymous.fail(client, self.clock.now_ms());
    }

    /// The end client a gateway reported failed too often through that gateway. The gateway
    /// itself and its other clients are not affected.
    pub fn client_limited(&self, gateway_key: &str, client: IpAddr) -> bool {
        self.per_client
            .is_limited(&(gateway_key.to_string(), client), self.clock.now_ms())
    }

    pub fn client_failed(&self, gateway_key: &str, client: IpAddr) {
        self.per_client
            .fail((gateway_key.to_string(), client), self.clock.now_ms());
    }
}

fn valid_body(row: &KeyForVerify) -> axum::body::Bytes {
    let owner = match &row.owner_user_id {
        Some(user) => serde_json::json!({ "type": "user", "id": user, "email": row.owner_email }),
        None => serde_json::json!({ "type": "application", "id": row.application_id }),
    };
    let body = serde_json::json!({
        "valid": true,
        "key_id": row.id,
        "prefix": format!("{}{}", secrets::KEY_PREFIX, row.id),
        "application": { "id": row.application_id, "name": row.application_name },
        "owner": owner,
        "scopes": row.scopes,
        "expires_at": row.expires_at.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    });
    axum::body::Bytes::from(body.to_string())
}
