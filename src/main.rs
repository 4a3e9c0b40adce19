//! `cdrstats`: the gateway and its operator commands.

use cdrstats::cli::{check, demo, migrate, rollups, seed, sql, token};
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
    /// Apply the schema (idempotent): schema/ to one server, or with --cluster NAME
    /// schema/cluster/ once, ON CLUSTER.
    Migrate(MigrateArgs),
    /// Preflight against the live ClickHouse: version, schema, views, the user's settings and
    /// constraints, a rollup-vs-raw spot check. Prints a table; exits non-zero on a problem.
    Check,
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

#[derive(clap::Args)]
struct MigrateArgs {
    /// The cluster (as named in the servers' remote_servers) to migrate with ON CLUSTER.
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
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
            // The preflight's findings go to the log; the gateway serves regardless (a replica
            // may come up later), the operator reads what is wrong.
            let preflight = settings.clone();
            actix_web::rt::spawn(async move { check::log(&check::run(&preflight).await) });
            tracing::info!(addr = %settings.listen_addr, port = app.port(), "gateway listening");
            app.run_until_stopped().await?;
            Ok(())
        }),
        Command::Migrate(args) => runtime.block_on(async {
            let target = migrate::Target::from_arg(args.cluster.as_deref())?;
            let applied = migrate::run_for(&settings, &target).await?;
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
        Command::Check => runtime.block_on(async {
            let findings = check::run(&settings).await;
            print!("{}", check::table(&findings));
            if check::passed(&findings) {
                Ok(())
            } else {
                anyhow::bail!("cdrstats check found problems (see the table above)")
            }
        }),
        Command::Token(args) => {
            println!("{}", token::run(&settings, &args)?);
            Ok(())
        }
        Command::Sql(args) => runtime.block_on(async {
            println!("{}", sql::run(&settings, &args).await?);
            Ok(())
        }),
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
