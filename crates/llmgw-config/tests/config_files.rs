//! Loading good and bad config files: every error names the file, the key and what was expected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use llmgw_config::{Config, ConfigError, Objective, ProviderKind, SimulateMode};

const CATALOG: &str = r#"
[[model]]
id = "gpt-4o"
provider = "openai"
input_per_mtok = 2.5
output_per_mtok = 10.0
cached_input_per_mtok = 1.25
context_window = 128000

[[model]]
id = "claude-sonnet-4-5"
provider = "anthropic"
upstream = "claude-sonnet-4-5-20250929"
input_per_mtok = 3.0
output_per_mtok = 15.0
context_window = 200000
quality_as = "gpt-4-1106-preview"
"#;

const CONFIG: &str = r#"
catalog = "catalog.toml"

[server]
listen = "0.0.0.0:9000"
max_body_bytes = 65536
request_timeout_secs = 30
log_dir = "logs"

[providers.openai]
kind = "openai"
api_key_env = "OPENAI_API_KEY"
headers = { "OpenAI-Organization" = "org-1" }

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:9999/"
api_key_env = "ANTHROPIC_API_KEY"
simulate = "when_no_key"

[routing]
default_policy = "cheap"

[routing.policies.cheap]
lambda = 0.05
max_cost_usd = 0.01
exclude_providers = ["anthropic"]

[routing.policies.good]
min_quality = 0.9
models = ["gpt-4o", "claude-sonnet-4-5"]
"#;

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(config: &str, catalog: &str) -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("llmgw.toml"), config).unwrap();
        std::fs::write(dir.path().join("catalog.toml"), catalog).unwrap();
        Files { dir }
    }
    fn config_path(&self) -> PathBuf {
        self.dir.path().join("llmgw.toml")
    }
    fn load(&self) -> Result<Config, ConfigError> {
        Config::load(&self.config_path())
    }
}

/// Load `config` (with the good catalog) and return the error's text, asserting it fails.
fn config_error(config: &str) -> (ConfigError, String) {
    let files = Files::new(config, CATALOG);
    let err = files.load().expect_err("config should be refused");
    let text = err.to_string();
    assert!(
        text.contains("llmgw.toml"),
        "message must name the file: {text}"
    );
    (err, text)
}

fn catalog_error(catalog: &str) -> String {
    let files = Files::new(CONFIG, catalog);
    let err = files.load().expect_err("catalog should be refused");
    let text = err.to_string();
    assert!(
        text.contains("catalog.toml"),
        "message must name the catalog file: {text}"
    );
    text
}

#[test]
fn good_config_loads_with_resolved_paths_and_policies() {
    let files = Files::new(CONFIG, CATALOG);
    let cfg = files.load().unwrap();
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(cfg.server.max_body_bytes, 65536);
    assert_eq!(cfg.server.request_timeout().as_secs(), 30);
    assert_eq!(cfg.server.connect_timeout().as_secs(), 10, "default");
    assert_eq!(
        cfg.server.log_dir.as_deref(),
        Some(files.dir.path().join("logs").as_path())
    );
    assert_eq!(
        cfg.routing.router_dir,
        files.dir.path().join("models/router")
    );

    let openai = &cfg.providers["openai"];
    assert_eq!(openai.kind, ProviderKind::OpenAi);
    assert_eq!(openai.base_url(), "https://api.openai.com/v1");
    assert_eq!(openai.headers["OpenAI-Organization"], "org-1");
    let anthropic = &cfg.providers["anthropic"];
    assert_eq!(
        anthropic.base_url(),
        "http://127.0.0.1:9999",
        "trailing slash trimmed"
    );
    assert_eq!(anthropic.simulate, SimulateMode::WhenNoKey);

    let sonnet = cfg.catalog.get("claude-sonnet-4-5").unwrap();
    assert_eq!(sonnet.upstream(), "claude-sonnet-4-5-20250929");
    assert_eq!(
        sonnet.cached_input_price(),
        3.0,
        "defaults to the input price"
    );
    assert_eq!(sonnet.quality_profile(), "gpt-4-1106-preview");
    let gpt = cfg.catalog.get("gpt-4o").unwrap();
    assert_eq!(gpt.upstream(), "gpt-4o");
    // 1000 prompt tokens of which 400 cached, 100 completion tokens.
    let cost = gpt.cost_usd(1000, 400, 100);
    let expected = (600.0 * 2.5 + 400.0 * 1.25 + 100.0 * 10.0) / 1e6;
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    assert_eq!(cfg.provider_of("gpt-4o").map(|(n, _)| n), Some("openai"));
    assert!(cfg.provider_of("nope").is_none());

    assert_eq!(cfg.routing.default_policy, "cheap");
    assert_eq!(
        cfg.routing.policy("cheap").unwrap().objective(),
        Objective::WillingnessToPay(0.05)
    );
    assert_eq!(
        cfg.routing.policy("good").unwrap().objective(),
        Objective::MinQuality(0.9)
    );
}

#[test]
fn minimal_config_gets_defaults_and_builtin_policy() {
    let files = Files::new(
        "catalog = \"catalog.toml\"\n[providers.openai]\nkind = \"openai\"\n[providers.anthropic]\nkind = \"anthropic\"\n",
        CATALOG,
    );
    let cfg = files.load().unwrap();
    assert_eq!(cfg.server.listen.to_string(), llmgw_config::DEFAULT_LISTEN);
    assert_eq!(
        cfg.server.max_body_bytes,
        llmgw_config::DEFAULT_MAX_BODY_BYTES
    );
    assert_eq!(cfg.routing.default_policy, "default");
    assert_eq!(
        cfg.routing.policy("default").unwrap().objective(),
        Objective::MinQuality(llmgw_config::BUILTIN_MIN_QUALITY)
    );
    assert_eq!(
        cfg.providers["anthropic"].base_url(),
        "https://api.anthropic.com"
    );
    assert!(cfg.server.log_dir.is_none());
}

#[test]
fn unknown_top_level_key_is_refused() {
    let (err, text) = config_error(&format!("{CONFIG}\nfrobnicate = true\n"));
    assert!(text.contains("unknown field `frobnicate`"), "{text}");
    assert!(text.contains("expected one of"), "{text}");
    assert!(
        matches!(
            err,
            ConfigError::Parse {
                location: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_key_in_provider_names_the_dotted_key() {
    let config = CONFIG.replace(
        "api_key_env = \"OPENAI_API_KEY\"",
        "api_key_env = \"OPENAI_API_KEY\"\nbaseurl = \"http://x\"",
    );
    let (err, text) = config_error(&config);
    assert_eq!(err.key(), "providers.openai.baseurl", "{text}");
    assert!(text.contains("unknown field `baseurl`"), "{text}");
    assert!(
        text.contains("`base_url`"),
        "lists the expected keys: {text}"
    );
}

#[test]
fn unknown_section_is_refused() {
    let (_, text) = config_error(&format!("{CONFIG}\n[cahce]\nenabled = true\n"));
    assert!(text.contains("unknown field `cahce`"), "{text}");
}

#[test]
fn bad_provider_kind_lists_the_kinds() {
    let config = CONFIG.replace("kind = \"anthropic\"", "kind = \"claude\"");
    let (err, text) = config_error(&config);
    assert_eq!(err.key(), "providers.anthropic.kind", "{text}");
    assert!(text.contains("`openai`, `anthropic`"), "{text}");
    // line:column of the bad value
    let line = config
        .lines()
        .position(|l| l.contains("\"claude\""))
        .unwrap()
        + 1;
    assert!(text.contains(&format!("llmgw.toml:{line}:")), "{text}");
}

#[test]
fn wrong_type_says_what_was_expected() {
    let config = CONFIG.replace("max_body_bytes = 65536", "max_body_bytes = \"big\"");
    let (err, text) = config_error(&config);
    assert_eq!(err.key(), "server.max_body_bytes", "{text}");
    assert!(text.contains("invalid type"), "{text}");
}

#[test]
fn bad_listen_address_is_refused() {
    let config = CONFIG.replace("0.0.0.0:9000", "localhost");
    let (err, text) = config_error(&config);
    assert_eq!(err.key(), "server.listen", "{text}");
}

#[test]
fn out_of_range_values_are_refused() {
    let (err, text) =
        config_error(&CONFIG.replace("request_timeout_secs = 30", "request_timeout_secs = 0"));
    assert_eq!(err.key(), "server.request_timeout_secs");
    assert!(text.contains("greater than 0"), "{text}");

    let (err, text) = config_error(&CONFIG.replace("min_quality = 0.9", "min_quality = 1.5"));
    assert_eq!(err.key(), "routing.policies.good.min_quality");
    assert!(text.contains("between 0 and 1"), "{text}");

    let (err, _) = config_error(&CONFIG.replace("lambda = 0.05", "lambda = -1.0"));
    assert_eq!(err.key(), "routing.policies.cheap.lambda");

    let (err, text) =
        config_error(&CONFIG.replace("lambda = 0.05", "lambda = 0.05\nmin_quality = 0.5"));
    assert_eq!(err.key(), "routing.policies.cheap");
    assert!(text.contains("exactly one of"), "{text}");
}

#[test]
fn bad_base_url_is_refused() {
    let (err, text) = config_error(&CONFIG.replace("http://127.0.0.1:9999/", "127.0.0.1:9999"));
    assert_eq!(err.key(), "providers.anthropic.base_url");
    assert!(text.contains("http:// or https://"), "{text}");
}

#[test]
fn a_key_pasted_into_api_key_env_is_refused_and_not_echoed() {
    let secret = "sk-proj-SECRETSECRET1234567890";
    let (err, text) = config_error(&CONFIG.replace("\"OPENAI_API_KEY\"", &format!("\"{secret}\"")));
    assert_eq!(err.key(), "providers.openai.api_key_env");
    assert!(
        !text.contains("SECRETSECRET"),
        "the key must not be echoed: {text}"
    );
    assert!(text.contains("environment variable"), "{text}");
}

#[test]
fn an_api_key_field_is_refused_without_echoing_it() {
    let config = CONFIG.replace(
        "api_key_env = \"OPENAI_API_KEY\"",
        "api_key = \"sk-live-SECRETSECRET\"",
    );
    let (err, text) = config_error(&config);
    assert_eq!(err.key(), "providers.openai.api_key");
    assert!(!text.contains("SECRETSECRET"), "{text}");
}

#[test]
fn routing_references_are_checked() {
    let (err, text) =
        config_error(&CONFIG.replace("default_policy = \"cheap\"", "default_policy = \"fast\""));
    assert_eq!(err.key(), "routing.default_policy");
    assert!(
        text.contains("\"fast\"") && text.contains("cheap, good"),
        "{text}"
    );

    let (err, text) = config_error(&CONFIG.replace("\"gpt-4o\", \"claude", "\"gpt-5\", \"claude"));
    assert_eq!(err.key(), "routing.policies.good.models[0]");
    assert!(text.contains("gpt-5"), "{text}");

    let (err, _) = config_error(&CONFIG.replace(
        "exclude_providers = [\"anthropic\"]",
        "exclude_providers = [\"azure\"]",
    ));
    assert_eq!(err.key(), "routing.policies.cheap.exclude_providers[0]");
}

#[test]
fn missing_catalog_key_and_missing_catalog_file() {
    let (err, text) = config_error(&CONFIG.replace("catalog = \"catalog.toml\"", ""));
    assert!(text.contains("missing field `catalog`"), "{text}");
    assert!(matches!(err, ConfigError::Parse { .. }));

    let files = Files::new(&CONFIG.replace("catalog.toml", "nowhere.toml"), CATALOG);
    let err = files.load().unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("nowhere.toml"), "{err}");
}

#[test]
fn missing_config_file_names_it() {
    let err = Config::load(Path::new("/nonexistent/llmgw.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/llmgw.toml"), "{err}");
}

#[test]
fn syntax_error_gives_line_and_column() {
    let (err, text) = config_error("catalog = \"catalog.toml\"\n[server\nlisten = 1\n");
    assert!(
        matches!(err, ConfigError::Parse { location: Some(l), .. } if l.line == 2),
        "{err:?}"
    );
    assert!(text.contains("not valid TOML"), "{text}");
}

#[test]
fn catalog_model_with_undefined_provider_is_refused() {
    let text =
        catalog_error(&CATALOG.replace("provider = \"anthropic\"", "provider = \"mistral\""));
    assert!(text.contains("model[1].provider"), "{text}");
    assert!(text.contains("\"mistral\""), "{text}");
    assert!(text.contains("defined: anthropic, openai"), "{text}");
}

#[test]
fn catalog_values_are_validated() {
    let text = catalog_error(&CATALOG.replace("input_per_mtok = 2.5", "input_per_mtok = -2.5"));
    assert!(
        text.contains("model[0].input_per_mtok") && text.contains(">= 0"),
        "{text}"
    );

    let text = catalog_error(&CATALOG.replace("context_window = 128000", "context_window = 0"));
    assert!(
        text.contains("model[0].context_window") && text.contains("> 0"),
        "{text}"
    );

    let text = catalog_error(&CATALOG.replace("id = \"claude-sonnet-4-5\"", "id = \"gpt-4o\""));
    assert!(
        text.contains("model[1].id") && text.contains("unique"),
        "{text}"
    );

    let text = catalog_error(&CATALOG.replace(
        "context_window = 128000",
        "context_window = 128000\nprice = 3",
    ));
    assert!(
        text.contains("model[0].price") && text.contains("unknown field"),
        "{text}"
    );

    let text = catalog_error(&CATALOG.replace("id = \"gpt-4o\"", "id = \"auto\""));
    assert!(text.contains("reserved"), "{text}");

    let text = catalog_error(&CATALOG.replace("context_window = 128000", "context_window = -5"));
    assert!(text.contains("model[0].context_window"), "{text}");

    let text = catalog_error("");
    assert!(text.contains("at least one [[model]]"), "{text}");
}

#[test]
fn embedded_demo_config_and_shipped_catalog_are_valid() {
    let models_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let demo = Config::demo(&models_dir).unwrap();
    assert_eq!(demo.routing.router_dir, models_dir.join("router"));
    for kind in [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
    ] {
        let n = demo
            .catalog
            .models()
            .iter()
            .filter(|m| demo.providers[&m.provider].kind == kind)
            .count();
        assert!(n >= 2, "demo catalog offers models of {kind}");
    }
    assert!(demo
        .providers
        .values()
        .all(|p| p.simulate == SimulateMode::WhenNoKey && p.api_key_env.is_some()));

    // The same files load from disk too.
    let from_disk = Config::load(&models_dir.join("demo.toml")).unwrap();
    assert_eq!(
        from_disk.catalog.models().len(),
        demo.catalog.models().len()
    );

    // Router profiles with the papers' prices.
    let price = |id: &str| {
        let m = demo
            .catalog
            .get(id)
            .unwrap_or_else(|| panic!("{id} in catalog"));
        (m.input_per_mtok, m.output_per_mtok)
    };
    assert_eq!(price("gpt-4-1106-preview"), (10.0, 30.0));
    assert_eq!(price("mixtral-8x7b-instruct-v0.1"), (0.24, 0.24));
    assert_eq!(price("gemma-2-9b-it"), (0.10, 0.10));
    for id in [
        "llama3-chatqa-1.5-70b",
        "llama-3.3-nemotron-super-49b-v1",
        "llama-3.1-nemotron-51b-instruct",
    ] {
        assert_eq!(price(id), (0.90, 0.90), "{id}");
    }
    for id in [
        "qwen2.5-7b-instruct",
        "codegemma-7b",
        "llama-3.1-8b-instruct",
        "llama3-chatqa-1.5-8b",
        "mistral-7b-instruct-v0.3",
    ] {
        assert_eq!(price(id), (0.20, 0.20), "{id}");
    }
    // Every borrowed profile is one of the router profiles.
    for m in demo.catalog.models() {
        if let Some(q) = &m.quality_as {
            let profile = demo.catalog.get(q).unwrap();
            assert!(
                profile.quality_as.is_none(),
                "{} borrows a profile that itself borrows",
                m.id
            );
        }
    }
}

#[test]
fn cache_section_is_optional_read_and_checked() {
    let cfg = Files::new(CONFIG, CATALOG).load().unwrap();
    assert!(!cfg.cache.enabled, "the cache is off unless configured");
    assert_eq!(cfg.cache.ttl_seconds, llmgw_config::DEFAULT_CACHE_TTL_SECS);

    let config = format!(
        "{CONFIG}\n[cache]\nenabled = true\nttl_seconds = 60\nmax_entries = 5\nmax_bytes = 1000\n"
    );
    let cfg = Files::new(&config, CATALOG).load().unwrap();
    assert!(cfg.cache.enabled);
    assert_eq!(cfg.cache.ttl().as_secs(), 60);
    assert_eq!((cfg.cache.max_entries, cfg.cache.max_bytes), (5, 1000));

    let (_, text) = config_error(&format!("{CONFIG}\n[cache]\nenabled = true\nttl = 5\n"));
    assert!(text.contains("unknown field `ttl`"), "{text}");
    let (err, text) = config_error(&format!(
        "{CONFIG}\n[cache]\nenabled = true\nmax_bytes = 0\n"
    ));
    assert_eq!(err.key(), "cache.max_bytes", "{text}");
}

#[test]
fn semantic_cache_settings_are_read_and_the_threshold_checked() {
    let cfg = Files::new(CONFIG, CATALOG).load().unwrap();
    assert!(!cfg.cache.semantic, "semantic matching is opt-in");
    assert_eq!(
        cfg.cache.similarity_threshold,
        llmgw_config::DEFAULT_SIMILARITY_THRESHOLD
    );
    let config = format!(
        "{CONFIG}\n[cache]\nenabled = true\nsemantic = true\nsimilarity_threshold = 0.97\n"
    );
    let cfg = Files::new(&config, CATALOG).load().unwrap();
    assert!(cfg.cache.semantic);
    assert_eq!(cfg.cache.similarity_threshold, 0.97);
    for bad in ["0", "0.0", "-0.5", "1.01", "nan"] {
        let (err, text) = config_error(&format!(
            "{CONFIG}\n[cache]\nenabled = true\nsemantic = true\nsimilarity_threshold = {bad}\n"
        ));
        assert_eq!(err.key(), "cache.similarity_threshold", "{bad}: {text}");
    }
    let cfg = Files::new(
        &format!("{CONFIG}\n[cache]\nenabled = true\nsimilarity_threshold = 1.0\n"),
        CATALOG,
    )
    .load()
    .unwrap();
    assert_eq!(cfg.cache.similarity_threshold, 1.0);
}
