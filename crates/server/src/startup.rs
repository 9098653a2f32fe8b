//! Building and running the server: connect and migrate the store, make
//! sure a signing key is active, bind both listeners, then serve until told
//! to stop, finishing the requests in flight.

use anyhow::Context as _;
use axum::Router;
use axum::http::Request;
use axum::routing::get;
use secrecy::ExposeSecret as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tessera_admin::{Acting, Admin, CheckLimits, ConfirmationPolicy, Policies};
use tessera_core::Clock;
use tessera_core::ids::ReplicaId;
use tessera_core::password::Hasher;
use tessera_core::resource::ResourceCatalog;
use tessera_core::session::{LoginPolicy, SessionPolicy};
use tessera_core::store::ReplicaStore as _;
use tessera_storage::{PoolConfig, SqlStore};
use tessera_token::keys::{KeyDirectory, KeyRing, ensure_active_key};
use tessera_token::metrics::TokenMetrics;
use tessera_token::settings::TokenConfig;
use tessera_token::sync::{ChangeFeedTask, ReplicaIdentity};
use tessera_token::{Dependencies, TokenEndpoint};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::discovery;
use crate::metrics::Metrics;
use crate::ops;
use crate::reminders::{Mailer, Reminders};
use crate::settings::Settings;
use crate::state::{AppInner, AppState};

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<SqlStore> {
    let store = SqlStore::connect(
        settings.database_url.expose_secret(),
        PoolConfig {
            max_connections: settings.database.max_connections,
            acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_seconds),
            statement_timeout: Duration::from_secs(settings.database.statement_timeout_seconds),
        },
    )
    .await
    .context("Failed to open the database")?;
    store
        .migrate()
        .await
        .context("Failed to migrate the database")?;
    Ok(store)
}

/// The session and sign-in policies of `settings`.
pub fn policies(settings: &Settings) -> Policies {
    let seconds = |s: u32| time::Duration::seconds(i64::from(s));
    Policies {
        sessions: SessionPolicy {
            idle_timeout: seconds(settings.sessions.idle_timeout_seconds),
            absolute_timeout: seconds(settings.sessions.absolute_timeout_seconds),
        },
        login: LoginPolicy {
            max_failed_attempts: settings.login.max_failed_attempts,
            lockout: seconds(settings.login.lockout_seconds),
        },
        checks: CheckLimits {
            max_concurrent: settings.login.max_concurrent_checks,
            max_queued: settings.login.max_queued_checks,
            max_failures_per_address: settings.login.max_failures_per_address,
            failure_window_seconds: settings.login.failure_window_seconds,
        },
    }
}

/// How a credential change's answer waits for the replicas, as `settings`
/// say; `own` is this process's replica when it serves.
pub fn confirmation_policy(settings: &Settings, own: Option<ReplicaId>) -> ConfirmationPolicy {
    ConfirmationPolicy {
        wait: Duration::from_millis(settings.replicas.confirm_wait_milliseconds),
        lapse: Duration::from_millis(settings.replicas.lapse_milliseconds),
        own,
    }
}

/// The use cases over `store`, as `settings` configure them.
pub fn admin(
    settings: &Settings,
    store: &SqlStore,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Admin> {
    let catalog =
        ResourceCatalog::new(settings.resources.clone()).context("Invalid resource catalog")?;
    let hasher = Hasher::new(settings.argon2).context("Invalid argon2 settings")?;
    Ok(Admin::new(
        Arc::new(store.clone()),
        hasher,
        clock,
        Arc::new(catalog),
        policies(settings),
    )
    .confirming(confirmation_policy(settings, None)))
}

/// The use cases over the configured store (opened and migrated), for the
/// command line.
pub async fn open_admin(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(SqlStore, Admin)> {
    let store = open_store(settings).await?;
    let admin = admin(settings, &store, clock)?;
    Ok((store, admin))
}

/// The reminder scheduler the settings describe.
pub fn reminders(
    settings: &Settings,
    admin: Admin,
    issuer: &str,
    metrics: Metrics,
) -> anyhow::Result<Reminders> {
    let mailer = Mailer::from_settings(&settings.email).context("Invalid [email] settings")?;
    let management_url = if settings.reminders.management_url.trim().is_empty() {
        format!("{issuer}/")
    } else {
        settings.reminders.management_url.trim().to_owned()
    };
    Reminders::new(
        admin,
        mailer,
        settings.reminders.clone(),
        &settings.email.from,
        management_url,
        metrics,
    )
    .context("Invalid reminder settings")
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    ops_listener: TcpListener,
    state: AppState,
    store: SqlStore,
    reminders: Arc<Reminders>,
    feed: ChangeFeedTask,
}

impl Application {
    /// Opens the store, makes sure a key is active, and binds the listeners
    /// (port 0 picks a free port).
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let (store, admin) = open_admin(&settings, clock.clone()).await?;
        let shared = Arc::new(store.clone());
        let dir = KeyDirectory::new(&settings.keys_dir);
        // A first key is activated by Tessera itself, audited as such.
        let activated = |kid: &str| admin.key_activated(&Acting::system(), kid);
        ensure_active_key(
            &store,
            &dir,
            settings.token.algorithm,
            clock.as_ref(),
            &activated,
        )
        .await
        .context("Failed to prepare the signing keys")?;
        let ttl = time::Duration::seconds(i64::from(settings.token.ttl_seconds));
        let keys = KeyRing::load(&store, dir, ttl, clock.as_ref())
            .await
            .context("Failed to load the signing keys")?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", settings.listen))?;
        let ops_listener = TcpListener::bind(settings.ops_listen)
            .await
            .with_context(|| format!("Failed to listen on {}", settings.ops_listen))?;
        let issuer = settings.issuer_for(listener.local_addr()?);
        let discovery =
            bytes::Bytes::from(discovery::metadata(&issuer, admin.catalog()).to_string());
        let metrics = Metrics::new().context("Failed to register metrics")?;
        let token_metrics =
            TokenMetrics::register(metrics.registry()).context("Failed to register metrics")?;
        admin
            .register_metrics(metrics.registry())
            .context("Failed to register metrics")?;
        let token = TokenEndpoint::new(
            Dependencies {
                credentials: shared.clone(),
                keys: shared.clone(),
                // One hasher for the process: making one computes its dummy
                // hash, whose argon2 memory (19 MiB by default) the
                // allocator may keep resident afterwards.
                hasher: admin.hasher().clone(),
                clock: clock.clone(),
                catalog: admin.catalog().clone(),
            },
            keys,
            TokenConfig {
                token: settings.token.clone(),
                keys: settings.keys.clone(),
                cache: settings.cache.clone(),
                verification: settings.verification.clone(),
                usage: settings.usage.clone(),
            },
            issuer.clone(),
            token_metrics,
        );
        // The change feed starts before anything is served, so no change
        // committed from here on can be missed; this process is a replica
        // from now, and its own changes confirm at once.
        let replica = ReplicaId::generate();
        let feed = token
            .start_change_feed(ReplicaIdentity {
                store: shared.clone(),
                id: replica,
                address: listener.local_addr()?.to_string(),
                started_at: clock.now(),
                heartbeat: Duration::from_millis(settings.replicas.heartbeat_milliseconds.max(10)),
            })
            .await
            .context("Failed to start reading the change log")?;
        let admin = admin
            .notifying(token.invalidation_hook())
            .confirming(confirmation_policy(&settings, Some(replica)));
        let state = AppState(Arc::new(AppInner {
            admin,
            ops_store: shared,
            token,
            metrics,
            settings,
            issuer,
            discovery,
        }));
        let reminders = Arc::new(reminders(
            &state.settings,
            state.admin.clone(),
            &state.issuer,
            state.metrics.clone(),
        )?);
        Ok(Self {
            listener,
            ops_listener,
            state,
            store,
            reminders,
            feed,
        })
    }

    /// Port of the main listener.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Port of the operations listener.
    pub fn ops_port(&self) -> u16 {
        self.ops_listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(0)
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The reminder scheduler (which `run_until_stopped` runs every
    /// `[reminders] interval_seconds` when enabled).
    pub fn reminders(&self) -> &Arc<Reminders> {
        &self.reminders
    }

    /// The use cases, for `serve --demo`.
    pub fn admin(&self) -> &Admin {
        &self.state.admin
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes the
    /// requests in flight and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let token = &self.state.token;
        let replica = self.feed.replica_id();
        let background = [
            tokio::spawn(token.clone().reload_keys(stopped(stop_rx.clone()))),
            tokio::spawn(
                token
                    .clone()
                    .sync_change_log(self.feed, stopped(stop_rx.clone())),
            ),
            tokio::spawn(token.clone().prune_change_log(stopped(stop_rx.clone()))),
            tokio::spawn(
                token
                    .clone()
                    .flush_usage_periodically(stopped(stop_rx.clone())),
            ),
            tokio::spawn(ops::count_secrets(
                self.state.clone(),
                stopped(stop_rx.clone()),
            )),
            tokio::spawn(ops::watch_database(
                self.state.clone(),
                stopped(stop_rx.clone()),
            )),
        ];
        let reminders = self.state.settings.reminders.enabled.then(|| {
            tokio::spawn(crate::reminders::run(
                self.reminders.clone(),
                stopped(stop_rx.clone()),
            ))
        });
        let http = &self.state.settings.http;
        let main = crate::serve::serve(
            self.listener,
            crate::serve::body_deadline(router(self.state.clone()), http),
            http,
            stopped(stop_rx.clone()),
        );
        let ops = crate::serve::serve(
            self.ops_listener,
            ops::router(self.state.clone()),
            http,
            stopped(stop_rx),
        );
        tracing::info!(issuer = %self.state.issuer, "serving");
        tokio::join!(main, ops);
        for task in background.into_iter().chain(reminders) {
            task.abort();
        }
        // Requests have finished: write the uses they noted.
        self.state.token.flush_usage().await;
        // No longer serving: changes need not wait for this process.
        if let Err(e) = self.store.remove_replica(replica).await {
            tracing::warn!(error = %e, "could not remove this replica's row");
        }
        self.store.close().await;
        Ok(())
    }
}

/// The main router: token endpoint, discovery, JWKS, the management API
/// and the web page.
pub fn router(state: AppState) -> Router {
    let web = tessera_web::WebState::new(state.admin.clone(), &state.issuer);
    Router::new()
        .merge(tessera_token::router(state.token.clone()))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::get_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::get_metadata),
        )
        .merge(crate::management::router())
        .with_state(state)
        .merge(tessera_web::router(web))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            // A failed answer is logged where it is made, with its cause
            // and once per outage, not again per response.
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: a query string could carry a credential.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
