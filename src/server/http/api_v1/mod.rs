//! The management REST API, `/api/v1/` (issue 13; design in docs/decisions.md). Bearer tokens
//! only, never cookies; every handler authenticates (the `caller` middleware), authorizes with
//! the token's scope and calls the same service function as the console. The OpenAPI document
//! is generated from these handlers (`openapi.rs`), so the routes and the document cannot drift.
pub mod apps;
pub mod audit;
pub mod audit_sinks;
pub mod caller;
pub mod devices;
pub mod groups;
pub mod jobs;
pub mod keys;
pub mod mfa;
pub mod openapi;
pub mod people;
pub mod problem;
pub mod provisioning;
pub mod reply;
pub mod revocations;
pub mod signals;
pub mod system;
pub mod transmitters;
pub mod users;
pub mod webhooks;

use crate::server::AppState;
use axum::routing::get;
use axum::{middleware, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API's routes and the OpenAPI document describing exactly them.
pub fn router(state: &AppState) -> (Router<AppState>, serde_json::Value) {
    let (protected, doc) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update))
        .routes(routes!(users::set_status))
        .routes(routes!(users::unlock))
        .routes(routes!(users::link))
        .routes(routes!(users::export))
        .routes(routes!(people::list))
        .routes(routes!(people::get))
        .routes(routes!(people::duplicates))
        .routes(routes!(people::merge))
        .routes(routes!(revocations::revoke_everywhere))
        .routes(routes!(revocations::sign_out_everywhere))
        .routes(routes!(revocations::progress))
        .routes(routes!(audit::search))
        .routes(routes!(audit::event))
        .routes(routes!(audit::export))
        .routes(routes!(audit::verify))
        .routes(routes!(audit_sinks::list, audit_sinks::create))
        .routes(routes!(
            audit_sinks::get,
            audit_sinks::update,
            audit_sinks::delete
        ))
        .routes(routes!(audit_sinks::replay))
        .routes(routes!(audit_sinks::status))
        .routes(routes!(system::background))
        .routes(routes!(system::info))
        .routes(routes!(jobs::bulk_status))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::user_import))
        .routes(routes!(apps::list, apps::create))
        .routes(routes!(apps::get, apps::update))
        .routes(routes!(apps::set_status))
        .routes(routes!(apps::rotate_secret))
        .routes(routes!(apps::revoke_secret))
        .routes(routes!(apps::assignments))
        .routes(routes!(apps::assign, apps::unassign))
        .routes(routes!(apps::groups, apps::assign_group))
        .routes(routes!(apps::unassign_group))
        .routes(routes!(provisioning::get, provisioning::put))
        .routes(routes!(provisioning::retry))
        .routes(routes!(provisioning::replay))
        .routes(routes!(provisioning::reconcile))
        .routes(routes!(provisioning::reconciliation))
        .routes(routes!(provisioning::fix))
        .routes(routes!(provisioning::of_person))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::update, groups::delete))
        .routes(routes!(groups::members, groups::add_member))
        .routes(routes!(groups::remove_member))
        .routes(routes!(groups::of_user))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::get))
        .routes(routes!(keys::rotate))
        .routes(routes!(keys::revoke))
        .routes(routes!(keys::set_expiry))
        .routes(routes!(devices::list))
        .routes(routes!(devices::of_user, devices::register))
        .routes(routes!(devices::set_trust))
        .routes(routes!(devices::remove))
        .routes(routes!(mfa::factors, mfa::add_factor))
        .routes(routes!(mfa::remove_factor))
        .routes(routes!(mfa::options))
        .routes(routes!(mfa::reset))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::retry))
        .routes(routes!(webhooks::replay))
        .routes(routes!(signals::list, signals::create))
        .routes(routes!(signals::get, signals::update, signals::delete))
        .routes(routes!(signals::rotate_token))
        .routes(routes!(signals::status))
        .routes(routes!(signals::retry))
        .routes(routes!(signals::replay))
        .routes(routes!(
            transmitters::list_transmitters,
            transmitters::create_transmitter
        ))
        .routes(routes!(
            transmitters::get_transmitter,
            transmitters::update_transmitter,
            transmitters::delete_transmitter
        ))
        .routes(routes!(transmitters::refresh_transmitter_keys))
        .routes(routes!(transmitters::transmitter_status))
        .split_for_parts();
    let protected = protected.layer(middleware::from_fn_with_state(
        state.clone(),
        caller::authenticate,
    ));
    let doc = openapi::finish(doc, &state.config.public_url);
    let document = std::sync::Arc::new(doc.to_string());
    let reference = std::sync::Arc::new(openapi::reference_html(&doc));
    let public = Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { openapi::json_response(&document) }
            }),
        )
        .route(
            "/api/v1/docs",
            get(move || {
                let reference = reference.clone();
                async move { openapi::html_response(&reference) }
            }),
        );
    (public.merge(protected), doc)
}
