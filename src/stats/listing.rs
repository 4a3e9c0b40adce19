//! Which account-sides are rolled up, and from when: `since` of `rollup_accounts`
//! (schema/005_rollup_accounts.sql), looked up once per account-side and reused for
//! `ROLLUP_LISTING_TTL_SECS` (default 5 s; 0 looks it up for every request). A request is
//! planned with this one value: its query reads raw CDRs before it and rollup rows from it on.
//!
//! Why a reused value keeps answers exact. A rollup is complete for an account-side from its
//! `since` on, and the listing changes in two directions:
//! - Towards more raw reads: a listing or a rebuild moves `since` back, or to "never" while it
//!   works. A reused older value reads raw CDRs for minutes the rollup could serve: the same
//!   sums, just slower — except while a re-listing has just dropped the rollup rows it
//!   recomputes, which is why `cdrstats` (src/cli/listing.rs) first sets `since` to never and
//!   keeps the views writing for this TTL plus a margin before it drops anything.
//! - Towards fewer rollup writes: `cdrstats` unlists the same way (gateways stop reading, then
//!   the views stop, then the rows go), so no reused value reads a rollup the views stopped
//!   feeding. Deleting a listing row by hand does not: the views stop at once, and for up to
//!   this TTL a gateway still reads the rollup, missing every CDR inserted since — late CDRs for
//!   settled minutes included, which then enter the settled caches until
//!   `SETTLED_REVALIDATE_SECS` re-reads them. Unlist with `cdrstats`, never by hand.
//!
//! It was looked up inside every query before (a scalar subquery): on the local engine that
//! read cost 2.7 ms of a 10.2 ms rollup query at 100M CDRs (bench/results/2026-11-27-notes.md).

use crate::error::ApiError;
use moka::future::Cache;
use std::future::Future;
use std::time::Duration;

/// Account-sides whose listing is kept at a time.
const CAPACITY: u64 = 200_000;

pub struct Listing {
    /// `None` when `ROLLUP_LISTING_TTL_SECS` is 0.
    since: Option<Cache<(u8, u32), i64>>,
}

impl Listing {
    pub fn new(ttl_secs: u64) -> Self {
        Self {
            since: (ttl_secs > 0).then(|| {
                Cache::builder()
                    .max_capacity(CAPACITY)
                    .time_to_live(Duration::from_secs(ttl_secs))
                    .build()
            }),
        }
    }

    /// The account-side's rollup `since` (unix seconds; 2106 when not rolled up), from
    /// `look_up` unless a value younger than the TTL is kept; concurrent misses share one
    /// lookup. Failures are not kept.
    pub async fn since<F>(&self, side: u8, account: u32, look_up: F) -> Result<i64, ApiError>
    where
        F: Future<Output = Result<i64, ApiError>>,
    {
        match &self.since {
            None => look_up.await,
            Some(cache) => cache
                .try_get_with((side, account), look_up)
                .await
                .map_err(std::sync::Arc::unwrap_or_clone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_value_is_reused_within_the_ttl_and_per_account_side() {
        let lookups = AtomicU32::new(0);
        let look_up = |v: i64| {
            lookups.fetch_add(1, Ordering::Relaxed);
            async move { Ok(v) }
        };
        let listing = Listing::new(60);
        assert_eq!(listing.since(0, 1, look_up(100)).await.expect("since"), 100);
        assert_eq!(listing.since(0, 1, look_up(200)).await.expect("since"), 100);
        assert_eq!(listing.since(1, 1, look_up(300)).await.expect("since"), 300);
        assert_eq!(lookups.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn ttl_zero_looks_up_every_time_and_failures_are_not_kept() {
        let listing = Listing::new(0);
        assert_eq!(
            listing.since(0, 1, async { Ok(1) }).await.expect("since"),
            1
        );
        assert_eq!(
            listing.since(0, 1, async { Ok(2) }).await.expect("since"),
            2
        );
        let kept = Listing::new(60);
        let failed = kept
            .since(0, 1, async { Err(ApiError::Unavailable("down")) })
            .await;
        assert!(failed.is_err());
        assert_eq!(kept.since(0, 1, async { Ok(3) }).await.expect("since"), 3);
    }
}
