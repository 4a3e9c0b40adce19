//! Time values of the API: accepted input forms, bucket widths and alignment. All UTC.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Offset, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

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

/// The bucket boundaries of a response: fixed widths in UTC, or local hours/days of a time zone
/// (a DST day lasts 23 or 25 hours, and its `cps` uses that real length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub sampling: Sampling,
    /// `None` is UTC.
    pub tz: Option<Tz>,
}

impl Grid {
    /// Whether every bucket is `sampling.seconds()` long and aligned to multiples of it. True for
    /// UTC, and for minute to 15-minute buckets anywhere (time zone offsets are whole quarter
    /// hours).
    pub fn is_fixed(&self) -> bool {
        self.tz.is_none() || !matches!(self.sampling, Sampling::Hour | Sampling::Day)
    }

    /// The zone whose local hours/days the buckets follow, when not fixed.
    pub fn local_zone(&self) -> Option<Tz> {
        self.tz.filter(|_| !self.is_fixed())
    }

    /// Start of the bucket holding `ts`.
    pub fn floor(&self, ts: i64) -> i64 {
        let Some(tz) = self.local_zone() else {
            return self.sampling.floor(ts);
        };
        match self.sampling {
            Sampling::Hour => ts - (ts + offset(tz, ts)).rem_euclid(3_600),
            _ => {
                let date = local(tz, ts).date_naive();
                day_start(tz, date)
                    .filter(|&s| s <= ts)
                    .unwrap_or_else(|| day_start(tz, date.pred_opt().unwrap_or(date)).unwrap_or(ts))
            }
        }
    }

    /// Start of the bucket after the one starting at `start`.
    pub fn next(&self, start: i64) -> i64 {
        let Some(tz) = self.local_zone() else {
            return start + self.sampling.seconds();
        };
        match self.sampling {
            Sampling::Hour => self.floor(start + 3_600).max(start + 1),
            _ => {
                let date = local(tz, start).date_naive();
                date.checked_add_days(Days::new(1))
                    .and_then(|d| day_start(tz, d))
                    .unwrap_or(start + 86_400)
            }
        }
    }
}

fn local(tz: Tz, ts: i64) -> DateTime<Tz> {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
}

fn offset(tz: Tz, ts: i64) -> i64 {
    i64::from(local(tz, ts).offset().fix().local_minus_utc())
}

/// The first instant of a local date (midnight, or the first hour after a DST gap at midnight).
fn day_start(tz: Tz, date: NaiveDate) -> Option<i64> {
    (0..4).find_map(|h| {
        let naive = date.and_hms_opt(h, 0, 0)?;
        tz.from_local_datetime(&naive)
            .earliest()
            .map(|t| t.timestamp())
    })
}

/// A `time-zone` value that names no IANA zone.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownZone;

/// Parses an IANA time zone name (`Europe/Berlin`); UTC names give `None` (the default grid).
pub fn parse_time_zone(raw: &str) -> Result<Option<Tz>, UnknownZone> {
    if raw.len() > 64 {
        return Err(UnknownZone);
    }
    let tz: Tz = raw.parse().map_err(|_| UnknownZone)?;
    Ok((tz.name() != "UTC" && tz.name() != "Etc/UTC").then_some(tz))
}

/// RFC 3339 text of unix seconds in a zone (`2024-10-27T02:00:00+01:00`), or UTC.
pub fn rfc3339_in(secs: i64, tz: Option<Tz>) -> String {
    match tz {
        None => rfc3339(secs),
        Some(tz) => local(tz, secs).to_rfc3339_opts(SecondsFormat::Secs, true),
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

    fn grid(sampling: Sampling, tz: &str) -> Grid {
        Grid {
            sampling,
            tz: parse_time_zone(tz).expect("valid zone"),
        }
    }

    #[test]
    fn dst_days_last_23_and_25_hours() {
        let berlin = grid(Sampling::Day, "Europe/Berlin");
        // 2024-10-27 00:00+02:00 = 2024-10-26T22:00Z; the day has 25 hours.
        let start = berlin.floor(1_729_990_000);
        assert_eq!(start, 1_729_980_000);
        assert_eq!(berlin.next(start) - start, 25 * 3_600);
        // 2024-03-31 00:00+01:00 = 2024-03-30T23:00Z; 23 hours.
        let spring = berlin.floor(1_711_850_000);
        assert_eq!(spring, 1_711_839_600);
        assert_eq!(berlin.next(spring) - spring, 23 * 3_600);
        assert!(!berlin.is_fixed());
    }

    #[test]
    fn local_hours_follow_the_offset() {
        let kathmandu = grid(Sampling::Hour, "Asia/Kathmandu"); // +05:45
        let start = kathmandu.floor(1_734_700_000);
        assert_eq!((start + 5 * 3_600 + 45 * 60) % 3_600, 0);
        assert_eq!(kathmandu.next(start) - start, 3_600);
        // The repeated hour of a fall-back day is two buckets, not one.
        let berlin = grid(Sampling::Hour, "Europe/Berlin");
        let first = berlin.floor(1_729_990_800); // 2024-10-27T01:00Z = 02:00+01:00 (second)
        assert_eq!(first, 1_729_990_800);
        assert_eq!(berlin.floor(1_729_990_799), 1_729_987_200); // 02:59:59+02:00 (first)
    }

    #[test]
    fn zones_parse_and_utc_is_the_default() {
        assert_eq!(parse_time_zone("UTC"), Ok(None));
        assert!(parse_time_zone("Europe/Berlin").expect("valid").is_some());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("").is_err());
        assert!(grid(Sampling::FifteenMinutes, "Asia/Kathmandu").is_fixed());
        assert_eq!(
            rfc3339_in(1_729_990_800, parse_time_zone("Europe/Berlin").expect("ok")),
            "2024-10-27T02:00:00+01:00"
        );
    }

    #[test]
    fn formats_for_clickhouse() {
        assert_eq!(clickhouse_datetime(1_776_278_748), "2026-04-15 18:45:48");
        assert_eq!(rfc3339(1_776_278_748), "2026-04-15T18:45:48Z");
    }
}
