//! One provisioning source: what it owns, its activity (last request, creates, updates,
//! deactivations), its last refused requests, a new token (shown once) and disabling it.
use crate::api::sources::{get_source, RotateSourceToken, SetSourceStatus};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::apps::detail_row;
use crate::app::pages::sources::{last_request, ScimEndpoint};
use crate::model::sources::{SourceDetail, MATCH_RULES, OWNABLE_ATTRIBUTES};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn SourcePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rotate = ServerAction::<RotateSourceToken>::new();
    let status = ServerAction::<SetSourceStatus>::new();
    let source = Resource::new(
        move || (id(), rotate.version().get(), status.version().get()),
        |(id, _, _)| get_source(id),
    );
    let action_error = move || {
        rotate
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| status.value().get().and_then(|r| r.err()))
    };
    view! {
        <Transition fallback=Loading>
            {move || source.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(s) => view! {
                    <Title text=s.name.clone() />
                    <div class="flex flex-wrap items-center gap-3">
                        <h1 class="text-2xl font-semibold" id="source-name">{s.name.clone()}</h1>
                        <span class="badge" data-status=s.status.clone() id="source-status">{s.status.clone()}</span>
                        <StatusToggle source=s.clone() action=status />
                    </div>
                    <p class="mt-1 text-sm text-slate-500">
                        "Source id "<span class="font-mono">{s.id.clone()}</span>" · "
                        <A href=format!("/audit?actor=source:{}", s.id) attr:class="link">"What it did (audit log)"</A>
                        " · "<A href=format!("/users?source={}", s.id) attr:class="link">"Its users"</A>
                        " · "<A href=format!("/groups?source={}", s.id) attr:class="link">"Its groups"</A>
                    </p>
                    <ScimEndpoint />
                    <SourceProfile source=s.clone() />
                    <Errors source=s.clone() />
                }.into_any(),
            })}
        </Transition>
        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <section class="mt-8 card p-4" aria-labelledby="token-h">
            <h2 id="token-h" class="text-lg font-semibold">"Token"</h2>
            <p class="mt-1 text-sm">"A new token replaces the current one at once: paste it into the identity provider's SCIM settings right away."</p>
            {move || rotate.value().get().and_then(|r| r.ok()).map(|n| view! {
                <div class="mt-3"><OneTimeSecret label="New SCIM token" value=n.token testid="source-token" /></div>
            })}
            <ActionForm action=rotate attr:class="mt-3">
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Issue a new token" confirm="Confirm: the current token stops now" id="rotate-source-token".to_string() />
            </ActionForm>
        </section>
    }
}

#[component]
fn StatusToggle(source: SourceDetail, action: ServerAction<SetSourceStatus>) -> impl IntoView {
    let disable = source.status == "active";
    let (to, label, confirm) = if disable {
        (
            "disabled",
            "Disable",
            "Confirm: refuse every request of this source",
        )
    } else {
        ("active", "Enable", "Confirm: enable")
    };
    view! {
        <ActionForm action=action attr:class="ml-auto">
            <input type="hidden" name="id" value=source.id.clone() />
            <input type="hidden" name="status" value=to />
            <ConfirmSubmit label confirm id=format!("source-{to}") danger=disable />
        </ActionForm>
    }
}

#[component]
fn SourceProfile(source: SourceDetail) -> impl IntoView {
    let owned: Vec<&str> = OWNABLE_ATTRIBUTES
        .iter()
        .filter(|(k, _)| source.owned_attributes.iter().any(|o| o == k))
        .map(|(_, label)| *label)
        .collect();
    let rule = MATCH_RULES
        .iter()
        .find(|(k, _)| *k == source.match_rule)
        .map(|(_, l)| *l)
        .unwrap_or("");
    view! {
        <dl class="mt-6 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="source-profile">
            {detail_row("Last request", last_request(&source))}
            {detail_row("Created (users and groups)", source.creates.to_string())}
            {detail_row("Updated (users and groups)", source.updates.to_string())}
            {detail_row("Users deactivated", source.deactivations.to_string())}
            {detail_row("Owns", if owned.is_empty() { "nothing".to_string() } else { owned.join("; ") })}
            {detail_row("New accounts", rule.to_string())}
            {detail_row("Token ends in", source.token_hint.clone())}
            {detail_row("Registered", format_utc(source.created_at))}
        </dl>
    }
}

#[component]
fn Errors(source: SourceDetail) -> impl IntoView {
    view! {
        <section class="mt-8" aria-labelledby="errors-h">
            <h2 id="errors-h" class="text-lg font-semibold">"Last refused requests"</h2>
            {if source.errors.is_empty() {
                view! { <p class="mt-2 text-sm" id="source-errors-empty">"None: every request of this source was accepted."</p> }.into_any()
            } else {
                view! {
                    <div class="mt-2 card overflow-x-auto">
                        <table class="w-full text-left text-sm" id="source-errors">
                            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                <tr>
                                    <th scope="col" class="px-3 py-2">"When"</th>
                                    <th scope="col" class="px-3 py-2">"Request"</th>
                                    <th scope="col" class="px-3 py-2">"Answer"</th>
                                    <th scope="col" class="px-3 py-2">"Why"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {source.errors.into_iter().map(|e| view! {
                                    <tr class="border-t border-slate-200 dark:border-slate-800">
                                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(e.at)}</td>
                                        <td class="px-3 py-2 font-mono text-xs">{format!("{} {}", e.method, e.path)}</td>
                                        <td class="px-3 py-2">{format!("{} {}", e.status, e.scim_type.unwrap_or_default())}</td>
                                        <td class="px-3 py-2">{e.detail}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
