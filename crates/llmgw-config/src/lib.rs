//! Configuration of LLM Gateway: the TOML config file and the model catalog.
//!
//! ```toml
//! catalog = "catalog.toml"          # relative to this file
//!
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [providers.openai]
//! kind = "openai"
//! api_key_env = "OPENAI_API_KEY"
//! ```
//!
//! Every table rejects unknown keys; every error names the file, the key and what was
//! expected. Relative paths are resolved against the folder of the file that holds them
//! (for the embedded demo config: the `models/` folder it stands for).

mod analytics;
mod cache;
mod catalog;
mod error;
mod governance;
mod provider;
mod routing;
mod server;
mod shared_state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use analytics::AnalyticsConfig;
pub use cache::{
    CacheConfig, DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_MAX_ENTRY_BYTES,
    DEFAULT_CACHE_TTL_SECS, DEFAULT_SIMILARITY_THRESHOLD,
};
pub use catalog::{Catalog, CatalogModel};
pub use error::{ConfigError, Location};
pub use governance::{AdminConfig, ReliabilityConfig, DEFAULT_KEYS_FILE_NAME};
pub use llmgw_governance::KeySpec;
pub use provider::{KeyStatus, ProviderConfig, ProviderKind, SimulateMode};
pub use routing::{
    Objective, PolicyConfig, RoutingConfig, BUILTIN_MIN_QUALITY, BUILTIN_POLICY, DEFAULT_ROUTER_DIR,
};
pub use server::{ServerConfig, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES};
pub use shared_state::{
    CounterFailure, SharedStateConfig, StateBackend, DEFAULT_REDIS_PREFIX,
    DEFAULT_REDIS_TIMEOUT_MS, DEFAULT_REDIS_URL_ENV,
};

/// Text of the embedded demo config (`models/demo.toml`).
pub const DEMO_CONFIG_TOML: &str = include_str!("../../../models/demo.toml");
/// Text of the embedded catalog (`models/catalog.toml`).
pub const CATALOG_TOML: &str = include_str!("../../../models/catalog.toml");

/// The config file as written. New top-level sections are added here as optional fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    catalog: PathBuf,
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    routing: RoutingConfig,
    #[serde(default)]
    cache: CacheConfig,
    #[serde(default)]
    keys: Vec<KeySpec>,
    #[serde(default)]
    admin: AdminConfig,
    #[serde(default)]
    reliability: ReliabilityConfig,
    #[serde(default)]
    analytics: AnalyticsConfig,
    #[serde(default)]
    shared_state: SharedStateConfig,
}

/// Where a config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file on disk.
    File(PathBuf),
    /// The demo config built into the binary.
    EmbeddedDemo,
}

/// A loaded and validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from.
    pub source: ConfigSource,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[providers.<name>]`, by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The model catalog named by `catalog`.
    pub catalog: Catalog,
    /// `[routing]` (the built-in `default` policy is added when none is configured).
    pub routing: RoutingConfig,
    /// `[cache]` (disabled unless configured).
    pub cache: CacheConfig,
    /// `[[keys]]`: gateway keys (none: the gateway is open).
    pub keys: Vec<KeySpec>,
    /// `[admin]`: the admin API's key.
    pub admin: AdminConfig,
    /// `[reliability]`: retries, fallbacks, circuit breakers.
    pub reliability: ReliabilityConfig,
    /// `[analytics]`: the savings reference model.
    pub analytics: AnalyticsConfig,
    /// `[shared_state]`: the Redis server shared by several instances (unused by default).
    pub shared_state: SharedStateConfig,
}

impl Config {
    /// Load and validate the config file at `path` and the catalog it names.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file: ConfigFile = error::parse_toml(&text, path)?;
        if file.catalog.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                path,
                "catalog",
                "expected the path of a catalog file",
            ));
        }
        let catalog = Catalog::load(&base_dir.join(&file.catalog))?;
        Config::assemble(
            file,
            ConfigSource::File(path.to_path_buf()),
            path,
            &base_dir,
            catalog,
        )
    }

    /// The embedded demo config with the embedded catalog. The demo file lives in
    /// `models/`, so pass the folder it stands for (normally `./models`): its relative
    /// paths (the router folder) are resolved against `base_dir`.
    pub fn demo(base_dir: &Path) -> Result<Config, ConfigError> {
        let path = Path::new("<embedded demo config: models/demo.toml>");
        let file: ConfigFile = error::parse_toml(DEMO_CONFIG_TOML, path)?;
        let catalog = Catalog::parse(
            CATALOG_TOML,
            Path::new("<embedded catalog: models/catalog.toml>"),
        )?;
        Config::assemble(file, ConfigSource::EmbeddedDemo, path, base_dir, catalog)
    }

    fn assemble(
        file: ConfigFile,
        source: ConfigSource,
        path: &Path,
        base_dir: &Path,
        catalog: Catalog,
    ) -> Result<Config, ConfigError> {
        let ConfigFile {
            server: mut server_cfg,
            mut providers,
            mut routing,
            cache,
            keys,
            mut admin,
            reliability,
            analytics,
            shared_state,
            ..
        } = file;
        server_cfg.validate(path, base_dir)?;
        cache.validate(path)?;
        if providers.is_empty() {
            return Err(ConfigError::invalid(
                path,
                "providers",
                "expected at least one [providers.<name>] table",
            ));
        }
        for (name, provider) in providers.iter_mut() {
            provider.validate(path, name)?;
        }
        catalog.check_providers(&providers, path)?;
        routing.validate(path, base_dir, &providers, &catalog)?;
        governance::validate_keys(&keys, path)?;
        admin.validate(path, base_dir)?;
        reliability.validate(path, &catalog)?;
        analytics.validate(path, &catalog)?;
        let cache_in_redis = cache.enabled && cache.backend == StateBackend::Redis;
        shared_state.validate(
            path,
            cache_in_redis || shared_state.counters == StateBackend::Redis,
        )?;
        Ok(Config {
            source,
            server: server_cfg,
            providers,
            catalog,
            routing,
            cache,
            keys,
            admin,
            reliability,
            analytics,
            shared_state,
        })
    }

    /// The path to show in messages: the file, or a description of the embedded demo.
    pub fn describe_source(&self) -> String {
        match &self.source {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::EmbeddedDemo => "embedded demo config".to_string(),
        }
    }

    /// The provider serving catalog model `model_id`.
    pub fn provider_of(&self, model_id: &str) -> Option<(&str, &ProviderConfig)> {
        let model = self.catalog.get(model_id)?;
        self.providers
            .get_key_value(&model.provider)
            .map(|(k, v)| (k.as_str(), v))
    }
}
