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
use actix_web::{App, HttpServer, guard, web};
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
    /// The rollup listing (`rollup_accounts`), reused for `ROLLUP_LISTING_TTL_SECS`.
    pub listing: crate::stats::listing::Listing,
    /// The accounts listing's per-customer cache.
    pub account_lists: crate::routes::accounts::AccountLists,
    /// Traffic classes of `api_access` ids (`BI_ACCESS_IDS`, `LOADTEST_ACCESS_IDS`), parsed once.
    pub access_classes: HashMap<u32, Class>,
}

impl AppState {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        settings.require_jwt_secret()?;
        let jwt = JwtVerifier::new(&settings.jwt_keys, settings.token_time_rules());
        tracing::info!(kids = ?jwt.kids(), "JWT secrets loaded (key ids, newest first)");
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
            watermark: Watermark::new(db.clone()),
            listing: crate::stats::listing::Listing::new(settings.rollup_listing_ttl_secs),
            account_lists: crate::routes::accounts::AccountLists::new(Duration::from_secs(
                settings.auth_cache_ttl_secs,
            )),
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
        let state = web::Data::new(AppState::new(settings)?);
        crate::secrets::reload_on_sighup(state.clone()).context("listening for SIGHUP")?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
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

/// `GET` and `HEAD` (SPEC §7: BI tools probe with `HEAD`). actix answers a `HEAD` with the
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
        let route = if endpoint.shape() == Shape::Quality {
            get_or_head().to(move |req, auth, state| {
                routes::statistics::statistics(endpoint, req, auth, state)
            })
        } else {
            get_or_head()
                .to(move |req, auth, state| routes::family::family(endpoint, req, auth, state))
        };
        cfg.service(get(endpoint.path(), route));
    }
}
