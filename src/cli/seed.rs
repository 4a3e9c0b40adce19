//! `cdrstats seed`: realistic synthetic CDRs, accounts and API credentials, streamed into
//! ClickHouse with the driver's inserter. Deterministic for a given `--seed`.
//!
//! Two profiles share the call model: a call is routed in 1–3 attempts (70/20/10 %, one CDR
//! each, the last one `is_last_cdr`), each attempt to a vendor account of which one "hot" account
//! (account 1) takes `--hot-share`; load follows a diurnal curve (night ≈ 20 % of the 14:00 UTC
//! peak), 77 % of calls — about 55 % of CDRs — are answered on their last attempt, durations are
//! log-normal (median ≈ 55 s, clamped to 4 h).
//!
//! - `hot` (the original demo profile): few accounts, every caller draws from one global Zipf
//!   over 200 destination countries × 10 prefixes, 30 source countries.
//! - `realistic` (carrier scale, see [`Profile::Realistic`]): thousands of accounts whose
//!   traffic is Zipf-distributed (s = 1.0); each account has a home country (its source country
//!   for 90 % of calls) and its own Zipf (s = 1.1) list of 20–300 destination prefixes drawn
//!   from 8–40 countries; vendors are Zipf over all accounts. This is what makes per-minute
//!   rollups of small accounts hold about as many rows as raw, as on a real switch.
//!
//! Both profiles fill the breakdown columns the same way, from a random stream of their own (so
//! the other columns are what they were before those columns existed): each destination prefix
//! belongs to one of 2–6 networks of its country (`dst_network_id` = 100 × country + network);
//! an answered call ends 200 "OK" on both legs; a failed attempt ends with one of 486 Busy Here,
//! 480 Temporarily Unavailable, 404 Not Found, 503 Service Unavailable, 487 Request
//! Terminated, 403 Forbidden, 408 Request Timeout on leg B (the vendor), each destination
//! country favouring one of them fourfold; the customer's leg A gets the last attempt's answer
//! (earlier attempts leave leg A at 0 ""); the PDD is log-normal with a median of 2.8 s (about
//! 2–4 s for half the calls), 0 (not measured) for 3 % of the CDRs.

use crate::config::Settings;
use crate::db;
use anyhow::Context;
use clickhouse::Row;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

/// Command-line options.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// CDRs to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Days of history, ending now (or at --end).
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Random seed: the same seed and options give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data profile: `hot` (few accounts, global destinations) or `realistic` (thousands of
    /// Zipf accounts, each with its own destination set).
    #[arg(long, value_enum, default_value_t = Profile::Hot)]
    pub profile: Profile,
    /// Number of customers, each owning 3 accounts (default 8 for `hot`, 1000 for `realistic`).
    #[arg(long)]
    pub customers: Option<u32>,
    /// Share of CDRs terminated by the hot account (account 1 of customer 1).
    #[arg(long, default_value_t = 0.4)]
    pub hot_share: f64,
    /// End of the generated period, unix seconds (default: now, to the minute).
    #[arg(long)]
    pub end: Option<i64>,
    /// Parallel insert streams.
    #[arg(long, default_value_t = 2)]
    pub parallel: u32,
    /// Number of the first insert stream. Streams share the account model (it depends on
    /// `--seed` only) but draw different CDRs, so a later run with a higher value appends more
    /// traffic of the same profile: `make bench`'s scale curve grows one dataset this way.
    #[arg(long, default_value_t = 0)]
    pub first_stream: u64,
    /// Do nothing when `cdrs` already holds rows.
    #[arg(long)]
    pub if_empty: bool,
    /// Skip deriving the active-call snapshots of the window from the seeded calls (the scale
    /// curve reads only CDRs; at 100M CDRs the snapshots take as long as the insert and 5.8 GiB).
    #[arg(long)]
    pub no_active_calls: bool,
}

/// Which synthetic traffic mix to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Few accounts, one global destination distribution; account 1 is hot.
    Hot,
    /// Thousands of accounts with Zipf traffic, each calling its own Zipf set of tens to hundreds
    /// of prefixes in a few dozen countries, mostly from its home country; account 1 is hot.
    Realistic,
}

impl SeedArgs {
    /// Customers to create: as asked, or the profile's default.
    pub fn customers(&self) -> u32 {
        self.customers.unwrap_or(match self.profile {
            Profile::Hot => 8,
            Profile::Realistic => 1000,
        })
    }
}

/// One CDR as inserted.
#[derive(Row, Serialize)]
struct CdrRow<'a> {
    time_start: u32,
    customer_acc_id: u32,
    vendor_acc_id: u32,
    is_last_cdr: bool,
    duration: i32,
    src_country_id: u32,
    dst_country_id: u32,
    src_prefix_routing: &'a str,
    dst_prefix_routing: &'a str,
    auth_orig_ip: &'a str,
    customer_price: f64,
    vendor_price: f64,
    dst_network_id: u32,
    lega_disconnect_code: i32,
    lega_disconnect_reason: &'a str,
    legb_disconnect_code: i32,
    legb_disconnect_reason: &'a str,
    pdd: f32,
}

/// The SIP answers a failed attempt ends with, and their weights before a country's skew.
const FAILURES: [(i32, &str, f64); 7] = [
    (486, "Busy Here", 30.0),
    (480, "Temporarily Unavailable", 20.0),
    (404, "Not Found", 8.0),
    (503, "Service Unavailable", 15.0),
    (487, "Request Terminated", 15.0),
    (403, "Forbidden", 5.0),
    (408, "Request Timeout", 7.0),
];
const ANSWERED: (i32, &str) = (200, "OK");

#[derive(Row, Serialize)]
struct AccountRow {
    id: u32,
    #[serde(with = "clickhouse::serde::uuid")]
    uuid: uuid::Uuid,
    contractor_id: u32,
    name: String,
}

#[derive(Row, Serialize)]
struct ApiAccessRow {
    id: u32,
    customer_id: u32,
    login: String,
    account_ids: Vec<u32>,
    allowed_ips: Vec<String>,
}

const ACCOUNTS_PER_CUSTOMER: u32 = 3;
const COUNTRIES: usize = 200;
const SRC_COUNTRIES: usize = 30;

/// Summary of a seed run.
pub struct SeedReport {
    pub rows: u64,
    pub seconds: f64,
    pub skipped: bool,
}

/// Seeds accounts, API credentials and CDRs.
pub async fn run(settings: &Settings, args: &SeedArgs) -> anyhow::Result<SeedReport> {
    let url = settings.clickhouse_urls[0].clone();
    // Bulk loads are CPU-bound on both ends; LZ4 framing costs more than it saves on a LAN.
    let client = db::client(settings, &url, Some(&settings.clickhouse_database))
        .with_compression(clickhouse::Compression::None);
    seed_directory(&client, args)
        .await
        .with_context(|| format!("seeding accounts into {url}"))?;
    if args.if_empty {
        let count: u64 = client
            .query("SELECT count() FROM cdrs")
            .fetch_one()
            .await
            .context("counting cdrs")?;
        if count > 0 {
            return Ok(SeedReport {
                rows: count,
                seconds: 0.0,
                skipped: true,
            });
        }
    }

    let end = args
        .end
        .unwrap_or_else(|| chrono::Utc::now().timestamp() / 60 * 60);
    let start = end - i64::from(args.days.max(1)) * 86_400;
    let bar = ProgressBar::new(args.rows);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} CDRs ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let streams = u64::from(args.parallel.max(1));
    let mut tasks = Vec::new();
    for stream in 0..streams {
        let share = args.rows / streams + u64::from(stream < args.rows % streams);
        let generator = Generator::new(args, args.first_stream + stream, start, end);
        let (client, bar) = (crate::db::pipeline_client(&client), bar.clone());
        tasks.push(tokio::spawn(async move {
            generator.insert(&client, share, &bar).await
        }));
    }
    for task in tasks {
        task.await.context("insert task panicked")??;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if !args.no_active_calls {
        super::snapshots::derive(&client, start, end).await?;
    }
    Ok(SeedReport {
        rows: args.rows,
        seconds,
        skipped: false,
    })
}

/// Deterministic account uuid for an account id and seed.
fn account_uuid(seed: u64, id: u32) -> uuid::Uuid {
    let mut rng = SmallRng::seed_from_u64(seed ^ (u64::from(id) << 32) ^ 0x5eed);
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn account_ids(customers: u32) -> std::ops::RangeInclusive<u32> {
    1..=customers.max(1) * ACCOUNTS_PER_CUSTOMER
}

fn owner(account: u32) -> u32 {
    (account - 1) / ACCOUNTS_PER_CUSTOMER + 1
}

async fn seed_directory(client: &clickhouse::Client, args: &SeedArgs) -> anyhow::Result<()> {
    let mut insert = client.insert::<AccountRow>("accounts").await?;
    for id in account_ids(args.customers()) {
        insert
            .write(&AccountRow {
                id,
                uuid: account_uuid(args.seed, id),
                contractor_id: owner(id),
                name: format!("Customer {} account {}", owner(id), id),
            })
            .await?;
    }
    insert.end().await?;
    let mut insert = client.insert::<ApiAccessRow>("api_access").await?;
    // 1: the demo customer, every account, any address. 2: a customer restricted to one
    // account and to loopback.
    insert
        .write(&ApiAccessRow {
            id: 1,
            customer_id: 1,
            login: "demo".into(),
            account_ids: vec![],
            allowed_ips: vec![],
        })
        .await?;
    insert
        .write(&ApiAccessRow {
            id: 2,
            customer_id: 2,
            login: "restricted".into(),
            account_ids: vec![ACCOUNTS_PER_CUSTOMER + 1],
            allowed_ips: vec!["127.0.0.0/8".into(), "::1".into()],
        })
        .await?;
    insert.end().await?;
    Ok(())
}

/// Draws from a fixed discrete distribution by binary search over its cumulative weights.
struct Discrete(Vec<f64>);

impl Discrete {
    fn zipf(n: usize, s: f64) -> Self {
        Self::from_weights((1..=n).map(|k| 1.0 / (k as f64).powf(s)))
    }

    fn from_weights(weights: impl Iterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = weights
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= acc);
        Self(cdf)
    }

    fn sample(&self, rng: &mut SmallRng) -> usize {
        let u: f64 = rng.random();
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1)
    }
}

/// Destination prefixes per country in the realistic profile (routing prefixes are the country
/// code plus three digits).
const PREFIXES_PER_COUNTRY: usize = 60;

/// One account's calling habits in the realistic profile.
struct Habits {
    home: usize,
    /// Indices into [`Generator::prefixes`].
    prefixes: Vec<usize>,
    weights: Discrete,
}

/// How callers pick their destinations.
enum Mix {
    /// One global distribution over countries and their prefixes.
    Global { dst: Discrete, src: Discrete },
    /// Zipf traffic over accounts, each with its own destinations and home country.
    PerAccount {
        traffic: Discrete,
        habits: Vec<Habits>,
        src: Discrete,
    },
}

/// One insert stream's generator.
struct Generator {
    rng: SmallRng,
    start: i64,
    end: i64,
    hot_share: f64,
    accounts: u32,
    mix: Mix,
    vendors: Discrete,
    minute_of_day: Discrete,
    /// Destination routing prefixes and the country of each.
    prefixes: Vec<String>,
    prefix_country: Vec<usize>,
    /// Source routing prefix per source country.
    src_prefixes: Vec<String>,
    ips: Vec<Vec<String>>,
    rates: Vec<f64>,
    /// The network of each destination prefix.
    prefix_network: Vec<u32>,
    /// Per destination country, how failed attempts end (indices into [`FAILURES`]).
    failures: Vec<Discrete>,
    /// Draws the breakdown columns, apart from `rng` so the other columns do not change.
    outcome_rng: SmallRng,
}

/// Country code of country index `c` (1–3 digits, distinct per country).
fn country_code(c: usize) -> usize {
    7 + c * 3
}

impl Generator {
    fn new(args: &SeedArgs, stream: u64, start: i64, end: i64) -> Self {
        // The account model depends on the seed only, so every stream shares it.
        let mut model = SmallRng::seed_from_u64(args.seed ^ 0x6d6f_64656c);
        let accounts = *account_ids(args.customers()).end();
        let per_country = match args.profile {
            Profile::Hot => 10,
            Profile::Realistic => PREFIXES_PER_COUNTRY,
        };
        let (mut prefixes, mut prefix_country) = (Vec::new(), Vec::new());
        for c in 0..COUNTRIES {
            for d in 0..per_country {
                prefixes.push(match args.profile {
                    Profile::Hot => format!("{}{d}", country_code(c)),
                    Profile::Realistic => format!("{}{d:03}", country_code(c)),
                });
                prefix_country.push(c);
            }
        }
        let countries = Discrete::zipf(COUNTRIES, 1.1);
        let mix = match args.profile {
            Profile::Hot => Mix::Global {
                dst: countries,
                src: Discrete::zipf(SRC_COUNTRIES, 1.3),
            },
            Profile::Realistic => {
                let habits = (0..accounts)
                    .map(|_| {
                        let home = countries.sample(&mut model);
                        let reach: Vec<usize> = (0..model.random_range(8..=40))
                            .map(|_| countries.sample(&mut model))
                            .collect();
                        // 20–300 prefixes, log-uniform: most accounts are small.
                        let n = (20.0 * 15f64.powf(model.random::<f64>())) as usize;
                        let prefixes = (0..n)
                            .map(|_| {
                                let c = reach[model.random_range(0..reach.len())];
                                c * per_country + model.random_range(0..per_country)
                            })
                            .collect();
                        Habits {
                            home,
                            prefixes,
                            weights: Discrete::zipf(n, 1.1),
                        }
                    })
                    .collect();
                Mix::PerAccount {
                    traffic: Discrete::zipf(accounts as usize, 1.0),
                    habits,
                    src: countries,
                }
            }
        };
        let src_prefixes = (0..COUNTRIES)
            .map(|c| country_code(c).to_string())
            .collect();
        let ips = (0..=accounts)
            .map(|a| {
                (0..4)
                    .map(|k| format!("10.{}.{}.{}", a / 250, a % 250, 10 + k))
                    .collect()
            })
            .collect();
        let rates = (0..COUNTRIES)
            .map(|_| (model.random_range(10..2000) as f64) / 10_000.0)
            .collect();
        // Drawn after everything above, so the model of the other columns is unchanged.
        let networks: Vec<u32> = (0..COUNTRIES).map(|_| model.random_range(2..=6)).collect();
        let prefix_network = prefix_country
            .iter()
            .map(|&c| {
                let network = model.random_range(1..=networks[c]);
                100 * (c as u32 + 1) + network
            })
            .collect();
        let failures = (0..COUNTRIES)
            .map(|c| {
                let skewed = c % FAILURES.len();
                Discrete::from_weights(
                    FAILURES
                        .iter()
                        .enumerate()
                        .map(|(i, f)| if i == skewed { 4.0 * f.2 } else { f.2 }),
                )
            })
            .collect();
        // Diurnal load: quiet at night (about 20 % of the peak), peak mid-afternoon UTC.
        let minute_of_day = Discrete::from_weights((0..1440).map(|m| {
            let h = m as f64 / 60.0;
            0.2 + 0.8 * (-((h - 14.0) / 5.0).powi(2)).exp()
        }));
        Self {
            rng: SmallRng::seed_from_u64(args.seed.wrapping_mul(1_000_003) + stream),
            start,
            end,
            hot_share: args.hot_share.clamp(0.0, 1.0),
            accounts,
            mix,
            vendors: Discrete::zipf(accounts as usize, 1.0),
            minute_of_day,
            prefixes,
            prefix_country,
            src_prefixes,
            ips,
            rates,
            prefix_network,
            failures,
            outcome_rng: SmallRng::seed_from_u64(
                args.seed.wrapping_mul(1_000_003).wrapping_add(stream) ^ (0x0bd0_u64 << 48),
            ),
        }
    }

    /// How an attempt to destination country `dst` ended: (code, reason) of leg B.
    fn failure(&mut self, dst: usize) -> (i32, &'static str) {
        let (code, reason, _) = FAILURES[self.failures[dst].sample(&mut self.outcome_rng)];
        (code, reason)
    }

    /// Post-dial delay, seconds: log-normal, median 2.8 s, clamped to 0.1–30 s; 0 (not
    /// measured) for 3 % of the CDRs.
    fn pdd(&mut self) -> f32 {
        let rng = &mut self.outcome_rng;
        if rng.random_bool(0.03) {
            return 0.0;
        }
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let seconds = (2.8f64.ln() + 0.45 * normal).exp().clamp(0.1, 30.0);
        // Whole milliseconds, as a switch measures them.
        ((seconds * 1000.0).round() / 1000.0) as f32
    }

    /// The calling account, its destination prefix (index) and its source country.
    fn caller(&mut self) -> (u32, usize, usize) {
        let rng = &mut self.rng;
        match &self.mix {
            Mix::Global { dst, src } => {
                let per_country = self.prefixes.len() / COUNTRIES;
                let prefix = dst.sample(rng) * per_country + rng.random_range(0..per_country);
                (rng.random_range(1..=self.accounts), prefix, src.sample(rng))
            }
            Mix::PerAccount {
                traffic,
                habits,
                src,
            } => {
                let account = traffic.sample(rng);
                let h = &habits[account];
                let prefix = h.prefixes[h.weights.sample(rng)];
                let from = if rng.random_bool(0.9) {
                    h.home
                } else {
                    src.sample(rng)
                };
                (account as u32 + 1, prefix, from)
            }
        }
    }

    fn time(&mut self) -> u32 {
        let days = ((self.end - self.start) / 86_400).max(1);
        let day = self.rng.random_range(0..days);
        let minute = self.minute_of_day.sample(&mut self.rng) as i64;
        let t = self.start + day * 86_400 + minute * 60 + self.rng.random_range(0..60);
        t.clamp(self.start, self.end - 1) as u32
    }

    /// Log-normal duration (median ≈ 55 s), clamped to 4 h.
    fn duration(&mut self) -> i32 {
        let (u1, u2): (f64, f64) = (self.rng.random::<f64>().max(1e-12), self.rng.random());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (4.0 + 1.1 * normal).exp().clamp(1.0, 14_400.0) as i32
    }

    fn vendor(&mut self) -> u32 {
        if self.rng.random_bool(self.hot_share) {
            1
        } else {
            self.vendors.sample(&mut self.rng) as u32 + 1
        }
    }

    async fn insert(
        mut self,
        client: &clickhouse::Client,
        rows: u64,
        bar: &ProgressBar,
    ) -> anyhow::Result<()> {
        let mut inserter = client
            .inserter::<CdrRow<'_>>("cdrs")
            .with_max_rows(1_000_000);
        let (mut written, mut reported) = (0u64, 0u64);
        while written < rows {
            // One call: 1–3 routing attempts; only the last can be answered.
            let attempts = match self.rng.random_range(0..10) {
                0..7 => 1,
                7..9 => 2,
                _ => 3,
            }
            .min(rows - written);
            let time_start = self.time();
            let (customer, prefix, src) = self.caller();
            let dst = self.prefix_country[prefix];
            let ip = self.rng.random_range(0..4);
            let answered = self.rng.random_bool(0.77);
            for attempt in 1..=attempts {
                let last = attempt == attempts;
                let duration = if last && answered { self.duration() } else { 0 };
                let vendor_price = self.rates[dst];
                let vendor_acc_id = self.vendor();
                let legb = if duration > 0 {
                    ANSWERED
                } else {
                    self.failure(dst)
                };
                // The customer hears the last attempt's answer; earlier ones reach nobody.
                let lega = if last { legb } else { (0, "") };
                let pdd = self.pdd();
                inserter
                    .write(&CdrRow {
                        time_start,
                        customer_acc_id: customer,
                        vendor_acc_id,
                        is_last_cdr: last,
                        duration,
                        src_country_id: src as u32 + 1,
                        dst_country_id: dst as u32 + 1,
                        src_prefix_routing: &self.src_prefixes[src],
                        dst_prefix_routing: &self.prefixes[prefix],
                        auth_orig_ip: &self.ips[customer as usize][ip],
                        customer_price: (vendor_price * 12_500.0).round() / 10_000.0,
                        vendor_price,
                        dst_network_id: self.prefix_network[prefix],
                        lega_disconnect_code: lega.0,
                        lega_disconnect_reason: lega.1,
                        legb_disconnect_code: legb.0,
                        legb_disconnect_reason: legb.1,
                        pdd,
                    })
                    .await?;
            }
            written += attempts;
            if written - reported >= 65_536 {
                bar.inc(written - reported);
                reported = written;
            }
            inserter.commit().await?;
        }
        inserter.end().await?;
        bar.inc(written - reported);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_the_head() {
        let d = Discrete::zipf(200, 1.1);
        let mut rng = SmallRng::seed_from_u64(1);
        let draws: Vec<usize> = (0..10_000).map(|_| d.sample(&mut rng)).collect();
        let head = draws.iter().filter(|&&k| k < 10).count();
        assert!(head > 4_000, "{head}");
        assert!(draws.iter().all(|&k| k < 200));
    }

    #[test]
    fn uuids_are_deterministic_per_seed() {
        assert_eq!(account_uuid(42, 1), account_uuid(42, 1));
        assert_ne!(account_uuid(42, 1), account_uuid(43, 1));
        assert_eq!(owner(1), 1);
        assert_eq!(owner(4), 2);
    }

    fn args(profile: Profile) -> SeedArgs {
        SeedArgs {
            rows: 0,
            days: 1,
            seed: 42,
            profile,
            customers: None,
            hot_share: 0.0,
            end: Some(86_400),
            parallel: 1,
            first_stream: 0,
            if_empty: false,
            no_active_calls: false,
        }
    }

    #[test]
    fn realistic_accounts_call_their_own_few_prefixes_mostly_from_home() {
        let mut g = Generator::new(&args(Profile::Realistic), 0, 0, 86_400);
        assert_eq!(g.accounts, 3000);
        let mut per_account: std::collections::HashMap<u32, Vec<(usize, usize)>> =
            std::collections::HashMap::new();
        for _ in 0..200_000 {
            let (account, prefix, src) = g.caller();
            per_account.entry(account).or_default().push((prefix, src));
        }
        // Zipf traffic: the top account calls far more than the median one, and the busiest
        // few dozen accounts carry a large share.
        let mut counts: Vec<usize> = per_account.values().map(Vec::len).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts[0] > 50 * counts[counts.len() / 2], "{counts:?}");
        // The top account uses at most 300 distinct prefixes in at most 40 countries.
        let top = per_account.values().max_by_key(|v| v.len()).expect("calls");
        let prefixes: std::collections::HashSet<_> = top.iter().map(|(p, _)| *p).collect();
        let countries: std::collections::HashSet<_> =
            prefixes.iter().map(|p| g.prefix_country[*p]).collect();
        assert!((2..=300).contains(&prefixes.len()), "{}", prefixes.len());
        assert!(countries.len() <= 40, "{}", countries.len());
        // Mostly one source country (home, 90 % plus chance).
        let mut src: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        top.iter()
            .for_each(|(_, s)| *src.entry(*s).or_default() += 1);
        let home = src.values().max().copied().unwrap_or(0);
        assert!(home * 10 >= top.len() * 9, "{home} of {}", top.len());
    }

    #[test]
    fn hot_profile_keeps_the_global_destination_mix() {
        let mut g = Generator::new(&args(Profile::Hot), 0, 0, 86_400);
        assert_eq!(g.accounts, 24);
        let (account, prefix, src) = g.caller();
        assert!((1..=24).contains(&account));
        assert!(prefix < COUNTRIES * 10 && src < SRC_COUNTRIES);
    }

    #[test]
    fn breakdown_columns_are_plausible_and_skewed_per_destination() {
        for profile in [Profile::Hot, Profile::Realistic] {
            let mut g = Generator::new(&args(profile), 0, 0, 86_400);
            // A handful of networks per country, each prefix in one of its country's.
            for (p, &network) in g.prefix_network.iter().enumerate() {
                let country = g.prefix_country[p] as u32 + 1;
                assert_eq!(network / 100, country);
                assert!((1..=6).contains(&(network % 100)));
            }
            // Failures: every code appears, and each country favours its own.
            let mut per_country: Vec<std::collections::HashMap<i32, usize>> =
                vec![Default::default(); 2];
            for _ in 0..20_000 {
                for (c, counts) in per_country.iter_mut().enumerate() {
                    *counts.entry(g.failure(c).0).or_default() += 1;
                }
            }
            let top = |m: &std::collections::HashMap<i32, usize>| {
                m.iter().max_by_key(|(_, n)| **n).map(|(c, _)| *c)
            };
            assert_eq!(top(&per_country[0]), Some(486));
            assert_eq!(top(&per_country[1]), Some(480));
            assert_eq!(per_country[0].len(), FAILURES.len());
            // PDD: median about 2.8 s, half of the measured ones within 2–4 s, a few unmeasured.
            let mut pdds: Vec<f32> = (0..20_000).map(|_| g.pdd()).collect();
            let unmeasured = pdds.iter().filter(|p| **p == 0.0).count();
            assert!((300..=900).contains(&unmeasured), "{unmeasured}");
            pdds.retain(|p| *p > 0.0);
            pdds.sort_by(f32::total_cmp);
            let median = pdds[pdds.len() / 2];
            assert!((2.6..3.0).contains(&median), "{median}");
            let middle = pdds.iter().filter(|p| (2.0..=4.0).contains(*p)).count();
            assert!(middle * 2 >= pdds.len(), "{middle} of {}", pdds.len());
        }
    }

    #[test]
    fn later_streams_share_the_account_model_but_draw_other_calls() {
        // The scale curve appends with --first-stream: same habits, different draws.
        let a = args(Profile::Realistic);
        let (mut s0, mut s2) = (
            Generator::new(&a, 0, 0, 86_400),
            Generator::new(&a, 2, 0, 86_400),
        );
        let (Mix::PerAccount { habits: h0, .. }, Mix::PerAccount { habits: h2, .. }) =
            (&s0.mix, &s2.mix)
        else {
            panic!("realistic profile has per-account habits");
        };
        assert!(
            h0.iter()
                .zip(h2)
                .all(|(x, y)| x.home == y.home && x.prefixes == y.prefixes)
        );
        let calls0: Vec<_> = (0..100).map(|_| s0.caller()).collect();
        let calls2: Vec<_> = (0..100).map(|_| s2.caller()).collect();
        assert_ne!(calls0, calls2);
    }
}
