//! Settings read from the environment (`envy`) and parsed once into typed values: lists, limits,
//! networks and ClickHouse settings are checked and converted while deserializing, so an invalid
//! value stops start-up with the variable's name and nothing parses them again. Secrets are
//! [`Secret`]s, so the derived `Debug` never shows them.

use crate::auth::token::TimeRules;
use crate::domain::Side;
use crate::limits::{Class, ClassLimits};
use crate::lists::comma_separated;
use crate::secrets::{Secret, Sources};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// Largest `JWT_LEEWAY_SECS`: skew between honest clocks is seconds, not hours.
const MAX_JWT_LEEWAY_SECS: u32 = 300;

/// A `cdrs` duration column: one of a fixed list, because the name is written into SQL text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationColumn(pub &'static str);

/// Every knob of the gateway. Field `foo_bar` is read from `FOO_BAR`.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(default = "defaults::listen_addr")]
    pub listen_addr: String,
    /// One URL, or several comma-separated replica URLs (`CLICKHOUSE_URL`).
    #[serde(
        rename = "clickhouse_url",
        default = "defaults::clickhouse_urls",
        deserialize_with = "typed::clickhouse_urls"
    )]
    pub clickhouse_urls: Vec<String>,
    #[serde(default = "defaults::clickhouse_database")]
    pub clickhouse_database: String,
    #[serde(default = "defaults::clickhouse_user")]
    pub clickhouse_user: String,
    #[serde(default)]
    pub clickhouse_password: Secret,
    /// HS256 secret; `serve` and `token` need it or one of the other JWT secret sources below.
    #[serde(default)]
    pub jwt_secret: Secret,
    #[serde(default = "defaults::auth_cache_ttl_secs")]
    pub auth_cache_ttl_secs: u64,
    #[serde(default = "defaults::session_cookie_name")]
    pub session_cookie_name: String,
    /// Lifetime given to a refreshed session cookie.
    #[serde(default = "defaults::session_cookie_ttl_secs")]
    pub session_cookie_ttl_secs: i64,
    #[serde(default)]
    pub session_cookie_secure: bool,
    /// CIDRs of reverse proxies whose `X-Forwarded-For` is believed (comma-separated).
    #[serde(default, deserialize_with = "typed::trusted_proxies")]
    pub trusted_proxies: Vec<IpNet>,
    #[serde(default = "defaults::max_buckets")]
    pub max_buckets: u64,
    /// Server-side `max_execution_time` and client-side deadline of one request.
    #[serde(default = "defaults::query_timeout_secs")]
    pub query_timeout_secs: u64,
    /// A bucket is settled (its numbers final) once it ended this long ago: the longest call
    /// plus the CDR pipeline's lag.
    #[serde(default = "defaults::settle_lag_secs")]
    pub settle_lag_secs: i64,
    /// How long a response over settled buckets stays cached.
    #[serde(default = "defaults::cache_settled_ttl_secs")]
    pub cache_settled_ttl_secs: u64,
    /// How long a response touching live buckets stays cached.
    #[serde(default = "defaults::cache_live_ttl_secs")]
    pub cache_live_ttl_secs: u64,
    /// Memory for each of the three caches (responses, stale answers, settled bucket sums), MiB;
    /// the gateway's RSS stays below about 3 × this + 30 MiB.
    #[serde(default = "defaults::cache_mb")]
    pub cache_mb: u64,
    /// How long a settled answer is kept to be served (with `Age`) while ClickHouse is down.
    #[serde(default = "defaults::stale_ttl_secs")]
    pub stale_ttl_secs: u64,
    /// Per traffic class: `queries=N,rps=N,burst=N,concurrency=N` (0 = unlimited).
    #[serde(
        default = "defaults::limits_customer",
        deserialize_with = "typed::limits_customer"
    )]
    pub limits_customer: ClassLimits,
    #[serde(default = "defaults::limits_bi", deserialize_with = "typed::limits_bi")]
    pub limits_bi: ClassLimits,
    #[serde(
        default = "defaults::limits_loadtest",
        deserialize_with = "typed::limits_loadtest"
    )]
    pub limits_loadtest: ClassLimits,
    /// How long a request may wait for a ClickHouse query slot before a 503.
    #[serde(default = "defaults::queue_wait_ms")]
    pub queue_wait_ms: u64,
    /// `api_access` ids whose traffic is BI / load-test (comma-separated); tokens may also say
    /// so in a `cls` claim.
    #[serde(default, deserialize_with = "typed::bi_access_ids")]
    pub bi_access_ids: Vec<u32>,
    #[serde(default, deserialize_with = "typed::loadtest_access_ids")]
    pub loadtest_access_ids: Vec<u32>,
    /// Extra ClickHouse settings sent with every statistics query (`name=value,...`).
    #[serde(default, deserialize_with = "typed::clickhouse_settings")]
    pub clickhouse_settings: Vec<(String, String)>,
    // --- Secrets and token rules: sources, re-read on SIGHUP (`crate::secrets`). ---
    /// Several HS256 secrets, comma-separated, newest first: the first signs, all verify.
    #[serde(default)]
    pub jwt_secrets: Secret,
    /// A file holding the JWT secret.
    #[serde(default)]
    pub jwt_secret_file: Option<String>,
    /// A file holding JWT secrets, one per line, newest first.
    #[serde(default)]
    pub jwt_secrets_file: Option<String>,
    /// A file holding the ClickHouse password (wins over `CLICKHOUSE_PASSWORD`).
    #[serde(default)]
    pub clickhouse_password_file: Option<String>,
    /// Refuse tokens without `exp`.
    #[serde(default = "defaults::jwt_require_exp")]
    pub jwt_require_exp: bool,
    /// Clock skew tolerated on `exp`, `nbf`, `iat` and the lifetime, seconds.
    #[serde(default = "defaults::jwt_leeway_secs")]
    pub jwt_leeway_secs: u32,
    /// Largest token age accepted, measured from `iat`, seconds; 0 = no limit.
    #[serde(default)]
    pub jwt_max_lifetime_secs: u32,
    /// The JWT secrets in force, newest first, read from whichever source is set.
    #[serde(skip)]
    pub jwt_keys: Vec<Secret>,
    // --- the data layer: retention and late CDRs ---
    /// Days of raw CDRs kept (a TTL set by `migrate`); 0 keeps them forever.
    #[serde(default)]
    pub raw_retention_days: u32,
    /// Days of rollups kept (a TTL set by `migrate`); 0 keeps them forever.
    #[serde(default)]
    pub rollup_retention_days: u32,
    /// Days of active-call snapshots kept: the TTL of `active_calls` (7 in
    /// schema/010_family.sql); older windows answer 400. Raise it with the TTL; 0 = no limit.
    #[serde(default = "defaults::active_calls_retention_days")]
    pub active_calls_retention_days: u32,
    /// Cached settled buckets are trusted this long, then re-checked against ClickHouse, so a
    /// CDR arriving later than the settle lag still shows within this time.
    #[serde(default = "defaults::settled_revalidate_secs")]
    pub settled_revalidate_secs: u64,
    /// An account-side's `since` in `rollup_accounts` is reused this long (0 = looked up for
    /// every query); see `stats::listing` for why a short reuse keeps answers exact.
    #[serde(default = "defaults::rollup_listing_ttl_secs")]
    pub rollup_listing_ttl_secs: u64,
    /// Seconds an INSERT may take from the server filling `cdrs.inserted_at` to its commit: a
    /// listing waits this long before backfilling what the views did not roll up, and a rebuild
    /// compares the origination copy over the CDRs inserted longer ago.
    #[serde(default = "defaults::rollup_insert_settle_secs")]
    pub rollup_insert_settle_secs: u64,
    /// Seconds a listing change is given to commit (and, on a cluster, reach every replica)
    /// before it takes effect; a change that took longer is refused and retried.
    #[serde(default = "defaults::rollup_commit_margin_secs")]
    pub rollup_commit_margin_secs: u64,
    /// Seconds the switch's clock may run ahead of ClickHouse's: a listed account-side's rollups
    /// are read before its backfill ends only from this far past the listing.
    #[serde(default = "defaults::rollup_clock_skew_secs")]
    pub rollup_clock_skew_secs: u64,
    /// `rollups rebuild` swaps a month of `cdrs_by_customer` only when no CDR of that month was
    /// inserted for this many seconds (a swap drops what the view writes meanwhile).
    #[serde(default = "defaults::rollup_rebuild_quiet_secs")]
    pub rollup_rebuild_quiet_secs: u64,
    /// `rollups maintain` lists account-sides averaging at least this many CDRs a minute...
    #[serde(default = "defaults::rollup_dense_per_minute")]
    pub rollup_dense_per_minute: f64,
    /// ...and unlists listed ones below this many (lower: a side near the threshold keeps its
    /// listing).
    #[serde(default = "defaults::rollup_unlist_per_minute")]
    pub rollup_unlist_per_minute: f64,
    /// Days of CDRs the averages are taken over, ending at the newest CDR.
    #[serde(default = "defaults::rollup_dense_days")]
    pub rollup_dense_days: u32,
    /// Seconds between two rounds of `rollups maintain`.
    #[serde(default = "defaults::rollup_maintain_interval_secs")]
    pub rollup_maintain_interval_secs: u64,
    // --- the endpoint family ---
    /// Most rows `outgoing-active-calls` answers; more set `x-cdrstats-truncated`.
    #[serde(default = "defaults::max_active_calls")]
    pub max_active_calls: u32,
    /// The `cdrs` column summed into `total_duration` by termination-statistics:
    /// `duration` or `vendor_duration` (one of a fixed list: the name is written into SQL).
    #[serde(
        default = "defaults::duration_column",
        deserialize_with = "typed::termination_duration_column"
    )]
    pub termination_duration_column: DurationColumn,
    /// The same for origination-statistics: `duration` or `customer_duration`.
    #[serde(
        default = "defaults::duration_column",
        deserialize_with = "typed::origination_duration_column"
    )]
    pub origination_duration_column: DurationColumn,
}

mod defaults {
    use crate::limits::{Class, ClassLimits};

    pub fn max_active_calls() -> u32 {
        10_000
    }
    pub fn duration_column() -> super::DurationColumn {
        super::DurationColumn("duration")
    }
    pub fn limits_customer() -> ClassLimits {
        ClassLimits::default_for(Class::Customer)
    }
    pub fn limits_bi() -> ClassLimits {
        ClassLimits::default_for(Class::Bi)
    }
    pub fn limits_loadtest() -> ClassLimits {
        ClassLimits::default_for(Class::LoadTest)
    }
    pub fn listen_addr() -> String {
        "127.0.0.1:8080".into()
    }
    pub fn clickhouse_urls() -> Vec<String> {
        vec!["http://127.0.0.1:8123".into()]
    }
    pub fn clickhouse_database() -> String {
        "cdrstats".into()
    }
    pub fn clickhouse_user() -> String {
        "default".into()
    }
    pub fn auth_cache_ttl_secs() -> u64 {
        30
    }
    pub fn session_cookie_name() -> String {
        "_yeti_customer_v1_session".into()
    }
    pub fn session_cookie_ttl_secs() -> i64 {
        86_400
    }
    pub fn max_buckets() -> u64 {
        44_640
    }
    pub fn query_timeout_secs() -> u64 {
        10
    }
    pub fn settle_lag_secs() -> i64 {
        4 * 3_600
    }
    pub fn cache_settled_ttl_secs() -> u64 {
        3_600
    }
    pub fn cache_live_ttl_secs() -> u64 {
        2
    }
    pub fn cache_mb() -> u64 {
        24
    }
    pub fn stale_ttl_secs() -> u64 {
        86_400
    }
    pub fn queue_wait_ms() -> u64 {
        250
    }
    pub fn jwt_require_exp() -> bool {
        true
    }
    pub fn jwt_leeway_secs() -> u32 {
        30
    }
    pub fn settled_revalidate_secs() -> u64 {
        300
    }
    pub fn rollup_listing_ttl_secs() -> u64 {
        5
    }
    pub fn active_calls_retention_days() -> u32 {
        7
    }
    pub fn rollup_insert_settle_secs() -> u64 {
        10
    }
    pub fn rollup_commit_margin_secs() -> u64 {
        2
    }
    pub fn rollup_clock_skew_secs() -> u64 {
        60
    }
    pub fn rollup_rebuild_quiet_secs() -> u64 {
        600
    }
    pub fn rollup_dense_per_minute() -> f64 {
        10.0
    }
    pub fn rollup_unlist_per_minute() -> f64 {
        2.0
    }
    pub fn rollup_dense_days() -> u32 {
        7
    }
    pub fn rollup_maintain_interval_secs() -> u64 {
        300
    }
}

/// Why the environment could not be turned into [`Settings`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// envy's message already names the variable; not a `source`, so it prints once.
    #[error("configuration: {0}")]
    Env(envy::Error),
    #[error("configuration: {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

impl From<envy::Error> for ConfigError {
    fn from(e: envy::Error) -> Self {
        Self::Env(e)
    }
}

impl From<crate::secrets::Invalid> for ConfigError {
    fn from(e: crate::secrets::Invalid) -> Self {
        Self::Invalid {
            var: e.var,
            reason: e.reason,
        }
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from explicit pairs (tests use this instead of mutating the environment).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut settings: Settings = envy::from_iter(vars)?;
        settings.check()?;
        // Secret files are read now, so every command sees the same values as `serve`.
        let loaded = crate::secrets::load(&settings.secret_sources())?;
        settings.clickhouse_password = loaded.clickhouse_password;
        settings.jwt_keys = loaded.jwt;
        Ok(settings)
    }

    /// The checks that involve no list: each typed field checked itself while deserializing.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |var, reason: &str| ConfigError::Invalid {
            var,
            reason: reason.to_owned(),
        };
        if !is_identifier(&self.clickhouse_database) {
            return Err(invalid(
                "CLICKHOUSE_DATABASE",
                "use letters, digits and underscores only",
            ));
        }
        if self.max_buckets == 0 {
            return Err(invalid("MAX_BUCKETS", "must be at least 1"));
        }
        if self.max_active_calls == 0 {
            return Err(invalid("MAX_ACTIVE_CALLS", "must be at least 1"));
        }
        if self.query_timeout_secs == 0 {
            return Err(invalid("QUERY_TIMEOUT_SECS", "must be at least 1"));
        }
        if self.jwt_leeway_secs > MAX_JWT_LEEWAY_SECS {
            return Err(invalid(
                "JWT_LEEWAY_SECS",
                &format!("at most {MAX_JWT_LEEWAY_SECS} s: a leeway is for clock skew"),
            ));
        }
        Ok(())
    }

    /// Where the secrets come from (read again on `SIGHUP`).
    pub fn secret_sources(&self) -> Sources {
        Sources {
            jwt_secrets_file: self.jwt_secrets_file.clone(),
            jwt_secret_file: self.jwt_secret_file.clone(),
            jwt_secrets: self.jwt_secrets.clone(),
            jwt_secret: self.jwt_secret.clone(),
            clickhouse_password_file: self.clickhouse_password_file.clone(),
            clickhouse_password: self.clickhouse_password.clone(),
        }
    }

    /// The `cdrs` column `total_duration` sums for `side`.
    pub fn duration_column(&self, side: Side) -> &'static str {
        match side {
            Side::Termination => self.termination_duration_column.0,
            Side::Origination => self.origination_duration_column.0,
        }
    }

    /// The limits of every traffic class.
    pub fn class_limits(&self) -> Vec<(Class, ClassLimits)> {
        vec![
            (Class::Customer, self.limits_customer),
            (Class::Bi, self.limits_bi),
            (Class::LoadTest, self.limits_loadtest),
        ]
    }

    /// The classes configured for `api_access` ids (load-test wins over BI when listed twice).
    pub fn access_classes(&self) -> HashMap<u32, Class> {
        let bi = self.bi_access_ids.iter().map(|id| (*id, Class::Bi));
        let loadtest = self
            .loadtest_access_ids
            .iter()
            .map(|id| (*id, Class::LoadTest));
        bi.chain(loadtest).collect()
    }

    /// The newest JWT secret (the one that signs), or an error naming the variables.
    pub fn require_jwt_secret(&self) -> Result<&str, ConfigError> {
        self.jwt_keys
            .first()
            .map(Secret::expose)
            .ok_or_else(|| ConfigError::Invalid {
                var: "JWT_SECRET",
                reason: "must be set (or JWT_SECRETS, JWT_SECRET_FILE, JWT_SECRETS_FILE), \
                         at least 16 characters"
                    .into(),
            })
    }

    /// The time rules tokens must pass.
    pub fn token_time_rules(&self) -> TimeRules {
        TimeRules {
            require_exp: self.jwt_require_exp,
            leeway_secs: i64::from(self.jwt_leeway_secs),
            max_lifetime_secs: i64::from(self.jwt_max_lifetime_secs),
        }
    }
}

/// The typed fields' parsers. Each names its variable in its error, since envy reports a
/// custom error as it is.
mod typed {
    use super::{
        ClassLimits, Deserialize, Deserializer, DurationColumn, IpNet, comma_separated,
        is_identifier,
    };
    use crate::limits::Class;

    fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        String::deserialize(d)
    }

    fn invalid<E: serde::de::Error>(var: &str, reason: impl std::fmt::Display) -> E {
        E::custom(format!("{var} is invalid: {reason}"))
    }

    /// Every item of a comma-separated list through `item`.
    fn list<'de, D, T>(
        d: D,
        var: &'static str,
        item: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
    {
        let text = text(d)?;
        comma_separated(&text)
            .map(|s| item(s).map_err(|reason| invalid(var, reason)))
            .collect()
    }

    pub fn clickhouse_urls<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let urls = list(d, "CLICKHOUSE_URL", |url| {
            if url.starts_with("http://") || url.starts_with("https://") {
                Ok(url.trim_end_matches('/').to_owned())
            } else {
                Err(format!("{url:?} must start with http:// or https://"))
            }
        })?;
        if urls.is_empty() {
            return Err(invalid("CLICKHOUSE_URL", "no URL given"));
        }
        Ok(urls)
    }

    pub fn trusted_proxies<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        list(d, "TRUSTED_PROXIES", |s| {
            crate::auth::ip::parse_net(s).ok_or_else(|| format!("{s:?} is not an address or CIDR"))
        })
    }

    fn limits<'de, D: Deserializer<'de>>(
        d: D,
        var: &'static str,
        class: Class,
    ) -> Result<ClassLimits, D::Error> {
        ClassLimits::parse(class, &text(d)?).map_err(|reason| invalid(var, reason))
    }

    pub fn limits_customer<'de, D: Deserializer<'de>>(d: D) -> Result<ClassLimits, D::Error> {
        limits(d, "LIMITS_CUSTOMER", Class::Customer)
    }

    pub fn limits_bi<'de, D: Deserializer<'de>>(d: D) -> Result<ClassLimits, D::Error> {
        limits(d, "LIMITS_BI", Class::Bi)
    }

    pub fn limits_loadtest<'de, D: Deserializer<'de>>(d: D) -> Result<ClassLimits, D::Error> {
        limits(d, "LIMITS_LOADTEST", Class::LoadTest)
    }

    fn access_ids<'de, D: Deserializer<'de>>(
        d: D,
        var: &'static str,
    ) -> Result<Vec<u32>, D::Error> {
        list(d, var, |s| {
            s.parse()
                .map_err(|_| format!("{s:?} is not an api_access id"))
        })
    }

    pub fn bi_access_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        access_ids(d, "BI_ACCESS_IDS")
    }

    pub fn loadtest_access_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
        access_ids(d, "LOADTEST_ACCESS_IDS")
    }

    /// `name=value` pairs; names must be plain identifiers.
    pub fn clickhouse_settings<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        list(d, "CLICKHOUSE_SETTINGS", |item| {
            match item.split_once('=') {
                Some((k, v)) if is_identifier(k.trim()) => {
                    Ok((k.trim().to_owned(), v.trim().to_owned()))
                }
                _ => Err(format!("{item:?} is not name=value")),
            }
        })
    }

    fn duration_column<'de, D: Deserializer<'de>>(
        d: D,
        var: &'static str,
        billed: &'static str,
    ) -> Result<DurationColumn, D::Error> {
        match text(d)?.as_str() {
            "duration" => Ok(DurationColumn("duration")),
            v if v == billed => Ok(DurationColumn(billed)),
            _ => Err(invalid(var, format!("use duration or {billed}"))),
        }
    }

    pub fn termination_duration_column<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<DurationColumn, D::Error> {
        duration_column(d, "TERMINATION_DURATION_COLUMN", "vendor_duration")
    }

    pub fn origination_duration_column<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<DurationColumn, D::Error> {
        duration_column(d, "ORIGINATION_DURATION_COLUMN", "customer_duration")
    }
}

/// True for a safe SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::from_vars(vars(&[])).expect("defaults are valid");
        assert_eq!(s.listen_addr, "127.0.0.1:8080");
        assert_eq!(s.clickhouse_urls, vec!["http://127.0.0.1:8123"]);
        assert_eq!(s.max_buckets, 44_640);
    }

    #[test]
    fn a_malformed_number_names_its_variable() {
        let err = Settings::from_vars(vars(&[("AUTH_CACHE_TTL_SECS", "soon")]))
            .expect_err("not a number");
        assert!(err.to_string().contains("AUTH_CACHE_TTL_SECS"), "{err}");
    }

    #[test]
    fn several_replicas_are_split_and_checked() {
        let s = Settings::from_vars(vars(&[("CLICKHOUSE_URL", "http://a:8123, http://b:8123/")]))
            .expect("two urls");
        assert_eq!(s.clickhouse_urls, vec!["http://a:8123", "http://b:8123"]);
        let err = Settings::from_vars(vars(&[("CLICKHOUSE_URL", "a:8123")])).expect_err("scheme");
        assert!(err.to_string().contains("CLICKHOUSE_URL"));
    }

    #[test]
    fn access_classes_are_parsed_once_and_named_when_bad() {
        let s = Settings::from_vars(vars(&[
            ("BI_ACCESS_IDS", "3, 4"),
            ("LOADTEST_ACCESS_IDS", "4,9"),
        ]))
        .expect("valid");
        let classes = s.access_classes();
        assert_eq!(classes.get(&3), Some(&Class::Bi));
        assert_eq!(classes.get(&4), Some(&Class::LoadTest));
        assert_eq!(classes.get(&1), None);
        let err = Settings::from_vars(vars(&[("BI_ACCESS_IDS", "x")])).expect_err("bad id");
        assert!(err.to_string().contains("BI_ACCESS_IDS"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s =
            Settings::from_vars(vars(&[("JWT_SECRET", "super-secret-value-123")])).expect("valid");
        assert!(!format!("{s:?}").contains("super-secret"));
        let s = Settings::from_vars(vars(&[
            (
                "JWT_SECRETS",
                "rotated-secret-new-123,rotated-secret-old-123",
            ),
            ("CLICKHOUSE_PASSWORD", "ch-password-value"),
        ]))
        .expect("valid");
        let text = format!("{s:?}");
        assert!(
            !text.contains("rotated-secret") && !text.contains("ch-password"),
            "{text}"
        );
        assert_eq!(
            s.require_jwt_secret().expect("set"),
            "rotated-secret-new-123"
        );
    }

    #[test]
    fn token_rules_default_to_exp_required_and_30_s_leeway() {
        let rules = Settings::from_vars(vars(&[]))
            .expect("valid")
            .token_time_rules();
        assert_eq!(
            rules,
            TimeRules {
                require_exp: true,
                leeway_secs: 30,
                max_lifetime_secs: 0
            }
        );
        let s = Settings::from_vars(vars(&[
            ("JWT_REQUIRE_EXP", "false"),
            ("JWT_MAX_LIFETIME_SECS", "86400"),
        ]))
        .expect("valid");
        assert!(!s.token_time_rules().require_exp);
        assert_eq!(s.token_time_rules().max_lifetime_secs, 86_400);
        assert!(Settings::from_vars(vars(&[("JWT_LEEWAY_SECS", "-1")])).is_err());
        let err = Settings::from_vars(vars(&[("JWT_LEEWAY_SECS", "3600")])).expect_err("too big");
        assert!(err.to_string().contains("JWT_LEEWAY_SECS"), "{err}");
        assert!(
            Settings::from_vars(vars(&[]))
                .expect("valid")
                .require_jwt_secret()
                .is_err()
        );
    }
}
