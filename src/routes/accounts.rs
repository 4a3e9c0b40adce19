//! `GET /api/rest/customer/v1/accounts`: the accounts the caller may query (for pickers such as
//! the dashboard's). Goes through the same admission as statistics (rate, concurrency, the
//! class's ClickHouse query slots) and caches each customer's list for `AUTH_CACHE_TTL_SECS`,
//! like the other account lookups, so a polling picker costs no ClickHouse queries.

use crate::auth::{Authenticated, Gate};
use crate::db::Failure;
use crate::error::ApiError;
use crate::stats::query::Backend;
use actix_web::{HttpResponse, web};
use clickhouse::Row;
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNTS_OF_CUSTOMER: &str = include_str!("../../sql/accounts_of_customer.sql");
/// Customers whose lists are kept at a time.
const CAPACITY: u64 = 10_000;

#[derive(Row, Deserialize)]
struct AccountRow {
    id: u32,
    uuid: String,
    name: String,
}

#[derive(Serialize)]
struct AccountItem<'a> {
    id: &'a str,
    name: &'a str,
}

/// Every customer's accounts, cached per customer; its own `web::Data`.
pub struct AccountLists {
    by_customer: Cache<u32, Arc<Vec<AccountRow>>>,
}

impl AccountLists {
    pub fn new(ttl: Duration) -> Self {
        Self {
            by_customer: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }
}

pub async fn list(
    auth: Authenticated,
    gate: web::Data<Gate>,
    backend: web::Data<Backend>,
    lists: web::Data<AccountLists>,
) -> Result<HttpResponse, ApiError> {
    let customer = auth.context.customer_id;
    let _admission = backend.limits.admit(auth.class, customer)?;
    let rows = lists
        .by_customer
        .try_get_with(customer, async {
            let _slot = backend.limits.query_slot(auth.class).await?;
            let rows = backend
                .db
                .read(|c| async move {
                    c.query(ACCOUNTS_OF_CUSTOMER)
                        .param("customer", customer)
                        .fetch_all::<AccountRow>()
                        .await
                })
                .await
                .map_err(Failure::into_api)?;
            Ok::<_, ApiError>(Arc::new(rows))
        })
        .await
        .map_err(std::sync::Arc::unwrap_or_clone)?;
    let allowed = &auth.context.account_ids;
    let items: Vec<AccountItem> = rows
        .iter()
        .filter(|r| allowed.is_empty() || allowed.contains(&r.id))
        .map(|r| AccountItem {
            id: &r.uuid,
            name: &r.name,
        })
        .collect();
    let mut resp = HttpResponse::Ok();
    auth.refresh_cookie(&gate, &mut resp);
    Ok(resp.json(serde_json::json!({ "data": items })))
}
