//! Provisioning sources (administrators): the SCIM clients that provision users and groups
//! into Gatehouse, their activity, and registering a new one (its token is shown once).
use crate::api::sources::{list_sources, CreateSource};
use crate::app::components::{ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::{field_error, general_error};
use crate::model::sources::{NewSourceToken, SourceDetail, MATCH_RULES, OWNABLE_ATTRIBUTES};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// "never" or the time of the source's last request.
pub fn last_request(s: &SourceDetail) -> String {
    if s.last_request_at == 0 {
        "never".into()
    } else {
        format_utc(s.last_request_at)
    }
}

/// Where a source's client sends its requests, with the token as `Bearer`.
#[component]
pub fn ScimEndpoint() -> impl IntoView {
    let base = move || {
        #[cfg(feature = "hydrate")]
        {
            window().location().origin().unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            String::new()
        }
    };
    view! {
        <p class="mt-2 text-sm">
            "SCIM 2.0 base URL: "<code class="font-mono" id="scim-base">{move || format!("{}/scim/v2", base())}</code>
            " · authentication: "<code>"Authorization: Bearer <token>"</code>
        </p>
    }
}

#[component]
pub fn ProvisioningSources() -> impl IntoView {
    let create = ServerAction::<CreateSource>::new();
    let sources = Resource::new(move || create.version().get(), |_| list_sources());
    view! {
        <Title text="Provisioning sources" />
        <h1 class="text-2xl font-semibold">"Provisioning sources"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Identity providers and HR systems that create, change and deactivate users and groups here over SCIM 2.0. Each source changes only its own users and groups; everything it does is audited with the source as the actor."
        </p>
        <ScimEndpoint />
        <Transition fallback=Loading>
            {move || sources.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="mt-6 card p-6" id="sources-empty">
                        <p>"No provisioning source yet. Register one below, then give its token to the identity provider's SCIM settings."</p>
                    </div>
                }.into_any(),
                Ok(list) => view! { <div class="mt-4 card overflow-x-auto"><SourceTable sources=list /></div> }.into_any(),
            })}
        </Transition>
        <NewSource create />
    }
}

#[component]
fn SourceTable(sources: Vec<SourceDetail>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="sources-table">
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Source"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2">"Last request"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Created"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Updated"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Deactivated"</th>
                </tr>
            </thead>
            <tbody>
                {sources.into_iter().map(|s| { let last = last_request(&s); view! {
                    <tr class="border-t border-slate-200 dark:border-slate-800" data-source=s.id.clone()>
                        <td class="px-3 py-2">
                            <A href=format!("/sources/{}", s.id) attr:class="link">{s.name.clone()}</A>
                            <span class="block font-mono text-xs text-slate-500">{s.id.clone()}</span>
                        </td>
                        <td class="px-3 py-2"><span class="badge" data-status=s.status.clone()>{s.status.clone()}</span></td>
                        <td class="px-3 py-2 whitespace-nowrap">{last}</td>
                        <td class="px-3 py-2 text-right tabular-nums">{s.creates}</td>
                        <td class="px-3 py-2 text-right tabular-nums">{s.updates}</td>
                        <td class="px-3 py-2 text-right tabular-nums">{s.deactivations}</td>
                    </tr>
                }}).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn NewSource(create: ServerAction<CreateSource>) -> impl IntoView {
    let error = move || create.value().get().and_then(|r| r.err());
    let created: Memo<Option<NewSourceToken>> =
        Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    let message = move |field: &'static str| move || error().and_then(|e| field_error(&e, field));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-source-h">
            <h2 id="new-source-h" class="text-lg font-semibold">"Register a source"</h2>
            {move || created.get().map(|n| view! {
                <div class="mt-4" id="source-created">
                    <OneTimeSecret label="SCIM token" value=n.token.clone() testid="source-token">
                        <p class="mt-2"><A href=format!("/sources/{}", n.source.id) attr:class="link">{format!("Go to {}", n.source.name)}</A></p>
                    </OneTimeSecret>
                </div>
            })}
            <ActionForm action=create attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="new-source-form">
                <div>
                    <label for="source-id" class="block text-sm font-medium">"Id (the source its users carry)"</label>
                    <input id="source-id" name="input[id]" class="input mt-1 w-full" required maxlength="64" placeholder="entra-emea"
                        aria-describedby="source-id-error" />
                    <p id="source-id-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("id")}</p>
                </div>
                <div>
                    <label for="source-name" class="block text-sm font-medium">"Name"</label>
                    <input id="source-name" name="input[name]" class="input mt-1 w-full" required maxlength="100" placeholder="Microsoft Entra ID (EMEA)"
                        aria-describedby="source-name-error" />
                    <p id="source-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
                </div>
                <fieldset class="sm:col-span-2">
                    <legend class="text-sm font-medium">"Attributes this source owns (it cannot change the others)"</legend>
                    {OWNABLE_ATTRIBUTES.iter().map(|(key, label)| view! {
                        <label class="mt-1 flex items-center gap-2 text-sm">
                            <input type="checkbox" name="input[owned_attributes][]" value=*key checked=true />
                            {*label}
                        </label>
                    }).collect_view()}
                    <p class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("owned_attributes")}</p>
                </fieldset>
                <div class="sm:col-span-2">
                    <label for="source-match" class="block text-sm font-medium">"Link a new account to an existing person"</label>
                    <select id="source-match" name="input[match_rule]" class="input mt-1">
                        {MATCH_RULES.iter().map(|(key, label)| view! { <option value=*key>{*label}</option> }).collect_view()}
                    </select>
                </div>
                {move || general_error(error()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p><button type="submit" class="btn-primary" id="create-source" disabled=move || create.pending().get()>"Register source"</button></p>
            </ActionForm>
        </section>
    }
}
