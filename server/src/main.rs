//! `brook`: parse the command line, check the configuration, run the subcommand.
//! Any failure is one line on stderr and a non-zero exit, never a panic trace.

// Leptos view types nest deeply; the compiler needs more room to lay them out.
#![recursion_limit = "512"]

use std::process::ExitCode;

use brook_server::cli::{Cli, Command};
use clap::Parser;
use engine::Config;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    brook_server::alloc::tune();
    // Settings from `.env` in the working directory, if there is one; the
    // process's own environment wins over it (see .env.example).
    let dotenv = match dotenvy::dotenv() {
        Ok(path) => Some(path),
        Err(e) if e.not_found() => None,
        Err(e) => {
            eprintln!("brook: .env: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse();
    let config = match Config::from_settings(&cli.settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("brook: {e}");
            return ExitCode::from(2);
        }
    };
    brook_server::telemetry::init(config.log_format);
    if let Some(path) = dotenv {
        tracing::info!(path = %path.display(), "settings read from .env");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("brook: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brook: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    use brook_server::commands;
    match command {
        Command::Serve => {
            brook_server::alloc::spawn_trimmer();
            let running = brook_server::serve::spawn(config).await.map_err(|e| e.to_string())?;
            brook_server::serve::shutdown_signal().await;
            tracing::info!("shutting down: draining replies");
            running.shutdown.cancel();
            running
                .task
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        }
        Command::Migrate => commands::migrate(&config).await,
        Command::User(cmd) => commands::user(&config, cmd).await,
        Command::Token { email } => commands::token(&config, &email).await,
        Command::Bot(cmd) => commands::bot(&config, cmd).await,
        Command::Doctor => commands::doctor(&config).await,
    }
}
