//! The create and edit form for a user, with a message under each field that is wrong.
use crate::model::users::UserInput;
use crate::model::AppError;
use leptos::prelude::*;

/// Form fields named `input[...]`, as the create and update server functions expect.
#[component]
pub fn UserFields(initial: UserInput, error: Signal<Option<AppError>>) -> impl IntoView {
    let field = move |name: &'static str,
                      label: &'static str,
                      value: String,
                      kind: &'static str,
                      hint: &'static str| {
        let message = move || error.get().and_then(|e| e.field(name));
        let id = format!("field-{name}");
        let err_id = format!("{id}-error");
        let err_id2 = err_id.clone();
        view! {
            <div>
                <label for=id.clone() class="block text-sm font-medium">{label}</label>
                <input
                    id=id
                    name=format!("input[{name}]")
                    type=kind
                    value=value
                    class="input mt-1 w-full"
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby=err_id2
                />
                <p class="mt-1 text-xs text-slate-500">{hint}</p>
                <p id=err_id class="mt-1 text-sm text-red-700 dark:text-red-300" role="alert">{message}</p>
            </div>
        }
    };
    view! {
        <div class="grid gap-4 sm:grid-cols-2">
            {field("email", "Email", initial.email, "email", "Unique; stored in lowercase.")}
            {field("display_name", "Display name", initial.display_name, "text", "As shown in lists.")}
            {field("given_name", "Given name", initial.given_name, "text", "")}
            {field("family_name", "Family name", initial.family_name, "text", "")}
            {field("phone", "Phone", initial.phone, "tel", "International form, e.g. +41 79 123 45 67.")}
            {field("source", "Source", initial.source, "text", "Business unit, application or directory, e.g. hr-emea.")}
            {field("external_id", "External id", initial.external_id, "text", "The id this account has in its source.")}
            {field("attributes", "Attributes (JSON object)", initial.attributes, "text", "Up to 8 KiB, e.g. {\"team\": \"blue\"}.")}
        </div>
    }
}
