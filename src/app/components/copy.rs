//! Copying to the clipboard: the one place that talks to the browser's clipboard, and a small
//! "Copy" button for identifiers people read out or paste on a call (user id, GUID, client id,
//! key prefix, audit hash and sequence, public key).
use leptos::prelude::*;

/// Writes `value` to the clipboard and reports how it went through `status` (announced).
pub fn copy_to_clipboard(value: &str, status: WriteSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        let promise = window().navigator().clipboard().write_text(value);
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => status.set("Copied".into()),
                Err(_) => status.set(
                    "The browser did not allow copying: select the text and copy it by hand."
                        .into(),
                ),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = value;
        status.set(String::new());
    }
}

/// A "Copy" button for `value`, named for screen readers ("Copy user id"). It appears once the
/// page is interactive: without JavaScript there is nothing it could do, and the identifiers
/// beside it select whole on a click (`select-all`).
#[component]
pub fn CopyButton(
    /// What is copied, for the button's accessible name: "user id", "GUID", "hash".
    what: &'static str,
    value: String,
    /// The button's id, for tests and for people's scripts.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let (status, set_status) = signal(String::new());
    // Effects run only in the browser: the button is left out of the server's HTML.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let value = StoredValue::new(value);
    move || {
        interactive.get().then(|| {
            view! {
                <span class="ml-1 inline-flex items-center gap-1 align-middle">
                    <button type="button" id=id class="copy-button" aria-label=format!("Copy {what}")
                        title=format!("Copy {what}")
                        on:click=move |_| value.with_value(|v| copy_to_clipboard(v, set_status))>
                        "Copy"
                    </button>
                    <span class="text-xs text-slate-600 dark:text-slate-300" role="status" aria-live="polite">{status}</span>
                </span>
            }
        })
    }
}
