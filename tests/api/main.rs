//! Integration tests: the whole gateway over HTTP against the real local engine (no mocks).
//! Each test gets a fresh database named after it.

mod auth;
mod caching;
mod engine;
mod equivalence;
mod family;
mod helpers;
mod robustness;
mod schema;
mod statistics;
mod time_zones;
mod validation;
