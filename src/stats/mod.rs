//! The statistics feature: parameters → validated request → SQL plan → integer sums → document.
//! Each response family (`quality`, `totals`, `active`, `outgoing`) implements
//! `answer::Family` over these parts.
pub mod active;
pub mod breakdown;
pub mod document;
pub mod filters;
pub mod listing;
pub mod metrics;
pub mod outgoing;
pub mod params;
pub mod plan;
pub mod price_sql;
pub mod quality;
pub mod query;
pub mod retention;
pub mod table;
pub mod time;
pub mod totals;
