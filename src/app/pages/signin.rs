use crate::api::session::idp_reachable;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    let signed_out = move || query.read().get("signed_out").is_some();
    let login_href = move || {
        let return_to = query.read().get("return_to").unwrap_or_else(|| "/".into());
        let encoded: String = return_to
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("/login?return_to={encoded}")
    };
    let reachable = Resource::new_blocking(|| (), |_| idp_reachable());
    view! {
        <Title text="Sign in" />
        <main class="mx-auto mt-16 max-w-md card p-8" id="main">
            <h1 class="text-2xl font-semibold">"Gatehouse"</h1>
            <p class="mt-2 text-slate-600 dark:text-slate-300">"Identity administration console"</p>
            <Show when=signed_out>
                <p class="mt-6 rounded-md bg-emerald-50 p-3 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" role="status" id="signed-out">
                    "You have been signed out."
                </p>
            </Show>
            <Suspense fallback=|| ()>
                {move || {
                    let unreachable = error().as_deref() == Some("idp_unreachable")
                        || matches!(reachable.get(), Some(Ok(false)));
                    unreachable.then(|| view! {
                        <p role="alert" id="idp-unreachable" class="mt-6 rounded-md border border-amber-300 bg-amber-50 p-3 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
                            "The identity provider is unreachable right now, so nobody can sign in. "
                            "Gatehouse keeps trying; please try again in a minute."
                        </p>
                    })
                }}
            </Suspense>
            <a class="btn-primary mt-8 w-full justify-center" href=login_href rel="external" id="sign-in">
                "Sign in with your company account"
            </a>
        </main>
    }
}
