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
