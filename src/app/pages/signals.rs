//! Shared Signals receivers (administrators): systems that hear CAEP and RISC security events
//! from Gatehouse as signed Security Event Tokens, and registering a new one (its token for the
//! SSF stream management API is shown once). Below them, the transmitters Gatehouse hears from
//! (`signal_transmitters`).
use crate::api::signals::{list_receivers, CreateReceiver};
use crate::app::components::{ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::signal_transmitters::TransmitterSection;
use crate::model::provisioning::DEFAULT_MAX_ATTEMPTS;
use crate::model::ssf::{ReceiverView, ReceiverWithToken, SUBJECT_FORMATS};
use crate::model::time::format_utc;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// "Never" or the time of the receiver's last accepted push.
pub fn last_push(r: &ReceiverView) -> String {
    if r.last_success_at == 0 {
        "Never".into()
    } else {
        format_utc(r.last_success_at)
    }
}

/// The stream's state in words and the badge it wears.
pub fn stream_state(r: &ReceiverView) -> (&'static str, &'static str) {
    match (r.configured, r.status.as_str()) {
        (false, _) => ("badge", "Waiting for the receiver"),
        (true, "enabled") => ("badge badge-ok", "Enabled"),
        (true, "paused") => ("badge badge-warn", "Paused"),
        _ => ("badge badge-warn", "Disabled"),
    }
}

#[component]
pub fn Signals() -> impl IntoView {
    let create = ServerAction::<CreateReceiver>::new();
    let overview = Resource::new(move || create.version().get(), |_| list_receivers());
    view! {
        <Title text="Shared Signals" />
        <h1 class="text-2xl font-semibold">"Shared Signals"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Receivers (applications, gateways, device managers) that hear of security events as they happen, per the OpenID Shared Signals Framework: accounts disabled, enabled or purged, email changed (RISC), sessions revoked, credentials changed, group claims changed (CAEP). Each event is a Security Event Token signed RS256 and pushed (RFC 8935) through the same reliable outbox as provisioning."
        </p>
        <h2 class="mt-6 text-xl font-semibold">"Receivers (Gatehouse transmits)"</h2>
        <Transition fallback=Loading>
            {move || overview.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(o) => view! {
                    {(!o.transmitting).then(|| view! {
                        <div class="mt-4 card p-4 border-amber-400" id="signals-off" role="status">
                            "Gatehouse has no signing key, so it sends no events and receivers cannot set up their streams: set GATEHOUSE_SSF_SIGNING_KEY (docs/operations.md)."
                        </div>
                    })}
                    <p class="mt-3 text-sm">"Receivers discover Gatehouse at "<code class="font-mono break-all" id="ssf-discovery">{o.discovery_url.clone()}</code></p>
                    {if o.receivers.is_empty() {
                        view! {
                            <div class="mt-6 card p-6" id="signals-empty">
                                <p>"No receiver yet. Register one below, give its operator the token shown once, and it creates its stream itself."</p>
                            </div>
                        }.into_any()
                    } else {
                        view! { <div class="mt-4 card overflow-x-auto"><ReceiverTable receivers=o.receivers /></div> }.into_any()
                    }}
                }.into_any(),
            })}
        </Transition>
        <NewReceiver create />
        <TransmitterSection overview />
    }
}

#[component]
fn ReceiverTable(receivers: Vec<ReceiverView>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="signals-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Receiver"</th>
                    <th scope="col" class="px-3 py-2">"Stream"</th>
                    <th scope="col" class="px-3 py-2">"Events delivered"</th>
                    <th scope="col" class="px-3 py-2">"Last push"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Waiting"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Dead-lettered"</th>
                </tr>
            </thead>
            <tbody>
                {receivers.into_iter().map(|r| {
                    let last = last_push(&r);
                    let (class, state) = stream_state(&r);
                    view! {
                        <tr class="border-t border-slate-200 dark:border-slate-800" data-receiver=r.id.clone()>
                            <td class="px-3 py-2">
                                <A href=format!("/signals/{}", r.id) attr:class="link">{r.name.clone()}</A>
                                <span class="block text-xs text-slate-500 font-mono break-all">{r.audience.clone()}</span>
                            </td>
                            <td class="px-3 py-2"><span class=class data-status=r.status.clone()>{state}</span></td>
                            <td class="px-3 py-2 text-xs">{r.events_delivered.len()}</td>
                            <td class="px-3 py-2 whitespace-nowrap">{last}</td>
                            <td class="px-3 py-2 text-right tabular-nums">{r.pending}</td>
                            <td class="px-3 py-2 text-right tabular-nums">{r.dead}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn NewReceiver(create: ServerAction<CreateReceiver>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created: Memo<Option<ReceiverWithToken>> =
        Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-receiver-h">
            <h2 id="new-receiver-h" class="text-lg font-semibold">"Register a receiver"</h2>
            {move || created.get().map(|n| view! {
                <div class="mt-4" id="receiver-created">
                    <OneTimeSecret label="Receiver token" value=n.token.clone() testid="receiver-token">
                        <p class="mt-2"><A href=format!("/signals/{}", n.receiver.id) attr:class="link">"Go to the receiver"</A></p>
                    </OneTimeSecret>
                </div>
            })}
            <ActionForm action=create attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="new-receiver-form">
                <ReceiverFields receiver=None error />
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p><button type="submit" class="btn-primary" id="create-receiver" disabled=move || create.pending().get()>"Register receiver"</button></p>
            </ActionForm>
        </section>
    }
}

/// The fields of a registration (`input[...]`), for registering and for changing it.
#[component]
pub fn ReceiverFields(
    receiver: Option<ReceiverView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message =
        move |field: &'static str| move || error.get().and_then(|e| field_error(&e, field));
    let r = receiver.as_ref();
    let name = r.map(|r| r.name.clone()).unwrap_or_default();
    let application = r.and_then(|r| r.application_id.clone()).unwrap_or_default();
    let audience = r.map(|r| r.audience.clone()).unwrap_or_default();
    let format = r
        .map(|r| r.subject_format.clone())
        .unwrap_or_else(|| "email".into());
    let attempts = r
        .map(|r| r.max_attempts)
        .unwrap_or(DEFAULT_MAX_ATTEMPTS)
        .to_string();
    view! {
        <div>
            <label for="receiver-name" class="block text-sm font-medium">"Name"</label>
            <input id="receiver-name" name="input[name]" class="input mt-1 w-full" required maxlength="100" value=name
                placeholder="Payroll sessions" aria-describedby="receiver-name-error" />
            <p id="receiver-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
        </div>
        <div>
            <label for="receiver-audience" class="block text-sm font-medium">"Audience (its URL or client id)"</label>
            <input id="receiver-audience" name="input[audience]" class="input mt-1 w-full" required maxlength="300" value=audience
                placeholder="https://payroll.example.com" aria-describedby="receiver-audience-error" />
            <p id="receiver-audience-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("audience")}</p>
        </div>
        <div>
            <label for="receiver-application" class="block text-sm font-medium">"Application id (optional; empty: global)"</label>
            <input id="receiver-application" name="input[application_id]" class="input mt-1 w-full font-mono" value=application
                aria-describedby="receiver-application-error" />
            <p id="receiver-application-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("application_id")}</p>
        </div>
        <div>
            <label for="receiver-format" class="block text-sm font-medium">"Name people by"</label>
            <select id="receiver-format" name="input[subject_format]" class="input mt-1" aria-describedby="receiver-format-error">
                {SUBJECT_FORMATS.iter().map(|(key, label)| view! {
                    <option value=*key selected=format == *key>{*label}</option>
                }).collect_view()}
            </select>
            <p id="receiver-format-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("subject_format")}</p>
        </div>
        <div>
            <label for="receiver-attempts" class="block text-sm font-medium">"Attempts before dead-lettering"</label>
            <input id="receiver-attempts" name="input[max_attempts]" type="number" min="1" max="50" class="input mt-1 w-32" value=attempts
                aria-describedby="receiver-attempts-error" />
            <p id="receiver-attempts-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("max_attempts")}</p>
        </div>
    }
}
