//! Prometheus metrics, exposed at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Latency buckets from 0.5 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric of the gateway, registered once.
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub in_flight: IntGauge,
    pub queries: IntCounterVec,
    pub query_seconds: HistogramVec,
    pub query_errors: IntCounterVec,
    pub cache: IntCounterVec,
    pub rejections: IntCounterVec,
    /// Refused credentials by reason (`expired`, `signature`, `ip_not_allowed`, ...).
    pub auth_failures: IntCounterVec,
    /// Secret reloads on SIGHUP by result (`ok`, `error`).
    pub secret_reloads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("cdrstats".into()), None).unwrap_or_default();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                labels,
            )
            .expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let in_flight = IntGauge::new("http_requests_in_flight", "Requests being served")
            .expect("valid metric");
        registry
            .register(Box::new(in_flight.clone()))
            .expect("unique metric");
        Self {
            requests: counter(
                "http_requests_total",
                "HTTP requests by route and status",
                &["route", "status"],
            ),
            request_seconds: histogram(
                "http_request_duration_seconds",
                "HTTP request latency",
                &["route"],
            ),
            in_flight,
            queries: counter(
                "clickhouse_queries_total",
                "Statistics queries sent to ClickHouse by path",
                &["path"],
            ),
            query_seconds: histogram(
                "clickhouse_query_duration_seconds",
                "Statistics query latency",
                &["path"],
            ),
            query_errors: counter(
                "clickhouse_query_errors_total",
                "Failed statistics queries by kind",
                &["kind"],
            ),
            cache: counter(
                "cache_lookups_total",
                "Cache lookups by cache and result",
                &["cache", "result"],
            ),
            rejections: counter(
                "rejections_total",
                "Requests refused to protect the backend, by status",
                &["status"],
            ),
            auth_failures: counter(
                "auth_failures_total",
                "Requests refused with 401, by reason",
                &["reason"],
            ),
            secret_reloads: counter(
                "secret_reloads_total",
                "Secret reloads on SIGHUP, by result",
                &["result"],
            ),
            registry,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
