//! One audit sink (administrators): its state (cursor, lag, last error), pausing and resuming,
//! replaying from an event, its settings, and removing it. A sink from GATEHOUSE_AUDIT_SINKS is
//! changed and removed there; here it can be paused, resumed and replayed.
use crate::api::audit_sinks::{
    get_audit_sink, DeleteAuditSink, ReplayAuditSink, SaveAuditSink, SetAuditSinkStatus,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::detail_row;
use crate::app::pages::audit_sinks::{
    format_label, kind_label, lag_text, time_or_never, SinkFields,
};
use crate::model::audit_sinks::{sink_state, AuditSinkView};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn AuditSinkPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SaveAuditSink>::new();
    let status = ServerAction::<SetAuditSinkStatus>::new();
    let replay = ServerAction::<ReplayAuditSink>::new();
    let delete = ServerAction::<DeleteAuditSink>::new();
    // Not reloaded after a removal: the sink is gone, the page leaves for the list.
    let sink = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                status.version().get(),
                replay.version().get(),
            )
        },
        |(id, ..)| get_audit_sink(id),
    );
    let action_error = move || {
        status
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| replay.value().get().and_then(|r| r.err()))
            .or_else(|| delete.value().get().and_then(|r| r.err()))
    };
    // What the last action did, announced (errors are announced by their ErrorBox).
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = status.value().get() {
            let now = if s.status == "active" {
                "resumed"
            } else {
                "paused"
            };
            notice.set(Some(format!("Sink {now}.")));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = replay.value().get() {
            notice.set(Some(format!(
                "Delivery goes on after event {}: {} events to send again.",
                s.cursor, s.lag_events
            )));
        }
    });
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            notice.set(Some("Sink saved.".into()));
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            navigate("/audit/sinks", Default::default());
        }
    });
    view! {
        <p class="text-sm"><A href="/audit/sinks" attr:class="link">"← Streaming to the SIEM"</A></p>
        <Transition fallback=Loading>
            {move || sink.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(s) => {
                    let from_env = s.source == "env";
                    let (save_id, delete_id, cursor, version, for_fields) = (s.id.clone(), s.id.clone(), s.cursor, s.version, s.clone());
                    view! {
                        <Title text=format!("Sink {}", s.name) />
                        <h1 class="mt-2 text-2xl font-semibold" id="sink-name-title">{s.name.clone()}</h1>
                        <p class="mt-1 text-sm text-slate-500 dark:text-slate-400">
                            "Sink "<span class="font-mono" id="sink-id">{s.id.clone()}</span>" · "
                            <A href=format!("/audit?target_type=audit_sink&target_id={}", s.id) attr:class="link">"Its changes (audit log)"</A>
                        </p>
                        <SinkState sink=s.clone() status replay />
                        {if from_env {
                            view! {
                                <p class="mt-6 card p-4 text-sm" id="sink-from-env">"This sink comes from GATEHOUSE_AUDIT_SINKS: its settings are changed, and it is removed, there (at the next start). Pausing, resuming and replaying work here."</p>
                            }.into_any()
                        } else {
                            view! {
                                <details class="mt-6 card p-4">
                                    <summary class="cursor-pointer font-medium">"Change the sink"</summary>
                                    <p class="mt-2 text-sm">"The cursor stays: delivery goes on after event "{cursor}", to the sink as you set it here."</p>
                                    <ActionForm action=save attr:class="mt-3 grid gap-4 sm:grid-cols-2" attr:id="sink-form">
                                        <input type="hidden" name="id" value=save_id />
                                        <input type="hidden" name="version" value=version />
                                        <SinkFields sink=Some(for_fields) error=Signal::derive(move || save.value().get().and_then(|r| r.err())) />
                                        {move || general_error(save.value().get().and_then(|r| r.err())).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                                        <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="sink-save" disabled=move || save.pending().get()>"Save sink"</button></p>
                                    </ActionForm>
                                </details>
                                <section class="mt-8 card p-4" aria-labelledby="sink-delete-h">
                                    <h2 id="sink-delete-h" class="text-lg font-semibold">"Remove"</h2>
                                    <p class="mt-1 text-sm">"Nothing more is sent to this sink. To stream to it again later, add it anew and start from the event after its cursor ("{cursor}")."</p>
                                    <ActionForm action=delete attr:class="mt-3">
                                        <input type="hidden" name="id" value=delete_id />
                                        <ConfirmSubmit label="Remove sink" confirm="Confirm: remove this sink" id="delete-sink".to_string() danger=true />
                                    </ActionForm>
                                </section>
                            }.into_any()
                        }}
                    }.into_any()
                }
            })}
        </Transition>
        <div class="mt-4" aria-live="polite" id="sink-notice">
            {move || notice.get().map(|n| view! {
                <p class="rounded-md bg-emerald-50 p-3 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">{n}</p>
            })}
        </div>
        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
    }
}

#[component]
fn SinkState(
    sink: AuditSinkView,
    status: ServerAction<SetAuditSinkStatus>,
    replay: ServerAction<ReplayAuditSink>,
) -> impl IntoView {
    let s = sink;
    let (badge, state) = sink_state(&s);
    let (next_status, next_label) = if s.status == "active" {
        ("paused", "Pause (events wait)")
    } else {
        ("active", "Resume")
    };
    let last_error = if s.last_error.is_empty() {
        view! { <span id="sink-last-error">"None"</span> }.into_any()
    } else {
        view! {
            <span id="sink-last-error" class="text-red-700 dark:text-red-300">{s.last_error.clone()}</span>
            <span class="block text-xs text-slate-500 dark:text-slate-400">{format_utc(s.last_error_at)}</span>
        }
        .into_any()
    };
    let retry = (s.failures > 0).then(|| {
        format!(
            "{} failed attempt{} in a row; next attempt {}",
            s.failures,
            if s.failures == 1 { "" } else { "s" },
            time_or_never(s.next_attempt_at)
        )
    });
    let token = if s.token_hint.is_empty() {
        "None".to_string()
    } else {
        format!("Ends in {}", s.token_hint)
    };
    let (status_id, replay_id) = (s.id.clone(), s.id.clone());
    let replay_from = (s.cursor + 1).max(1);
    view! {
        <dl class="mt-4 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="sink-state">
            {detail_row("State", view! { <span class=badge id="sink-status" data-status=s.status.clone()>{state}</span> })}
            {detail_row("Kind", format!("{} · {}", kind_label(&s.kind), format_label(&s.format)))}
            {detail_row("URL", view! { <span class="font-mono break-all" id="sink-url-value">{s.url.clone()}</span> })}
            {detail_row("Token", token)}
            {detail_row("Cursor (last event acknowledged)", view! { <span id="sink-cursor" class="tabular-nums">{s.cursor}</span> })}
            {detail_row("Chain head", view! { <span class="tabular-nums">{s.head}</span> })}
            {detail_row("Lag", view! { <span id="sink-lag">{format!("{} events · {}", s.lag_events, lag_text(s.lag_seconds))}</span> })}
            {detail_row("Waiting for the HEC's acknowledgement", if s.awaiting_ack { "Yes" } else { "No" })}
            {detail_row("Last delivery", view! { <span id="sink-delivered">{time_or_never(s.delivered_at)}</span> })}
            {detail_row("Last error", last_error)}
            {retry.map(|r| detail_row("Retrying", view! { <span id="sink-retry">{r}</span> }))}
            {detail_row("Events per request", s.batch_size.to_string())}
            {detail_row("Configured", if s.source == "env" { "GATEHOUSE_AUDIT_SINKS" } else { "In the console" })}
            {detail_row("Added", format_utc(s.created_at))}
            {detail_row("Changed", format_utc(s.updated_at))}
        </dl>
        <div class="mt-3 flex flex-wrap items-end gap-3">
            <ActionForm action=status attr:id="sink-status-form">
                <input type="hidden" name="id" value=status_id />
                <input type="hidden" name="status" value=next_status />
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="sink-toggle"
                    disabled=move || status.pending().get()>{next_label}</button>
            </ActionForm>
            <ActionForm action=replay attr:class="flex items-end gap-2" attr:id="sink-replay-form">
                <input type="hidden" name="id" value=replay_id />
                <div>
                    <label for="sink-replay-from" class="block text-sm font-medium">"Replay from event"</label>
                    <input id="sink-replay-from" name="from" type="number" min="1" step="1" class="input mt-1 w-36" required value=replay_from />
                </div>
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="sink-replay"
                    disabled=move || replay.pending().get()>"Replay"</button>
            </ActionForm>
        </div>
    }
}
