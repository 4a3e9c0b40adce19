//! Retention: a window older than `RAW_RETENTION_DAYS` that needs raw CDRs (or older than
//! `ROLLUP_RETENTION_DAYS` on a rollup) would answer zeros for data that was deleted, so it is
//! refused with a clear 400 instead.

use super::plan::Plan;
use crate::config::Settings;
use crate::error::ApiError;

/// The retention horizons in seconds (0 = forever).
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    raw: i64,
    rollup: i64,
}

impl Retention {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            raw: i64::from(settings.raw_retention_days) * 86_400,
            rollup: i64::from(settings.rollup_retention_days) * 86_400,
        }
    }

    /// Refuses `plan` at `now` when it reads what retention has deleted. Whole minutes older
    /// than raw retention are served only by a rollup: the plan reads them raw when the
    /// account-side's rollups start later (or not at all), and is refused then.
    pub fn check(&self, plan: &Plan, now: i64) -> Result<(), ApiError> {
        let expired =
            |from: Option<i64>, keep: i64| keep > 0 && from.is_some_and(|f| f < now - keep);
        if expired(plan.raw_from, self.raw) {
            return Err(self.raw_expired());
        }
        if expired(plan.rollup_from, self.rollup) {
            return Err(ApiError::BadRequest(format!(
                "statistics are kept {} days: from-time is older than that",
                self.rollup / 86_400
            )));
        }
        Ok(())
    }

    /// The 400 for a window that needs raw CDRs deleted by `RAW_RETENTION_DAYS`.
    fn raw_expired(&self) -> ApiError {
        ApiError::BadRequest(format!(
            "raw CDRs are kept {} days: this window needs them before that (whole minutes \
             of accounts with rollups, without duration, price, auth-orig-ip or src-prefix \
             filters, are served longer)",
            self.raw / 86_400
        ))
    }
}
