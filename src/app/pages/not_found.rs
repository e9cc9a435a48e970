use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    // The id of the request the server answered with this page, quoted by a person reporting it
    // (sent along for hydration; a page not found while navigating in the browser has none).
    let request_id = SharedValue::new(request_id).into_inner();
    view! {
        <Title text="Not found" />
        <main class="mx-auto max-w-lg p-8 mt-16 card">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <p class="mt-4">"There is nothing at this address."</p>
            <p class="mt-6"><a class="btn-primary" href="/">"Go to the dashboard"</a></p>
            {request_id.map(|id| view! {
                <p class="mt-6 text-sm text-slate-500">"Request id: "<code id="request-id">{id}</code></p>
            })}
        </main>
    }
}

#[cfg(feature = "ssr")]
fn request_id() -> Option<String> {
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<crate::server::http::request_id::RequestId>()
            .map(|id| id.0.clone())
    })
}

#[cfg(not(feature = "ssr"))]
fn request_id() -> Option<String> {
    None
}
