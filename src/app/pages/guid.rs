//! A person: the GUID's profile, every linked account, possible duplicates, merging another
//! GUID into this one after comparing both sides field by field, and signing the person out or
//! revoking them everywhere (`revocation.rs`).
use crate::api::apps::apps_of_person;
use crate::api::session::current_principal;
use crate::api::users::{duplicates_of_guid, get_guid, MergeGuids};
use crate::app::components::{CopyButton, ErrorBox, Loading};
use crate::app::pages::apps::AppTable;
use crate::app::pages::groups::MembershipList;
use crate::app::pages::users::UserTable;
use crate::model::time::format_utc;
use crate::model::users::{GuidView, PersonProfile};
use crate::model::Permission;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn GuidPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let merge = ServerAction::<MergeGuids>::new();
    let (reloads, set_reloads) = signal(0u32);
    Effect::new(move |_| {
        if matches!(merge.value().get(), Some(Ok(_))) {
            set_reloads.update(|n| *n += 1);
        }
    });
    let guid = Resource::new(move || (id(), reloads.get()), |(id, _)| get_guid(id));
    let dupes = Resource::new(
        move || (id(), reloads.get()),
        |(id, _)| duplicates_of_guid(id),
    );
    let me = Resource::new(|| (), |_| current_principal());
    let can_write =
        move || matches!(me.get(), Some(Ok(Some(ref m))) if m.can(Permission::WriteUsers));
    let can_audit =
        move || matches!(me.get(), Some(Ok(Some(ref m))) if m.can(Permission::ReadAudit));
    let can_apps = move || matches!(me.get(), Some(Ok(Some(ref m))) if m.can(Permission::ReadApps));
    let can_groups =
        move || matches!(me.get(), Some(Ok(Some(ref m))) if m.can(Permission::ReadGroups));
    // The GUID to compare with: from "Compare" on a duplicate, from ?merge=, or typed.
    let compare = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(m) = query.read().get("merge") {
            compare.set(m);
        }
    });
    view! {
        <Title text="Person" />
        <Suspense fallback=Loading>
            {move || guid.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(g) => {
                    let survivor = g.clone();
                    view! {
                        <h1 class="text-2xl font-semibold" id="person-name">{g.profile.display_name.clone().unwrap_or_else(|| "Person".into())}</h1>
                        <p class="mt-1 font-mono text-sm"><span class="select-all" id="guid-id">{g.guid.clone()}</span><CopyButton what="GUID" value=g.guid.clone() id="copy-guid" /></p>
                        <p class="text-sm text-slate-500">"Since "{format_utc(g.created_at)}
                            {let gid = g.guid.clone(); move || can_audit().then(|| view! {
                                " · "<A href=format!("/audit?target_type=guid&target_id={gid}") attr:class="link">"Audit trail"</A>
                            })}
                        </p>
                        {(g.guid != id()).then(|| view! {
                            <p class="mt-2 rounded-md bg-amber-50 p-3 text-amber-900 dark:bg-amber-950 dark:text-amber-100" role="status" id="resolved-note">
                                {format!("{} was merged into this GUID.", id())}
                            </p>
                        })}
                        <ProfileCard profile=g.profile.clone() />
                        <h2 class="mt-6 text-lg font-semibold">"Linked accounts"</h2>
                        {if g.accounts.is_empty() {
                            view! { <p class="mt-2">"No accounts are linked to this GUID."</p> }.into_any()
                        } else {
                            view! { <div class="mt-2 card overflow-x-auto"><UserTable users=g.accounts.clone() /></div> }.into_any()
                        }}
                        {(!g.absorbed.is_empty()).then(|| view! {
                            <p class="mt-4 text-sm">"Merged into this GUID: "<span class="font-mono">{g.absorbed.join(", ")}</span></p>
                        })}
                        {let gid = g.guid.clone(); move || can_apps().then(|| view! { <PersonApps guid=gid.clone() /> })}
                        {let gid = g.guid.clone(); move || can_apps().then(|| view! { <crate::app::pages::app_provisioning::PersonAccounts guid=gid.clone() /> })}
                        {let gid = g.guid.clone(); move || can_groups().then(|| view! { <MembershipList guid=gid.clone() /> })}
                        <crate::app::pages::revocation::PersonRevocationsPanel guid=g.guid.clone() />
                        {move || can_write().then(|| view! { <MergePanel survivor=survivor.clone() compare=compare merge=merge /> })}
                    }.into_any()
                }
            })}
        </Suspense>
        <PersonSecurity guid=Signal::derive(id) />
        <section class="mt-8" aria-labelledby="dupes-h">
            <h2 id="dupes-h" class="text-lg font-semibold">"Possible duplicates"</h2>
            <Suspense fallback=Loading>
                {move || dupes.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="no-duplicates">"No other person shares a phone, a verified mailbox or an external id with these accounts."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="duplicates">
                            {list.into_iter().map(|c| {
                                let other = c.other_guid.clone();
                                view! {
                                    <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-guid=c.other_guid.clone()>
                                        <A href=format!("/guids/{}", c.other_guid) attr:class="link">{c.other_display_name.clone()}</A>
                                        <span class="text-sm text-slate-600 dark:text-slate-300">{format!("{}: {}", c.reason.label(), c.evidence)}</span>
                                        {move || can_write().then(|| { let other = other.clone(); view! {
                                            <button type="button" class="btn-ghost ml-auto" on:click=move |_| compare.set(other.clone())>"Compare and merge"</button>
                                        }})}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// "Orders: directly and through the group Engineering".
fn assigned_because(p: &crate::model::apps::PersonApp) -> String {
    let mut reasons = Vec::new();
    if p.direct {
        reasons.push("directly".to_string());
    }
    for (_, name) in &p.through_groups {
        reasons.push(format!("through the group {name}"));
    }
    format!("{}: assigned {}", p.app.name, reasons.join(" and "))
}

/// The applications this person is assigned to, and why.
#[component]
fn PersonApps(guid: String) -> impl IntoView {
    let apps = Resource::new(move || guid.clone(), apps_of_person);
    view! {
        <section class="mt-8" aria-labelledby="person-apps-h">
            <h2 id="person-apps-h" class="text-lg font-semibold">"Applications"</h2>
            <Suspense fallback=Loading>
                {move || apps.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-2 text-sm" id="person-apps-empty">"This person is not assigned to any application. Assign people from an application's page."</p>
                    }.into_any(),
                    Ok(list) => {
                        let why: Vec<(String, String)> = list.iter().map(|p| (p.app.id.clone(), assigned_because(p))).collect();
                        view! {
                            <div class="mt-2 card overflow-x-auto" id="person-apps"><AppTable apps=list.into_iter().map(|p| p.app).collect() /></div>
                            <ul class="mt-2 text-sm text-slate-600 dark:text-slate-300" id="person-apps-why">
                                {why.into_iter().map(|(id, reason)| view! { <li data-app=id>{reason}</li> }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ProfileCard(profile: PersonProfile) -> impl IntoView {
    view! {
        <dl class="mt-4 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="person-profile">
            {PersonProfile::FIELDS.into_iter().map(|(field, label)| view! {
                <div class="py-2 sm:grid sm:grid-cols-3 sm:gap-4">
                    <dt class="text-sm text-slate-500 dark:text-slate-400">{label}</dt>
                    <dd class="sm:col-span-2 break-all" data-field=field>{profile.get(field).unwrap_or("—").to_string()}</dd>
                </div>
            }).collect_view()}
        </dl>
    }
}

/// Pick the other GUID, see both sides, choose the winner of each conflicting field, merge.
#[component]
fn MergePanel(
    survivor: GuidView,
    compare: RwSignal<String>,
    merge: ServerAction<MergeGuids>,
) -> impl IntoView {
    let other = Resource::new(
        move || compare.get(),
        |id| async move {
            if id.trim().is_empty() {
                None
            } else {
                Some(get_guid(id.trim().to_string()).await)
            }
        },
    );
    let typed = RwSignal::new(String::new());
    view! {
        <section class="mt-8 card p-4" aria-labelledby="merge-h" id="merge-panel">
            <h2 id="merge-h" class="font-semibold">"Merge another GUID into this person"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                "Every account of the other GUID moves here and the other GUID then resolves to this one. For each field the two sides disagree on, choose the value to keep. The audit log records both sides, so a merge can be undone by hand."
            </p>
            <form class="mt-3 flex flex-wrap items-end gap-3" on:submit=move |ev| { ev.prevent_default(); compare.set(typed.get_untracked()); }>
                <label class="flex-1 min-w-64">
                    <span class="block text-sm font-medium">"GUID to compare"</span>
                    <input id="merge-absorbed" class="input mt-1 w-full font-mono" placeholder="g_..." required
                        prop:value=move || compare.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id="compare">"Compare"</button>
            </form>
            <Suspense fallback=Loading>
                {move || other.get().flatten().map(|r| match r {
                    Err(e) => view! { <div class="mt-3"><ErrorBox error=e /></div> }.into_any(),
                    Ok(o) if o.guid == survivor.guid => view! {
                        <p class="mt-3" role="status">"That GUID is already this person."</p>
                    }.into_any(),
                    Ok(o) => view! { <Comparison survivor=survivor.clone() absorbed=o merge=merge /> }.into_any(),
                })}
            </Suspense>
            {move || merge.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
        </section>
    }
}

#[component]
fn Comparison(
    survivor: GuidView,
    absorbed: GuidView,
    merge: ServerAction<MergeGuids>,
) -> impl IntoView {
    let conflicts = survivor.profile.conflicts(&absorbed.profile);
    view! {
        <ActionForm action=merge attr:class="mt-4" attr:id="merge-form">
            <input type="hidden" name="survivor" value=survivor.guid.clone() />
            <input type="hidden" name="absorbed" value=absorbed.guid.clone() />
            <table class="w-full text-left text-sm" id="merge-compare">
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Field"</th>
                        <th scope="col" class="px-3 py-2">"This person (stays)"</th>
                        <th scope="col" class="px-3 py-2">{format!("{} (absorbed)", absorbed.guid)}</th>
                    </tr>
                </thead>
                <tbody>
                    {PersonProfile::FIELDS.into_iter().map(|(field, label)| {
                        let (s, a) = (survivor.profile.get(field).map(str::to_string), absorbed.profile.get(field).map(str::to_string));
                        let conflict = conflicts.contains(&field);
                        let name = format!("choices[{field}]");
                        let cell = move |side: &'static str, value: Option<String>, checked: bool| {
                            let text = value.unwrap_or_else(|| "—".into());
                            if conflict {
                                view! {
                                    <label class="flex items-center gap-2">
                                        <input type="radio" name=name.clone() value=side checked=checked id=format!("keep-{field}-{side}") />
                                        <span class="break-all">{text}</span>
                                    </label>
                                }.into_any()
                            } else {
                                view! { <span class="break-all">{text}</span> }.into_any()
                            }
                        };
                        view! {
                            <tr class="border-t border-slate-200 dark:border-slate-800" data-field=field data-conflict=conflict.to_string()>
                                <th scope="row" class="px-3 py-2 font-medium">{label}{conflict.then(|| view! { <span class="badge badge-warn ml-2">"differs"</span> })}</th>
                                <td class="px-3 py-2">{cell("survivor", s, true)}</td>
                                <td class="px-3 py-2">{cell("absorbed", a, false)}</td>
                            </tr>
                        }
                    }).collect_view()}
                    <tr class="border-t border-slate-200 dark:border-slate-800">
                        <th scope="row" class="px-3 py-2 font-medium">"Accounts"</th>
                        <td class="px-3 py-2">{survivor.accounts.len()}</td>
                        <td class="px-3 py-2">{absorbed.accounts.iter().map(|a| format!("{} ({})", a.email, a.source)).collect::<Vec<_>>().join(", ")}</td>
                    </tr>
                </tbody>
            </table>
            <button type="submit" class="btn-primary mt-4" id="merge">"Merge into this person"</button>
        </ActionForm>
    }
}

/// Every MFA factor and device of every account of this person.
#[component]
fn PersonSecurity(guid: Signal<String>) -> impl IntoView {
    use crate::api::support::{devices_of_guid, factors_of_guid};
    use crate::app::pages::devices::DeviceTable;
    use crate::app::pages::support::FactorTable;
    let (reloads, set_reloads) = signal(0u32);
    let on_change = Callback::new(move |_: ()| set_reloads.update(|n| *n += 1));
    let factors = Resource::new(move || guid.get(), factors_of_guid);
    let devices = Resource::new(
        move || (guid.get(), reloads.get()),
        |(g, _)| devices_of_guid(g),
    );
    let me = Resource::new(|| (), |_| current_principal());
    view! {
        <section class="mt-8" aria-labelledby="person-factors-h">
            <h2 id="person-factors-h" class="text-lg font-semibold">"MFA factors"</h2>
            <Suspense fallback=Loading>
                {move || factors.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) => view! { <FactorTable factors=list show_owner=true /> }.into_any(),
                })}
            </Suspense>
        </section>
        <section class="mt-8" aria-labelledby="person-devices-h">
            <h2 id="person-devices-h" class="text-lg font-semibold">"Devices"</h2>
            <Suspense fallback=Loading>
                {move || devices.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm">"No devices registered."</p> }.into_any(),
                    Ok(list) => {
                        let principal = me.get().and_then(|r| r.ok()).flatten();
                        view! { <div class="mt-2 card overflow-x-auto"><DeviceTable devices=list principal=principal on_change=on_change show_owner=true /></div> }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}
