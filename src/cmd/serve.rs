//! `llmgw serve`: the OpenAI-compatible gateway.
//!
//! Without `--config` the embedded demo config is used: every provider whose key is not in
//! the environment is served by the built-in simulator on loopback, and the log says so.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use llmgw_config::Config;
use llmgw_server::{AutoRouting, Gateway, ProviderSpec, SimEndpoints};

/// Arguments of `llmgw serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Config file (TOML). Default: the embedded demo config (simulated providers unless
    /// OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY … are set).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on; overrides `server.listen` (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Folder of the outcome log (Parquet); overrides `server.log_dir`.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Folder of the trained router for `model: "auto"`; overrides `routing.router_dir`.
    #[arg(long, value_name = "DIR")]
    pub router: Option<PathBuf>,
}

/// Run `llmgw serve`.
pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("llmgw")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => {
            let models_dir = std::env::current_dir()
                .context("cannot read the current directory")?
                .join("models");
            Config::demo(&models_dir)?
        }
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = &args.log_dir {
        config.server.log_dir = Some(dir.clone());
    }
    if let Some(dir) = &args.router {
        config.routing.router_dir = dir.clone();
    }
    Ok(config)
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    tracing::info!(config = %config.describe_source(), models = config.catalog.models().len(), "configuration loaded");

    let sim = if llmgw_server::needs_simulator(&config) {
        let sim = llmgw_sim::SimServer::start(demo_sim_config())
            .await
            .context("cannot start the simulated providers")?;
        Some(sim)
    } else {
        None
    };
    let endpoints = sim.as_ref().map(|s| SimEndpoints {
        openai: s.openai_base_url(),
        anthropic: s.anthropic_base_url(),
        gemini: s.gemini_base_url(),
    });
    let specs =
        llmgw_server::resolve_providers(&config, endpoints.as_ref()).map_err(anyhow::Error::msg)?;
    report_providers(&specs);
    let providers = llmgw_server::connect_providers(&specs, &config.server)
        .map_err(anyhow::Error::msg)
        .context("cannot set up the provider clients")?;

    let auto = load_router(&config.routing.router_dir).await;
    if config.cache.enabled && config.cache.semantic {
        if let Some(reason) = auto.disabled_reason() {
            anyhow::bail!(
                "`[cache] semantic = true` needs the trained router, whose encoder embeds the \
                 prompts, but {reason}; set `semantic = false` or point `routing.router_dir` at a router"
            );
        }
    }
    let (outcome_log, writer) = match &config.server.log_dir {
        Some(dir) => {
            seed_output_lengths(&auto, dir).await;
            let (log, writer) =
                llmgw_outcomes::OutcomeLog::start(llmgw_outcomes::LogConfig::new(dir.clone()))
                    .with_context(|| {
                        format!("cannot start the outcome log in {}", dir.display())
                    })?;
            tracing::info!(dir = %dir.display(), "outcome log: one record per request, Parquet");
            (Some(log), Some(writer))
        }
        None => {
            tracing::info!("no outcome log (start with --log-dir DIR to record outcomes)");
            (None, None)
        }
    };

    let listen = config.server.listen;
    let curl_model = example_model(&config, &specs);
    // Shared state in Redis (`[shared_state]`, `[cache] backend = "redis"`), if configured.
    let shared = llmgw_redis::SharedState::from_config(&config)
        .context("cannot set up the shared state in Redis")?;
    let mut shared_governor = None;
    if let Some(shared) = &shared {
        // A Redis that does not answer yet is logged; requests retry it.
        let _ = shared.check().await;
        shared_governor = shared.governor_for(&config)?;
    }
    let governor = match shared_governor {
        Some(governor) => governor,
        None => llmgw_server::governance::governor_from_config(&config)
            .context("cannot load the gateway keys")?,
    };
    match governor.keys().file() {
        Some(file) => tracing::info!(
            file = %file.path().display(),
            "keys issued through the admin API are kept in this file (hashes only)"
        ),
        None if governor.admin_enabled() => tracing::warn!(
            "keys issued through the admin API live in memory only: set `[admin] keys_file` \
             or `server.log_dir` to keep them across restarts"
        ),
        None => {}
    }
    let cache_config = config.cache.clone();
    let mut builder = Gateway::builder(config, providers)
        .auto_routing(auto)
        .governor(governor);
    if let Some(log) = outcome_log {
        builder = builder.outcome_log(log);
    }
    if let Some(cache) = shared.as_ref().and_then(|s| s.cache.clone()) {
        tracing::info!(
            ttl_seconds = cache_config.ttl_seconds,
            max_entry_bytes = cache_config.max_entry_bytes,
            "exact response cache in Redis, shared by every instance; semantic matches stay per instance"
        );
        builder = builder.cache(std::sync::Arc::new(cache));
    } else if cache_config.enabled {
        tracing::info!(
            ttl_seconds = cache_config.ttl_seconds,
            max_entries = cache_config.max_entries,
            max_bytes = cache_config.max_bytes,
            semantic = cache_config.semantic,
            similarity_threshold = cache_config.similarity_threshold,
            "response cache in memory: exact matches, and similar prompts when `semantic` is on \
             (for all requests) or a request asks for it"
        );
        let cache = llmgw_cache::MemoryCache::new((&cache_config).into());
        builder = builder.cache(std::sync::Arc::new(cache));
    }
    let gateway = builder.build();
    if let Some(shared) = &shared {
        let metrics = shared
            .metrics()
            .context("cannot set up the shared-state metrics")?;
        gateway.state().metrics.add_collector(Box::new(metrics));
    }
    let governor = &gateway.state().governor;
    if governor.is_open() {
        tracing::warn!("gateway is open: no gateway keys are configured, every caller is let in");
    } else {
        tracing::info!(
            keys = governor.keys().len(),
            admin_api = governor.admin_enabled(),
            "gateway keys required: callers send `Authorization: Bearer <key>`"
        );
    }

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the listen address")?;
    print_banner(addr, curl_model.as_deref());

    gateway
        .serve(listener, llmgw_server::shutdown_signal())
        .await
        .context("the HTTP server failed")?;

    if let Some(writer) = writer {
        let stats = writer
            .shutdown()
            .await
            .context("the outcome log could not write every record")?;
        tracing::info!(
            outcomes = stats.outcomes_written,
            feedback = stats.feedback_written,
            files = stats.files_written,
            "outcome log flushed"
        );
    }
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Pacing of the demo's simulated models: a short wait before the first token and a
/// readable stream.
fn demo_sim_config() -> llmgw_sim::SimConfig {
    llmgw_sim::SimConfig {
        default_first_token_ms: 60,
        default_tokens_per_sec: 250.0,
        ..llmgw_sim::SimConfig::default()
    }
}

fn report_providers(specs: &[ProviderSpec]) {
    let simulated: Vec<&str> = specs
        .iter()
        .filter(|s| s.simulated)
        .map(|s| s.name.as_str())
        .collect();
    for spec in specs {
        if spec.simulated {
            tracing::warn!(
                provider = %spec.name,
                "SIMULATED: answers from `{}` come from the built-in simulator, not a real model{}",
                spec.name,
                spec.api_key_env
                    .as_deref()
                    .map(|v| format!(" (set {v} to call the real service)"))
                    .unwrap_or_default()
            );
        } else if spec.key_status == llmgw_config::KeyStatus::Missing {
            tracing::warn!(
                provider = %spec.name,
                "provider `{}` has no key: set {} to use its models",
                spec.name,
                spec.api_key_env.as_deref().unwrap_or("its api_key_env")
            );
        } else {
            tracing::info!(provider = %spec.name, base_url = %spec.base_url, "provider ready");
        }
    }
    if !simulated.is_empty() {
        tracing::warn!(
            "answers from {} are SIMULATED (demo mode): deterministic text, not real model output",
            simulated.join(", ")
        );
    }
}

/// Seed the expected answer length per model from the outcome logs already in `dir`, so
/// `model: "auto"` prices candidates on what they really answered. Logs that cannot be
/// read only cost the seed: the catalog's figures stay in use.
async fn seed_output_lengths(auto: &AutoRouting, dir: &Path) {
    let owned = dir.to_path_buf();
    let stats = tokio::task::spawn_blocking(move || {
        llmgw_outcomes::output_stats::observed_output_tokens(&owned)
    })
    .await;
    match stats {
        Ok(Ok(stats)) => {
            for (model, s) in &stats {
                auto.output_lengths().seed(model, s.mean_tokens, s.count);
            }
            if !stats.is_empty() {
                tracing::info!(
                    models = stats.len(),
                    "expected answer lengths seeded from the outcome logs"
                );
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read answer lengths from the outcome logs")
        }
        Err(e) => tracing::warn!(error = %e, "cannot read answer lengths from the outcome logs"),
    }
}

async fn load_router(dir: &Path) -> AutoRouting {
    let owned = dir.to_path_buf();
    let auto = match tokio::task::spawn_blocking(move || llmgw_server::load_router(&owned)).await {
        Ok(auto) => auto,
        Err(e) => AutoRouting::disabled(format!("loading the router failed: {e}")),
    };
    match auto.disabled_reason() {
        None => tracing::info!(router = %dir.display(), "auto routing enabled"),
        Some(reason) => tracing::warn!("auto routing disabled: {reason}"),
    }
    auto
}

/// A model for the curl example: a cheap one whose provider can be called.
fn example_model(config: &Config, specs: &[ProviderSpec]) -> Option<String> {
    let usable = |provider: &str| {
        specs.iter().any(|s| {
            s.name == provider && (s.simulated || s.key_status != llmgw_config::KeyStatus::Missing)
        })
    };
    let preferred = ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"];
    if let Some(m) = preferred
        .iter()
        .filter_map(|id| config.catalog.get(id))
        .find(|m| usable(&m.provider))
    {
        return Some(m.id.clone());
    }
    config
        .catalog
        .models()
        .iter()
        .filter(|m| usable(&m.provider))
        .min_by(|a, b| {
            (a.input_per_mtok + a.output_per_mtok)
                .partial_cmp(&(b.input_per_mtok + b.output_per_mtok))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|m| m.id.clone())
}

fn print_banner(addr: SocketAddr, model: Option<&str>) {
    println!("LLM Gateway listening on http://{addr}");
    println!("  OpenAI-compatible base URL: http://{addr}/v1");
    println!("  Dashboard: http://{addr}/dashboard");
    if let Some(model) = model {
        println!("  Try it:");
        println!(
            "    curl http://{addr}/v1/chat/completions -H 'content-type: application/json' \\\n      -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello!\"}}]}}'"
        );
    }
}
