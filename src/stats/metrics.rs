//! Exact metrics from integer sums: no floats anywhere, rounding half away from zero.

use rust_decimal::Decimal;

/// The integer sums of one bucket (or of all buckets): everything the metrics derive from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sums {
    /// CDRs counted.
    pub total_calls: u64,
    /// CDRs with `duration > 0`.
    pub answered: u64,
    /// Sum of `duration` over answered CDRs, seconds.
    pub duration_sum: i64,
}

impl std::ops::AddAssign for Sums {
    fn add_assign(&mut self, other: Self) {
        self.total_calls += other.total_calls;
        self.answered += other.answered;
        self.duration_sum += other.duration_sum;
    }
}

#[cfg(test)]
impl Sums {
    /// A bucket's sums, for tests.
    pub(crate) fn of(total_calls: u64, answered: u64, duration_sum: i64) -> Self {
        Self {
            total_calls,
            answered,
            duration_sum,
        }
    }
}

/// The published ratios of a bucket (ACD, ASR, CPS), as exact two-place decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratios {
    /// Average duration of answered calls; `None` when nothing was answered.
    pub acd: Option<Decimal>,
    /// Answered share in percent; `None` when there were no calls.
    pub asr: Option<Decimal>,
    /// Calls per second over the bucket width.
    pub cps: Decimal,
}

impl Sums {
    /// Derives the metrics for a bucket `width_secs` long.
    pub fn metrics(&self, width_secs: i64) -> Ratios {
        let total = i128::from(self.total_calls);
        let answered = i128::from(self.answered);
        Ratios {
            acd: (answered > 0).then(|| ratio(i128::from(self.duration_sum), answered)),
            asr: (total > 0).then(|| ratio(100 * answered, total)),
            cps: ratio(total, i128::from(width_secs.max(1))),
        }
    }
}

/// `num / den` rounded to 2 places, half away from zero, computed in integers so it is exact.
pub fn ratio(num: i128, den: i128) -> Decimal {
    debug_assert!(den > 0);
    // hundredths = round(100·num / den) = floor((200·|num| + den) / (2·den)) with the sign of num.
    let hundredths = (200 * num.abs() + den) / (2 * den);
    let signed = if num < 0 { -hundredths } else { hundredths };
    Decimal::from_i128_with_scale(signed, 2)
}

/// Formats as the contract says: trailing zeros trimmed, at least one fractional digit
/// (`5.0`, `4.8`, `4.87`, `0.0`).
pub fn format(d: Decimal) -> String {
    // Every published figure has at most two places: written from its hundredths digit by
    // digit, several times faster than the decimal's own text or `format!` (a minute series
    // formats thousands per response).
    let scale = d.scale();
    if scale <= 2
        && let Some(hundredths) = i64::try_from(d.mantissa())
            .ok()
            .and_then(|m| m.checked_mul(10_i64.pow(2 - scale)))
    {
        return format_hundredths(hundredths);
    }
    format_any(d)
}

fn format_hundredths(h: i64) -> String {
    let mut text = String::with_capacity(24);
    if h < 0 {
        text.push('-');
    }
    let (whole, cents) = (h.unsigned_abs() / 100, h.unsigned_abs() % 100);
    // The whole part's digits, most significant first (u64 has at most 20).
    let mut digits = [0_u8; 20];
    let mut n = whole;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[start..]
        .iter()
        .for_each(|&d| text.push(char::from(d)));
    text.push('.');
    text.push(char::from(b'0' + (cents / 10) as u8));
    if cents % 10 != 0 {
        text.push(char::from(b'0' + (cents % 10) as u8));
    }
    text
}

/// [`format`] of any decimal, through its own text.
fn format_any(d: Decimal) -> String {
    let mut text = d.normalize().to_string();
    if !text.contains('.') {
        text.push_str(".0");
    }
    if text == "-0.0" {
        text = "0.0".into();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(total_calls: u64, answered: u64, duration_sum: i64) -> Sums {
        Sums::of(total_calls, answered, duration_sum)
    }

    fn shown(m: Ratios) -> (Option<String>, Option<String>, String) {
        (m.acd.map(format), m.asr.map(format), format(m.cps))
    }

    fn some(a: &str, b: &str, c: &str) -> (Option<String>, Option<String>, String) {
        (Some(a.into()), Some(b.into()), c.into())
    }

    #[test]
    fn the_seed_example_comes_out_exactly() {
        let buckets = [s(150, 130, 650), s(120, 100, 480), s(180, 150, 720)];
        let shown_buckets: Vec<_> = buckets.iter().map(|b| shown(b.metrics(60))).collect();
        assert_eq!(
            shown_buckets,
            vec![
                some("5.0", "86.67", "2.5"),
                some("4.8", "83.33", "2.0"),
                some("4.8", "83.33", "3.0"),
            ]
        );
        let mut total = Sums::default();
        buckets.iter().for_each(|b| total += *b);
        assert_eq!(shown(total.metrics(60)), some("4.87", "84.44", "7.5"));
    }

    #[test]
    fn midpoints_round_away_from_zero() {
        // 1 / 8 = 0.125 → 0.13; 3 / 8 = 0.375 → 0.38; 1/200 = 0.005 → 0.01
        assert_eq!(format(ratio(1, 8)), "0.13");
        assert_eq!(format(ratio(3, 8)), "0.38");
        assert_eq!(format(ratio(1, 200)), "0.01");
        assert_eq!(format(ratio(1, 201)), "0.0");
        assert_eq!(format(ratio(-1, 8)), "-0.13");
        // acd of 2 answered calls lasting 1 and 2.... 2.5 exactly stays 2.5
        assert_eq!(shown(s(4, 2, 5).metrics(60)).0.as_deref(), Some("2.5"));
    }

    #[test]
    fn hundredths_are_written_as_the_decimals_own_text() {
        let mut cases: Vec<i128> = (-20_000..20_000).collect();
        cases.extend([
            i128::from(i64::MAX),
            i128::from(i64::MIN) + 1,
            10_i128.pow(20),
        ]);
        for mantissa in cases {
            for scale in 0..=3 {
                let d = Decimal::from_i128_with_scale(mantissa, scale);
                assert_eq!(format(d), format_any(d), "{mantissa} scale {scale}");
            }
        }
    }

    #[test]
    fn empty_and_unanswered_buckets() {
        assert_eq!(shown(s(0, 0, 0).metrics(60)), (None, None, "0.0".into()));
        assert_eq!(
            shown(s(7, 0, 0).metrics(60)),
            (None, Some("0.0".into()), "0.12".into())
        );
    }

    #[test]
    fn large_sums_do_not_overflow() {
        let m = s(u64::MAX / 2, u64::MAX / 4, i64::MAX / 2).metrics(86_400);
        assert!(m.acd.is_some() && m.asr.is_some());
        assert_eq!(format(m.asr.expect("calls")), "50.0");
    }
}
