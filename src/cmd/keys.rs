//! `llmgw keys`: make gateway keys and the hashes the config stores.
//!
//! `llmgw keys new --id team-a` prints a fresh key (give it to its owner) and the `[[keys]]`
//! entry for the config; `llmgw keys hash` prints the hash of an existing key read from
//! standard input. The gateway itself never stores a key.

use std::io::Read;

use anyhow::Context;
use llmgw_governance::{ApiKey, KeyHash};

/// Arguments of `llmgw keys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What `llmgw keys` does.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Generate a new key and print it with its `[[keys]]` config entry.
    New {
        /// Key id (public; appears in logs and errors).
        #[arg(long, default_value = "my-key")]
        id: String,
    },
    /// Print the SHA-256 hash of a key read from standard input (for `hash = "…"`).
    Hash,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::New { id } => {
            let key = ApiKey::generate();
            eprintln!("Give this key to its owner; it is not stored anywhere:");
            println!("{}", key.expose());
            eprintln!("\nAdd this entry to the config file:");
            println!("\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"", key.hash());
        }
        Action::Hash => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the key from standard input")?;
            let key = text.trim();
            anyhow::ensure!(!key.is_empty(), "no key on standard input");
            println!("{}", KeyHash::of(key));
        }
    }
    Ok(())
}
