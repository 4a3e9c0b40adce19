//! The `cdrstats` subcommands besides `serve`.
pub mod check;
pub mod demo;
pub mod derived;
pub mod listing;
pub mod maintain;
pub mod migrate;
pub mod rollups;
pub mod schema_parity;
pub mod seed;
pub mod snapshots;
pub mod sql;
pub mod token;
