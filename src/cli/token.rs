//! `cdrstats token`: mints a JWT for an `api_access` id or a dynamic context.

use crate::auth::token::{DynamicCfg, Mint, mint_with_class};
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
    /// Lifetime in seconds; 0 mints a token without `exp`.
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
    let exp = (args.ttl > 0).then(|| chrono::Utc::now().timestamp() + args.ttl);
    let class = match &args.class {
        None => None,
        Some(name) => Some(
            Class::parse(name)
                .ok_or_else(|| anyhow::anyhow!("--class must be customer, bi or loadtest"))?,
        ),
    };
    mint_with_class(secret, subject, exp, class)
}
