//! The groups assigned to an application, on its page: each member's person may use it for as
//! long as they are a member.
use crate::api::apps::{AssignGroup, UnassignGroup};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::apps::{can, Me};
use crate::app::pages::groups::SourceBadge;
use crate::model::groups::GroupSummary;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn AppGroups(
    app_id: Signal<String>,
    me: Me,
    groups: Resource<Result<Vec<GroupSummary>, AppError>>,
    assign: ServerAction<AssignGroup>,
    unassign: ServerAction<UnassignGroup>,
) -> impl IntoView {
    let assign_error = move || {
        assign
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("group").unwrap_or_else(|| e.to_string()))
    };
    let unassign_error = move || unassign.value().get().and_then(|r| r.err());
    view! {
        <section class="mt-8" aria-labelledby="app-groups-h">
            <h2 id="app-groups-h" class="text-lg font-semibold">"Groups"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"Every member of these groups is assigned, for as long as they are a member."</p>
            {move || unassign_error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
            <Transition fallback=Loading>
                {move || groups.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="mt-2 text-sm" id="app-groups-empty">"No group is assigned."</p> }.into_any(),
                    Ok(list) => {
                        let can_write = can(me, Permission::WriteApps);
                        view! {
                            <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="app-groups">
                                {list.into_iter().map(|g| {
                                    let remove = format!("Unassign the group {}", g.name);
                                    let gid = g.id.clone();
                                    view! {
                                        <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-group=g.id.clone()>
                                            <A href=format!("/groups/{}", g.id) attr:class="link">{g.name.clone()}</A>
                                            <SourceBadge source=g.source.clone() />
                                            <span class="text-sm text-slate-600 dark:text-slate-300">{format!("{} members", g.member_count)}</span>
                                            {can_write.then(move || view! {
                                                <ActionForm action=unassign attr:class="ml-auto">
                                                    <input type="hidden" name="id" value=app_id.get_untracked() />
                                                    <input type="hidden" name="group_id" value=gid />
                                                    <button type="submit" class="btn-ghost" aria-label=remove>"Unassign"</button>
                                                </ActionForm>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                })}
            </Transition>
            <Suspense fallback=|| ()>
                {move || can(me, Permission::WriteApps).then(|| view! {
                    <ActionForm action=assign attr:class="mt-3 flex flex-wrap items-end gap-3" attr:id="assign-group-form">
                        <input type="hidden" name="id" value=app_id />
                        <div class="flex-1 min-w-64">
                            <label for="assign-group" class="block text-sm font-medium">"Assign a group (name or id)"</label>
                            <input id="assign-group" name="group" class="input mt-1 w-full" placeholder="Engineering or grp_..." required
                                aria-invalid=move || assign_error().is_some().to_string() aria-describedby="assign-group-error" />
                            <p id="assign-group-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{assign_error}</p>
                        </div>
                        <button type="submit" class="btn-primary mb-7" id="assign-group-submit">"Assign group"</button>
                    </ActionForm>
                })}
            </Suspense>
        </section>
    }
}
