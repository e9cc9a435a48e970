//! Every API key: filters and quick filters in the URL, keyset pages; the key table and status
//! badge that the application and user pages reuse.
use crate::api::apps::list_keys;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::apps::href_with;
use crate::model::apps::{KeyQuery, KeyStatus, KeySummary};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

pub fn keys_href(q: &KeyQuery) -> String {
    href_with(
        "/keys",
        &[
            ("status", &q.status),
            ("application_id", &q.application_id),
            ("expiring_days", &q.expiring_days),
            ("unused_days", &q.unused_days),
            ("after", &q.after),
        ],
    )
}

#[component]
pub fn KeyStatusBadge(status: KeyStatus) -> impl IntoView {
    let class = match status {
        KeyStatus::Active => "badge badge-ok",
        KeyStatus::Rotating => "badge badge-warn",
        KeyStatus::Expired | KeyStatus::Revoked => "badge badge-bad",
    };
    view! { <span class=class data-status=status.as_str()>{status.label()}</span> }
}

pub fn last_used(ms: i64) -> String {
    if ms == 0 {
        "never".into()
    } else {
        format_utc(ms)
    }
}

pub fn expires(ms: Option<i64>) -> String {
    ms.map(format_utc).unwrap_or_else(|| "never".into())
}

#[component]
pub fn ApiKeys() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        KeyQuery {
            status: p.get("status").unwrap_or_default(),
            application_id: p.get("application_id").unwrap_or_default(),
            expiring_days: p.get("expiring_days").unwrap_or_default(),
            unused_days: p.get("unused_days").unwrap_or_default(),
            after: p.get("after").unwrap_or_default(),
        }
    });
    let page = Resource::new(move || query.get(), list_keys);
    let q = move || query.get();
    // A quick filter replaces the other quick filter and starts from the first page.
    let quick = move |expiring: &'static str, unused: &'static str| {
        keys_href(&KeyQuery {
            expiring_days: expiring.into(),
            unused_days: unused.into(),
            after: String::new(),
            ..query.get()
        })
    };
    let current = move |expiring: &'static str, unused: &'static str| {
        let q = query.get();
        (q.expiring_days == expiring && q.unused_days == unused).then_some("page")
    };
    view! {
        <Title text="API keys" />
        <h1 class="text-2xl font-semibold">"API keys"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Keys that services and people present to API gateways. A key is shown once when issued; here you see its prefix, scopes and use. Issue keys from an application's page."
        </p>
        <nav class="mt-4 flex flex-wrap gap-1" aria-label="Quick filters">
            <a href=move || quick("", "") class="nav-link" aria-current=move || current("", "")>"All keys"</a>
            <a href=move || quick("30", "") class="nav-link" id="expiring-soon" aria-current=move || current("30", "")>"Expiring within 30 days"</a>
            <a href=move || quick("", "90") class="nav-link" id="unused-90" aria-current=move || current("", "90")>"Unused for 90 days"</a>
        </nav>
        <form method="get" action="/keys" class="mt-3 flex flex-wrap items-end gap-3" id="key-filters" aria-label="Filter keys">
            <input type="hidden" name="application_id" value=move || q().application_id />
            <input type="hidden" name="expiring_days" value=move || q().expiring_days />
            <input type="hidden" name="unused_days" value=move || q().unused_days />
            <label class="text-sm">"Status"
                <select name="status" id="key-status-filter" class="input ml-2">
                    {[("", "Any status"), ("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")].into_iter().map(|(v, label)| view! {
                        <option value=v selected=move || q().status == v>{label}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="btn-primary" id="key-filter-submit">"Apply"</button>
            <a href="/keys" class="btn-ghost">"Clear"</a>
        </form>
        {move || (!q().application_id.is_empty()).then(|| view! {
            <p class="mt-3 text-sm">"Only the keys of application "
                <A href=format!("/apps/{}", q().application_id) attr:class="link font-mono">{q().application_id}</A>
            </p>
        })}
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.keys.is_empty() => {
                    let q = q();
                    let filtered = !q.status.is_empty() || !q.application_id.is_empty() || !q.expiring_days.is_empty() || !q.unused_days.is_empty();
                    view! {
                        <div class="mt-6 card p-6" id="keys-empty">
                            {if filtered {
                                view! {
                                    <p>"No key matches these filters."</p>
                                    <p class="mt-2"><a class="link" href="/keys">"Show every key"</a></p>
                                }.into_any()
                            } else {
                                view! {
                                    <p>"No API keys yet. Open an "<A href="/apps" attr:class="link">"application"</A>" and issue one from its API keys section."</p>
                                }.into_any()
                            }}
                        </div>
                    }.into_any()
                }
                Ok(p) => {
                    let next = p.next.clone().map(|after| keys_href(&KeyQuery { after, ..query.get_untracked() }));
                    view! {
                        <div class="mt-4 card overflow-x-auto"><KeyTable keys=p.keys /></div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="keys-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Keys as a table.
#[component]
pub fn KeyTable(
    keys: Vec<KeySummary>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id=id.unwrap_or("keys-table")>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Prefix"</th>
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    <th scope="col" class="px-3 py-2">"Application"</th>
                    <th scope="col" class="px-3 py-2">"Owner"</th>
                    <th scope="col" class="px-3 py-2">"Scopes"</th>
                    <th scope="col" class="px-3 py-2">"Created"</th>
                    <th scope="col" class="px-3 py-2">"Expires"</th>
                    <th scope="col" class="px-3 py-2">"Last used"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                </tr>
            </thead>
            <tbody>
                {keys.into_iter().map(|k| view! {
                    <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-key=k.id.clone() data-name=k.name.clone()>
                        <td class="px-3 py-2 font-mono text-xs"><A href=format!("/keys/{}", k.id) attr:class="link">{k.prefix.clone()}</A></td>
                        <td class="px-3 py-2">{k.name.clone()}</td>
                        <td class="px-3 py-2"><A href=format!("/apps/{}", k.application_id) attr:class="link">{k.application_name.clone()}</A></td>
                        <td class="px-3 py-2">{match (k.owner_user_id.clone(), k.owner_email.clone()) {
                            (Some(uid), email) => view! { <A href=format!("/users/{uid}") attr:class="link">{email.unwrap_or_else(|| uid.clone())}</A> }.into_any(),
                            (None, _) => view! { <span class="text-slate-500">"the application"</span> }.into_any(),
                        }}</td>
                        <td class="px-3 py-2 font-mono text-xs">{k.scopes.join(" ")}</td>
                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(k.created_at)}</td>
                        <td class="px-3 py-2 whitespace-nowrap">{expires(k.expires_at)}</td>
                        <td class="px-3 py-2 whitespace-nowrap">{last_used(k.last_used_at)}</td>
                        <td class="px-3 py-2"><KeyStatusBadge status=k.status /></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
