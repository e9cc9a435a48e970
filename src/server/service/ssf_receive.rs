//! Receiving a pushed Security Event Token (RFC 8935), Gatehouse as receiver. The transmitter
//! is found by the token's `iss`, then everything else is verified in order (the steps are in
//! ssf_verify.rs); an accepted token's `jti` is recorded in the same transaction as its change
//! (a second one is a replay). Every refusal is audited (`ssf.set.rejected`) and counted on the
//! transmitter; the refusal's audit never fails the answer.
use crate::model::{Permission, Principal, Role};
use crate::server::auth::Authorized;
use crate::server::db::{self, ssf_in::Transmitter, Db};
use crate::server::service::audit::{self, Actor, Entry, Outcome as AuditOutcome, RequestMeta};
use crate::server::service::ssf_apply::{self, Failure};
use crate::server::service::ssf_jwks;
use crate::server::ssf_verify::{self, clip, Refusal};
use serde_json::json;

/// Largest token accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// An unknown `kid` fetches the keys again at most this often per transmitter.
const REFETCH_INTERVAL_MS: i64 = 60_000;

/// How a push ended.
#[derive(Debug, PartialEq)]
pub enum Received {
    /// 202: applied, or nothing to apply (see the received row).
    Accepted,
    /// 400 with the RFC 8935 error.
    Refused(Refusal),
    /// 503: Gatehouse could not record it; the transmitter may send it again.
    Unavailable,
}

/// The transmitter acting, as the audit log names it (`sst:<id>`, under no console role).
pub fn caller(t: &Transmitter, meta: RequestMeta) -> Authorized {
    Authorized {
        principal: Principal {
            subject: format!("sst:{}", t.id),
            email: format!("transmitter:{}", t.id),
            name: t.name.clone(),
            role: Role::Admin,
            scopes: Some(Vec::new()),
        },
        permission: Permission::WriteUsers,
        meta,
    }
}

/// What is known of a token when it is refused, for the audit record.
#[derive(Default)]
struct Seen {
    issuer: Option<String>,
    jti: Option<String>,
    transmitter: Option<Transmitter>,
}

enum Stop {
    Refused(Refusal),
    Unavailable(String),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Self {
        Stop::Refused(r)
    }
}

fn unavailable(e: impl std::fmt::Display) -> Stop {
    Stop::Unavailable(e.to_string())
}

/// Receives one pushed token. `now_ms` is the clock tokens are judged by.
pub async fn receive(
    db: &Db,
    meta: &RequestMeta,
    content_type: Option<&str>,
    body: &[u8],
    now_ms: i64,
) -> Received {
    let mut seen = Seen::default();
    match verify_and_apply(db, meta, content_type, body, now_ms, &mut seen).await {
        Ok(()) => Received::Accepted,
        Err(Stop::Refused(r)) => {
            record_refusal(db, meta, &seen, &r).await;
            Received::Refused(r)
        }
        Err(Stop::Unavailable(e)) => {
            tracing::error!(error = %e, "could not receive a Security Event Token");
            Received::Unavailable
        }
    }
}

async fn verify_and_apply(
    db: &Db,
    meta: &RequestMeta,
    content_type: Option<&str>,
    body: &[u8],
    now_ms: i64,
    seen: &mut Seen,
) -> Result<(), Stop> {
    if body.len() > MAX_BODY {
        return Err(
            Refusal::request(format!("the token is larger than {} KiB", MAX_BODY / 1024)).into(),
        );
    }
    ssf_verify::check_content_type(content_type)?;
    let compact = ssf_verify::parse(body)?;
    seen.jti = compact.claims["jti"].as_str().map(|j| clip(j, 200));
    let issuer = ssf_verify::issuer(&compact.claims)?;
    seen.issuer = Some(clip(issuer, 300));
    // Checked before the look-up: PostgreSQL refuses a NUL in a text parameter.
    let t = if issuer.len() <= 300 && !issuer.contains('\0') {
        db::ssf_in::by_issuer(&db.pool, issuer)
            .await
            .map_err(unavailable)?
    } else {
        None
    };
    let Some(t) = t else {
        return Err(Refusal::new(
            "invalid_issuer",
            format!("{} is not a registered transmitter", clip(issuer, 200)),
        )
        .into());
    };
    seen.transmitter = Some(t.clone());
    if !t.active {
        return Err(Refusal::new(
            "invalid_issuer",
            format!("the transmitter {} is disabled", t.name),
        )
        .into());
    }
    // After the look-up, so a refused header is counted on (and audited with) its transmitter.
    let alg = ssf_verify::check_header(&compact.header)?;
    let kid = compact.header["kid"].as_str();
    let keys = keys_for(db, &t, kid, now_ms).await?;
    let key = ssf_verify::find_key(&keys, kid).ok_or_else(|| {
        Refusal::key(match kid {
            Some(kid) => format!(
                "no key with kid {:?} in the transmitter's JWKS",
                clip(kid, 100)
            ),
            None => "the header names no kid and the JWKS holds several keys".into(),
        })
    })?;
    ssf_verify::verify_signature(&compact.token, key, alg)?;
    let checked = ssf_verify::check_claims(
        &compact.claims,
        &t.audience,
        t.max_age_seconds,
        now_ms / 1000,
    )?;
    seen.jti = Some(checked.jti.clone());

    let auth = caller(&t, meta.clone());
    let mut tx = db.begin_write().await.map_err(unavailable)?;
    if !db::ssf_in::claim_jti(&mut tx, &t.id, &checked.jti, &checked.event_type, now_ms)
        .await
        .map_err(unavailable)?
    {
        return Err(Refusal::request(format!(
            "jti {} was already received",
            clip(&checked.jti, 100)
        ))
        .into());
    }
    let applied =
        match ssf_apply::apply(db, &mut tx, &t, &auth, &checked, &compact.claims, now_ms).await {
            Ok(applied) => applied,
            Err(Failure::Refused(r)) => return Err(r.into()),
            Err(Failure::Internal(e)) => return Err(unavailable(e)),
        };
    db::ssf_in::finish_received(
        &mut tx,
        &t.id,
        &checked.jti,
        applied.result,
        applied.user_id.as_deref(),
        &applied.summary,
        now_ms,
    )
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// The transmitter's usable keys; when the named `kid` is not among them (or none were ever
/// fetched), fetched again first, at most once a minute per transmitter (a rotated key
/// verifies at once; a stream of unknown kids cannot make Gatehouse hammer the JWKS).
async fn keys_for(
    db: &Db,
    t: &Transmitter,
    kid: Option<&str>,
    now_ms: i64,
) -> Result<Vec<jsonwebtoken::jwk::Jwk>, Stop> {
    let keys = ssf_verify::usable_keys(&t.jwks);
    if ssf_verify::find_key(&keys, kid).is_some() {
        return Ok(keys);
    }
    if !db::ssf_in::claim_refetch(&db.pool, &t.id, now_ms, REFETCH_INTERVAL_MS)
        .await
        .map_err(unavailable)?
    {
        return Ok(keys);
    }
    let fetched = ssf_jwks::fetch_keys(&t.issuer, &t.jwks_uri).await;
    let mut tx = db.begin_write().await.map_err(unavailable)?;
    let keys = match &fetched.result {
        Ok(jwks) => {
            db::ssf_in::store_keys(&mut tx, &t.id, &fetched.jwks_uri, jwks, now_ms)
                .await
                .map_err(unavailable)?;
            ssf_verify::usable_keys(jwks)
        }
        Err(e) => {
            db::ssf_in::keys_failed(&mut tx, &t.id, e, now_ms)
                .await
                .map_err(unavailable)?;
            keys
        }
    };
    tx.commit().await.map_err(unavailable)?;
    Ok(keys)
}

/// Audits a refusal (the transmitter as actor when its issuer is known) and counts it on the
/// transmitter. Failures here are logged, never answered: the transmitter gets its refusal.
async fn record_refusal(db: &Db, meta: &RequestMeta, seen: &Seen, r: &Refusal) {
    let mut details = json!({ "err": r.err, "description": r.description });
    if let Some(jti) = &seen.jti {
        details["jti"] = json!(jti);
    }
    if let Some(issuer) = &seen.issuer {
        details["issuer"] = json!(issuer);
    }
    let mut entry = Entry::new("ssf.set.rejected", AuditOutcome::Denied).details(details);
    let actor = match &seen.transmitter {
        Some(t) => {
            entry = entry.target("ssf_transmitter", &t.id);
            caller(t, meta.clone()).actor()
        }
        None => Actor::default(),
    };
    if let Err(e) = audit::record_alone(db, &actor, meta, entry).await {
        tracing::error!(error = %e, "could not audit a refused Security Event Token");
    }
    if let Some(t) = &seen.transmitter {
        let error = clip(&format!("{}: {}", r.err, r.description), 500);
        if let Err(e) = db::ssf_in::count_rejected(&db.pool, &t.id, &error).await {
            tracing::error!(error = %e, "could not count a refused Security Event Token");
        }
    }
}
