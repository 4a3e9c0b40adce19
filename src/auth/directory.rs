//! Accounts and API credentials read from ClickHouse, cached for `AUTH_CACHE_TTL_SECS` with
//! concurrent misses for one key coalesced into one query.

use super::ip::parse_net;
use super::token::DynamicCfg;
use crate::db::{Failure, Replicas};
use crate::error::ApiError;
use clickhouse::Row;
use ipnet::IpNet;
use moka::future::Cache;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const ACCOUNT_BY_UUID: &str = include_str!("../../sql/account_by_uuid.sql");
const API_ACCESS_BY_ID: &str = include_str!("../../sql/api_access_by_id.sql");
const CACHE_CAPACITY: u64 = 100_000;

/// An account as far as authorization cares.
#[derive(Clone, Copy, Debug, Row, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub id: u32,
    pub contractor_id: u32,
}

#[derive(Row, Deserialize)]
struct AccessRow {
    customer_id: u32,
    account_ids: Vec<u32>,
    allowed_ips: Vec<String>,
}

/// What a caller may see: one customer's accounts (all, or the listed ones), from some
/// addresses (all, or the listed networks).
#[derive(Debug, PartialEq)]
pub struct CustomerContext {
    pub customer_id: u32,
    /// Empty means every account of the customer.
    pub account_ids: Vec<u32>,
    /// `None` means any address. `Some` of an empty list (every entry unparsable) allows none.
    pub allowed_ips: Option<Vec<IpNet>>,
}

impl CustomerContext {
    fn new(customer_id: u32, account_ids: Vec<u32>, allowed_ips: &[String]) -> Self {
        let allowed_ips = (!allowed_ips.is_empty()).then(|| {
            allowed_ips
                .iter()
                .filter_map(|s| {
                    let net = parse_net(s.trim());
                    if net.is_none() {
                        tracing::warn!(customer_id, entry = %s, "unparsable allowed_ips entry ignored");
                    }
                    net
                })
                .collect()
        });
        Self {
            customer_id,
            account_ids,
            allowed_ips,
        }
    }

    /// Whether the account belongs to the customer and is in the allowed list.
    pub fn may_use(&self, account: &Account) -> bool {
        account.contractor_id == self.customer_id
            && (self.account_ids.is_empty() || self.account_ids.contains(&account.id))
    }

    /// Whether a request from `ip` is allowed.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allowed_ips
            .as_ref()
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&ip)))
    }
}

impl From<DynamicCfg> for CustomerContext {
    fn from(cfg: DynamicCfg) -> Self {
        Self::new(cfg.customer_id, cfg.account_ids, &cfg.allowed_ips)
    }
}

/// Cached lookups of accounts and API credentials.
pub struct Directory {
    db: Arc<Replicas>,
    accounts: Cache<Uuid, Option<Account>>,
    access: Cache<u32, Option<Arc<CustomerContext>>>,
}

impl Directory {
    pub fn new(db: Arc<Replicas>, ttl: Duration) -> Self {
        Self {
            db,
            accounts: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(ttl)
                .build(),
            access: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The account with this API uuid, if any.
    pub async fn account(&self, uuid: Uuid) -> Result<Option<Account>, ApiError> {
        let db = &self.db;
        self.accounts
            .try_get_with(uuid, async move {
                db.read(|c| async move {
                    c.query(ACCOUNT_BY_UUID)
                        .param("uuid", uuid.to_string())
                        .fetch_optional::<Account>()
                        .await
                })
                .await
            })
            .await
            .map_err(unwrap_shared)
    }

    /// The context of the `api_access` row `id`, if any.
    pub async fn access(&self, id: u32) -> Result<Option<Arc<CustomerContext>>, ApiError> {
        let db = &self.db;
        self.access
            .try_get_with(id, async move {
                let row = db
                    .read(|c| async move {
                        c.query(API_ACCESS_BY_ID)
                            .param("id", id)
                            .fetch_optional::<AccessRow>()
                            .await
                    })
                    .await?;
                Ok::<_, Failure>(row.map(|r| {
                    Arc::new(CustomerContext::new(
                        r.customer_id,
                        r.account_ids,
                        &r.allowed_ips,
                    ))
                }))
            })
            .await
            .map_err(unwrap_shared)
    }
}

/// moka shares one error among coalesced callers; it is mapped through the same error table as
/// any other ClickHouse failure (an unreachable server is a 503, never a 500).
fn unwrap_shared(err: Arc<Failure>) -> ApiError {
    err.to_api()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_and_account_lists() {
        let all = CustomerContext::new(5, vec![], &[]);
        let listed = CustomerContext::new(5, vec![2], &[]);
        let mine = Account {
            id: 1,
            contractor_id: 5,
        };
        let other = Account {
            id: 2,
            contractor_id: 6,
        };
        assert!(all.may_use(&mine));
        assert!(!all.may_use(&other));
        assert!(!listed.may_use(&mine));
        assert!(listed.may_use(&Account {
            id: 2,
            contractor_id: 5
        }));
    }

    #[test]
    fn an_unreachable_server_shared_by_coalesced_callers_is_a_503() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let shared = Arc::new(Failure::Query(clickhouse::error::Error::Network(Box::new(
            refused,
        ))));
        let other_caller = shared.clone();
        for err in [unwrap_shared(shared), unwrap_shared(other_caller)] {
            assert!(matches!(err, ApiError::Unavailable(_)), "{err:?}");
        }
        assert!(matches!(
            unwrap_shared(Arc::new(Failure::Down)),
            ApiError::Unavailable(_)
        ));
    }

    #[test]
    fn ip_allow_lists() {
        let any = CustomerContext::new(1, vec![], &[]);
        assert!(any.allows_ip("8.8.8.8".parse().expect("ip")));
        let nets = CustomerContext::new(1, vec![], &["10.0.0.0/8".into(), "127.0.0.1".into()]);
        assert!(nets.allows_ip("10.2.3.4".parse().expect("ip")));
        assert!(nets.allows_ip("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(!nets.allows_ip("11.0.0.1".parse().expect("ip")));
        let broken = CustomerContext::new(1, vec![], &["not-an-ip".into()]);
        assert!(
            !broken.allows_ip("10.2.3.4".parse().expect("ip")),
            "fails closed"
        );
    }
}
