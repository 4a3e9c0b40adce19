//! The OpenAPI 3.1 description at `/openapi.json`, generated from the same declarative filter
//! table that validation and SQL use, so the documentation cannot drift from the code.

use crate::domain::{Endpoint, Shape};
use crate::stats::breakdown::request::{DEFAULT_LIMIT, Dimension, MAX_LIMIT, Metric};
use crate::stats::filters::{Kind, MAX_TEXT_LEN, for_endpoint};
use crate::stats::time::Sampling;
use crate::stats::totals::Bucketing;
use serde_json::{Value, json};

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for endpoint in Endpoint::ALL {
        let get = operation(endpoint);
        paths.insert(
            endpoint.path().to_owned(),
            json!({ "get": get, "head": head(&get) }),
        );
    }
    paths.insert(
        "/api/rest/customer/v1/accounts".to_owned(),
        json!({ "get": {
            "operationId": "listAccounts",
            "summary": "The accounts the token may query",
            "responses": {
                "200": { "description": "Accounts", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["data"],
                    "properties": { "data": { "type": "array", "items": {
                        "type": "object", "required": ["id", "name"],
                        "properties": { "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" } }
                    }}}
                }}}},
                "401": { "description": "Missing, invalid or expired token, or address not allowed" },
                "503": error_response("ClickHouse unreachable"),
            }
        }}),
    );
    let status = json!({ "application/json": { "schema": { "type": "object",
        "required": ["status"], "properties": { "status": { "type": "string" } } } } });
    for (path, id, summary, responses) in [
        (
            "/healthz",
            "healthz",
            "Liveness: the gateway runs",
            json!({ "200": { "description": "Running", "content": status } }),
        ),
        (
            "/readyz",
            "readyz",
            "Readiness: ClickHouse answers",
            json!({ "200": { "description": "Ready", "content": status },
                    "503": { "description": "ClickHouse unreachable (see Retry-After)",
                             "content": status } }),
        ),
        (
            "/metrics",
            "metrics",
            "Prometheus metrics",
            json!({ "200": { "description": "Text exposition format",
                             "content": { "text/plain": { "schema": { "type": "string" } } } } }),
        ),
        (
            "/openapi.json",
            "openapi",
            "This document",
            json!({ "200": { "description": "OpenAPI 3.1",
                             "content": { "application/json": { "schema": { "type": "object" } } } } }),
        ),
    ] {
        let get = json!({ "operationId": id, "summary": summary, "security": [],
                          "responses": responses });
        paths.insert(path.to_owned(), json!({ "get": get, "head": head(&get) }));
    }
    // Every route answers HEAD as GET without the body.
    for item in paths.values_mut() {
        if item.get("head").is_none()
            && let Some(get) = item.get("get").cloned()
        {
            item["head"] = head(&get);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cdrstats",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Call statistics (ACD, ASR, CPS) per time bucket for a carrier's customers."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                // The token as the password of any user, for Excel / Power BI / Tableau.
                "basic": { "type": "http", "scheme": "basic",
                           "description": "any user name, the JWT as the password" },
                "session": { "type": "apiKey", "in": "cookie", "name": "_yeti_customer_v1_session" }
            },
            "schemas": {
                "Statistics": statistics_schema(),
                "StatisticsRow": statistics_row_schema(),
                "Totals": totals_schema(),
                "ActiveCalls": active_calls_schema(),
                "OutgoingActiveCalls": outgoing_schema(),
                "Breakdown": breakdown_schema(),
                "Error": error_schema()
            }
        },
        "security": [ { "bearer": [] }, { "basic": [] }, { "session": [] } ]
    })
}

/// HEAD of a GET operation: the same parameters, status and headers, no body (BI tools probe
/// with HEAD).
fn head(get: &Value) -> Value {
    let mut op = get.clone();
    if let Some(id) = get["operationId"].as_str() {
        op["operationId"] = json!(format!("{id}Head"));
    }
    op["summary"] = json!(format!(
        "{} (headers only)",
        get["summary"].as_str().unwrap_or_default()
    ));
    if let Some(responses) = op["responses"].as_object_mut() {
        for response in responses.values_mut() {
            if let Some(r) = response.as_object_mut() {
                r.remove("content");
            }
        }
    }
    op
}

fn operation(endpoint: Endpoint) -> Value {
    let time = |name: &str, required: bool, what: &str| {
        json!({ "name": name, "in": "query", "required": required, "description": what,
                "schema": { "type": "string", "maxLength": 40 } })
    };
    let shape = endpoint.shape();
    let mut parameters = vec![
        json!({ "name": "account-id", "in": "query", "required": true,
        "description": "An account of the caller's customer",
        "schema": { "type": "string", "format": "uuid" } }),
    ];
    if shape != Shape::OutgoingActiveCalls {
        let column = if shape == Shape::ActiveCalls {
            "snapshot_timestamp"
        } else {
            "time_start"
        };
        parameters.push(time(
            "from-time",
            true,
            &format!("{column} >= from-time (RFC 3339, `YYYY-MM-DD HH:MM:SS` UTC or `YYYY-MM-DD`)"),
        ));
        parameters.push(time(
            "to-time",
            false,
            &format!("{column} <= to-time; default now"),
        ));
    }
    let zone = json!({ "name": "time-zone", "in": "query", "required": false,
        "description": "IANA zone whose local hours/days (weeks, months) the buckets follow (default UTC)",
        "schema": { "type": "string", "maxLength": 64 } });
    match shape {
        Shape::Quality => {
            parameters.push(json!({ "name": "sampling", "in": "query", "required": true,
                "schema": { "type": "string", "enum": Sampling::ALL.map(Sampling::as_str) } }));
            parameters.push(zone);
        }
        Shape::Statistics => {
            parameters.push(json!({ "name": "sampling", "in": "query", "required": true,
                "schema": { "type": "string", "enum": Bucketing::NAMES } }));
            parameters.push(
                json!({ "name": "week-start", "in": "query", "required": false,
                "description": "First day of a `week` bucket (default sunday)",
                "schema": { "type": "string", "enum": ["sunday", "monday"] } }),
            );
            parameters.push(zone);
        }
        Shape::Breakdown => {
            let by: Vec<String> = Dimension::ALL.iter().map(|d| d.name().to_owned()).collect();
            let sorts: Vec<String> = Metric::ALL
                .iter()
                .flat_map(|m| [m.name().to_owned(), format!("-{}", m.name())])
                .collect();
            parameters.push(json!({ "name": "by", "in": "query", "required": true,
                "description": format!("One or two distinct dimensions, comma-separated, no spaces: {}",
                                       by.join(", ")),
                "schema": { "type": "string", "pattern": format!("^({0})(,({0}))?$", by.join("|")) } }));
            parameters.push(json!({ "name": "sort", "in": "query", "required": false,
                "description": "A metric, `-` for descending (default -total_calls); by its exact \
                                value, nulls last, ties by the key columns ascending",
                "schema": { "type": "string", "enum": sorts } }));
            parameters.push(json!({ "name": "limit", "in": "query", "required": false,
                "description": "Rows returned; the rest are summed into `other`",
                "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                            "default": DEFAULT_LIMIT } }));
            parameters.push(json!({ "name": "compare", "in": "query", "required": false,
                "description": "`previous-period`: previous_* figures over the window of the same \
                                length ending the second before from-time",
                "schema": { "type": "string", "enum": ["previous-period"] } }));
        }
        Shape::ActiveCalls | Shape::OutgoingActiveCalls => {}
    }
    parameters.push(if shape == Shape::Quality {
        json!({ "name": "format", "in": "query", "required": false,
            "description": "`rows` for one JSON object per bucket (BI tools), `csv` for RFC 4180 \
                            CSV with the same columns; default the columnar document",
            "schema": { "type": "string", "enum": ["json", "rows", "csv"] } })
    } else {
        json!({ "name": "format", "in": "query", "required": false,
            "description": "`rows` for one JSON object per row, `csv` for RFC 4180 CSV",
            "schema": { "type": "string", "enum": ["json", "rows", "csv"] } })
    });
    parameters.extend(for_endpoint(endpoint).map(|f| {
        json!({ "name": f.param, "in": "query", "required": false,
                "description": format!("{:?} on `{}`", f.op, f.column), "schema": kind_schema(f.kind) })
    }));
    let (schema, summary) = match shape {
        Shape::Quality => ("Statistics", "ACD, ASR and CPS per time bucket"),
        Shape::Statistics => (
            "Totals",
            "Calls, minutes and price per time bucket (non-empty buckets)",
        ),
        Shape::ActiveCalls => ("ActiveCalls", "Calls in progress per minute"),
        Shape::Breakdown => (
            "Breakdown",
            "Calls, minutes, price and PDD per destination or disconnect code, top N plus other",
        ),
        Shape::OutgoingActiveCalls => (
            "OutgoingActiveCalls",
            "The account's calls in progress in the newest snapshot",
        ),
    };
    let body = json!({ "$ref": format!("#/components/schemas/{schema}") });
    // The document, or an array: `format=rows`, or `[]` for a window starting in the future.
    let rows = if shape == Shape::Quality {
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/StatisticsRow" } })
    } else {
        json!({ "type": "array", "items": { "type": "object" } })
    };
    let json_schema = json!({ "oneOf": [ body, rows ] });
    json!({
        "operationId": operation_id(endpoint),
        "summary": format!("{}: {summary}", endpoint.name()),
        "parameters": parameters,
        "responses": {
            "200": { "description": "The answer (or `[]` when from-time is in the future)",
                     "content": {
                        "application/json": { "schema": json_schema },
                        "text/csv": { "schema": { "type": "string" } } } },
            "304": { "description": "Not modified (If-None-Match)" },
            "400": error_response("Invalid or missing parameter"),
            "401": { "description": "Missing, invalid or expired token, or address not allowed" },
            "414": error_response("Query string over 8 KiB"),
            "431": error_response("Too many or too large request headers"),
            "429": error_response("Rate or concurrency limit exceeded (see Retry-After)"),
            "503": error_response("ClickHouse unreachable or gateway busy (see Retry-After)"),
            "504": error_response("Query timed out"),
        }
    })
}

/// `terminationStatistics` for the quality endpoints (as before), camel case of the name else.
fn operation_id(endpoint: Endpoint) -> String {
    if endpoint.shape() == Shape::Quality {
        return format!("{}Statistics", endpoint.name());
    }
    let mut id = String::new();
    for (i, word) in endpoint.name().split('-').enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                id.push(first);
            } else {
                id.push(first.to_ascii_uppercase());
            }
            id.extend(chars);
        }
    }
    id
}

fn kind_schema(kind: Kind) -> Value {
    match kind {
        Kind::UInt8 => json!({ "type": "integer", "minimum": 0, "maximum": u8::MAX }),
        Kind::UInt16 => json!({ "type": "integer", "minimum": 0, "maximum": u16::MAX }),
        Kind::Bool => json!({ "type": "string", "enum": ["true", "false"] }),
        Kind::UInt32 => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
        Kind::Int32 => json!({ "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX }),
        Kind::Price => json!({ "type": "string", "pattern": "^-?[0-9]{1,15}(\\.[0-9]{1,12})?$" }),
        Kind::Text => json!({ "type": "string", "minLength": 1, "maxLength": MAX_TEXT_LEN }),
        Kind::Ip => {
            json!({ "type": "string", "anyOf": [ { "format": "ipv4" }, { "format": "ipv6" } ] })
        }
    }
}

fn error_response(what: &str) -> Value {
    json!({ "description": what, "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn error_schema() -> Value {
    json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } })
}

fn statistics_schema() -> Value {
    let metric = json!({ "type": ["string", "null"], "pattern": "^-?[0-9]+\\.[0-9]{1,2}$" });
    let column = |items: Value| json!({ "type": "array", "items": items });
    json!({
        "type": "object",
        "required": ["data", "rows", "totals"],
        "properties": {
            "data": {
                "type": "object",
                "required": ["t", "total_calls", "acd", "asr", "cps"],
                "properties": {
                    "t": column(json!({ "type": "integer" })),
                    "total_calls": column(json!({ "type": "integer", "minimum": 0 })),
                    "acd": column(metric.clone()),
                    "asr": column(metric.clone()),
                    "cps": column(json!({ "type": "string" })),
                }
            },
            "rows": { "type": "integer", "minimum": 0 },
            "totals": {
                "type": "object",
                "required": ["t", "total_calls", "acd", "asr", "cps"],
                "properties": {
                    "t": { "const": 0 },
                    "total_calls": { "type": "integer", "minimum": 0 },
                    "acd": metric.clone(),
                    "asr": metric,
                    "cps": { "type": "string" },
                }
            }
        }
    })
}

/// One bucket of `format=rows`: the document's columns plus `time`, metrics as numbers.
fn statistics_row_schema() -> Value {
    let metric = json!({ "type": ["number", "null"] });
    json!({
        "type": "object",
        "required": ["t", "time", "total_calls", "acd", "asr", "cps"],
        "properties": {
            "t": { "type": "integer" },
            "time": { "type": "string", "format": "date-time" },
            "total_calls": { "type": "integer", "minimum": 0 },
            "acd": metric.clone(),
            "asr": metric,
            "cps": { "type": "number" },
        }
    })
}

fn totals_schema() -> Value {
    let decimal = json!({ "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{1,2}$" });
    let metric = json!({ "type": ["string", "null"], "pattern": "^-?[0-9]+\\.[0-9]{1,2}$" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let column = |items: &Value| json!({ "type": "array", "items": items });
    let names = [
        "t",
        "total_calls",
        "successful_calls",
        "failed_calls",
        "total_duration",
        "acd",
        "asr",
        "total_price",
    ];
    let types = [
        json!({ "type": "integer" }),
        count.clone(),
        count.clone(),
        count.clone(),
        decimal.clone(),
        metric.clone(),
        metric.clone(),
        decimal.clone(),
    ];
    let data: serde_json::Map<String, Value> = names
        .iter()
        .zip(&types)
        .map(|(n, t)| ((*n).to_owned(), column(t)))
        .collect();
    let mut totals: serde_json::Map<String, Value> = names
        .iter()
        .zip(&types)
        .map(|(n, t)| ((*n).to_owned(), t.clone()))
        .collect();
    totals.insert("t".to_owned(), json!({ "const": 0 }));
    json!({
        "type": "object",
        "required": ["data", "rows", "totals"],
        "properties": {
            "data": { "type": "object", "required": names, "properties": data },
            "rows": { "type": "integer", "minimum": 0 },
            "totals": { "type": "object", "required": names, "properties": totals }
        }
    })
}

/// The breakdown document: key columns (which depend on `by`), metrics, `previous_*` with
/// `compare`; `other` only when rows were cut.
fn breakdown_schema() -> Value {
    let decimal = json!({ "type": "string", "pattern": "^-?[0-9]+\\.[0-9]{1,2}$" });
    let metric = json!({ "type": ["string", "null"], "pattern": "^-?[0-9]+\\.[0-9]{1,2}$" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let mut line = serde_json::Map::new();
    for m in Metric::ALL {
        let schema = match m {
            Metric::TotalCalls | Metric::SuccessfulCalls | Metric::FailedCalls => count.clone(),
            Metric::TotalDuration | Metric::TotalPrice => decimal.clone(),
            Metric::Acd | Metric::Asr | Metric::Pdd => metric.clone(),
        };
        line.insert(m.name().to_owned(), schema.clone());
        line.insert(m.previous_name().to_owned(), schema);
    }
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    let summary = json!({ "type": "object", "required": names, "properties": line });
    json!({
        "type": "object",
        "required": ["data", "rows", "totals"],
        "properties": {
            "data": { "type": "object", "required": names,
                      "description": "One array per key column (dst_country_id, dst_network_id, \
                                      dst_prefix_routing, src_country_id, src_prefix_routing, \
                                      disconnect_code, disconnect_reason as asked by `by`), \
                                      metric and previous_* metric",
                      "additionalProperties": { "type": "array" } },
            "rows": { "type": "integer", "minimum": 0 },
            "totals": summary.clone(),
            "other": summary
        }
    })
}

fn active_calls_schema() -> Value {
    json!({
        "type": "object",
        "required": ["data", "rows"],
        "properties": {
            "data": { "type": "object", "required": ["t", "calls"], "properties": {
                "t": { "type": "array", "items": { "type": "integer" } },
                "calls": { "type": "array", "items": { "type": "integer", "minimum": 0 } }
            }},
            "rows": { "type": "integer", "minimum": 0 }
        }
    })
}

fn outgoing_schema() -> Value {
    let time = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$" });
    let (int, num, text) = (
        json!({ "type": "integer" }),
        json!({ "type": "number" }),
        json!({ "type": "string" }),
    );
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for (name, schema) in [
        ("snapshot_timestamp", time.clone()),
        ("start_time", time.clone()),
        (
            "connect_time",
            json!({ "oneOf": [time, { "type": "null" }] }),
        ),
        ("destination_prefix", text.clone()),
        ("destination_initial_interval", int.clone()),
        ("destination_initial_rate", num.clone()),
        ("destination_next_interval", int),
        ("destination_next_rate", num.clone()),
        ("destination_fee", num),
        ("src_name_in", text.clone()),
        ("src_prefix_in", text.clone()),
        ("dst_prefix_in", text.clone()),
        ("src_prefix_routing", text.clone()),
        ("dst_prefix_routing", text.clone()),
        ("from_domain", text.clone()),
        ("to_domain", text.clone()),
        ("ruri_domain", text.clone()),
        ("diversion_in", text.clone()),
        ("pai_in", text.clone()),
        ("ppi_in", text.clone()),
        ("privacy_in", text.clone()),
        ("rpid_in", text.clone()),
        ("rpid_privacy_in", text.clone()),
        (
            "auth_orig_transport_protocol_id",
            json!({ "type": "integer", "minimum": 0, "maximum": u8::MAX }),
        ),
        ("auth_orig_ip", text),
        (
            "auth_orig_port",
            json!({ "type": "integer", "minimum": 0, "maximum": u16::MAX }),
        ),
    ] {
        required.push(name);
        properties.insert(name.to_owned(), schema);
    }
    json!({
        "type": "object",
        "required": ["data", "rows"],
        "properties": {
            "data": { "type": "array", "items": {
                "type": "object", "required": required, "properties": properties,
                "additionalProperties": false } },
            "rows": { "type": "integer", "minimum": 0 }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::filters::{FILTERS, for_endpoint};

    #[test]
    fn every_filter_is_documented_on_its_endpoints() {
        let doc = document();
        for endpoint in Endpoint::ALL {
            let params: Vec<String> = doc["paths"][endpoint.path()]["get"]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            for f in FILTERS {
                let documented = params.contains(&f.param.to_owned());
                // A name may have one definition per endpoint set (auth-orig-ip).
                let applies = for_endpoint(endpoint).any(|g| g.param == f.param);
                assert_eq!(documented, applies, "{}", f.param);
            }
            assert!(params.contains(&"account-id".to_owned()));
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            assert_eq!(
                item["head"]["parameters"], item["get"]["parameters"],
                "HEAD documented on {path}"
            );
            assert!(item["head"]["responses"]["200"].is_object(), "{path}");
        }
        let breakdown = &doc["paths"][Endpoint::TerminationBreakdown.path()]["get"];
        let names: Vec<&str> = breakdown["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for p in [
            "by",
            "sort",
            "limit",
            "compare",
            "dst-network-id",
            "disconnect-code",
        ] {
            assert!(names.contains(&p), "{p}");
        }
        assert!(!names.contains(&"sampling"));
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
