//! The people (GUIDs) page: newest first or found by search, and the possible duplicates.
use crate::api::users::{list_duplicates, list_guids};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::users::encode;
use crate::model::time::format_utc;
use crate::model::users::{DuplicateReason, GuidQuery};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

#[component]
pub fn Guids() -> impl IntoView {
    let params = use_query_map();
    let view_name = move || params.read().get("view").unwrap_or_default();
    view! {
        <Title text="People" />
        <div class="flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">"People"</h1>
            <nav class="ml-auto flex gap-1" aria-label="People views">
                <A href="/guids" attr:class="nav-link" attr:aria-current=move || (view_name() != "duplicates").then_some("page")>"All people"</A>
                <A href="/guids?view=duplicates" attr:class="nav-link" attr:id="duplicates-tab" attr:aria-current=move || (view_name() == "duplicates").then_some("page")>"Possible duplicates"</A>
            </nav>
        </div>
        {move || if view_name() == "duplicates" { view! { <Duplicates /> }.into_any() } else { view! { <PeopleList /> }.into_any() }}
    }
}

#[component]
fn PeopleList() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        GuidQuery {
            q: p.get("q").unwrap_or_default(),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let page = Resource::new(move || query.get(), list_guids);
    let navigate = use_navigate();
    view! {
        <form class="mt-4" role="search" on:submit=|ev| ev.prevent_default()>
            <label class="block">
                <span class="sr-only">"Search people"</span>
                <input id="guid-search" type="search" class="input w-full" autocomplete="off"
                    placeholder="GUID, or any account's email, name, phone or external id"
                    prop:value=move || query.get().q
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        let href = if v.is_empty() { "/guids".to_string() } else { format!("/guids?q={}", encode(&v)) };
                        navigate(&href, NavigateOptions { replace: true, scroll: false, ..Default::default() });
                    } />
            </label>
        </form>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.guids.is_empty() => view! {
                    <div class="mt-6 card p-6" id="guids-empty">
                        {if query.get().q.is_empty() {
                            "No people yet. People appear here as users are created or imported."
                        } else {
                            "Nobody matches. Search by a GUID prefix (g_…), or by an account's email, name, phone or external id."
                        }}
                    </div>
                }.into_any(),
                Ok(p) => {
                    let next = p.next.clone().map(|after| format!("/guids?after={}", encode(&after)));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <table class="w-full text-left text-sm" id="guids-table">
                                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                    <tr>
                                        <th scope="col" class="px-3 py-2">"Person"</th>
                                        <th scope="col" class="px-3 py-2">"Primary email"</th>
                                        <th scope="col" class="px-3 py-2">"Phone"</th>
                                        <th scope="col" class="px-3 py-2">"Accounts"</th>
                                        <th scope="col" class="px-3 py-2">"Since"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {p.guids.into_iter().map(|g| view! {
                                        <tr class="border-t border-slate-200 dark:border-slate-800" data-guid=g.guid.clone()>
                                            <td class="px-3 py-2">
                                                <A href=format!("/guids/{}", g.guid) attr:class="link">{g.profile.display_name.clone().unwrap_or_else(|| "(no name)".into())}</A>
                                                <span class="block font-mono text-xs text-slate-500">{g.guid.clone()}</span>
                                            </td>
                                            <td class="px-3 py-2 break-all">{g.profile.email.clone().unwrap_or_default()}</td>
                                            <td class="px-3 py-2">{g.profile.phone.clone().unwrap_or_default()}</td>
                                            <td class="px-3 py-2 tabular-nums">{g.accounts}</td>
                                            <td class="px-3 py-2 whitespace-nowrap">{format_utc(g.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {next.map(|href| view! { <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="guids-next">"Next page"</A></p> })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn Duplicates() -> impl IntoView {
    let params = use_query_map();
    let reason = Memo::new(move |_| {
        DuplicateReason::parse(&params.read().get("reason").unwrap_or_default())
    });
    let after = Memo::new(move |_| params.read().get("after").unwrap_or_default());
    let page = Resource::new(
        move || (reason.get(), after.get()),
        |(r, a)| list_duplicates(r.as_str().to_string(), a),
    );
    view! {
        <p class="mt-4 text-sm text-slate-600 dark:text-slate-300">
            "Two people who share a phone, a verified mailbox (ignoring +tags) or an external id in two sources may be one person. Compare them, then merge."
        </p>
        <div class="mt-3 flex flex-wrap gap-2" role="group" aria-label="Evidence">
            {DuplicateReason::ALL.into_iter().map(|r| view! {
                <A href=format!("/guids?view=duplicates&reason={}", r.as_str()) attr:class="btn-ghost border border-slate-300 dark:border-slate-700"
                   attr:aria-current=move || (reason.get() == r).then_some("true")>{r.label()}</A>
            }).collect_view()}
        </div>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.candidates.is_empty() => view! {
                    <div class="mt-6 card p-6" id="duplicates-empty">"No possible duplicates of this kind. Nothing to do."</div>
                }.into_any(),
                Ok(p) => {
                    let next = p.next.clone().map(|a| format!("/guids?view=duplicates&reason={}&after={}", reason.get_untracked().as_str(), encode(&a)));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <table class="w-full text-left text-sm" id="duplicates-table">
                                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                    <tr>
                                        <th scope="col" class="px-3 py-2">"Person"</th>
                                        <th scope="col" class="px-3 py-2">"May be the same as"</th>
                                        <th scope="col" class="px-3 py-2">"Because"</th>
                                        <th scope="col" class="px-3 py-2"><span class="sr-only">"Action"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {p.candidates.into_iter().map(|c| view! {
                                        <tr class="border-t border-slate-200 dark:border-slate-800">
                                            <td class="px-3 py-2"><A href=format!("/guids/{}", c.guid) attr:class="link">{c.display_name.clone()}</A></td>
                                            <td class="px-3 py-2"><A href=format!("/guids/{}", c.other_guid) attr:class="link">{c.other_display_name.clone()}</A></td>
                                            <td class="px-3 py-2">{format!("{}: {}", c.reason.label(), c.evidence)}</td>
                                            <td class="px-3 py-2"><A href=format!("/guids/{}?merge={}", c.guid, c.other_guid) attr:class="btn-ghost">"Compare"</A></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {next.map(|href| view! { <p class="mt-4"><A href=href attr:class="btn-ghost">"Next page"</A></p> })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}
