//! The `brook` command line (contract §1). Settings are flags or environment
//! variables (flags win) and apply to every subcommand.

use clap::{Parser, Subcommand};
use engine::config::Settings;

#[derive(Parser, Debug)]
#[command(name = "brook", version, about = "Brook: self-hosted, real-time AI chat")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web UI, the API and the widget (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Print a token (JWT) for an account.
    Token {
        #[arg(long)]
        email: String,
    },
    /// Manage bots.
    #[command(subcommand)]
    Bot(BotCommand),
    /// Check the database, Redis and the model provider, and say what is wrong.
    Doctor,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BotCommand {
    /// Create a bot and print its id, public widget key and snippet.
    Create {
        /// Email of the owning account.
        #[arg(long)]
        owner: String,
        #[arg(long)]
        name: String,
        #[arg(long = "system-prompt")]
        system_prompt: Option<String>,
        /// The bot's model: one of BROOK_MODELS. (Its own id: clap would
        /// otherwise hand the value to the global BROOK_MODEL setting too.)
        #[arg(id = "bot_model", long = "model")]
        model: Option<String>,
        /// An origin allowed to embed the widget (repeatable); enables the widget.
        #[arg(long = "allowed-origin")]
        allowed_origin: Vec<String>,
    },
    /// List every bot.
    List,
}
