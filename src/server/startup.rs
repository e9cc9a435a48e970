//! Assembles the application: database, identity provider client, sessions, routes, middleware.
use crate::app::{shell, App};
use crate::server::auth::oidc::Oidc;
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::http::{
    api_v1, auth_routes, client_ip, enroll, exports, headers, health, imports, keys_api, limits,
    metrics as metrics_http, pages, request_id,
};
use crate::server::instance::Instance;
use crate::server::metrics::Metrics;
use crate::server::service::api_rate::ApiRateLimiter;
use crate::server::service::leases::{self, Lessee};
use crate::server::service::token_auth::TokenAuthenticator;
use crate::server::service::verify::Verifier;
use crate::server::{AppState, Config};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{middleware, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// Leptos options built from our config rather than from cargo-leptos' environment, so the
/// binary and the tests need nothing but `GATEHOUSE_*` (and `LEPTOS_SITE_ROOT` for the assets).
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()))
        .site_pkg_dir("pkg")
        .site_addr(config.bind)
        .build()
}

pub async fn build(config: Config) -> Result<(Router, AppState), StartupError> {
    // Before anything is opened: a second process on the same SQLite file stops here.
    crate::server::instance::lock_sqlite(&config.database_url)?;
    let instance = Arc::new(Instance::new(config.instance_id.as_deref()));
    let mut db = Db::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open the database (GATEHOUSE_DATABASE_URL): {e}"))?;
    db.restore_window_ms = config.restore_window.as_millis() as i64;
    let oidc = Arc::new(Oidc::new(config.oidc.clone(), config.redirect_url())?);
    // Discovery must not block start-up: the console serves /healthz and an explanatory
    // sign-in page while the provider is down, and retries in the background.
    oidc.clone().spawn_refresh();

    let leptos = leptos_options(&config);
    let clock: Arc<Clock> = Arc::default();
    let metrics = Arc::new(Metrics::new());
    let verifier = Arc::new(Verifier::new(
        db.clone(),
        clock.clone(),
        config.verify_failures_per_minute,
        metrics.clone(),
    ));
    verifier.spawn(config.key_usage_flush);
    let tokens = Arc::new(TokenAuthenticator::new(db.clone(), config.api.pat_role_ttl));
    tokens.spawn(config.key_usage_flush);
    let state = AppState {
        tokens,
        api_rate: Arc::new(ApiRateLimiter::new(config.api.requests_per_minute)),
        clock,
        metrics: metrics.clone(),
        sign_in_failures: Arc::new(crate::server::service::rate_limit::FailureLimiter::new(
            config.sign_in_failures_per_minute,
            60_000,
        )),
        heavy: crate::server::service::heavy::HeavyWork::new(
            config.heavy_per_person,
            config.heavy_total,
        ),
        verifier,
        db: db.clone(),
        config: Arc::new(config),
        oidc,
        leptos: leptos.clone(),
        instance,
    };
    tracing::info!(instance = %state.instance.id, "this instance's name on its leases");
    // Work that must run once across instances runs under a lease (service::leases); delivery
    // to each destination has a lease of its own, named after this instance.
    let lessee = Lessee::of(&state);
    spawn_session_cleanup(
        lessee.clone(),
        state.config.session_absolute,
        metrics.clone(),
    );
    if state.config.outbox.worker {
        crate::server::service::outbox::Worker::new(
            db.clone(),
            state.clock.clone(),
            state.config.outbox.clone(),
        )
        .owned_by(&state.instance.lease_owner())
        .spawn(metrics.clone());
        // Scheduled reconciliation: outbound work too, so it runs where the worker runs.
        crate::server::service::reconcile::Reconciler::new(
            db.clone(),
            state.clock.clone(),
            state.config.outbox.clone(),
        )
        .spawn_schedule(lessee.clone(), metrics.clone());
    }
    // Sinks of GATEHOUSE_AUDIT_SINKS are stored (and removed) before anything is streamed.
    crate::server::service::audit_sinks_env::apply_env(&db, &state.config.audit_stream).await?;
    if state.config.audit_stream.worker {
        crate::server::service::audit_stream::Worker::new(
            db.clone(),
            state.clock.clone(),
            state.config.audit_stream.clone(),
        )
        .owned_by(&state.instance.lease_owner())
        .spawn();
    }
    crate::server::service::people::spawn_purge(lessee.clone(), metrics.clone());
    crate::server::service::checkpoints::spawn(
        lessee.clone(),
        state.config.checkpoint_signer(),
        state.config.audit_checkpoint_every,
        metrics.clone(),
    );
    if let Some(retention) = state.config.audit_retention {
        crate::server::service::retention::spawn(
            lessee.clone(),
            retention,
            state.config.audit_archive_dir.clone(),
            state.config.checkpoint_signer(),
            metrics.clone(),
        );
    }

    let sessions = SessionManagerLayer::new(db.sessions.clone())
        .with_name("gatehouse_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.config.session_idle.as_secs() as i64,
        )));

    let routes = route_list();
    let (management_api, _) = api_v1::router(&state);
    let router = Router::new()
        .merge(management_api)
        .merge(crate::server::http::scim::router(&state))
        .merge(crate::server::http::ssf::router(&state))
        .merge(crate::server::http::ssf_receive::router())
        .route("/login", get(auth_routes::login))
        .route("/auth/callback", get(auth_routes::callback))
        .route("/logout", post(auth_routes::logout))
        .route("/users/export.csv", get(exports::users_csv))
        .route("/audit/export.csv", get(exports::audit_csv))
        .route("/audit/export.ndjson", get(exports::audit_ndjson))
        .route(
            "/users/import",
            post(imports::upload).layer(imports::body_limit()),
        )
        .route(
            "/api/v1/keys/verify",
            post(keys_api::verify).layer(DefaultBodyLimit::max(keys_api::MAX_BODY)),
        )
        .route("/enroll/{token}", get(enroll::show).post(enroll::consume))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics_http::with_token))
        .leptos_routes(&state, routes, {
            let leptos = leptos.clone();
            move || shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pages::guard_pages,
        ))
        .layer(sessions)
        .layer(middleware::from_fn(headers::bad_arguments_are_400))
        .layer(middleware::from_fn(limits::limit_body))
        .layer(middleware::from_fn(headers::refuse_cross_site))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::attach,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        // No URI here: query strings carry codes and tokens (/auth/callback), and paths carry
        // enrollment tokens; the request span around it names the route (request_id).
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|_: &http::Request<axum::body::Body>| tracing::debug_span!("http")),
        )
        .layer(middleware::from_fn(request_id::attach))
        // Outermost: counts and times every request, whatever a layer inside answers.
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            metrics_http::track,
        ))
        .with_state(state.clone());
    Ok((router, state))
}

/// The session clean-up (every ten minutes) and the refresh of SQLite's planner statistics
/// (hourly), each on whichever instance holds its lease. The clean-up's cut-offs are judged by
/// the system clock, as the sessions' own expiry is.
fn spawn_session_cleanup(lessee: Lessee, absolute: Duration, metrics: Arc<Metrics>) {
    let db = lessee.db.clone();
    leases::spawn(
        lessee.clone(),
        SESSION_CLEANUP,
        metrics.clone(),
        move || {
            let db = db.clone();
            async move {
                let now = crate::server::db::now_ms();
                let mut problems = Vec::new();
                if let Err(e) = crate::server::service::console_sessions::clean_up(
                    &db,
                    now,
                    absolute.as_millis() as i64,
                )
                .await
                {
                    tracing::warn!(error = %e, "could not clean up console sessions");
                    problems.push(format!("console sessions: {e}"));
                }
                if let Err(e) = crate::server::service::ssf_in::prune_received(&db, now).await {
                    tracing::warn!(error = %e, "could not prune received Security Event Tokens");
                    problems.push(format!("received tokens: {e}"));
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(problems.join("; "))
                }
            }
        },
    );
    let db = lessee.db.clone();
    leases::spawn(lessee, PLANNER_STATISTICS, metrics, move || {
        let db = db.clone();
        async move {
            db.refresh_statistics().await.map_err(|e| {
                tracing::warn!(error = %e, "could not refresh the planner's statistics");
                e.to_string()
            })
        }
    });
}

pub const SESSION_CLEANUP: leases::Task = leases::Task {
    name: "session_cleanup",
    every: Duration::from_secs(600),
    wait_first: true,
};

pub const PLANNER_STATISTICS: leases::Task = leases::Task {
    name: "planner_statistics",
    every: Duration::from_secs(3600),
    wait_first: true,
};

/// Serves `/metrics` alone on `GATEHOUSE_METRICS_BIND` when it is set (no authentication: a
/// private address). Bound before returning, so a taken port stops start-up with a clear
/// message; the address actually bound, if any.
pub async fn spawn_metrics_listener(state: &AppState) -> Result<Option<SocketAddr>, StartupError> {
    let Some(bind) = state.config.metrics.bind else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind} (GATEHOUSE_METRICS_BIND): {e}"))?;
    let bound = listener.local_addr()?;
    let router = metrics_http::private_router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(Some(bound))
}

/// Serves until Ctrl-C / SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY the streamed pages' small last chunks wait for the client's delayed
    // acknowledgement: 40 ms on every request of a kept-alive connection (issue 18).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The console's routes, generated once per process. Generating them runs the app with resource
/// loading suppressed process-wide, so a page rendering meanwhile on another instance in the
/// same process (the integration tests start many) would wait forever for its data
/// (leptos-rs/leptos#4773).
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}
