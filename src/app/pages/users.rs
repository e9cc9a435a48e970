//! The users list: search as you type, filters and sort in the URL, keyset pages.
use crate::api::users::{count_users, list_users};
use crate::app::components::{ErrorBox, Loading};
use crate::model::time::format_utc;
use crate::model::users::{UserQuery, UserSort, UserStatus, UserSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

pub fn encode(s: &str) -> String {
    crate::model::time::url_encode(s)
}

/// The URL of a users view.
pub fn users_href(q: &UserQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("q", q.q.as_str()),
        ("status", q.status.as_str()),
        ("source", q.source.as_str()),
        ("after", q.after.as_str()),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", encode(v)));
        }
    }
    if q.sort != UserSort::Name {
        parts.push(format!("sort={}", q.sort.as_str()));
    }
    if parts.is_empty() {
        "/users".into()
    } else {
        format!("/users?{}", parts.join("&"))
    }
}

#[component]
pub fn Users() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        UserQuery {
            q: p.get("q").unwrap_or_default(),
            status: p.get("status").unwrap_or_default(),
            source: p.get("source").unwrap_or_default(),
            sort: UserSort::parse(&p.get("sort").unwrap_or_default()),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let (reloads, set_reloads) = signal(0u32);
    let page = Resource::new(move || (query.get(), reloads.get()), |(q, _)| list_users(q));
    // How many users the view holds across every page: shown beside the export link.
    let matching = Resource::new(
        move || {
            let q = query.get();
            (
                UserQuery {
                    q: q.q,
                    status: q.status,
                    source: q.source,
                    ..Default::default()
                },
                reloads.get(),
            )
        },
        |(q, _)| count_users(Some(q)),
    );
    let selection = RwSignal::new(Vec::<String>::new());
    let me = Resource::new(|| (), |_| crate::api::session::current_principal());
    let can_write = move || matches!(me.get(), Some(Ok(Some(ref p))) if p.can(crate::model::Permission::WriteUsers));
    let navigate = use_navigate();
    let go = move |change: &dyn Fn(&mut UserQuery)| {
        let mut q = query.get_untracked();
        change(&mut q);
        q.after.clear();
        navigate(
            &users_href(&q),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let go1 = go.clone();
    let go2 = go.clone();
    let go3 = go.clone();
    view! {
        <Title text="Users" />
        <div class="flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">"Users"</h1>
            {move || can_write().then(|| {
                let export = users_href(&UserQuery { after: String::new(), ..query.get() }).replacen("/users", "/users/export.csv", 1);
                view! {
                    <span class="ml-auto text-sm tabular-nums text-slate-600 dark:text-slate-300" id="export-count" aria-live="polite">
                        <Transition fallback=|| ()>
                            {move || matching.get().and_then(Result::ok).map(|n| format!(
                                "{n} user{} in this view", if n == 1 { "" } else { "s" }
                            ))}
                        </Transition>
                    </span>
                    <a href=export class="btn-ghost" id="export-users" rel="external" download="">"Export CSV"</a>
                    <A href="/users/import" attr:class="btn-ghost" attr:id="import-users">"Import CSV"</A>
                    <A href="/users/new" attr:class="btn-primary" attr:id="new-user">"New user"</A>
                }
            })}
        </div>
        <form class="mt-4 flex flex-wrap gap-3" role="search" on:submit=|ev| ev.prevent_default()>
            <label class="flex-1 min-w-64">
                <span class="sr-only">"Search users"</span>
                <input
                    id="user-search"
                    type="search"
                    class="input w-full"
                    placeholder="Email, name, phone, user id, GUID or external id"
                    autocomplete="off"
                    prop:value=move || query.get().q
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        go1(&move |q: &mut UserQuery| q.q = v.clone());
                    }
                />
            </label>
            <label>
                <span class="sr-only">"Status"</span>
                <select id="status-filter" class="input" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    go2(&move |q: &mut UserQuery| q.status = v.clone());
                }>
                    <option value="" selected=move || query.get().status.is_empty()>"Any status"</option>
                    {UserStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.get().status == s.as_str()>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                <span class="sr-only">"Sort by"</span>
                <select id="sort" class="input" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    go3(&move |q: &mut UserQuery| q.sort = UserSort::parse(&v));
                }>
                    {[(UserSort::Name, "Name"), (UserSort::Email, "Email"), (UserSort::Created, "Newest accounts last"), (UserSort::LastSignIn, "Last sign-in")]
                        .into_iter()
                        .map(|(s, label)| view! { <option value=s.as_str() selected=move || query.get().sort == s>"Sort: "{label}</option> })
                        .collect_view()}
                </select>
            </label>
        </form>
        {move || can_write().then(|| view! {
            <BulkBar query=query selection=selection on_finished=Callback::new(move |_| { selection.set(Vec::new()); set_reloads.update(|n| *n += 1); }) />
        })}
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.users.is_empty() => {
                    let q = query.get();
                    let filtered = !q.q.is_empty() || !q.status.is_empty() || !q.source.is_empty();
                    view! {
                        <div class="mt-6 card p-6" id="users-empty">
                            {if filtered {
                                view! { <p>"No user matches this search. Check the spelling, or search by email, user id or GUID."</p>
                                        <p class="mt-2"><a class="link" href="/users">"Clear the search"</a></p> }.into_any()
                            } else {
                                view! { <p>"No users yet. Create the first one, or load realistic data with "<code>"gatehouse seed"</code>"."</p> }.into_any()
                            }}
                        </div>
                    }.into_any()
                }
                Ok(p) => {
                    let next = p.next.clone().map(|after| users_href(&UserQuery { after, ..query.get_untracked() }));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            {if can_write() {
                                view! { <UserTable users=p.users selection=selection /> }.into_any()
                            } else {
                                view! { <UserTable users=p.users /> }.into_any()
                            }}
                        </div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="users-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Users as a table; with `selection`, each row gets a checkbox (and the header one for the page).
#[component]
pub fn UserTable(
    users: Vec<UserSummary>,
    #[prop(optional)] selection: Option<RwSignal<Vec<String>>>,
) -> impl IntoView {
    let page_ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let all_checked = {
        let ids = page_ids.clone();
        move || {
            selection.is_some_and(|s| {
                !ids.is_empty() && s.with(|sel| ids.iter().all(|i| sel.contains(i)))
            })
        }
    };
    let toggle_all = move |on: bool| {
        if let Some(s) = selection {
            s.update(|sel| {
                sel.retain(|i| !page_ids.contains(i));
                if on {
                    sel.extend(page_ids.iter().cloned());
                }
            });
        }
    };
    view! {
        <table class="w-full text-left text-sm" id="users-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    {selection.is_some().then(|| view! {
                        <th scope="col" class="px-3 py-2 w-8">
                            <input type="checkbox" id="select-page" aria-label="Select every user on this page"
                                prop:checked=all_checked.clone()
                                on:change=move |ev| toggle_all(event_target_checked(&ev)) />
                        </th>
                    })}
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    <th scope="col" class="px-3 py-2">"Email"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2">"Source"</th>
                    <th scope="col" class="px-3 py-2">"Created"</th>
                    <th scope="col" class="px-3 py-2">"Last sign-in"</th>
                </tr>
            </thead>
            <tbody>
                {users.into_iter().map(|u| view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800" data-user=u.id.clone()>
                        {selection.map(|s| {
                            let (id1, id2) = (u.id.clone(), u.id.clone());
                            view! {
                                <td class="px-3 py-2">
                                    <input type="checkbox" class="select-user" aria-label=format!("Select {}", u.display_name)
                                        prop:checked=move || s.with(|sel| sel.contains(&id1))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            s.update(|sel| {
                                                sel.retain(|i| i != &id2);
                                                if on { sel.push(id2.clone()); }
                                            });
                                        } />
                                </td>
                            }
                        })}
                        <td class="px-3 py-2"><A href=format!("/users/{}", u.id) attr:class="link">{u.display_name.clone()}</A></td>
                        <td class="px-3 py-2">{u.email.clone()}</td>
                        <td class="px-3 py-2"><StatusBadge status=u.status /></td>
                        <td class="px-3 py-2">{u.source.clone()}<span class="block text-xs text-slate-500">{u.external_id.clone().unwrap_or_default()}</span></td>
                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(u.created_at)}</td>
                        <td class="px-3 py-2 whitespace-nowrap">{if u.last_sign_in_at == 0 { "never".to_string() } else { format_utc(u.last_sign_in_at) }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn StatusBadge(status: UserStatus) -> impl IntoView {
    let class = match status {
        UserStatus::Active => "badge badge-ok",
        UserStatus::Staged | UserStatus::Suspended => "badge badge-warn",
        UserStatus::Locked | UserStatus::Deprovisioned => "badge badge-bad",
    };
    view! { <span class=class data-status=status.as_str()>{status.label()}</span> }
}

/// Bulk actions: on the selected users, on every user matching the current filter, or (an
/// explicit choice) on every user. The last two are confirmed with the number of users, which
/// the server checks again.
#[component]
fn BulkBar(
    query: Memo<UserQuery>,
    selection: RwSignal<Vec<String>>,
    on_finished: Callback<crate::model::jobs::Job>,
) -> impl IntoView {
    use crate::app::components::JobProgress;
    use crate::model::users::BulkAction;
    let action = RwSignal::new("suspend".to_string());
    let scope = RwSignal::new("selected".to_string());
    let confirming = RwSignal::new(false);
    let filtered = move || {
        let q = query.get();
        [q.q, q.status, q.source]
            .iter()
            .any(|f| !f.trim().is_empty())
    };
    let view_filter = move || {
        let q = query.get_untracked();
        UserQuery {
            q: q.q,
            status: q.status,
            source: q.source,
            ..Default::default()
        }
    };
    let counted = Action::new(move |scope: &String| {
        let q = (scope != "everyone").then(view_filter);
        count_users(q)
    });
    let start = Action::new(move |(a, scope, n): &(String, String, Option<u64>)| {
        let (a, scope, n) = (a.clone(), scope.clone(), *n);
        let ids = selection.get_untracked();
        let filter = view_filter();
        async move {
            match scope.as_str() {
                "filter" => crate::api::jobs::bulk_users(a, None, Some(filter), None, n).await,
                "everyone" => crate::api::jobs::bulk_users(a, None, None, Some(true), n).await,
                _ => crate::api::jobs::bulk_users(a, Some(ids), None, None, None).await,
            }
        }
    });
    let count = move || selection.with(Vec::len);
    let confirmed_count = move || match counted.value().get() {
        Some(Ok(n)) if !counted.pending().get() => Some(n),
        _ => None,
    };
    let export_href = move || format!("/users/export.csv?ids={}", selection.with(|s| s.join(",")));
    let apply = move |_| {
        let chosen = scope.get_untracked();
        if chosen == "selected" {
            confirming.set(false);
            start.dispatch((action.get_untracked(), chosen, None));
            return;
        }
        if !confirming.get_untracked() {
            counted.value().set(None);
            counted.dispatch(chosen);
            confirming.set(true);
            return;
        }
        if let Some(Ok(n)) = counted.value().get_untracked() {
            confirming.set(false);
            start.dispatch((action.get_untracked(), chosen, Some(n)));
        }
    };
    let reset = move || {
        confirming.set(false);
        counted.value().set(None);
    };
    view! {
        <section class="mt-4 flex flex-wrap items-center gap-3 rounded-md border border-slate-200 p-3 dark:border-slate-800" aria-label="Bulk actions" id="bulk-bar">
            <span class="text-sm tabular-nums" id="selected-count" aria-live="polite">{move || format!("{} selected", count())}</span>
            <label>
                <span class="sr-only">"Apply to"</span>
                <select id="bulk-scope" class="input" on:change=move |ev| { scope.set(event_target_value(&ev)); reset(); }>
                    <option value="selected" selected=move || scope.get() == "selected">"The selected users"</option>
                    <option value="filter" disabled=move || !filtered() selected=move || scope.get() == "filter">"Every user matching this search and filters"</option>
                    <option value="everyone" selected=move || scope.get() == "everyone">"Every user (no filter)"</option>
                </select>
            </label>
            <label>
                <span class="sr-only">"Action"</span>
                <select id="bulk-action" class="input" on:change=move |ev| { action.set(event_target_value(&ev)); reset(); }>
                    {[BulkAction::Suspend, BulkAction::Activate, BulkAction::Deprovision].into_iter().map(|a| view! {
                        <option value=a.as_str()>{match a { BulkAction::Suspend => "Suspend", BulkAction::Activate => "Activate (or restore)", BulkAction::Deprovision => "Deprovision" }}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="button" class="btn-primary" id="bulk-apply" on:click=apply
                disabled=move || match scope.get().as_str() {
                    "selected" => count() == 0,
                    "filter" => !filtered() || (confirming.get() && confirmed_count().is_none()),
                    _ => confirming.get() && confirmed_count().is_none(),
                }>
                {move || match (confirming.get(), confirmed_count()) {
                    (true, Some(n)) => format!("Confirm: apply to {n} user{}", if n == 1 { "" } else { "s" }),
                    (true, None) => "Counting…".to_string(),
                    _ => "Apply".to_string(),
                }}
            </button>
            <a class="btn-ghost" id="export-selected" rel="external" download="" href=export_href
               class:hidden=move || count() == 0>"Export selected"</a>
            {move || confirming.get().then(|| match counted.value().get() {
                Some(Err(e)) => view! { <div class="w-full"><ErrorBox error=e /></div> }.into_any(),
                _ => {
                    let everyone = scope.get() == "everyone";
                    view! {
                        <p class="w-full text-sm text-amber-800 dark:text-amber-200" role="alert" id="bulk-confirm"
                           data-count=move || confirmed_count().map(|n| n.to_string()).unwrap_or_default()>
                            {move || match confirmed_count() {
                                None => "Counting the users this would change…".to_string(),
                                Some(n) if everyone => format!("This changes every user: {n} user{} in all, on every page. Click \"Confirm\" to go ahead.", if n == 1 { "" } else { "s" }),
                                Some(n) => format!("This changes the {n} user{} matching the current search and filters, on every page, not only this one. Click \"Confirm\" to go ahead.", if n == 1 { "" } else { "s" }),
                            }}
                        </p>
                    }.into_any()
                }
            })}
            {move || start.value().get().map(|r| match r {
                Err(e) => view! { <div class="w-full"><ErrorBox error=e /></div> }.into_any(),
                Ok(job) => view! { <div class="w-full" id="bulk-job"><JobProgress id=job on_finished=on_finished /></div> }.into_any(),
            })}
        </section>
    }
}
