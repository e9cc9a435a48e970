//! The console frame: navigation, who is signed in, sign-out, and the page below.
use crate::api::session::current_principal;
use crate::app::components::{ErrorBox, ThemeToggle};
use crate::model::access::PAGES;
use crate::model::Principal;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

#[component]
pub fn Console() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_principal());
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 btn-primary">
            "Skip to content"
        </a>
        <header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <div class="mx-auto flex max-w-7xl flex-wrap items-center gap-4 px-4 py-3">
                <a href="/" class="text-lg font-semibold tracking-tight">"Gatehouse"</a>
                <Suspense fallback=|| ()>
                    {move || me.get().map(|r| match r {
                        Ok(Some(p)) => view! { <Nav principal=p /> }.into_any(),
                        Ok(None) => view! {
                            <a class="btn-primary ml-auto" href="/login" rel="external">"Sign in"</a>
                        }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    })}
                </Suspense>
            </div>
        </header>
        <main id="main" class="mx-auto max-w-7xl px-4 py-6">
            <Outlet />
        </main>
    }
}

#[component]
fn Nav(principal: Principal) -> impl IntoView {
    let links = PAGES
        .iter()
        .filter(|(_, label, permission)| !label.is_empty() && principal.can(*permission))
        .map(|(href, label, _)| {
            view! {
                <li>
                    // A section stays highlighted on its detail pages (/users/<id>: Users).
                    <A href=*href attr:class="nav-link" exact={*href == "/"}>{*label}</A>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav aria-label="Main">
            <ul class="flex gap-1">{links}</ul>
        </nav>
        <div class="ml-auto flex items-center gap-3">
            <a href="/api/v1/docs" rel="external" class="text-sm underline" id="api-reference">"API reference"</a>
            <ThemeToggle />
            <span class="text-sm" id="whoami">
                <span class="font-medium">{principal.name.clone()}</span>
                " · "
                <span id="role" class="text-slate-500 dark:text-slate-400">{principal.role.label()}</span>
            </span>
            <form method="post" action="/logout">
                <button type="submit" class="btn-ghost" id="sign-out">"Sign out"</button>
            </form>
        </div>
    }
}
