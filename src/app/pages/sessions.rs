//! Console sessions (administrators): who is signed in, since when, from where; end a session.
use crate::api::sessions::{list_sessions, EndSession};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ConsoleSessions() -> impl IntoView {
    let end = ServerAction::<EndSession>::new();
    let sessions = Resource::new(move || end.version().get(), |_| list_sessions());
    view! {
        <Title text="Console sessions" />
        <h1 class="text-2xl font-semibold">"Console sessions"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Everyone signed in to Gatehouse now. Roles are confirmed with the identity provider every few minutes and before sensitive actions; ending a session signs that person out at their next click."
        </p>
        {move || end.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <Transition fallback=Loading>
            {move || sessions.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="mt-6 card p-6" id="sessions-empty"><p>"Nobody is signed in."</p></div>
                }.into_any(),
                Ok(list) => view! {
                    <div class="mt-4 card overflow-x-auto">
                        <table class="w-full text-left text-sm" id="sessions-table">
                            <caption class="sr-only">"Open console sessions"</caption>
                            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                                <tr>
                                    <th scope="col" class="px-3 py-2">"Person"</th>
                                    <th scope="col" class="px-3 py-2">"Role"</th>
                                    <th scope="col" class="px-3 py-2">"Signed in"</th>
                                    <th scope="col" class="px-3 py-2">"Role confirmed"</th>
                                    <th scope="col" class="px-3 py-2">"From"</th>
                                    <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|s| {
                                    let (row_id, form_id, end_id) = (s.id.clone(), s.id.clone(), format!("end-{}", s.id.chars().take(12).collect::<String>()));
                                    let (ip, agent) = (s.client_ip.clone().unwrap_or_default(), s.user_agent.clone().unwrap_or_default());
                                    view! {
                                    <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-session=row_id data-email=s.email.clone()>
                                        <td class="px-3 py-2">{s.email.clone()}
                                            {s.current.then(|| view! { <span class="badge badge-ok ml-2">"you"</span> })}
                                        </td>
                                        <td class="px-3 py-2">{s.role.clone()}</td>
                                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(s.signed_in_at)}</td>
                                        <td class="px-3 py-2 whitespace-nowrap">{format_utc(s.last_checked_at)}</td>
                                        <td class="px-3 py-2">
                                            <span class="font-mono text-xs">{ip}</span>
                                            <span class="block text-xs text-slate-500 truncate max-w-xs" title=agent.clone()>{agent.clone()}</span>
                                        </td>
                                        <td class="px-3 py-2">
                                            {(!s.current).then(|| view! {
                                                <ActionForm action=end>
                                                    <input type="hidden" name="id" value=form_id.clone() />
                                                    <ConfirmSubmit label="End session" confirm="Confirm: end this session" id=end_id.clone() danger=true />
                                                </ActionForm>
                                            })}
                                        </td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            })}
        </Transition>
    }
}
