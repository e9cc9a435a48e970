use crate::api::users::CreateUser;
use crate::app::components::ErrorBox;
use crate::app::pages::user_form::UserFields;
use crate::model::users::UserInput;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

#[component]
pub fn NewUser() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(user)) = create.value().get() {
            navigate(&format!("/users/{}", user.id), Default::default());
        }
    });
    let general = move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Fields(_) | AppError::Invalid { .. }))
    };
    view! {
        <Title text="New user" />
        <h1 class="text-2xl font-semibold">"New user"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">"The user gets a new GUID; link it to an existing person afterwards if needed."</p>
        <ActionForm action=create attr:class="mt-6 card p-6" attr:id="new-user-form">
            <UserFields initial=UserInput::default() error=error />
            {move || general().map(|e| view! { <div class="mt-4"><ErrorBox error=e /></div> })}
            <button type="submit" class="btn-primary mt-6" id="create-user" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create user" }}
            </button>
        </ActionForm>
    }
}
