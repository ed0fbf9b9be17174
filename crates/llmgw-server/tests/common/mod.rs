//! A governed gateway over the simulated providers, on loopback, for the HTTP tests of keys,
//! budgets, retries, fallbacks and the admin API. The config and the outcome log live in a
//! temporary folder that a test can keep to restart a gateway on it.

#![allow(dead_code)]

use std::time::Duration;

use llmgw_governance::KeyHash;
use llmgw_server::Gateway;
use llmgw_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

pub const TEAM_KEY: &str = "sk-llmgw-team-key-for-tests-0001";
pub const SLOW_KEY: &str = "sk-llmgw-limited-key-for-tests-02";
pub const THRIFTY_KEY: &str = "sk-llmgw-thrifty-key-for-tests-03";
pub const ADMIN_KEY: &str = "sk-llmgw-admin-key-for-tests-0004";
pub const POOL_KEY: &str = "sk-llmgw-pool-key-for-tests-000005";
pub const PROVIDER_KEY_ENV: &str = "LLMGW_GOVERNANCE_TEST_PROVIDER_KEY";
/// The key variable of provider `nokey`: never set, so its models cannot be called.
pub const MISSING_KEY_ENV: &str = "LLMGW_GOVERNANCE_TEST_KEY_NEVER_SET";

pub const CATALOG: &str = r#"
[[model]]
id = "cheap"
provider = "simoa"
upstream = "cheap-up"
input_per_mtok = 100.0
output_per_mtok = 200.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "flaky"
provider = "simoa"
upstream = "flaky-up"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "backup"
provider = "simant"
upstream = "backup-up"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "pricey"
provider = "simoa"
input_per_mtok = 1000.0
output_per_mtok = 1000.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "dark"
provider = "nokey"
upstream = "dark-up"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "darker"
provider = "nokey"
upstream = "darker-up"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "lonely"
provider = "nokey"
upstream = "lonely-up"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 8000
max_output_tokens = 100
"#;

pub struct Gw {
    pub base: String,
    pub sim: SimServer,
    pub gateway: Gateway,
    pub client: reqwest::Client,
    serving: llmgw_server::Serving,
    pub log: llmgw_outcomes::OutcomeLog,
    writer: llmgw_outcomes::WriterHandle,
    /// The config, the outcome log (`log/`) and the admin keys file (`log/admin-keys.json`).
    pub dir: tempfile::TempDir,
}

pub fn keys_toml() -> String {
    format!(
        r#"
[[keys]]
id = "team"
hash = "{team}"
models = ["cheap", "flaky", "backup"]

[[keys]]
id = "slow"
hash = "{slow}"
requests_per_minute = 2

[[keys]]
id = "thrifty"
hash = "{thrifty}"
daily_budget_usd = 0.008

[[keys]]
id = "pool"
hash = "{pool}"
daily_budget_usd = 0.0004

[admin]
key_hash = "{admin}"
"#,
        team = KeyHash::of(TEAM_KEY),
        slow = KeyHash::of(SLOW_KEY),
        thrifty = KeyHash::of(THRIFTY_KEY),
        pool = KeyHash::of(POOL_KEY),
        admin = KeyHash::of(ADMIN_KEY),
    )
}

pub async fn start(extra: &str) -> Gw {
    start_in(tempfile::tempdir().unwrap(), extra).await
}

/// A gateway on the config folder `dir` (a new one, or one a stopped gateway left).
pub async fn start_in(dir: tempfile::TempDir, extra: &str) -> Gw {
    std::env::set_var(PROVIDER_KEY_ENV, "sim-provider-key-never-shown");
    std::env::remove_var(MISSING_KEY_ENV);
    let sim = SimServer::start(SimConfig::default()).await.unwrap();
    std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
    let config = format!(
        r#"
catalog = "catalog.toml"

[server]
first_token_timeout_secs = 2
request_timeout_secs = 5
log_dir = "log"

[providers.simoa]
kind = "openai"
base_url = "{openai}"
api_key_env = "{env}"

[providers.simant]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "{env}"

[providers.nokey]
kind = "openai"
base_url = "{openai}"
api_key_env = "{missing}"

[reliability]
max_attempts = 3
base_delay_ms = 5
max_delay_ms = 20
breaker_failures = 3
breaker_cool_down_secs = 0.3

[reliability.fallbacks]
flaky = ["backup"]
dark = ["backup"]
darker = ["lonely"]
{extra}
"#,
        openai = sim.openai_base_url(),
        anthropic = sim.anthropic_base_url(),
        env = PROVIDER_KEY_ENV,
        missing = MISSING_KEY_ENV,
    );
    let path = dir.path().join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let specs = llmgw_server::resolve_providers(&config, None).unwrap();
    let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
    let mut log_cfg = llmgw_outcomes::LogConfig::new(dir.path().join("log"));
    log_cfg.flush_interval = Duration::from_secs(600);
    let (log, writer) = llmgw_outcomes::OutcomeLog::start(log_cfg).unwrap();
    let gateway = Gateway::builder(config, providers)
        .outcome_log(log.clone())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = gateway.clone().spawn(listener).unwrap();
    let base = serving.base_url();
    Gw {
        base,
        sim,
        gateway,
        client: reqwest::Client::new(),
        serving,
        log,
        writer,
        dir,
    }
}

pub struct Seen {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
    pub fn error(&self) -> Value {
        let err = self.json()["error"].clone();
        for f in ["message", "type"] {
            assert!(err[f].is_string(), "{}", self.body);
        }
        assert!(
            err.get("param").is_some() && err.get("code").is_some(),
            "{}",
            self.body
        );
        err
    }
}

impl Gw {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Seen {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        Seen {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn chat(&self, key: Option<&str>, model: &str, text: &str) -> Seen {
        let body = json!({"model": model, "messages": [{"role": "user", "content": text}]});
        self.send(
            reqwest::Method::POST,
            "/v1/chat/completions",
            key,
            Some(body),
        )
        .await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Seen {
        self.send(reqwest::Method::GET, path, key, None).await
    }

    pub async fn spent_today(&self, id: &str) -> f64 {
        self.gateway
            .state()
            .governor
            .usage(id)
            .await
            .unwrap()
            .spent_today_usd
    }

    /// Stops the gateway (its records written) and hands back its folder, to restart on it.
    pub async fn stop(self) -> tempfile::TempDir {
        self.serving
            .shutdown(Duration::from_secs(10))
            .await
            .unwrap();
        self.writer.shutdown().await.unwrap();
        self.sim.shutdown().await;
        self.dir
    }

    /// `POST /admin/keys` with the admin key: the new key.
    pub async fn issue_key(&self, spec: Value) -> String {
        let seen = self
            .send(
                reqwest::Method::POST,
                "/admin/keys",
                Some(ADMIN_KEY),
                Some(spec),
            )
            .await;
        assert_eq!(seen.status, 201, "{}", seen.body);
        seen.json()["key"].as_str().unwrap().to_string()
    }

    /// `DELETE /admin/keys/{id}` with the admin key: its status.
    pub async fn revoke_key(&self, id: &str) -> u16 {
        self.send(
            reqwest::Method::DELETE,
            &format!("/admin/keys/{id}"),
            Some(ADMIN_KEY),
            None,
        )
        .await
        .status
    }

    /// The outcome record of the request that got `seen`.
    pub async fn record(&self, seen: &Seen) -> llmgw_outcomes::OutcomeRecord {
        let id = seen.header("x-llmgw-request-id").unwrap().to_string();
        for _ in 0..200 {
            let snap = self.log.snapshot();
            let found: Vec<_> = snap
                .outcomes
                .iter()
                .filter(|r| r.request_id == id)
                .collect();
            if let Some(r) = found.first() {
                assert_eq!(found.len(), 1, "one record per request");
                return (***r).clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no record for {id}")
    }
}

pub fn cost_of(usage: &Value, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
    let p = usage["prompt_tokens"].as_f64().unwrap();
    let c = usage["completion_tokens"].as_f64().unwrap();
    (p * input_per_mtok + c * output_per_mtok) / 1e6
}
