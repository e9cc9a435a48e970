//! An application's provisioning target (SCIM out), on its page: where accounts are sent, what
//! is sent, and how delivery goes (last success, waiting and dead-lettered messages, failures
//! with the target's own error text), with "retry now" and "replay from here".
use crate::api::provisioning::{get_target, ReplayDeliveries, RetryDeliveries, SaveTarget};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::app_reconcile::{AppReconcile, CheckNow};
use crate::app::pages::apps::{can, detail_row, Me};
use crate::model::provisioning::{TargetView, DEFAULT_MAX_ATTEMPTS, OPTIONAL_ATTRIBUTES};
use crate::model::reconcile::MAX_RECONCILE_EVERY_HOURS;
use crate::model::time::format_utc;
use crate::model::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn AppProvisioning(app_id: Signal<String>, me: Me) -> impl IntoView {
    let save = ServerAction::<SaveTarget>::new();
    let retry = ServerAction::<RetryDeliveries>::new();
    let replay = ServerAction::<ReplayDeliveries>::new();
    let check = ServerAction::<crate::api::provisioning::CheckDrift>::new();
    let target = Resource::new(
        move || {
            (
                app_id.get(),
                save.version().get(),
                retry.version().get(),
                replay.version().get(),
            )
        },
        |(id, _, _, _)| get_target(id),
    );
    let action_error = move || {
        retry
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| replay.value().get().and_then(|r| r.err()))
    };
    // AppReconcile stays outside the Transition below: a resource made inside one breaks
    // hydration.
    view! {
        <section class="mt-8" aria-labelledby="provisioning-h">
            <h2 id="provisioning-h" class="text-lg font-semibold">"Provisioning (SCIM)"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                "Everyone assigned gets an account in the application; it is updated when their profile changes and deactivated when they are suspended or unassigned."
            </p>
            {move || action_error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
            <Transition fallback=Loading>
                {move || target.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(None) => view! {
                        <p class="mt-2 text-sm" id="provisioning-empty">"Gatehouse does not provision accounts into this application. Give its SCIM base URL and a bearer token to start."</p>
                        {can(me, Permission::WriteApps).then(|| view! { <TargetForm app_id target=None save /> })}
                    }.into_any(),
                    Ok(Some(t)) => view! {
                        <TargetState target=t.clone() app_id me retry replay />
                        {can(me, Permission::WriteApps).then(|| view! { <CheckNow app_id check /> })}
                        {can(me, Permission::WriteApps).then(|| view! { <TargetForm app_id target=Some(t) save /> })}
                    }.into_any(),
                })}
            </Transition>
            <AppReconcile app_id me saved=Signal::derive(move || save.version().get()) check />
        </section>
    }
}

/// A failed message's subject links to its person, or to its group (`group:<id>`, groups out).
fn failure_subject_href(subject: &str) -> String {
    match subject.strip_prefix("group:") {
        Some(group_id) => format!("/groups/{group_id}"),
        None => format!("/guids/{subject}"),
    }
}

#[component]
fn TargetState(
    target: TargetView,
    app_id: Signal<String>,
    me: Me,
    retry: ServerAction<RetryDeliveries>,
    replay: ServerAction<ReplayDeliveries>,
) -> impl IntoView {
    let last = if target.last_success_at > 0 {
        format_utc(target.last_success_at)
    } else {
        "Never".into()
    };
    let (status_class, status_label) = match target.status.as_str() {
        "active" => ("badge badge-ok", "Sending"),
        _ => ("badge badge-warn", "Paused"),
    };
    let attributes = if target.attributes.is_empty() {
        "userName, externalId and active only".to_string()
    } else {
        format!(
            "userName, externalId, active, {}",
            target.attributes.join(", ")
        )
    };
    let can_write = can(me, Permission::WriteApps);
    let dead = target.dead;
    let dead_class = if dead > 0 {
        "text-red-700 dark:text-red-300 font-semibold"
    } else {
        ""
    };
    let failures = target.failures.clone();
    let schedule = match target.reconcile_every_hours {
        0 => "Off".to_string(),
        h => format!(
            "Every {h} hour(s); next {}",
            format_utc(target.reconcile_next_at)
        ),
    };
    view! {
        <dl class="mt-3 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="provisioning-state">
            {detail_row("Status", view! { <span class=status_class data-status=target.status.clone()>{status_label}</span> })}
            {detail_row("SCIM base URL", view! { <span class="font-mono" id="provisioning-url">{target.base_url.clone()}</span> })}
            {detail_row("Bearer token", view! { <span class="font-mono">{target.credential_hint.clone()}</span> })}
            {detail_row("Attributes sent", attributes)}
            {detail_row("Last successful delivery", view! { <span id="provisioning-last-success">{last}</span> })}
            {detail_row("Accounts there", view! { <span id="provisioning-accounts">{format!("{} ({} active)", target.accounts, target.active_accounts)}</span> })}
            {detail_row("Groups there", view! { <span id="provisioning-groups">{target.groups}</span> })}
            {detail_row("Waiting to be sent", view! { <span id="provisioning-pending">{target.pending}</span> })}
            {detail_row("Dead-lettered", view! { <span id="provisioning-dead" class=dead_class>{dead}</span> })}
            {detail_row("Scheduled reconciliation", view! { <span id="provisioning-reconcile-schedule">{schedule}</span> })}
        </dl>
        {(!failures.is_empty()).then(|| view! {
            <h3 class="mt-4 font-semibold">"Failures"</h3>
            <div class="mt-2 overflow-x-auto">
                <table class="table" id="provisioning-failures">
                    <caption class="sr-only">"Messages the target refused or did not answer, newest first"</caption>
                    <thead><tr><th scope="col">"Message"</th><th scope="col">"Person"</th><th scope="col">"State"</th><th scope="col">"Attempts"</th><th scope="col">"Target's answer"</th><th scope="col">"When"</th></tr></thead>
                    <tbody>
                        {failures.into_iter().map(|f| {
                            let when = if f.state == "dead" { format!("Gave up {}", format_utc(f.at)) } else { format!("Next try {}", format_utc(f.at)) };
                            view! {
                                <tr data-seq=f.seq>
                                    <td class="font-mono">{f.seq}</td>
                                    <td><A href=failure_subject_href(&f.guid) attr:class="link font-mono">{f.guid.clone()}</A></td>
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
        })}
        {can_write.then(|| view! {
            <div class="mt-3 flex flex-wrap items-end gap-3">
                <ActionForm action=retry attr:id="provisioning-retry-form">
                    <input type="hidden" name="id" value=app_id.get_untracked() />
                    <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="provisioning-retry">"Retry now"</button>
                </ActionForm>
                <ActionForm action=replay attr:class="flex items-end gap-2" attr:id="provisioning-replay-form">
                    <input type="hidden" name="id" value=app_id.get_untracked() />
                    <div>
                        <label for="replay-seq" class="block text-sm font-medium">"Replay from message"</label>
                        <input id="replay-seq" name="seq" type="number" min="1" class="input mt-1 w-32" required />
                    </div>
                    <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="provisioning-replay">"Replay"</button>
                </ActionForm>
            </div>
        })}
    }
}

#[component]
fn TargetForm(
    app_id: Signal<String>,
    target: Option<TargetView>,
    save: ServerAction<SaveTarget>,
) -> impl IntoView {
    let error = move || save.value().get().and_then(|r| r.err());
    let message = move |field: &'static str| move || error().and_then(|e| field_error(&e, field));
    let version = target.as_ref().map(|t| t.version).unwrap_or(0);
    let base_url = target
        .as_ref()
        .map(|t| t.base_url.clone())
        .unwrap_or_default();
    let chosen = target
        .as_ref()
        .map(|t| t.attributes.clone())
        .unwrap_or_else(|| {
            OPTIONAL_ATTRIBUTES
                .iter()
                .map(|(k, _)| k.to_string())
                .collect()
        });
    let preferred = target
        .as_ref()
        .and_then(|t| t.preferred_source.clone())
        .unwrap_or_default();
    let paused = target.as_ref().is_some_and(|t| t.status == "paused");
    let attempts = target
        .as_ref()
        .map(|t| t.max_attempts)
        .unwrap_or(DEFAULT_MAX_ATTEMPTS)
        .to_string();
    let reconcile_hours = target
        .as_ref()
        .map(|t| t.reconcile_every_hours)
        .unwrap_or(0)
        .to_string();
    let token_hint = match &target {
        Some(t) => format!(
            "Leave empty to keep the current token ({})",
            t.credential_hint
        ),
        None => "The token the application gave Gatehouse".to_string(),
    };
    let heading = if target.is_some() {
        "Change the target"
    } else {
        "Set up provisioning"
    };
    view! {
        <details class="mt-4 card p-4" open=target.is_none()>
            <summary class="cursor-pointer font-medium">{heading}</summary>
            <ActionForm action=save attr:class="mt-3 grid gap-4 sm:grid-cols-2" attr:id="provisioning-form">
                <input type="hidden" name="id" value=app_id.get_untracked() />
                <input type="hidden" name="version" value=version />
                <div class="sm:col-span-2">
                    <label for="target-url" class="block text-sm font-medium">"SCIM base URL"</label>
                    <input id="target-url" name="input[base_url]" type="url" class="input mt-1 w-full" required value=base_url
                        placeholder="https://app.example.com/scim/v2" aria-describedby="target-url-error" />
                    <p id="target-url-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("base_url")}</p>
                </div>
                <div class="sm:col-span-2">
                    <label for="target-token" class="block text-sm font-medium">"Bearer token (stored encrypted, never shown again)"</label>
                    <input id="target-token" name="input[credential]" type="password" autocomplete="off" class="input mt-1 w-full"
                        placeholder=token_hint aria-describedby="target-token-error" />
                    <p id="target-token-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("credential")}</p>
                </div>
                <fieldset class="sm:col-span-2">
                    <legend class="text-sm font-medium">"Also send (userName, externalId and active are always sent)"</legend>
                    {OPTIONAL_ATTRIBUTES.iter().map(|(key, label)| {
                        let on = chosen.iter().any(|c| c == key);
                        view! {
                            <label class="mt-1 flex items-center gap-2 text-sm">
                                <input type="checkbox" name="input[attributes][]" value=*key checked=on />
                                {*label}
                            </label>
                        }
                    }).collect_view()}
                    <p class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("attributes")}</p>
                </fieldset>
                <div>
                    <label for="target-source" class="block text-sm font-medium">"Send the account from source (optional)"</label>
                    <input id="target-source" name="input[preferred_source]" class="input mt-1 w-full" value=preferred placeholder="entra-emea"
                        aria-describedby="target-source-error" />
                    <p id="target-source-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("preferred_source")}</p>
                </div>
                <div>
                    <label for="target-attempts" class="block text-sm font-medium">"Attempts before dead-lettering"</label>
                    <input id="target-attempts" name="input[max_attempts]" type="number" min="1" max="50" class="input mt-1 w-32" value=attempts
                        aria-describedby="target-attempts-error" />
                    <p id="target-attempts-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("max_attempts")}</p>
                </div>
                <div>
                    <label for="target-reconcile" class="block text-sm font-medium">"Reconcile every (hours, 0 = off)"</label>
                    <input id="target-reconcile" name="input[reconcile_every_hours]" type="number" min="0" max=MAX_RECONCILE_EVERY_HOURS class="input mt-1 w-32"
                        value=reconcile_hours aria-describedby="target-reconcile-error" />
                    <p id="target-reconcile-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("reconcile_every_hours")}</p>
                </div>
                <div>
                    <label for="target-status" class="block text-sm font-medium">"Status"</label>
                    <select id="target-status" name="input[status]" class="input mt-1">
                        <option value="active" selected=!paused>"Sending"</option>
                        <option value="paused" selected=paused>"Paused (changes wait)"</option>
                    </select>
                </div>
                {move || general_error(error()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="provisioning-save" disabled=move || save.pending().get()>"Save target"</button></p>
            </ActionForm>
        </details>
    }
}

/// On a person's page: their account in each application Gatehouse provisions.
#[component]
pub fn PersonAccounts(guid: String) -> impl IntoView {
    let accounts = Resource::new(
        move || guid.clone(),
        crate::api::provisioning::accounts_of_person,
    );
    view! {
        <Suspense fallback=|| ()>
            {move || accounts.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(list) if list.is_empty() => ().into_any(),
                Ok(list) => view! {
                    <section class="mt-8" aria-labelledby="person-accounts-h">
                        <h2 id="person-accounts-h" class="text-lg font-semibold">"Accounts in applications"</h2>
                        <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="person-accounts">
                            {list.into_iter().map(|a| {
                                let (class, label) = match a.state.as_str() {
                                    "active" => ("badge badge-ok", "Active there"),
                                    "inactive" => ("badge badge-warn", "Deactivated there"),
                                    _ => ("badge", "No account there"),
                                };
                                let waiting = match (a.pending, &a.last_error) {
                                    (0, _) => String::new(),
                                    (n, Some(e)) => format!("{n} change(s) not delivered yet; the last attempt failed: {e}"),
                                    (n, None) => format!("{n} change(s) on their way"),
                                };
                                view! {
                                    <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-app=a.application_id.clone() data-state=a.state.clone()>
                                        <A href=format!("/apps/{}", a.application_id) attr:class="link">{a.application_name.clone()}</A>
                                        <span class=class>{label}</span>
                                        <span class="text-sm text-slate-600 dark:text-slate-300">{waiting}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                }.into_any(),
            })}
        </Suspense>
    }
}
