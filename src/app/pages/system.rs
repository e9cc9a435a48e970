//! `/system` (administrators and auditors): this instance's build, checks and effective
//! configuration (issue 18, system_info.rs); which instance answered, which one runs each
//! background task once for all of them (holder, since when, last run, runs, last error), and
//! which one delivers to each destination now (issue 17, several instances).
use crate::api::system::system_background;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::audit_sinks::time_or_never;
use crate::app::pages::system_info::InstanceInfo;
use crate::model::system::{describe_task, BackgroundTask, BackgroundWork, DeliveryLease};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;

/// A period in words: "500 ms", "60 s", "10 min", "24 h".
pub fn period_text(ms: i64) -> String {
    match ms {
        ms if ms <= 0 => "—".into(),
        ms if ms < 1_000 => format!("{ms} ms"),
        ms if ms >= 3_600_000 && ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms >= 60_000 && ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms / 1_000),
    }
}

#[component]
pub fn SystemPage() -> impl IntoView {
    let (refreshed, refresh) = signal(0u32);
    let work = Resource::new(move || refreshed.get(), |_| system_background());
    view! {
        <Title text="System" />
        <div class="flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold">"System"</h1>
            <button type="button" class="btn-ghost ml-auto" id="refresh-system" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        </div>
        <InstanceInfo refreshed />
        <p class="mt-8 text-sm text-slate-600 dark:text-slate-300">
            "Several Gatehouse instances can serve behind a load balancer (PostgreSQL). Work that must happen once runs on the instance holding its lease; an instance renews its leases every few seconds, and when one stops, another takes its work over within 15 seconds."
        </p>
        <Transition fallback=Loading>
            {move || work.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(w) => view! { <Work work=w /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Work(work: BackgroundWork) -> impl IntoView {
    let single = (work.engine == "sqlite").then(|| view! {
        <p class="mt-2 text-sm" id="single-instance">"SQLite: one instance only (a second one on the same database file refuses to start). Use PostgreSQL to run several."</p>
    });
    view! {
        <section class="mt-4 card p-4" aria-labelledby="instance-h">
            <h2 id="instance-h" class="font-semibold">"This page"</h2>
            <p class="mt-1 text-sm">
                "Answered by "<span class="font-mono" id="answered-by">{work.answered_by.clone()}</span>
                ", running since "{format_utc(work.answered_by_started_at)}" ("{work.engine.clone()}")."
            </p>
            {single}
        </section>
        <section class="mt-4" aria-labelledby="tasks-h">
            <h2 id="tasks-h" class="text-lg font-semibold">"Background tasks (once across instances)"</h2>
            {if work.tasks.is_empty() {
                view! { <p class="mt-2 text-sm" id="tasks-empty">"No task has run yet."</p> }.into_any()
            } else {
                view! { <TaskTable tasks=work.tasks.clone() /> }.into_any()
            }}
        </section>
        <section class="mt-6" aria-labelledby="deliveries-h">
            <h2 id="deliveries-h" class="text-lg font-semibold">"Deliveries (one instance per destination)"</h2>
            {if work.deliveries.is_empty() {
                view! { <p class="mt-2 text-sm" id="deliveries-empty">"No provisioning target, webhook, Shared Signals receiver or SIEM sink is configured."</p> }.into_any()
            } else {
                view! { <DeliveryTable deliveries=work.deliveries.clone() /> }.into_any()
            }}
        </section>
    }
}

fn holder_cell(t: &BackgroundTask) -> String {
    match (&t.holder, t.held) {
        (Some(h), true) => h.clone(),
        (Some(h), false) => format!(
            "{h} (lease ran out {}; another instance takes over)",
            format_utc(t.lease_until)
        ),
        (None, _) => "Nobody (released; the next instance to look takes it)".into(),
    }
}

#[component]
fn TaskTable(tasks: Vec<BackgroundTask>) -> impl IntoView {
    view! {
        <div class="mt-2 card overflow-x-auto">
            <table class="w-full text-left text-sm" id="tasks-table">
                <caption class="sr-only">"Background tasks and the instance holding each"</caption>
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Task"</th>
                        <th scope="col" class="px-3 py-2">"Held by"</th>
                        <th scope="col" class="px-3 py-2">"Since"</th>
                        <th scope="col" class="px-3 py-2">"Lease until"</th>
                        <th scope="col" class="px-3 py-2">"Every"</th>
                        <th scope="col" class="px-3 py-2">"Last run"</th>
                        <th scope="col" class="px-3 py-2">"Runs"</th>
                        <th scope="col" class="px-3 py-2">"Last error"</th>
                    </tr>
                </thead>
                <tbody>
                    {tasks.into_iter().map(|t| {
                        let holder = holder_cell(&t);
                        let since = if t.holder.is_some() { format_utc(t.acquired_at) } else { "—".into() };
                        let error = if t.last_error.is_empty() { "—".to_string() } else { t.last_error.clone() };
                        view! {
                            <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-task=t.task.clone() data-held=t.held.to_string()>
                                <td class="px-3 py-2">
                                    <span class="font-mono">{t.task.clone()}</span>
                                    <span class="block text-xs text-slate-500">{describe_task(&t.task)}</span>
                                </td>
                                <td class="px-3 py-2 font-mono text-xs">{holder}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{since}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{time_or_never(t.lease_until)}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{period_text(t.every_ms)}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{time_or_never(t.last_run_at)}</td>
                                <td class="px-3 py-2">{t.runs}</td>
                                <td class="px-3 py-2 text-xs">{error}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeliveryTable(deliveries: Vec<DeliveryLease>) -> impl IntoView {
    view! {
        <div class="mt-2 card overflow-x-auto">
            <table class="w-full text-left text-sm" id="deliveries-table">
                <caption class="sr-only">"Destinations and the instance delivering to each"</caption>
                <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                    <tr>
                        <th scope="col" class="px-3 py-2">"Destination"</th>
                        <th scope="col" class="px-3 py-2">"Kind"</th>
                        <th scope="col" class="px-3 py-2">"Status"</th>
                        <th scope="col" class="px-3 py-2">"Delivering now"</th>
                        <th scope="col" class="px-3 py-2">"Last success"</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries.into_iter().map(|d| {
                        let holder = match &d.holder {
                            Some(h) => format!("{h} (until {})", format_utc(d.lease_until)),
                            None => "Nobody (idle: the next instance with due work takes it)".into(),
                        };
                        view! {
                            <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-kind=d.kind.clone() data-id=d.id.clone()>
                                <td class="px-3 py-2"><a class="link" href=d.href()>{d.name.clone()}</a></td>
                                <td class="px-3 py-2">{d.kind_label()}</td>
                                <td class="px-3 py-2">{d.status.clone()}</td>
                                <td class="px-3 py-2 font-mono text-xs">{holder}</td>
                                <td class="px-3 py-2 whitespace-nowrap">{time_or_never(d.last_success_at)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::period_text;

    #[test]
    fn periods_read_in_their_unit() {
        assert_eq!(period_text(500), "500 ms");
        assert_eq!(period_text(60_000), "1 min");
        assert_eq!(period_text(90_000), "90 s");
        assert_eq!(period_text(600_000), "10 min");
        assert_eq!(period_text(86_400_000), "24 h");
        assert_eq!(period_text(0), "—");
    }
}
