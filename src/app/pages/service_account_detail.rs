//! One service account: what it may do, enable/disable, and its tokens (issue, shown once;
//! rotate; revoke; last use). Also the token table and new-token fields "My tokens" reuses.
//! Actions live at the page level so a token shown once survives the reload after it.
use crate::api::tokens::{
    account_tokens, get_service_account, IssueAccountToken, RevokeMyToken, RevokeToken,
    RotateToken, SetAccountStatus,
};
use crate::app::components::{ConfirmSubmit, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::{field_error, general_error};
use crate::app::pages::apps::{can, detail_row, load_me, now_ms};
use crate::app::pages::keys::last_used;
use crate::app::pages::service_accounts::AccountStatusBadge;
use crate::model::api::{Scope, ServiceAccount, TokenSummary};
use crate::model::time::format_utc;
use crate::model::{AppError, Permission};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

const DAY_MS: i64 = 86_400_000;
/// The server's limit for a service token's lifetime (it checks it; this only guides the form).
const SERVICE_TOKEN_MAX_DAYS: i64 = 366;

/// Bumps `counter` whenever `action` succeeds.
fn reload_on_success<I, O>(action: ServerAction<I>, counter: WriteSignal<u32>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            counter.update(|n| *n += 1);
        }
    });
}

/// Badge class and label of a token at `now`.
pub fn token_state(t: &TokenSummary, now: i64) -> (&'static str, &'static str) {
    match t.revoked_at {
        Some(_) => ("badge badge-bad", "Revoked"),
        None if t.expires_at <= now => ("badge badge-bad", "Expired"),
        None if t.expires_at - now <= 7 * DAY_MS => ("badge badge-warn", "Expires soon"),
        None => ("badge badge-ok", "Active"),
    }
}

fn scope_names(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn ServiceAccountPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let me = load_me();
    let set_status = ServerAction::<SetAccountStatus>::new();
    let issue = ServerAction::<IssueAccountToken>::new();
    let rotate = ServerAction::<RotateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let (account_reloads, set_account_reloads) = signal(0u32);
    let (token_reloads, set_token_reloads) = signal(0u32);
    reload_on_success(set_status, set_account_reloads);
    reload_on_success(issue, set_token_reloads);
    reload_on_success(rotate, set_token_reloads);
    reload_on_success(revoke, set_token_reloads);
    let account = Resource::new(
        move || (id(), account_reloads.get()),
        |(id, _)| get_service_account(id),
    );
    let tokens = Resource::new(
        move || (id(), token_reloads.get()),
        |(id, _)| account_tokens(id),
    );
    let row_actions = TokenActions::Service { rotate, revoke };
    let action_error = move || {
        [
            set_status.value().get().and_then(|r| r.err()),
            rotate.value().get().and_then(|r| r.err()),
            revoke.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    view! {
        <Title text="Service account" />
        <p class="text-sm"><A href="/service-accounts" attr:class="link">"All service accounts"</A></p>
        <Transition fallback=Loading>
            {move || account.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(a) => {
                    let active = a.status == "active";
                    view! {
                        <div class="mt-2 flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold" id="account-name">{a.name.clone()}</h1>
                            <AccountStatusBadge status=a.status.clone() />
                            <StatusToggle account=a.clone() action=set_status />
                        </div>
                        <p class="mt-1 text-sm text-slate-500">
                            <span class="font-mono" id="account-id">{a.id.clone()}</span>
                            {can(me, Permission::ReadAudit).then(|| view! {
                                " · "<A href=format!("/audit?target_type=service_account&target_id={}", a.id) attr:class="link" attr:id="audit-trail">"Audit trail"</A>
                            })}
                        </p>
                        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                        <AccountProfile account=a.clone() />
                        <section class="mt-8" aria-labelledby="tokens-h">
                            <h2 id="tokens-h" class="text-lg font-semibold">"Tokens"</h2>
                            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                                "Bearer tokens for the management API, each holding some of this account's scopes. A token is shown once; rotating one gives a new token and keeps the old one working for 24 hours."
                            </p>
                            {move || rotate.value().get().and_then(|r| r.ok()).map(|t| view! {
                                <div class="mt-3" id="rotated-token">
                                    <OneTimeSecret label="The new token (rotation)" value=t.token testid="rotated-token">
                                        <p class="text-sm">{format!("It replaces the old {}, which keeps working for 24 hours.", t.summary.name)}</p>
                                    </OneTimeSecret>
                                </div>
                            })}
                            {move || issue.value().get().and_then(|r| r.ok()).map(|t| view! {
                                <div class="mt-3" id="issued-token">
                                    <OneTimeSecret label="The new token" value=t.token testid="new-token">
                                        <p class="text-sm">{format!("{} expires on {}.", t.summary.name, format_utc(t.summary.expires_at))}</p>
                                    </OneTimeSecret>
                                </div>
                            })}
                            <Transition fallback=Loading>
                                {move || tokens.get().map(|r| match r {
                                    Err(e) => view! { <div class="mt-2"><ErrorBox error=e /></div> }.into_any(),
                                    Ok(list) if list.is_empty() => view! {
                                        <p class="mt-2 text-sm" id="tokens-empty">"No tokens yet. Issue one below: a script presents it as a bearer token."</p>
                                    }.into_any(),
                                    Ok(list) => view! {
                                        <div class="mt-2 card overflow-x-auto">
                                            <TokenTable tokens=list actions=row_actions id="account-tokens" />
                                        </div>
                                    }.into_any(),
                                })}
                            </Transition>
                            {if active {
                                view! { <IssueToken account=a.clone() issue /> }.into_any()
                            } else {
                                view! {
                                    <p class="mt-4 text-sm" id="issue-disabled">"This account is disabled: its tokens do not work and no new ones can be issued. Enable it first."</p>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn StatusToggle(account: ServiceAccount, action: ServerAction<SetAccountStatus>) -> impl IntoView {
    let disabling = account.status == "active";
    let (to, label, confirm) = if disabling {
        (
            "disabled",
            "Disable",
            "Confirm: disable (its tokens stop working)",
        )
    } else {
        ("active", "Enable", "Confirm: enable")
    };
    view! {
        <ActionForm action=action attr:class="ml-auto">
            <input type="hidden" name="id" value=account.id.clone() />
            <input type="hidden" name="status" value=to />
            <input type="hidden" name="version" value=account.version />
            <ConfirmSubmit label confirm id=format!("status-{to}") danger=disabling />
        </ActionForm>
    }
}

#[component]
fn AccountProfile(account: ServiceAccount) -> impl IntoView {
    let description = if account.description.is_empty() {
        "—".to_string()
    } else {
        account.description.clone()
    };
    let scopes = account
        .scopes
        .iter()
        .map(|s| {
            view! {
                <li>
                    <span class="font-mono">{s.as_str()}</span>
                    <span class="block text-xs text-slate-500 dark:text-slate-400">{s.description()}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <dl class="mt-4 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="account-profile">
            {detail_row("Owner", account.owner_email.clone())}
            {detail_row("Description", description)}
            {detail_row("Scopes", view! { <ul class="grid gap-1" id="account-scopes">{scopes}</ul> })}
            {detail_row("Created", format_utc(account.created_at))}
            {detail_row("Updated", format_utc(account.updated_at))}
        </dl>
    }
}

#[component]
fn IssueToken(account: ServiceAccount, issue: ServerAction<IssueAccountToken>) -> impl IntoView {
    let error = Signal::derive(move || issue.value().get().and_then(|r| r.err()));
    let form = NodeRef::<leptos::html::Form>::new();
    // After a token is issued the form starts over, ready for the next one.
    Effect::new(move |_| {
        if matches!(issue.value().get(), Some(Ok(_))) {
            #[cfg(feature = "hydrate")]
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
    view! {
        <details class="mt-4 card p-4" id="issue-token-panel" open=true>
            <summary class="cursor-pointer font-semibold">"Issue a token"</summary>
            <ActionForm action=issue node_ref=form attr:class="mt-4 grid gap-4 sm:grid-cols-2" attr:id="issue-token-form">
                <input type="hidden" name="id" value=account.id.clone() />
                <TokenFields prefix="token" scopes=account.scopes.clone() max_days=SERVICE_TOKEN_MAX_DAYS default_days=90 error />
                <div class="sm:col-span-2">
                    {move || general_error(error.get()).map(|e| view! { <div class="mb-3"><ErrorBox error=e /></div> })}
                    <button type="submit" class="btn-primary" id="issue-token" disabled=move || issue.pending().get()>"Issue token"</button>
                </div>
            </ActionForm>
        </details>
    }
}

/// A new token's name, lifetime and scopes (one checkbox per scope it may hold), as
/// `input[...]`, each with its message. Element ids start with `prefix`.
#[component]
pub fn TokenFields(
    prefix: &'static str,
    scopes: Vec<Scope>,
    max_days: i64,
    default_days: i64,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = move |name: &'static str| move || error.get().and_then(|e| field_error(&e, name));
    let invalid = move |name: &'static str| move || message(name)().is_some().to_string();
    let start_days = default_days.min(max_days);
    let checks = scopes
        .into_iter()
        .map(|s| {
            view! {
                <label class="flex items-start gap-2 text-sm">
                    <input type="checkbox" name="input[scopes][]" value=s.as_str() class="mt-1"
                        id=format!("{prefix}-scope-{}", s.as_str().replace(':', "-")) />
                    <span>
                        <span class="font-mono">{s.as_str()}</span>
                        <span class="block text-xs text-slate-500 dark:text-slate-400">{s.description()}</span>
                    </span>
                </label>
            }
        })
        .collect_view();
    view! {
        <div>
            <label for=format!("{prefix}-name") class="block text-sm font-medium">"Name"</label>
            <input id=format!("{prefix}-name") name="input[name]" class="input mt-1 w-full" required maxlength="100"
                aria-invalid=invalid("name") aria-describedby=format!("{prefix}-name-hint {prefix}-name-error") />
            <p id=format!("{prefix}-name-hint") class="mt-1 text-xs text-slate-500">"Where it is used, e.g. HR sync (production)."</p>
            <p id=format!("{prefix}-name-error") class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("name")}</p>
        </div>
        <div>
            <label for=format!("{prefix}-days") class="block text-sm font-medium">"Expires after (days)"</label>
            <input id=format!("{prefix}-days") name="input[days]" type="number" min="1" max=max_days value=start_days
                required class="input mt-1 w-full" aria-invalid=invalid("days")
                aria-describedby=format!("{prefix}-days-hint {prefix}-days-error") />
            <p id=format!("{prefix}-days-hint") class="mt-1 text-xs text-slate-500">{format!("From 1 to {max_days} days.")}</p>
            <p id=format!("{prefix}-days-error") class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("days")}</p>
        </div>
        <fieldset class="sm:col-span-2" aria-describedby=format!("{prefix}-scopes-error") aria-invalid=invalid("scopes")>
            <legend class="block text-sm font-medium">"Scopes"</legend>
            <div class="mt-2 grid gap-2 sm:grid-cols-2">{checks}</div>
            <p id=format!("{prefix}-scopes-error") class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message("scopes")}</p>
        </fieldset>
    }
}

/// What a token table's rows offer besides the facts.
#[derive(Clone, Copy)]
pub enum TokenActions {
    /// A service account's tokens: rotate and revoke.
    Service {
        rotate: ServerAction<RotateToken>,
        revoke: ServerAction<RevokeToken>,
    },
    /// Everyone's personal tokens: revoke (administrators).
    Admin(ServerAction<RevokeToken>),
    /// One's own personal tokens: revoke.
    Own(ServerAction<RevokeMyToken>),
}

fn token_buttons(actions: TokenActions, id: String) -> AnyView {
    let revoke_id = format!("revoke-{id}");
    match actions {
        TokenActions::Service { rotate, revoke } => {
            let rotate_id = format!("rotate-{id}");
            let id2 = id.clone();
            view! {
            <div class="flex flex-wrap gap-2">
                <ActionForm action=rotate>
                    <input type="hidden" name="id" value=id />
                    <ConfirmSubmit label="Rotate" confirm="Confirm: rotate (the old one works 24 h more)" id=rotate_id />
                </ActionForm>
                <ActionForm action=revoke>
                    <input type="hidden" name="id" value=id2 />
                    <ConfirmSubmit label="Revoke" confirm="Confirm: revoke now" id=revoke_id danger=true />
                </ActionForm>
            </div>
            }
            .into_any()
        }
        TokenActions::Admin(revoke) => view! {
            <ActionForm action=revoke>
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Revoke" confirm="Confirm: revoke now" id=revoke_id danger=true />
            </ActionForm>
        }
        .into_any(),
        TokenActions::Own(revoke) => view! {
            <ActionForm action=revoke>
                <input type="hidden" name="id" value=id />
                <ConfirmSubmit label="Revoke" confirm="Confirm: revoke now" id=revoke_id danger=true />
            </ActionForm>
        }
        .into_any(),
    }
}

/// Tokens as a table: never a secret, only the visible prefix.
#[component]
pub fn TokenTable(
    tokens: Vec<TokenSummary>,
    actions: TokenActions,
    id: &'static str,
    /// Shows whose token each is (everyone's personal tokens).
    #[prop(optional)]
    owners: bool,
) -> impl IntoView {
    let now = now_ms();
    let rows = tokens
        .into_iter()
        .map(|t| {
            let (class, label) = token_state(&t, now);
            let usable = t.revoked_at.is_none() && t.expires_at > now;
            let token_id = t.id.clone();
            view! {
                <tr class="border-t border-slate-200 align-top dark:border-slate-800" data-token=t.id.clone() data-name=t.name.clone()>
                    <td class="px-3 py-2">
                        {t.name.clone()}
                        <span class="block font-mono text-xs text-slate-500">{format!("ght_{}…", t.id)}</span>
                    </td>
                    {owners.then(|| view! { <td class="px-3 py-2">{t.owner_email.clone()}</td> })}
                    <td class="px-3 py-2 font-mono text-xs">{scope_names(&t.scopes)}</td>
                    <td class="px-3 py-2 whitespace-nowrap">
                        {format_utc(t.created_at)}
                        <span class="block text-xs text-slate-500">{format!("by {}", t.created_by)}</span>
                    </td>
                    <td class="px-3 py-2 whitespace-nowrap">{format_utc(t.expires_at)}</td>
                    <td class="px-3 py-2 whitespace-nowrap">{last_used(t.last_used_at)}</td>
                    <td class="px-3 py-2">{t.use_count.to_string()}</td>
                    <td class="px-3 py-2">{t.personal_reads.to_string()}</td>
                    <td class="px-3 py-2">
                        <span class=class data-status=label>{label}</span>
                        {t.revoked_at.map(|at| view! { <span class="block text-xs text-slate-500">{format_utc(at)}</span> })}
                    </td>
                    <td class="px-3 py-2">{usable.then(|| token_buttons(actions, token_id))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="w-full text-left text-sm" id=id>
            <thead class="bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                <tr>
                    <th scope="col" class="px-3 py-2">"Name"</th>
                    {owners.then(|| view! { <th scope="col" class="px-3 py-2">"Owner"</th> })}
                    <th scope="col" class="px-3 py-2">"Scopes"</th>
                    <th scope="col" class="px-3 py-2">"Created"</th>
                    <th scope="col" class="px-3 py-2">"Expires"</th>
                    <th scope="col" class="px-3 py-2">"Last used"</th>
                    <th scope="col" class="px-3 py-2">"Uses"</th>
                    <th scope="col" class="px-3 py-2"><abbr title="Reads of people's data: users, people, devices, MFA factors">"Personal reads"</abbr></th>
                    <th scope="col" class="px-3 py-2">"Status"</th>
                    <th scope="col" class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
