//! `GET /api/rest/customer/v1/accounts`: the accounts the caller may query (for pickers such as
//! the dashboard's).

use crate::auth::Authenticated;
use crate::db::Failure;
use crate::error::ApiError;
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

const ACCOUNTS_OF_CUSTOMER: &str = include_str!("../../sql/accounts_of_customer.sql");

#[derive(Row, Deserialize)]
struct AccountRow {
    id: u32,
    uuid: String,
    name: String,
}

#[derive(Serialize)]
struct AccountItem {
    id: String,
    name: String,
}

pub async fn list(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let customer = auth.context.customer_id;
    let rows = state
        .db
        .read(|c| async move {
            c.query(ACCOUNTS_OF_CUSTOMER)
                .param("customer", customer)
                .fetch_all::<AccountRow>()
                .await
        })
        .await
        .map_err(Failure::into_api)?;
    let allowed = &auth.context.account_ids;
    let items: Vec<AccountItem> = rows
        .into_iter()
        .filter(|r| allowed.is_empty() || allowed.contains(&r.id))
        .map(|r| AccountItem {
            id: r.uuid,
            name: r.name,
        })
        .collect();
    let mut resp = HttpResponse::Ok();
    auth.refresh_cookie(&state, &mut resp);
    Ok(resp.json(serde_json::json!({ "data": items })))
}
