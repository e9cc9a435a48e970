//! `gatehouse signals add-transmitter`: registers a Shared Signals transmitter (Gatehouse as
//! receiver) without a browser, e.g. the dev identity provider for `make run`. Idempotent: a
//! transmitter with the same issuer is kept as it is and its id printed. Over the same service
//! as the console, so the rules and the audit record are the same; the actor is the command line.
use crate::model::ssf::TransmitterInput;
use crate::server::db;
use crate::server::service::ssf_in;
use crate::server::service_account_cli::{cli_authority, open};
use crate::server::startup::StartupError;

/// What `gatehouse signals add-transmitter` was asked for.
pub struct AddOptions {
    pub name: String,
    pub issuer: String,
    /// Empty: discovered from the issuer's SSF metadata.
    pub jwks_uri: String,
    /// Empty: Gatehouse's public URL.
    pub audience: String,
}

/// Gatehouse's public URL as the server would work it out (the default audience).
fn public_url() -> String {
    std::env::var("GATEHOUSE_PUBLIC_URL").unwrap_or_else(|_| {
        let bind = std::env::var("GATEHOUSE_BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
        format!("http://{bind}")
    })
}

/// Registers the transmitter (or finds the one with this issuer); returns its id.
pub async fn add_transmitter(opts: AddOptions) -> Result<String, StartupError> {
    let db = open().await?;
    let issuer = opts.issuer.trim();
    if let Some(id) = db::ssf_in::id_by_issuer(&db.pool, issuer).await? {
        eprintln!("a transmitter with issuer {issuer} exists ({id}): nothing changed");
        db.pool.close().await;
        return Ok(id);
    }
    let input = TransmitterInput {
        name: opts.name,
        issuer: issuer.to_string(),
        jwks_uri: opts.jwks_uri,
        audience: opts.audience,
        source_id: String::new(),
        max_age_seconds: 0,
    };
    let made = ssf_in::create(&db, &cli_authority(), &public_url(), &input)
        .await
        .map_err(|e| format!("cannot register the transmitter: {e}"))?;
    eprintln!(
        "registered transmitter {:?} ({}), {} key(s){}",
        made.name,
        made.id,
        made.key_count,
        if made.last_error.is_empty() {
            String::new()
        } else {
            format!(" — {}", made.last_error)
        }
    );
    db.pool.close().await;
    Ok(made.id)
}
