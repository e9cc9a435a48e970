//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: each dependency, as
//! JSON; 503 when one this instance cannot serve without fails). The identity provider is
//! reported but not required: every instance shares it, so taking them all out of the load
//! balancer would turn a sign-in outage into a whole outage (key verification, SCIM, the API
//! and signed-in sessions work without it).
use crate::model::time::format_utc;
use crate::server::auth::oidc::Oidc;
use crate::server::config::OutboxPolicy;
use crate::server::db::{self, Db};
use crate::server::AppState;
use axum::extract::State;
use axum::Json;
use http::StatusCode;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// How long the database may take to answer `SELECT 1`.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: `{"status": "ready"|"degraded"|"unavailable", "checks": {name: {ok,
/// required, detail}}}`, 503 when a required check fails.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (status, body) = readiness(&state.db, &state.oidc, &state.config.outbox).await;
    (status, Json(body))
}

/// What `/system` and `GET /api/v1/system/info` show of this instance.
pub async fn system_info(state: &AppState) -> crate::model::system::SystemInfo {
    use crate::model::system::{ReadinessCheck, SystemInfo};
    let (_, body) = readiness(&state.db, &state.oidc, &state.config.outbox).await;
    let checks = body["checks"]
        .as_object()
        .map(|checks| {
            checks
                .iter()
                .map(|(name, c)| ReadinessCheck {
                    name: name.clone(),
                    ok: c["ok"].as_bool().unwrap_or(false),
                    required: c["required"].as_bool().unwrap_or(false),
                    detail: c["detail"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    SystemInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: option_env!("GATEHOUSE_BUILD_COMMIT")
            .filter(|c| !c.is_empty())
            .unwrap_or("unknown")
            .to_string(),
        engine: match state.db.engine {
            db::Engine::Sqlite => "sqlite",
            db::Engine::Postgres => "postgres",
        }
        .to_string(),
        checks,
        settings: state.config.settings.clone(),
    }
}

struct Check {
    ok: bool,
    required: bool,
    /// Shown to anyone who asks: never an error's raw text that could name hosts or users.
    detail: String,
}

pub async fn readiness(db: &Db, oidc: &Oidc, outbox: &OutboxPolicy) -> (StatusCode, Value) {
    let database = check_database(db).await;
    let secrets = check_secrets_key(db, outbox, database.ok).await;
    answer(vec![
        ("database", database),
        ("identity_provider", check_identity_provider(oidc)),
        ("ssf_signing_key", check_ssf_key(outbox)),
        ("secrets_key", secrets),
    ])
}

fn answer(checks: Vec<(&str, Check)>) -> (StatusCode, Value) {
    let unavailable = checks.iter().any(|(_, c)| c.required && !c.ok);
    let degraded = checks.iter().any(|(_, c)| !c.ok);
    let (status, word) = match (unavailable, degraded) {
        (true, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        (false, true) => (StatusCode::OK, "degraded"),
        (false, false) => (StatusCode::OK, "ready"),
    };
    let checks: Map<String, Value> = checks
        .into_iter()
        .map(|(name, c)| {
            (
                name.to_string(),
                json!({ "ok": c.ok, "required": c.required, "detail": c.detail }),
            )
        })
        .collect();
    (status, json!({ "status": word, "checks": checks }))
}

async fn check_database(db: &Db) -> Check {
    let started = std::time::Instant::now();
    let (ok, detail) = match tokio::time::timeout(DATABASE_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => (
            true,
            format!("answered in {} ms", started.elapsed().as_millis().max(1)),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: the database failed");
            (false, "unreachable (the server's log has the error)".into())
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within 2 s");
            (false, "did not answer within 2 s".into())
        }
    };
    Check {
        ok,
        required: true,
        detail,
    }
}

fn check_identity_provider(oidc: &Oidc) -> Check {
    let d = oidc.discovery();
    let ready = oidc.is_ready();
    let failed = d
        .failed
        .as_ref()
        .map(|(at, why)| format!("discovery failed at {}: {why}", format_utc(*at)));
    let detail = match (ready, d.succeeded_at, failed) {
        (true, Some(at), None) => format!("{} discovered at {}", oidc.issuer(), format_utc(at)),
        (true, Some(at), Some(f)) => format!(
            "{} discovered at {} (its metadata is used; the last refresh {f})",
            oidc.issuer(),
            format_utc(at)
        ),
        (true, None, _) => format!("{} discovered", oidc.issuer()),
        (false, _, Some(f)) => f,
        (false, _, None) => "discovery has not finished yet".into(),
    };
    Check {
        ok: ready,
        required: false,
        detail,
    }
}

fn check_ssf_key(outbox: &OutboxPolicy) -> Check {
    Check {
        ok: true,
        required: false,
        detail: match &outbox.ssf_keys {
            Some(keys) => format!("configured (key id {})", keys.kid()),
            None => "not configured: Gatehouse is no Shared Signals transmitter".into(),
        },
    }
}

/// Configured or not is fine on its own; what fails is stored credentials the key cannot open
/// (another key, or none): deliveries would fail on this instance.
async fn check_secrets_key(db: &Db, outbox: &OutboxPolicy, database_ok: bool) -> Check {
    let configured = if outbox.secrets_key.is_some() {
        "configured"
    } else {
        "not configured"
    };
    let fine = |detail: String| Check {
        ok: true,
        required: true,
        detail,
    };
    if !database_ok {
        return fine(format!(
            "{configured} (not compared with the stored credentials: the database is unavailable)"
        ));
    }
    let sample = tokio::time::timeout(
        DATABASE_TIMEOUT,
        db::health::one_sealed_credential(&db.pool),
    )
    .await;
    let (id, sealed) = match sample {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return fine(format!("{configured}; no credential is stored yet")),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: could not read a stored credential");
            return fine(format!(
                "{configured} (not compared with the stored credentials: they could not be read)"
            ));
        }
        Err(_) => {
            return fine(format!(
                "{configured} (not compared with the stored credentials: no answer within 2 s)"
            ))
        }
    };
    let problem = match &outbox.secrets_key {
        None => Some(
            "GATEHOUSE_SECRETS_KEY is not set, but the database holds credentials sealed with one"
                .to_string(),
        ),
        Some(key) => key.open(&sealed, &id).err(),
    };
    match problem {
        None => fine("configured; it opens the stored credentials".into()),
        Some(why) => Check {
            ok: false,
            required: true,
            detail: why,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Config;

    fn config() -> Config {
        Config::from_lookup(|k| {
            match k {
                "GATEHOUSE_OIDC_ISSUER" => Some("http://127.0.0.1:1"),
                "GATEHOUSE_OIDC_CLIENT_ID" => Some("gatehouse"),
                "GATEHOUSE_OIDC_CLIENT_SECRET" => Some("s"),
                "GATEHOUSE_ROLE_MAP" => Some("admins=admin"),
                _ => None,
            }
            .map(str::to_string)
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_broken_database_makes_the_instance_unavailable_naming_each_check() {
        let config = config();
        let oidc = Oidc::new(config.oidc.clone(), config.redirect_url()).unwrap();
        let (status, body) = readiness(
            &crate::server::db::unreachable_database(Duration::from_secs(5)),
            &oidc,
            &config.outbox,
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["status"], "unavailable", "{body}");
        let checks = body["checks"].as_object().unwrap();
        assert_eq!(
            checks.len(),
            4,
            "database, identity_provider, ssf_signing_key, secrets_key: {body}"
        );
        for (name, check) in checks {
            assert!(check["ok"].is_boolean(), "{name}: {body}");
            assert!(check["required"].is_boolean(), "{name}: {body}");
            assert!(
                !check["detail"].as_str().unwrap_or("").is_empty(),
                "{name}: {body}"
            );
        }
        let database = &body["checks"]["database"];
        assert_eq!(database["ok"], false, "{body}");
        assert_eq!(database["required"], true, "{body}");
        assert!(
            !database["detail"].as_str().unwrap().contains("127.0.0.1"),
            "no address or error text leaks: {body}"
        );
        // Never discovered (nothing was asked yet), and not required.
        assert_eq!(body["checks"]["identity_provider"]["ok"], false, "{body}");
        assert_eq!(body["checks"]["identity_provider"]["required"], false);
        // Not configured is no failure.
        assert_eq!(body["checks"]["ssf_signing_key"]["ok"], true, "{body}");
        assert_eq!(body["checks"]["secrets_key"]["ok"], true, "{body}");
        assert!(body["checks"]["ssf_signing_key"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("not configured"));
    }

    #[test]
    fn a_failing_optional_check_degrades_but_keeps_serving() {
        let check = |ok, required| Check {
            ok,
            required,
            detail: "d".into(),
        };
        let (status, body) = answer(vec![("a", check(true, true)), ("b", check(false, false))]);
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::OK, &json!("degraded"))
        );
        let (status, body) = answer(vec![("a", check(true, true)), ("b", check(true, false))]);
        assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ready")));
        assert_eq!(
            body["checks"]["a"],
            json!({"ok": true, "required": true, "detail": "d"})
        );
        let (status, body) = answer(vec![("a", check(false, true)), ("b", check(true, false))]);
        assert_eq!(
            (status, &body["status"]),
            (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable"))
        );
    }
}
