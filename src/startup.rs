//! The application: shared state, the route table, and the HTTP server bound to a listener
//! (port 0 in tests).

use crate::auth::directory::Directory;
use crate::auth::ip::parse_cidrs;
use crate::auth::token::JwtVerifier;
use crate::config::Settings;
use crate::db::Replicas;
use crate::http;
use crate::limits::{Class, Limits};
use crate::metrics::Metrics;
use crate::routes;
use crate::stats::family::Family;
use crate::stats::filters::{Endpoint, Shape};
use crate::stats::service::Stats;
use crate::watermark::Watermark;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Everything handlers share. Built once; no per-request set-up.
pub struct AppState {
    pub settings: Settings,
    pub db: Arc<Replicas>,
    pub directory: Directory,
    pub jwt: JwtVerifier,
    pub trusted_proxies: Vec<IpNet>,
    pub stats: Stats,
    /// The §6 endpoints' planning and cache.
    pub family: Family,
    pub metrics: Metrics,
    pub limits: Limits,
    /// `CLICKHOUSE_SETTINGS`, parsed once.
    pub clickhouse_settings: Vec<(String, String)>,
    pub watermark: Arc<Watermark>,
    /// Traffic classes of `api_access` ids (`BI_ACCESS_IDS`, `LOADTEST_ACCESS_IDS`), parsed once.
    pub access_classes: HashMap<u32, Class>,
}

impl AppState {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let jwt = JwtVerifier::new(settings.require_jwt_secret()?);
        let trusted_proxies = parse_cidrs(&settings.trusted_proxies).map_err(anyhow::Error::msg)?;
        let db = Replicas::new(&settings);
        db.spawn_health_checks();
        let directory = Directory::new(
            db.clone(),
            Duration::from_secs(settings.auth_cache_ttl_secs),
        );
        let limits = Limits::new(
            &settings.class_limits()?,
            Duration::from_millis(settings.queue_wait_ms),
        );
        let clickhouse_settings = settings.extra_clickhouse_settings()?;
        let access_classes = settings.access_classes()?;
        Ok(Self {
            stats: Stats::new(&settings),
            family: Family::new(&settings)?,
            metrics: Metrics::new(),
            limits,
            clickhouse_settings,
            watermark: Watermark::spawn(db.clone()),
            access_classes,
            settings,
            db,
            directory,
            jwt,
            trusted_proxies,
        })
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
        // The chart page is optional (built by `make dashboard`); without it /dashboard/ is a 404.
        let dashboard_dir = std::path::Path::new(&settings.dashboard_dir)
            .is_dir()
            .then(|| settings.dashboard_dir.clone());
        let state = web::Data::new(AppState::new(settings)?);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(http::security_headers())
                .wrap(actix_web::middleware::from_fn(http::request_id))
                .configure(routes_table)
                .configure(|cfg| {
                    if let Some(dir) = &dashboard_dir {
                        cfg.service(
                            actix_files::Files::new("/dashboard", dir)
                                .index_file("index.html")
                                .default_handler(web::to(http::not_found)),
                        );
                    }
                })
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

fn routes_table(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(routes::health::healthz))
        .route("/readyz", web::get().to(routes::health::readyz))
        .route("/metrics", web::get().to(routes::health::metrics))
        .route(
            "/openapi.json",
            web::get()
                .to(|| async { actix_web::HttpResponse::Ok().json(crate::openapi::document()) }),
        )
        .route(
            "/api/rest/customer/v1/accounts",
            web::get().to(routes::accounts::list),
        )
        .route(
            "/dashboard",
            web::get().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header(("location", "/dashboard/"))
                    .finish()
            }),
        );
    for endpoint in Endpoint::ALL {
        if endpoint.shape() == Shape::Quality {
            cfg.route(
                endpoint.path(),
                web::get().to(move |req, auth, state| {
                    routes::statistics::statistics(endpoint, req, auth, state)
                }),
            );
            continue;
        }
        // HEAD wherever GET is allowed (SPEC §7): the same handler; actix sends no HEAD body.
        let family = move |req, auth, state| routes::family::family(endpoint, req, auth, state);
        cfg.service(
            web::resource(endpoint.path())
                .route(web::get().to(family))
                .route(web::head().to(family))
                // Other methods answer as they do on every other route.
                .default_service(web::to(http::not_found)),
        );
    }
}
