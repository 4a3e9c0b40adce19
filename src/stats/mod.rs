//! The statistics feature: parameters → validated request → SQL plan → integer sums → document.
pub mod active;
pub mod document;
pub mod family;
pub mod filters;
pub mod listing;
pub mod metrics;
pub mod outgoing;
pub mod params;
pub mod plan;
pub mod query;
pub mod service;
pub mod table;
pub mod time;
pub mod totals;
