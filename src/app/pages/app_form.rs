//! The register and edit form for an application, with the message for each wrong field next
//! to it. Field names are `input[...]`, as the create and update server functions expect.
use crate::model::apps::{AppDetail, AppInput, AppKind, GrantType};
use crate::model::AppError;
use leptos::prelude::*;

/// Every message about one field (a form can have several bad redirect URIs, say).
pub fn field_error(error: &AppError, name: &str) -> Option<String> {
    match error {
        AppError::Fields(list) => {
            let messages: Vec<&str> = list
                .iter()
                .filter(|(f, _)| f == name)
                .map(|(_, m)| m.as_str())
                .collect();
            (!messages.is_empty()).then(|| messages.join("; "))
        }
        other => other.field(name),
    }
}

/// Errors that are not about one field (shown under the form).
pub fn general_error(error: Option<AppError>) -> Option<AppError> {
    error.filter(|e| !matches!(e, AppError::Fields(_) | AppError::Invalid { .. }))
}

/// The grant types a new application of this kind starts with.
pub fn default_grants(kind: AppKind) -> Vec<GrantType> {
    match kind {
        AppKind::MachineToMachine => vec![GrantType::ClientCredentials],
        _ => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
    }
}

/// The form's starting values for a new application.
pub fn new_app_input() -> AppInput {
    AppInput {
        kind: AppKind::Web.as_str().into(),
        grant_types: default_grants(AppKind::Web)
            .into_iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        pkce_required: "on".into(),
        ..AppInput::default()
    }
}

/// The form's starting values for editing `app`.
pub fn input_of(app: &AppDetail) -> AppInput {
    AppInput {
        name: app.name.clone(),
        owner: app.owner_email.clone().unwrap_or_default(),
        kind: app.kind.as_str().into(),
        redirect_uris: app.redirect_uris.join("\n"),
        post_logout_redirect_uris: app.post_logout_redirect_uris.join("\n"),
        grant_types: app
            .grant_types
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        scopes: app.scopes.join(" "),
        pkce_required: if app.pkce_required { "on" } else { "" }.into(),
    }
}

fn grant_id(g: GrantType) -> String {
    format!("grant-{}", g.label().to_lowercase().replace(' ', "-"))
}

/// The message under a field, announced when it appears.
#[component]
fn FieldMessage(id: String, message: Signal<Option<String>>) -> impl IntoView {
    view! { <p id=id class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{move || message.get()}</p> }
}

#[component]
pub fn AppFields(
    initial: AppInput,
    /// Editing: the kind is shown but cannot change.
    #[prop(optional)]
    editing: bool,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = move |name: &'static str| {
        Signal::derive(move || error.get().and_then(|e| field_error(&e, name)))
    };
    let invalid = move |name: &'static str| {
        let m = message(name);
        move || m.get().is_some().to_string()
    };
    let start_kind = AppKind::parse(&initial.kind).unwrap_or(AppKind::Web);
    let kind = RwSignal::new(start_kind);
    let initial_grants = initial.grant_types.clone();
    let grants = move || {
        let k = kind.get();
        let grants: Vec<String> = if k == start_kind {
            initial_grants.clone()
        } else {
            default_grants(k)
                .into_iter()
                .map(|g| g.as_str().to_string())
                .collect()
        };
        GrantType::ALL
            .into_iter()
            .map(|g| {
                let allowed = k.allowed_grants().contains(&g);
                let checked = allowed && grants.iter().any(|s| s == g.as_str());
                view! {
                    <label class="flex items-center gap-2 text-sm" class:opacity-50=!allowed>
                        <input type="checkbox" name="input[grant_types][]" id=grant_id(g) value=g.as_str()
                            checked=checked disabled=!allowed />
                        {g.label()}
                        {(!allowed).then(|| view! { <span class="text-xs text-slate-500">"(not for this kind)"</span> })}
                    </label>
                }
            })
            .collect_view()
    };
    let no_redirects = move || kind.get() == AppKind::MachineToMachine;
    view! {
        <div class="grid gap-4 sm:grid-cols-2">
            <div>
                <label for="field-name" class="block text-sm font-medium">"Name"</label>
                <input id="field-name" name="input[name]" type="text" class="input mt-1 w-full" required
                    value=initial.name aria-invalid=invalid("name") aria-describedby="field-name-hint field-name-error" />
                <p id="field-name-hint" class="mt-1 text-xs text-slate-500">"Unique; as people will see it, e.g. Orders portal."</p>
                <FieldMessage id="field-name-error".into() message=message("name") />
            </div>
            <div>
                <label for="field-owner" class="block text-sm font-medium">"Owner (email)"</label>
                <input id="field-owner" name="input[owner]" type="email" class="input mt-1 w-full" required
                    value=initial.owner aria-invalid=invalid("owner") aria-describedby="field-owner-hint field-owner-error" />
                <p id="field-owner-hint" class="mt-1 text-xs text-slate-500">"The Gatehouse user responsible for this application."</p>
                <FieldMessage id="field-owner-error".into() message=message("owner") />
            </div>
            <div>
                <label for="field-kind" class="block text-sm font-medium">"Kind"</label>
                {if editing {
                    view! {
                        <input type="hidden" name="input[kind]" value=start_kind.as_str() />
                        <p id="field-kind" class="mt-1 py-2 text-sm">{start_kind.label()}</p>
                        <p class="mt-1 text-xs text-slate-500">"The kind cannot change; register a new application instead."</p>
                    }.into_any()
                } else {
                    view! {
                        <select id="field-kind" name="input[kind]" class="input mt-1 w-full"
                            aria-invalid=invalid("kind") aria-describedby="field-kind-hint field-kind-error"
                            on:change=move |ev| kind.set(AppKind::parse(&event_target_value(&ev)).unwrap_or(AppKind::Web))>
                            {AppKind::ALL.into_iter().map(|k| view! {
                                <option value=k.as_str() selected=k == start_kind>{k.label()}</option>
                            }).collect_view()}
                        </select>
                        <p id="field-kind-hint" class="mt-1 text-xs text-slate-500">
                            {move || if kind.get().is_confidential() {
                                "A confidential client: it gets a client secret, shown once."
                            } else {
                                "A public client: no secret; it must use PKCE."
                            }}
                        </p>
                    }.into_any()
                }}
                <FieldMessage id="field-kind-error".into() message=message("kind") />
            </div>
            <div>
                <label for="field-scopes" class="block text-sm font-medium">"Scopes"</label>
                <input id="field-scopes" name="input[scopes]" type="text" class="input mt-1 w-full font-mono"
                    value=initial.scopes aria-invalid=invalid("scopes") aria-describedby="field-scopes-hint field-scopes-error" />
                <p id="field-scopes-hint" class="mt-1 text-xs text-slate-500">
                    "Separated by spaces, e.g. orders:read orders:write. Add "<code>{crate::model::apps::VERIFY_SCOPE}</code>" for a gateway that verifies API keys."
                </p>
                <FieldMessage id="field-scopes-error".into() message=message("scopes") />
            </div>
            <div>
                <label for="field-redirect_uris" class="block text-sm font-medium">"Redirect URIs"</label>
                <textarea id="field-redirect_uris" name="input[redirect_uris]" rows="3" class="input mt-1 w-full font-mono disabled:cursor-not-allowed disabled:bg-slate-100 disabled:opacity-60 dark:disabled:bg-slate-800"
                    disabled=no_redirects aria-invalid=invalid("redirect_uris")
                    aria-describedby="field-redirect_uris-hint field-redirect_uris-error">{initial.redirect_uris}</textarea>
                <p id="field-redirect_uris-hint" class="mt-1 text-xs text-slate-500">
                    {move || if no_redirects() {
                        "A machine-to-machine application has no redirect URIs."
                    } else {
                        "One per line; https (http only for 127.0.0.1 or localhost), no wildcards or fragments."
                    }}
                </p>
                <FieldMessage id="field-redirect_uris-error".into() message=message("redirect_uris") />
            </div>
            <div>
                <label for="field-post_logout_redirect_uris" class="block text-sm font-medium">"Post-logout redirect URIs"</label>
                <textarea id="field-post_logout_redirect_uris" name="input[post_logout_redirect_uris]" rows="3" class="input mt-1 w-full font-mono disabled:cursor-not-allowed disabled:bg-slate-100 disabled:opacity-60 dark:disabled:bg-slate-800"
                    disabled=no_redirects aria-invalid=invalid("post_logout_redirect_uris")
                    aria-describedby="field-post_logout_redirect_uris-hint field-post_logout_redirect_uris-error">{initial.post_logout_redirect_uris}</textarea>
                <p id="field-post_logout_redirect_uris-hint" class="mt-1 text-xs text-slate-500">"Optional; one per line, same rules."</p>
                <FieldMessage id="field-post_logout_redirect_uris-error".into() message=message("post_logout_redirect_uris") />
            </div>
            <fieldset aria-describedby="field-grant_types-error" aria-invalid=invalid("grant_types")>
                <legend class="block text-sm font-medium">"Grant types"</legend>
                <div class="mt-2 grid gap-1">{grants}</div>
                <FieldMessage id="field-grant_types-error".into() message=message("grant_types") />
            </fieldset>
            <div>
                <label class="flex items-center gap-2 text-sm font-medium">
                    <input type="checkbox" id="field-pkce_required" name="input[pkce_required]" value="on"
                        checked=initial.pkce_required == "on" aria-invalid=invalid("pkce_required")
                        aria-describedby="field-pkce_required-hint field-pkce_required-error" />
                    "PKCE required"
                </label>
                <p id="field-pkce_required-hint" class="mt-1 text-xs text-slate-500">"Recommended for every client; required for single-page and native ones."</p>
                <FieldMessage id="field-pkce_required-error".into() message=message("pkce_required") />
            </div>
        </div>
    }
}
