//! Thin handlers of the routes that are not statistics (those share `answer::handler`).
pub mod accounts;
pub mod dashboard;
pub mod health;
