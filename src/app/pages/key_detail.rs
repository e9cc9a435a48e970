//! One API key: what it is and how it is used; for administrators revoke, rotate and expiry.
use crate::api::apps::{get_key, RevokeKey, RotateKey, SetKeyExpiry};
use crate::app::components::{ConfirmSubmit, CopyButton, ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::{can, detail_row, load_me};
use crate::app::pages::keys::{expires, last_used, KeyStatusBadge};
use crate::model::apps::{KeyStatus, KeySummary, GRACE_PERIODS};
use crate::model::time::format_utc;
use crate::model::Permission;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// `YYYY-MM-DD` of the day an expiry ends (expiries are stored as the end of that day).
pub fn expiry_date(ms: Option<i64>) -> String {
    ms.map(|m| format_utc(m - 1)[..10].to_string())
        .unwrap_or_default()
}

#[component]
pub fn KeyDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let me = load_me();
    let revoke = ServerAction::<RevokeKey>::new();
    let rotate = ServerAction::<RotateKey>::new();
    let expiry = ServerAction::<SetKeyExpiry>::new();
    let (reloads, set_reloads) = signal(0u32);
    Effect::new(move |_| {
        let done = [
            revoke.value().get().map(|r| r.is_ok()),
            rotate.value().get().map(|r| r.is_ok()),
            expiry.value().get().map(|r| r.is_ok()),
        ];
        if done.contains(&Some(true)) {
            set_reloads.update(|n| *n += 1);
        }
    });
    let key = Resource::new(move || (id(), reloads.get()), |(id, _)| get_key(id));
    let action_error = move || {
        general_error(
            revoke
                .value()
                .get()
                .and_then(|r| r.err())
                .or_else(|| rotate.value().get().and_then(|r| r.err())),
        )
    };
    view! {
        <Title text="API key" />
        {move || rotate.value().get().and_then(|r| r.ok()).map(|issued| view! {
            <div class="mb-6" id="rotated-key">
                <OneTimeSecret label="The new key" value=issued.key testid="new-key">
                    <p class="text-sm">"The old key keeps working for the grace period you chose. "
                        <A href=format!("/keys/{}", issued.summary.id) attr:class="link" attr:id="new-key-link">{format!("Open the new key {}", issued.summary.prefix)}</A>
                    </p>
                </OneTimeSecret>
            </div>
        })}
        <Transition fallback=Loading>
            {move || key.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                Ok(k) => {
                    let writable = can(me, Permission::WriteApps) && k.status != KeyStatus::Revoked;
                    view! {
                        <div class="flex flex-wrap items-center gap-3">
                            <h1 class="text-2xl font-semibold" id="key-name">{k.name.clone()}</h1>
                            <KeyStatusBadge status=k.status />
                        </div>
                        <p class="mt-1 text-sm text-slate-500">
                            <span class="font-mono select-all" id="key-prefix">{k.prefix.clone()}</span><CopyButton what="key prefix" value=k.prefix.clone() id="copy-key-prefix" />
                            {can(me, Permission::ReadAudit).then(|| view! {
                                " · "<A href=format!("/audit?target_type=api_key&target_id={}", k.id) attr:class="link" attr:id="audit-trail">"Audit trail"</A>
                            })}
                        </p>
                        <KeyFields key=k.clone() />
                        {move || action_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                        {writable.then(|| view! { <KeyActions key=k.clone() revoke rotate expiry /> })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn KeyFields(key: KeySummary) -> impl IntoView {
    let owner = match (key.owner_user_id.clone(), key.owner_email.clone()) {
        (Some(uid), email) => view! {
            <A href=format!("/users/{uid}") attr:class="link">{email.unwrap_or_else(|| uid.clone())}</A>
            " (personal key)"
        }
        .into_any(),
        (None, _) => "The application itself".into_any(),
    };
    view! {
        <dl class="mt-4 card divide-y divide-slate-200 px-4 dark:divide-slate-800" id="key-fields">
            {detail_row("Prefix", view! { <span class="font-mono">{key.prefix.clone()}</span> })}
            {detail_row("Application", view! { <A href=format!("/apps/{}", key.application_id) attr:class="link" attr:id="key-app">{key.application_name.clone()}</A> })}
            {detail_row("Owner", owner)}
            {detail_row("Scopes", view! { <span class="font-mono" id="key-scopes">{key.scopes.join(" ")}</span> })}
            {detail_row("Status", key.status.label())}
            {detail_row("Created", format_utc(key.created_at))}
            {detail_row("Expires", expires(key.expires_at))}
            {key.revoked_at.map(|t| detail_row("Revoked", format_utc(t)))}
            {key.replaced_by.clone().map(|r| detail_row("Replaced by", view! { <A href=format!("/keys/{r}") attr:class="link font-mono">{r.clone()}</A> }))}
            {detail_row("Last used", last_used(key.last_used_at))}
            {detail_row("Uses", key.use_count.to_string())}
        </dl>
    }
}

#[component]
fn KeyActions(
    key: KeySummary,
    revoke: ServerAction<RevokeKey>,
    rotate: ServerAction<RotateKey>,
    expiry: ServerAction<SetKeyExpiry>,
) -> impl IntoView {
    let expiry_error = move || {
        expiry
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field("expires").unwrap_or_else(|| e.to_string()))
    };
    let (id1, id2, id3) = (key.id.clone(), key.id.clone(), key.id.clone());
    let current_expiry = expiry_date(key.expires_at);
    view! {
        <section class="mt-6 grid gap-4 lg:grid-cols-3" aria-label="Key actions">
            <ActionForm action=revoke attr:class="card p-4" attr:id="revoke-key-form">
                <h2 class="font-semibold">"Revoke"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"The key stops working at once, everywhere. This cannot be undone."</p>
                <input type="hidden" name="id" value=id1 />
                <div class="mt-3"><ConfirmSubmit label="Revoke key" confirm="Confirm: revoke this key" id="revoke-key".into() danger=true /></div>
            </ActionForm>
            <ActionForm action=rotate attr:class="card p-4" attr:id="rotate-key-form">
                <h2 class="font-semibold">"Rotate"</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"Issues a new key with the same scopes and expiry; the old one keeps working for the grace period."</p>
                <input type="hidden" name="id" value=id2 />
                <label class="mt-3 block text-sm font-medium" for="rotate-key-grace">"Old key stays valid for"</label>
                <select name="grace" id="rotate-key-grace" class="input mt-1 w-full">
                    {GRACE_PERIODS.into_iter().map(|(secs, label)| view! { <option value=secs selected=secs == 86_400>{label}</option> }).collect_view()}
                </select>
                <button type="submit" class="btn-primary mt-3" id="rotate-key">"Rotate key"</button>
            </ActionForm>
            <ActionForm action=expiry attr:class="card p-4" attr:id="expiry-form">
                <h2 class="font-semibold">"Expiry"</h2>
                <input type="hidden" name="id" value=id3 />
                <label class="mt-3 block text-sm font-medium" for="key-expiry">"Valid until the end of (UTC)"</label>
                <input type="date" name="expires" id="key-expiry" class="input mt-1 w-full" value=current_expiry
                    aria-describedby="key-expiry-hint key-expiry-error" aria-invalid=move || expiry_error().is_some().to_string() />
                <p id="key-expiry-hint" class="mt-1 text-xs text-slate-500">"Leave empty for a key that does not expire."</p>
                <p id="key-expiry-error" class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{expiry_error}</p>
                <button type="submit" class="btn-primary mt-3" id="save-expiry">"Save expiry"</button>
            </ActionForm>
        </section>
    }
}
