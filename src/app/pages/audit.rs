//! The audit log: filters in the URL (a plain GET form, so it works before hydration), keyset
//! pages newest first, each event opening to its details; export and integrity check.
use crate::api::audit::{audit_checkpoints, load_audit_page, start_audit_export, StartAuditVerify};
use crate::api::session::current_principal;
use crate::app::components::{CopyButton, ErrorBox, JobProgress, Loading};
use crate::app::pages::audit_sinks::StreamingStatus;
use crate::model::audit::{AuditEvent, AuditQuery, ACTION_GROUPS, QUICK_RANGES};
use crate::model::time::format_utc;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditLog() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        let get = |k: &str| p.get(k).unwrap_or_default();
        AuditQuery {
            range: get("range"),
            from: get("from"),
            to: get("to"),
            actor: get("actor"),
            action: get("action"),
            target_type: get("target_type"),
            target_id: get("target_id"),
            outcome: get("outcome"),
            ip: get("ip"),
            before: p.get("before").and_then(|b| b.parse().ok()),
        }
    });
    let page = Resource::new(move || query.get(), |q| load_audit_page(Some(q)));
    let me = Resource::new(|| (), |_| current_principal());
    let can = move |p: Permission| matches!(me.get(), Some(Ok(Some(ref m))) if m.can(p));
    let verify = ServerAction::<StartAuditVerify>::new();
    let (export_job, set_export_job) = signal(None::<String>);
    let (export_error, set_export_error) = signal(None::<AppError>);
    view! {
        <Title text="Audit log" />
        <div class="flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">"Audit log"</h1>
            <div class="ml-auto flex flex-wrap gap-2">
                {move || can(Permission::ExportAudit).then(|| view! {
                    <ExportLink query=query.get() format="csv" label="Export CSV" job=set_export_job error=set_export_error />
                    <ExportLink query=query.get() format="ndjson" label="Export NDJSON" job=set_export_job error=set_export_error />
                })}
                {move || can(Permission::VerifyAudit).then(|| view! {
                    <ActionForm action=verify>
                        <button type="submit" class="btn-primary" id="verify-audit">"Verify integrity"</button>
                    </ActionForm>
                })}
            </div>
        </div>
        {move || export_error.get().map(|e| view! { <ErrorBox error=e /> })}
        {move || export_job.get().map(|id| view! {
            <div class="mt-3" id="export-job" aria-live="polite">
                <p class="text-sm font-medium">"Export"</p>
                <JobProgress id=id audit=true />
            </div>
        })}
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Who did what, to whom, when and from where. Each event is chained to the one before it by its hash; exports carry the hashes so they can be checked offline."
        </p>
        {move || verify.value().get().map(|r| match r {
            Err(e) => view! { <div class="mt-3"><ErrorBox error=e /></div> }.into_any(),
            Ok(job) => view! { <div class="mt-3" id="verify-job"><JobProgress id=job audit=true /></div> }.into_any(),
        })}
        <Filters query=query />
        <Checkpoints />
        <StreamingStatus manage=Signal::derive(move || can(Permission::ManageAuditSinks)) />
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.events.is_empty() => view! {
                    <p class="mt-6 card p-6" id="audit-empty">
                        {if query.get().is_filtered() { "No event matches these filters. Widen the time range or clear a filter." } else { "No events yet. Sign-ins and changes will appear here as they happen." }}
                    </p>
                }.into_any(),
                Ok(p) => {
                    let q = query.get();
                    let older = p.next_before.map(|n| format!("/audit?{}", AuditQuery { before: Some(n), ..q.clone() }.to_query_string(true)));
                    let newest = q.before.is_some().then(|| format!("/audit?{}", q.to_query_string(false)));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <EventRows events=p.events />
                        </div>
                        <nav class="mt-4 flex gap-3" aria-label="Audit pages">
                            {newest.map(|h| view! { <A href=h attr:class="btn-ghost">"Newest"</A> })}
                            {older.map(|h| view! { <A href=h attr:class="btn-ghost" attr:id="audit-older">"Older events"</A> })}
                        </nav>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn Filters(query: Memo<AuditQuery>) -> impl IntoView {
    let q = move || query.get();
    let range_link = move |key: &'static str| {
        let mut r = query.get();
        r.range = key.to_string();
        r.from.clear();
        r.to.clear();
        r.before = None;
        format!("/audit?{}", r.to_query_string(false))
    };
    view! {
        <div class="mt-4 flex flex-wrap gap-1" role="group" aria-label="Quick time ranges">
            <A href=move || range_link("") attr:class="nav-link" attr:aria-current=move || (q().range.is_empty() && q().from.is_empty()).then_some("true")>"Any time"</A>
            {QUICK_RANGES.into_iter().map(|(key, label, _)| view! {
                <A href=move || range_link(key) attr:class="nav-link" attr:aria-current=move || (q().range == key).then_some("true")>{label}</A>
            }).collect_view()}
        </div>
        <form method="get" action="/audit" class="mt-3 card grid gap-3 p-4 sm:grid-cols-2 lg:grid-cols-4" id="audit-filters" aria-label="Filter events">
            <input type="hidden" name="range" value=move || q().range />
            <label class="text-sm">"From (UTC)"
                <input type="datetime-local" name="from" class="input mt-1 w-full" value=move || q().from />
            </label>
            <label class="text-sm">"To (UTC)"
                <input type="datetime-local" name="to" class="input mt-1 w-full" value=move || q().to />
            </label>
            <label class="text-sm">"Actor (email)"
                <input type="text" name="actor" id="filter-actor" class="input mt-1 w-full" autocomplete="off" value=move || q().actor />
            </label>
            <label class="text-sm">"Action"
                <select name="action" id="filter-action" class="input mt-1 w-full">
                    <option value="" selected=move || q().action.is_empty()>"Any action"</option>
                    {ACTION_GROUPS.iter().map(|(label, all, actions)| view! {
                        <optgroup label=*label>
                            <option value=*all selected=move || q().action == *all>{format!("All: {label}")}</option>
                            {actions.iter().map(|a| view! { <option value=*a selected=move || q().action == *a>{*a}</option> }).collect_view()}
                        </optgroup>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Target type"
                <select name="target_type" id="filter-target-type" class="input mt-1 w-full">
                    {["", "user", "guid", "device", "job", "application", "api_key", "audit_sink"].into_iter().map(|t| view! {
                        <option value=t selected=move || q().target_type == t>{if t.is_empty() { "Any" } else { t }}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Target id"
                <input type="text" name="target_id" id="filter-target-id" class="input mt-1 w-full font-mono" autocomplete="off" value=move || q().target_id />
            </label>
            <label class="text-sm">"Outcome"
                <select name="outcome" id="filter-outcome" class="input mt-1 w-full">
                    {["", "success", "denied", "failed"].into_iter().map(|o| view! {
                        <option value=o selected=move || q().outcome == o>{if o.is_empty() { "Any" } else { o }}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="text-sm">"Client IP"
                <input type="text" name="ip" id="filter-ip" class="input mt-1 w-full" autocomplete="off" value=move || q().ip />
            </label>
            <div class="flex items-end gap-2 sm:col-span-2 lg:col-span-4">
                <button type="submit" class="btn-primary" id="apply-filters">"Apply filters"</button>
                <a href="/audit" class="btn-ghost">"Clear"</a>
            </div>
        </form>
    }
}

/// A table of audit events; each row opens to show its details.
#[component]
pub fn EventRows(events: Vec<AuditEvent>) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|e| {
            let target = match (e.target_type.as_deref(), e.target_id.clone()) {
                (Some("user"), Some(id)) => view! { "user "<A href=format!("/users/{id}") attr:class="link font-mono">{id.clone()}</A> }.into_any(),
                (Some("guid"), Some(id)) => view! { "person "<A href=format!("/guids/{id}") attr:class="link font-mono">{id.clone()}</A> }.into_any(),
                (Some("application"), Some(id)) => view! { "application "<A href=format!("/apps/{id}") attr:class="link font-mono">{id.clone()}</A> }.into_any(),
                (Some("api_key"), Some(id)) => view! { "API key "<A href=format!("/keys/{id}") attr:class="link font-mono">{id.clone()}</A> }.into_any(),
                (Some("device"), Some(id)) => view! { "device "<A href=format!("/devices?device={id}") attr:class="link font-mono">{id.clone()}</A> }.into_any(),
                (Some(t), Some(id)) => format!("{t} {id}").into_any(),
                _ => "—".into_any(),
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
                    <td class="px-3 py-2 tabular-nums"><A href=format!("/audit/events/{}", e.seq) attr:class="link" attr:title="The event's own page: what changed, its chain links, a permalink">{e.seq}</A></td>
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

/// The latest checkpoints of the chain head and the key that signs them, for offline checks.
#[component]
fn Checkpoints() -> impl IntoView {
    let data = Resource::new(|| (), |_| audit_checkpoints());
    view! {
        <details class="mt-3 card p-4" id="checkpoints">
            <summary class="cursor-pointer font-semibold">"Checkpoints and signing key"</summary>
            <Suspense fallback=Loading>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(v) => view! {
                        <p class="mt-2 text-sm">
                            {match v.public_key.clone() {
                                Some(k) => view! { "Checkpoints are signed with Ed25519. Public key: "<code class="break-all select-all" id="public-key">{k.clone()}</code><CopyButton what="public key" value=k /> }.into_any(),
                                None => view! { "No signing key is configured (GATEHOUSE_AUDIT_SIGNING_KEY): checkpoints are recorded unsigned." }.into_any(),
                            }}
                        </p>
                        {if v.checkpoints.is_empty() {
                            view! { <p class="mt-2 text-sm">"No checkpoint yet; one is taken every hour while events are written."</p> }.into_any()
                        } else {
                            view! {
                                <table class="mt-2 w-full text-left text-xs">
                                    <thead><tr><th scope="col" class="py-1">"Event"</th><th scope="col">"Head hash"</th><th scope="col">"Taken"</th><th scope="col">"Signature"</th></tr></thead>
                                    <tbody>
                                        {v.checkpoints.into_iter().map(|(c, valid)| view! {
                                            <tr class="border-t border-slate-200 dark:border-slate-800">
                                                <td class="py-1 tabular-nums">{c.seq}</td>
                                                <td class="font-mono break-all">{c.hash.clone()}</td>
                                                <td class="whitespace-nowrap">{format_utc(c.created_at)}</td>
                                                <td>{if c.signature.is_none() { "unsigned" } else if valid { "valid" } else { "INVALID" }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                    }.into_any(),
                })}
            </Suspense>
        </details>
    }
}

/// A download link for the filtered view. Before hydration it is a plain link; after, a click
/// first prepares a job so the page can show how far the download has got, then downloads.
#[component]
fn ExportLink(
    query: AuditQuery,
    format: &'static str,
    label: &'static str,
    job: WriteSignal<Option<String>>,
    error: WriteSignal<Option<AppError>>,
) -> impl IntoView {
    let href = format!("/audit/export.{format}?{}", query.to_query_string(false));
    let on_click = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let query = query.clone();
        leptos::task::spawn_local(async move {
            match start_audit_export(Some(query), format.to_string()).await {
                Ok(ticket) => {
                    error.set(None);
                    job.set(Some(ticket.job));
                    if window().location().set_href(&ticket.url).is_err() {
                        error.set(Some(AppError::Request(
                            "the download could not start".into(),
                        )));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <a class="btn-ghost border border-slate-300 dark:border-slate-700" id=format!("export-{format}")
           rel="external" download="" href=href on:click=on_click>{label}</a>
    }
}
