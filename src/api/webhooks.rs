//! Webhook endpoints in the console: list, make (the secret is shown once), change, rotate the
//! secret, delete, retry and replay.
use crate::model::webhooks::{WebhookInput, WebhookView, WebhookWithSecret};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::webhooks};

#[server(prefix = "/api", endpoint = "webhooks/list")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, AppError> {
    let (state, _) = require(Permission::ManageWebhooks).await?;
    webhooks::list(&state.db).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "webhooks/get")]
pub async fn get_webhook(id: String) -> Result<WebhookView, AppError> {
    let (state, _) = require(Permission::ManageWebhooks).await?;
    webhooks::view(&state.db, &id).await.map_err(fail)
}

/// Sending events out of Gatehouse needs a recent sign-in.
#[server(prefix = "/api", endpoint = "webhooks/create")]
pub async fn create_webhook(input: WebhookInput) -> Result<WebhookWithSecret, AppError> {
    let (state, auth) = require_fresh(Permission::ManageWebhooks).await?;
    let key = state.config.outbox.secrets_key.as_ref();
    webhooks::create(&state.db, &auth, key, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "webhooks/save")]
pub async fn save_webhook(
    id: String,
    version: i64,
    input: WebhookInput,
) -> Result<WebhookView, AppError> {
    let (state, auth) = require_fresh(Permission::ManageWebhooks).await?;
    webhooks::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(id: String) -> Result<WebhookWithSecret, AppError> {
    let (state, auth) = require_fresh(Permission::ManageWebhooks).await?;
    let key = state.config.outbox.secrets_key.as_ref();
    webhooks::rotate_secret(&state.db, &auth, key, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "webhooks/delete")]
pub async fn delete_webhook(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageWebhooks).await?;
    webhooks::delete(&state.db, &auth, &id)
        .await
        .map_err(fail)?;
    leptos_axum::redirect("/webhooks");
    Ok(())
}

#[server(prefix = "/api", endpoint = "webhooks/retry")]
pub async fn retry_webhook(id: String) -> Result<WebhookView, AppError> {
    let (state, auth) = require(Permission::ManageWebhooks).await?;
    webhooks::retry_now(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "webhooks/replay")]
pub async fn replay_webhook(id: String, seq: i64) -> Result<WebhookView, AppError> {
    let (state, auth) = require(Permission::ManageWebhooks).await?;
    webhooks::replay_from(&state.db, &auth, &id, seq)
        .await
        .map_err(fail)
}
