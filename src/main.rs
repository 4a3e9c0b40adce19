//! `cdrstats`: the gateway and its operator commands.

use cdrstats::cli::{demo, migrate, rollups, seed, sql, token};
use cdrstats::config::Settings;
use cdrstats::startup::Application;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Query gateway for telecom call statistics over ClickHouse.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP gateway on LISTEN_ADDR.
    Serve,
    /// Apply schema/ to every CLICKHOUSE_URL replica (idempotent).
    Migrate,
    /// Generate synthetic CDRs, accounts and API credentials.
    Seed(seed::SeedArgs),
    /// Mint a JWT for an api_access id or a dynamic customer context.
    Token(token::TokenArgs),
    /// Print a ready-to-paste curl line for the seeded demo customer.
    Demo,
    /// Print the SQL and parameters the gateway would run for a request (JSON).
    Sql(sql::SqlArgs),
    /// Rebuild or verify the tables derived from raw CDRs (rollups, origination copy).
    #[command(subcommand)]
    Rollups(rollups::RollupsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_guard = cdrstats::telemetry::init();
    let result = Settings::from_env()
        .map_err(anyhow::Error::from)
        .and_then(|settings| run(cli.command, settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, no panic, no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match command {
        Command::Serve => actix_web::rt::System::new().block_on(async {
            let app = Application::build(settings.clone())?;
            tracing::info!(addr = %settings.listen_addr, port = app.port(), "gateway listening");
            app.run_until_stopped().await?;
            Ok(())
        }),
        Command::Migrate => runtime.block_on(async {
            let applied = migrate::run(&settings).await?;
            if applied.is_empty() {
                println!("schema up to date");
            } else {
                println!("applied: {}", applied.join(", "));
            }
            Ok(())
        }),
        Command::Seed(args) => runtime.block_on(async {
            let report = seed::run(&settings, &args).await?;
            if report.skipped {
                println!(
                    "cdrs already holds {} rows; nothing seeded (--if-empty)",
                    report.rows
                );
            } else {
                println!(
                    "seeded {} CDRs in {:.2} s ({:.0} rows/s)",
                    report.rows,
                    report.seconds,
                    report.rows as f64 / report.seconds.max(1e-9)
                );
            }
            Ok(())
        }),
        Command::Token(args) => {
            println!("{}", token::run(&settings, &args)?);
            Ok(())
        }
        Command::Sql(args) => {
            println!("{}", sql::run(&args)?);
            Ok(())
        }
        Command::Rollups(command) => runtime.block_on(async {
            println!("{}", rollups::run(&settings, &command).await?);
            Ok(())
        }),
        Command::Demo => runtime.block_on(async {
            println!("{}", demo::run(&settings).await?);
            Ok(())
        }),
    }
}
