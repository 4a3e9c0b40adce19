//! `cdrstats seed`: realistic synthetic CDRs, accounts and API credentials, streamed into
//! ClickHouse with the driver's inserter. Deterministic for a given `--seed`.
//!
//! The model: customers own accounts; a call is routed in 1–3 attempts (one CDR each, the last
//! one `is_last_cdr`), each attempt to a vendor account (one "hot" account takes a configurable
//! share); destinations are Zipf-distributed over countries, load follows a diurnal curve, about
//! 55 % of CDRs are answered, durations are log-normal (heavy-tailed).

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
    /// Number of customers (each owns 3 accounts).
    #[arg(long, default_value_t = 8)]
    pub customers: u32,
    /// Share of CDRs terminated by the hot account (account 1 of customer 1).
    #[arg(long, default_value_t = 0.4)]
    pub hot_share: f64,
    /// End of the generated period, unix seconds (default: now, to the minute).
    #[arg(long)]
    pub end: Option<i64>,
    /// Parallel insert streams.
    #[arg(long, default_value_t = 2)]
    pub parallel: u32,
    /// Do nothing when `cdrs` already holds rows.
    #[arg(long)]
    pub if_empty: bool,
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
}

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
    let url = settings.clickhouse_urls().remove(0);
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
        let generator = Generator::new(args, stream, start, end);
        let (client, bar) = (client.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            generator.insert(&client, share, &bar).await
        }));
    }
    for task in tasks {
        task.await.context("insert task panicked")??;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    super::snapshots::derive(&client, start, end).await?;
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
    for id in account_ids(args.customers) {
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

/// One insert stream's generator.
struct Generator {
    rng: SmallRng,
    start: i64,
    end: i64,
    hot_share: f64,
    accounts: u32,
    dst: Discrete,
    src: Discrete,
    vendors: Discrete,
    minute_of_day: Discrete,
    dst_prefixes: Vec<Vec<String>>,
    src_prefixes: Vec<String>,
    ips: Vec<Vec<String>>,
    rates: Vec<f64>,
}

impl Generator {
    fn new(args: &SeedArgs, stream: u64, start: i64, end: i64) -> Self {
        let mut rng = SmallRng::seed_from_u64(args.seed.wrapping_mul(1_000_003) + stream);
        let accounts = *account_ids(args.customers).end();
        // Country codes 1..=999, several routing prefixes per country.
        let dst_prefixes = (0..COUNTRIES)
            .map(|c| (0..10).map(|d| format!("{}{}", 7 + c * 3, d)).collect())
            .collect();
        let src_prefixes = (0..SRC_COUNTRIES)
            .map(|c| format!("{}", 20 + c * 7))
            .collect();
        let ips = (0..=accounts)
            .map(|a| {
                (0..4)
                    .map(|k| format!("10.{}.{}.{}", a / 250, a % 250, 10 + k))
                    .collect()
            })
            .collect();
        let rates = (0..COUNTRIES)
            .map(|_| (rng.random_range(10..2000) as f64) / 10_000.0)
            .collect();
        // Diurnal load: quiet at night (about 20 % of the peak), peak mid-afternoon UTC.
        let minute_of_day = Discrete::from_weights((0..1440).map(|m| {
            let h = m as f64 / 60.0;
            0.2 + 0.8 * (-((h - 14.0) / 5.0).powi(2)).exp()
        }));
        Self {
            rng,
            start,
            end,
            hot_share: args.hot_share.clamp(0.0, 1.0),
            accounts,
            dst: Discrete::zipf(COUNTRIES, 1.1),
            src: Discrete::zipf(SRC_COUNTRIES, 1.3),
            vendors: Discrete::zipf(accounts as usize, 1.0),
            minute_of_day,
            dst_prefixes,
            src_prefixes,
            ips,
            rates,
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
            let customer = self.rng.random_range(1..=self.accounts);
            let dst = self.dst.sample(&mut self.rng);
            let src = self.src.sample(&mut self.rng);
            let dst_prefix = self.rng.random_range(0..10);
            let ip = self.rng.random_range(0..4);
            let answered = self.rng.random_bool(0.77);
            for attempt in 1..=attempts {
                let last = attempt == attempts;
                let duration = if last && answered { self.duration() } else { 0 };
                let vendor_price = self.rates[dst];
                let vendor_acc_id = self.vendor();
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
                        dst_prefix_routing: &self.dst_prefixes[dst][dst_prefix],
                        auth_orig_ip: &self.ips[customer as usize][ip],
                        customer_price: (vendor_price * 12_500.0).round() / 10_000.0,
                        vendor_price,
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
}
