//! A secret shown once (client secret, API key), with a Copy button.
use leptos::prelude::*;

/// Shows `value` once with a Copy button and the warning that it will not be shown again.
/// `testid` goes on the element holding the secret, for tests and for people's scripts.
#[component]
pub fn OneTimeSecret(
    /// What the secret is, e.g. "Client secret".
    label: &'static str,
    value: String,
    testid: &'static str,
    /// Gatehouse keeps it encrypted to use it (an outbound signing secret), not as a hash.
    #[prop(optional)]
    encrypted: bool,
    /// Anything to show under the warning (a link to the new item, for instance).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let (status, set_status) = signal(String::new());
    let copy = {
        let value = value.clone();
        move |_| super::copy_to_clipboard(&value, set_status)
    };
    view! {
        <div class="rounded-md border border-amber-300 bg-amber-50 p-4 text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-50" data-one-time=testid>
            <p class="font-semibold">{label}</p>
            <div class="mt-2 flex flex-wrap items-center gap-2">
                <code class="select-all break-all rounded bg-white px-2 py-1 font-mono text-sm text-slate-900 dark:bg-slate-900 dark:text-slate-100" data-testid=testid>
                    {value}
                </code>
                <button type="button" class="btn-ghost border border-amber-400 dark:border-amber-700" on:click=copy>"Copy"</button>
                <span class="text-sm" role="status" aria-live="polite">{status}</span>
            </div>
            <p class="mt-2 text-sm">
                <strong>"Copy it now: you will not see it again."</strong>
                {if encrypted {
                    " Gatehouse keeps it encrypted to sign with and never shows it; if it is lost, rotate it."
                } else {
                    " Gatehouse keeps only a hash of it; if it is lost, rotate it."
                }}
            </p>
            {children.map(|c| view! { <div class="mt-3">{c()}</div> })}
        </div>
    }
}
