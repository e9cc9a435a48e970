use crate::api::audit::load_dashboard;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::audit::EventRows;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    let summary = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Dashboard" />
        <h1 class="text-2xl font-semibold">"Dashboard"</h1>
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
