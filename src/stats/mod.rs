//! The statistics feature: parameters → validated request → SQL plan → integer sums → document.
pub mod document;
pub mod filters;
pub mod metrics;
pub mod params;
pub mod plan;
pub mod query;
pub mod service;
pub mod time;
