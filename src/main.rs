//! The `gatehouse` binary: `gatehouse` (or `gatehouse serve`) runs the console.
use clap::{Parser, Subcommand};
use gatehouse::server::{startup, Config};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Central identity administration console"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web console (the default). Configured by GATEHOUSE_* environment variables.
    Serve,
    /// Fill the database (GATEHOUSE_DATABASE_URL) with realistic synthetic people.
    Seed {
        /// Number of user accounts.
        #[arg(long, default_value_t = 10_000)]
        users: u64,
        /// Number of persons (GUIDs) the accounts belong to; default: 80% of --users.
        #[arg(long)]
        guids: Option<u64>,
        /// Random seed, for repeatable data.
        #[arg(long, default_value_t = 42)]
        rng_seed: u64,
    },
    /// Measure page latencies over HTTP on the database in GATEHOUSE_DATABASE_URL.
    Bench {
        #[command(subcommand)]
        what: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Users list, deep pages, searches and the user detail page (p50/p95/p99).
    Users {
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Seed {
            users,
            guids,
            rng_seed,
        } => seed(users, guids.unwrap_or(users * 4 / 5), rng_seed).await,
        Command::Bench {
            what: BenchTarget::Users { requests },
        } => gatehouse::server::bench::users(requests).await,
    };
    if let Err(e) = result {
        eprintln!("gatehouse: {e}");
        std::process::exit(2);
    }
}

async fn serve() -> Result<(), startup::StartupError> {
    let config = Config::from_env()?;
    let bind = config.bind;
    let public_url = config.public_url.clone();
    let (router, _state) = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind} (GATEHOUSE_BIND): {e}"))?;
    tracing::info!("Gatehouse listening on {public_url}");
    startup::serve(listener, router).await?;
    Ok(())
}

async fn seed(users: u64, guids: u64, rng_seed: u64) -> Result<(), startup::StartupError> {
    let url = std::env::var("GATEHOUSE_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/gatehouse.db".into());
    let db = gatehouse::server::db::Db::connect(&url)
        .await
        .map_err(|e| format!("cannot open the database (GATEHOUSE_DATABASE_URL): {e}"))?;
    let report = gatehouse::server::seed::run(&db, users, guids, rng_seed, |done| {
        eprint!(
            "\rseeded {done}/{users} users ({}%)",
            done * 100 / users.max(1)
        );
    })
    .await?;
    eprintln!();
    println!(
        "seeded {} users over {} GUIDs in {:.1} s ({:.0} users/s)",
        report.users,
        report.guids,
        report.seconds,
        report.users as f64 / report.seconds.max(0.001)
    );
    Ok(())
}
