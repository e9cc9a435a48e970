//! Webhook endpoints (administrators): where audit events are delivered, signed per Standard
//! Webhooks, and making a new one (its signing secret is shown once).
use crate::api::webhooks::{list_webhooks, CreateWebhook};
use crate::app::components::{ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::{field_error, general_error};
use crate::model::provisioning::DEFAULT_MAX_ATTEMPTS;
use crate::model::time::format_utc;
use crate::model::webhooks::{WebhookView, WebhookWithSecret, EVENT_AREAS};
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// "Never" or the time of the endpoint's last successful delivery.
pub fn last_delivery(e: &WebhookView) -> String {
    if e.last_success_at == 0 {
        "Never".into()
    } else {
        format_utc(e.last_success_at)
    }
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let endpoints = Resource::new(move || create.version().get(), |_| list_webhooks());
    view! {
        <Title text="Webhooks" />
        <h1 class="text-2xl font-semibold">"Webhooks"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Endpoints that hear of what happens in Gatehouse: every audit event of the areas or actions they choose is POSTed as JSON, in order, signed per the Standard Webhooks convention (webhook-id, webhook-timestamp, webhook-signature), retried with backoff and dead-lettered after the attempts you set."
        </p>
        <Transition fallback=Loading>
            {move || endpoints.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="mt-6 card p-6" id="webhooks-empty">
                        <p>"No webhook endpoint yet. Add one below; its receiver verifies each delivery with the signing secret shown once."</p>
                    </div>
                }.into_any(),
                Ok(list) => view! { <div class="mt-4 card overflow-x-auto"><WebhookTable endpoints=list /></div> }.into_any(),
            })}
        </Transition>
        <NewWebhook create />
    }
}

#[component]
fn WebhookTable(endpoints: Vec<WebhookView>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="webhooks-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Endpoint"</th>
                    <th scope="col" class="px-3 py-2">"Events"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2">"Last delivery"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Waiting"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Dead-lettered"</th>
                </tr>
            </thead>
            <tbody>
                {endpoints.into_iter().map(|e| { let last = last_delivery(&e); view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800" data-webhook=e.id.clone()>
                        <td class="px-3 py-2">
                            <A href=format!("/webhooks/{}", e.id) attr:class="link font-mono break-all">{e.url.clone()}</A>
                            <span class="block text-xs text-slate-500">{e.description.clone()}</span>
                        </td>
                        <td class="px-3 py-2 font-mono text-xs">{e.events.join(", ")}</td>
                        <td class="px-3 py-2"><span class="badge" data-status=e.status.clone()>{e.status.clone()}</span></td>
                        <td class="px-3 py-2 whitespace-nowrap">{last}</td>
                        <td class="px-3 py-2 text-right tabular-nums">{e.pending}</td>
                        <td class="px-3 py-2 text-right tabular-nums">{e.dead}</td>
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn NewWebhook(create: ServerAction<CreateWebhook>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created: Memo<Option<WebhookWithSecret>> =
        Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-webhook-h">
            <h2 id="new-webhook-h" class="text-lg font-semibold">"Add an endpoint"</h2>
            {move || created.get().map(|n| view! {
                <div class="mt-4" id="webhook-created">
                    <OneTimeSecret label="Signing secret" value=n.secret.clone() testid="webhook-secret" encrypted=true>
                        <p class="mt-2"><A href=format!("/webhooks/{}", n.endpoint.id) attr:class="link">"Go to the endpoint"</A></p>
                    </OneTimeSecret>
                </div>
            })}
            <ActionForm action=create attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="new-webhook-form">
                <WebhookFields endpoint=None error />
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p><button type="submit" class="btn-primary" id="create-webhook" disabled=move || create.pending().get()>"Add endpoint"</button></p>
            </ActionForm>
        </section>
    }
}

/// The fields of an endpoint (`input[...]`), for making one and for changing it.
#[component]
pub fn WebhookFields(
    endpoint: Option<WebhookView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message =
        move |field: &'static str| move || error.get().and_then(|e| field_error(&e, field));
    let url = endpoint.as_ref().map(|e| e.url.clone()).unwrap_or_default();
    let description = endpoint
        .as_ref()
        .map(|e| e.description.clone())
        .unwrap_or_default();
    let events = endpoint
        .as_ref()
        .map(|e| e.events.clone())
        .unwrap_or_default();
    // Events that are not one of the offered areas get their own text box each.
    let specific: Vec<String> = events
        .iter()
        .filter(|e| !EVENT_AREAS.iter().any(|(a, _)| a == e))
        .cloned()
        .chain(std::iter::once(String::new()))
        .collect();
    let paused = endpoint.as_ref().is_some_and(|e| e.status == "paused");
    let attempts = endpoint
        .as_ref()
        .map(|e| e.max_attempts)
        .unwrap_or(DEFAULT_MAX_ATTEMPTS)
        .to_string();
    view! {
        <div class="sm:col-span-2">
            <label for="webhook-url" class="block text-sm font-medium">"URL"</label>
            <input id="webhook-url" name="input[url]" type="url" class="input mt-1 w-full" required value=url
                placeholder="https://hooks.example.com/gatehouse" aria-describedby="webhook-url-error" />
            <p id="webhook-url-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("url")}</p>
        </div>
        <div class="sm:col-span-2">
            <label for="webhook-description" class="block text-sm font-medium">"Description (optional)"</label>
            <input id="webhook-description" name="input[description]" class="input mt-1 w-full" maxlength="200" value=description
                placeholder="HR sync" aria-describedby="webhook-description-error" />
            <p id="webhook-description-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("description")}</p>
        </div>
        <fieldset class="sm:col-span-2" aria-describedby="webhook-events-error">
            <legend class="text-sm font-medium">"Events (an area includes all its actions)"</legend>
            {EVENT_AREAS.iter().map(|(key, label)| {
                let on = events.iter().any(|e| e == key);
                view! {
                    <label class="mt-1 flex items-center gap-2 text-sm">
                        <input type="checkbox" name="input[events][]" value=*key checked=on />
                        <span class="font-mono">{*key}</span>" · "{*label}
                    </label>
                }
            }).collect_view()}
            {specific.into_iter().enumerate().map(|(i, value)| view! {
                <label class="mt-2 block text-sm">
                    {if i == 0 { "Specific action (optional)" } else { "Specific action" }}
                    <input name="input[events][]" class="input mt-1 w-full font-mono" value=value placeholder="user.update" />
                </label>
            }).collect_view()}
            <p id="webhook-events-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("events")}</p>
        </fieldset>
        <div>
            <label for="webhook-attempts" class="block text-sm font-medium">"Attempts before dead-lettering"</label>
            <input id="webhook-attempts" name="input[max_attempts]" type="number" min="1" max="50" class="input mt-1 w-32" value=attempts
                aria-describedby="webhook-attempts-error" />
            <p id="webhook-attempts-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("max_attempts")}</p>
        </div>
        <div>
            <label for="webhook-status" class="block text-sm font-medium">"Status"</label>
            <select id="webhook-status" name="input[status]" class="input mt-1">
                <option value="active" selected=!paused>"Sending"</option>
                <option value="paused" selected=paused>"Paused (events wait)"</option>
            </select>
        </div>
    }
}
