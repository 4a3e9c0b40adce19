//! `cdrstats token`: mints a JWT for an `api_access` id or a dynamic context, signed with the
//! newest configured secret and carrying its `kid`.

use crate::auth::token::{DynamicCfg, Mint, MintOptions, mint_with};
use crate::config::Settings;
use crate::limits::Class;

/// What to mint, from the command line.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// An `api_access` id (the token's integer `sub`).
    #[arg(long, conflicts_with = "customer")]
    pub access_id: Option<u32>,
    /// Mint a dynamic (`sub: "D"`) token for this customer (contractor) id.
    #[arg(long)]
    pub customer: Option<u32>,
    /// Dynamic token: allowed account ids (comma-separated; empty = all of the customer's).
    #[arg(long, value_delimiter = ',', requires = "customer")]
    pub accounts: Vec<u32>,
    /// Dynamic token: allowed client networks (comma-separated CIDRs; empty = any).
    #[arg(long, value_delimiter = ',', requires = "customer")]
    pub allowed_ips: Vec<String>,
    /// Traffic class claim: customer, bi or loadtest (default: none, i.e. configured/customer).
    #[arg(long)]
    pub class: Option<String>,
    /// Lifetime in seconds; 0 mints a token without `exp` (refused unless JWT_REQUIRE_EXP=false).
    #[arg(long, default_value_t = 86_400)]
    pub ttl: i64,
}

/// Mints the token described by `args`.
pub fn run(settings: &Settings, args: &TokenArgs) -> anyhow::Result<String> {
    let secret = settings.require_jwt_secret()?;
    let subject = match (args.access_id, args.customer) {
        (Some(id), None) => Mint::Access(id),
        (None, Some(customer_id)) => Mint::Dynamic(DynamicCfg {
            customer_id,
            account_ids: args.accounts.clone(),
            allowed_ips: args.allowed_ips.clone(),
        }),
        _ => anyhow::bail!("give either --access-id N or --customer N"),
    };
    let rules = settings.token_time_rules();
    if args.ttl < 0 {
        anyhow::bail!("--ttl must be 0 or more seconds");
    }
    if args.ttl == 0 && rules.require_exp {
        anyhow::bail!(
            "--ttl 0 mints a token without exp, which the gateway refuses unless JWT_REQUIRE_EXP=false"
        );
    }
    if rules.max_lifetime_secs > 0 && (args.ttl == 0 || args.ttl > rules.max_lifetime_secs) {
        anyhow::bail!(
            "--ttl must be between 1 and JWT_MAX_LIFETIME_SECS ({})",
            rules.max_lifetime_secs
        );
    }
    let class = match &args.class {
        None => None,
        Some(name) => Some(
            Class::parse(name)
                .ok_or_else(|| anyhow::anyhow!("--class must be customer, bi or loadtest"))?,
        ),
    };
    let options = MintOptions {
        expires_at: (args.ttl > 0).then(|| chrono::Utc::now().timestamp() + args.ttl),
        class,
        with_kid: true,
    };
    mint_with(secret, subject, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::kid_of;

    fn args(ttl: i64) -> TokenArgs {
        TokenArgs {
            access_id: Some(1),
            customer: None,
            accounts: vec![],
            allowed_ips: vec![],
            class: None,
            ttl,
        }
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .expect("valid")
    }

    #[test]
    fn signs_with_the_newest_secret_and_names_it() {
        let s = settings(&[(
            "JWT_SECRETS",
            "newest-secret-0123456789,older-secret-0123456789",
        )]);
        let token = run(&s, &args(60)).expect("mint");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid, Some(kid_of("newest-secret-0123456789")));
    }

    #[test]
    fn refuses_lifetimes_the_gateway_would_refuse() {
        let s = settings(&[("JWT_SECRET", "some-secret-0123456789")]);
        assert!(run(&s, &args(0)).is_err(), "no exp while exp is required");
        let relaxed = settings(&[
            ("JWT_SECRET", "some-secret-0123456789"),
            ("JWT_REQUIRE_EXP", "false"),
        ]);
        assert!(run(&relaxed, &args(0)).is_ok());
        let capped = settings(&[
            ("JWT_SECRET", "some-secret-0123456789"),
            ("JWT_MAX_LIFETIME_SECS", "3600"),
        ]);
        assert!(run(&capped, &args(7200)).is_err());
        assert!(run(&capped, &args(3600)).is_ok());
    }
}
