//! A submit button that asks once before it submits.
use leptos::prelude::*;

/// Inside a form: the first click (or Enter) arms it and changes its text to `confirm`; the second
/// submits. A Cancel button disarms it. Without scripts it submits at once.
#[component]
pub fn ConfirmSubmit(
    label: &'static str,
    /// The armed text, e.g. "Confirm: revoke this key".
    confirm: &'static str,
    id: String,
    #[prop(optional)] danger: bool,
) -> impl IntoView {
    let armed = RwSignal::new(false);
    let class = if danger {
        "inline-flex items-center rounded-md border border-red-400 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-red-600 dark:border-red-700 dark:text-red-300 dark:hover:bg-red-950"
    } else {
        "btn-ghost border border-slate-300 dark:border-slate-700"
    };
    view! {
        <span class="inline-flex flex-wrap items-center gap-2">
            <button type="submit" class=class id=id data-armed=move || armed.get().to_string()
                on:click=move |ev| {
                    if !armed.get_untracked() {
                        ev.prevent_default();
                        armed.set(true);
                    }
                }>
                {move || if armed.get() { confirm } else { label }}
            </button>
            {move || armed.get().then(|| view! {
                <button type="button" class="btn-ghost" on:click=move |_| armed.set(false)>"Cancel"</button>
            })}
        </span>
    }
}
