//! A person: the GUID and every linked account, and merging another GUID into this one.
use crate::api::session::current_principal;
use crate::api::users::{get_guid, MergeGuids};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::users::UserTable;
use crate::model::time::format_utc;
use crate::model::Permission;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn GuidPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let merge = ServerAction::<MergeGuids>::new();
    let guid = Resource::new(
        move || (id(), merge.version().get()),
        |(id, _)| get_guid(id),
    );
    let me = Resource::new(|| (), |_| current_principal());
    let can_write =
        move || matches!(me.get(), Some(Ok(Some(ref m))) if m.can(Permission::WriteUsers));
    view! {
        <Title text="Person" />
        <Suspense fallback=Loading>
            {move || guid.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(g) => {
                    let survivor = g.guid.clone();
                    view! {
                        <h1 class="text-2xl font-semibold">"Person"</h1>
                        <p class="mt-1 font-mono text-sm" id="guid-id">{g.guid.clone()}</p>
                        <p class="text-sm text-slate-500">"Since "{format_utc(g.created_at)}</p>
                        {(g.guid != id()).then(|| view! {
                            <p class="mt-2 rounded-md bg-amber-50 p-3 text-amber-900 dark:bg-amber-950 dark:text-amber-100" role="status" id="resolved-note">
                                {format!("{} was merged into this GUID.", id())}
                            </p>
                        })}
                        <h2 class="mt-6 text-lg font-semibold">"Linked accounts"</h2>
                        {if g.accounts.is_empty() {
                            view! { <p class="mt-2">"No accounts are linked to this GUID."</p> }.into_any()
                        } else {
                            view! { <div class="mt-2 card overflow-x-auto"><UserTable users=g.accounts.clone() /></div> }.into_any()
                        }}
                        {(!g.absorbed.is_empty()).then(|| view! {
                            <p class="mt-4 text-sm">"Merged into this GUID: "<span class="font-mono">{g.absorbed.join(", ")}</span></p>
                        })}
                        {let survivor = survivor.clone(); move || can_write().then(|| { let survivor = survivor.clone(); view! {
                            <section class="mt-8 card p-4" aria-labelledby="merge-h">
                                <h2 id="merge-h" class="font-semibold">"Merge another GUID into this person"</h2>
                                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                                    "Every account of the other GUID moves here; the other GUID then resolves to this one. The audit log records the moved accounts."
                                </p>
                                <ActionForm action=merge attr:class="mt-3 flex flex-wrap items-end gap-3">
                                    <input type="hidden" name="survivor" value=survivor.clone() />
                                    <label class="flex-1 min-w-64">
                                        <span class="block text-sm font-medium">"GUID to absorb"</span>
                                        <input name="absorbed" id="merge-absorbed" class="input mt-1 w-full font-mono" placeholder="g_..." required />
                                    </label>
                                    <button type="submit" class="btn-primary" id="merge">"Merge"</button>
                                </ActionForm>
                                {move || merge.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
                            </section>
                        }})}
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
