//! One user: profile, status actions, edit, linked accounts through the GUID, recent audit trail.
use crate::api::apps::keys_of_user;
use crate::api::session::current_principal;
use crate::api::users::{
    get_guid, get_user, user_audit_trail, RelinkUser, SetUserStatus, UnlockUser, UpdateUser,
};
use crate::app::components::{CopyButton, ErrorBox, Loading};
use crate::app::pages::audit::EventRows;
use crate::app::pages::groups::MembershipList;
use crate::app::pages::support::UserSecurity;
use crate::app::pages::user_form::UserFields;
use crate::app::pages::users::{StatusBadge, UserTable};
use crate::model::time::format_utc;
use crate::model::users::{UserDetail, UserInput, UserStatus};
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateUser>::new();
    let set_status = ServerAction::<SetUserStatus>::new();
    let unlock = ServerAction::<UnlockUser>::new();
    let relink = ServerAction::<RelinkUser>::new();
    // A successful action reloads the user; a failed one keeps the form as typed.
    let (reloads, set_reloads) = signal(0u32);
    let bump = move || set_reloads.update(|n| *n += 1);
    Effect::new(move |_| {
        if matches!(update.value().get(), Some(Ok(_))) {
            bump()
        }
    });
    Effect::new(move |_| {
        if matches!(set_status.value().get(), Some(Ok(_))) {
            bump()
        }
    });
    Effect::new(move |_| {
        if matches!(unlock.value().get(), Some(Ok(_))) {
            bump()
        }
    });
    Effect::new(move |_| {
        if matches!(relink.value().get(), Some(Ok(_))) {
            bump()
        }
    });
    // Bumped by the security section (factors, devices, MFA reset) after its own changes.
    let security = RwSignal::new(0u32);
    let user = Resource::new(move || (id(), reloads.get()), |(id, _)| get_user(id));
    let trail = Resource::new(
        move || (id(), reloads.get(), security.get()),
        |(id, _, _)| user_audit_trail(id),
    );
    let me = Resource::new(|| (), |_| current_principal());
    let can = move |p: Permission| matches!(me.get(), Some(Ok(Some(ref m))) if m.can(p));
    let action_error = move || {
        [
            set_status.value().get(),
            unlock.value().get(),
            relink.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(|r| r.err())
    };
    view! {
        <Suspense fallback=Loading>
            {move || user.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(u) => {
                    let u2 = u.clone();
                    let u3 = u.clone();
                    let guid = u.guid.clone();
                    view! {
                        <Title text=u.display_name.clone() />
                        <div class="flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold" id="user-name">{u.display_name.clone()}</h1>
                            <StatusBadge status=u.status />
                        </div>
                        <Profile user=u.clone() />
                        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                        <section class="mt-6" aria-labelledby="actions-h">
                            <h2 id="actions-h" class="text-lg font-semibold">"Actions"</h2>
                            <div class="mt-2 flex flex-wrap gap-2">
                                {move || can(Permission::WriteUsers).then(|| status_buttons(u2.clone(), set_status))}
                                {move || {
                                    let (uid, uver) = (u3.id.clone(), u3.version);
                                    (can(Permission::UnlockUsers) && !can(Permission::WriteUsers) && u3.status == UserStatus::Locked).then(move || view! {
                                    <ActionForm action=unlock>
                                        <input type="hidden" name="id" value=uid />
                                        <input type="hidden" name="version" value=uver />
                                        <button type="submit" class="btn-primary" id="unlock">"Unlock"</button>
                                    </ActionForm>
                                })}}
                            </div>
                        </section>
                        {let u4 = u.clone(); move || can(Permission::WriteUsers).then(|| view! {
                            <EditUser user=u4.clone() update=update />
                            <RelinkForm user_id=u4.id.clone() relink=relink />
                        })}
                        <UserSecurity user_id=u.id.clone() email=u.email.clone() reloads=security />
                        <LinkedAccounts guid=guid.clone() />
                        {let uid = u.id.clone(); move || can(Permission::ReadApps).then(|| view! { <PersonalKeys user_id=uid.clone() /> })}
                        {let uid = u.id.clone(); move || can(Permission::ReadGroups).then(|| view! { <MembershipList user_id=uid.clone() /> })}
                    }.into_any()
                }
            })}
        </Suspense>
        <section class="mt-8" aria-labelledby="trail-h">
            <div class="flex items-center gap-3">
                <h2 id="trail-h" class="text-lg font-semibold">"Recent audit trail"</h2>
                {move || (!can(Permission::ReadAudit)).then(|| view! {
                    <span class="text-sm text-slate-500 dark:text-slate-400" id="trail-scope">"(your own actions on this user)"</span>
                })}
                {move || can(Permission::ReadAudit).then(|| view! {
                    <A href=format!("/audit?target_type=user&target_id={}", id()) attr:class="link text-sm" attr:id="full-trail">"Full audit trail"</A>
                })}
            </div>
            <Suspense fallback=Loading>
                {move || trail.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(events) if events.is_empty() => view! { <p class="mt-2 text-sm">"No changes recorded yet."</p> }.into_any(),
                    Ok(events) => view! { <div class="mt-2 card overflow-x-auto"><EventRows events=events /></div> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Profile(user: UserDetail) -> impl IntoView {
    let row = |label: &'static str, value: String| {
        view! {
            <div class="py-2 sm:grid sm:grid-cols-3 sm:gap-4">
                <dt class="text-sm text-slate-500 dark:text-slate-400">{label}</dt>
                <dd class="sm:col-span-2 break-all">{value}</dd>
            </div>
        }
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let guid_copy = user.guid.clone();
    view! {
        <dl class="mt-4 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="profile">
            {row("Email", user.email.clone())}
            {row("Given name", opt(&user.given_name))}
            {row("Family name", opt(&user.family_name))}
            {row("Phone", opt(&user.phone))}
            {row("Source", format!("{} {}", user.source, user.external_id.clone().unwrap_or_default()))}
            <div class="py-2 sm:grid sm:grid-cols-3 sm:gap-4">
                <dt class="text-sm text-slate-500 dark:text-slate-400">"User id"</dt>
                <dd class="sm:col-span-2 break-all"><span class="select-all" id="user-id">{user.id.clone()}</span><CopyButton what="user id" value=user.id.clone() id="copy-user-id" /></dd>
            </div>
            {row("Attributes", user.attributes.clone())}
            {row("Created", format_utc(user.created_at))}
            {row("Updated", format_utc(user.updated_at))}
            {user.restorable_until.map(|t| row("Restorable until", format!("{} (then purged)", format_utc(t))))}
            {row("Last sign-in", if user.last_sign_in_at == 0 { "never".into() } else { format_utc(user.last_sign_in_at) })}
            <div class="py-2 sm:grid sm:grid-cols-3 sm:gap-4">
                <dt class="text-sm text-slate-500 dark:text-slate-400">"GUID"</dt>
                <dd class="sm:col-span-2 font-mono text-sm"><A href=format!("/guids/{}", user.guid) attr:class="link" attr:id="guid-link">{user.guid.clone()}</A><CopyButton what="GUID" value=guid_copy /></dd>
            </div>
        </dl>
    }
}

fn status_buttons(u: UserDetail, action: ServerAction<SetUserStatus>) -> impl IntoView {
    let current = u.status;
    let label = move |s: UserStatus| match s {
        UserStatus::Active if current == UserStatus::Locked => "Unlock",
        UserStatus::Active if current == UserStatus::Deprovisioned => "Restore",
        UserStatus::Active => "Activate",
        UserStatus::Suspended => "Suspend",
        UserStatus::Locked => "Lock",
        UserStatus::Deprovisioned => "Deprovision",
        UserStatus::Staged => "Stage",
    };
    UserStatus::ALL
        .into_iter()
        .filter(|to| current.transition_to(*to).is_ok())
        .map(|to| {
            let (id, version, text) = (u.id.clone(), u.version, label(to));
            view! {
                <ActionForm action=action>
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="status" value=to.as_str() />
                    <input type="hidden" name="version" value=version />
                    <button type="submit" class="btn-ghost border border-slate-300 dark:border-slate-700" id=format!("status-{}", to.as_str())>
                        {text}
                    </button>
                </ActionForm>
            }
        })
        .collect_view()
}

#[component]
fn EditUser(user: UserDetail, update: ServerAction<UpdateUser>) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(|r| r.err()));
    let conflict = move || {
        error.get().filter(|e| {
            matches!(
                e,
                AppError::Conflict(_) | AppError::NotFound(_) | AppError::Internal
            )
        })
    };
    let initial = UserInput {
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        given_name: user.given_name.clone().unwrap_or_default(),
        family_name: user.family_name.clone().unwrap_or_default(),
        phone: user.phone.clone().unwrap_or_default(),
        source: user.source.clone(),
        external_id: user.external_id.clone().unwrap_or_default(),
        attributes: user.attributes.clone(),
    };
    view! {
        <details class="mt-6 card p-4" id="edit-user" open=move || error.get().is_some()>
            <summary class="cursor-pointer font-semibold">"Edit profile"</summary>
            <ActionForm action=update attr:class="mt-4">
                <input type="hidden" name="id" value=user.id.clone() />
                <input type="hidden" name="version" value=user.version />
                <UserFields initial=initial error=error />
                {move || conflict().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                <button type="submit" class="btn-primary mt-4" id="save-user">"Save changes"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn RelinkForm(user_id: String, relink: ServerAction<RelinkUser>) -> impl IntoView {
    let id2 = user_id.clone();
    view! {
        <details class="mt-4 card p-4">
            <summary class="cursor-pointer font-semibold">"Link to another person (GUID)"</summary>
            <ActionForm action=relink attr:class="mt-4 flex flex-wrap items-end gap-3">
                <input type="hidden" name="id" value=user_id />
                <label class="flex-1 min-w-64">
                    <span class="block text-sm font-medium">"GUID to link this account to"</span>
                    <input name="guid" id="relink-guid" class="input mt-1 w-full font-mono" placeholder="g_..." required />
                </label>
                <button type="submit" class="btn-primary" id="relink">"Link"</button>
            </ActionForm>
            <ActionForm action=relink attr:class="mt-3">
                <input type="hidden" name="id" value=id2 />
                <button type="submit" class="btn-ghost" id="unlink">"Unlink into a new GUID"</button>
            </ActionForm>
        </details>
    }
}

#[component]
fn LinkedAccounts(guid: String) -> impl IntoView {
    let view_res = Resource::new(move || guid.clone(), get_guid);
    view! {
        <section class="mt-8" aria-labelledby="linked-h">
            <h2 id="linked-h" class="text-lg font-semibold">"Accounts of this person"</h2>
            <Suspense fallback=Loading>
                {move || view_res.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(g) => view! { <div class="mt-2 card overflow-x-auto"><UserTable users=g.accounts /></div> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The user's personal API keys (read-only here; they are managed on each key's page).
#[component]
fn PersonalKeys(user_id: String) -> impl IntoView {
    use crate::app::pages::keys::{expires, KeyStatusBadge};
    let keys = Resource::new(move || user_id.clone(), keys_of_user);
    view! {
        <section class="mt-8" aria-labelledby="personal-keys-h">
            <h2 id="personal-keys-h" class="text-lg font-semibold">"Personal API keys"</h2>
            <Suspense fallback=Loading>
                {move || keys.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="personal-keys-empty">"No personal keys."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="personal-keys">
                            {list.into_iter().map(|k| view! {
                                <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-key=k.id.clone()>
                                    <A href=format!("/keys/{}", k.id) attr:class="link font-mono text-sm">{k.prefix.clone()}</A>
                                    <span>{k.name.clone()}</span>
                                    <A href=format!("/apps/{}", k.application_id) attr:class="link text-sm">{k.application_name.clone()}</A>
                                    <span class="text-xs text-slate-500">"expires "{expires(k.expires_at)}</span>
                                    <KeyStatusBadge status=k.status />
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
