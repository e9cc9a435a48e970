//! CSV import: the upload form (a plain form post, so it works before hydration) and the job page.
use crate::app::components::JobProgress;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ImportUsers() -> impl IntoView {
    view! {
        <Title text="Import users" />
        <h1 class="text-2xl font-semibold">"Import users from CSV"</h1>
        <div class="mt-4 grid gap-6 lg:grid-cols-2">
            <form class="card p-4" method="post" action="/users/import" enctype="multipart/form-data" id="import-form">
                <label class="block">
                    <span class="block text-sm font-medium">"CSV file (UTF-8, up to 64 MB)"</span>
                    <input type="file" name="file" accept=".csv,text/csv" required class="mt-2 block w-full text-sm" id="import-file" />
                </label>
                <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">
                    "Every line is checked first. If any line has a problem, nothing is imported and you get the list of problems with their line numbers."
                </p>
                <button type="submit" class="btn-primary mt-4" id="import-submit">"Check and import"</button>
            </form>
            <section class="card p-4 text-sm" aria-labelledby="format-h">
                <h2 id="format-h" class="font-semibold">"The file"</h2>
                <p class="mt-2">"The first line names the columns, in any order. "<code>"email"</code>" and "<code>"display_name"</code>" are required; the others are optional:"</p>
                <p class="mt-2 font-mono">"given_name, family_name, phone, source, external_id, attributes, status"</p>
                <ul class="mt-2 list-disc pl-5 space-y-1">
                    <li>"A user whose email exists is updated; any other line creates a user (a new person), and needs a "<code>"source"</code>"."</li>
                    <li>"A column that is absent keeps the current value; an empty cell clears an optional field."</li>
                    <li>"Phones in international form ("<code>"+41 79 123 45 67"</code>"); attributes as a JSON object; status "<code>"staged"</code>" or "<code>"active"</code>" for new users, any allowed change for existing ones."</li>
                </ul>
                <pre class="mt-3 overflow-x-auto rounded bg-slate-100 p-2 dark:bg-slate-800">"email,display_name,source,external_id,phone\nada@example.com,Ada Lovelace,hr-emea,E1001,+41791234567"</pre>
            </section>
        </div>
    }
}

/// The progress and end report of one job (import or bulk action).
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    view! {
        <Title text="Job" />
        <h1 class="text-2xl font-semibold">"Progress"</h1>
        <div class="mt-4">{move || view! { <JobProgress id=id() /> }}</div>
        <p class="mt-4 flex gap-3">
            <A href="/users" attr:class="btn-ghost">"Back to users"</A>
            <A href="/users/import" attr:class="btn-ghost">"Import another file"</A>
        </p>
    }
}
