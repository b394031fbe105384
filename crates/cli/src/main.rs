//! `exitentry`: one binary for the server, the demo, migrations, imports and operations.

mod centre_cmd;
mod credential_cmd;
mod demo;
mod import_cmd;
mod logging;
mod partners_cmd;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use exitentry_config::Config;
use exitentry_services::{App, SystemClock, audit, auth};
use figment::Figment;
use figment::providers::Serialized;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Per-thread heaps: under load glibc's malloc spent a fifth of the server's time in
/// allocation and in waiting for its arena lock (docs/PERFORMANCE.md, issue 19 fourth pass).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "exitentry",
    version,
    about = "Exit-entry administration platform"
)]
struct Cli {
    /// TOML configuration file (see `exitentry config print-default`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB (also DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Log format: `pretty` or `json`.
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API (applies migrations first).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Use the development SMS/email outbox and face-check double (never in production).
        #[arg(long)]
        dev_providers: bool,
    },
    /// Fresh SQLite database under ./data/demo with realistic data, then serve.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// How many random people to generate (besides the fixed showcase people).
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        /// Start the demo's clock at this moment (RFC 3339, e.g. 2026-11-30T09:00:00+08:00)
        /// and let it run from there: to walk through a working day at any hour.
        #[arg(long)]
        clock_start: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Apply database migrations.
    Migrate,
    /// Import registry data from CSV files.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Staff accounts.
    Users {
        #[command(subcommand)]
        what: UsersWhat,
    },
    /// Relying parties (airlines, railways, banks, …) and their API keys.
    Partners {
        #[command(subcommand)]
        what: partners_cmd::PartnersWhat,
    },
    /// Appointment slots at service centres.
    Slots {
        #[command(subcommand)]
        what: centre_cmd::SlotsWhat,
    },
    /// Kiosks and ticket printers bound to an office.
    Devices {
        #[command(subcommand)]
        what: centre_cmd::DevicesWhat,
    },
    /// People in the registry: marks that change what they may do.
    People {
        #[command(subcommand)]
        what: centre_cmd::PeopleWhat,
    },
    /// Online payments: the daily reconciliation per provider.
    Payments {
        #[command(subcommand)]
        what: centre_cmd::PaymentsWhat,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        what: AuditWhat,
    },
    /// Signing keys for credentials (temporary e-permits, linkage proofs).
    Keys {
        #[command(subcommand)]
        what: credential_cmd::KeysWhat,
    },
    /// Verify or decode a credential payload offline.
    Credential {
        #[command(subcommand)]
        what: credential_cmd::CredentialWhat,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        what: ConfigWhat,
    },
}

#[derive(Subcommand)]
pub enum ImportWhat {
    /// Offices: code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices
    /// (optional: address_zh_hant, address_en, services, opening_hours, calendar)
    Offices(import_cmd::ImportArgs),
    /// People: external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
    People(import_cmd::ImportArgs),
    /// Documents: person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code
    Documents(import_cmd::ImportArgs),
    /// Endorsements: document_number,destination,type,trips,valid_from,valid_until,stay_days
    /// (trips a number or `multiple`)
    Endorsements(import_cmd::ImportArgs),
    /// Write generated sample files (people.csv, documents.csv) for trials and benchmarks.
    Sample {
        #[arg(long, default_value_t = 1000)]
        people: usize,
        #[arg(long)]
        out_dir: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum UsersWhat {
    /// Create a staff account; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// admin, reviewer, approver or counter_clerk.
        #[arg(long)]
        role: String,
        /// Office code the account belongs to.
        #[arg(long)]
        office: Option<String>,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Lift the lock strangers' failed sign-ins put on an account (audited).
    Unlock { username: String },
}

#[derive(Subcommand)]
enum AuditWhat {
    /// Check the hash chain; exits 1 and names the first bad entry if it is broken.
    Verify,
}

#[derive(Subcommand)]
enum ConfigWhat {
    /// Print the full default configuration file.
    PrintDefault,
    /// Print the effective configuration (secrets redacted).
    Show,
}

fn load_config(cli: &Cli, listen: Option<&str>) -> Result<Config> {
    let mut flags = Figment::new();
    if let Some(url) = &cli.database_url {
        flags = flags.merge(Serialized::default("database.url", url));
    }
    if let Some(f) = &cli.log_format {
        flags = flags.merge(Serialized::default("log.format", f));
    }
    if let Some(l) = listen {
        flags = flags.merge(Serialized::default("server.listen", l));
    }
    Ok(exitentry_config::load(cli.config.as_deref(), flags)?)
}

async fn open_app(config: Config) -> Result<App> {
    let db = exitentry_services::open_database(&config)
        .await
        .with_context(|| format!("cannot open the database {}", config.database.url))?;
    Ok(App::new(db, config, Arc::new(SystemClock)).with_keys_from_config()?)
}

/// The configuration loaded, logging started and the database opened: what most commands
/// run on.
async fn app_for(cli: &Cli) -> Result<App> {
    let config = load_config(cli, None)?;
    logging::init(&config.log);
    open_app(config).await
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Config {
            what: ConfigWhat::PrintDefault,
        } => {
            print!("{}", exitentry_config::default_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            what: ConfigWhat::Show,
        } => {
            let c = load_config(&cli, None)?;
            println!("{c:#?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            listen,
            dev_providers,
        } => {
            let mut config = load_config(&cli, listen.as_deref())?;
            if config.server.dev_providers && !dev_providers {
                bail!(
                    "server.dev_providers is set in the configuration; development providers must also be asked for with --dev-providers"
                );
            }
            config.server.dev_providers = *dev_providers;
            if !dev_providers {
                let problems = config.production_problems();
                if !problems.is_empty() {
                    bail!(
                        "refusing to start with development or missing secrets (use --dev-providers for a development server):\n  {}",
                        problems.join("\n  ")
                    );
                }
            }
            logging::init(&config.log);
            tracing::info!(database = %config.database.url, listen = %config.server.listen, "starting");
            let app = open_app(config).await?;
            exitentry_services::keys::start(&app)
                .await
                .context("loading the published signing keys")?;
            serve(app.clone()).await?;
            // Quota this node leased and did not use goes back to the other nodes, and the
            // records of the last checks are stored.
            exitentry_services::partners::give_back_leases(&app, None).await;
            if let Some(log) = &app.usage {
                log.flush().await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            people,
            clock_start,
        } => {
            let mut config = load_config(&cli, Some(listen))?;
            config.server.public_url_from_listen();
            logging::init(&config.log);
            let clock: Arc<dyn exitentry_services::Clock> = match clock_start {
                Some(at) => Arc::new(exitentry_services::OffsetClock::starting_at(
                    at.with_timezone(&chrono::Utc),
                )),
                None => Arc::new(SystemClock),
            };
            let app = demo::prepare(config, *people, clock).await?;
            serve(app).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let app = app_for(&cli).await?;
            println!("migrations applied ({})", app.db.backend().name());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { what } => {
            let config = load_config(&cli, None)?;
            logging::init(&config.log);
            if let ImportWhat::Sample {
                people,
                out_dir,
                seed,
            } = what
            {
                return import_cmd::sample(*people, out_dir, *seed).map(|_| ExitCode::SUCCESS);
            }
            let app = open_app(config).await?;
            import_cmd::run(&app, what).await
        }
        Command::Users {
            what:
                UsersWhat::Create {
                    username,
                    role,
                    office,
                    password_stdin: _,
                },
        } => {
            let config = load_config(&cli, None)?;
            logging::init(&config.log);
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let password = password.lines().next().unwrap_or("").to_string();
            let app = open_app(config).await?;
            match auth::create_staff(&app, "cli", username, &password, role, office.as_deref())
                .await
            {
                Ok(_) => {
                    println!("created {} ({role})", username.trim().to_ascii_lowercase());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => bail!("{} ({})", e, e.code()),
            }
        }
        Command::Users {
            what: UsersWhat::Unlock { username },
        } => {
            let app = app_for(&cli).await?;
            match auth::unlock_staff(&app, "cli", username).await {
                Ok(()) => {
                    println!("unlocked {}", username.trim().to_ascii_lowercase());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => bail!("{} ({})", e, e.code()),
            }
        }
        Command::Partners { what } => partners_cmd::run(&app_for(&cli).await?, what).await,
        Command::Slots { what } => centre_cmd::slots(&app_for(&cli).await?, what).await,
        Command::People { what } => centre_cmd::people(&app_for(&cli).await?, what).await,
        Command::Payments { what } => centre_cmd::payments(&app_for(&cli).await?, what).await,
        Command::Devices { what } => centre_cmd::devices(&app_for(&cli).await?, what).await,
        Command::Keys { what } => {
            let config = load_config(&cli, None)?;
            let code = credential_cmd::keys(&config, what)?;
            if !matches!(what, credential_cmd::KeysWhat::List) {
                logging::init(&config.log);
                credential_cmd::publish(&open_app(config).await?, what).await?;
            }
            Ok(code)
        }
        Command::Credential { what } => credential_cmd::credential(what),
        Command::Audit {
            what: AuditWhat::Verify,
        } => {
            let app = app_for(&cli).await?;
            match audit::verify(&app).await? {
                audit::Verdict::Intact { entries } => {
                    println!("audit log intact: {entries} entries");
                    Ok(ExitCode::SUCCESS)
                }
                audit::Verdict::Broken { seq, reason } => {
                    println!("audit log broken at entry {seq}: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn serve(app: App) -> Result<()> {
    let listen = app.config.server.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (is another server running there?)"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Jobs (SMS, email) run in the same process; with several nodes each runs a worker.
    tokio::spawn(exitentry_services::jobs::run_worker(app.clone()));
    exitentry_web::serve(app, listener).await?;
    Ok(())
}
