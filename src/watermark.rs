//! The data watermark: the newest `time_start` ingested, refreshed in the background and sent
//! with every answer, so a dip in the last minutes can be told from ingest lag.

use crate::db::Replicas;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Unknown (not read yet, or no data).
const UNKNOWN: i64 = -1;

/// The newest CDR start time seen in ClickHouse.
pub struct Watermark {
    newest: AtomicI64,
}

impl Watermark {
    /// Starts refreshing from `db`; the task ends when the watermark is dropped.
    pub fn spawn(db: Arc<Replicas>) -> Arc<Self> {
        let this = Arc::new(Self {
            newest: AtomicI64::new(UNKNOWN),
        });
        let weak: Weak<Self> = Arc::downgrade(&this);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return };
                // max() of the partition-key column is answered from part metadata: cheap.
                let newest = db
                    .read(|c| async move {
                        c.query("SELECT toInt64(toUnixTimestamp(max(time_start))) FROM cdrs")
                            .fetch_one::<i64>()
                            .await
                    })
                    .await;
                if let Ok(t) = newest {
                    this.newest
                        .store(if t > 0 { t } else { UNKNOWN }, Ordering::Relaxed);
                }
            }
        });
        this
    }

    /// RFC 3339 text of the watermark, or `unknown`.
    pub fn header(&self) -> String {
        match self.newest.load(Ordering::Relaxed) {
            UNKNOWN => "unknown".to_owned(),
            t => crate::stats::time::rfc3339(t),
        }
    }
}
