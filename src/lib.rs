//! Gatehouse: central identity administration console.
//!
//! Layout: `model` is shared by server and browser (types, roles, permissions, errors);
//! `app` is the UI; `api` holds the server functions (thin: guard, then call a service);
//! `server` is everything that only runs on the server (config, auth, services, storage, HTTP edges).
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
