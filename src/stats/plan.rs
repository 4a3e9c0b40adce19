//! Turns a validated request into SQL text plus typed parameters. The SQL text is assembled only
//! from the templates in `sql/` and the static filter table; request values travel as
//! server-side parameters (`{name:Type}`).

use super::filters::Endpoint;
use super::params::{StatsRequest, Value};
use super::time::{Sampling, clickhouse_datetime};

const BUCKETS_RAW: &str = include_str!("../../sql/buckets_raw.sql");

/// A typed value for a server-side parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    UInt32(u32),
    Int32(i32),
    Float64(f64),
    /// Text for String and DateTime parameters.
    Text(String),
}

/// The time window a query covers, in unix seconds, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// What a query reads and with which parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub sql: String,
    pub binds: Vec<(String, Bind)>,
}

/// Plans the bucket query of `req` for the internal account id `account` over `window`.
pub fn buckets(req: &StatsRequest, account: u32, window: Window) -> Plan {
    plan_raw(req.endpoint, req.sampling, &req.filters, account, window)
}

fn plan_raw(
    endpoint: Endpoint,
    sampling: Sampling,
    filters: &[(&'static super::filters::Filter, Value)],
    account: u32,
    window: Window,
) -> Plan {
    let mut conditions = String::new();
    if endpoint.last_cdr_only() {
        conditions.push_str("AND is_last_cdr\n");
    }
    let mut binds = vec![
        // A bucket width fits u32 by construction (at most 86 400).
        ("step".to_owned(), Bind::UInt32(sampling.seconds() as u32)),
        ("account".to_owned(), Bind::UInt32(account)),
        (
            "from".to_owned(),
            Bind::Text(clickhouse_datetime(window.from)),
        ),
        ("to".to_owned(), Bind::Text(clickhouse_datetime(window.to))),
    ];
    for (filter, value) in filters {
        conditions.push_str("  AND ");
        conditions.push_str(&filter.condition());
        conditions.push('\n');
        binds.push((filter.bind_name(), to_bind(value)));
    }
    let sql = BUCKETS_RAW
        .replace("%ACCOUNT_COLUMN%", endpoint.account_column())
        .replace("%CONDITIONS%", conditions.trim_end());
    Plan { sql, binds }
}

fn to_bind(value: &Value) -> Bind {
    match value {
        Value::UInt32(v) => Bind::UInt32(*v),
        Value::Int32(v) => Bind::Int32(*v),
        Value::Price(v) => Bind::Float64(*v),
        Value::Text(v) => Bind::Text(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(endpoint: Endpoint, extra: &str) -> StatsRequest {
        let q = format!(
            "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15&sampling=hour{extra}"
        );
        StatsRequest::parse(endpoint, &q).expect("valid")
    }

    const WINDOW: Window = Window {
        from: 1_776_211_200,
        to: 1_776_297_599,
    };

    #[test]
    fn request_text_never_reaches_the_sql() {
        let evil = "%27%29%20OR%201%3D1%20--";
        let req = request(
            Endpoint::Termination,
            &format!("&dst-prefix-routing-starts-with={evil}&src-prefix-routing-contains={evil}"),
        );
        let plan = buckets(&req, 7, WINDOW);
        assert!(!plan.sql.contains("OR 1=1"), "{}", plan.sql);
        assert!(
            plan.sql.contains(
                "startsWith(dst_prefix_routing, {f_dst_prefix_routing_starts_with:String})"
            )
        );
        assert!(plan.binds.contains(&(
            "f_dst_prefix_routing_starts_with".into(),
            Bind::Text("') OR 1=1 --".into())
        )));
        assert!(
            !plan.sql.contains('?'),
            "the driver would read `?` as a placeholder"
        );
    }

    #[test]
    fn endpoints_pick_their_account_column_and_rows() {
        let t = buckets(&request(Endpoint::Termination, ""), 7, WINDOW);
        assert!(t.sql.contains("WHERE vendor_acc_id = {account:UInt32}"));
        assert!(!t.sql.contains("is_last_cdr"));
        let o = buckets(&request(Endpoint::Origination, ""), 7, WINDOW);
        assert!(o.sql.contains("WHERE customer_acc_id = {account:UInt32}"));
        assert!(o.sql.contains("AND is_last_cdr"));
        assert!(
            o.binds
                .contains(&("from".into(), Bind::Text("2026-04-15 00:00:00".into())))
        );
        assert!(o.binds.contains(&("step".into(), Bind::UInt32(3600))));
    }
}
