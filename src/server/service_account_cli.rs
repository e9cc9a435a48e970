//! `gatehouse service-account create`: a service account and one token of it without a browser,
//! for scripts (the API fuzz tests, provisioning). Over the same services as the console, so the
//! rules and the audit records are the same; the actor is the command line.
use crate::model::api::Scope;
use crate::model::{AppError, Permission, Principal, Role};
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::service::api_tokens::{self, AccountInput, TokenInput};
use crate::server::service::audit::RequestMeta;
use crate::server::startup::StartupError;

/// What `gatehouse service-account create` was asked for.
pub struct CreateOptions {
    pub name: String,
    pub owner: String,
    /// `all`, or scope names separated by commas (`users:read,audit:read`).
    pub scopes: String,
    pub days: i64,
    /// The token's name (where it is used).
    pub token_name: String,
}

pub(crate) async fn open() -> Result<Db, StartupError> {
    let url = std::env::var("GATEHOUSE_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/gatehouse.db".into());
    Ok(Db::connect(&url)
        .await
        .map_err(|e| format!("cannot open the database (GATEHOUSE_DATABASE_URL): {e}"))?)
}

/// The command line acts as an administrator; the audit log names it `gatehouse-cli`.
pub(crate) fn cli_authority() -> Authorized {
    Authorized {
        principal: Principal {
            subject: "gatehouse-cli".into(),
            email: "system".into(),
            name: "Gatehouse command line".into(),
            role: Role::Admin,
            scopes: None,
        },
        permission: Permission::ManageSessions,
        meta: RequestMeta::default(),
    }
}

/// `all` is every scope; otherwise the names given, checked by the service.
fn scope_list(raw: &str) -> Vec<String> {
    if raw.trim().eq_ignore_ascii_case("all") {
        return Scope::ALL.iter().map(|s| s.as_str().to_string()).collect();
    }
    raw.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn account_id_by_name(db: &Db, name: &str) -> Result<Option<String>, StartupError> {
    let mut tx = db.pool.begin().await?;
    let id = db::api_tokens::account_id_by_name(&mut tx, name.trim()).await?;
    tx.rollback().await?;
    Ok(id)
}

fn refused(what: &str, e: AppError) -> StartupError {
    format!("{what}: {e}").into()
}

/// Creates the service account named `name` (or reuses the one with that name) and issues one
/// token of it. Returns the token (the caller prints it, alone, on standard output); what
/// happened goes to standard error.
pub async fn create(opts: CreateOptions) -> Result<String, StartupError> {
    let db = open().await?;
    let auth = cli_authority();
    let scopes = scope_list(&opts.scopes);
    let account_id = match account_id_by_name(&db, &opts.name).await? {
        Some(id) => {
            eprintln!(
                "service account {:?} exists ({id}): issuing a token of it",
                opts.name.trim()
            );
            id
        }
        None => {
            let input = AccountInput {
                name: opts.name.clone(),
                owner_email: opts.owner,
                description: "Created with `gatehouse service-account create`.".into(),
                scopes: scopes.clone(),
            };
            match api_tokens::create_account(&db, &auth, &input).await {
                Ok(account) => {
                    eprintln!(
                        "created service account {:?} ({}), owner {}",
                        account.name, account.id, account.owner_email
                    );
                    account.id
                }
                // Created by someone else in the meantime: use theirs.
                Err(e @ AppError::Invalid { .. }) => {
                    match account_id_by_name(&db, &opts.name).await? {
                        Some(id) => id,
                        None => return Err(refused("cannot create the service account", e)),
                    }
                }
                Err(e) => return Err(refused("cannot create the service account", e)),
            }
        }
    };
    let input = TokenInput {
        name: opts.token_name,
        scopes,
        days: opts.days.to_string(),
    };
    let issued = api_tokens::issue_service_token(&db, &auth, &account_id, &input)
        .await
        .map_err(|e| refused("cannot issue the token", e))?;
    eprintln!(
        "issued token {} ({}) with {} scopes, expiring {}",
        issued.summary.id,
        issued.summary.name,
        issued.summary.scopes.len(),
        crate::model::time::format_utc(issued.summary.expires_at)
    );
    db.pool.close().await;
    Ok(issued.token)
}

/// Registers the provisioning source `id` owning every attribute (or issues a new token of the
/// existing one); returns its token.
pub async fn source(id: &str, name: &str) -> Result<String, StartupError> {
    use crate::model::sources::{SourceInput, OWNABLE_ATTRIBUTES};
    use crate::server::service::sources;
    let db = open().await?;
    let auth = cli_authority();
    let issued = match sources::get(&db, id.trim()).await {
        Ok(_) => {
            eprintln!("source {id:?} exists: issuing a new token (the old one stops)");
            sources::rotate_token(&db, &auth, id.trim()).await
        }
        Err(_) => {
            let input = SourceInput {
                id: id.into(),
                name: name.into(),
                owned_attributes: OWNABLE_ATTRIBUTES
                    .iter()
                    .map(|(k, _)| k.to_string())
                    .collect(),
                match_rule: "none".into(),
            };
            sources::create(&db, &auth, &input).await
        }
    };
    issued
        .map(|n| n.token)
        .map_err(|e| refused("the source", e))
}
