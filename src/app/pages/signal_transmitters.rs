//! Shared Signals transmitters (administrators), Gatehouse as receiver: identity providers and
//! other systems that push Security Event Tokens about Gatehouse's users here (sign-ins,
//! refused sign-ins, credential changes), and registering a new one. Part of the `/signals` page.
use crate::api::signal_transmitters::{list_transmitters, CreateTransmitter};
use crate::api::signals::SignalsOverview;
use crate::api::sources::list_sources;
use crate::app::components::{ErrorBox, Loading};
use crate::app::pages::app_form::{field_error, general_error};
use crate::model::ssf::TransmitterView;
use crate::model::time::format_utc;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// Where transmitters push, below Gatehouse's public URL (RFC 8935).
const PUSH_PATH: &str = "/ssf/receive";
/// What an empty "oldest event accepted" means (one day), shown as the new form's value.
const DEFAULT_MAX_AGE_SECONDS: i64 = 86_400;

/// The push URL to give a transmitter, from the discovery URL of the overview (both sit on
/// Gatehouse's public URL); the detail page shows the one the server reports.
pub fn push_url_of(discovery_url: &str) -> String {
    let base = discovery_url
        .strip_suffix("/.well-known/ssf-configuration")
        .unwrap_or(discovery_url);
    format!("{base}{PUSH_PATH}")
}

/// "Never" or the time, for a Unix ms field where 0 means "not yet".
pub fn time_or_never(ms: i64) -> String {
    if ms == 0 {
        "Never".into()
    } else {
        format_utc(ms)
    }
}

/// The transmitter's state in words and the badge it wears.
pub fn transmitter_state(t: &TransmitterView) -> (&'static str, String) {
    match t.status.as_str() {
        "active" if t.key_count == 0 => ("badge badge-warn", "Active, no keys yet".into()),
        "active" => ("badge badge-ok", "Active".into()),
        "disabled" => ("badge", "Disabled".into()),
        other => ("badge badge-warn", other.to_string()),
    }
}

/// The last segment of an event type URI or URN (`…/caep/event-type/session-established` →
/// `session-established`), for tables; the full URI goes in a title.
pub fn short_event_type(uri: &str) -> &str {
    uri.trim_end_matches(['/', ':'])
        .rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(uri)
}

/// `max_age_seconds` in words: "86400 s (1 day)".
pub fn max_age_text(seconds: i64) -> String {
    match seconds {
        s if s > 0 && s % 86_400 == 0 => {
            format!("{s} s ({} day{})", s / 86_400, plural(s / 86_400))
        }
        s if s > 0 && s % 3_600 == 0 => format!("{s} s ({} hour{})", s / 3_600, plural(s / 3_600)),
        s => format!("{s} s"),
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The second section of `/signals`: registered transmitters and the form to add one.
#[component]
pub fn TransmitterSection(overview: Resource<Result<SignalsOverview, AppError>>) -> impl IntoView {
    let create = ServerAction::<CreateTransmitter>::new();
    let transmitters = Resource::new(move || create.version().get(), |_| list_transmitters());
    let push_url = move || {
        overview
            .get()
            .and_then(|r| r.ok())
            .map(|o| push_url_of(&o.discovery_url))
            .unwrap_or_default()
    };
    view! {
        <section class="mt-10" aria-labelledby="transmitters-h">
            <h2 id="transmitters-h" class="text-xl font-semibold">"Transmitters (Gatehouse receives)"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                "Identity providers and other systems that tell Gatehouse of security events about its users as they happen: a sign-in (which becomes the user's last sign-in), a refused sign-in, a credential added or removed. Each event arrives as a Security Event Token pushed to Gatehouse (RFC 8935) and is accepted only when signed by a key the transmitter publishes."
            </p>
            <Transition fallback=Loading>
                {move || transmitters.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="mt-4 card p-6" id="transmitters-empty">
                            <p>"No transmitter yet. A transmitter is a system, usually your identity provider, that signs security events about your users and pushes them here. Register it below with its issuer URL (Gatehouse finds its keys through the issuer's "<code class="font-mono">"/.well-known/ssf-configuration"</code>"), then configure it to push to:"</p>
                            <p class="mt-2"><code class="font-mono break-all" id="transmitters-push-url">{push_url}</code></p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <p class="mt-3 text-sm">"Transmitters push to "<code class="font-mono break-all" id="transmitters-push-url">{push_url}</code></p>
                        <div class="mt-2 card overflow-x-auto"><TransmitterTable transmitters=list /></div>
                    }.into_any(),
                })}
            </Transition>
            <NewTransmitter create />
        </section>
    }
}

#[component]
fn TransmitterTable(transmitters: Vec<TransmitterView>) -> impl IntoView {
    view! {
        <table class="w-full text-left text-sm" id="transmitters-table">
            <caption class="sr-only">"Registered transmitters"</caption>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Transmitter"</th>
                    <th scope="col" class="px-3 py-2">"Issuer"</th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Keys"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Received"</th>
                    <th scope="col" class="px-3 py-2 text-right">"Rejected"</th>
                    <th scope="col" class="px-3 py-2">"Last received"</th>
                    <th scope="col" class="px-3 py-2">"Last error"</th>
                </tr>
            </thead>
            <tbody>
                {transmitters.into_iter().map(|t| {
                    let (class, state) = transmitter_state(&t);
                    let rejected_class = if t.rejected > 0 { "px-3 py-2 text-right tabular-nums text-red-700 dark:text-red-300" } else { "px-3 py-2 text-right tabular-nums" };
                    view! {
                        <tr class="border-t border-slate-200 dark:border-slate-800" data-transmitter=t.id.clone() data-issuer=t.issuer.clone()>
                            <td class="px-3 py-2">
                                <A href=format!("/signals/transmitters/{}", t.id) attr:class="link">{t.name.clone()}</A>
                            </td>
                            <td class="px-3 py-2 font-mono text-xs break-all">{t.issuer.clone()}</td>
                            <td class="px-3 py-2"><span class=class data-status=t.status.clone()>{state}</span></td>
                            <td class="px-3 py-2 text-right tabular-nums">{t.key_count}</td>
                            <td class="px-3 py-2 text-right tabular-nums">{t.received}</td>
                            <td class=rejected_class>{t.rejected}</td>
                            <td class="px-3 py-2 whitespace-nowrap">{time_or_never(t.last_received_at)}</td>
                            <td class="px-3 py-2 text-xs break-all">{if t.last_error.is_empty() { "—".to_string() } else { t.last_error.clone() }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn NewTransmitter(create: ServerAction<CreateTransmitter>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = Signal::derive(move || create.value().get().and_then(|r| r.ok()));
    view! {
        <section class="mt-8 card p-6" aria-labelledby="new-transmitter-h">
            <h3 id="new-transmitter-h" class="text-lg font-semibold">"Register a transmitter"</h3>
            <div aria-live="polite">
                {move || created.get().map(|t| view! {
                    <p class="mt-4 rounded-md bg-emerald-50 p-3 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" id="transmitter-created">
                        {format!("Registered {} with {} key{}. ", t.name, t.key_count, if t.key_count == 1 { "" } else { "s" })}
                        <A href=format!("/signals/transmitters/{}", t.id) attr:class="link">"Go to the transmitter"</A>
                    </p>
                })}
            </div>
            <SourceOptions />
            <ActionForm action=create attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="new-transmitter-form">
                <TransmitterFields transmitter=None error />
                {move || general_error(error.get()).map(|e| view! { <div class="sm:col-span-2"><ErrorBox error=e /></div> })}
                <p><button type="submit" class="btn-primary" id="create-transmitter" disabled=move || create.pending().get()>"Register transmitter"</button></p>
            </ActionForm>
        </section>
    }
}

/// The provisioning sources, offered as values of the source field (`list="transmitter-sources"`).
/// Its own resource: render it outside any `Transition` of the page.
#[component]
pub fn SourceOptions() -> impl IntoView {
    let sources = Resource::new(|| (), |_| list_sources());
    view! {
        <datalist id="transmitter-sources">
            <Transition>
                {move || sources.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|s| view! {
                    <option value=s.id.clone()>{s.name.clone()}</option>
                }).collect_view())}
            </Transition>
        </datalist>
    }
}

/// The fields of a registration (`input[...]`), for registering and for changing it.
#[component]
pub fn TransmitterFields(
    transmitter: Option<TransmitterView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message =
        move |field: &'static str| move || error.get().and_then(|e| field_error(&e, field));
    let invalid = move |field: &'static str| move || message(field)().is_some().to_string();
    let t = transmitter.as_ref();
    let name = t.map(|t| t.name.clone()).unwrap_or_default();
    let issuer = t.map(|t| t.issuer.clone()).unwrap_or_default();
    let jwks_uri = t.map(|t| t.jwks_uri.clone()).unwrap_or_default();
    let audience = t.map(|t| t.audience.clone()).unwrap_or_default();
    let source = t.and_then(|t| t.source_id.clone()).unwrap_or_default();
    let max_age = t
        .map(|t| t.max_age_seconds)
        .unwrap_or(DEFAULT_MAX_AGE_SECONDS)
        .to_string();
    view! {
        <div>
            <label for="transmitter-name" class="block text-sm font-medium">"Name"</label>
            <input id="transmitter-name" name="input[name]" class="input mt-1 w-full" required maxlength="100" value=name
                placeholder="Corporate identity provider" aria-invalid=invalid("name") aria-describedby="transmitter-name-error" />
            <p id="transmitter-name-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
        </div>
        <div>
            <label for="transmitter-issuer" class="block text-sm font-medium">"Issuer (the iss of its tokens)"</label>
            <input id="transmitter-issuer" name="input[issuer]" type="url" class="input mt-1 w-full font-mono" required maxlength="300" value=issuer
                placeholder="https://idp.example.com" aria-invalid=invalid("issuer") aria-describedby="transmitter-issuer-error" />
            <p id="transmitter-issuer-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("issuer")}</p>
        </div>
        <div>
            <label for="transmitter-jwks" class="block text-sm font-medium">"JWKS URL (optional; empty: found through the issuer)"</label>
            <input id="transmitter-jwks" name="input[jwks_uri]" type="url" class="input mt-1 w-full font-mono" maxlength="300" value=jwks_uri
                aria-invalid=invalid("jwks_uri") aria-describedby="transmitter-jwks-error" />
            <p id="transmitter-jwks-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("jwks_uri")}</p>
        </div>
        <div>
            <label for="transmitter-audience" class="block text-sm font-medium">"Audience (optional; empty: Gatehouse's public URL)"</label>
            <input id="transmitter-audience" name="input[audience]" class="input mt-1 w-full font-mono" maxlength="300" value=audience
                aria-invalid=invalid("audience") aria-describedby="transmitter-audience-error" />
            <p id="transmitter-audience-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("audience")}</p>
        </div>
        <div>
            <label for="transmitter-source" class="block text-sm font-medium">"Users it speaks for: source (optional; empty: all users)"</label>
            <input id="transmitter-source" name="input[source_id]" list="transmitter-sources" class="input mt-1 w-full font-mono" maxlength="100" value=source
                aria-invalid=invalid("source_id") aria-describedby="transmitter-source-error" />
            <p id="transmitter-source-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("source_id")}</p>
        </div>
        <div>
            <label for="transmitter-max-age" class="block text-sm font-medium">"Oldest event accepted (seconds; 0: one day)"</label>
            <input id="transmitter-max-age" name="input[max_age_seconds]" type="number" min="0" step="1" class="input mt-1 w-40" required value=max_age
                aria-invalid=invalid("max_age_seconds") aria-describedby="transmitter-max-age-error" />
            <p id="transmitter-max-age-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("max_age_seconds")}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_shortened_to_their_last_segment() {
        assert_eq!(
            short_event_type(
                "https://schemas.openid.net/secevent/caep/event-type/session-established"
            ),
            "session-established"
        );
        assert_eq!(
            short_event_type("urn:gatehouse:secevent:sign-in-failed"),
            "sign-in-failed"
        );
        assert_eq!(short_event_type("plain"), "plain");
        assert_eq!(short_event_type("https://x.example/a/"), "a");
        assert_eq!(short_event_type(""), "");
    }

    #[test]
    fn push_url_sits_beside_discovery() {
        assert_eq!(
            push_url_of("https://gh.example/.well-known/ssf-configuration"),
            "https://gh.example/ssf/receive"
        );
    }

    #[test]
    fn max_age_in_words() {
        assert_eq!(max_age_text(86_400), "86400 s (1 day)");
        assert_eq!(max_age_text(7_200), "7200 s (2 hours)");
        assert_eq!(max_age_text(90), "90 s");
    }
}
