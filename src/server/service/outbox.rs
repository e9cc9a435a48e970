//! The delivery worker: sends the outbox's messages to their targets (SCIM provisioning targets
//! and webhook endpoints), in order per target, one instance per target at a time (a lease in
//! the database), retrying with exponential backoff and jitter until a target's attempt limit
//! dead-letters the message.
//!
//! At least once: a message is marked delivered after the target answered, so an instance that
//! dies in between leaves it to be sent again. Sending a person again is harmless: the
//! target is told the same state (docs/decisions.md, "Provisioning out").
use crate::server::clock::Clock;
use crate::server::config::OutboxPolicy;
use crate::server::db::{self, Db};
use crate::server::db::{provisioning::Target, ssf::Stream, webhooks::Endpoint};
use crate::server::service::revocations;
use crate::server::service::scim_out::{self, Client};
use crate::server::service::scim_out_groups;
use crate::server::service::ssf_out::{self, Push};
use crate::server::service::webhook_out;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// Messages one lease covers before the worker looks at the other targets.
const TURN: usize = 200;
const FIRST_RETRY_MS: i64 = 1_000;
const LONGEST_WAIT_MS: i64 = 3_600_000;

/// How long before attempt `attempts + 1`: doubling from a second up to an hour, each wait
/// drawn between half and all of it, so failed targets are not hit in step.
pub fn backoff_ms(attempts: i64) -> i64 {
    let full = FIRST_RETRY_MS
        .saturating_mul(1i64 << attempts.clamp(1, 30).saturating_sub(1))
        .min(LONGEST_WAIT_MS);
    rand::thread_rng().gen_range(full / 2..=full)
}

enum Destination {
    Scim(Target),
    Webhook(Endpoint),
    Signals(Stream),
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    clock: Arc<Clock>,
    policy: OutboxPolicy,
    http: reqwest::Client,
    /// This instance's lease name.
    owner: String,
}

impl Worker {
    pub fn new(db: Db, clock: Arc<Clock>, policy: OutboxPolicy) -> Worker {
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Worker {
            db,
            clock,
            policy,
            http,
            owner: format!("w_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Names this worker's leases after its instance (`Instance::lease_owner`), so the console
    /// shows which instance delivers where. Each instance has one worker of each kind.
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = owner.to_string();
        self
    }

    pub fn spawn(self, metrics: Arc<crate::server::metrics::Metrics>) {
        tokio::spawn(async move {
            loop {
                let result = self.tick().await;
                metrics.task("outbox", result.is_ok());
                match result {
                    Ok(0) => tokio::time::sleep(self.policy.poll).await,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "outbox: cannot read the queue");
                        tokio::time::sleep(self.policy.poll.max(Duration::from_secs(1))).await;
                    }
                }
            }
        });
    }

    /// One pass over the due targets; the number of messages settled.
    pub async fn tick(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut settled = 0;
        for target_id in db::outbox::due_targets(&self.db.pool, now).await? {
            if db::outbox::lease(
                &self.db.pool,
                &target_id,
                &self.owner,
                now,
                self.lease_end(),
            )
            .await?
            {
                let result = self.drain(&target_id).await;
                db::outbox::release(&self.db.pool, &target_id, &self.owner).await?;
                settled += result?;
            }
        }
        if settled > 0 {
            // A delivery or a dead letter may have finished a revocation's last target.
            if let Err(error) = revocations::settle_finished(&self.db).await {
                tracing::warn!(%error, "outbox: cannot settle revocations");
            }
        }
        Ok(settled)
    }

    fn lease_end(&self) -> i64 {
        self.clock.now_ms() + self.policy.lease.as_millis() as i64
    }

    /// The provisioning target or webhook endpoint a queue belongs to.
    async fn destination(&self, target_id: &str) -> Result<Option<Destination>, sqlx::Error> {
        Ok(if target_id.starts_with(db::webhooks::ID_PREFIX) {
            db::webhooks::endpoint(&self.db.pool, target_id)
                .await?
                .map(Destination::Webhook)
        } else if target_id.starts_with(db::ssf::ID_PREFIX) {
            db::ssf::stream(&self.db.pool, target_id)
                .await?
                .map(Destination::Signals)
        } else {
            db::provisioning::target(&self.db.pool, target_id)
                .await?
                .map(Destination::Scim)
        })
    }

    /// Sends a target's due messages in order until one must wait or the turn is over.
    async fn drain(&self, target_id: &str) -> Result<usize, sqlx::Error> {
        let Some(destination) = self.destination(target_id).await? else {
            return Ok(0);
        };
        let (sealed, max_attempts) = match &destination {
            Destination::Scim(t) => (&t.credential_sealed, t.max_attempts),
            Destination::Webhook(e) => (&e.secret_sealed, e.max_attempts),
            Destination::Signals(s) => (&s.authorization_sealed, s.max_attempts),
        };
        // A stream may have no Authorization header to send: nothing to open.
        let secret = match &self.policy.secrets_key {
            _ if sealed.is_empty() => Ok(String::new()),
            Some(key) => key.open(sealed, target_id),
            None => {
                Err("GATEHOUSE_SECRETS_KEY is not set, so the credential cannot be read".into())
            }
        };
        let mut settled = 0;
        while settled < TURN {
            let now = self.clock.now_ms();
            let Some(head) = db::outbox::head(&self.db.pool, target_id).await? else {
                break;
            };
            if head.next_attempt_at > now {
                break;
            }
            if !db::outbox::lease(&self.db.pool, target_id, &self.owner, now, self.lease_end())
                .await?
            {
                break;
            }
            let upto = db::outbox::newest_about(&self.db.pool, target_id, &head.subject).await?;
            let outcome = match (&secret, &destination) {
                (Err(e), _) => Err(e.clone()),
                (Ok(token), Destination::Scim(target)) => {
                    let client = Client {
                        http: &self.http,
                        base: target.base_url.clone(),
                        token: token.clone(),
                    };
                    match db::outbox::group_of_subject(&head.subject) {
                        Some(group_id) => {
                            scim_out_groups::sync_group(&self.db, &client, target, group_id).await
                        }
                        None => {
                            scim_out::sync_person(&self.db, &client, target, &head.subject).await
                        }
                    }
                }
                (Ok(authorization), Destination::Signals(stream)) => match &self.policy.ssf_keys {
                    Some(keys) => {
                        let push = Push {
                            http: &self.http,
                            keys,
                            issuer: &self.policy.issuer,
                            authorization: Some(authorization.as_str()).filter(|a| !a.is_empty()),
                        };
                        ssf_out::deliver(&self.db, &push, stream, &head.subject).await
                    }
                    None => Err("GATEHOUSE_SSF_SIGNING_KEY is not set, so events cannot be \
                                     signed"
                        .to_string()),
                },
                (Ok(secret), Destination::Webhook(endpoint)) => {
                    webhook_out::deliver(
                        &self.db,
                        &self.http,
                        endpoint,
                        secret,
                        head.seq,
                        &head.subject,
                        now,
                    )
                    .await
                }
            };
            let now = self.clock.now_ms();
            match outcome {
                Ok(()) => {
                    if !db::outbox::delivered(
                        &self.db,
                        target_id,
                        &self.owner,
                        &head.subject,
                        upto,
                        now,
                    )
                    .await?
                    {
                        break;
                    }
                }
                Err(error) => {
                    let attempts = head.attempts + 1;
                    let dead = attempts >= max_attempts;
                    let retry_at = (!dead).then(|| now + backoff_ms(attempts));
                    tracing::info!(target = %target_id, seq = head.seq, attempts, dead, %error, "outbox: delivery failed");
                    db::outbox::failed(&self.db.pool, head.seq, &error, now, retry_at).await?;
                    if !dead {
                        // Later messages wait for this one: order per target is kept.
                        settled += 1;
                        break;
                    }
                }
            }
            settled += 1;
        }
        Ok(settled)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn waits_double_with_jitter_up_to_an_hour() {
        for _ in 0..200 {
            let first = backoff_ms(1);
            assert!((500..=1_000).contains(&first), "{first}");
            let fourth = backoff_ms(4);
            assert!((4_000..=8_000).contains(&fourth), "{fourth}");
            let late = backoff_ms(40);
            assert!((1_800_000..=3_600_000).contains(&late), "{late}");
        }
    }
}
