//! The data watermark of one account: the newest `time_start` ingested among the CDRs the
//! endpoint counts for it, sent with every answer so a dip in the last minutes can be told from
//! ingest lag. Scoped to the account asked: a table-wide maximum would tell every customer when
//! the others last made calls.

use crate::db::Replicas;
use crate::stats::filters::Endpoint;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

/// How long a looked-up watermark is reused; concurrent lookups of one key run one query.
const FRESH_FOR: Duration = Duration::from_secs(2);
/// Accounts whose watermark is kept at a time.
const CAPACITY: u64 = 100_000;

// `max()` over the leading columns of the ordering key (termination: the table's
// `(vendor_acc_id, time_start)`; origination: the `by_customer` projection) reads a few granules.
const TERMINATION: &str = "SELECT toInt64(toUnixTimestamp(max(time_start))) FROM cdrs \
     WHERE vendor_acc_id = {account:UInt32}";
const ORIGINATION: &str = "SELECT toInt64(toUnixTimestamp(max(time_start))) FROM cdrs \
     WHERE customer_acc_id = {account:UInt32} AND is_last_cdr";

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
        let sql = match endpoint {
            Endpoint::Termination => TERMINATION,
            Endpoint::Origination => ORIGINATION,
        };
        self.db
            .read(|c| async move {
                c.query(sql)
                    .param("account", account)
                    .fetch_one::<i64>()
                    .await
            })
            .await
            .map(|t| (t > 0).then_some(t))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_reads_its_own_account_column() {
        for endpoint in Endpoint::ALL {
            let sql = match endpoint {
                Endpoint::Termination => TERMINATION,
                Endpoint::Origination => ORIGINATION,
            };
            assert!(sql.contains(&format!(
                "{} = {{account:UInt32}}",
                endpoint.account_column()
            )));
            assert_eq!(sql.contains("is_last_cdr"), endpoint.last_cdr_only());
        }
    }
}
