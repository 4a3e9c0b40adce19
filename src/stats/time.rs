//! Time values of the API: accepted input forms, bucket widths and alignment. All UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Bucket width of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sampling {
    Minute,
    FiveMinutes,
    FifteenMinutes,
    Hour,
    Day,
}

impl Sampling {
    pub const ALL: [Sampling; 5] = [
        Self::Minute,
        Self::FiveMinutes,
        Self::FifteenMinutes,
        Self::Hour,
        Self::Day,
    ];

    /// Parses the `sampling` parameter.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::FiveMinutes => "5minutes",
            Self::FifteenMinutes => "15minutes",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// Bucket width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::FiveMinutes => 300,
            Self::FifteenMinutes => 900,
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }

    /// Start of the bucket holding `ts` (unix seconds). UTC days start at multiples of 86 400.
    pub fn floor(self, ts: i64) -> i64 {
        ts.div_euclid(self.seconds()) * self.seconds()
    }
}

/// Latest instant a ClickHouse `DateTime` can hold (2106-02-07 06:28:15 UTC).
pub const MAX_DATETIME: i64 = u32::MAX as i64;

/// A time parameter as given: whole unix seconds plus whether a fraction of a second followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant {
    pub secs: i64,
    pub has_fraction: bool,
}

impl Instant {
    /// Smallest whole second not before this instant (for `time_start >= from`).
    pub fn ceil(self) -> i64 {
        self.secs + i64::from(self.has_fraction)
    }

    /// Largest whole second not after this instant (for `time_start <= to`).
    pub fn floor(self) -> i64 {
        self.secs
    }
}

/// Parses RFC 3339 / ISO 8601 (with `T` or a space, `Z` or an offset, optional fraction),
/// `YYYY-MM-DD HH:MM:SS` (UTC) and `YYYY-MM-DD` (UTC midnight). Rejects instants a ClickHouse
/// `DateTime` cannot hold.
pub fn parse_instant(raw: &str) -> Option<Instant> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let dt: DateTime<Utc> = if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        dt.with_timezone(&Utc)
    } else if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%:z") {
        dt.with_timezone(&Utc)
    } else if let Some(naive) = parse_naive(s) {
        naive.and_utc()
    } else {
        return None;
    };
    let secs = dt.timestamp();
    if !(0..=MAX_DATETIME).contains(&secs) {
        return None;
    }
    Some(Instant {
        secs,
        has_fraction: dt.timestamp_subsec_nanos() != 0,
    })
}

/// Zone-less forms, read as UTC.
fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// Formats unix seconds as ClickHouse's `DateTime` text (`YYYY-MM-DD hh:mm:ss`, UTC).
pub fn clickhouse_datetime(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Formats unix seconds as RFC 3339 (`2026-04-15T18:45:00Z`).
pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> i64 {
        parse_instant(s).expect(s).secs
    }

    #[test]
    fn accepts_every_documented_form() {
        let t = 1_776_278_748; // 2026-04-15T18:45:48Z
        assert_eq!(secs("2026-04-15T18:45:48Z"), t);
        assert_eq!(secs("2026-04-15T18:45:48+00:00"), t);
        assert_eq!(secs("2026-04-15T20:45:48+02:00"), t);
        assert_eq!(secs("2026-04-15T18:45:48.250Z"), t);
        assert_eq!(secs("2026-04-15 18:45:48"), t);
        assert_eq!(secs("2026-04-15T18:45:48"), t);
        assert_eq!(secs("2026-04-15 18:45:48Z"), t);
        assert_eq!(secs("2026-04-15"), 1_776_211_200);
    }

    #[test]
    fn fractions_round_inwards() {
        let i = parse_instant("2026-04-15T18:45:48.5Z").expect("valid");
        assert_eq!((i.ceil(), i.floor()), (1_776_278_749, 1_776_278_748));
        let whole = parse_instant("2026-04-15T18:45:48Z").expect("valid");
        assert_eq!(
            (whole.ceil(), whole.floor()),
            (1_776_278_748, 1_776_278_748)
        );
    }

    #[test]
    fn rejects_garbage_and_unrepresentable_instants() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "1969-12-31T23:59:59Z",
            "2200-01-01",
            "1776278748",
            "2026-04-15T25:00:00Z",
            "2026-04-15'; DROP TABLE cdrs; --",
        ] {
            assert!(parse_instant(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn sampling_widths_and_alignment() {
        assert_eq!(Sampling::parse("5minutes"), Some(Sampling::FiveMinutes));
        assert_eq!(Sampling::parse("Minute"), None);
        assert_eq!(Sampling::Minute.floor(1_734_700_059), 1_734_700_020);
        assert_eq!(Sampling::Day.floor(1_776_278_748), 1_776_211_200);
        assert_eq!(Sampling::FifteenMinutes.seconds(), 900);
    }

    #[test]
    fn formats_for_clickhouse() {
        assert_eq!(clickhouse_datetime(1_776_278_748), "2026-04-15 18:45:48");
        assert_eq!(rfc3339(1_776_278_748), "2026-04-15T18:45:48Z");
    }
}
