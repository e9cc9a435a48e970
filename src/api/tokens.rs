//! Service accounts, their tokens, and staff's personal access tokens: each function names its
//! permission, then calls the service. Minting a credential confirms the role at the identity
//! provider first. These are console server functions (session cookie only), so a management API
//! token can never mint, rotate or list tokens.
use crate::model::api::{IssuedToken, Scope, ServiceAccount, TokenSummary};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::{
    auth::guard::fail, auth::require, auth::require_fresh, service::api_token_lists as lists,
    service::api_tokens,
};

/// A new service account as its form sends it (`input[...]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountForm {
    pub name: String,
    pub owner_email: String,
    pub description: String,
    pub scopes: Vec<String>,
}

/// A new token as its form sends it (`input[...]`); `days` until it expires.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub name: String,
    pub scopes: Vec<String>,
    pub days: String,
}

#[cfg(feature = "ssr")]
impl From<AccountForm> for api_tokens::AccountInput {
    fn from(f: AccountForm) -> Self {
        api_tokens::AccountInput {
            name: f.name,
            owner_email: f.owner_email,
            description: f.description,
            scopes: f.scopes,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<TokenForm> for api_tokens::TokenInput {
    fn from(f: TokenForm) -> Self {
        api_tokens::TokenInput {
            name: f.name,
            scopes: f.scopes,
            days: f.days,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountPage {
    pub accounts: Vec<ServiceAccount>,
    pub next: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenPage {
    pub tokens: Vec<TokenSummary>,
    pub next: Option<String>,
}

/// The signed-in person's personal tokens, and what a new one may hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyTokensView {
    pub tokens: Vec<TokenSummary>,
    /// The scopes their role allows.
    pub scopes: Vec<Scope>,
    /// The longest lifetime allowed, in days.
    pub max_days: i64,
}

/// Service accounts, newest first; `after` is the cursor of the page before (empty: the first).
#[server(prefix = "/api", endpoint = "service-accounts/list")]
pub async fn list_service_accounts(after: String) -> Result<AccountPage, AppError> {
    let (state, _) = require(Permission::ManageSessions).await?;
    let (accounts, next) = lists::accounts(&state.db, &after).await.map_err(fail)?;
    Ok(AccountPage { accounts, next })
}

#[server(prefix = "/api", endpoint = "service-accounts/get")]
pub async fn get_service_account(id: String) -> Result<ServiceAccount, AppError> {
    let (state, _) = require(Permission::ManageSessions).await?;
    api_tokens::get_account(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "service-accounts/create")]
pub async fn create_service_account(input: AccountForm) -> Result<ServiceAccount, AppError> {
    let (state, auth) = require(Permission::ManageSessions).await?;
    api_tokens::create_account(&state.db, &auth, &input.into())
        .await
        .map_err(fail)
}

/// Enables (`active`) or disables (`disabled`) an account; `version` as last seen.
#[server(prefix = "/api", endpoint = "service-accounts/status")]
pub async fn set_account_status(
    id: String,
    status: String,
    version: i64,
) -> Result<ServiceAccount, AppError> {
    let (state, auth) = require(Permission::ManageSessions).await?;
    api_tokens::set_account_status(&state.db, &auth, &id, &status, version)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "service-accounts/tokens")]
pub async fn account_tokens(id: String) -> Result<Vec<TokenSummary>, AppError> {
    let (state, _) = require(Permission::ManageSessions).await?;
    lists::tokens_of_account(&state.db, &id).await.map_err(fail)
}

/// A new token for the account; the whole token is in the answer, this once.
#[server(prefix = "/api", endpoint = "service-accounts/issue-token")]
pub async fn issue_account_token(id: String, input: TokenForm) -> Result<IssuedToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSessions).await?;
    api_tokens::issue_service_token(&state.db, &auth, &id, &input.into())
        .await
        .map_err(fail)
}

/// A replacement for a service token; the old one keeps working for 24 hours.
#[server(prefix = "/api", endpoint = "tokens/rotate")]
pub async fn rotate_token(id: String) -> Result<IssuedToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSessions).await?;
    api_tokens::rotate(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

/// Revokes any token, a service account's or a staff member's (administrators).
#[server(prefix = "/api", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: String) -> Result<TokenSummary, AppError> {
    let (state, auth) = require(Permission::ManageSessions).await?;
    api_tokens::revoke(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

/// Every staff member's personal tokens (administrators).
#[server(prefix = "/api", endpoint = "tokens/personal")]
pub async fn personal_tokens(after: String) -> Result<TokenPage, AppError> {
    let (state, _) = require(Permission::ManageSessions).await?;
    let (tokens, next) = lists::personal(&state.db, &after).await.map_err(fail)?;
    Ok(TokenPage { tokens, next })
}

#[server(prefix = "/api", endpoint = "tokens/mine")]
pub async fn my_tokens() -> Result<MyTokensView, AppError> {
    let (state, auth) = require(Permission::ViewConsole).await?;
    let tokens = lists::mine(&state.db, &auth).await.map_err(fail)?;
    Ok(MyTokensView {
        tokens,
        scopes: lists::personal_scopes(&auth.principal),
        max_days: api_tokens::pat_max_days(&state.config),
    })
}

/// A personal token of the signed-in person, holding at most what their role allows.
#[server(prefix = "/api", endpoint = "tokens/issue-personal")]
pub async fn create_personal_token(input: TokenForm) -> Result<IssuedToken, AppError> {
    let (state, auth) = require_fresh(Permission::ViewConsole).await?;
    let max_days = api_tokens::pat_max_days(&state.config);
    api_tokens::issue_personal_token(&state.db, &auth, &input.into(), max_days)
        .await
        .map_err(fail)
}

/// Revokes one of the signed-in person's own personal tokens.
#[server(prefix = "/api", endpoint = "tokens/revoke-mine")]
pub async fn revoke_my_token(id: String) -> Result<TokenSummary, AppError> {
    let (state, auth) = require(Permission::ViewConsole).await?;
    api_tokens::revoke_own(&state.db, &auth, &id)
        .await
        .map_err(fail)
}
