//! `/system`'s account of this instance (issue 18; administrators and auditors): the version and
//! commit it was built from, its database engine, the readiness checks (identity provider
//! included), and the effective configuration with secrets redacted, which auditors keep as
//! evidence.
use crate::api::system::load_system_info;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::apps::detail_row;
use crate::model::system::{ReadinessCheck, Setting, SystemInfo};
use leptos::prelude::*;

#[component]
pub fn InstanceInfo(refreshed: ReadSignal<u32>) -> impl IntoView {
    let info = Resource::new(move || refreshed.get(), |_| load_system_info());
    view! {
        <Transition fallback=Loading>
            {move || info.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(i) => view! { <Info info=i /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Info(info: SystemInfo) -> impl IntoView {
    let set = info.settings.iter().filter(|s| s.value.is_some()).count();
    view! {
        <section class="mt-4 card p-4" aria-labelledby="build-h">
            <h2 id="build-h" class="font-semibold">"Build and dependencies"</h2>
            <dl class="mt-2 divide-y divide-slate-200 dark:divide-slate-800">
                {detail_row("Version", view! { <span class="font-mono" id="system-version">{info.version.clone()}</span> })}
                {detail_row("Commit", view! { <span class="font-mono" id="system-commit">{info.commit.clone()}</span> })}
                {detail_row("Database", view! { <span id="system-engine">{engine_label(&info.engine)}</span> })}
            </dl>
            <Checks checks=info.checks.clone() />
        </section>
        <section class="mt-6" aria-labelledby="settings-h">
            <h2 id="settings-h" class="text-lg font-semibold">"Effective configuration"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                {format!("{} settings read at start, {set} of them set; the others take their defaults (README, \"Settings\"). Keys, tokens, secrets and the database password are redacted.", info.settings.len())}
            </p>
            <SettingsTable settings=info.settings />
        </section>
    }
}

fn engine_label(engine: &str) -> &'static str {
    match engine {
        "postgres" => "PostgreSQL",
        _ => "SQLite (embedded)",
    }
}

fn check_label(name: &str) -> String {
    match name {
        "database" => "Database".into(),
        "identity_provider" => "Identity provider (sign-in)".into(),
        "ssf_signing_key" => "Shared Signals signing key".into(),
        "secrets_key" => "Secrets key (outbound credentials)".into(),
        other => other.replace('_', " "),
    }
}

#[component]
fn Checks(checks: Vec<ReadinessCheck>) -> impl IntoView {
    view! {
        <ul class="mt-3 space-y-1 text-sm" id="system-checks" aria-label="Readiness checks">
            {checks.into_iter().map(|c| {
                let (badge, word) = match (c.ok, c.required) {
                    (true, _) => ("badge badge-ok", "OK"),
                    (false, true) => ("badge badge-bad", "Failing"),
                    (false, false) => ("badge badge-warn", "Degraded"),
                };
                view! {
                    <li data-check=c.name.clone()>
                        <span class=badge>{word}</span>" "
                        <span class="font-medium">{check_label(&c.name)}</span>": "{c.detail.clone()}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn SettingsTable(settings: Vec<Setting>) -> impl IntoView {
    view! {
        <div class="mt-2 card overflow-x-auto">
            <table class="w-full text-left text-sm" id="settings-table">
                <caption class="sr-only">"Every setting read at start, with its value"</caption>
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Setting"</th>
                        <th scope="col" class="px-3 py-2">"Value"</th>
                    </tr>
                </thead>
                <tbody>
                    {settings.into_iter().map(|s| {
                        let value = match &s.value {
                            Some(v) => view! { <span class=if s.redacted { "italic" } else { "font-mono break-all" }>{v.clone()}</span> }.into_any(),
                            None => view! { <span class="text-slate-500 dark:text-slate-400">"default"</span> }.into_any(),
                        };
                        view! {
                            <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-setting=s.name.clone()>
                                <th scope="row" class="px-3 py-2 font-mono text-xs font-normal">{s.name.clone()}</th>
                                <td class="px-3 py-2 text-xs">{value}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
