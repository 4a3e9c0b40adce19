//! Thin handlers: extract → validate → query → shape.
pub mod accounts;
pub mod health;
pub mod statistics;
