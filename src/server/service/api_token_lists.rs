//! Service accounts and tokens as the console lists them: newest first, in keyset pages. A
//! listed token never carries its secret or hash (the summaries hold neither).
use crate::model::api::{Scope, ServiceAccount, TokenSummary};
use crate::model::{AppError, Principal};
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::api_tokens::get_account;

pub const PAGE_SIZE: i64 = 50;

/// A page of rows and the cursor of the next one, if any.
pub type Page<T> = (Vec<T>, Option<String>);

/// `created_at|id` of the last row seen; empty for the first page.
fn cursor(after: &str) -> Result<Option<(i64, String)>, AppError> {
    let after = after.trim();
    if after.is_empty() {
        return Ok(None);
    }
    after
        .split_once('|')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
        .filter(|(_, id)| !id.is_empty())
        .map(Some)
        .ok_or_else(|| {
            AppError::invalid(
                "after",
                "Not a page cursor; start again from the first page",
            )
        })
}

/// Keeps `PAGE_SIZE` rows of the `PAGE_SIZE + 1` read; the extra one says a next page exists.
fn split<T>(mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
    if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

pub async fn accounts(db: &Db, after: &str) -> Result<Page<ServiceAccount>, AppError> {
    let after = cursor(after)?;
    let rows = db::api_tokens::page_accounts(
        &db.pool,
        after.as_ref().map(|(at, id)| (*at, id.as_str())),
        PAGE_SIZE + 1,
    )
    .await
    .map_err(internal)?;
    Ok(split(rows, |a| format!("{}|{}", a.created_at, a.id)))
}

/// A service account's tokens (the account must exist).
pub async fn tokens_of_account(db: &Db, id: &str) -> Result<Vec<TokenSummary>, AppError> {
    let account = get_account(db, id).await?;
    db::api_tokens::tokens_of_account(&db.pool, &account.id)
        .await
        .map_err(internal)
}

/// The signed-in person's own personal tokens.
pub async fn mine(db: &Db, auth: &Authorized) -> Result<Vec<TokenSummary>, AppError> {
    db::api_tokens::tokens_of_person(&db.pool, &auth.principal.subject)
        .await
        .map_err(internal)
}

/// Every staff member's personal tokens (for administrators).
pub async fn personal(db: &Db, after: &str) -> Result<Page<TokenSummary>, AppError> {
    let after = cursor(after)?;
    let rows = db::api_tokens::page_personal_tokens(
        &db.pool,
        after.as_ref().map(|(at, id)| (*at, id.as_str())),
        PAGE_SIZE + 1,
    )
    .await
    .map_err(internal)?;
    Ok(split(rows, |t| format!("{}|{}", t.created_at, t.id)))
}

/// The scopes a personal token of this person may hold: those their role allows.
pub fn personal_scopes(principal: &Principal) -> Vec<Scope> {
    Scope::ALL
        .into_iter()
        .filter(|s| principal.can(s.permission()))
        .collect()
}
