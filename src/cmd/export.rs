//! `llmgw export`: outcome logs + feedback → labelled prompts that `llmgw train` reads.

use std::path::PathBuf;

use anyhow::Context;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Log folder written by `llmgw serve --log-dir` (holds `outcomes/` and `feedback/`).
    #[arg(long, value_name = "DIR")]
    pub logs: PathBuf,
    /// Output file: Parquet if it ends in `.parquet`, JSON lines otherwise.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only read partitions dated on or after this UTC date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let summary = llmgw_outcomes::export::export(&args.logs, &args.out, args.since.as_deref())
        .with_context(|| format!("exporting the logs in {}", args.logs.display()))?;
    println!("wrote {}: {summary}", args.out.display());
    Ok(())
}
