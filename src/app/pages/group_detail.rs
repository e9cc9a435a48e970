//! One group: its name and description, where it comes from, and its members a page at a time
//! (in name order, `?after=` in the URL). Administrators change console groups here; a group a
//! provisioning source owns is shown read-only with the source named.
use crate::api::groups::{
    get_group, group_members, AddGroupMember, DeleteGroup, RemoveGroupMember, UpdateGroup,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::apps::{can, detail_row, href_with, load_me, Me};
use crate::app::pages::groups::SourceBadge;
use crate::model::groups::{GroupDetail, MemberPage};
use crate::model::time::format_utc;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn GroupPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let after = move || query.read().get("after").unwrap_or_default();
    let me = load_me();
    let update = ServerAction::<UpdateGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let add = ServerAction::<AddGroupMember>::new();
    let remove = ServerAction::<RemoveGroupMember>::new();
    let changes = move || {
        (
            update.version().get(),
            add.version().get(),
            remove.version().get(),
        )
    };
    let group = Resource::new(move || (id(), changes()), |(id, _)| get_group(id));
    let members = Resource::new(
        move || (id(), after(), changes()),
        |(id, after, _)| group_members(id, after),
    );
    let delete_error = move || general_error(delete.value().get().and_then(|r| r.err()));
    view! {
        <Transition fallback=Loading>
            {move || group.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(g) => {
                    let can_write = can(me, Permission::WriteGroups) && g.console_owned();
                    view! {
                        <Title text=g.name.clone() />
                        <div class="flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold" id="group-name">{g.name.clone()}</h1>
                            <SourceBadge source=g.source.clone() />
                            {let gid = g.id.clone(); can_write.then(move || view! {
                                <ActionForm action=delete attr:class="ml-auto">
                                    <input type="hidden" name="id" value=gid />
                                    <ConfirmSubmit label="Delete group" confirm="Confirm: delete this group (its members stay)" id="delete-group".to_string() danger=true />
                                </ActionForm>
                            })}
                        </div>
                        <p class="mt-1 text-sm text-slate-500">
                            "Group id "<span class="font-mono" id="group-id">{g.id.clone()}</span>
                            {let trail = format!("/audit?target_type=group&target_id={}", g.id);
                            can(me, Permission::ReadAudit).then(move || view! {
                                " · "<A href=trail attr:class="link" attr:id="audit-trail">"Audit trail"</A>
                            })}
                        </p>
                        {(!g.console_owned()).then(|| view! {
                            <p class="mt-4 card p-4 text-sm" id="read-only-note">
                                {format!("This group is provisioned by the source {}. It is read-only here: change it at that source.", g.source)}
                            </p>
                        })}
                        {move || delete_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                        <dl class="mt-6 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="group-profile">
                            {detail_row("Description", if g.description.is_empty() { "—".to_string() } else { g.description.clone() })}
                            {detail_row("Members", g.member_count.to_string())}
                            {detail_row("External id", g.external_id.clone().unwrap_or_else(|| "—".into()))}
                            {detail_row("Created", format_utc(g.created_at))}
                            {detail_row("Updated", format_utc(g.updated_at))}
                        </dl>
                        {can_write.then(|| view! { <EditGroup group=g.clone() update /> })}
                        {can_write.then(|| view! { <AddMember group_id=g.id.clone() add /> })}
                    }.into_any()
                }
            })}
        </Transition>
        <Members group_id=Signal::derive(id) me group members remove />
    }
}

#[component]
fn EditGroup(group: GroupDetail, update: ServerAction<UpdateGroup>) -> impl IntoView {
    let error = move || update.value().get().and_then(|r| r.err());
    let name_error = move || error().and_then(|e| field_error(&e, "name"));
    let description_error = move || error().and_then(|e| field_error(&e, "description"));
    view! {
        <details class="mt-6 card p-4" id="edit-group" open=move || error().is_some()>
            <summary class="cursor-pointer font-semibold">"Edit name and description"</summary>
            <ActionForm action=update attr:class="mt-4 grid gap-4">
                <input type="hidden" name="id" value=group.id.clone() />
                <input type="hidden" name="version" value=group.version />
                <div>
                    <label for="edit-group-name" class="block text-sm font-medium">"Name"</label>
                    <input id="edit-group-name" name="input[name]" class="input mt-1 w-full" required maxlength="200" value=group.name.clone()
                        aria-invalid=move || name_error().is_some().to_string() aria-describedby="edit-group-name-error" />
                    <p id="edit-group-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{name_error}</p>
                </div>
                <div>
                    <label for="edit-group-description" class="block text-sm font-medium">"Description"</label>
                    <textarea id="edit-group-description" name="input[description]" class="input mt-1 w-full" rows="2" maxlength="1000"
                        aria-invalid=move || description_error().is_some().to_string() aria-describedby="edit-group-description-error">{group.description.clone()}</textarea>
                    <p id="edit-group-description-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{description_error}</p>
                </div>
                {move || general_error(error()).map(|e| view! { <ErrorBox error=e /> })}
                <p><button type="submit" class="btn-primary" id="save-group">"Save changes"</button></p>
            </ActionForm>
        </details>
    }
}

#[component]
fn AddMember(group_id: String, add: ServerAction<AddGroupMember>) -> impl IntoView {
    let add_error = move || {
        add.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("user").unwrap_or_else(|| e.to_string()))
    };
    view! {
        <ActionForm action=add attr:class="mt-6 flex flex-wrap items-end gap-3" attr:id="add-member-form">
            <input type="hidden" name="id" value=group_id />
            <div class="flex-1 min-w-64">
                <label for="add-member" class="block text-sm font-medium">"Add a member (account email or user id)"</label>
                <input id="add-member" name="user" class="input mt-1 w-full" placeholder="someone@example.com" required
                    aria-invalid=move || add_error().is_some().to_string() aria-describedby="add-member-error" />
                <p id="add-member-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{add_error}</p>
            </div>
            <button type="submit" class="btn-primary mb-7" id="add-member-submit">"Add"</button>
        </ActionForm>
    }
}

#[component]
fn Members(
    group_id: Signal<String>,
    me: Me,
    group: Resource<Result<GroupDetail, AppError>>,
    members: Resource<Result<MemberPage, AppError>>,
    remove: ServerAction<RemoveGroupMember>,
) -> impl IntoView {
    let remove_error = move || remove.value().get().and_then(|r| r.err());
    let writable = move || {
        can(me, Permission::WriteGroups)
            && matches!(group.get(), Some(Ok(ref g)) if g.console_owned())
    };
    view! {
        <section class="mt-8" aria-labelledby="members-h">
            <h2 id="members-h" class="text-lg font-semibold">"Members"</h2>
            {move || remove_error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
            <Transition fallback=Loading>
                {move || members.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(p) if p.members.is_empty() => view! {
                        <p class="mt-2 text-sm" id="members-empty">"No members yet."</p>
                    }.into_any(),
                    Ok(p) => {
                        let can_remove = writable();
                        let next = p.next.clone().map(|after| {
                            href_with(&format!("/groups/{}", group_id.get_untracked()), &[("after", &after)])
                        });
                        view! {
                            <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="members">
                                {p.members.into_iter().map(|m| {
                                    let remove_label = format!("Remove {} from the group", m.display_name);
                                    let user_id = m.user_id.clone();
                                    view! {
                                        <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-user=m.user_id.clone()>
                                            <A href=format!("/users/{}", m.user_id) attr:class="link">{m.display_name.clone()}</A>
                                            <span class="text-sm text-slate-600 dark:text-slate-300">{m.email.clone()}</span>
                                            <span class="badge" data-status=m.status.clone()>{m.status.clone()}</span>
                                            <span class="text-xs text-slate-500">"added "{format_utc(m.added_at)}</span>
                                            {can_remove.then(move || view! {
                                                <ActionForm action=remove attr:class="ml-auto">
                                                    <input type="hidden" name="id" value=group_id.get_untracked() />
                                                    <input type="hidden" name="user_id" value=user_id />
                                                    <button type="submit" class="btn-ghost" aria-label=remove_label>"Remove"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {next.map(|href| view! {
                                <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="members-next">"Next page of members"</A></p>
                            })}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
