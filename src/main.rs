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
    /// The audit log: export it or verify its hash chain (database in GATEHOUSE_DATABASE_URL).
    Audit {
        #[command(subcommand)]
        what: AuditCommand,
    },
    /// Copy the SQLite database (GATEHOUSE_DATABASE_URL) to PATH while Gatehouse runs, then verify
    /// the copy's audit chain (exit status 1 when broken). On PostgreSQL use pg_dump (README).
    Backup {
        /// The backup file to write; it must not exist.
        path: String,
    },
    /// Replace the SQLite database (GATEHOUSE_DATABASE_URL) with a backup whose audit chain
    /// verifies (exit status 1 when it does not). Stop Gatehouse first.
    Restore {
        /// The backup file (made by gatehouse backup).
        from: String,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
    /// Measure page latencies over HTTP on the database in GATEHOUSE_DATABASE_URL.
    Bench {
        #[command(subcommand)]
        what: BenchTarget,
    },
    /// Management API service accounts and their tokens (database in GATEHOUSE_DATABASE_URL).
    ServiceAccount {
        #[command(subcommand)]
        what: ServiceAccountCommand,
    },
    /// Provisioning sources (SCIM clients) and their tokens (database in GATEHOUSE_DATABASE_URL).
    Source {
        #[command(subcommand)]
        what: SourceCommand,
    },
    /// Shared Signals: transmitters Gatehouse receives events from (database in
    /// GATEHOUSE_DATABASE_URL).
    Signals {
        #[command(subcommand)]
        what: SignalsCommand,
    },
}

#[derive(Subcommand)]
enum SignalsCommand {
    /// Register a transmitter (an identity provider, an MDM) by its issuer and fetch its keys;
    /// one with the same issuer is left as it is. Prints only its id on standard output.
    AddTransmitter {
        #[arg(long)]
        name: String,
        /// The `iss` of its Security Event Tokens.
        #[arg(long)]
        issuer: String,
        /// Where its keys are; default: discovered from the issuer's SSF metadata.
        #[arg(long, default_value = "")]
        jwks_uri: String,
        /// The `aud` its tokens carry; default: GATEHOUSE_PUBLIC_URL.
        #[arg(long, default_value = "")]
        audience: String,
    },
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Register a provisioning source owning every attribute, or issue a new token of the one
    /// with this id. Prints only the token on standard output, once.
    Create {
        /// The source's id: what its users and groups carry as their source.
        #[arg(long)]
        id: String,
        /// The source's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ServiceAccountCommand {
    /// Create a service account (or reuse the one with this name) and issue one token of it.
    /// Prints only the token on standard output, once; everything else goes to standard error.
    Create {
        /// The account's name (what it automates); an existing account of this name is reused.
        #[arg(long)]
        name: String,
        /// The email of the person who answers for the account.
        #[arg(long)]
        owner: String,
        /// `all`, or scope names separated by commas (users:read,audit:read). The token holds
        /// these; a new account holds them too.
        #[arg(long)]
        scopes: String,
        /// Days until the token expires (1 to 366).
        #[arg(long)]
        days: i64,
        /// The token's name: where it is used.
        #[arg(long, default_value = "command line")]
        token_name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Write matching events to standard output in chain order, with their hashes.
    Export {
        /// UTC date or date-time (2026-11-23 or 2026-11-23T10:00), inclusive.
        #[arg(long, default_value = "")]
        from: String,
        /// UTC date or date-time, exclusive (a bare date includes that whole day).
        #[arg(long, default_value = "")]
        to: String,
        /// csv or ndjson (one JSON object per line; the exact form for verification).
        #[arg(long, default_value = "ndjson")]
        format: String,
        /// An action, or an area such as user.*
        #[arg(long, default_value = "")]
        action: String,
        /// The actor's email.
        #[arg(long, default_value = "")]
        actor: String,
    },
    /// Walk the whole chain and report the first broken link (exit status 1 when broken).
    /// Checkpoints are checked with GATEHOUSE_AUDIT_VERIFY_KEY or GATEHOUSE_AUDIT_SIGNING_KEY.
    Verify {
        /// A directory of checkpoint files kept outside the database (GATEHOUSE_AUDIT_CHECKPOINT_DIR
        /// of the servers) to compare the chain with.
        #[arg(long, value_name = "DIR")]
        checkpoints: Option<String>,
    },
    /// Record a checkpoint of the chain head now (signed with GATEHOUSE_AUDIT_SIGNING_KEY if set,
    /// and then also written to GATEHOUSE_AUDIT_CHECKPOINT_DIR).
    Checkpoint,
    /// Archive the events before a date to an NDJSON file (with its checkpoint), then remove them.
    Purge {
        /// UTC date or date-time; events before it are archived and removed.
        #[arg(long)]
        before: String,
        #[arg(long, default_value = "data/audit-archive")]
        archive_dir: String,
    },
    /// Check an NDJSON export offline, optionally against a checkpoint (exit status 1 when not intact).
    VerifyFile {
        file: String,
        /// The checkpoint's event position.
        #[arg(long, requires = "hash")]
        seq: Option<i64>,
        /// The checkpoint's hash.
        #[arg(long, requires = "seq")]
        hash: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// The audit log: appends events up to --events, then times search, export and verify.
    Audit {
        #[arg(long, default_value_t = 10_000_000)]
        events: i64,
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Only append, then exit: the measuring run starts in a fresh process, so memory the
        /// appending left behind does not count as the export's.
        #[arg(long)]
        fill_only: bool,
    },
    /// Key verification for gateways under load (wrk), next to a trivial handler.
    Keys {
        #[arg(long, default_value_t = 100_000)]
        keys: usize,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Users list, deep pages, searches and the user detail page (p50/p95/p99).
    Users {
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// Provisioning out: a group of --people assigned to a SCIM target (one worker, then two),
    /// then commit-to-delivery latency at --rate changes per second.
    Outbox {
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        #[arg(long, default_value_t = 100)]
        rate: u64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// SCIM: provisions --users through POST /Users from --clients, then times look-ups.
    Scim {
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// Shared Signals: --sets tokens pushed by --clients, then --revocations "revoke everywhere".
    Signals {
        #[arg(long, default_value_t = 5_000)]
        sets: usize,
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 500)]
        users: usize,
        #[arg(long, default_value_t = 20)]
        revocations: usize,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let log_format = match gatehouse::server::config::LogFormat::from_env() {
        Ok(format) => format,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            std::process::exit(2);
        }
    };
    // Its standard output is the token alone, for scripts to capture.
    let logs_to_stderr = matches!(
        cli.command,
        Some(Command::ServiceAccount { .. } | Command::Source { .. } | Command::Signals { .. })
    );
    gatehouse::server::logging::init(log_format, logs_to_stderr);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Seed {
            users,
            guids,
            rng_seed,
        } => seed(users, guids.unwrap_or(users * 4 / 5), rng_seed).await,
        Command::Audit {
            what:
                AuditCommand::Export {
                    from,
                    to,
                    format,
                    action,
                    actor,
                },
        } => {
            let query = gatehouse::model::audit::AuditQuery {
                from,
                to,
                action,
                actor,
                ..Default::default()
            };
            gatehouse::server::audit_cli::export(query, &format)
                .await
                .map(|_| ())
        }
        Command::Audit {
            what: AuditCommand::Verify { checkpoints },
        } => match gatehouse::server::audit_cli::verify(checkpoints.as_deref()).await {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Audit {
            what: AuditCommand::Checkpoint,
        } => gatehouse::server::audit_cli::checkpoint().await,
        Command::Audit {
            what:
                AuditCommand::Purge {
                    before,
                    archive_dir,
                },
        } => gatehouse::server::audit_cli::purge(&before, &archive_dir).await,
        Command::Audit {
            what: AuditCommand::VerifyFile { file, seq, hash },
        } => match gatehouse::server::audit_cli::verify_file(&file, seq.zip(hash)) {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Backup { path } => match gatehouse::server::backup::backup_cli(&path).await {
            Ok(true) => Ok(()),
            Ok(false) => std::process::exit(1),
            Err(e) => Err(e),
        },
        Command::Restore { from, force } => {
            match gatehouse::server::backup::restore_cli(&from, force).await {
                Ok(true) => Ok(()),
                Ok(false) => std::process::exit(1),
                Err(e) => Err(e),
            }
        }
        Command::Bench {
            what:
                BenchTarget::Audit {
                    events,
                    requests,
                    fill_only,
                },
        } => gatehouse::server::bench_audit::run(events, requests, fill_only).await,
        Command::Bench {
            what:
                BenchTarget::Keys {
                    keys,
                    connections,
                    seconds,
                },
        } => {
            gatehouse::server::bench_keys::run(gatehouse::server::bench_keys::Options {
                keys,
                connections,
                seconds,
            })
            .await
        }
        Command::Bench {
            what: BenchTarget::Users { requests },
        } => gatehouse::server::bench::users(requests).await,
        Command::Bench {
            what:
                BenchTarget::Outbox {
                    people,
                    rate,
                    seconds,
                },
        } => {
            use gatehouse::server::bench_outbox::{run, Options};
            run(Options {
                people,
                rate,
                seconds,
            })
            .await
        }
        Command::Bench {
            what:
                BenchTarget::Scim {
                    users,
                    clients,
                    requests,
                },
        } => {
            use gatehouse::server::bench_scim::{run, Options};
            run(Options {
                users,
                clients,
                requests,
            })
            .await
        }
        Command::Bench {
            what:
                BenchTarget::Signals {
                    sets,
                    clients,
                    users,
                    revocations,
                },
        } => {
            use gatehouse::server::bench_signals::{run, Options};
            run(Options {
                sets,
                clients,
                users,
                revocations,
            })
            .await
        }
        Command::ServiceAccount {
            what:
                ServiceAccountCommand::Create {
                    name,
                    owner,
                    scopes,
                    days,
                    token_name,
                },
        } => gatehouse::server::service_account_cli::create(
            gatehouse::server::service_account_cli::CreateOptions {
                name,
                owner,
                scopes,
                days,
                token_name,
            },
        )
        .await
        .map(|token| println!("{token}")),
        Command::Source {
            what: SourceCommand::Create { id, name },
        } => gatehouse::server::service_account_cli::source(&id, &name)
            .await
            .map(|token| println!("{token}")),
        Command::Signals {
            what:
                SignalsCommand::AddTransmitter {
                    name,
                    issuer,
                    jwks_uri,
                    audience,
                },
        } => gatehouse::server::signals_cli::add_transmitter(
            gatehouse::server::signals_cli::AddOptions {
                name,
                issuer,
                jwks_uri,
                audience,
            },
        )
        .await
        .map(|id| println!("{id}")),
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
    let (router, state) = startup::build(config).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind} (GATEHOUSE_BIND): {e}"))?;
    if let Some(metrics) = startup::spawn_metrics_listener(&state).await? {
        tracing::info!("metrics at http://{metrics}/metrics");
    }
    tracing::info!("Gatehouse listening on {public_url}");
    startup::serve(listener, router).await?;
    // Drained: hand the background work over at once instead of after the leases run out.
    let lessee = gatehouse::server::service::leases::Lessee::of(&state);
    match lessee.release_all().await {
        Ok(n) => tracing::info!(released = n, "stopped; background work handed over"),
        Err(e) => {
            tracing::warn!(error = %e, "stopped; background work is taken over when its leases run out")
        }
    }
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
        "seeded {} users over {} GUIDs, {} MFA factors and {} devices in {:.1} s ({:.0} users/s)",
        report.users,
        report.guids,
        report.factors,
        report.devices,
        report.seconds,
        report.users as f64 / report.seconds.max(0.001)
    );
    Ok(())
}
