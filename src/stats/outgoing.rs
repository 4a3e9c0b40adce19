//! `outgoing-active-calls`: the caller's calls in the newest snapshot, newest first, at most
//! `MAX_ACTIVE_CALLS` rows.

use super::filters::Filter;
use super::params::{RawParams, Value};
use super::plan::{self, Bind, Plan};
use super::query::Executor;
use super::table::quoted;
use crate::answer::{Ask, Computed, Family, RequestKey, Source};
use crate::config::Settings;
use crate::domain::Endpoint;
use crate::error::ApiError;
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const OUTGOING: &str = include_str!("../../sql/outgoing_active_calls.sql");

/// The `outgoing-active-calls` family: always live, never settled.
pub struct OutgoingCalls {
    max_active_calls: u32,
}

impl OutgoingCalls {
    pub fn new(settings: &Settings) -> Self {
        Self {
            max_active_calls: settings.max_active_calls,
        }
    }
}

impl Family for OutgoingCalls {
    type Request = OutgoingRequest;
    type Document = OutgoingDocument;
    type Key = RequestKey;
    const CACHE_LABEL: &'static str = "family";

    fn parse(&self, _: Endpoint, query: &str) -> Result<OutgoingRequest, ApiError> {
        OutgoingRequest::parse(query)
    }

    fn account(request: &OutgoingRequest) -> Uuid {
        request.account
    }

    fn from_secs(_: &OutgoingRequest) -> Option<i64> {
        None
    }

    fn csv_header(_: &OutgoingRequest) -> String {
        csv_header()
    }

    fn key(&self, ask: &Ask<'_, OutgoingRequest>) -> Result<RequestKey, ApiError> {
        Ok(RequestKey::of(ask))
    }

    async fn compute(
        &self,
        exec: &Executor<'_>,
        ask: &Ask<'_, OutgoingRequest>,
    ) -> Result<Computed<OutgoingDocument>, ApiError> {
        let cap = self.max_active_calls;
        let plan = plan(ask.request, ask.customer, ask.account, cap);
        let calls = exec.rows::<ActiveCall>(&plan).await?;
        Ok(Computed {
            doc: build(calls, cap),
            source: Source::Raw,
            settled: false,
        })
    }

    fn rows(doc: &OutgoingDocument) -> usize {
        doc.rows
    }

    fn to_rows_json(doc: &OutgoingDocument) -> Result<Vec<u8>, ApiError> {
        Ok(doc.to_rows_json().map_err(anyhow::Error::from)?)
    }

    fn to_csv(doc: &OutgoingDocument) -> Vec<u8> {
        doc.to_csv()
    }

    fn truncated(doc: &OutgoingDocument) -> bool {
        doc.truncated
    }
}

/// A validated request to `outgoing-active-calls`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingRequest {
    pub account: Uuid,
    pub filters: Vec<(&'static Filter, Value)>,
}

impl OutgoingRequest {
    /// Parses the query string: `account-id` (required) and the filters.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let raw = RawParams::collect(Endpoint::OutgoingActiveCalls, query, &["account-id"])?;
        raw.require(&["account-id"])?;
        Ok(Self {
            account: raw.account()?,
            filters: raw.filters()?,
        })
    }
}

/// The SQL for `request`: `customer`'s `account`, one row more than `cap`.
pub fn plan(request: &OutgoingRequest, customer: u32, account: u32, cap: u32) -> Plan {
    let mut binds = vec![
        ("customer".to_owned(), Bind::UInt32(customer)),
        ("account".to_owned(), Bind::UInt32(account)),
        ("limit".to_owned(), Bind::UInt32(cap.saturating_add(1))),
    ];
    let conditions = plan::filter_conditions(&request.filters, &mut binds);
    // The caller's account is the customer (origination side).
    Plan::raw_only(
        OUTGOING.replace("%CONDITIONS%", conditions.trim_end()),
        binds,
    )
}

/// One call in progress, with exactly the keys the platform's API answers, in its order.
#[derive(Clone, Debug, PartialEq, Row, Deserialize, Serialize)]
pub struct ActiveCall {
    pub snapshot_timestamp: String,
    pub start_time: String,
    pub connect_time: Option<String>,
    pub destination_prefix: String,
    pub destination_initial_interval: i32,
    pub destination_initial_rate: f64,
    pub destination_next_interval: i32,
    pub destination_next_rate: f64,
    pub destination_fee: f64,
    pub src_name_in: String,
    pub src_prefix_in: String,
    pub dst_prefix_in: String,
    pub src_prefix_routing: String,
    pub dst_prefix_routing: String,
    pub from_domain: String,
    pub to_domain: String,
    pub ruri_domain: String,
    pub diversion_in: String,
    pub pai_in: String,
    pub ppi_in: String,
    pub privacy_in: String,
    pub rpid_in: String,
    pub rpid_privacy_in: String,
    pub auth_orig_transport_protocol_id: u8,
    pub auth_orig_ip: String,
    pub auth_orig_port: u16,
}

/// The response body of `outgoing-active-calls`.
#[derive(Debug, Serialize, PartialEq)]
pub struct OutgoingDocument {
    pub data: Vec<ActiveCall>,
    pub rows: usize,
    /// Whether more calls matched than the cap allowed.
    #[serde(skip)]
    pub truncated: bool,
}

/// Keeps at most `cap` of `calls` (the query asks for one more to detect the cut).
pub fn build(mut calls: Vec<ActiveCall>, cap: u32) -> OutgoingDocument {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let truncated = calls.len() > cap;
    calls.truncate(cap);
    OutgoingDocument {
        rows: calls.len(),
        data: calls,
        truncated,
    }
}

/// The column names of [`ActiveCall`], in order.
const COLUMNS: [&str; 26] = [
    "snapshot_timestamp",
    "start_time",
    "connect_time",
    "destination_prefix",
    "destination_initial_interval",
    "destination_initial_rate",
    "destination_next_interval",
    "destination_next_rate",
    "destination_fee",
    "src_name_in",
    "src_prefix_in",
    "dst_prefix_in",
    "src_prefix_routing",
    "dst_prefix_routing",
    "from_domain",
    "to_domain",
    "ruri_domain",
    "diversion_in",
    "pai_in",
    "ppi_in",
    "privacy_in",
    "rpid_in",
    "rpid_privacy_in",
    "auth_orig_transport_protocol_id",
    "auth_orig_ip",
    "auth_orig_port",
];

impl OutgoingDocument {
    /// `format=rows`: the rows themselves, `[{…},…]`.
    pub fn to_rows_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&self.data)
    }

    /// RFC 4180 CSV with the same columns: text always quoted, numbers bare, a null
    /// `connect_time` an empty field (the conventions of the bucketed shapes' CSV).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv_header();
        for c in &self.data {
            let text = |v: &str| quoted(v);
            let fields = [
                text(&c.snapshot_timestamp),
                text(&c.start_time),
                c.connect_time.as_deref().map(text).unwrap_or_default(),
                text(&c.destination_prefix),
                c.destination_initial_interval.to_string(),
                c.destination_initial_rate.to_string(),
                c.destination_next_interval.to_string(),
                c.destination_next_rate.to_string(),
                c.destination_fee.to_string(),
                text(&c.src_name_in),
                text(&c.src_prefix_in),
                text(&c.dst_prefix_in),
                text(&c.src_prefix_routing),
                text(&c.dst_prefix_routing),
                text(&c.from_domain),
                text(&c.to_domain),
                text(&c.ruri_domain),
                text(&c.diversion_in),
                text(&c.pai_in),
                text(&c.ppi_in),
                text(&c.privacy_in),
                text(&c.rpid_in),
                text(&c.rpid_privacy_in),
                c.auth_orig_transport_protocol_id.to_string(),
                text(&c.auth_orig_ip),
                c.auth_orig_port.to_string(),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

/// The CSV header row: the column names, quoted, CRLF.
pub fn csv_header() -> String {
    COLUMNS.map(quoted).join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_name_the_serialized_keys_in_order() {
        let call: ActiveCall = serde_json::from_value(serde_json::json!({
            "snapshot_timestamp": "2026-01-01 00:00:00", "start_time": "2026-01-01 00:00:00",
            "connect_time": null, "destination_prefix": "44", "destination_initial_interval": 1,
            "destination_initial_rate": 0.1, "destination_next_interval": 1,
            "destination_next_rate": 0.1, "destination_fee": 0.0, "src_name_in": "",
            "src_prefix_in": "", "dst_prefix_in": "", "src_prefix_routing": "",
            "dst_prefix_routing": "", "from_domain": "", "to_domain": "", "ruri_domain": "",
            "diversion_in": "", "pai_in": "", "ppi_in": "", "privacy_in": "", "rpid_in": "",
            "rpid_privacy_in": "", "auth_orig_transport_protocol_id": 1, "auth_orig_ip": "",
            "auth_orig_port": 5060
        }))
        .expect("deserializes");
        let text = serde_json::to_string(&call).expect("json");
        let mut at = 0;
        for name in COLUMNS {
            let found = text[at..].find(&format!("\"{name}\":")).expect(name);
            at += found + 1;
        }
    }

    #[test]
    fn the_cap_cuts_and_says_so() {
        let doc = build(vec![], 10);
        assert!(!doc.truncated && doc.rows == 0);
        assert_eq!(
            serde_json::to_string(&doc).expect("json"),
            r#"{"data":[],"rows":0}"#
        );
    }
}
