//! `llmgw sim`: the simulated OpenAI, Anthropic and Gemini providers as a standalone server,
//! for benchmarks and for trying a gateway config without keys or network.

use std::net::SocketAddr;

use anyhow::Context;

/// Arguments of `llmgw sim`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Milliseconds before the first token (streams) or added to each answer (default 0:
    /// answer at once).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub first_token_ms: u64,
    /// Streaming speed in tokens per second (default 0: unpaced).
    #[arg(long, value_name = "TPS", default_value_t = 0.0)]
    pub tokens_per_sec: f64,
    /// Worker threads of the server (default: one per CPU).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Run `llmgw sim` until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("llmgw-sim");
    if let Some(n) = args.threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        builder.worker_threads(n);
    }
    let runtime = builder.build().context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let cfg = llmgw_sim::SimConfig {
        default_first_token_ms: args.first_token_ms,
        default_tokens_per_sec: args.tokens_per_sec,
        ..llmgw_sim::SimConfig::default()
    };
    let sim = llmgw_sim::SimServer::start_on(args.listen, cfg)
        .await
        .with_context(|| format!("cannot start the simulated providers on {}", args.listen))?;
    println!("simulated providers on http://{}", sim.addr());
    println!("  OpenAI-compatible base URL: {}", sim.openai_base_url());
    println!("  Anthropic base URL:         {}", sim.anthropic_base_url());
    println!("  Gemini base URL:            {}", sim.gemini_base_url());
    println!("Any non-empty key is accepted. Ctrl-C stops.");
    llmgw_server::shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}
