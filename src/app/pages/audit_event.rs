//! One audit event on its own page (`/audit/events/<seq>`, everyone who reads the log): what
//! happened in words, the before and after of what it changed, every recorded field, and its
//! place in the chain (the hash it links to, whether its own hash recomputes, the events before
//! and after with whether each link holds). The address is the permalink.
use crate::api::audit::load_audit_event;
use crate::app::components::{CopyButton, ErrorBox, Loading};
use crate::app::pages::apps::detail_row;
use crate::model::audit::{AuditEventDetail, ChainNeighbour, FieldChange};
use crate::model::time::format_utc;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn AuditEventPage() -> impl IntoView {
    let params = use_params_map();
    let seq = move || params.read().get("seq").unwrap_or_default();
    let detail = Resource::new(seq, |raw| async move {
        match raw.parse::<i64>() {
            Ok(n) => load_audit_event(n).await,
            Err(_) => Err(AppError::NotFound(format!("Audit event {raw:?}"))),
        }
    });
    view! {
        <nav aria-label="Breadcrumb" class="text-sm">
            <A href="/audit" attr:class="link">"Audit log"</A>
            <span aria-hidden="true">" / "</span>
            <span aria-current="page">{move || format!("Event {}", seq())}</span>
        </nav>
        <Transition fallback=Loading>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(d) => view! { <EventDetail detail=d /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn EventDetail(detail: AuditEventDetail) -> impl IntoView {
    let e = detail.event.clone();
    let seq = e.seq;
    let outcome_class = match e.outcome.as_str() {
        "success" => "badge-ok",
        "denied" => "badge-warn",
        _ => "badge-bad",
    };
    let target = match (e.target_type.clone(), e.target_id.clone()) {
        (Some(kind), Some(id)) => view! {
            <A href=format!("/audit?target_type={kind}&target_id={id}") attr:class="link">{format!("{kind} {id}")}</A>
        }.into_any(),
        (kind, id) => view! { {kind.or(id).unwrap_or_else(|| "—".into())} }.into_any(),
    };
    let actor = e.actor_email.clone().or_else(|| e.actor_subject.clone());
    let actor_view = match actor {
        Some(a) => view! {
            <A href=format!("/audit?actor={a}") attr:class="link">{a.clone()}</A>
            {e.actor_role.clone().map(|r| format!(" ({r})"))}
        }
        .into_any(),
        None => view! { "Gatehouse itself" }.into_any(),
    };
    view! {
        <Title text=format!("Audit event {seq}") />
        <div class="mt-2 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold" id="event-title">{format!("Event {seq}: {}", e.action)}</h1>
            <span class=format!("badge {outcome_class}") id="event-outcome">{e.outcome.clone()}</span>
        </div>
        <p class="mt-2" id="event-summary">{detail.summary.clone()}</p>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            <time datetime=format_utc(e.occurred_at)>{format_utc(e.occurred_at)}</time>
            " · Permalink: "<a class="link font-mono" id="event-permalink" href=format!("/audit/events/{seq}")>{format!("/audit/events/{seq}")}</a>
            <CopyButton what="sequence number" value=seq.to_string() id="copy-event-seq" />
        </p>
        <Changes changes=detail.changes.clone() />
        <section class="mt-6 card p-4" aria-labelledby="event-fields-h">
            <h2 id="event-fields-h" class="text-lg font-semibold">"Recorded fields"</h2>
            <dl class="mt-2 divide-y divide-slate-200 dark:divide-slate-800" id="event-fields">
                {detail_row("Actor", actor_view)}
                {detail_row("Action", view! { <A href=format!("/audit?action={}", e.action) attr:class="link font-mono">{e.action.clone()}</A> })}
                {detail_row("Target", target)}
                {detail_row("Client IP", e.client_ip.clone().unwrap_or_else(|| "—".into()))}
                {detail_row("User agent", e.user_agent.clone().unwrap_or_else(|| "—".into()))}
                {detail_row("Details", view! { <pre class="whitespace-pre-wrap break-all text-xs" id="event-details">{pretty(&e.details)}</pre> })}
            </dl>
        </section>
        <Chain detail=detail />
    }
}

/// The details as indented JSON; as stored when they are not JSON.
fn pretty(details: &str) -> String {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| details.to_string())
}

#[component]
fn Changes(changes: Vec<FieldChange>) -> impl IntoView {
    view! {
        <section class="mt-6 card p-4" aria-labelledby="event-changes-h">
            <h2 id="event-changes-h" class="text-lg font-semibold">"What changed"</h2>
            {if changes.is_empty() {
                view! { <p class="mt-2 text-sm" id="event-no-changes">"This event records no before and after: the recorded fields below say what happened."</p> }.into_any()
            } else {
                view! {
                    <table class="mt-2 w-full text-left text-sm" id="event-changes">
                        <thead class="text-xs uppercase text-slate-600 dark:text-slate-300">
                            <tr><th scope="col" class="py-1 pr-3">"Field"</th><th scope="col" class="pr-3">"Before"</th><th scope="col">"After"</th></tr>
                        </thead>
                        <tbody>
                            {changes.into_iter().map(|c| view! {
                                <tr class="border-t border-slate-200 align-top dark:border-slate-800">
                                    <th scope="row" class="py-1 pr-3 font-mono font-normal">{c.field}</th>
                                    <td class="pr-3 break-all"><del class="text-red-800 dark:text-red-300">{c.before}</del></td>
                                    <td class="break-all"><ins class="text-emerald-800 no-underline dark:text-emerald-300">{c.after}</ins></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Chain(detail: AuditEventDetail) -> impl IntoView {
    let seq = detail.event.seq;
    let verifies = detail.hash_verifies;
    let neighbour = |n: Option<ChainNeighbour>, which: &'static str, none: &'static str| {
        match n {
        Some(n) => view! {
            <li id=format!("event-{which}")>
                <A href=format!("/audit/events/{}", n.seq) attr:class="link">{format!("{} event {}: {}", if which == "previous" { "Previous" } else { "Next" }, n.seq, n.action)}</A>
                <span class="block break-all font-mono text-xs">{n.hash.clone()}</span>
                <span class="text-sm">{if n.links { "The link holds." } else { "The link is BROKEN: run Verify integrity on the audit log." }}</span>
            </li>
        }.into_any(),
        None => view! { <li id=format!("event-{which}") class="text-sm">{none}</li> }.into_any(),
    }
    };
    view! {
        <section class="mt-6 card p-4" aria-labelledby="event-chain-h">
            <h2 id="event-chain-h" class="text-lg font-semibold">"Place in the chain"</h2>
            <dl class="mt-2 divide-y divide-slate-200 dark:divide-slate-800">
                {detail_row("Links to", view! { <code class="font-mono text-xs select-all" id="event-prev-hash">{detail.prev_hash.clone()}</code><CopyButton what="previous hash" value=detail.prev_hash.clone() /> })}
                {detail_row("Hash", view! { <code class="font-mono text-xs select-all" id="event-hash">{detail.event.hash.clone()}</code><CopyButton what="hash" value=detail.event.hash.clone() id="copy-event-hash" /> })}
                {detail_row("Its hash", view! {
                    <span id="event-hash-check">{if verifies { "recomputes from its fields and the hash it links to." } else { "does NOT recompute: this event was changed after it was written." }}</span>
                })}
            </dl>
            <ul class="mt-3 space-y-3">
                {neighbour(detail.previous.clone(), "previous", if seq == 1 { "This is the first event: it links to the genesis hash." } else { "The event before is no longer in the log (removed by retention; the purge record keeps its hash)." })}
                {neighbour(detail.next.clone(), "next", "No event after this one yet.")}
            </ul>
        </section>
    }
}
