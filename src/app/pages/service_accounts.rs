//! Service accounts (administrators): machine identities for the management API, newest first
//! in keyset pages, and the form that creates one.
use crate::api::tokens::{list_service_accounts, AccountPage, CreateServiceAccount};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::apps::href_with;
use crate::model::api::{Scope, ServiceAccount};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

#[component]
pub fn AccountStatusBadge(status: String) -> impl IntoView {
    let (class, label) = if status == "active" {
        ("badge badge-ok", "Active")
    } else {
        ("badge badge-bad", "Disabled")
    };
    view! { <span class=class data-status=status>{label}</span> }
}

#[component]
pub fn ServiceAccounts() -> impl IntoView {
    let params = use_query_map();
    let after = Memo::new(move |_| params.read().get("after").unwrap_or_default());
    let page = Resource::new(move || after.get(), list_service_accounts);
    view! {
        <Title text="Service accounts" />
        <h1 class="text-2xl font-semibold">"Service accounts"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Machine identities that automate identity administration through the management API: joiner/mover/leaver scripts, ticketing systems, SIEM tools. Each has an owner and the most its tokens may do; open one to issue, rotate and revoke its tokens. "
            <A href="/tokens" attr:class="link" attr:id="personal-tokens-link">"Staff personal tokens"</A>
            " are listed separately."
        </p>
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.accounts.is_empty() && after.get_untracked().is_empty() => view! {
                    <div class="mt-6 card p-6" id="accounts-empty">
                        <p>"No service accounts yet. Create one below for each system that calls the management API, then issue it a token."</p>
                    </div>
                }.into_any(),
                Ok(AccountPage { accounts, next }) => {
                    let next = next.map(|after| href_with("/service-accounts", &[("after", &after)]));
                    view! {
                        <div class="mt-4 card overflow-x-auto"><AccountTable accounts /></div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="accounts-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
        <NewAccount />
    }
}

#[component]
fn AccountTable(accounts: Vec<ServiceAccount>) -> impl IntoView {
    let rows = accounts
        .into_iter()
        .map(|a| {
            let scopes = a
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let name = a.name.clone();
            let href = format!("/service-accounts/{}", a.id);
            view! {
                <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-account=a.id.clone() data-name=a.name.clone()>
                    <td class="px-3 py-2">
                        <A href=href attr:class="link">{name}</A>
                        <span class="block font-mono text-xs text-slate-500">{a.id.clone()}</span>
                    </td>
                    <td class="px-3 py-2">{a.owner_email.clone()}</td>
                    <td class="px-3 py-2 font-mono text-xs">{scopes}</td>
                    <td class="px-3 py-2"><AccountStatusBadge status=a.status.clone() /></td>
                    <td class="px-3 py-2 whitespace-nowrap">{format_utc(a.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="w-full text-left text-sm" id="accounts-table">
            <caption class="sr-only">"Service accounts"</caption>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    <th scope="col" class="px-3 py-2">"Owner"</th>
                    <th scope="col" class="px-3 py-2">"Scopes"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2">"Created"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The create form; a created account opens at once, ready for its first token.
#[component]
fn NewAccount() -> impl IntoView {
    let create = ServerAction::<CreateServiceAccount>::new();
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created: Memo<Option<ServiceAccount>> =
        Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(a) = created.get() {
            navigate(&format!("/service-accounts/{}", a.id), Default::default());
        }
    });
    let message = move |name: &'static str| move || error.get().and_then(|e| field_error(&e, name));
    let invalid = move |name: &'static str| move || message(name)().is_some().to_string();
    let checks = Scope::ALL
        .into_iter()
        .map(|s| {
            view! {
                <label class="flex items-start gap-2 text-sm">
                    <input type="checkbox" name="input[scopes][]" value=s.as_str() class="mt-1"
                        id=format!("account-scope-{}", s.as_str().replace(':', "-")) />
                    <span>
                        <span class="font-mono">{s.as_str()}</span>
                        <span class="block text-xs text-slate-500 dark:text-slate-400">{s.description()}</span>
                    </span>
                </label>
            }
        })
        .collect_view();
    view! {
        <section class="mt-8" aria-labelledby="new-account-h">
            <h2 id="new-account-h" class="text-lg font-semibold">"Create a service account"</h2>
            {move || created.get().map(|a| view! {
                <p class="mt-2 text-sm" role="status" id="account-created">
                    {format!("{} is created. ", a.name)}
                    <A href=format!("/service-accounts/{}", a.id) attr:class="link">"Open it to issue a token"</A>
                </p>
            })}
            <ActionForm action=create attr:class="mt-3 card grid gap-4 p-6 sm:grid-cols-2" attr:id="new-account-form">
                <div>
                    <label for="account-name" class="block text-sm font-medium">"Name"</label>
                    <input id="account-name" name="input[name]" class="input mt-1 w-full" required maxlength="100"
                        aria-invalid=invalid("name") aria-describedby="account-name-hint account-name-error" />
                    <p id="account-name-hint" class="mt-1 text-xs text-slate-500">"Unique; what it automates, e.g. HR sync."</p>
                    <p id="account-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
                </div>
                <div>
                    <label for="account-owner" class="block text-sm font-medium">"Owner (email)"</label>
                    <input id="account-owner" name="input[owner_email]" type="email" class="input mt-1 w-full" required
                        aria-invalid=invalid("owner_email") aria-describedby="account-owner-hint account-owner-error" />
                    <p id="account-owner-hint" class="mt-1 text-xs text-slate-500">"The person who answers for what this account does."</p>
                    <p id="account-owner-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("owner_email")}</p>
                </div>
                <div class="sm:col-span-2">
                    <label for="account-description" class="block text-sm font-medium">"Description (optional)"</label>
                    <textarea id="account-description" name="input[description]" rows="2" class="input mt-1 w-full"
                        aria-invalid=invalid("description") aria-describedby="account-description-error"></textarea>
                    <p id="account-description-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("description")}</p>
                </div>
                <fieldset class="sm:col-span-2" aria-describedby="account-scopes-hint account-scopes-error" aria-invalid=invalid("scopes")>
                    <legend class="block text-sm font-medium">"Scopes"</legend>
                    <p id="account-scopes-hint" class="mt-1 text-xs text-slate-500">"The most any of its tokens may hold; give it only what it needs."</p>
                    <div class="mt-2 grid gap-2 sm:grid-cols-2">{checks}</div>
                    <p id="account-scopes-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("scopes")}</p>
                </fieldset>
                <div class="sm:col-span-2">
                    {move || general_error(error.get()).map(|e| view! { <div class="mb-3"><ErrorBox error=e /></div> })}
                    <button type="submit" class="btn-primary" id="create-account" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Creating…" } else { "Create service account" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
