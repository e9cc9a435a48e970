//! One webhook endpoint: its delivery state (last success, waiting and dead-lettered messages,
//! failures with the receiver's answer), "retry now", "replay from here", a new signing secret,
//! its settings, and removing it.
use crate::api::webhooks::{
    get_webhook, DeleteWebhook, ReplayWebhook, RetryWebhook, RotateWebhookSecret, SaveWebhook,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::detail_row;
use crate::app::pages::webhooks::{last_delivery, WebhookFields};
use crate::model::time::format_utc;
use crate::model::webhooks::WebhookView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SaveWebhook>::new();
    let retry = ServerAction::<RetryWebhook>::new();
    let replay = ServerAction::<ReplayWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let endpoint = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                retry.version().get(),
                replay.version().get(),
                rotate.version().get(),
            )
        },
        |(id, ..)| get_webhook(id),
    );
    let action_error = move || {
        retry
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| replay.value().get().and_then(|r| r.err()))
            .or_else(|| rotate.value().get().and_then(|r| r.err()))
            .or_else(|| delete.value().get().and_then(|r| r.err()))
    };
    view! {
        <p class="text-sm"><A href="/webhooks" attr:class="link">"← Webhooks"</A></p>
        <Transition fallback=Loading>
            {move || endpoint.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(e) => view! {
                    <Title text=format!("Webhook {}", e.url) />
                    <h1 class="mt-2 text-2xl font-semibold break-all" id="webhook-url-title">{e.url.clone()}</h1>
                    <p class="mt-1 text-sm text-slate-500">
                        "Endpoint "<span class="font-mono">{e.id.clone()}</span>" · "
                        <A href=format!("/audit?target_type=webhook&target_id={}", e.id) attr:class="link">"Its changes (audit log)"</A>
                    </p>
                    <DeliveryState endpoint=e.clone() retry replay />
                    <details class="mt-6 card p-4">
                        <summary class="cursor-pointer font-medium">"Change the endpoint"</summary>
                        <ActionForm action=save attr:class="mt-3 grid gap-4 sm:grid-cols-2" attr:id="webhook-form">
                            <input type="hidden" name="id" value=e.id.clone() />
                            <input type="hidden" name="version" value=e.version />
                            <WebhookFields endpoint=Some(e.clone()) error=Signal::derive(move || save.value().get().and_then(|r| r.err())) />
                            {move || general_error(save.value().get().and_then(|r| r.err())).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                            <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="webhook-save" disabled=move || save.pending().get()>"Save endpoint"</button></p>
                        </ActionForm>
                    </details>
                }.into_any(),
            })}
        </Transition>
        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <section class="mt-8 card p-4" aria-labelledby="webhook-secret-h">
            <h2 id="webhook-secret-h" class="text-lg font-semibold">"Signing secret"</h2>
            <p class="mt-1 text-sm">"A new secret signs every delivery from now on, retries included: give it to the receiver right away."</p>
            {move || rotate.value().get().and_then(|r| r.ok()).map(|n| view! {
                <div class="mt-3"><OneTimeSecret label="New signing secret" value=n.secret testid="webhook-secret" encrypted=true /></div>
            })}
            <ActionForm action=rotate attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Issue a new secret" confirm="Confirm: the current secret stops now" id="rotate-webhook-secret".to_string() />
            </ActionForm>
        </section>
        <section class="mt-8 card p-4" aria-labelledby="webhook-delete-h">
            <h2 id="webhook-delete-h" class="text-lg font-semibold">"Remove"</h2>
            <p class="mt-1 text-sm">"The endpoint hears nothing more; messages not yet delivered are dropped."</p>
            <ActionForm action=delete attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Remove endpoint" confirm="Confirm: remove this endpoint" id="delete-webhook".to_string() danger=true />
            </ActionForm>
        </section>
    }
}

#[component]
fn DeliveryState(
    endpoint: WebhookView,
    retry: ServerAction<RetryWebhook>,
    replay: ServerAction<ReplayWebhook>,
) -> impl IntoView {
    let (status_class, status_label) = match endpoint.status.as_str() {
        "active" => ("badge badge-ok", "Sending"),
        _ => ("badge badge-warn", "Paused"),
    };
    let dead_class = if endpoint.dead > 0 {
        "text-red-700 dark:text-red-300 font-semibold"
    } else {
        ""
    };
    let (id, id_for_replay) = (endpoint.id.clone(), endpoint.id.clone());
    view! {
        <dl class="mt-4 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="webhook-state">
            {detail_row("Status", view! { <span class=status_class data-status=endpoint.status.clone()>{status_label}</span> })}
            {detail_row("Description", endpoint.description.clone())}
            {detail_row("Events", view! { <span class="font-mono" id="webhook-events">{endpoint.events.join(", ")}</span> })}
            {detail_row("Signing secret ends in", view! { <span class="font-mono">{endpoint.secret_hint.clone()}</span> })}
            {detail_row("Last successful delivery", view! { <span id="webhook-last-success">{last_delivery(&endpoint)}</span> })}
            {detail_row("Waiting to be sent", view! { <span id="webhook-pending">{endpoint.pending}</span> })}
            {detail_row("Dead-lettered", view! { <span id="webhook-dead" class=dead_class>{endpoint.dead}</span> })}
            {detail_row("Attempts before dead-lettering", endpoint.max_attempts.to_string())}
        </dl>
        {if endpoint.failures.is_empty() {
            view! { <p class="mt-4 text-sm" id="webhook-failures-empty">"No failures: every delivery so far was accepted or is on its way."</p> }.into_any()
        } else {
            view! {
                <h2 class="mt-6 text-lg font-semibold">"Failures"</h2>
                <div class="mt-2 overflow-x-auto">
                    <table class="table" id="webhook-failures">
                        <caption class="sr-only">"Messages the endpoint refused or did not answer, newest first"</caption>
                        <thead><tr><th scope="col">"Message"</th><th scope="col">"Audit event"</th><th scope="col">"State"</th><th scope="col">"Attempts"</th><th scope="col">"Endpoint's answer"</th><th scope="col">"When"</th></tr></thead>
                        <tbody>
                            {endpoint.failures.into_iter().map(|f| {
                                let when = if f.state == "dead" { format!("Gave up {}", format_utc(f.at)) } else { format!("Next try {}", format_utc(f.at)) };
                                view! {
                                    <tr data-seq=f.seq>
                                        <td class="font-mono">{format!("msg_{}", f.seq)}</td>
                                        <td><A href=format!("/audit?before={}", f.event + 1) attr:class="link font-mono">{f.event}</A></td>
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
            <ActionForm action=retry attr:id="webhook-retry-form">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="webhook-retry">"Retry now"</button>
            </ActionForm>
            <ActionForm action=replay attr:class="flex items-end gap-2" attr:id="webhook-replay-form">
                <input type="hidden" name="id" value=id_for_replay />
                <div>
                    <label for="webhook-replay-seq" class="block text-sm font-medium">"Replay from message"</label>
                    <input id="webhook-replay-seq" name="seq" type="number" min="1" class="input mt-1 w-32" required />
                </div>
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="webhook-replay">"Replay"</button>
            </ActionForm>
        </div>
    }
}
