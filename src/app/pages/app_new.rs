//! Registering an application. A confidential one's first client secret is shown here, once.
use crate::api::apps::CreateApp;
use crate::app::components::{ErrorBox, OneTimeSecret};
use crate::app::pages::app_form::{general_error, new_app_input, AppFields};
use crate::model::apps::NewSecret;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

#[component]
pub fn NewApp() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    // Changes only on success, so a failed attempt keeps the form as typed.
    let created: Memo<Option<NewSecret>> =
        Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        // A public client has no secret to show: go straight to its page.
        if let Some(n) = created.get() {
            if n.secret.is_none() {
                navigate(&format!("/apps/{}", n.app.id), Default::default());
            }
        }
    });
    view! {
        <Title text="Register an application" />
        <h1 class="text-2xl font-semibold">"Register an application"</h1>
        {move || match created.get() {
            Some(NewSecret { app, secret: Some(secret) }) => view! {
                <section class="mt-6 card p-6" id="app-created" aria-labelledby="created-h">
                    <h2 id="created-h" class="text-lg font-semibold">{format!("{} is registered", app.name)}</h2>
                    <dl class="mt-3">
                        <dt class="text-sm text-slate-500 dark:text-slate-400">"Client id"</dt>
                        <dd class="font-mono" id="client-id" data-testid="client-id">{app.id.clone()}</dd>
                    </dl>
                    <div class="mt-4">
                        <OneTimeSecret label="Client secret" value=secret testid="secret" />
                    </div>
                    <p class="mt-4">
                        <A href=format!("/apps/{}", app.id) attr:class="btn-primary" attr:id="app-link">"Go to the application"</A>
                    </p>
                </section>
            }.into_any(),
            _ => view! {
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                    "Web and machine-to-machine applications get a client secret, shown once after registering. Single-page and native applications are public clients and use PKCE instead."
                </p>
                <ActionForm action=create attr:class="mt-6 card p-6" attr:id="new-app-form">
                    <AppFields initial=new_app_input() error=error />
                    {move || general_error(error.get()).map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
                    <button type="submit" class="btn-primary mt-6" id="create-app" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Registering…" } else { "Register application" }}
                    </button>
                </ActionForm>
            }.into_any(),
        }}
    }
}
