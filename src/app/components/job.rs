//! The progress of a job (bulk action, import), polled until it finishes, then its report.
use crate::api::jobs::get_job;
use crate::app::components::ErrorBox;
use crate::model::jobs::{Job, JobState};
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn JobProgress(
    id: String,
    /// Called once when the job has finished.
    #[prop(optional)]
    on_finished: Option<Callback<Job>>,
    /// An audit verification (read with the auditors' permission) rather than a users job.
    #[prop(optional)]
    audit: bool,
) -> impl IntoView {
    let (tick, set_tick) = signal(0u32);
    let job = Resource::new(
        move || (id.clone(), tick.get()),
        move |(id, _)| async move {
            if audit {
                crate::api::audit::audit_job(id).await
            } else {
                get_job(id).await
            }
        },
    );
    let finished = move |j: &Option<Result<Job, _>>| matches!(j, Some(Ok(j)) if j.state.finished());
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !finished(&job.get_untracked()) {
                    set_tick.update(|n| *n += 1);
                }
            },
            Duration::from_millis(600),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let reported = StoredValue::new(false);
    Effect::new(move |_| {
        if let Some(Ok(j)) = job.get() {
            if j.state.finished() && !reported.get_value() {
                reported.set_value(true);
                if let Some(cb) = on_finished {
                    cb.run(j);
                }
            }
        }
    });
    view! {
        <Transition fallback=|| view! { <p aria-live="polite">"Starting…"</p> }>
            {move || job.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(j) => view! { <JobView job=j /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn JobView(job: Job) -> impl IntoView {
    let (label, tone) = match job.state {
        JobState::Validating => ("Checking every line…", ""),
        JobState::Running => ("Working…", ""),
        JobState::Done => ("Done", "text-emerald-700 dark:text-emerald-300"),
        JobState::Rejected => ("Nothing was changed", "text-red-700 dark:text-red-300"),
        JobState::Failed => ("Stopped by an error", "text-red-700 dark:text-red-300"),
    };
    let pct = job.percent();
    let more = job.report.problem_count as usize
        - job
            .report
            .problems
            .len()
            .min(job.report.problem_count as usize);
    view! {
        <div class="card p-4" id="job" data-state=job.state.as_str()>
            <p class=format!("font-semibold {tone}") id="job-state" aria-live="polite">{label}</p>
            <div class="mt-2 flex items-center gap-3">
                <progress class="h-2 w-full accent-indigo-600" max="100" value=pct aria-label="Progress">{format!("{pct}%")}</progress>
                <span class="whitespace-nowrap text-sm tabular-nums" id="job-count">{format!("{} / {}", job.done, job.total)}</span>
            </div>
            {(!job.summary.is_empty()).then(|| view! { <p class="mt-3" id="job-summary">{job.summary.clone()}</p> })}
            {(!job.report.problems.is_empty()).then(|| view! {
                <h3 class="mt-4 font-semibold">{format!("Problems ({})", job.report.problem_count)}</h3>
                <div class="mt-2 max-h-96 overflow-auto rounded border border-slate-200 dark:border-slate-800">
                    <table class="w-full text-left text-sm" id="job-problems">
                        <thead class="sticky top-0 bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                            <tr><th scope="col" class="px-3 py-2">"Line"</th><th scope="col" class="px-3 py-2">"Account"</th><th scope="col" class="px-3 py-2">"Problem"</th></tr>
                        </thead>
                        <tbody>
                            {job.report.problems.iter().map(|p| view! {
                                <tr class="border-t border-slate-200 dark:border-slate-800" data-line=p.line>
                                    <td class="px-3 py-1 tabular-nums">{if p.line == 0 { "—".to_string() } else { p.line.to_string() }}</td>
                                    <td class="px-3 py-1 break-all">{p.subject.clone()}</td>
                                    <td class="px-3 py-1">{p.message.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                {(more > 0).then(|| view! { <p class="mt-2 text-sm">{format!("…and {more} more problems not listed. Fix these first, then upload again.")}</p> })}
            })}
        </div>
    }
}
