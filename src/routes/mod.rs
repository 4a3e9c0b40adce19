//! Thin handlers: extract → validate → query → shape.
pub mod accounts;
pub mod dashboard;
pub mod family;
pub mod health;
pub mod statistics;
