//! Raw query string → a validated [`StatsRequest`] ("parse, don't validate"). Nothing downstream
//! sees request text: only typed values.

use super::filters::{self, Filter, Kind, MAX_TEXT_LEN};
use super::time::{Grid, Instant, Sampling, parse_instant, parse_time_zone};
use crate::domain::Endpoint;
use crate::error::ApiError;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use uuid::Uuid;

/// The required parameters, in the order the "missing" message lists them.
const REQUIRED: [&str; 3] = ["account-id", "from-time", "sampling"];
/// Scalar parameters besides the filters.
const SCALARS: [&str; 5] = [
    "account-id",
    "from-time",
    "to-time",
    "sampling",
    "time-zone",
];
/// Longest query string accepted at all.
pub const MAX_QUERY_LEN: usize = 8 * 1024;

/// A validated filter value, typed as its column.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    UInt8(u8),
    UInt16(u16),
    UInt32(u32),
    Int32(i32),
    /// A finite decimal, bound as Float64 (parsed from the same text, so correctly rounded).
    Price(f64),
    Text(String),
}

/// A validated request to a statistics endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsRequest {
    pub endpoint: Endpoint,
    pub account: Uuid,
    pub from: Instant,
    pub to: Option<Instant>,
    pub sampling: Sampling,
    /// `time-zone`: local hours/days of this zone; `None` is UTC.
    pub time_zone: Option<Tz>,
    /// Active filters in table order.
    pub filters: Vec<(&'static Filter, Value)>,
}

/// Splits a query string into name → values. A name ending in `[]` is recorded as an array.
fn collect(query: &str) -> HashMap<String, Vec<String>> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let entry = params.entry(name.into_owned()).or_default();
        entry.push(value.into_owned());
    }
    params
}

/// The single values of the parameters one endpoint knows (its scalars and its filters);
/// the building blocks every endpoint's request type is parsed with.
#[derive(Debug)]
pub struct RawParams {
    endpoint: Endpoint,
    single: HashMap<&'static str, String>,
}

impl RawParams {
    /// Splits `query`; a known parameter given twice or as `name[]` is an error, unknown ones
    /// are ignored.
    pub fn collect(
        endpoint: Endpoint,
        query: &str,
        scalars: &[&'static str],
    ) -> Result<Self, ApiError> {
        if query.len() > MAX_QUERY_LEN {
            return Err(ApiError::BadRequest(format!(
                "query string too long (at most {MAX_QUERY_LEN} bytes)"
            )));
        }
        let mut params = collect(query);
        let known = scalars
            .iter()
            .copied()
            .chain(filters::for_endpoint(endpoint).map(|f| f.param));
        let mut single = HashMap::new();
        for name in known {
            if params.contains_key(&format!("{name}[]")) {
                return Err(ApiError::NotAnArray(name));
            }
            match params.remove(name).as_deref() {
                Some([one]) => {
                    single.insert(name, one.clone());
                }
                Some([]) | None => {}
                Some(_) => return Err(ApiError::NotAnArray(name)),
            }
        }
        Ok(Self { endpoint, single })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.single.get(name).map(String::as_str)
    }

    /// Fails with the contract's message listing the absent (or empty) ones, in `names` order.
    pub fn require(&self, names: &[&'static str]) -> Result<(), ApiError> {
        let missing: Vec<&'static str> = names
            .iter()
            .copied()
            .filter(|name| self.get(name).is_none_or(str::is_empty))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ApiError::MissingParams(missing))
        }
    }

    /// `account-id` (required).
    pub fn account(&self) -> Result<Uuid, ApiError> {
        Uuid::try_parse(self.get("account-id").unwrap_or_default().trim())
            .map_err(|_| ApiError::InvalidValue("account-id"))
    }

    /// `from-time` (required) and `to-time`, which may not precede it.
    pub fn window(&self) -> Result<(Instant, Option<Instant>), ApiError> {
        let from = self
            .get("from-time")
            .and_then(parse_instant)
            .ok_or(ApiError::InvalidValue("from-time"))?;
        let to = match self.get("to-time") {
            None => None,
            Some(raw) => {
                let to = parse_instant(raw).ok_or(ApiError::InvalidValue("to-time"))?;
                if to.secs < from.secs {
                    return Err(ApiError::InvalidValue("to-time"));
                }
                Some(to)
            }
        };
        Ok((from, to))
    }

    /// `time-zone`: an IANA zone; absent or UTC is `None`.
    pub fn time_zone(&self) -> Result<Option<Tz>, ApiError> {
        match self.get("time-zone") {
            None => Ok(None),
            Some(raw) => parse_time_zone(raw).map_err(|_| ApiError::InvalidValue("time-zone")),
        }
    }

    /// The filters given, typed, in table order.
    pub fn filters(&self) -> Result<Vec<(&'static Filter, Value)>, ApiError> {
        let mut active = Vec::new();
        for filter in filters::for_endpoint(self.endpoint) {
            if let Some(raw) = self.get(filter.param) {
                let value =
                    parse_value(filter.kind, raw).ok_or(ApiError::InvalidValue(filter.param))?;
                active.push((filter, value));
            }
        }
        Ok(active)
    }
}

impl StatsRequest {
    /// Parses the query string of `endpoint`. Unknown parameters are ignored.
    pub fn parse(endpoint: Endpoint, query: &str) -> Result<Self, ApiError> {
        let raw = RawParams::collect(endpoint, query, &SCALARS)?;
        raw.require(&REQUIRED)?;
        let account = raw.account()?;
        let (from, to) = raw.window()?;
        let sampling = raw
            .get("sampling")
            .and_then(Sampling::parse)
            .ok_or(ApiError::InvalidSampling)?;
        let time_zone = raw.time_zone()?;
        Ok(Self {
            endpoint,
            account,
            from,
            to,
            sampling,
            time_zone,
            filters: raw.filters()?,
        })
    }
}

impl StatsRequest {
    /// The bucket boundaries of this request.
    pub fn grid(&self) -> Grid {
        Grid {
            sampling: self.sampling,
            tz: self.time_zone,
        }
    }
}

/// Parses one filter value as its kind, rejecting anything its column could not hold.
fn parse_value(kind: Kind, raw: &str) -> Option<Value> {
    match kind {
        Kind::UInt8 => raw.parse().ok().map(Value::UInt8),
        Kind::UInt16 => raw.parse().ok().map(Value::UInt16),
        Kind::UInt32 => raw.parse().ok().map(Value::UInt32),
        // Bound as 0/1 (see `Op::IsNull`).
        Kind::Bool => match raw {
            "true" => Some(Value::UInt8(1)),
            "false" => Some(Value::UInt8(0)),
            _ => None,
        },
        Kind::Int32 => raw.parse().ok().map(Value::Int32),
        Kind::Price => {
            // Decimal rejects NaN, infinities and exponents; the f64 parse of the same text is
            // correctly rounded, so it equals the Float64 the pipeline stored for that price.
            Decimal::from_str(raw).ok()?;
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Value::Price)
        }
        Kind::Text => (!raw.is_empty() && raw.len() <= MAX_TEXT_LEN && !raw.contains('\0'))
            .then(|| Value::Text(raw.to_owned())),
        Kind::Ip => IpAddr::from_str(raw)
            .ok()
            .map(|ip| Value::Text(ip.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-04-15T18%3A45%3A48Z&sampling=minute";

    fn err(endpoint: Endpoint, q: &str) -> String {
        StatsRequest::parse(endpoint, q).expect_err(q).to_string()
    }

    #[test]
    fn the_seed_request_parses() {
        let r = StatsRequest::parse(Endpoint::TerminationQuality, OK).expect("valid");
        assert_eq!(r.sampling, Sampling::Minute);
        assert_eq!(r.from.secs, 1_776_278_748);
        assert!(r.to.is_none() && r.filters.is_empty());
    }

    #[test]
    fn missing_params_are_listed_in_contract_order() {
        assert_eq!(
            err(Endpoint::TerminationQuality, ""),
            "missing required param(s) account-id, from-time, sampling"
        );
        assert_eq!(
            err(Endpoint::TerminationQuality, "sampling=day&foo=1"),
            "missing required param(s) account-id, from-time"
        );
        assert_eq!(
            err(
                Endpoint::TerminationQuality,
                "account-id=&from-time=2026-01-01&sampling=day"
            ),
            "missing required param(s) account-id"
        );
    }

    #[test]
    fn arrays_and_repeats_are_rejected() {
        assert_eq!(
            err(Endpoint::TerminationQuality, &format!("{OK}&sampling=hour")),
            "param sampling can't be an array"
        );
        assert_eq!(
            err(
                Endpoint::TerminationQuality,
                &format!("{OK}&duration-gt[]=1")
            ),
            "param duration-gt can't be an array"
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let cases = [
            (
                "account-id=42&from-time=2026-01-01&sampling=day",
                "invalid value account-id",
            ),
            (
                "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=x&sampling=day",
                "invalid value from-time",
            ),
            (&format!("{OK}&to-time=2020-01-01"), "invalid value to-time"),
            (&format!("{OK}&to-time=nope"), "invalid value to-time"),
            (
                "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-01-01&sampling=week",
                "invalid sampling",
            ),
            (
                &format!("{OK}&src-country-id=-1"),
                "invalid value src-country-id",
            ),
            (
                &format!("{OK}&dst-country-id=4294967296"),
                "invalid value dst-country-id",
            ),
            (
                &format!("{OK}&duration-gt=2147483648"),
                "invalid value duration-gt",
            ),
            (
                &format!("{OK}&vendor-price-eq=NaN"),
                "invalid value vendor-price-eq",
            ),
            (
                &format!("{OK}&vendor-price-gt=inf"),
                "invalid value vendor-price-gt",
            ),
            (
                &format!("{OK}&vendor-price-lt=1.2.3"),
                "invalid value vendor-price-lt",
            ),
            (
                &format!("{OK}&dst-prefix-routing-eq={}", "9".repeat(129)),
                "invalid value dst-prefix-routing-eq",
            ),
        ];
        for (q, want) in cases {
            assert_eq!(err(Endpoint::TerminationQuality, q), want, "{q}");
        }
        assert_eq!(
            err(
                Endpoint::OriginationQuality,
                &format!("{OK}&auth-orig-ip=10.0.0.256")
            ),
            "invalid value auth-orig-ip"
        );
    }

    #[test]
    fn filters_are_typed_and_endpoint_specific() {
        let q = format!(
            "{OK}&duration-gt=5&dst-prefix-routing-contains=%27%3B%20DROP&vendor-price-lt=0.015&customer-price-eq=zzz&auth-orig-ip=1.2.3.4"
        );
        let r = StatsRequest::parse(Endpoint::TerminationQuality, &q).expect("valid");
        let got: Vec<_> = r
            .filters
            .iter()
            .map(|(f, v)| (f.param, v.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("dst-prefix-routing-contains", Value::Text("'; DROP".into())),
                ("duration-gt", Value::Int32(5)),
                ("vendor-price-lt", Value::Price(0.015)),
            ]
        );
        let o = StatsRequest::parse(
            Endpoint::OriginationQuality,
            &format!("{OK}&auth-orig-ip=::ffff:1.2.3.4&vendor-price-lt=zzz"),
        )
        .expect("vendor price is unknown here, so ignored");
        assert_eq!(o.filters[0].1, Value::Text("::ffff:1.2.3.4".into()));
    }

    #[test]
    fn time_zones_are_validated() {
        let r = StatsRequest::parse(
            Endpoint::TerminationQuality,
            &format!("{OK}&time-zone=Europe%2FBerlin"),
        )
        .expect("valid");
        assert_eq!(r.time_zone.map(|t| t.name()), Some("Europe/Berlin"));
        assert_eq!(
            err(
                Endpoint::TerminationQuality,
                &format!("{OK}&time-zone=Mars%2FOlympus")
            ),
            "invalid value time-zone"
        );
        let utc = StatsRequest::parse(Endpoint::TerminationQuality, &format!("{OK}&time-zone=UTC"))
            .expect("valid");
        assert_eq!(utc.time_zone, None);
    }

    #[test]
    fn to_time_may_equal_from_time() {
        let q = "account-id=7c61877c-39c4-11f1-b6d8-82ad38f4dd55&from-time=2026-01-01&to-time=2026-01-01T00:00:00Z&sampling=day";
        assert!(StatsRequest::parse(Endpoint::TerminationQuality, q).is_ok());
    }
}
