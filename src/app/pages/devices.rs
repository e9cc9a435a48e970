//! Devices: every device of every person, with filters in the URL and keyset pages; the device
//! table (also on the user and person pages) with the actions the signed-in role may take; and
//! the bulk block of devices not seen for a while.
use crate::api::session::current_principal;
use crate::api::support::{
    list_devices, BlockDevice, BulkBlockDevices, RemoveDevice, TrustDevice, UntrustDevice,
};
use crate::app::components::{ErrorBox, JobProgress, Loading};
use crate::app::pages::users::encode;
use crate::model::support::{Device, DeviceQuery, TrustState, PLATFORMS};
use crate::model::time::format_utc;
use crate::model::{AppError, Permission, Principal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

pub fn devices_href(q: &DeviceQuery) -> String {
    let parts: Vec<String> = [
        ("owner", &q.owner),
        ("device", &q.device),
        ("state", &q.state),
        ("platform", &q.platform),
        ("stale_days", &q.stale_days),
        ("after", &q.after),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect();
    if parts.is_empty() {
        "/devices".into()
    } else {
        format!("/devices?{}", parts.join("&"))
    }
}

#[component]
pub fn Devices() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        DeviceQuery {
            owner: p.get("owner").unwrap_or_default(),
            device: p.get("device").unwrap_or_default(),
            state: p.get("state").unwrap_or_default(),
            platform: p.get("platform").unwrap_or_default(),
            stale_days: p.get("stale_days").unwrap_or_default(),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let (reloads, set_reloads) = signal(0u32);
    let reload = Callback::new(move |_: ()| set_reloads.update(|n| *n += 1));
    let page = Resource::new(
        move || (query.get(), reloads.get()),
        |(q, _)| list_devices(q),
    );
    let me = Resource::new(|| (), |_| current_principal());
    let principal = move || me.get().and_then(|r| r.ok()).flatten();
    let navigate = use_navigate();
    let go = move |change: &dyn Fn(&mut DeviceQuery)| {
        let mut q = query.get_untracked();
        change(&mut q);
        q.after.clear();
        navigate(
            &devices_href(&q),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let (go1, go2, go3, go4) = (go.clone(), go.clone(), go.clone(), go.clone());
    view! {
        <Title text="Devices" />
        <h1 class="text-2xl font-semibold">"Devices"</h1>
        <form class="mt-4 flex flex-wrap items-end gap-3" role="search" aria-label="Filter devices" on:submit=|ev| ev.prevent_default()>
            <label class="flex-1 min-w-56">
                <span class="block text-sm font-medium">"Owner (email or user id)"</span>
                <input id="device-owner" type="search" class="input mt-1 w-full" autocomplete="off"
                    value=move || query.get().owner
                    on:change=move |ev| { let v = event_target_value(&ev); go1(&move |q: &mut DeviceQuery| q.owner = v.trim().to_string()); } />
            </label>
            <label>
                <span class="block text-sm font-medium">"Trust"</span>
                <select id="device-state" class="input mt-1" on:change=move |ev| { let v = event_target_value(&ev); go2(&move |q: &mut DeviceQuery| q.state = v.clone()); }>
                    <option value="" selected=move || query.get().state.is_empty()>"Any"</option>
                    {TrustState::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.get().state == s.as_str()>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                <span class="block text-sm font-medium">"Platform"</span>
                <select id="device-platform" class="input mt-1" on:change=move |ev| { let v = event_target_value(&ev); go3(&move |q: &mut DeviceQuery| q.platform = v.clone()); }>
                    <option value="" selected=move || query.get().platform.is_empty()>"Any"</option>
                    {PLATFORMS.into_iter().map(|p| view! {
                        <option value=p selected=move || query.get().platform == p>{p}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                <span class="block text-sm font-medium">"Not seen for (days)"</span>
                <input id="device-stale" type="number" min="1" max="3650" class="input mt-1 w-32"
                    value=move || query.get().stale_days
                    on:change=move |ev| { let v = event_target_value(&ev); go4(&move |q: &mut DeviceQuery| q.stale_days = v.trim().to_string()); } />
            </label>
        </form>
        {move || principal().filter(|p| p.can(Permission::ManageDevices)).map(|_| view! { <BulkBlock on_done=reload /> })}
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.devices.is_empty() => view! {
                    <div class="mt-6 card p-6" id="devices-empty">
                        <p>"No device matches these filters."</p>
                        <p class="mt-2"><a class="link" href="/devices">"Clear the filters"</a></p>
                    </div>
                }.into_any(),
                Ok(p) => {
                    let next = p.next.clone().map(|after| devices_href(&DeviceQuery { after, ..query.get_untracked() }));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <DeviceTable devices=p.devices principal=principal() on_change=reload show_owner=true />
                        </div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="devices-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
pub fn TrustBadge(state: TrustState) -> impl IntoView {
    let class = match state {
        TrustState::Trusted => "badge badge-ok",
        TrustState::Untrusted => "badge badge-warn",
        TrustState::Blocked => "badge badge-bad",
    };
    view! { <span class=class data-trust=state.as_str()>{state.label()}</span> }
}

/// Devices as a table, each row with the actions the principal may take.
#[component]
pub fn DeviceTable(
    devices: Vec<Device>,
    principal: Option<Principal>,
    on_change: Callback<()>,
    #[prop(optional)] show_owner: bool,
) -> impl IntoView {
    let trust = ServerAction::<TrustDevice>::new();
    let untrust = ServerAction::<UntrustDevice>::new();
    let block = ServerAction::<BlockDevice>::new();
    let remove = ServerAction::<RemoveDevice>::new();
    // Any success reloads the list; the last failure is shown.
    Effect::new(move |_| {
        let ok = [
            trust.value().get().map(|r| r.is_ok()),
            untrust.value().get().map(|r| r.is_ok()),
            block.value().get().map(|r| r.is_ok()),
        ]
        .into_iter()
        .flatten()
        .any(|ok| ok)
            || matches!(remove.value().get(), Some(Ok(())));
        if ok {
            on_change.run(());
        }
    });
    let error = move || -> Option<AppError> {
        [
            trust.value().get().and_then(|r| r.err()),
            untrust.value().get().and_then(|r| r.err()),
            block.value().get().and_then(|r| r.err()),
            remove.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    let can = move |p: Permission| principal.as_ref().is_some_and(|m| m.can(p));
    let (can_manage, can_untrust, can_audit) = (
        can(Permission::ManageDevices),
        can(Permission::UntrustDevices),
        can(Permission::ReadAudit),
    );
    view! {
        {move || error().map(|e| view! { <div class="m-3"><ErrorBox error=e /></div> })}
        <table class="w-full text-left text-sm" id="devices-table">
            <caption class="sr-only">"Devices"</caption>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Device"</th>
                    {show_owner.then(|| view! { <th scope="col" class="px-3 py-2">"Owner"</th> })}
                    <th scope="col" class="px-3 py-2">"Platform"</th>
                    <th scope="col" class="px-3 py-2">"Trust"</th>
                    <th scope="col" class="px-3 py-2">"First seen"</th>
                    <th scope="col" class="px-3 py-2">"Last seen"</th>
                    <th scope="col" class="px-3 py-2">"Last IP"</th>
                    <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {devices.into_iter().map(|d| {
                    let state = d.trust_state;
                    let button = |label: &'static str, action: &'static str, id: String, name: String| {
                        view! {
                            <input type="hidden" name="id" value=id />
                            <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" data-action=action
                                aria-label=format!("{label} {name}")>{label}</button>
                        }
                    };
                    view! {
                        <tr class="border-t border-slate-200 dark:border-slate-800" data-device=d.id.clone() data-trust=state.as_str()>
                            <td class="px-3 py-2">
                                <span class="font-medium">{d.name.clone()}</span>
                                <span class="block text-xs text-slate-500 dark:text-slate-400">{d.kind.as_str()}" · "<span class="font-mono">{d.fingerprint.clone()}</span></span>
                                {can_audit.then(|| view! {
                                    <A href=format!("/audit?target_type=device&target_id={}", d.id) attr:class="link text-xs" attr:data-audit-trail=d.id.clone()
                                        attr:aria-label=format!("Audit trail of {}", d.name)>"Audit trail"</A>
                                })}
                            </td>
                            {show_owner.then(|| view! {
                                <td class="px-3 py-2"><A href=format!("/users/{}", d.owner_user_id) attr:class="link">{d.owner_email.clone()}</A></td>
                            })}
                            <td class="px-3 py-2">{format!("{} {}", d.platform, d.os_version)}</td>
                            <td class="px-3 py-2"><TrustBadge state=state />{d.remembered.then(|| view! { <span class="ml-1 text-xs text-slate-500">"remembered"</span> })}</td>
                            <td class="px-3 py-2 whitespace-nowrap">{format_utc(d.first_seen_at)}</td>
                            <td class="px-3 py-2 whitespace-nowrap">{format_utc(d.last_seen_at)}</td>
                            <td class="px-3 py-2 font-mono text-xs">{d.last_ip.clone().unwrap_or_default()}</td>
                            <td class="px-3 py-2">
                                <div class="flex flex-wrap gap-1">
                                    {(can_manage && state != TrustState::Trusted).then({ let (i, n) = (d.id.clone(), d.name.clone()); move || view! { <ActionForm action=trust>{button("Trust", "trust", i, n)}</ActionForm> } })}
                                    {(can_untrust && state == TrustState::Trusted).then({ let (i, n) = (d.id.clone(), d.name.clone()); move || view! { <ActionForm action=untrust>{button("Untrust", "untrust", i, n)}</ActionForm> } })}
                                    {(can_manage && state != TrustState::Blocked).then({ let (i, n) = (d.id.clone(), d.name.clone()); move || view! { <ActionForm action=block>{button("Block", "block", i, n)}</ActionForm> } })}
                                    {can_manage.then({ let (i, n) = (d.id.clone(), d.name.clone()); move || view! { <ActionForm action=remove>{button("Remove", "remove", i, n)}</ActionForm> } })}
                                </div>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Blocks every device not seen for N days, as a job with progress.
#[component]
fn BulkBlock(on_done: Callback<()>) -> impl IntoView {
    let start = ServerAction::<BulkBlockDevices>::new();
    let finished = Callback::new(move |_| on_done.run(()));
    view! {
        <details class="mt-4 card p-4" id="bulk-block">
            <summary class="cursor-pointer font-semibold">"Block devices not seen for a while"</summary>
            <ActionForm action=start attr:class="mt-3 flex flex-wrap items-end gap-3">
                <label>
                    <span class="block text-sm font-medium">"Not seen for at least (days)"</span>
                    <input name="days" id="bulk-block-days" type="number" min="1" max="3650" value="90" class="input mt-1 w-32" required />
                </label>
                <button type="submit" class="btn-primary" id="bulk-block-start">"Block them"</button>
            </ActionForm>
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">"Blocked devices stay listed for the record; each block is audited."</p>
            {move || start.value().get().map(|r| match r {
                Err(e) => view! { <div class="mt-3"><ErrorBox error=e /></div> }.into_any(),
                Ok(job) => view! { <div class="mt-3" id="bulk-block-job"><JobProgress id=job on_finished=finished /></div> }.into_any(),
            })}
        </details>
    }
}
