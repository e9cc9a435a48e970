//! Applications: the list (search, filters in the URL as a plain GET form, keyset pages) and the
//! small pieces the other application and key pages share.
use crate::api::apps::list_apps;
use crate::api::session::current_principal;
use crate::app::components::{ErrorBox, Loading};
use crate::model::apps::{AppKind, AppQuery, AppStatus, AppSummary};
use crate::model::time::{format_utc, url_encode};
use crate::model::{AppError, Permission, Principal};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// `path?k=v&...`, leaving out empty values.
pub fn href_with(path: &str, params: &[(&str, &str)]) -> String {
    let parts: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

pub fn apps_href(q: &AppQuery) -> String {
    href_with(
        "/apps",
        &[
            ("q", &q.q),
            ("status", &q.status),
            ("kind", &q.kind),
            ("after", &q.after),
        ],
    )
}

/// The signed-in principal, loaded once per page.
pub type Me = Resource<Result<Option<Principal>, AppError>>;

pub fn load_me() -> Me {
    Resource::new(|| (), |_| current_principal())
}

/// Whether the principal holds `p`; read it inside a `Suspense` so server and browser agree.
pub fn can(me: Me, p: Permission) -> bool {
    matches!(me.get(), Some(Ok(Some(ref m))) if m.can(p))
}

#[component]
pub fn AppStatusBadge(status: AppStatus) -> impl IntoView {
    let (class, label) = match status {
        AppStatus::Active => ("badge badge-ok", "Active"),
        AppStatus::Disabled => ("badge badge-bad", "Disabled"),
    };
    view! { <span class=class data-status=status.as_str()>{label}</span> }
}

/// One row of a definition list (label, value).
pub fn detail_row(label: &'static str, value: impl IntoView + 'static) -> impl IntoView {
    view! {
        <div class="py-2 sm:grid sm:grid-cols-3 sm:gap-4">
            <dt class="text-sm text-slate-500 dark:text-slate-400">{label}</dt>
            <dd class="sm:col-span-2 break-all">{value}</dd>
        </div>
    }
}

#[component]
pub fn Applications() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        AppQuery {
            q: p.get("q").unwrap_or_default(),
            status: p.get("status").unwrap_or_default(),
            kind: p.get("kind").unwrap_or_default(),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let page = Resource::new(move || query.get(), list_apps);
    let me = load_me();
    let q = move || query.get();
    view! {
        <Title text="Applications" />
        <div class="flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">"Applications"</h1>
            <Suspense fallback=|| ()>
                {move || can(me, Permission::WriteApps).then(|| view! {
                    <A href="/apps/new" attr:class="btn-primary ml-auto" attr:id="new-app">"Register an application"</A>
                })}
            </Suspense>
        </div>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "The OAuth/OIDC clients and services that rely on Gatehouse, their client secrets, the people assigned to them and their API keys."
        </p>
        <form method="get" action="/apps" role="search" class="mt-4 flex flex-wrap items-end gap-3" id="app-filters">
            <label class="flex-1 min-w-64">
                <span class="sr-only">"Search applications"</span>
                <input id="app-search" type="search" name="q" class="input w-full" autocomplete="off"
                    placeholder="Name (beginning) or client id (app_...)" value=move || q().q />
            </label>
            <label>
                <span class="sr-only">"Status"</span>
                <select id="app-status-filter" name="status" class="input">
                    <option value="" selected=move || q().status.is_empty()>"Any status"</option>
                    {[AppStatus::Active, AppStatus::Disabled].into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || q().status == s.as_str()>{if s == AppStatus::Active { "Active" } else { "Disabled" }}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                <span class="sr-only">"Kind"</span>
                <select id="app-kind-filter" name="kind" class="input">
                    <option value="" selected=move || q().kind.is_empty()>"Any kind"</option>
                    {AppKind::ALL.into_iter().map(|k| view! {
                        <option value=k.as_str() selected=move || q().kind == k.as_str()>{k.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="btn-primary" id="app-search-submit">"Search"</button>
            <a href="/apps" class="btn-ghost">"Clear"</a>
        </form>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.apps.is_empty() => {
                    let filtered = { let q = q(); !q.q.is_empty() || !q.status.is_empty() || !q.kind.is_empty() };
                    view! {
                        <div class="mt-6 card p-6" id="apps-empty">
                            {if filtered {
                                view! {
                                    <p>"No application matches this search. Names match from their beginning; a client id must be given in full."</p>
                                    <p class="mt-2"><a class="link" href="/apps">"Clear the search"</a></p>
                                }.into_any()
                            } else {
                                view! {
                                    <p>"No applications yet. Register one to give it a client id, secrets and API keys."</p>
                                    {can(me, Permission::WriteApps).then(|| view! {
                                        <p class="mt-4"><A href="/apps/new" attr:class="btn-primary">"Register an application"</A></p>
                                    })}
                                }.into_any()
                            }}
                        </div>
                    }.into_any()
                }
                Ok(p) => {
                    let next = p.next.clone().map(|after| apps_href(&AppQuery { after, ..query.get_untracked() }));
                    view! {
                        <div class="mt-4 card overflow-x-auto"><AppTable apps=p.apps /></div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="apps-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Applications as a table.
#[component]
pub fn AppTable(apps: Vec<AppSummary>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="apps-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    <th scope="col" class="px-3 py-2">"Kind"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2">"Owner"</th>
                    <th scope="col" class="px-3 py-2">"Created"</th>
                </tr>
            </thead>
            <tbody>
                {apps.into_iter().map(|a| view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800" data-app=a.id.clone()>
                        <td class="px-3 py-2">
                            <A href=format!("/apps/{}", a.id) attr:class="link">{a.name.clone()}</A>
                            <span class="block font-mono text-xs text-slate-500">{a.id.clone()}</span>
                        </td>
                        <td class="px-3 py-2">{a.kind.label()}</td>
                        <td class="px-3 py-2"><AppStatusBadge status=a.status /></td>
                        <td class="px-3 py-2">{a.owner_email.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(a.created_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Now, in Unix epoch milliseconds (for "valid until" and "expired" labels).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}
