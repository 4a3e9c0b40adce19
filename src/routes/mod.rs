//! Thin handlers: extract → validate → query → shape.
pub mod health;
pub mod statistics;
