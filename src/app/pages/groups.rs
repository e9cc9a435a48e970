//! Groups: the list (search by name, filter by source, keyset pages) and, for administrators,
//! the form that creates a console group.
use crate::api::groups::{list_groups, CreateGroup};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::apps::{can, href_with, load_me};
use crate::model::groups::{GroupQuery, GroupSummary, CONSOLE_SOURCE};
use crate::model::Permission;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

pub fn groups_href(q: &GroupQuery) -> String {
    href_with(
        "/groups",
        &[("q", &q.q), ("source", &q.source), ("after", &q.after)],
    )
}

/// "Console" or the provisioning source's id, as a badge.
#[component]
pub fn SourceBadge(source: String) -> impl IntoView {
    let label = if source == CONSOLE_SOURCE {
        "Console".to_string()
    } else {
        format!("Provisioned: {source}")
    };
    view! { <span class="badge" data-source=source>{label}</span> }
}

#[component]
pub fn Groups() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        GroupQuery {
            q: p.get("q").unwrap_or_default(),
            source: p.get("source").unwrap_or_default(),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let page = Resource::new(move || query.get(), list_groups);
    let me = load_me();
    let q = move || query.get();
    view! {
        <Title text="Groups" />
        <h1 class="text-2xl font-semibold">"Groups"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Groups of user accounts. Groups made here are changed here; groups a provisioning source sends are read-only and changed at that source."
        </p>
        <form method="get" action="/groups" role="search" class="mt-4 flex flex-wrap items-end gap-3" id="group-filters">
            <label class="flex-1 min-w-64">
                <span class="sr-only">"Search groups"</span>
                <input id="group-search" type="search" name="q" class="input w-full" autocomplete="off"
                    placeholder="Name (beginning) or group id (grp_...)" value=move || q().q />
            </label>
            <label>
                <span class="sr-only">"Source"</span>
                <input id="group-source-filter" name="source" class="input" placeholder="Any source" value=move || q().source />
            </label>
            <button type="submit" class="btn-primary" id="group-search-submit">"Search"</button>
            <a href="/groups" class="btn-ghost">"Clear"</a>
        </form>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.groups.is_empty() => {
                    let filtered = { let q = q(); !q.q.is_empty() || !q.source.is_empty() };
                    view! {
                        <div class="mt-6 card p-6" id="groups-empty">
                            {if filtered {
                                view! {
                                    <p>"No group matches this search. Names match from their beginning; a group id must be given in full."</p>
                                    <p class="mt-2"><a class="link" href="/groups">"Clear the search"</a></p>
                                }.into_any()
                            } else {
                                view! { <p>"No groups yet. Create one below, or let a provisioning source send its groups."</p> }.into_any()
                            }}
                        </div>
                    }.into_any()
                }
                Ok(p) => {
                    let next = p.next.clone().map(|after| groups_href(&GroupQuery { after, ..query.get_untracked() }));
                    view! {
                        <div class="mt-4 card overflow-x-auto"><GroupTable groups=p.groups /></div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="groups-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
        <Suspense fallback=|| ()>
            {move || can(me, Permission::WriteGroups).then(|| view! { <NewGroupForm /> })}
        </Suspense>
    }
}

#[component]
fn NewGroupForm() -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let error = move || create.value().get().and_then(|r| r.err());
    let name_error = move || error().and_then(|e| field_error(&e, "name"));
    let description_error = move || error().and_then(|e| field_error(&e, "description"));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-group-h">
            <h2 id="new-group-h" class="text-lg font-semibold">"Create a group"</h2>
            <ActionForm action=create attr:class="mt-4 grid gap-4" attr:id="new-group-form">
                <div>
                    <label for="group-name" class="block text-sm font-medium">"Name"</label>
                    <input id="group-name" name="input[name]" class="input mt-1 w-full" required maxlength="200"
                        aria-invalid=move || name_error().is_some().to_string() aria-describedby="group-name-error" />
                    <p id="group-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{name_error}</p>
                </div>
                <div>
                    <label for="group-description" class="block text-sm font-medium">"Description (optional)"</label>
                    <textarea id="group-description" name="input[description]" class="input mt-1 w-full" rows="2" maxlength="1000"
                        aria-invalid=move || description_error().is_some().to_string() aria-describedby="group-description-error"></textarea>
                    <p id="group-description-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{description_error}</p>
                </div>
                {move || general_error(error()).map(|e| view! { <ErrorBox error=e /> })}
                <p><button type="submit" class="btn-primary" id="create-group" disabled=move || create.pending().get()>"Create group"</button></p>
            </ActionForm>
        </section>
    }
}

/// Groups as a table.
#[component]
pub fn GroupTable(groups: Vec<GroupSummary>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="groups-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    <th scope="col" class="px-3 py-2">"Source"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Members"</th>
                </tr>
            </thead>
            <tbody>
                {groups.into_iter().map(|g| view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800" data-group=g.id.clone()>
                        <td class="px-3 py-2">
                            <A href=format!("/groups/{}", g.id) attr:class="link">{g.name.clone()}</A>
                            <span class="block text-xs text-slate-500">{g.description.clone()}</span>
                        </td>
                        <td class="px-3 py-2"><SourceBadge source=g.source.clone() /></td>
                        <td class="px-3 py-2 text-right tabular-nums">{g.member_count}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The groups of one account (`user_id`) or of every account of a person (`guid`).
#[component]
pub fn MembershipList(
    #[prop(optional)] user_id: Option<String>,
    #[prop(optional)] guid: Option<String>,
) -> impl IntoView {
    use crate::api::groups::{groups_of_person, groups_of_user};
    let per_person = guid.is_some();
    let list = Resource::new(
        move || (user_id.clone(), guid.clone()),
        |(user_id, guid)| async move {
            match guid {
                Some(guid) => groups_of_person(guid).await,
                None => groups_of_user(user_id.unwrap_or_default()).await,
            }
        },
    );
    view! {
        <section class="mt-8" aria-labelledby="memberships-h">
            <h2 id="memberships-h" class="text-lg font-semibold">"Groups"</h2>
            <Suspense fallback=Loading>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-2 text-sm" id="memberships-empty">"Not a member of any group. Add members from a group's page."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 card divide-y divide-slate-200 dark:divide-slate-800" id="memberships">
                            {list.into_iter().map(|m| view! {
                                <li class="flex flex-wrap items-center gap-3 px-4 py-2" data-group=m.group.id.clone()>
                                    <A href=format!("/groups/{}", m.group.id) attr:class="link">{m.group.name.clone()}</A>
                                    <SourceBadge source=m.group.source.clone() />
                                    {per_person.then(|| view! { <span class="text-sm text-slate-600 dark:text-slate-300">{m.email.clone()}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
