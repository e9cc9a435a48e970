//! Revoke everywhere and sign out everywhere on the person page (what an action would reach,
//! the form, the actions so far), and the progress page of one action: every target with its
//! state, refreshed every 2 s while one is waiting (a Refresh link without scripts).
use crate::api::revocations::{
    get_revocation_progress, revocations_of_person, RevokeEverywhere, SignOutEverywhere,
};
use crate::api::session::current_principal;
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::model::revocations::*;
use crate::model::time::format_utc;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

/// The person page's section: forms for those who may act, the actions so far for everyone.
#[component]
pub fn PersonRevocationsPanel(guid: String) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_principal());
    let can = move |p: Permission| matches!(me.get(), Some(Ok(Some(ref m))) if m.can(p));
    let data = Resource::new(move || guid.clone(), revocations_of_person);
    view! {
        <section class="mt-8" aria-labelledby="revocations-h" id="revocations">
            <h2 id="revocations-h" class="text-lg font-semibold">"Sign out and revoke everywhere"</h2>
            <Suspense fallback=Loading>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(d) => {
                        let (g1, g2, p1, p2) = (d.guid.clone(), d.guid.clone(), d.preview.clone(), d.preview.clone());
                        view! {
                            {move || can(Permission::RevokeEverywhere).then(|| view! { <RevokeForm guid=g1.clone() preview=p1.clone() /> })}
                            {move || can(Permission::SignOutEverywhere).then(|| view! { <SignOutForm guid=g2.clone() preview=p2.clone() /> })}
                            <RevocationList guid=d.guid.clone() list=d.revocations.clone() />
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The reason and ticket fields, with their messages.
#[component]
fn ReasonFields(prefix: &'static str, error: Signal<Option<AppError>>) -> impl IntoView {
    let reason_error = move || error.get().and_then(|e| field_error(&e, "reason"));
    let ticket_error = move || error.get().and_then(|e| field_error(&e, "ticket"));
    view! {
        <div>
            <label for=format!("{prefix}-reason") class="block text-sm font-medium">"Reason (required)"</label>
            <input id=format!("{prefix}-reason") name="reason" class="input mt-1 w-full" required maxlength=MAX_REASON.to_string()
                aria-invalid=move || reason_error().is_some().to_string() aria-describedby=format!("{prefix}-reason-error") />
            <p id=format!("{prefix}-reason-error") class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{reason_error}</p>
        </div>
        <div>
            <label for=format!("{prefix}-ticket") class="block text-sm font-medium">"Ticket (optional)"</label>
            <input id=format!("{prefix}-ticket") name="ticket" class="input mt-1 w-full" maxlength="64" placeholder="SEC-4711"
                aria-invalid=move || ticket_error().is_some().to_string() aria-describedby=format!("{prefix}-ticket-error") />
            <p id=format!("{prefix}-ticket-error") class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{ticket_error}</p>
        </div>
    }
}

#[component]
fn RevokeForm(guid: String, preview: RevocationPreview) -> impl IntoView {
    let action = ServerAction::<RevokeEverywhere>::new();
    let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let p = &preview;
    view! {
        <div class="mt-3 card border-red-300 p-4 dark:border-red-800" id="revoke-panel">
            <h3 class="font-semibold">"Revoke everywhere"</h3>
            <p class="mt-1 text-sm" id="revoke-warning">
                {format!(
                    "Suspends {} of {} (the active ones), revokes {} and {} of staff with one of these emails, ends {}, deactivates the person in {} and tells {} that the accounts are disabled and their sessions revoked. Undoing it is done by hand: reactivate the accounts, issue new keys.",
                    p.suspendable, plural(p.accounts, "account"), plural(p.keys, "API key"),
                    plural(p.tokens, "personal token"), plural(p.sessions, "console session"),
                    plural(p.applications, "application"), plural(p.receivers, "receiver"),
                )}
            </p>
            <ul class="mt-2 flex flex-wrap gap-2 text-sm" id="revoke-counts">
                <li class="badge badge-warn" data-count="accounts">{plural(p.accounts, "account")}</li>
                <li class="badge badge-warn" data-count="keys">{plural(p.keys, "API key")}</li>
                <li class="badge badge-warn" data-count="applications">{plural(p.applications, "application")}</li>
                <li class="badge badge-warn" data-count="receivers">{plural(p.receivers, "receiver")}</li>
            </ul>
            <ActionForm action=action attr:class="mt-3 grid gap-3 sm:grid-cols-2" attr:id="revoke-form">
                <input type="hidden" name="guid" value=guid />
                <ReasonFields prefix="revoke" error=error />
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p class="sm:col-span-2">
                    <ConfirmSubmit label="Revoke everywhere" confirm="Confirm: revoke this person everywhere" id="revoke-everywhere".to_string() danger=true />
                </p>
            </ActionForm>
        </div>
    }
}

#[component]
fn SignOutForm(guid: String, preview: RevocationPreview) -> impl IntoView {
    let action = ServerAction::<SignOutEverywhere>::new();
    let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    view! {
        <div class="mt-3 card p-4" id="sign-out-panel">
            <h3 class="font-semibold">"Sign out everywhere"</h3>
            <p class="mt-1 text-sm" id="sign-out-warning">
                {format!(
                    "Ends {} and tells {} to end this person's sessions. Accounts, keys and applications stay as they are.",
                    plural(preview.sessions, "console session"), plural(preview.receivers, "receiver"),
                )}
            </p>
            <ActionForm action=action attr:class="mt-3 grid gap-3 sm:grid-cols-2" attr:id="sign-out-form">
                <input type="hidden" name="guid" value=guid />
                <ReasonFields prefix="sign-out" error=error />
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p class="sm:col-span-2">
                    <ConfirmSubmit label="Sign out everywhere" confirm="Confirm: sign this person out everywhere" id="sign-out-everywhere".to_string() />
                </p>
            </ActionForm>
        </div>
    }
}

#[component]
fn RevocationList(guid: String, list: Vec<Revocation>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="mt-3 text-sm" id="revocations-empty">"This person was never signed out or revoked everywhere."</p> }.into_any();
    }
    view! {
        <ul class="mt-3 card divide-y divide-slate-200 dark:divide-slate-800" id="revocation-list">
            {list.into_iter().map(|r| view! {
                <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-revocation=r.id.clone()>
                    <A href=format!("/guids/{}/revocations/{}", guid, r.id) attr:class="link">{r.kind.label()}</A>
                    <span class="text-sm">{format_utc(r.created_at)}" · "{r.actor.clone()}</span>
                    <span class="text-sm text-slate-600 dark:text-slate-300 break-all">{r.reason.clone()}</span>
                    {if r.settled_at.is_some() {
                        view! { <span class="badge badge-ok ml-auto">"Settled"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-warn ml-auto">"In progress"</span> }.into_any()
                    }}
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// `/guids/:guid/revocations/:id`
#[component]
pub fn RevocationPage() -> impl IntoView {
    let params = use_params_map();
    let guid = move || params.read().get("guid").unwrap_or_default();
    let id = move || params.read().get("id").unwrap_or_default();
    let (tick, set_tick) = signal(0u32);
    let progress = Resource::new(
        move || (id(), tick.get()),
        |(id, _)| get_revocation_progress(id),
    );
    let finished = move || matches!(progress.get_untracked(), Some(Ok(ref p)) if p.settled);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !finished() {
                    set_tick.update(|n| *n += 1);
                }
            },
            Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Revocation" />
        <p class="text-sm"><A href=move || format!("/guids/{}", guid()) attr:class="link">"← The person"</A></p>
        <Transition fallback=Loading>
            {move || progress.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(p) => view! { <ProgressView p=p /> }.into_any(),
            })}
        </Transition>
    }
}

fn badge(state: TargetState) -> &'static str {
    match state {
        TargetState::Done | TargetState::Confirmed => "badge badge-ok",
        TargetState::Waiting => "badge badge-warn",
        TargetState::Failed => "badge badge-bad",
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "account" => "Account",
        "api_key" => "API key",
        "api_token" => "Personal token",
        "session" => "Console session",
        "application" => "Application",
        _ => "Receiver",
    }
}

#[component]
fn ProgressView(p: RevocationProgress) -> impl IntoView {
    let r = p.revocation.clone();
    let here = format!("/guids/{}/revocations/{}", r.guid, r.id);
    view! {
        <h1 class="mt-2 text-2xl font-semibold">{r.kind.label()}</h1>
        <p class="mt-1 text-sm text-slate-500">
            {format_utc(r.created_at)}" · "{r.actor.clone()}
            {(!r.ticket.is_empty()).then(|| format!(" · ticket {}", r.ticket))}
            " · "<A href=format!("/audit?target_type=guid&target_id={}", r.guid) attr:class="link">"Audit trail"</A>
        </p>
        <p class="mt-1 text-sm break-all">"Reason: "{r.reason.clone()}</p>
        <div class="mt-4 card p-4" id="revocation" data-settled=p.settled.to_string()>
            <p class="font-semibold" id="revocation-summary" aria-live="polite">{p.summary()}</p>
            {match r.settled_at {
                Some(at) => view! { <p class="text-sm" id="revocation-settled">{format!("Settled {}: every target has finished.", format_utc(at))}</p> }.into_any(),
                None => view! {
                    <p class="text-sm">"Refreshes every 2 seconds while a target is waiting. "
                        <a href=here.clone() class="link" id="revocation-refresh">"Refresh"</a>
                    </p>
                }.into_any(),
            }}
        </div>
        <div class="mt-4 card overflow-x-auto">
            <table class="w-full text-left text-sm" id="revocation-targets">
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Kind"</th>
                        <th scope="col" class="px-3 py-2">"Target"</th>
                        <th scope="col" class="px-3 py-2">"State"</th>
                        <th scope="col" class="px-3 py-2 text-right">"Attempts"</th>
                        <th scope="col" class="px-3 py-2">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {p.targets.into_iter().map(|t| {
                        let attempts = if t.outbound() { t.attempts.to_string() } else { "—".into() };
                        view! {
                        <tr class="border-t border-slate-200 dark:border-slate-800" data-kind=t.kind.clone() data-state=t.state.as_str() data-target=t.id.clone()>
                            <td class="px-3 py-2">{kind_label(&t.kind)}</td>
                            <td class="px-3 py-2 break-all">
                                {if t.href.is_empty() {
                                    view! { <span>{t.name.clone()}</span> }.into_any()
                                } else {
                                    view! { <A href=t.href.clone() attr:class="link">{t.name.clone()}</A> }.into_any()
                                }}
                            </td>
                            <td class="px-3 py-2"><span class=badge(t.state)>{t.state.as_str()}</span></td>
                            <td class="px-3 py-2 text-right tabular-nums">{attempts}</td>
                            <td class="px-3 py-2">
                                {t.detail.clone()}
                                {(!t.error.is_empty()).then(|| view! { <span class="block text-red-700 dark:text-red-300 break-all">{t.error.clone()}</span> })}
                            </td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
