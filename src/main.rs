//! `llmgw`: the LLM Gateway command line.
//!
//! Each subcommand lives in its own module under `src/cmd/`; this file only parses
//! the command line and dispatches.

use clap::{Parser, Subcommand};

mod cmd;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "llmgw",
    version,
    about = "LLM Gateway: one OpenAI-compatible API over many LLM providers, with learned cost-quality routing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the OpenAI-compatible HTTP API.
    Serve(cmd::serve::Args),
    /// Serve the simulated OpenAI, Anthropic and Gemini providers on their own.
    Sim(cmd::sim::Args),
    /// Train the routing classifier from labelled prompts (and outcome logs).
    Train(cmd::train::Args),
    /// Score prompts with a router: predicted quality per model and difficulty.
    Score(cmd::score::Args),
    /// Evaluate how well a router trades cost for quality.
    Bench(cmd::bench::Args),
    /// Find the `min_quality` threshold that sends a given share of traffic to the strong model.
    Calibrate(cmd::calibrate::Args),
    /// Join outcome logs with feedback into labelled prompts for `llmgw train`.
    Export(cmd::export::Args),
    /// Make gateway keys and the hashes the config stores.
    Keys(cmd::keys::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Score(args) => cmd::score::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Keys(args) => cmd::keys::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
