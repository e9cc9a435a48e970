//! Personal access tokens: "My tokens" for every staff member (create within one's role, shown
//! once; revoke), and everyone's personal tokens for administrators.
use crate::api::tokens::{
    my_tokens, personal_tokens, CreatePersonalToken, MyTokensView, RevokeMyToken, RevokeToken,
    TokenPage,
};
use crate::app::components::{ErrorBox, Loading, OneTimeSecret};
use crate::app::pages::app_form::general_error;
use crate::app::pages::apps::href_with;
use crate::app::pages::service_account_detail::{TokenActions, TokenFields, TokenTable};
use crate::model::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// A new personal token starts with this lifetime (or the most allowed, if shorter).
const DEFAULT_DAYS: i64 = 30;

#[component]
pub fn MyTokensPage() -> impl IntoView {
    let create = ServerAction::<CreatePersonalToken>::new();
    let revoke = ServerAction::<RevokeMyToken>::new();
    let (reloads, set_reloads) = signal(0u32);
    Effect::new(move |_| {
        let done = [
            create.value().get().map(|r| r.is_ok()),
            revoke.value().get().map(|r| r.is_ok()),
        ];
        if done.contains(&Some(true)) {
            set_reloads.update(|n| *n += 1);
        }
    });
    let mine = Resource::new(move || reloads.get(), |_| my_tokens());
    let revoke_error = move || revoke.value().get().and_then(|r| r.err());
    view! {
        <Title text="My tokens" />
        <h1 class="text-2xl font-semibold">"My tokens"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Personal access tokens let your own scripts call the management API as you. A token holds only the scopes you choose, never more than your role allows, expires, and stops working if you lose your role. Administrators can see and revoke it too."
        </p>
        {move || create.value().get().and_then(|r| r.ok()).map(|t| view! {
            <div class="mt-4" id="issued-token">
                <OneTimeSecret label="Your new token" value=t.token testid="new-token">
                    <p class="text-sm">{format!("{} expires on {}. Send it as: Authorization: Bearer <token>", t.summary.name, format_utc(t.summary.expires_at))}</p>
                </OneTimeSecret>
            </div>
        })}
        {move || revoke_error().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <Transition fallback=Loading>
            {move || mine.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(MyTokensView { tokens, scopes, max_days }) => view! {
                    {if tokens.is_empty() {
                        view! {
                            <div class="mt-6 card p-6" id="my-tokens-empty">
                                <p>"You have no personal tokens. Create one below when a script of yours needs to call the management API."</p>
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <div class="mt-4 card overflow-x-auto">
                                <TokenTable tokens actions=TokenActions::Own(revoke) id="my-tokens" />
                            </div>
                        }.into_any()
                    }}
                    <NewPersonalToken create scopes max_days />
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn NewPersonalToken(
    create: ServerAction<CreatePersonalToken>,
    scopes: Vec<crate::model::api::Scope>,
    max_days: i64,
) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    if scopes.is_empty() {
        return view! {
            <p class="mt-6 text-sm" id="no-scopes">"Your role allows no management API scopes, so you cannot create a token."</p>
        }
        .into_any();
    }
    view! {
        <section class="mt-8" aria-labelledby="new-token-h">
            <h2 id="new-token-h" class="text-lg font-semibold">"Create a token"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                {format!("The scopes below are those your role allows. A token lives at most {max_days} days.")}
            </p>
            <ActionForm action=create attr:class="mt-3 card grid gap-4 p-6 sm:grid-cols-2" attr:id="new-token-form">
                <TokenFields prefix="pat" scopes max_days default_days=DEFAULT_DAYS error />
                <div class="sm:col-span-2">
                    {move || general_error(error.get()).map(|e| view! { <div class="mb-3"><ErrorBox error=e /></div> })}
                    <button type="submit" class="btn-primary" id="create-token" disabled=move || create.pending().get()>"Create token"</button>
                </div>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// Everyone's personal tokens (administrators): who holds which, how it is used; revoke.
#[component]
pub fn PersonalTokens() -> impl IntoView {
    let params = use_query_map();
    let after = Memo::new(move |_| params.read().get("after").unwrap_or_default());
    let revoke = ServerAction::<RevokeToken>::new();
    let page = Resource::new(
        move || (after.get(), revoke.version().get()),
        |(after, _)| personal_tokens(after),
    );
    view! {
        <Title text="Personal tokens" />
        <p class="text-sm"><A href="/service-accounts" attr:class="link">"Service accounts"</A></p>
        <h1 class="mt-2 text-2xl font-semibold">"Personal tokens"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
            "Tokens staff created for themselves on their My tokens page, newest first. Each holds at most its owner's role; revoke one that is no longer needed or looks misused."
        </p>
        {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
        <Transition fallback=Loading>
            {move || page.get().map(|r| match r {
                Err(e) => view! { <div class="mt-4"><ErrorBox error=e /></div> }.into_any(),
                Ok(p) if p.tokens.is_empty() && after.get_untracked().is_empty() => view! {
                    <div class="mt-6 card p-6" id="personal-tokens-empty">
                        <p>"Nobody has created a personal token yet. Staff create them on their "<A href="/my-tokens" attr:class="link">"My tokens"</A>" page."</p>
                    </div>
                }.into_any(),
                Ok(TokenPage { tokens, next }) => {
                    let next = next.map(|after| href_with("/tokens", &[("after", &after)]));
                    view! {
                        <div class="mt-4 card overflow-x-auto">
                            <TokenTable tokens actions=TokenActions::Admin(revoke) id="personal-tokens" owners=true />
                        </div>
                        {next.map(|href| view! {
                            <p class="mt-4"><A href=href attr:class="btn-ghost" attr:id="personal-tokens-next">"Next page"</A></p>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}
