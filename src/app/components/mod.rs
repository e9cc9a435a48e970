//! Small reusable pieces of UI.
mod confirm;
mod copy;
mod job;
mod secret;
mod theme;

pub use confirm::ConfirmSubmit;
pub use copy::{copy_to_clipboard, CopyButton};
pub use job::JobProgress;
pub use secret::OneTimeSecret;
pub use theme::ThemeToggle;

use crate::model::AppError;
use leptos::prelude::*;

/// A visible, announced error message.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    view! {
        <div role="alert" class="rounded-md border border-red-300 bg-red-50 p-4 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
            {error.to_string()}
        </div>
    }
}

/// Shown while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="text-slate-500 dark:text-slate-400" aria-live="polite">"Loading…"</p> }
}
