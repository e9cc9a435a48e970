//! Streaming to the SIEM: the sinks' state on the audit page (everyone who reads the log), and
//! `/audit/sinks` (administrators), where sinks are listed and made.
use crate::api::audit_sinks::{list_audit_sinks, CreateAuditSink};
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::model::audit_sinks::{
    sink_state, AuditSinkView, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, SINK_FORMATS, SINK_KINDS,
};
use crate::model::time::format_utc;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// "Never" or the time, for a Unix ms field where 0 means "not yet".
pub fn time_or_never(ms: i64) -> String {
    if ms == 0 {
        "Never".into()
    } else {
        format_utc(ms)
    }
}

/// A lag in seconds, in words: "0 s", "95 s (2 min)", "7200 s (2 h)".
pub fn lag_text(seconds: i64) -> String {
    match seconds {
        s if s >= 7_200 => format!("{s} s ({} h)", s / 3_600),
        s if s >= 120 => format!("{s} s ({} min)", s / 60),
        s => format!("{s} s"),
    }
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "hec" => "Splunk HEC",
        "ndjson" => "NDJSON webhook",
        "syslog" => "Syslog (TCP)",
        _ => "Unknown",
    }
}

pub fn format_label(format: &str) -> &'static str {
    if format == "ocsf" {
        "OCSF"
    } else {
        "Gatehouse JSON"
    }
}

/// The audit page's "Streaming to the SIEM" section: each sink's state. Its own resource:
/// render it outside the page's `Transition`.
#[component]
pub fn StreamingStatus(manage: Signal<bool>) -> impl IntoView {
    let sinks = Resource::new(|| (), |_| list_audit_sinks());
    view! {
        <section class="mt-3 card p-4" id="streaming" aria-labelledby="streaming-h">
            <div class="flex flex-wrap items-center gap-3">
                <h2 id="streaming-h" class="font-semibold">"Streaming to the SIEM"</h2>
                {move || manage.get().then(|| view! {
                    <A href="/audit/sinks" attr:class="link ml-auto text-sm" attr:id="manage-sinks">"Manage sinks"</A>
                })}
            </div>
            <Transition fallback=Loading>
                {move || sinks.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-2 text-sm" id="streaming-empty">"The audit log is not streamed anywhere. An administrator can add a sink: a Splunk HTTP Event Collector, an NDJSON webhook or a syslog server."</p>
                    }.into_any(),
                    Ok(list) => view! { <div class="mt-2 overflow-x-auto"><SinkTable sinks=list link=manage.get() /></div> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Sinks with their state; names link to their page when `link`.
#[component]
pub fn SinkTable(sinks: Vec<AuditSinkView>, link: bool) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="sinks-table">
            <caption class="sr-only">"Audit sinks and how far each has received the chain"</caption>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Sink"</th>
                    <th scope="col" class="px-3 py-2">"Kind"</th>
                    <th scope="col" class="px-3 py-2">"State"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Cursor"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Lag (events)"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Lag (time)"</th>
                    <th scope="col" class="px-3 py-2">"Last delivery"</th>
                    <th scope="col" class="px-3 py-2">"Last error"</th>
                </tr>
            </thead>
            <tbody>
                {sinks.into_iter().map(|s| {
                    let (badge, state) = sink_state(&s);
                    let href = format!("/audit/sinks/{}", s.id);
                    let label = s.name.clone();
                    let name = if link {
                        view! { <A href=href attr:class="link">{label}</A> }.into_any()
                    } else {
                        view! { <span>{s.name.clone()}</span> }.into_any()
                    };
                    let source = (s.source == "env").then(|| view! { <span class="block text-xs text-slate-500 dark:text-slate-400">"from GATEHOUSE_AUDIT_SINKS"</span> });
                    let error = if s.last_error.is_empty() {
                        "—".to_string()
                    } else {
                        format!("{} ({})", s.last_error, format_utc(s.last_error_at))
                    };
                    view! {
                        <tr class="border-t border-slate-200 dark:border-slate-800" data-sink=s.id.clone() data-name=s.name.clone()>
                            <td class="px-3 py-2">{name}{source}</td>
                            <td class="px-3 py-2">{kind_label(&s.kind)}" · "{format_label(&s.format)}</td>
                            <td class="px-3 py-2"><span class=badge data-status=s.status.clone()>{state}</span></td>
                            <td class="px-3 py-2 text-right tabular-nums" data-cursor=s.cursor>{s.cursor}</td>
                            <td class="px-3 py-2 text-right tabular-nums" data-lag=s.lag_events>{s.lag_events}</td>
                            <td class="px-3 py-2 text-right tabular-nums">{lag_text(s.lag_seconds)}</td>
                            <td class="px-3 py-2 whitespace-nowrap">{time_or_never(s.delivered_at)}</td>
                            <td class="px-3 py-2 text-xs break-all">{error}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/audit/sinks`: the sinks and the form to make one (administrators).
#[component]
pub fn AuditSinks() -> impl IntoView {
    let create = ServerAction::<CreateAuditSink>::new();
    let sinks = Resource::new(move || create.version().get(), |_| list_audit_sinks());
    view! {
        <Title text="Streaming to the SIEM" />
        <p class="text-sm"><A href="/audit" attr:class="link">"← Audit log"</A></p>
        <h1 class="mt-2 text-2xl font-semibold">"Streaming to the SIEM"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Each sink receives the whole audit log in chain order, at least once and without gaps: Gatehouse keeps a cursor per sink (the last event the sink acknowledged) and resumes right after it after an outage or a restart. Every event carries its sequence number, its hash and the previous event's hash, so the SIEM can check the chain (docs/audit-chain.md)."
        </p>
        <Transition fallback=Loading>
            {move || sinks.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <div class="mt-6 card p-6" id="sinks-empty">
                        <p>"No sink yet. Add one below: it starts with the record of its own creation, or with the event you name."</p>
                    </div>
                }.into_any(),
                Ok(list) => view! { <div class="mt-4 card overflow-x-auto"><SinkTable sinks=list link=true /></div> }.into_any(),
            })}
        </Transition>
        <NewSink create />
    }
}

#[component]
fn NewSink(create: ServerAction<CreateAuditSink>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = Signal::derive(move || create.value().get().and_then(|r| r.ok()));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-sink-h">
            <h2 id="new-sink-h" class="text-lg font-semibold">"Add a sink"</h2>
            <div aria-live="polite">
                {move || created.get().map(|s| view! {
                    <p class="mt-4 rounded-md bg-emerald-50 p-3 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" id="sink-created">
                        {format!("Added {}: it starts after event {}. ", s.name, s.cursor)}
                        <A href=format!("/audit/sinks/{}", s.id) attr:class="link">"Go to the sink"</A>
                    </p>
                })}
            </div>
            <ActionForm action=create attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="new-sink-form">
                <SinkFields sink=None error />
                <div>
                    <label for="sink-from" class="block text-sm font-medium">"Start from event (optional; empty: from now on)"</label>
                    <input id="sink-from" name="input[from_seq]" type="number" min="1" step="1" class="input mt-1 w-40"
                        aria-invalid=move || error.get().and_then(|e| field_error(&e, "from_seq")).is_some().to_string()
                        aria-describedby="sink-from-error" />
                    <p id="sink-from-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{move || error.get().and_then(|e| field_error(&e, "from_seq"))}</p>
                </div>
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p class="sm:col-span-2"><button type="submit" class="btn-primary" id="create-sink" disabled=move || create.pending().get()>"Add sink"</button></p>
            </ActionForm>
        </section>
    }
}

/// The fields of a sink (`input[...]`), for making one and for changing it.
#[component]
pub fn SinkFields(sink: Option<AuditSinkView>, error: Signal<Option<AppError>>) -> impl IntoView {
    let message =
        move |field: &'static str| move || error.get().and_then(|e| field_error(&e, field));
    let invalid = move |field: &'static str| move || message(field)().is_some().to_string();
    let s = sink.as_ref();
    let name = s.map(|s| s.name.clone()).unwrap_or_default();
    let kind = s.map(|s| s.kind.clone()).unwrap_or_else(|| "hec".into());
    let format = s
        .map(|s| s.format.clone())
        .unwrap_or_else(|| "gatehouse".into());
    let url = s.map(|s| s.url.clone()).unwrap_or_default();
    let batch = s
        .map(|s| s.batch_size)
        .unwrap_or(DEFAULT_BATCH_SIZE)
        .to_string();
    let token_note = match s.map(|s| s.token_hint.clone()) {
        Some(hint) if !hint.is_empty() => format!("A token ending in {hint} is stored; leave empty to keep it."),
        _ => "HEC: the HEC token (required). NDJSON: the Authorization header's value, e.g. \"Bearer …\" (optional). Syslog: none.".to_string(),
    };
    view! {
        <div>
            <label for="sink-name" class="block text-sm font-medium">"Name"</label>
            <input id="sink-name" name="input[name]" class="input mt-1 w-full" required maxlength="100" value=name
                placeholder="Splunk (security)" aria-invalid=invalid("name") aria-describedby="sink-name-error" />
            <p id="sink-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
        </div>
        <div>
            <label for="sink-kind" class="block text-sm font-medium">"Kind"</label>
            <select id="sink-kind" name="input[kind]" class="input mt-1 w-full" aria-invalid=invalid("kind") aria-describedby="sink-kind-error">
                {SINK_KINDS.iter().map(|(key, label)| view! {
                    <option value=*key selected={kind == *key}>{format!("{} — {label}", kind_label(key))}</option>
                }).collect_view()}
            </select>
            <p id="sink-kind-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("kind")}</p>
        </div>
        <div class="sm:col-span-2">
            <label for="sink-url" class="block text-sm font-medium">"URL"</label>
            <input id="sink-url" name="input[url]" class="input mt-1 w-full font-mono" required maxlength="300" value=url
                placeholder="https://splunk.example.com:8088 · https://siem.example.com/ingest · tls://syslog.example.com:6514"
                aria-invalid=invalid("url") aria-describedby="sink-url-help sink-url-error" />
            <p id="sink-url-help" class="mt-1 text-xs text-slate-500 dark:text-slate-400">"HEC: the collector's base URL. NDJSON: the address POSTed to (HTTPS; plain HTTP only for localhost). Syslog: tcp://host:port, or tls://host:port for TLS (the server's certificate is checked against Mozilla's roots and GATEHOUSE_SIEM_CA_FILE)."</p>
            <p id="sink-url-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("url")}</p>
        </div>
        <div class="sm:col-span-2">
            <label for="sink-token" class="block text-sm font-medium">"Token (stored encrypted, never shown again)"</label>
            <input id="sink-token" name="input[token]" type="password" autocomplete="off" class="input mt-1 w-full font-mono" maxlength="4096"
                aria-invalid=invalid("token") aria-describedby="sink-token-help sink-token-error" />
            <p id="sink-token-help" class="mt-1 text-xs text-slate-500 dark:text-slate-400">{token_note}</p>
            <p id="sink-token-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("token")}</p>
        </div>
        <fieldset aria-describedby="sink-format-error">
            <legend class="text-sm font-medium">"Format"</legend>
            {SINK_FORMATS.iter().map(|(key, label)| view! {
                <label class="mt-1 flex items-start gap-2 text-sm">
                    <input type="radio" name="input[format]" value=*key checked={format == *key} />
                    <span>{*label}</span>
                </label>
            }).collect_view()}
            <p id="sink-format-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("format")}</p>
        </fieldset>
        <div>
            <label for="sink-batch" class="block text-sm font-medium">"Events per request"</label>
            <input id="sink-batch" name="input[batch_size]" type="number" min="1" max=MAX_BATCH_SIZE step="1" class="input mt-1 w-32" value=batch
                aria-invalid=invalid("batch_size") aria-describedby="sink-batch-error" />
            <p id="sink-batch-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("batch_size")}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_in_words() {
        assert_eq!(lag_text(0), "0 s");
        assert_eq!(lag_text(95), "95 s");
        assert_eq!(lag_text(600), "600 s (10 min)");
        assert_eq!(lag_text(7_200), "7200 s (2 h)");
    }
}
