//! One application: its settings, status, client secrets, assigned people, API keys and its
//! provisioning target.
//! Actions live at the page level so a secret or key shown once survives the reload after it.
use crate::api::apps::{
    app_assignments, app_groups, get_app, list_keys, AssignGroup, AssignPerson, CreateKey,
    RevokeSecret, RotateSecret, SetAppStatus, UnassignGroup, UnassignPerson, UpdateApp,
};
use crate::app::components::{ConfirmSubmit, CopyButton, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::{field_error, general_error, input_of, AppFields};
use crate::app::pages::app_groups::AppGroups;
use crate::app::pages::app_provisioning::AppProvisioning;
use crate::app::pages::apps::{can, detail_row, load_me, now_ms, AppStatusBadge, Me};
use crate::app::pages::keys::KeyTable;
use crate::model::apps::{
    AppDetail, AppStatus, Assignment, ClientSecretInfo, KeyPage, KeyQuery, GRACE_PERIODS,
};
use crate::model::time::format_utc;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// Bumps `counter` whenever `action` succeeds.
fn reload_on_success<I, O>(action: ServerAction<I>, counter: WriteSignal<u32>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            counter.update(|n| *n += 1);
        }
    });
}

#[component]
pub fn AppDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let me = load_me();
    let update = ServerAction::<UpdateApp>::new();
    let set_status = ServerAction::<SetAppStatus>::new();
    let rotate = ServerAction::<RotateSecret>::new();
    let revoke = ServerAction::<RevokeSecret>::new();
    let assign = ServerAction::<AssignPerson>::new();
    let unassign = ServerAction::<UnassignPerson>::new();
    let assign_group = ServerAction::<AssignGroup>::new();
    let unassign_group = ServerAction::<UnassignGroup>::new();
    let create_key = ServerAction::<CreateKey>::new();
    let (app_reloads, set_app_reloads) = signal(0u32);
    let (people_reloads, set_people_reloads) = signal(0u32);
    let (key_reloads, set_key_reloads) = signal(0u32);
    reload_on_success(update, set_app_reloads);
    reload_on_success(set_status, set_app_reloads);
    reload_on_success(rotate, set_app_reloads);
    reload_on_success(revoke, set_app_reloads);
    reload_on_success(assign, set_people_reloads);
    reload_on_success(unassign, set_people_reloads);
    reload_on_success(create_key, set_key_reloads);
    let app = Resource::new(move || (id(), app_reloads.get()), |(id, _)| get_app(id));
    let groups = Resource::new(
        move || {
            (
                id(),
                assign_group.version().get(),
                unassign_group.version().get(),
            )
        },
        |(id, _, _)| app_groups(id),
    );
    let people = Resource::new(
        move || (id(), people_reloads.get()),
        |(id, _)| app_assignments(id),
    );
    let keys = Resource::new(
        move || (id(), key_reloads.get()),
        |(id, _)| {
            list_keys(KeyQuery {
                application_id: id,
                ..KeyQuery::default()
            })
        },
    );
    let status_error = move || general_error(set_status.value().get().and_then(|r| r.err()));
    view! {
        <Transition fallback=Loading>
            {move || app.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(a) => {
                    let can_write = can(me, Permission::WriteApps);
                    view! {
                        <Title text=a.name.clone() />
                        <div class="flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold" id="app-name">{a.name.clone()}</h1>
                            <AppStatusBadge status=a.status />
                            {can_write.then(|| view! { <StatusToggle app=a.clone() action=set_status /> })}
                        </div>
                        <p class="mt-1 text-sm text-slate-500">
                            "Client id "<span class="font-mono select-all" id="app-client-id">{a.id.clone()}</span><CopyButton what="client id" value=a.id.clone() id="copy-client-id" />
                            {can(me, Permission::ReadAudit).then(|| view! {
                                " · "<A href=format!("/audit?target_type=application&target_id={}", a.id) attr:class="link" attr:id="audit-trail">"Audit trail"</A>
                            })}
                        </p>
                        {move || status_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                        <AppProfile app=a.clone() />
                        {can_write.then(|| view! { <EditApp app=a.clone() update=update /> })}
                        <Secrets app=a.clone() can_write rotate revoke />
                        <AppKeys app=a.clone() me keys create_key />
                    }.into_any()
                }
            })}
        </Transition>
        <People app_id=Signal::derive(id) me people assign unassign />
        <AppGroups app_id=Signal::derive(id) me groups assign=assign_group unassign=unassign_group />
        <AppProvisioning app_id=Signal::derive(id) me />
    }
}

#[component]
fn StatusToggle(app: AppDetail, action: ServerAction<SetAppStatus>) -> impl IntoView {
    let (to, label, confirm) = match app.status {
        AppStatus::Active => (
            AppStatus::Disabled,
            "Disable",
            "Confirm: disable (every secret and key stops working)",
        ),
        AppStatus::Disabled => (AppStatus::Active, "Enable", "Confirm: enable"),
    };
    view! {
        <ActionForm action=action attr:class="ml-auto">
            <input type="hidden" name="id" value=app.id.clone() />
            <input type="hidden" name="status" value=to.as_str() />
            <ConfirmSubmit label confirm id=format!("status-{}", to.as_str()) danger=to == AppStatus::Disabled />
        </ActionForm>
    }
}

#[component]
fn AppProfile(app: AppDetail) -> impl IntoView {
    let list = |v: &[String]| {
        if v.is_empty() {
            view! { <span class="text-slate-500">"none"</span> }.into_any()
        } else {
            view! { <ul class="font-mono text-sm">{v.iter().map(|u| view! { <li>{u.clone()}</li> }).collect_view()}</ul> }.into_any()
        }
    };
    view! {
        <dl class="mt-4 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="app-profile">
            {detail_row("Kind", format!("{}{}", app.kind.label(), if app.kind.is_confidential() { " (confidential client)" } else { " (public client)" }))}
            {detail_row("Owner", app.owner_email.clone().unwrap_or_else(|| "—".into()))}
            {detail_row("Redirect URIs", list(&app.redirect_uris))}
            {detail_row("Post-logout redirect URIs", list(&app.post_logout_redirect_uris))}
            {detail_row("Grant types", app.grant_types.iter().map(|g| g.label()).collect::<Vec<_>>().join(", "))}
            {detail_row("Scopes", view! { <span class="font-mono" id="app-scopes">{if app.scopes.is_empty() { "none".to_string() } else { app.scopes.join(" ") }}</span> })}
            {detail_row("PKCE required", if app.pkce_required { "yes" } else { "no" })}
            {detail_row("Assigned people", app.assigned_people.to_string())}
            {detail_row("Active API keys", app.active_keys.to_string())}
            {detail_row("Created", format_utc(app.created_at))}
            {detail_row("Updated", format_utc(app.updated_at))}
        </dl>
    }
}

#[component]
fn EditApp(app: AppDetail, update: ServerAction<UpdateApp>) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(|r| r.err()));
    view! {
        <details class="mt-6 card p-4" id="edit-app" open=move || error.get().is_some()>
            <summary class="cursor-pointer font-semibold">"Edit settings"</summary>
            <ActionForm action=update attr:class="mt-4">
                <input type="hidden" name="id" value=app.id.clone() />
                <input type="hidden" name="version" value=app.version />
                <AppFields initial=input_of(&app) editing=true error=error />
                {move || general_error(error.get()).map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                <button type="submit" class="btn-primary mt-4" id="save-app">"Save changes"</button>
            </ActionForm>
        </details>
    }
}

fn secret_status(s: &ClientSecretInfo, now: i64) -> (&'static str, String) {
    match (s.revoked_at, s.expires_at) {
        (Some(t), _) => ("badge badge-bad", format!("Revoked {}", format_utc(t))),
        (None, Some(e)) if e <= now => ("badge badge-bad", "Expired".into()),
        (None, Some(e)) => ("badge badge-warn", format!("Valid until {}", format_utc(e))),
        (None, None) => ("badge badge-ok", "Active".into()),
    }
}

#[component]
fn Secrets(
    app: AppDetail,
    can_write: bool,
    rotate: ServerAction<RotateSecret>,
    revoke: ServerAction<RevokeSecret>,
) -> impl IntoView {
    if !app.kind.is_confidential() {
        return view! {
            <section class="mt-8" aria-labelledby="secrets-h">
                <h2 id="secrets-h" class="text-lg font-semibold">"Client secrets"</h2>
                <p class="mt-2 text-sm">"A public client has no secret: it proves itself with PKCE."</p>
            </section>
        }
        .into_any();
    }
    let now = now_ms();
    let error = move || {
        general_error(
            [
                rotate.value().get().and_then(|r| r.err()),
                revoke.value().get().and_then(|r| r.err()),
            ]
            .into_iter()
            .flatten()
            .next(),
        )
        .or_else(|| {
            rotate
                .value()
                .get()
                .and_then(|r| r.err())
                .filter(|e| e.field("grace").is_some())
        })
    };
    let app_id = app.id.clone();
    let rows = app
        .secrets
        .iter()
        .map(|s| {
            let (class, status) = secret_status(s, now);
            let open = s.revoked_at.is_none() && s.expires_at.is_none_or(|e| e > now);
            let (aid, sid) = (app_id.clone(), s.id.clone());
            view! {
                <tr class="border-t border-slate-200 dark:border-slate-800" data-secret=s.id.clone()>
                    <td class="px-3 py-2 font-mono">{format!("…{}", s.hint)}</td>
                    <td class="px-3 py-2 whitespace-nowrap">{format_utc(s.created_at)}</td>
                    <td class="px-3 py-2 whitespace-nowrap">{s.expires_at.map(format_utc).unwrap_or_else(|| "until rotated".into())}</td>
                    <td class="px-3 py-2"><span class=class>{status}</span></td>
                    <td class="px-3 py-2">
                        {(can_write && open).then(|| view! {
                            <ActionForm action=revoke>
                                <input type="hidden" name="id" value=aid />
                                <input type="hidden" name="secret_id" value=sid.clone() />
                                <ConfirmSubmit label="Revoke" confirm="Confirm: revoke now" id=format!("revoke-{sid}") danger=true />
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="mt-8" aria-labelledby="secrets-h">
            <h2 id="secrets-h" class="text-lg font-semibold">"Client secrets"</h2>
            {move || rotate.value().get().and_then(|r| r.ok()).and_then(|n| n.secret).map(|secret| view! {
                <div class="mt-3" id="rotated-secret"><OneTimeSecret label="New client secret" value=secret testid="secret" /></div>
            })}
            {move || error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
            {if app.secrets.is_empty() {
                view! { <p class="mt-2 text-sm">"No secret yet. Rotate to create one."</p> }.into_any()
            } else {
                view! {
                    <div class="mt-2 card overflow-x-auto">
                        <table class="w-full text-left text-sm" id="secrets-table">
                            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                <tr>
                                    <th scope="col" class="px-3 py-2">"Secret"</th>
                                    <th scope="col" class="px-3 py-2">"Created"</th>
                                    <th scope="col" class="px-3 py-2">"Valid until"</th>
                                    <th scope="col" class="px-3 py-2">"Status"</th>
                                    <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {can_write.then(|| view! {
                <ActionForm action=rotate attr:class="mt-3 flex flex-wrap items-end gap-3" attr:id="rotate-secret-form">
                    <input type="hidden" name="id" value=app.id.clone() />
                    <label class="text-sm font-medium" for="rotate-grace">"Current secrets stay valid for"</label>
                    <select name="grace" id="rotate-grace" class="input">
                        {GRACE_PERIODS.into_iter().map(|(secs, label)| view! { <option value=secs selected=secs == 86_400>{label}</option> }).collect_view()}
                    </select>
                    <button type="submit" class="btn-primary" id="rotate-secret">"Rotate secret"</button>
                </ActionForm>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn People(
    app_id: Signal<String>,
    me: Me,
    people: Resource<Result<Vec<Assignment>, AppError>>,
    assign: ServerAction<AssignPerson>,
    unassign: ServerAction<UnassignPerson>,
) -> impl IntoView {
    let assign_error = move || {
        assign
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("person").unwrap_or_else(|| e.to_string()))
    };
    let unassign_error = move || unassign.value().get().and_then(|r| r.err());
    view! {
        <section class="mt-8" aria-labelledby="people-h">
            <h2 id="people-h" class="text-lg font-semibold">"People"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"People assigned to this application may use it, and may hold personal API keys for it."</p>
            {move || unassign_error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
            <Transition fallback=Loading>
                {move || people.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="people-empty">"Nobody is assigned yet."</p> }.into_any(),
                    Ok(list) => {
                        let can_write = can(me, Permission::WriteApps);
                        view! {
                            <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="people">
                                {list.into_iter().map(|p| {
                                    let name = p.display_name.clone().unwrap_or_else(|| p.guid.clone());
                                    let (guid, guid2) = (p.guid.clone(), p.guid.clone());
                                    let remove = format!("Remove {name}");
                                    view! {
                                    <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-guid=p.guid.clone()>
                                        <A href=format!("/guids/{guid}") attr:class="link">{name}</A>
                                        <span class="text-sm text-slate-600 dark:text-slate-300">{p.email.clone().unwrap_or_default()}</span>
                                        <span class="text-xs text-slate-500">"assigned "{format_utc(p.assigned_at)}</span>
                                        {can_write.then(move || view! {
                                            <ActionForm action=unassign attr:class="ml-auto">
                                                <input type="hidden" name="id" value=app_id.get_untracked() />
                                                <input type="hidden" name="guid" value=guid2 />
                                                <button type="submit" class="btn-ghost" aria-label=remove>"Remove"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }}).collect_view()}
                            </ul>
                        }.into_any()
                    }
                })}
            </Transition>
            <Suspense fallback=|| ()>
                {move || can(me, Permission::WriteApps).then(|| view! {
                    <ActionForm action=assign attr:class="mt-3 flex flex-wrap items-end gap-3" attr:id="assign-form">
                        <input type="hidden" name="id" value=app_id />
                        <div class="flex-1 min-w-64">
                            <label for="assign-person" class="block text-sm font-medium">"Assign a person (GUID or account email)"</label>
                            <input id="assign-person" name="person" class="input mt-1 w-full" placeholder="g_... or someone@example.com" required
                                aria-invalid=move || assign_error().is_some().to_string() aria-describedby="assign-person-error" />
                            <p id="assign-person-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{assign_error}</p>
                        </div>
                        <button type="submit" class="btn-primary mb-7" id="assign">"Assign"</button>
                    </ActionForm>
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AppKeys(
    app: AppDetail,
    me: Me,
    keys: Resource<Result<KeyPage, AppError>>,
    create_key: ServerAction<CreateKey>,
) -> impl IntoView {
    let can_write = can(me, Permission::WriteApps);
    let app_id = app.id.clone();
    view! {
        <section class="mt-8" aria-labelledby="keys-h">
            <div class="flex flex-wrap items-center gap-3">
                <h2 id="keys-h" class="text-lg font-semibold">"API keys"</h2>
                <A href=format!("/keys?application_id={app_id}") attr:class="link text-sm">"All keys of this application"</A>
            </div>
            {move || create_key.value().get().and_then(|r| r.ok()).map(|issued| view! {
                <div class="mt-3" id="issued-key">
                    <OneTimeSecret label="The new API key" value=issued.key testid="new-key">
                        <p class="text-sm">
                            <A href=format!("/keys/{}", issued.summary.id) attr:class="link" attr:data-new-key-id=issued.summary.id.clone()>
                                {format!("Open {} ({})", issued.summary.name, issued.summary.prefix)}
                            </A>
                        </p>
                    </OneTimeSecret>
                </div>
            })}
            <Transition fallback=Loading>
                {move || keys.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(p) if p.keys.is_empty() => view! { <p class="mt-2 text-sm" id="app-keys-empty">"No keys yet."</p> }.into_any(),
                    Ok(p) => view! {
                        <div class="mt-2 card overflow-x-auto"><KeyTable keys=p.keys id="app-keys" /></div>
                        {p.next.map(|_| view! { <p class="mt-2 text-sm">"Showing the newest keys; see all keys of this application for the rest."</p> })}
                    }.into_any(),
                })}
            </Transition>
            {(can_write && app.status == AppStatus::Active).then(|| view! { <IssueKey app=app.clone() create_key /> })}
        </section>
    }
}

#[component]
fn IssueKey(app: AppDetail, create_key: ServerAction<CreateKey>) -> impl IntoView {
    let error = Signal::derive(move || create_key.value().get().and_then(|r| r.err()));
    let message = move |name: &'static str| move || error.get().and_then(|e| field_error(&e, name));
    let invalid = move |name: &'static str| move || message(name)().is_some().to_string();
    let form = NodeRef::<leptos::html::Form>::new();
    // After a key is issued the form starts over, ready for the next one.
    Effect::new(move |_| {
        if matches!(create_key.value().get(), Some(Ok(_))) {
            #[cfg(feature = "hydrate")]
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
    view! {
        <details class="mt-4 card p-4" id="issue-key-panel" open=true>
            <summary class="cursor-pointer font-semibold">"Issue a key"</summary>
            <ActionForm action=create_key node_ref=form attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="issue-key-form">
                <input type="hidden" name="input[application_id]" value=app.id.clone() />
                <div>
                    <label for="key-name" class="block text-sm font-medium">"Name"</label>
                    <input id="key-name" name="input[name]" class="input mt-1 w-full" required
                        aria-invalid=invalid("name") aria-describedby="key-name-hint key-name-error" />
                    <p id="key-name-hint" class="mt-1 text-xs text-slate-500">"What it is for, e.g. Orders gateway (production)."</p>
                    <p id="key-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
                </div>
                <div>
                    <label for="key-owner" class="block text-sm font-medium">"Owner (email, optional)"</label>
                    <input id="key-owner" name="input[owner]" type="email" class="input mt-1 w-full"
                        aria-invalid=invalid("owner") aria-describedby="key-owner-hint key-owner-error" />
                    <p id="key-owner-hint" class="mt-1 text-xs text-slate-500">"Empty: the application's own key. An email: a personal key of a user assigned to this application."</p>
                    <p id="key-owner-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("owner")}</p>
                </div>
                <fieldset aria-describedby="key-scopes-error" aria-invalid=invalid("scopes")>
                    <legend class="block text-sm font-medium">"Scopes"</legend>
                    {if app.scopes.is_empty() {
                        view! { <p class="mt-1 text-sm">"This application has no scopes; add some under Edit settings first."</p> }.into_any()
                    } else {
                        view! {
                            <div class="mt-2 grid gap-1">
                                {app.scopes.iter().enumerate().map(|(i, s)| view! {
                                    <label class="flex items-center gap-2 text-sm font-mono">
                                        <input type="checkbox" name="input[scopes][]" value=s.clone() id=format!("key-scope-{i}") />
                                        {s.clone()}
                                    </label>
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }}
                    <p id="key-scopes-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("scopes")}</p>
                </fieldset>
                <div>
                    <label for="key-expires" class="block text-sm font-medium">"Expires (optional)"</label>
                    <input id="key-expires" name="input[expires]" type="date" class="input mt-1 w-full"
                        aria-invalid=invalid("expires") aria-describedby="key-expires-hint key-expires-error" />
                    <p id="key-expires-hint" class="mt-1 text-xs text-slate-500">"Valid until the end of that day (UTC). Empty: no expiry."</p>
                    <p id="key-expires-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("expires")}</p>
                </div>
                <div class="sm:col-span-2">
                    {move || general_error(error.get()).map(|e| view! { <div class="mb-3"><ErrorBox error=e /></div> })}
                    <button type="submit" class="btn-primary" id="issue-key" disabled=move || create_key.pending().get()>"Issue key"</button>
                </div>
            </ActionForm>
        </details>
    }
}
