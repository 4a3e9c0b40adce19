//! Thin handlers: extract → validate → query → shape.
pub mod accounts;
pub mod dashboard;
pub mod health;
pub mod statistics;
