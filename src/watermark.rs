//! The data watermark of one account: the newest `time_start` ingested among the CDRs the
//! endpoint counts for it, sent with every answer so a dip in the last minutes can be told from
//! ingest lag. Scoped to the account asked: a table-wide maximum would tell every customer when
//! the others last made calls. The active-calls endpoints tell the newest snapshot instead (the
//! collector's clock, the same for every customer, so it says nothing about anyone's calls).

use crate::db::Replicas;
use crate::domain::{Endpoint, Shape, Side};
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

/// How long a looked-up watermark is reused; concurrent lookups of one key run one query.
const FRESH_FOR: Duration = Duration::from_secs(2);
/// Accounts whose watermark is kept at a time.
const CAPACITY: u64 = 100_000;

// The newest row in the order of the table's key (termination: `cdrs` by
// `(vendor_acc_id, time_start)`; origination: `cdrs_by_customer`, the last CDRs by
// `(customer_acc_id, time_start)`): with the account fixed, ClickHouse reads each part backwards
// (`optimize_read_in_order`) and stops at the first row, a granule or so per part. `max()`
// would read every `time_start` of the account: 47M values for the hot account at 100M CDRs.
const TERMINATION: &str = "SELECT toInt64(toUnixTimestamp(time_start)) FROM cdrs \
     WHERE vendor_acc_id = {account:UInt32} ORDER BY time_start DESC LIMIT 1";
const ORIGINATION: &str = "SELECT toInt64(toUnixTimestamp(time_start)) \
     FROM cdrs_by_customer WHERE customer_acc_id = {account:UInt32} \
     ORDER BY time_start DESC LIMIT 1";
// The newest snapshot (`active_calls_snapshots` holds one row per snapshot); `{account}` is
// bound but unused, so every lookup has the same shape.
const SNAPSHOTS: &str = "SELECT toInt64(toUnixTimestamp(max(snapshot_timestamp))) \
     FROM active_calls_snapshots WHERE {account:UInt32} = {account:UInt32}";

/// The watermark query of an endpoint.
fn sql(endpoint: Endpoint) -> &'static str {
    match (endpoint.shape(), endpoint.side()) {
        (Shape::ActiveCalls | Shape::OutgoingActiveCalls, _) => SNAPSHOTS,
        (_, Side::Termination) => TERMINATION,
        (_, Side::Origination) => ORIGINATION,
    }
}

/// Newest CDR start time per (endpoint, account), looked up on demand and cached briefly.
pub struct Watermark {
    db: Arc<Replicas>,
    newest: Cache<(Endpoint, u32), Option<i64>>,
}

impl Watermark {
    pub fn new(db: Arc<Replicas>) -> Arc<Self> {
        Arc::new(Self {
            db,
            newest: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(FRESH_FOR)
                .build(),
        })
    }

    /// RFC 3339 text of the account's watermark, or `unknown` (no CDRs, or ClickHouse did not
    /// answer: a statistics answer is not failed for its watermark).
    pub async fn header(&self, endpoint: Endpoint, account: u32) -> String {
        let newest = self
            .newest
            .try_get_with((endpoint, account), self.look_up(endpoint, account))
            .await
            .ok()
            .flatten();
        match newest {
            Some(t) => crate::stats::time::rfc3339(t),
            None => "unknown".to_owned(),
        }
    }

    async fn look_up(&self, endpoint: Endpoint, account: u32) -> Result<Option<i64>, String> {
        let sql = sql(endpoint);
        self.db
            .read(|c| async move {
                c.query(sql)
                    .param("account", account)
                    .fetch_optional::<i64>()
                    .await
            })
            .await
            .map(|t| t.filter(|&t| t > 0))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_reads_its_own_account_column() {
        for endpoint in [Endpoint::TerminationQuality, Endpoint::OriginationQuality] {
            let sql = sql(endpoint);
            assert!(sql.contains(&format!(
                "{} = {{account:UInt32}}",
                endpoint.account_column()
            )));
            assert_eq!(
                sql.contains("cdrs_by_customer"),
                endpoint.last_cdr_only(),
                "origination counts the last CDRs, which cdrs_by_customer holds"
            );
        }
        assert_eq!(sql(Endpoint::OriginationStatistics), ORIGINATION);
        assert_eq!(sql(Endpoint::TerminationActiveCalls), SNAPSHOTS);
    }
}
