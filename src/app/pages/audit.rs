use crate::api::audit::load_audit_page;
use crate::app::components::{ErrorBox, Loading};
use crate::model::audit::AuditEvent;
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// The audit log, newest first. `?before=N` pages back through older events (keyset pagination).
#[component]
pub fn AuditLog() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let page = Resource::new(before, load_audit_page);
    view! {
        <Title text="Audit log" />
        <h1 class="text-2xl font-semibold">"Audit log"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Every sign-in, denial and change, newest first. Each event is chained to the one before it by its hash."
        </p>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(p) if p.events.is_empty() => view! {
                    <p class="mt-6 card p-6" id="audit-empty">"No events yet. Sign-ins and changes will appear here as they happen."</p>
                }.into_any(),
                Ok(p) => {
                    let next = p.next_before;
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <EventRows events=p.events />
                        </div>
                        <nav class="mt-4 flex gap-3" aria-label="Audit pages">
                            <Show when=move || before().is_some()>
                                <A href="/audit" attr:class="btn-ghost">"Newest"</A>
                            </Show>
                            {next.map(|n| view! {
                                <A href=format!("/audit?before={n}") attr:class="btn-ghost" attr:id="audit-older">"Older events"</A>
                            })}
                        </nav>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// A table of audit events; each row opens to show its details.
#[component]
pub fn EventRows(events: Vec<AuditEvent>) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|e| {
            let target = match (&e.target_type, &e.target_id) {
                (Some(t), Some(id)) => format!("{t} {id}"),
                _ => "—".to_string(),
            };
            let actor = e.actor_email.clone().unwrap_or_else(|| "anonymous".into());
            let role = e.actor_role.clone().unwrap_or_default();
            let outcome_class = match e.outcome.as_str() {
                "success" => "badge badge-ok",
                "denied" => "badge badge-warn",
                _ => "badge badge-bad",
            };
            view! {
                <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-seq=e.seq>
                    <td class="px-3 py-2 tabular-nums text-slate-500">{e.seq}</td>
                    <td class="px-3 py-2 whitespace-nowrap">{format_utc(e.occurred_at)}</td>
                    <td class="px-3 py-2">{actor}<span class="block text-xs text-slate-500">{role}</span></td>
                    <td class="px-3 py-2 font-mono text-xs">{e.action.clone()}</td>
                    <td class="px-3 py-2 text-xs">{target}</td>
                    <td class="px-3 py-2"><span class=outcome_class>{e.outcome.clone()}</span></td>
                    <td class="px-3 py-2 text-xs">{e.client_ip.clone().unwrap_or_default()}</td>
                    <td class="px-3 py-2 text-xs">
                        <details>
                            <summary class="cursor-pointer">"Details"</summary>
                            <pre class="mt-2 max-w-md whitespace-pre-wrap break-all">{e.details.clone()}</pre>
                            <p class="mt-1 break-all text-slate-500">"User agent: "{e.user_agent.clone().unwrap_or_default()}</p>
                            <p class="mt-1 break-all font-mono text-slate-500">"Hash: "{e.hash.clone()}</p>
                        </details>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="w-full text-left text-sm" id="audit-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"#"</th>
                    <th scope="col" class="px-3 py-2">"Time"</th>
                    <th scope="col" class="px-3 py-2">"Actor"</th>
                    <th scope="col" class="px-3 py-2">"Action"</th>
                    <th scope="col" class="px-3 py-2">"Target"</th>
                    <th scope="col" class="px-3 py-2">"Outcome"</th>
                    <th scope="col" class="px-3 py-2">"Client IP"</th>
                    <th scope="col" class="px-3 py-2">"More"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
