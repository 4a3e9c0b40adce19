//! cdrstats: a query gateway for telecom call statistics over ClickHouse.
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod ddl;
pub mod error;
pub mod http;
pub mod json_errors;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod secrets;
pub mod startup;
pub mod stats;
pub mod telemetry;
pub mod watermark;
