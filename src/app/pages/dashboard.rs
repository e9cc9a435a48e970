use crate::api::audit::load_dashboard;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::audit::EventRows;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    let summary = Resource::new(|| (), |_| load_dashboard());
    let me = Resource::new(|| (), |_| crate::api::session::current_principal());
    view! {
        <Title text="Dashboard" />
        <h1 class="text-2xl font-semibold">"Dashboard"</h1>
        <Suspense fallback=|| ()>
            {move || me.get().and_then(|r| r.ok()).flatten().filter(crate::app::pages::support::is_support).map(|_| view! {
                <a href="/support" class="mt-4 card block p-4 hover:border-indigo-400" id="support-shortcut">
                    <span class="font-semibold">"Support desk"</span>
                    <span class="block text-sm text-slate-600 dark:text-slate-300">"Find a caller, check their state, reset their MFA."</span>
                </a>
            })}
        </Suspense>
        <Suspense fallback=Loading>
            {move || summary.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(s) => {
                    let recent = s.recent.clone();
                    view! {
                        <dl class="mt-6 grid gap-4 sm:grid-cols-3">
                            <Stat label="Audit events" value=s.audit_events id="stat-audit-events" />
                            <Stat label="Sign-ins, last 24 h" value=s.sign_ins_24h id="stat-sign-ins" />
                            <Stat label="Denied, last 24 h" value=s.denied_24h id="stat-denied" />
                        </dl>
                        <Show when=move || !recent.is_empty()>
                            <h2 class="mt-8 text-lg font-semibold">"Recent activity"</h2>
                            <div class="mt-2 card overflow-x-auto">
                                <EventRows events=s.recent.clone() />
                            </div>
                            <p class="mt-2"><a class="link" href="/audit">"Open the audit log"</a></p>
                        </Show>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

#[component]
fn Stat(label: &'static str, value: i64, id: &'static str) -> impl IntoView {
    view! {
        <div class="card p-4">
            <dt class="text-sm text-slate-500 dark:text-slate-400">{label}</dt>
            <dd class="mt-1 text-3xl font-semibold tabular-nums" id=id>{value}</dd>
        </div>
    }
}
