//! Streaming the audit log to the SIEM (issue 17): the worker that moves each sink's cursor along
//! the chain. One tick: for each active sink with something to do whose lease this instance can
//! take, read the events after its cursor (`seq > cursor ORDER BY seq`, the primary key), send
//! them in the sink's format, and once the destination acknowledged them move the cursor to the
//! batch's last event with a compare-and-set (from the value read, while holding the lease).
//!
//! At least once, in order, without gaps: a batch not acknowledged is sent again from the same
//! cursor, after an outage (exponential backoff, capped at five minutes, by the app clock) or a
//! restart (the cursor is in the database, so any instance resumes exactly after the last
//! acknowledged event). Delivering is never audited: each record would be one more to deliver.
use crate::server::clock::Clock;
use crate::server::config_audit_stream::AuditStreamPolicy;
use crate::server::db::{self, audit::ChainRow, audit_sinks::Sink, Db};
use crate::server::service::audit_stream_formats::{self as formats, Format};
use crate::server::service::audit_stream_transport::{self as transport, Sent};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// Batches one lease covers before the worker looks at the other sinks.
const TURN: usize = 20;
const FIRST_RETRY_MS: i64 = 1_000;
const LONGEST_WAIT_MS: i64 = 300_000;
/// How long an HEC acknowledgement is waited for before its batch is sent again.
pub const ACK_WAIT_MS: i64 = 300_000;

/// How long before attempt `failures + 1`: doubling from a second up to five minutes, each wait
/// drawn between half and all of it.
pub fn backoff_ms(failures: i64) -> i64 {
    let full = FIRST_RETRY_MS
        .saturating_mul(1i64 << failures.clamp(1, 30).saturating_sub(1))
        .min(LONGEST_WAIT_MS);
    rand::thread_rng().gen_range(full / 2..=full)
}

/// The HEC channel of a sink: its id's UUID, so every instance asks for acknowledgements on the
/// channel the batch was sent on.
pub fn hec_channel(sink_id: &str) -> String {
    let raw = sink_id.trim_start_matches(db::audit_sinks::ID_PREFIX);
    uuid::Uuid::try_parse(raw)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| uuid::Uuid::nil().to_string())
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    clock: Arc<Clock>,
    policy: AuditStreamPolicy,
    http: reqwest::Client,
    /// This instance's lease name.
    owner: String,
}

impl Worker {
    pub fn new(db: Db, clock: Arc<Clock>, policy: AuditStreamPolicy) -> Worker {
        let mut http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none());
        for root in &policy.extra_roots {
            if let Ok(cert) = reqwest::Certificate::from_der(root.as_ref()) {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().unwrap_or_default();
        Worker {
            db,
            clock,
            policy,
            http,
            owner: format!("as_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Names this worker's leases after its instance (`Instance::lease_owner`), so the console
    /// shows which instance delivers where. Each instance has one worker of each kind.
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = owner.to_string();
        self
    }

    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                match self.tick().await {
                    Ok(0) => tokio::time::sleep(self.policy.poll).await,
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "audit stream: cannot read the sinks");
                        tokio::time::sleep(self.policy.poll.max(Duration::from_secs(1))).await;
                    }
                }
            }
        });
    }

    /// One pass over the due sinks; the number of events acknowledged.
    pub async fn tick(&self) -> Result<usize, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut delivered = 0;
        for id in db::audit_sinks::due(&self.db.pool, now).await? {
            if db::audit_sinks::lease(&self.db.pool, &id, &self.owner, now, self.lease_end())
                .await?
            {
                let result = self.drain(&id).await;
                db::audit_sinks::release(&self.db.pool, &id, &self.owner).await?;
                delivered += result?;
            }
        }
        Ok(delivered)
    }

    fn lease_end(&self) -> i64 {
        self.clock.now_ms() + self.policy.lease.as_millis() as i64
    }

    /// The sink's token or Authorization value, opened; empty when it has none.
    fn credential(&self, sink: &Sink) -> Result<String, String> {
        if sink.credential_sealed.is_empty() {
            return Ok(String::new());
        }
        match &self.policy.secrets_key {
            Some(key) => key.open(&sink.credential_sealed, &sink.id),
            None => Err("GATEHOUSE_SECRETS_KEY is not set, so the token cannot be read".into()),
        }
    }

    /// Sends a sink's batches in order until it is caught up, must wait, or the turn is over.
    async fn drain(&self, id: &str) -> Result<usize, sqlx::Error> {
        let pool = &self.db.pool;
        let mut delivered = 0;
        for _ in 0..TURN {
            let now = self.clock.now_ms();
            if !db::audit_sinks::lease(pool, id, &self.owner, now, self.lease_end()).await? {
                break;
            }
            let Some(sink) = db::audit_sinks::get(pool, id).await? else {
                break;
            };
            if sink.status != "active" || sink.next_attempt_at > now {
                break;
            }
            let credential = match self.credential(&sink) {
                Ok(c) => c,
                Err(error) => {
                    self.fail(&sink, error, false).await?;
                    break;
                }
            };
            if let Some(ack_id) = sink.ack_id {
                let channel = hec_channel(&sink.id);
                match transport::hec_acknowledged(
                    &self.http,
                    &sink.url,
                    &credential,
                    &channel,
                    ack_id,
                )
                .await
                {
                    Ok(true) => {
                        if !db::audit_sinks::acknowledged(
                            pool,
                            id,
                            &self.owner,
                            sink.cursor,
                            ack_id,
                            now,
                        )
                        .await?
                        {
                            break;
                        }
                        delivered += (sink.ack_through - sink.cursor).max(0) as usize;
                        continue;
                    }
                    Ok(false) if now - sink.ack_since < ACK_WAIT_MS => break,
                    Ok(false) => {
                        let error = format!(
                            "the HEC did not confirm events {}..{} within {} minutes (acknowledgement {ack_id}): they are sent again",
                            sink.cursor + 1,
                            sink.ack_through,
                            ACK_WAIT_MS / 60_000
                        );
                        self.fail(&sink, error, true).await?;
                        break;
                    }
                    Err(error) => {
                        self.fail(&sink, error, false).await?;
                        break;
                    }
                }
            }
            let rows =
                db::audit::chain_slice(&self.db, sink.cursor, sink.batch_size.max(1)).await?;
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                break;
            };
            let (first, last) = (first.event.seq, last.event.seq);
            if first != sink.cursor + 1 {
                if !self.pass_over_removed(&sink, first, now).await? {
                    break;
                }
                continue;
            }
            if rows
                .windows(2)
                .any(|w| w[1].event.seq != w[0].event.seq + 1)
            {
                let error = format!(
                    "the audit chain has a gap after event {first} (run the integrity check): delivery stops there"
                );
                self.fail(&sink, error, false).await?;
                break;
            }
            match self.send(&sink, &credential, &rows).await {
                Ok(Sent::Acknowledged) => {
                    if !db::audit_sinks::advance(pool, id, &self.owner, sink.cursor, last, now)
                        .await?
                    {
                        break;
                    }
                    delivered += rows.len();
                }
                Ok(Sent::AwaitingAck(ack_id)) => {
                    // The next turn of the loop asks for the acknowledgement at once.
                    if !db::audit_sinks::await_ack(
                        pool,
                        id,
                        &self.owner,
                        sink.cursor,
                        ack_id,
                        last,
                        now,
                    )
                    .await?
                    {
                        break;
                    }
                }
                Err(error) => {
                    self.fail(&sink, error, false).await?;
                    break;
                }
            }
        }
        Ok(delivered)
    }

    /// The events after the cursor are missing. Removed by audit retention (at or before the
    /// anchor) they cannot be sent: the cursor passes over them and the sink's last error says
    /// so. Anything else is a broken chain: delivery stops before the gap.
    async fn pass_over_removed(
        &self,
        sink: &Sink,
        first: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let (anchor, _) = db::audit::anchor(&self.db.pool).await?;
        if first - 1 > anchor {
            let error = format!(
                "the audit chain has no event {} (run the integrity check): delivery stops before it",
                sink.cursor + 1
            );
            self.fail(sink, error, false).await?;
            return Ok(false);
        }
        let note = format!(
            "events {}..{} were removed by audit retention before this sink received them; delivery went on from {first}",
            sink.cursor + 1,
            first - 1
        );
        tracing::warn!(sink = %sink.id, %note, "audit stream: events passed over");
        db::audit_sinks::skip(
            &self.db.pool,
            &sink.id,
            &self.owner,
            sink.cursor,
            first - 1,
            &note,
            now,
        )
        .await
    }

    async fn send(&self, sink: &Sink, credential: &str, rows: &[ChainRow]) -> Result<Sent, String> {
        let format = Format::of(&sink.format);
        let events: Vec<serde_json::Value> =
            rows.iter().map(|r| formats::event(format, r)).collect();
        let host = &self.policy.hostname;
        match sink.kind.as_str() {
            "hec" => {
                let body = transport::hec_body(rows, &events, host);
                transport::hec_send(
                    &self.http,
                    &sink.url,
                    credential,
                    &hec_channel(&sink.id),
                    body,
                )
                .await
            }
            "ndjson" => {
                let body = transport::ndjson_body(&events);
                transport::ndjson_send(&self.http, &sink.url, credential, body)
                    .await
                    .map(|()| Sent::Acknowledged)
            }
            "syslog" => {
                let frames = transport::syslog_frames(rows, &events, host, &sink.id);
                transport::syslog_send(
                    &sink.url,
                    &frames,
                    self.policy.timeout,
                    &self.policy.syslog_tls,
                )
                .await
                .map(|()| Sent::Acknowledged)
            }
            other => Err(format!("unknown sink kind {other:?}")),
        }
    }

    /// Keeps the failure as the sink's last error and waits before the next attempt; the cursor
    /// stays. With `drop_ack` the acknowledgement waited for is given up.
    async fn fail(&self, sink: &Sink, error: String, drop_ack: bool) -> Result<(), sqlx::Error> {
        let now = self.clock.now_ms();
        let failures = sink.failures + 1;
        let retry_at = now + backoff_ms(failures);
        let error: String = error.chars().take(500).collect();
        tracing::info!(sink = %sink.id, failures, %error, "audit stream: delivery failed");
        db::audit_sinks::failed(
            &self.db.pool,
            &sink.id,
            &self.owner,
            &error,
            now,
            retry_at,
            drop_ack,
        )
        .await
    }
}

/// One sink's lag, for the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkLag {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// `active` or `paused`.
    pub status: String,
    pub cursor: i64,
    pub head: i64,
    pub lag_events: i64,
    pub lag_seconds: i64,
    /// Failed attempts in a row (0 while delivering normally).
    pub failures: i64,
    /// Unix ms of the last acknowledged delivery; 0: none yet.
    pub delivered_at: i64,
}

/// Every sink's cursor and lag (events and seconds), for `/metrics`. An error is logged and
/// answered with no sinks: the metrics page must not fail for it.
pub async fn sink_metrics(db: &Db) -> Vec<SinkLag> {
    match crate::server::service::audit_sinks::list(db).await {
        Ok(all) => all
            .into_iter()
            .map(|s| SinkLag {
                id: s.id,
                name: s.name,
                kind: s.kind,
                status: s.status,
                cursor: s.cursor,
                head: s.head,
                lag_events: s.lag_events,
                lag_seconds: s.lag_seconds,
                failures: s.failures,
                delivered_at: s.delivered_at,
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "audit stream: cannot read the sinks for the metrics");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_up_to_five_minutes() {
        for _ in 0..200 {
            let first = backoff_ms(1);
            assert!((500..=1_000).contains(&first), "{first}");
            let third = backoff_ms(3);
            assert!((2_000..=4_000).contains(&third), "{third}");
            let late = backoff_ms(40);
            assert!((150_000..=300_000).contains(&late), "{late}");
        }
    }

    #[test]
    fn a_sinks_channel_is_its_uuid() {
        assert_eq!(
            hec_channel("snk_0123456789abcdef0123456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        assert_eq!(hec_channel("other"), uuid::Uuid::nil().to_string());
    }
}
