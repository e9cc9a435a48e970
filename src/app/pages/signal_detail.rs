//! One Shared Signals receiver: its stream as the receiver configured it, delivery state
//! (last accepted push, waiting and dead-lettered tokens, failures with the receiver's answer),
//! pause or resume, "retry now", "replay from here", a new token, its registration, removal.
use crate::api::signals::{
    get_receiver, DeleteReceiver, ReplayReceiver, RetryReceiver, RotateReceiverToken, SaveReceiver,
    SetReceiverStatus,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::detail_row;
use crate::app::pages::signals::{last_push, stream_state, ReceiverFields};
use crate::model::ssf::ReceiverView;
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ReceiverPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SaveReceiver>::new();
    let status = ServerAction::<SetReceiverStatus>::new();
    let retry = ServerAction::<RetryReceiver>::new();
    let replay = ServerAction::<ReplayReceiver>::new();
    let rotate = ServerAction::<RotateReceiverToken>::new();
    let delete = ServerAction::<DeleteReceiver>::new();
    let receiver = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                status.version().get(),
                retry.version().get(),
                replay.version().get(),
                rotate.version().get(),
            )
        },
        |(id, ..)| get_receiver(id),
    );
    let action_error = move || {
        status
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| retry.value().get().and_then(|r| r.err()))
            .or_else(|| replay.value().get().and_then(|r| r.err()))
            .or_else(|| rotate.value().get().and_then(|r| r.err()))
            .or_else(|| delete.value().get().and_then(|r| r.err()))
    };
    view! {
        <p class="text-sm"><A href="/signals" attr:class="link">"← Shared Signals"</A></p>
        <Transition fallback=Loading>
            {move || receiver.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(r) => view! {
                    <Title text=format!("Receiver {}", r.name) />
                    <h1 class="mt-2 text-2xl font-semibold" id="receiver-name-title">{r.name.clone()}</h1>
                    <p class="mt-1 text-sm text-slate-500">
                        "Stream "<span class="font-mono" id="receiver-stream-id">{r.id.clone()}</span>" · "
                        <A href=format!("/audit?target_type=ssf_receiver&target_id={}", r.id) attr:class="link">"Its changes (audit log)"</A>
                    </p>
                    <StreamState receiver=r.clone() status retry replay />
                    <details class="mt-6 card p-4">
                        <summary class="cursor-pointer font-medium">"Change the registration"</summary>
                        <ActionForm action=save attr:class="mt-3 grid gap-4 sm:grid-cols-2" attr:id="receiver-form">
                            <input type="hidden" name="id" value=r.id.clone() />
                            <input type="hidden" name="version" value=r.version />
                            <ReceiverFields receiver=Some(r.clone()) error=Signal::derive(move || save.value().get().and_then(|r| r.err())) />
                            {move || general_error(save.value().get().and_then(|r| r.err())).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                            <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="receiver-save" disabled=move || save.pending().get()>"Save registration"</button></p>
                        </ActionForm>
                    </details>
                }.into_any(),
            })}
        </Transition>
        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <section class="mt-8 card p-4" aria-labelledby="receiver-token-h">
            <h2 id="receiver-token-h" class="text-lg font-semibold">"Receiver token"</h2>
            <p class="mt-1 text-sm">"The receiver calls the stream management API with it. A new token replaces the current one at once; events keep flowing."</p>
            {move || rotate.value().get().and_then(|r| r.ok()).map(|n| view! {
                <div class="mt-3"><OneTimeSecret label="New receiver token" value=n.token testid="receiver-token" /></div>
            })}
            <ActionForm action=rotate attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Issue a new token" confirm="Confirm: the current token stops now" id="rotate-receiver-token".to_string() />
            </ActionForm>
        </section>
        <section class="mt-8 card p-4" aria-labelledby="receiver-delete-h">
            <h2 id="receiver-delete-h" class="text-lg font-semibold">"Remove"</h2>
            <p class="mt-1 text-sm">"The receiver hears nothing more and its token stops working; events not yet delivered are dropped."</p>
            <ActionForm action=delete attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Remove receiver" confirm="Confirm: remove this receiver" id="delete-receiver".to_string() danger=true />
            </ActionForm>
        </section>
    }
}

#[component]
fn StreamState(
    receiver: ReceiverView,
    status: ServerAction<SetReceiverStatus>,
    retry: ServerAction<RetryReceiver>,
    replay: ServerAction<ReplayReceiver>,
) -> impl IntoView {
    let (badge, state) = stream_state(&receiver);
    let dead_class = if receiver.dead > 0 {
        "text-red-700 dark:text-red-300 font-semibold"
    } else {
        ""
    };
    let verified = if receiver.verified_at == 0 {
        "Never".to_string()
    } else {
        format_utc(receiver.verified_at)
    };
    let (next_status, next_label) = if receiver.status == "enabled" {
        ("paused", "Pause (events are kept)")
    } else {
        ("enabled", "Resume sending")
    };
    let r = receiver.clone();
    let (status_id, retry_id, replay_id) = (
        receiver.id.clone(),
        receiver.id.clone(),
        receiver.id.clone(),
    );
    let configured = receiver.configured;
    view! {
        <dl class="mt-4 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="receiver-state">
            {detail_row("Stream", view! { <span class=badge id="receiver-status" data-status=r.status.clone()>{state}</span> })}
            {detail_row("Reason", r.status_reason.clone())}
            {detail_row("Audience", view! { <span class="font-mono break-all">{r.audience.clone()}</span> })}
            {detail_row("Application", r.application_id.clone().unwrap_or_else(|| "All (global)".into()))}
            {detail_row("People named by", r.subject_format.clone())}
            {detail_row("Push endpoint", view! { <span class="font-mono break-all" id="receiver-endpoint">{r.endpoint_url.clone()}</span> })}
            {detail_row("Events delivered", view! { <span class="font-mono text-xs break-all" id="receiver-events">{r.events_delivered.join(" ")}</span> })}
            {detail_row("Token ends in", view! { <span class="font-mono">{r.token_hint.clone()}</span> })}
            {detail_row("Last verification request", verified)}
            {detail_row("Last accepted push", view! { <span id="receiver-last-success">{last_push(&r)}</span> })}
            {detail_row("Waiting to be sent", view! { <span id="receiver-pending">{r.pending}</span> })}
            {detail_row("Dead-lettered", view! { <span id="receiver-dead" class=dead_class>{r.dead}</span> })}
            {detail_row("Attempts before dead-lettering", r.max_attempts.to_string())}
        </dl>
        {if receiver.failures.is_empty() {
            view! { <p class="mt-4 text-sm" id="receiver-failures-empty">"No failures: every event so far was accepted or is on its way."</p> }.into_any()
        } else {
            view! {
                <h2 class="mt-6 text-lg font-semibold">"Failures"</h2>
                <div class="mt-2 overflow-x-auto">
                    <table class="table" id="receiver-failures">
                        <caption class="sr-only">"Events the receiver refused or did not answer, newest first"</caption>
                        <thead><tr><th scope="col">"Message"</th><th scope="col">"Token (jti)"</th><th scope="col">"State"</th><th scope="col">"Attempts"</th><th scope="col">"Receiver's answer"</th><th scope="col">"When"</th></tr></thead>
                        <tbody>
                            {receiver.failures.into_iter().map(|f| {
                                let when = if f.state == "dead" { format!("Gave up {}", format_utc(f.at)) } else { format!("Next try {}", format_utc(f.at)) };
                                view! {
                                    <tr data-seq=f.seq>
                                        <td class="font-mono">{f.seq}</td>
                                        <td class="font-mono text-xs">{f.jti.clone()}</td>
                                        <td>{if f.state == "dead" { "Dead-lettered" } else { "Retrying" }}</td>
                                        <td>{f.attempts}</td>
                                        <td class="break-all">{f.error.clone()}</td>
                                        <td class="whitespace-nowrap">{when}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <div class="mt-3 flex flex-wrap items-end gap-3">
            {configured.then(|| view! {
                <ActionForm action=status attr:id="receiver-status-form">
                    <input type="hidden" name="id" value=status_id />
                    <input type="hidden" name="status" value=next_status />
                    <input type="hidden" name="reason" value="Changed in the console" />
                    <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="receiver-toggle">{next_label}</button>
                </ActionForm>
            })}
            <ActionForm action=retry attr:id="receiver-retry-form">
                <input type="hidden" name="id" value=retry_id />
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="receiver-retry">"Retry now"</button>
            </ActionForm>
            <ActionForm action=replay attr:class="flex items-end gap-2" attr:id="receiver-replay-form">
                <input type="hidden" name="id" value=replay_id />
                <div>
                    <label for="receiver-replay-seq" class="block text-sm font-medium">"Replay from message"</label>
                    <input id="receiver-replay-seq" name="seq" type="number" min="1" class="input mt-1 w-32" required />
                </div>
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="receiver-replay">"Replay"</button>
            </ActionForm>
        </div>
    }
}
