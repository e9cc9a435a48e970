//! The user interface: the HTML shell, the routes, the console layout and its pages.
mod components;
mod layout;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// Applies the saved or preferred colour scheme before first paint (no flash of the wrong theme).
const THEME_SCRIPT: &str = "try{var t=localStorage.getItem('theme');if(t==='dark'||(!t&&matchMedia('(prefers-color-scheme: dark)').matches))document.documentElement.classList.add('dark')}catch(e){}";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_security_policy();
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" />
                <script nonce=nonce inner_html=THEME_SCRIPT></script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

/// Every rendered page gets a fresh nonce, and a policy that only runs scripts carrying it.
#[cfg(feature = "ssr")]
fn set_page_security_policy() {
    use crate::server::http::headers::{origin_of, page_csp};
    leptos::nonce::provide_nonce();
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let issuer = use_context::<crate::server::AppState>()
        .map(|s| origin_of(&s.config.oidc.issuer))
        .unwrap_or_default();
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&page_csp(&nonce, &issuer)),
    ) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title formatter=|title: String| {
            if title.is_empty() { "Gatehouse".to_string() } else { format!("{title} · Gatehouse") }
        } />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/signin") view=pages::SignIn />
                <ParentRoute path=path!("") view=layout::Console>
                    <Route path=path!("") view=pages::Dashboard />
                    <Route path=path!("audit") view=pages::AuditLog />
                    <Route path=path!("audit/events/:seq") view=pages::AuditEventPage />
                    <Route path=path!("audit/sinks") view=pages::AuditSinks />
                    <Route path=path!("audit/sinks/:id") view=pages::AuditSinkPage />
                    <Route path=path!("users") view=pages::Users />
                    <Route path=path!("users/new") view=pages::NewUser />
                    <Route path=path!("users/import") view=pages::ImportUsers />
                    <Route path=path!("users/jobs/:id") view=pages::JobPage />
                    <Route path=path!("guids") view=pages::Guids />
                    <Route path=path!("support") view=pages::SupportDesk />
                    <Route path=path!("devices") view=pages::Devices />
                    <Route path=path!("users/:id") view=pages::UserDetailPage />
                    <Route path=path!("guids/:id") view=pages::GuidPage />
                    <Route path=path!("guids/:guid/revocations/:id") view=pages::RevocationPage />
                    <Route path=path!("groups") view=pages::Groups />
                    <Route path=path!("groups/:id") view=pages::GroupPage />
                    <Route path=path!("sources") view=pages::ProvisioningSources />
                    <Route path=path!("sources/:id") view=pages::SourcePage />
                    <Route path=path!("apps") view=pages::Applications />
                    <Route path=path!("apps/new") view=pages::NewApp />
                    <Route path=path!("apps/:id") view=pages::AppDetailPage />
                    <Route path=path!("keys") view=pages::ApiKeys />
                    <Route path=path!("keys/:id") view=pages::KeyDetailPage />
                    <Route path=path!("webhooks") view=pages::Webhooks />
                    <Route path=path!("webhooks/:id") view=pages::WebhookPage />
                    <Route path=path!("signals") view=pages::Signals />
                    <Route path=path!("signals/transmitters/:id") view=pages::TransmitterPage />
                    <Route path=path!("signals/:id") view=pages::ReceiverPage />
                    <Route path=path!("sessions") view=pages::ConsoleSessions />
                    <Route path=path!("service-accounts") view=pages::ServiceAccounts />
                    <Route path=path!("service-accounts/:id") view=pages::ServiceAccountPage />
                    <Route path=path!("tokens") view=pages::PersonalTokens />
                    <Route path=path!("my-tokens") view=pages::MyTokensPage />
                    <Route path=path!("system") view=pages::SystemPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
