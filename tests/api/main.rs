//! Integration tests: the whole gateway over HTTP against the real local engine (no mocks).
//! Each test gets a fresh database named after it.

mod auth;
mod breakdown;
mod caching;
mod data_layer;
mod engine;
mod equivalence;
mod error_shapes;
mod family;
mod formats;
mod helpers;
mod live_pipeline;
mod preflight;
mod robustness;
mod schema;
mod server_semantics;
mod statistics;
mod time_zones;
mod validation;
