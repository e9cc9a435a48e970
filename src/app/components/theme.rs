use leptos::prelude::*;

/// Switches between light and dark mode and remembers the choice in this browser.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let (dark, set_dark) = signal(false);
    // The theme was applied before hydration by the shell's script; read it back once in the browser.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        set_dark.set(
            document()
                .document_element()
                .map(|e| e.class_list().contains("dark"))
                .unwrap_or(false),
        );
    });
    let toggle = move |_| {
        let next = !dark.get_untracked();
        set_dark.set(next);
        #[cfg(feature = "hydrate")]
        {
            if let Some(root) = document().document_element() {
                let _ = root.class_list().toggle_with_force("dark", next);
            }
            if let Ok(Some(storage)) = window().local_storage() {
                let _ = storage.set_item("theme", if next { "dark" } else { "light" });
            }
        }
    };
    view! {
        <button
            type="button"
            id="theme-toggle"
            class="btn-ghost"
            aria-pressed=move || dark.get().to_string()
            title="Switch between light and dark mode"
            on:click=toggle
        >
            {move || if dark.get() { "Light mode" } else { "Dark mode" }}
        </button>
    }
}
