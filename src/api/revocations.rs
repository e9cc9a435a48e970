//! Revoke everywhere (administrators) and sign out everywhere (support and administrators) on a
//! person, and their progress. Acting needs a recent sign-in, as the MFA reset does.
use crate::model::revocations::{PersonRevocations, RevocationProgress};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::{revocations::RevocationInput, Permission};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::revocations};

/// The progress page of a revocation.
pub fn progress_path(p: &RevocationProgress) -> String {
    format!(
        "/guids/{}/revocations/{}",
        p.revocation.guid, p.revocation.id
    )
}

#[server(prefix = "/api", endpoint = "people/revoke_everywhere")]
pub async fn revoke_everywhere(
    guid: String,
    reason: String,
    ticket: String,
) -> Result<RevocationProgress, AppError> {
    let (state, auth) = require_fresh(Permission::RevokeEverywhere).await?;
    let input = RevocationInput { reason, ticket };
    let p = revocations::revoke_everywhere(&state.db, &state.config.support, &auth, &guid, &input)
        .await
        .map_err(fail)?;
    leptos_axum::redirect(&progress_path(&p));
    Ok(p)
}

#[server(prefix = "/api", endpoint = "people/sign_out_everywhere")]
pub async fn sign_out_everywhere(
    guid: String,
    reason: String,
    ticket: String,
) -> Result<RevocationProgress, AppError> {
    let (state, auth) = require_fresh(Permission::SignOutEverywhere).await?;
    let input = RevocationInput { reason, ticket };
    let p =
        revocations::sign_out_everywhere(&state.db, &state.config.support, &auth, &guid, &input)
            .await
            .map_err(fail)?;
    leptos_axum::redirect(&progress_path(&p));
    Ok(p)
}

/// Where each target stands; settles the revocation when every one has finished.
#[server(prefix = "/api", endpoint = "revocations/get")]
pub async fn get_revocation_progress(id: String) -> Result<RevocationProgress, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    revocations::progress(&state.db, &id).await.map_err(fail)
}

/// What an action on this person would reach now, and the actions so far.
#[server(prefix = "/api", endpoint = "people/revocations")]
pub async fn revocations_of_person(guid: String) -> Result<PersonRevocations, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    revocations::of_person(&state.db, &guid).await.map_err(fail)
}
