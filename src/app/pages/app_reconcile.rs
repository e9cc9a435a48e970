//! Reconciliation of an application's provisioning target, on its page: "Check now", the last
//! report (counts and drift rows), "Fix" per row and "Fix all". Every button is a plain form
//! (ActionForm), and the report is read from the database, so it works without JavaScript.
use crate::api::provisioning::{get_reconciliation, CheckDrift, FixAllDrift, FixDrift};
use crate::app::components::ErrorBox;
use crate::app::pages::apps::{can, detail_row, Me};
use crate::model::reconcile::{drift_label, DriftRow, ReconciliationReport};
use crate::model::time::format_utc;
use crate::model::Permission;
use leptos::prelude::*;
use leptos_router::components::A;

const GHOST: &str = "btn-ghost border border-slate-300 dark:border-slate-700";

#[component]
pub fn AppReconcile(
    app_id: Signal<String>,
    me: Me,
    /// Changes when the target is saved (a new target can be checked at once).
    saved: Signal<usize>,
    /// "Check now", whose button sits with the target (it exists only when there is one).
    check: ServerAction<CheckDrift>,
) -> impl IntoView {
    let fix = ServerAction::<FixDrift>::new();
    let fix_all = ServerAction::<FixAllDrift>::new();
    let report = Resource::new(
        move || {
            (
                app_id.get(),
                saved.get(),
                check.version().get(),
                fix.version().get(),
                fix_all.version().get(),
            )
        },
        |(id, ..)| get_reconciliation(id),
    );
    let action_error = move || {
        check
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| fix.value().get().and_then(|r| r.err()))
            .or_else(|| fix_all.value().get().and_then(|r| r.err()))
    };
    let can_write = can(me, Permission::WriteApps);
    // Shown once a check was made (the button is in the target's section).
    view! {
        {move || action_error().map(|e| view! { <div class="mt-3"><ErrorBox error=e /></div> })}
        <Transition fallback=|| ()>
            {move || report.get().map(|r| match r {
                Ok(None) => ().into_any(),
                r => view! {
                    <section class="mt-6" aria-labelledby="reconcile-h">
                        <h3 id="reconcile-h" class="text-base font-semibold">"Reconciliation"</h3>
                        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                            "Compares the application's users (by externalId, the person's GUID) with what Gatehouse decides. Users there without an externalId are the application's own and are only counted."
                        </p>
                        {match r {
                            Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                            Ok(None) => ().into_any(),
                            Ok(Some(report)) => view! { <Report report app_id can_write fix fix_all /> }.into_any(),
                        }}
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

/// "Check now", shown with the target.
#[component]
pub fn CheckNow(app_id: Signal<String>, check: ServerAction<CheckDrift>) -> impl IntoView {
    view! {
        <ActionForm action=check attr:class="mt-3" attr:id="reconcile-check-form">
            <input type="hidden" name="id" value=app_id.get_untracked() />
            <button type="submit" class=GHOST id="reconcile-check" disabled=move || check.pending().get()>"Check now (reconcile)"</button>
        </ActionForm>
    }
}

#[component]
fn Report(
    report: ReconciliationReport,
    app_id: Signal<String>,
    can_write: bool,
    fix: ServerAction<FixDrift>,
    fix_all: ServerAction<FixAllDrift>,
) -> impl IntoView {
    let c = report.counts.clone();
    let open = report.open_rows();
    let when = format!("{} by {}", format_utc(report.checked_at), report.checked_by);
    let fixed = if report.fixed_at > 0 {
        format!(
            "{} fixed, {} failed (last fix {})",
            c.fixed,
            c.failed,
            format_utc(report.fixed_at)
        )
    } else {
        "Nothing fixed yet".to_string()
    };
    let body = match (&report.error, report.rows.is_empty()) {
        (Some(error), _) => view! {
            <div class="mt-3 rounded-md border border-red-300 bg-red-50 p-4 text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200" role="alert" id="reconcile-error">
                {format!("The check could not read the application: {error}")}
            </div>
        }
        .into_any(),
        (None, true) => view! {
            <p class="mt-3 text-sm" id="reconcile-empty">"No drift found"</p>
        }
        .into_any(),
        (None, false) => view! {
            <DriftTable rows=report.rows.clone() app_id can_write fix />
            {report.truncated.then(|| view! {
                <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">"Only the first 1,000 rows are listed; fix them and check again for the rest."</p>
            })}
            {(can_write && open > 0).then(|| view! {
                <ActionForm action=fix_all attr:class="mt-3" attr:id="reconcile-fix-all-form">
                    <input type="hidden" name="id" value=app_id.get_untracked() />
                    <button type="submit" class="btn-primary" id="reconcile-fix-all" disabled=move || fix_all.pending().get()>
                        {format!("Fix all ({open})")}
                    </button>
                </ActionForm>
            })}
        }
        .into_any(),
    };
    view! {
        <dl class="mt-3 card px-4 divide-y divide-slate-200 dark:divide-slate-800" id="reconcile-report">
            {detail_row("Last check", view! { <span id="reconcile-checked">{when}</span> })}
            {detail_row("Missing there", view! { <span id="reconcile-missing">{c.missing}</span> })}
            {detail_row("Extra there", view! { <span id="reconcile-extra">{c.extra}</span> })}
            {detail_row("Different there", view! { <span id="reconcile-different">{c.different}</span> })}
            {detail_row("Inactive here, active there", view! { <span id="reconcile-inactive">{c.inactive_here_active_there}</span> })}
            {detail_row("Not Gatehouse's (no externalId)", view! { <span id="reconcile-unmanaged">{c.unmanaged}</span> })}
            {detail_row("Compared", format!("{} people here, {} users there", c.checked_here, c.read_there))}
            {detail_row("Fixes", view! { <span id="reconcile-fixes">{fixed}</span> })}
        </dl>
        {body}
    }
}

#[component]
fn DriftTable(
    rows: Vec<DriftRow>,
    app_id: Signal<String>,
    can_write: bool,
    fix: ServerAction<FixDrift>,
) -> impl IntoView {
    view! {
        <div class="mt-3 overflow-x-auto">
            <table class="table" id="reconcile-rows">
                <caption class="sr-only">"Accounts where the application and Gatehouse disagree"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Person (GUID)"</th>
                        <th scope="col">"Drift"</th>
                        <th scope="col">"Account there"</th>
                        <th scope="col">"Differs in"</th>
                        <th scope="col">"State"</th>
                        {can_write.then(|| view! { <th scope="col"><span class="sr-only">"Fix"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let person = if row.known {
                            let (href, text) = (format!("/guids/{}", row.guid), row.guid.clone());
                            view! { <A href=href attr:class="link font-mono">{text}</A> }.into_any()
                        } else {
                            view! { <span class="font-mono" title="No person in Gatehouse has this GUID">{format!("{} (unknown)", row.guid)}</span> }.into_any()
                        };
                        let there = match &row.remote_id {
                            Some(id) => format!("{} ({}, id {id})", row.user_name, if row.active_there { "active" } else { "inactive" }),
                            None => format!("None (Gatehouse sends {})", row.user_name),
                        };
                        let (state_class, state) = match row.state.as_str() {
                            "fixed" => ("badge badge-ok", "Fixed".to_string()),
                            "failed" => ("badge badge-bad", "Fix failed".to_string()),
                            _ => ("badge", "Open".to_string()),
                        };
                        let error = row.error.clone();
                        let label = format!("Fix the drift of {}", if row.user_name.is_empty() { &row.guid } else { &row.user_name });
                        let guid = row.guid.clone();
                        let fixable = can_write && row.state != "fixed";
                        view! {
                            <tr data-guid=row.guid.clone() data-kind=row.kind.clone() data-state=row.state.clone()>
                                <td>{person}</td>
                                <td>{drift_label(&row.kind)}</td>
                                <td class="break-all">{there}</td>
                                <td>{row.attributes.join(", ")}</td>
                                <td>
                                    <span class=state_class>{state}</span>
                                    {error.map(|e| view! { <p class="mt-1 text-sm text-red-700 dark:text-red-300 break-all">{e}</p> })}
                                </td>
                                {can_write.then(|| view! {
                                    <td>
                                        {fixable.then(|| view! {
                                            <ActionForm action=fix>
                                                <input type="hidden" name="id" value=app_id.get_untracked() />
                                                <input type="hidden" name="guid" value=guid.clone() />
                                                <button type="submit" class=GHOST aria-label=label.clone() data-fix=guid.clone()>"Fix"</button>
                                            </ActionForm>
                                        })}
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
