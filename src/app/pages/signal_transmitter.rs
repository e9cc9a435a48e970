//! One Shared Signals transmitter (Gatehouse receives): its configuration, the push URL to give
//! it, what it sent (counters, last error, the recent security events and what Gatehouse did
//! with each), fetching its keys now, enabling or disabling it, its registration, removal.
use crate::api::signal_transmitters::{
    get_transmitter, DeleteTransmitter, RefreshTransmitterKeys, SaveTransmitter,
    SetTransmitterStatus,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::detail_row;
use crate::app::pages::signal_transmitters::{
    max_age_text, short_event_type, time_or_never, transmitter_state, SourceOptions,
    TransmitterFields,
};
use crate::model::ssf::{ReceivedSet, TransmitterView};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn TransmitterPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SaveTransmitter>::new();
    let status = ServerAction::<SetTransmitterStatus>::new();
    let refresh = ServerAction::<RefreshTransmitterKeys>::new();
    let delete = ServerAction::<DeleteTransmitter>::new();
    // Not reloaded after a removal: the transmitter is gone, the page leaves for the list.
    let transmitter = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                status.version().get(),
                refresh.version().get(),
            )
        },
        |(id, ..)| get_transmitter(id),
    );
    let action_error = move || {
        status
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| refresh.value().get().and_then(|r| r.err()))
            .or_else(|| delete.value().get().and_then(|r| r.err()))
    };
    // What the last action did, announced (errors are announced by their ErrorBox).
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(t)) = refresh.value().get() {
            notice.set(Some(format!(
                "Keys fetched: {} key{}.",
                t.key_count,
                if t.key_count == 1 { "" } else { "s" }
            )));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(t)) = status.value().get() {
            let now = if t.status == "active" {
                "enabled"
            } else {
                "disabled"
            };
            notice.set(Some(format!("Transmitter {now}.")));
        }
    });
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            notice.set(Some("Registration saved.".into()));
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            navigate("/signals", Default::default());
        }
    });
    view! {
        <p class="text-sm"><A href="/signals" attr:class="link">"← Shared Signals"</A></p>
        <SourceOptions />
        <Transition fallback=Loading>
            {move || transmitter.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(d) => {
                    let t = d.transmitter;
                    view! {
                        <Title text=format!("Transmitter {}", t.name) />
                        <h1 class="mt-2 text-2xl font-semibold" id="transmitter-name-title">{t.name.clone()}</h1>
                        <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">
                            "Transmitter "<span class="font-mono" id="transmitter-id">{t.id.clone()}</span>" · "
                            <A href=format!("/audit?target_type=ssf_transmitter&target_id={}", t.id) attr:class="link">"Its changes (audit log)"</A>
                        </p>
                        <section class="mt-4 card p-4" aria-labelledby="transmitter-push-h">
                            <h2 id="transmitter-push-h" class="font-medium">"Push URL to give the transmitter"</h2>
                            <p class="mt-1"><code class="font-mono break-all" id="transmitter-push-url">{d.push_url.clone()}</code></p>
                            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                                "It POSTs its Security Event Tokens there (RFC 8935, "<code>"application/secevent+jwt"</code>"), each with "<code>"iss"</code>" "<span class="font-mono break-all">{t.issuer.clone()}</span>" and "<code>"aud"</code>" "<span class="font-mono break-all">{t.audience.clone()}</span>"."
                            </p>
                        </section>
                        <TransmitterState transmitter=t.clone() status refresh />
                        <RecentEvents events=d.recent />
                        <details class="mt-6 card p-4">
                            <summary class="cursor-pointer font-medium">"Change the registration"</summary>
                            <ActionForm action=save attr:class="mt-3 grid gap-4 sm:grid-cols-2" attr:id="transmitter-form">
                                <input type="hidden" name="id" value=t.id.clone() />
                                <input type="hidden" name="version" value=t.version />
                                <TransmitterFields transmitter=Some(t.clone()) error=Signal::derive(move || save.value().get().and_then(|r| r.err())) />
                                {move || general_error(save.value().get().and_then(|r| r.err())).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                                <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="transmitter-save" disabled=move || save.pending().get()>"Save registration"</button></p>
                            </ActionForm>
                        </details>
                    }.into_any()
                }
            })}
        </Transition>
        <div class="mt-4" aria-live="polite" id="transmitter-notice">
            {move || notice.get().map(|n| view! {
                <p class="rounded-md bg-emerald-50 p-3 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">{n}</p>
            })}
        </div>
        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <section class="mt-8 card p-4" aria-labelledby="transmitter-delete-h">
            <h2 id="transmitter-delete-h" class="text-lg font-semibold">"Remove"</h2>
            <p class="mt-1 text-sm">"Gatehouse refuses its tokens from then on; what its events already changed (a last sign-in) stays."</p>
            <ActionForm action=delete attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Remove transmitter" confirm="Confirm: remove this transmitter" id="delete-transmitter".to_string() danger=true />
            </ActionForm>
        </section>
    }
}

#[component]
fn TransmitterState(
    transmitter: TransmitterView,
    status: ServerAction<SetTransmitterStatus>,
    refresh: ServerAction<RefreshTransmitterKeys>,
) -> impl IntoView {
    let t = transmitter;
    let (badge, state) = transmitter_state(&t);
    let (next_status, next_label) = if t.status == "active" {
        ("disabled", "Disable (refuse its tokens)")
    } else {
        ("active", "Enable")
    };
    let rejected_class = if t.rejected > 0 {
        "text-red-700 dark:text-red-300 font-semibold"
    } else {
        ""
    };
    let keys = format!(
        "{} key{} · fetched {}",
        t.key_count,
        if t.key_count == 1 { "" } else { "s" },
        time_or_never(t.keys_fetched_at)
    );
    let last_error = if t.last_error.is_empty() {
        view! { <span id="transmitter-last-error">"None"</span> }.into_any()
    } else {
        view! { <span id="transmitter-last-error" class="text-red-700 dark:text-red-300">{t.last_error.clone()}</span> }.into_any()
    };
    let (refresh_id, status_id) = (t.id.clone(), t.id.clone());
    view! {
        <dl class="mt-4 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="transmitter-state">
            {detail_row("Status", view! { <span class=badge id="transmitter-status" data-status=t.status.clone()>{state}</span> })}
            {detail_row("Issuer", view! { <span class="font-mono break-all" id="transmitter-issuer-value">{t.issuer.clone()}</span> })}
            {detail_row("JWKS URL", view! { <span class="font-mono break-all">{t.jwks_uri.clone()}</span> })}
            {detail_row("Audience", view! { <span class="font-mono break-all" id="transmitter-audience-value">{t.audience.clone()}</span> })}
            {detail_row("Users it speaks for", t.source_id.clone().map(|s| format!("Source {s}")).unwrap_or_else(|| "All users".into()))}
            {detail_row("Oldest event accepted", max_age_text(t.max_age_seconds))}
            {detail_row("Keys", view! { <span id="transmitter-keys">{keys}</span> })}
            {detail_row("Events received", view! { <span id="transmitter-received" class="tabular-nums">{t.received}</span> })}
            {detail_row("Tokens rejected", view! { <span id="transmitter-rejected" class=format!("tabular-nums {rejected_class}")>{t.rejected}</span> })}
            {detail_row("Last received", view! { <span id="transmitter-last-received">{time_or_never(t.last_received_at)}</span> })}
            {detail_row("Last error", last_error)}
            {detail_row("Registered", format_utc(t.created_at))}
            {detail_row("Changed", format_utc(t.updated_at))}
        </dl>
        <div class="mt-3 flex flex-wrap items-end gap-3">
            <ActionForm action=refresh attr:id="transmitter-refresh-form">
                <input type="hidden" name="id" value=refresh_id />
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="transmitter-refresh"
                    disabled=move || refresh.pending().get()>"Fetch keys now"</button>
            </ActionForm>
            <ActionForm action=status attr:id="transmitter-status-form">
                <input type="hidden" name="id" value=status_id />
                <input type="hidden" name="status" value=next_status />
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="transmitter-toggle"
                    disabled=move || status.pending().get()>{next_label}</button>
            </ActionForm>
        </div>
    }
}

/// The result of a received event in words and the badge it wears.
fn result_badge(result: &str) -> (&'static str, String) {
    match result {
        "applied" => ("badge badge-ok", "Applied".into()),
        "unmatched" => ("badge badge-warn", "No such user".into()),
        "ignored" => ("badge", "Ignored".into()),
        other => ("badge badge-bad", other.to_string()),
    }
}

#[component]
fn RecentEvents(events: Vec<ReceivedSet>) -> impl IntoView {
    view! {
        <h2 class="mt-6 text-lg font-semibold" id="transmitter-events-h">"Recent security events"</h2>
        {if events.is_empty() {
            view! {
                <p class="mt-2 text-sm" id="transmitter-events-empty">"Nothing received yet. Events appear here as the transmitter pushes them: check that it pushes to the URL above and signs with a key its JWKS lists."</p>
            }.into_any()
        } else {
            view! {
                <div class="mt-2 card overflow-x-auto">
                    <table class="w-full text-left text-sm" id="transmitter-events">
                        <caption class="sr-only">"Security events from this transmitter, newest first"</caption>
                        <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                            <tr>
                                <th scope="col" class="px-3 py-2">"Received"</th>
                                <th scope="col" class="px-3 py-2">"Event"</th>
                                <th scope="col" class="px-3 py-2">"Result"</th>
                                <th scope="col" class="px-3 py-2">"User"</th>
                                <th scope="col" class="px-3 py-2">"Summary"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {events.into_iter().map(|e| {
                                let (badge, result) = result_badge(&e.result);
                                let short = short_event_type(&e.event_type).to_string();
                                let short_attr = short.clone();
                                view! {
                                    <tr class="border-t border-slate-200 dark:border-slate-800" data-jti=e.jti.clone() data-event=short_attr>
                                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(e.received_at)}</td>
                                        <td class="px-3 py-2 font-mono text-xs"><span title=e.event_type.clone()>{short}</span></td>
                                        <td class="px-3 py-2"><span class=badge data-result=e.result.clone()>{result}</span></td>
                                        <td class="px-3 py-2">
                                            {match e.user_id.clone() {
                                                Some(user) => {
                                                    let href = format!("/users/{user}");
                                                    view! { <A href=href attr:class="link font-mono text-xs">{user}</A> }.into_any()
                                                }
                                                None => view! { <span class="text-slate-500 dark:text-slate-400">"—"</span> }.into_any(),
                                            }}
                                        </td>
                                        <td class="px-3 py-2 break-all">{e.summary.clone()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}
