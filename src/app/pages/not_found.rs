use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="mx-auto max-w-lg p-8 mt-16 card">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <p class="mt-4">"There is nothing at this address."</p>
            <p class="mt-6"><a class="btn-primary" href="/">"Go to the dashboard"</a></p>
        </main>
    }
}
