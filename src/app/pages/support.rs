//! The support desk: one search box with each person's state at a glance, the agent's recent
//! tickets; and the pieces of the user page that support works with: MFA factors, devices and
//! the MFA reset (verification checklist, reason, ticket, typed confirmation, one-time link).
use crate::api::session::current_principal;
use crate::api::support::{
    devices_of_user, list_factors, mfa_reset_options, recent_resets, support_search, RemoveFactor,
    ResetMfa,
};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::devices::DeviceTable;
use crate::app::pages::users::{encode, StatusBadge};
use crate::model::support::{Factor, FactorStatus, Glance, MfaResetInput};
use crate::model::time::format_utc;
use crate::model::{Permission, Principal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

fn when(ms: i64) -> String {
    if ms == 0 {
        "never".into()
    } else {
        format_utc(ms)
    }
}

#[component]
pub fn SupportDesk() -> impl IntoView {
    let params = use_query_map();
    let q = Memo::new(move |_| params.read().get("q").unwrap_or_default());
    let results = Resource::new(move || q.get(), support_search);
    let recent = Resource::new(|| (), |_| recent_resets());
    let navigate = use_navigate();
    view! {
        <Title text="Support desk" />
        <h1 class="text-2xl font-semibold">"Support desk"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"Find the caller, check their state, then open their page to reset MFA."</p>
        <form class="mt-4" role="search" on:submit=|ev| ev.prevent_default()>
            <label class="block">
                <span class="block text-sm font-medium">"Find a person"</span>
                <input id="support-search" type="search" class="input mt-1 w-full text-base" autocomplete="off" autofocus
                    placeholder="Email, name, phone (+41…), user id or GUID"
                    value=move || q.get()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        let href = if v.trim().is_empty() { "/support".to_string() } else { format!("/support?q={}", encode(&v)) };
                        navigate(&href, NavigateOptions { replace: true, scroll: false, ..Default::default() });
                    } />
            </label>
        </form>
        <Transition fallback=Loading>
            {move || results.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(list) if list.is_empty() && q.get().trim().is_empty() => ().into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="mt-4 card p-4" id="support-empty">"Nobody matches. Try the email, the phone number in international form, or a name."</p>
                }.into_any(),
                Ok(list) => view! {
                    <ul class="mt-4 grid gap-3" id="support-results">
                        {list.into_iter().map(|g| view! { <GlanceCard glance=g /> }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </Transition>
        <section class="mt-8" aria-labelledby="recent-h">
            <h2 id="recent-h" class="text-lg font-semibold">"Your recent tickets"</h2>
            <Suspense fallback=Loading>
                {move || recent.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="recent-empty">"You have not reset anyone's MFA yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="mt-2 card overflow-x-auto">
                            <table class="w-full text-left text-sm" id="recent-tickets">
                                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                    <tr>
                                        <th scope="col" class="px-3 py-2">"Ticket"</th>
                                        <th scope="col" class="px-3 py-2">"Person"</th>
                                        <th scope="col" class="px-3 py-2">"Reason"</th>
                                        <th scope="col" class="px-3 py-2">"Factors removed"</th>
                                        <th scope="col" class="px-3 py-2">"When"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|t| view! {
                                        <tr class="border-t border-slate-200 dark:border-slate-800" data-ticket=t.ticket.clone()>
                                            <td class="px-3 py-2 font-mono">{t.ticket.clone()}</td>
                                            <td class="px-3 py-2"><A href=format!("/users/{}", t.user_id) attr:class="link">{t.user_email.clone()}</A></td>
                                            <td class="px-3 py-2">{t.reason.clone()}</td>
                                            <td class="px-3 py-2 tabular-nums">{t.factors_removed}</td>
                                            <td class="px-3 py-2 whitespace-nowrap">{format_utc(t.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn GlanceCard(glance: Glance) -> impl IntoView {
    let g = glance;
    view! {
        <li class="card p-4" data-user=g.user_id.clone()>
            <div class="flex flex-wrap items-center gap-3">
                <A href=format!("/users/{}", g.user_id) attr:class="link text-lg font-semibold">{g.display_name.clone()}</A>
                <StatusBadge status=g.status />
                {g.protected.then(|| view! { <span class="badge badge-warn" data-protected="true">"Administrator account"</span> })}
                <span class="text-sm text-slate-600 dark:text-slate-300">{g.email.clone()}</span>
            </div>
            <dl class="mt-2 grid grid-cols-2 gap-2 text-sm sm:grid-cols-5">
                <div><dt class="text-slate-500 dark:text-slate-400">"Locked"</dt><dd data-field="locked">{if g.status == crate::model::users::UserStatus::Locked { "yes" } else { "no" }}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"MFA factors"</dt><dd data-field="factors" class="tabular-nums">{g.factors}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"Devices"</dt><dd data-field="devices" class="tabular-nums">{g.devices}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"Last sign-in"</dt><dd data-field="last-sign-in">{when(g.last_sign_in_at)}</dd></div>
                <div><dt class="text-slate-500 dark:text-slate-400">"Failed sign-ins, 7 days"</dt><dd data-field="failed" class="tabular-nums">{g.failed_sign_ins_7d}</dd></div>
            </dl>
        </li>
    }
}

/// A list of factors; with `remove`, each gets a "Remove" button.
#[component]
pub fn FactorTable(
    factors: Vec<Factor>,
    #[prop(optional)] remove: Option<ServerAction<RemoveFactor>>,
    #[prop(optional)] show_owner: bool,
) -> impl IntoView {
    if factors.is_empty() {
        return view! { <p class="mt-2 text-sm" id="factors-empty">"No MFA factors enrolled."</p> }
            .into_any();
    }
    view! {
        <div class="mt-2 card overflow-x-auto">
            <table class="w-full text-left text-sm" id="factors-table">
                <caption class="sr-only">"MFA factors"</caption>
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Factor"</th>
                        {show_owner.then(|| view! { <th scope="col" class="px-3 py-2">"Account"</th> })}
                        <th scope="col" class="px-3 py-2">"Details"</th>
                        <th scope="col" class="px-3 py-2">"Status"</th>
                        <th scope="col" class="px-3 py-2">"Enrolled"</th>
                        <th scope="col" class="px-3 py-2">"Last used"</th>
                        {remove.is_some().then(|| view! { <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {factors.into_iter().map(|f| {
                        let (fid, fuid, owner) = (f.id.clone(), f.user_id.clone(), f.user_id.clone());
                        let badge = match f.status {
                            FactorStatus::Active => "badge badge-ok",
                            FactorStatus::Pending => "badge badge-warn",
                            FactorStatus::Disabled => "badge badge-bad",
                        };
                        view! {
                            <tr class="border-t border-slate-200 dark:border-slate-800" data-factor=f.id.clone() data-kind=f.kind.as_str()>
                                <td class="px-3 py-2"><span class="font-medium">{f.label.clone()}</span><span class="block text-xs text-slate-500 dark:text-slate-400">{f.kind.label()}</span></td>
                                {show_owner.then(move || view! { <td class="px-3 py-2"><A href=format!("/users/{owner}") attr:class="link font-mono text-xs">{owner.clone()}</A></td> })}
                                <td class="px-3 py-2 break-all">{f.detail()}</td>
                                <td class="px-3 py-2"><span class=badge>{f.status.as_str()}</span></td>
                                <td class="px-3 py-2 whitespace-nowrap">{format_utc(f.enrolled_at)}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{f.last_used_at.map(format_utc).unwrap_or_else(|| "never".into())}</td>
                                {remove.map(move |action| view! {
                                    <td class="px-3 py-2">
                                        <ActionForm action=action>
                                            <input type="hidden" name="user_id" value=fuid />
                                            <input type="hidden" name="factor_id" value=fid />
                                            <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" data-action="remove-factor"
                                                aria-label=format!("Remove factor {}", f.label)>"Remove"</button>
                                        </ActionForm>
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The user page's support section: factors, devices and (for those allowed) the MFA reset.
#[component]
pub fn UserSecurity(
    user_id: String,
    email: String,
    /// Bumped by the page when the user changes; this section bumps it after its own changes.
    reloads: RwSignal<u32>,
) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_principal());
    let principal = move || me.get().and_then(|r| r.ok()).flatten();
    let can = move |p: Permission| principal().is_some_and(|m| m.can(p));
    let remove = ServerAction::<RemoveFactor>::new();
    Effect::new(move |_| {
        if matches!(remove.value().get(), Some(Ok(()))) {
            reloads.update(|n| *n += 1);
        }
    });
    let (id1, id2) = (user_id.clone(), user_id.clone());
    let factors = Resource::new(
        move || (id1.clone(), reloads.get()),
        |(id, _)| list_factors(id),
    );
    let devices = Resource::new(
        move || (id2.clone(), reloads.get()),
        |(id, _)| devices_of_user(id),
    );
    let on_change = Callback::new(move |_: ()| reloads.update(|n| *n += 1));
    view! {
        <section class="mt-8" aria-labelledby="factors-h">
            <h2 id="factors-h" class="text-lg font-semibold">"MFA factors"</h2>
            {move || remove.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mt-2"><ErrorBox error=e /></div> })}
            <Suspense fallback=Loading>
                {move || factors.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) => if can(Permission::ManageFactors) {
                        view! { <FactorTable factors=list remove=remove /> }.into_any()
                    } else {
                        view! { <FactorTable factors=list /> }.into_any()
                    },
                })}
            </Suspense>
        </section>
        {
            let (uid, em) = (user_id.clone(), email.clone());
            move || can(Permission::ResetMfa).then(|| view! {
                <ResetPanel user_id=uid.clone() email=em.clone() factors=factors on_done=on_change />
            })
        }
        <section class="mt-8" aria-labelledby="devices-h">
            <h2 id="devices-h" class="text-lg font-semibold">"Devices"</h2>
            <Suspense fallback=Loading>
                {move || devices.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="devices-empty">"No devices registered."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="mt-2 card overflow-x-auto"><DeviceTable devices=list principal=principal() on_change=on_change /></div>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// "Reset MFA": checks done, reason, ticket, typed email; then the one-time link, shown once.
#[component]
fn ResetPanel(
    user_id: String,
    email: String,
    /// The person's factors (to pick some); reloading them does not re-create this panel.
    factors: Resource<Result<Vec<Factor>, crate::model::AppError>>,
    on_done: Callback<()>,
) -> impl IntoView {
    let options = Resource::new(|| (), |_| mfa_reset_options());
    let reset = ServerAction::<ResetMfa>::new();
    let checks = RwSignal::new(Vec::<String>::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let reason = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let ticket = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    // The link lives only in this signal: shown once, gone when the page is left or reloaded.
    let link = RwSignal::new(None::<crate::model::support::MfaResetOutcome>);
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = reset.value().get() {
            link.set(Some(outcome));
            on_done.run(());
        }
    });
    let open = RwSignal::new(false);
    let uid = user_id.clone();
    let submit = Callback::new(move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        reset.dispatch(ResetMfa {
            input: MfaResetInput {
                user_id: uid.clone(),
                checks: checks.get_untracked(),
                reason: reason.get_untracked(),
                note: note.get_untracked(),
                ticket: ticket.get_untracked(),
                confirm_email: confirm.get_untracked(),
                factor_ids: chosen.get_untracked(),
            },
        });
    });
    let error = move || reset.value().get().and_then(|r| r.err());
    let field_error = move |name: &'static str| error().and_then(|e| e.field(name));
    let email_label = StoredValue::new(email.clone());
    view! {
        <section class="mt-8 card p-4" aria-labelledby="reset-h" id="reset-mfa">
            <div class="flex flex-wrap items-center gap-3">
                <h2 id="reset-h" class="text-lg font-semibold">"Reset MFA"</h2>
                <button type="button" class="btn-primary ml-auto" id="reset-open" aria-expanded=move || open.get().to_string()
                    aria-controls="reset-form" on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { "Cancel" } else { "Reset MFA…" }}
                </button>
            </div>
            {move || link.get().map(|o| view! { <LinkOnce outcome=o /> })}
            <Show when=move || open.get() && link.get().is_none()>
                <Suspense fallback=Loading>
                    {
                        move || options.get().map(|r| match r {
                            Err(e) => view! { <div class="mt-3"><ErrorBox error=e /></div> }.into_any(),
                            Ok(opts) => {
                                let factors = factors.get().and_then(|r| r.ok()).unwrap_or_default();
                                view! {
                                    <form class="mt-4 grid gap-4" id="reset-form" on:submit=move |ev| submit.run(ev) novalidate>
                                        <fieldset>
                                            <legend class="text-sm font-medium">"1. How did you verify the caller's identity?"</legend>
                                            <div class="mt-1 grid gap-1">
                                                {opts.checks.iter().enumerate().map(|(i, c)| {
                                                    let (c1, c2) = (c.clone(), c.clone());
                                                    view! {
                                                        <label class="flex items-center gap-2">
                                                            <input type="checkbox" id=format!("reset-check-{i}") value=c.clone()
                                                                prop:checked=move || checks.with(|l| l.contains(&c1))
                                                                on:change=move |ev| {
                                                                    let on = event_target_checked(&ev);
                                                                    checks.update(|l| { l.retain(|x| x != &c2); if on { l.push(c2.clone()); } });
                                                                } />
                                                            <span>{c.clone()}</span>
                                                        </label>
                                                    }
                                                }).collect_view()}
                                            </div>
                                            {move || field_error("checks").map(|m| view! { <p class="mt-1 text-sm text-red-700 dark:text-red-300">{m}</p> })}
                                        </fieldset>
                                        <div class="grid gap-3 sm:grid-cols-2">
                                            <label>
                                                <span class="block text-sm font-medium">"2. Reason"</span>
                                                <select id="reset-reason" class="input mt-1 w-full" required
                                                    aria-invalid=move || field_error("reason").is_some().to_string()
                                                    on:change=move |ev| reason.set(event_target_value(&ev))>
                                                    <option value="">"Choose a reason"</option>
                                                    {opts.reasons.iter().map(|r| view! { <option value=r.clone()>{r.clone()}</option> }).collect_view()}
                                                </select>
                                                {move || field_error("reason").map(|m| view! { <span class="mt-1 block text-sm text-red-700 dark:text-red-300">{m}</span> })}
                                            </label>
                                            <label>
                                                <span class="block text-sm font-medium">"Ticket reference"</span>
                                                <input id="reset-ticket" class="input mt-1 w-full font-mono" required placeholder="e.g. INC-12345"
                                                    aria-invalid=move || field_error("ticket").is_some().to_string()
                                                    on:input=move |ev| ticket.set(event_target_value(&ev)) />
                                                {move || field_error("ticket").map(|m| view! { <span class="mt-1 block text-sm text-red-700 dark:text-red-300">{m}</span> })}
                                            </label>
                                        </div>
                                        <label>
                                            <span class="block text-sm font-medium">"Details (optional, required for \"Other\")"</span>
                                            <textarea id="reset-note" class="input mt-1 w-full" rows="2" maxlength="500"
                                                aria-invalid=move || field_error("note").is_some().to_string()
                                                on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                                            {move || field_error("note").map(|m| view! { <span class="mt-1 block text-sm text-red-700 dark:text-red-300">{m}</span> })}
                                        </label>
                                        {(!factors.is_empty()).then(|| view! {
                                            <fieldset>
                                                <legend class="text-sm font-medium">"Factors to remove (none ticked: all of them)"</legend>
                                                <div class="mt-1 grid gap-1">
                                                    {factors.iter().map(|f| {
                                                        let (id1, id2) = (f.id.clone(), f.id.clone());
                                                        view! {
                                                            <label class="flex items-center gap-2">
                                                                <input type="checkbox" id=format!("reset-factor-{}", f.id)
                                                                    prop:checked=move || chosen.with(|l| l.contains(&id1))
                                                                    on:change=move |ev| {
                                                                        let on = event_target_checked(&ev);
                                                                        chosen.update(|l| { l.retain(|x| x != &id2); if on { l.push(id2.clone()); } });
                                                                    } />
                                                                <span>{format!("{} ({})", f.label, f.kind.label())}</span>
                                                            </label>
                                                        }
                                                    }).collect_view()}
                                                </div>
                                            </fieldset>
                                        })}
                                        <label>
                                            <span class="block text-sm font-medium">{format!("3. Type {} to confirm", email_label.get_value())}</span>
                                            <input id="reset-confirm" class="input mt-1 w-full" autocomplete="off" required
                                                aria-invalid=move || field_error("confirm_email").is_some().to_string()
                                                on:input=move |ev| confirm.set(event_target_value(&ev)) />
                                            {move || field_error("confirm_email").map(|m| view! { <span class="mt-1 block text-sm text-red-700 dark:text-red-300">{m}</span> })}
                                        </label>
                                        <p class="text-sm text-slate-600 dark:text-slate-300">
                                            {format!("The reset removes the factors, withdraws the trust of the person's devices and any remembered device, and gives you a one-time re-enrollment link valid for {} hours.", opts.link_valid_secs / 3600)}
                                        </p>
                                        {move || error().filter(|e| !matches!(e, crate::model::AppError::Fields(_))).map(|e| view! { <ErrorBox error=e /> })}
                                        <div>
                                            <button type="submit" class="btn-primary bg-red-700 hover:bg-red-600" id="reset-submit"
                                                disabled=move || reset.pending().get()>"Reset MFA"</button>
                                        </div>
                                    </form>
                                }.into_any()
                            }
                        })
                    }
                </Suspense>
            </Show>
        </section>
    }
    .into_any()
}

/// The re-enrollment link, shown once with a copy button.
#[component]
fn LinkOnce(outcome: crate::model::support::MfaResetOutcome) -> impl IntoView {
    let copied = RwSignal::new(false);
    let link = outcome.enrollment_link.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&link);
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &link;
    };
    view! {
        <div class="mt-4 rounded-md border border-emerald-300 bg-emerald-50 p-4 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100" role="status" id="reset-done">
            <p class="font-medium">{format!(
                "MFA reset: {} factor{} removed, {} device{} no longer trusted.",
                outcome.factors_removed, if outcome.factors_removed == 1 { "" } else { "s" },
                outcome.devices_untrusted, if outcome.devices_untrusted == 1 { "" } else { "s" },
            )}</p>
            <label class="mt-3 block">
                <span class="block text-sm">"One-time re-enrollment link. It is shown only now; give it to the person through a verified channel."</span>
                <div class="mt-1 flex gap-2">
                    <input id="enrollment-link" class="input w-full font-mono text-xs" readonly value=outcome.enrollment_link.clone() />
                    <button type="button" class="btn-primary" id="copy-link" on:click=copy>
                        {move || if copied.get() { "Copied" } else { "Copy" }}
                    </button>
                </div>
            </label>
            <p class="mt-2 text-sm">{format!("Valid until {}, once.", format_utc(outcome.expires_at))}</p>
        </div>
    }
    .into_any()
}

/// Whether the principal may use the support desk (for the dashboard's shortcut).
pub fn is_support(p: &Principal) -> bool {
    p.can(Permission::ResetMfa)
}
