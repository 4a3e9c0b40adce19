//! The application: builds each shared component once (each handler takes the ones it needs as
//! its own `web::Data`), the route table, SIGHUP secret rotation, and the HTTP server bound to a
//! listener (port 0 in tests).

use crate::answer::{CachePolicy, Family, Service, handler};
use crate::auth::directory::Directory;
use crate::auth::token::JwtVerifier;
use crate::auth::{Gate, SessionCookie};
use crate::config::{ConfigError, Settings};
use crate::db::Replicas;
use crate::domain::{Endpoint, Shape};
use crate::http;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::routes;
use crate::stats::active::ActiveCalls;
use crate::stats::breakdown::Breakdown;
use crate::stats::listing::Listing;
use crate::stats::outgoing::OutgoingCalls;
use crate::stats::quality::Quality;
use crate::stats::query::Backend;
use crate::stats::totals::Statistics;
use crate::watermark::Watermark;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, guard, web};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// The shared components, each its own `web::Data`.
#[derive(Clone)]
struct Components {
    metrics: web::Data<Metrics>,
    db: web::Data<Replicas>,
    gate: web::Data<Gate>,
    backend: web::Data<Backend>,
    accounts: web::Data<routes::accounts::AccountLists>,
    quality: web::Data<Service<Quality>>,
    statistics: web::Data<Service<Statistics>>,
    active_calls: web::Data<Service<ActiveCalls>>,
    outgoing_calls: web::Data<Service<OutgoingCalls>>,
    breakdown: web::Data<Service<Breakdown>>,
}

impl Components {
    fn new(settings: &Settings) -> anyhow::Result<Self> {
        settings.require_jwt_secret()?;
        let jwt = JwtVerifier::new(&settings.jwt_keys, settings.token_time_rules());
        tracing::info!(kids = ?jwt.kids(), "JWT secrets loaded (key ids, newest first)");
        let metrics = Arc::new(Metrics::new());
        let db = Replicas::new(settings);
        db.spawn_health_checks();
        let auth_ttl = Duration::from_secs(settings.auth_cache_ttl_secs);
        let gate = Gate {
            jwt,
            directory: Directory::new(db.clone(), auth_ttl),
            trusted_proxies: settings.trusted_proxies.clone(),
            access_classes: settings.access_classes(),
            cookie: SessionCookie {
                name: settings.session_cookie_name.clone(),
                secure: settings.session_cookie_secure,
                ttl_secs: settings.session_cookie_ttl_secs,
            },
            metrics: metrics.clone(),
        };
        let backend = Backend {
            db: db.clone(),
            limits: Limits::new(
                &settings.class_limits(),
                Duration::from_millis(settings.queue_wait_ms),
            ),
            metrics: metrics.clone(),
            listing: Listing::new(settings.rollup_listing_ttl_secs),
            watermark: Watermark::new(db.clone()),
            timeout_secs: settings.query_timeout_secs,
            extra_settings: settings.clickhouse_settings.clone(),
        };
        let policy = CachePolicy::from_settings(settings);
        Ok(Self {
            metrics: web::Data::from(metrics),
            db: web::Data::from(db),
            gate: web::Data::new(gate),
            backend: web::Data::new(backend),
            accounts: web::Data::new(routes::accounts::AccountLists::new(auth_ttl)),
            quality: web::Data::new(Service::new(Quality::new(settings), policy)),
            statistics: web::Data::new(Service::new(Statistics::new(settings), policy)),
            active_calls: web::Data::new(Service::new(ActiveCalls::new(settings), policy)),
            outgoing_calls: web::Data::new(Service::new(OutgoingCalls::new(settings), policy)),
            breakdown: web::Data::new(Service::new(Breakdown::new(settings), policy)),
        })
    }

    fn register(&self, app: &mut web::ServiceConfig) {
        app.app_data(self.metrics.clone())
            .app_data(self.db.clone())
            .app_data(self.gate.clone())
            .app_data(self.backend.clone())
            .app_data(self.accounts.clone())
            .app_data(self.quality.clone())
            .app_data(self.statistics.clone())
            .app_data(self.active_calls.clone())
            .app_data(self.outgoing_calls.clone())
            .app_data(self.breakdown.clone());
    }
}

/// A bound, not yet running, gateway.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `LISTEN_ADDR` and builds the server.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.listen_addr)
            .with_context(|| format!("cannot listen on LISTEN_ADDR={}", settings.listen_addr))?;
        Self::with_listener(settings, listener)
    }

    /// Builds the server on an already bound listener.
    pub fn with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let components = Components::new(&settings)?;
        reload_secrets_on_sighup(settings, components.clone()).context("listening for SIGHUP")?;
        let server = HttpServer::new(move || {
            App::new()
                .configure(|app| components.register(app))
                .wrap(actix_web::middleware::from_fn(
                    crate::json_errors::middleware,
                ))
                .wrap(http::security_headers())
                .wrap(actix_web::middleware::from_fn(http::request_id))
                .configure(routes_table)
                .default_service(web::to(http::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// `GET` and `HEAD` (BI tools probe with `HEAD`). actix answers a `HEAD` with the
/// status and headers of the `GET` handler — `Content-Length` included — and drops the body.
fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A GET/HEAD route as a resource of its own, so other methods on the path answer 405 (with
/// `Allow`) rather than falling through to the 404 of unknown paths.
fn get(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(route)
}

fn routes_table(cfg: &mut web::ServiceConfig) {
    cfg.service(get("/healthz", get_or_head().to(routes::health::healthz)))
        .service(get("/readyz", get_or_head().to(routes::health::readyz)))
        .service(get("/metrics", get_or_head().to(routes::health::metrics)))
        .service(get(
            "/openapi.json",
            get_or_head()
                .to(|| async { actix_web::HttpResponse::Ok().json(crate::openapi::document()) }),
        ))
        .service(get(
            "/api/rest/customer/v1/accounts",
            get_or_head().to(routes::accounts::list),
        ))
        .service(get(
            "/dashboard/{path:.*}",
            get_or_head().to(routes::dashboard::asset),
        ))
        .service(get(
            "/dashboard",
            get_or_head().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header(("location", "/dashboard/"))
                    .finish()
            }),
        ));
    for endpoint in Endpoint::ALL {
        let route = match endpoint.shape() {
            Shape::Quality => statistics::<Quality>(endpoint),
            Shape::Statistics => statistics::<Statistics>(endpoint),
            Shape::ActiveCalls => statistics::<ActiveCalls>(endpoint),
            Shape::OutgoingActiveCalls => statistics::<OutgoingCalls>(endpoint),
            Shape::Breakdown => statistics::<Breakdown>(endpoint),
        };
        cfg.service(get(endpoint.path(), route));
    }
}

/// The route of a statistics endpoint answered by family `F`.
fn statistics<F: Family>(endpoint: Endpoint) -> actix_web::Route
where
    F::Document: Send + Sync,
{
    get_or_head().to(move |req, auth, gate, backend, service| {
        handler::handle::<F>(endpoint, req, auth, gate, backend, service)
    })
}

/// Re-reads the secret files and swaps them in: the JWT keys of the verifier and the
/// ClickHouse password of every replica client. On any error the old secrets stay in force.
fn reload_secrets(settings: &Settings, components: &Components) -> Result<(), ConfigError> {
    let loaded = crate::secrets::load(&settings.secret_sources())?;
    if loaded.jwt.is_empty() {
        return Err(ConfigError::Invalid {
            var: "JWT_SECRET",
            reason: "no JWT secret configured".into(),
        });
    }
    components.gate.jwt.replace_secrets(&loaded.jwt);
    components
        .db
        .set_password(loaded.clickhouse_password.expose());
    tracing::info!(
        source = loaded.jwt_source,
        kids = ?components.gate.jwt.kids(),
        "secrets reloaded"
    );
    Ok(())
}

/// Reloads the secrets on every `SIGHUP` for as long as the server runs.
fn reload_secrets_on_sighup(settings: Settings, components: Components) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let outcome = match reload_secrets(&settings, &components) {
                Ok(()) => "ok",
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: secrets not reloaded, the old ones stay");
                    "error"
                }
            };
            components
                .metrics
                .secret_reloads
                .with_label_values(&[outcome])
                .inc();
        }
    });
    Ok(())
}
