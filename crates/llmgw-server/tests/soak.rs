//! Load and faults: two rounds of hundreds of concurrent streaming and plain requests from
//! several gateway keys with small daily budgets, against simulated providers that inject
//! errors (429, 500, 503, HTML 502), delays, streams cut before and after their first token,
//! first tokens slower than the first-token timeout, and clients that hang up mid-answer.
//!
//! Checks that every request ends (client side within a deadline, server side with its record),
//! that every request gets exactly one outcome record in the Parquet log, that no key's spend
//! passes its daily budget by more than one request's worst-case cost (from the records and
//! from the governor's counters), and that memory stays bounded: no reservation, upstream call
//! or background task is left behind, the breaker map stays as small as the catalog, and the
//! process's resident memory after a second round of the same load is within a fixed bound of
//! what it was after the first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use futures::future::BoxFuture;
use llmgw_governance::{Governor, KeyHash, KeyStore, ManualClock, MemoryStore};
use llmgw_server::{ChunkStream, Gateway, ProviderRegistry, Upstream, UpstreamError};
use llmgw_sim::{Fault, SimConfig, SimModel, SimServer};
use llmgw_types::{ChatCompletionRequest, ChatCompletionResponse};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value};

const PROVIDER_KEY_ENV: &str = "LLMGW_SOAK_TEST_PROVIDER_KEY";
const UNKNOWN_KEY: &str = "sk-llmgw-soak-unknown-key-000000";
/// Requests per round; every key sees every kind of request.
const REQUESTS_PER_ROUND: usize = 512;
/// The longest any single request may take, client side (the gateway's own budget is 6 s).
const CLIENT_DEADLINE: Duration = Duration::from_secs(45);
/// Tries of a request refused while the rest of its key's budget is held by others.
const HELD_BUDGET_TRIES: usize = 12;
/// How much resident memory a second round of the same load may add.
const RSS_GROWTH_BOUND_KIB: u64 = 32 * 1024;

/// Gateway keys: (id, key, daily budget in USD, requests per minute).
const KEYS: [(&str, &str, f64, Option<u32>); 4] = [
    ("soak-a", "sk-llmgw-soak-key-a-000000000001", 0.03, None),
    ("soak-b", "sk-llmgw-soak-key-b-000000000002", 0.04, None),
    ("soak-c", "sk-llmgw-soak-key-c-000000000003", 0.05, None),
    ("soak-d", "sk-llmgw-soak-key-d-000000000004", 0.06, Some(90)),
];

const CATALOG: &str = r#"
[[model]]
id = "cheap"
provider = "simoa"
upstream = "cheap-up"
input_per_mtok = 20.0
output_per_mtok = 40.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "backup"
provider = "simant"
upstream = "backup-up"
input_per_mtok = 30.0
output_per_mtok = 60.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "flaky"
provider = "simoa"
upstream = "flaky-up"
input_per_mtok = 20.0
output_per_mtok = 40.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "sloth"
provider = "simoa"
upstream = "sloth-up"
input_per_mtok = 20.0
output_per_mtok = 40.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "broken"
provider = "simoa"
upstream = "broken-up"
input_per_mtok = 20.0
output_per_mtok = 40.0
context_window = 8000
max_output_tokens = 100

[[model]]
id = "talker"
provider = "simgem"
upstream = "talker-up"
input_per_mtok = 10.0
output_per_mtok = 10.0
context_window = 8000
max_output_tokens = 500

[[model]]
id = "hold"
provider = "hold"
upstream = "hold-up"
input_per_mtok = 20.0
output_per_mtok = 40.0
context_window = 8000
max_output_tokens = 100
"#;

/// The longest prompt any request of this test sends, in tokens (the prompts are under 100
/// characters, about 30 tokens; the test checks the records against this bound).
const MAX_PROMPT_TOKENS: u64 = 64;

/// An upstream that never answers: it notes that the request arrived (by the marker in its
/// text) and waits until the gateway drops the call. Counts the calls still open.
#[derive(Clone, Default)]
struct HoldUpstream {
    seen: Arc<Mutex<HashSet<String>>>,
    open_calls: Arc<AtomicUsize>,
}

struct OpenCall(Arc<AtomicUsize>);

impl OpenCall {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        OpenCall(count.clone())
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HoldUpstream {
    fn hold<T: Send + 'static>(
        &self,
        request: &ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<T, UpstreamError>> {
        let text = request
            .messages
            .last()
            .map(|m| m.text())
            .unwrap_or_default();
        let marker = marker_in(&text).unwrap_or_default();
        let seen = self.seen.clone();
        let open = self.open_calls.clone();
        Box::pin(async move {
            let _open = OpenCall::new(&open);
            seen.lock().unwrap().insert(marker);
            std::future::pending::<Result<T, UpstreamError>>().await
        })
    }

    fn has_seen(&self, marker: &str) -> bool {
        self.seen.lock().unwrap().contains(marker)
    }
}

impl Upstream for HoldUpstream {
    fn complete(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChatCompletionResponse, UpstreamError>> {
        self.hold(&request)
    }

    fn stream(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChunkStream, UpstreamError>> {
        self.hold(&request)
    }
}

fn marker_in(text: &str) -> Option<String> {
    let start = text.find("hold#")?;
    let rest = &text[start..];
    Some(rest.split_whitespace().next()?.to_string())
}

struct Soak {
    base: String,
    sim: SimServer,
    gateway: Gateway,
    hold: HoldUpstream,
    clock: Arc<ManualClock>,
    counters: Arc<MemoryStore>,
    client: reqwest::Client,
    serving: llmgw_server::Serving,
    log: llmgw_outcomes::OutcomeLog,
    writer: Option<llmgw_outcomes::WriterHandle>,
    dir: tempfile::TempDir,
    config: llmgw_config::Config,
}

fn keys_toml() -> String {
    let mut out = String::new();
    for (id, key, budget, rpm) in KEYS {
        out.push_str(&format!(
            "\n[[keys]]\nid = \"{id}\"\nhash = \"{}\"\ndaily_budget_usd = {budget}\n",
            KeyHash::of(key)
        ));
        if let Some(rpm) = rpm {
            out.push_str(&format!("requests_per_minute = {rpm}\n"));
        }
    }
    out
}

async fn start() -> Soak {
    std::env::set_var(PROVIDER_KEY_ENV, "sim-provider-key-for-the-soak-test");
    let sim_cfg = SimConfig::default()
        .with_model(SimModel::new("talker-up", 50, 100.0))
        .with_model(SimModel::new("sloth-up", 2_500, 0.0));
    let sim = SimServer::start(sim_cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
    let config = format!(
        r#"
catalog = "catalog.toml"

[server]
connect_timeout_secs = 2
first_token_timeout_secs = 1
request_timeout_secs = 6
shutdown_grace_secs = 10

[providers.simoa]
kind = "openai"
base_url = "{openai}"
api_key_env = "{env}"

[providers.simant]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "{env}"

[providers.simgem]
kind = "gemini"
base_url = "{gemini}"
api_key_env = "{env}"

[providers.hold]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "{env}"

[reliability]
max_attempts = 2
base_delay_ms = 5
max_delay_ms = 40
max_retry_after_secs = 2
breaker_failures = 5
breaker_cool_down_secs = 0.5

[reliability.fallbacks]
flaky = ["backup"]
sloth = ["cheap"]
{keys}
"#,
        openai = sim.openai_base_url(),
        anthropic = sim.anthropic_base_url(),
        gemini = sim.gemini_base_url(),
        env = PROVIDER_KEY_ENV,
        keys = keys_toml(),
    );
    let path = dir.path().join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let specs = llmgw_server::resolve_providers(&config, None).unwrap();
    let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
    let hold = HoldUpstream::default();
    let handles = providers
        .iter()
        .cloned()
        .map(|mut h| {
            if h.name == "hold" {
                h.upstream = Arc::new(hold.clone());
            }
            h
        })
        .collect();
    let providers = ProviderRegistry::new(handles);

    // A clock the test moves a day forward between rounds, so both rounds start with fresh
    // daily budgets.
    let clock = Arc::new(ManualClock::new(1_767_225_600_000)); // 2026-01-01T00:00:00Z
    let keys = KeyStore::from_specs(config.keys.iter().cloned()).unwrap();
    let counters = Arc::new(MemoryStore::new());
    let governor = Governor::with_parts(Arc::new(keys), counters.clone(), clock.clone());

    let mut log_cfg = llmgw_outcomes::LogConfig::new(dir.path().join("log"));
    log_cfg.flush_interval = Duration::from_secs(1);
    let (log, writer) = llmgw_outcomes::OutcomeLog::start(log_cfg).unwrap();
    let gateway = Gateway::builder(config.clone(), providers)
        .governor(governor)
        .outcome_log(log.clone())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = gateway.clone().spawn(listener).unwrap();
    let base = serving.base_url();
    Soak {
        base,
        sim,
        gateway,
        hold,
        clock,
        counters,
        client: reqwest::Client::new(),
        serving,
        log,
        writer: Some(writer),
        dir,
        config,
    }
}

/// What one request of the mix does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    CleanPlain,
    CleanStream,
    FlakyPlain,
    FlakyStream,
    BrokenPlain,
    HtmlStream,
    SlothStream,
    SlothPlain,
    DelayedPlain,
    CutAfterFirstToken,
    HangUpMidStream,
    HangUpWhilePlainPending,
    HangUpWhileStreamPending,
    CutBeforeFirstToken,
    FailOnceThenAnswer,
    BadInput,
}

const KINDS: [Kind; 16] = [
    Kind::CleanPlain,
    Kind::CleanStream,
    Kind::FlakyPlain,
    Kind::FlakyStream,
    Kind::BrokenPlain,
    Kind::HtmlStream,
    Kind::SlothStream,
    Kind::SlothPlain,
    Kind::DelayedPlain,
    Kind::CutAfterFirstToken,
    Kind::HangUpMidStream,
    Kind::HangUpWhilePlainPending,
    Kind::HangUpWhileStreamPending,
    Kind::CutBeforeFirstToken,
    Kind::FailOnceThenAnswer,
    Kind::BadInput,
];

/// One request: who sends it and what.
struct Plan {
    kind: Kind,
    key: Option<&'static str>,
    body: String,
    marker: Option<String>,
}

fn plan(round: usize, i: usize) -> Plan {
    let kind = KINDS[i % KINDS.len()];
    let key_index = (i / KINDS.len()) % KEYS.len();
    let key = Some(KEYS[key_index].1);
    let tag = format!("r{round}-i{i}");
    let chat = |model: &str, stream: bool, text: String, max_tokens: Option<u32>| {
        let mut body = json!({
            "model": model,
            "stream": stream,
            "messages": [{"role": "user", "content": text}],
        });
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        // A tight output cap keeps each request's budget hold close to its real cost.
        body["max_tokens"] = json!(max_tokens.unwrap_or(30));
        body.to_string()
    };
    let mut marker = None;
    let (key, body) = match kind {
        Kind::CleanPlain => (
            key,
            chat(
                "cheap",
                false,
                format!("{tag} clean [[sim:tokens=20]]"),
                Some(40),
            ),
        ),
        Kind::CleanStream => (
            key,
            chat(
                "backup",
                true,
                format!("{tag} clean stream [[sim:tokens=20]]"),
                None,
            ),
        ),
        Kind::FlakyPlain => (
            key,
            chat(
                "flaky",
                false,
                format!("{tag} flaky [[sim:tokens=15]]"),
                None,
            ),
        ),
        Kind::FlakyStream => (
            key,
            chat(
                "flaky",
                true,
                format!("{tag} flaky stream [[sim:tokens=15]]"),
                None,
            ),
        ),
        Kind::BrokenPlain => (
            key,
            chat("broken", false, format!("{tag} [[sim:status=500]]"), None),
        ),
        Kind::HtmlStream => (
            key,
            chat("flaky", true, format!("{tag} [[sim:html=502]]"), None),
        ),
        Kind::SlothStream => (
            key,
            chat(
                "sloth",
                true,
                format!("{tag} slow first token [[sim:tokens=10]]"),
                None,
            ),
        ),
        Kind::SlothPlain => (
            key,
            chat(
                "sloth",
                false,
                format!("{tag} slow answer [[sim:tokens=10]]"),
                None,
            ),
        ),
        Kind::DelayedPlain => (
            key,
            chat(
                "cheap",
                false,
                format!("{tag} [[sim:delay_ms=300]] [[sim:tokens=10]]"),
                None,
            ),
        ),
        Kind::CutAfterFirstToken => (
            key,
            chat(
                "backup",
                true,
                format!("{tag} [[sim:cut_after=2]] [[sim:tokens=30]]"),
                None,
            ),
        ),
        Kind::HangUpMidStream => (
            key,
            chat(
                "talker",
                true,
                format!("{tag} long story [[sim:tokens=450]]"),
                Some(480),
            ),
        ),
        Kind::HangUpWhilePlainPending | Kind::HangUpWhileStreamPending => {
            let m = format!("hold#{tag}");
            let stream = kind == Kind::HangUpWhileStreamPending;
            let body = chat("hold", stream, format!("{m} waiting"), Some(50));
            marker = Some(m);
            (key, body)
        }
        Kind::CutBeforeFirstToken => (
            key,
            chat("broken", true, format!("{tag} [[sim:cut_after=0]]"), None),
        ),
        Kind::FailOnceThenAnswer => (
            key,
            chat(
                "talker",
                false,
                format!("{tag} [[sim:fail_first=1]] [[sim:tokens=12]]"),
                None,
            ),
        ),
        Kind::BadInput => match (i / KINDS.len()) % 3 {
            0 => (key, "{\"model\": \"cheap\", \"messages\": [".to_string()),
            1 => (
                Some(UNKNOWN_KEY),
                chat("cheap", false, format!("{tag} who am i"), None),
            ),
            _ => (
                key,
                chat(
                    "cheap",
                    false,
                    format!("{tag} [[sim:error=bad_request]]"),
                    None,
                ),
            ),
        },
    };
    Plan {
        kind,
        key,
        body,
        marker,
    }
}

/// How a request ended, client side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Ended {
    /// A response read to its end, with its status.
    Status(u16),
    /// The client hung up (after the first chunk of a stream, or while the gateway waited on
    /// the provider).
    HungUp,
}

/// Sends one request as `plan` says; also says whether it was refused because the rest of a
/// budget is held by requests in flight (429 with `retry-after: 1`: worth trying again soon).
async fn send(soak: &Soak, plan: &Plan) -> (Ended, bool) {
    let mut req = soak
        .client
        .post(format!("{}/v1/chat/completions", soak.base))
        .header("content-type", "application/json")
        .body(plan.body.clone());
    if let Some(k) = plan.key {
        req = req.bearer_auth(k);
    }
    let mut sending = Box::pin(req.send());
    let resp = match &plan.marker {
        None => sending.await.unwrap(),
        Some(marker) => {
            // Hang up once the gateway is waiting on the provider for this very request.
            let seen = async {
                while !soak.hold.has_seen(marker) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            tokio::select! {
                biased;
                resp = &mut sending => resp.unwrap(),
                () = seen => {
                    drop(sending);
                    return (Ended::HungUp, false);
                }
            }
        }
    };
    let status = resp.status().as_u16();
    if plan.kind == Kind::HangUpMidStream && status == 200 {
        let mut resp = resp;
        let first = resp.chunk().await.unwrap();
        assert!(first.is_some(), "a stream with a first chunk");
        drop(resp);
        return (Ended::HungUp, false);
    }
    let held = status == 429
        && resp
            .headers()
            .get("retry-after")
            .is_some_and(|v| v.as_bytes() == b"1");
    let is_stream = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let body = resp.text().await.unwrap();
    if status == 200 && is_stream {
        assert!(
            body.trim_end().ends_with("data: [DONE]") || body.contains("data: {\"error\""),
            "a stream ends with [DONE] or an error event: {body}"
        );
    } else if status != 200 {
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert!(v["error"]["message"].is_string(), "{body}");
    }
    (Ended::Status(status), held)
}

/// The injected faults of one round, taken in order by the requests for `flaky-up`.
fn inject_faults(sim: &SimServer) {
    for fault in [
        Fault::Status(429),
        Fault::Status(500),
        Fault::Status(503),
        Fault::Html(502),
        Fault::CutAfter(0),
        Fault::CutAfter(1),
        Fault::DelayMs(300),
    ] {
        sim.inject("flaky-up", fault, 8);
    }
}

/// As many requests in flight as the file-descriptor limit allows (each takes four sockets:
/// client, gateway, gateway to provider, provider), up to a whole round.
fn concurrency() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024);
    (soft.saturating_sub(128) / 4).clamp(64, REQUESTS_PER_ROUND)
}

struct RoundResult {
    sent: usize,
    hung_up: usize,
    ended: BTreeMap<(Kind, Ended), usize>,
}

async fn round(soak: &Arc<Soak>, round_no: usize) -> RoundResult {
    inject_faults(&soak.sim);
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency()));
    let mut tasks = Vec::new();
    for i in 0..REQUESTS_PER_ROUND {
        let soak = soak.clone();
        let limit = limit.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = limit.acquire().await.unwrap();
            let plan = plan(round_no, i);
            let kind = plan.kind;
            // Like a well-behaved client, try again a few times while the rest of the
            // budget is held by requests in flight; every try is a request of its own.
            let mut outcomes = Vec::new();
            for attempt in 0..HELD_BUDGET_TRIES {
                let (ended, held) =
                    match tokio::time::timeout(CLIENT_DEADLINE, send(&soak, &plan)).await {
                        Ok(r) => r,
                        Err(_) => panic!("request {i} of round {round_no} ({kind:?}) did not end"),
                    };
                outcomes.push((kind, ended));
                if !held {
                    break;
                }
                let pause = 20 + 15 * ((i + attempt) % 7) as u64;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            outcomes
        }));
    }
    let mut ended = BTreeMap::new();
    let mut hung_up = 0;
    let mut sent = 0;
    for t in tasks {
        for (kind, e) in t.await.unwrap() {
            sent += 1;
            if e == Ended::HungUp {
                hung_up += 1;
            }
            *ended.entry((kind, e)).or_insert(0) += 1;
        }
    }
    RoundResult {
        sent,
        hung_up,
        ended,
    }
}

/// Waits until the gateway has written `expected` records (requests whose client hung up
/// finish on the server after the client has gone), then flushes them to files.
async fn wait_for_records(soak: &Soak, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        soak.log.flush().await.unwrap();
        let written = soak.log.stats().outcomes_written;
        assert!(
            written <= expected,
            "{written} records for {expected} requests"
        );
        if written == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {written} of {expected} records after 30 s: some request never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The in-flight state the gateway holds returns to nothing once a round is over.
async fn assert_nothing_in_flight(soak: &Soak) {
    let state = soak.gateway.state();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut reserved = 0.0;
        for (id, ..) in KEYS {
            reserved += state.governor.usage(id).await.unwrap().reserved_today_usd;
        }
        let open_calls = soak.hold.open_calls.load(Ordering::SeqCst);
        let tasks = state.tasks.len();
        if reserved == 0.0 && open_calls == 0 && tasks == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still in flight after the round: ${reserved} reserved, {open_calls} upstream calls, {tasks} record tasks"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pairs: HashSet<(String, String)> = soak
        .config
        .catalog
        .models()
        .iter()
        .map(|m| (m.provider.clone(), m.id.clone()))
        .collect();
    let breakers = state.executor.breakers.snapshot();
    assert!(
        breakers.len() <= pairs.len(),
        "{} breakers for {} (provider, model) pairs",
        breakers.len(),
        pairs.len()
    );
    for b in &breakers {
        assert!(
            pairs.contains(&(b.provider.clone(), b.model.clone())),
            "{b:?}"
        );
    }
    // Counters: per key, today's and this month's windows (earlier days are dropped) and
    // at most two rate buckets.
    let f = soak.counters.footprint();
    assert!(f.keys <= KEYS.len(), "{f:?}");
    assert!(f.windows <= 2 * KEYS.len(), "{f:?}");
    assert!(f.buckets <= 2 * KEYS.len(), "{f:?}");
}

/// Worst-case cost of one request: the most any admission can hold (prompt bound with its
/// margin, and the largest output cap), over every model of the catalog.
fn max_request_cost(config: &llmgw_config::Config) -> f64 {
    let prompt_bound = MAX_PROMPT_TOKENS + MAX_PROMPT_TOKENS / 4 + 16;
    config
        .catalog
        .models()
        .iter()
        .map(|m| {
            m.cost_usd(
                prompt_bound,
                0,
                m.max_output_tokens.unwrap_or(m.context_window),
            )
        })
        .fold(0.0, f64::max)
}

/// Resident memory of this process, KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// One outcome row, as read back from the Parquet files.
#[derive(Debug)]
struct Row {
    request_id: String,
    key: Option<String>,
    cost_usd: Option<f64>,
    status: i32,
    error_kind: Option<String>,
    prompt: Option<String>,
    prompt_tokens: Option<i64>,
}

fn read_rows(root: &Path) -> Vec<Row> {
    let files = llmgw_outcomes::list_files(root, llmgw_outcomes::LogKind::Outcomes, None).unwrap();
    assert!(
        !files.is_empty(),
        "no outcome files under {}",
        root.display()
    );
    let mut rows = Vec::new();
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let text = |name: &str, i: usize| {
                let col = b.column_by_name(name).unwrap().as_string::<i32>();
                (!col.is_null(i)).then(|| col.value(i).to_string())
            };
            let cost = b
                .column_by_name("cost_usd")
                .unwrap()
                .as_primitive::<arrow::datatypes::Float64Type>();
            let prompt_tokens = b
                .column_by_name("prompt_tokens")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>();
            let status = b
                .column_by_name("status")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int32Type>();
            for i in 0..b.num_rows() {
                rows.push(Row {
                    request_id: text("request_id", i).unwrap(),
                    key: text("api_key_id", i),
                    cost_usd: (!cost.is_null(i)).then(|| cost.value(i)),
                    status: status.value(i),
                    error_kind: text("error_kind", i),
                    prompt: text("prompt", i),
                    prompt_tokens: (!prompt_tokens.is_null(i)).then(|| prompt_tokens.value(i)),
                });
            }
        }
    }
    rows
}

/// The round a row belongs to, from the tag in its prompt (`r1-i…`).
fn round_of(row: &Row) -> Option<usize> {
    let p = row.prompt.as_deref()?;
    let start = p.find('r')?;
    p[start + 1..].split('-').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_under_load_and_faults() {
    let started = Instant::now();
    let soak = Arc::new(start().await);
    let max_cost = max_request_cost(&soak.config);
    let mut governor_spend: HashMap<(usize, &str), f64> = HashMap::new();
    let mut sent = 0usize;
    let mut hung_up = 0usize;
    let mut rss = Vec::new();

    for round_no in 1..=2 {
        let r = round(&soak, round_no).await;
        sent += r.sent;
        hung_up += r.hung_up;
        println!(
            "round {round_no}: {} requests in {:.1} s since start",
            r.sent,
            started.elapsed().as_secs_f64()
        );
        for ((kind, ended), n) in &r.ended {
            println!("  {kind:?} {ended:?}: {n}");
        }
        wait_for_records(&soak, sent as u64).await;
        assert_nothing_in_flight(&soak).await;
        for (id, _, budget, _) in KEYS {
            let usage = soak.gateway.state().governor.usage(id).await.unwrap();
            assert!(
                usage.spent_today_usd <= budget + max_cost + 1e-9,
                "round {round_no}: key {id} spent ${} of a ${budget} budget (one request costs at most ${max_cost})",
                usage.spent_today_usd
            );
            governor_spend.insert((round_no, id), usage.spent_today_usd);
        }
        rss.push(rss_kib());
        // A new UTC day: fresh budgets for the next round.
        soak.clock.advance(86_400_000);
    }
    assert!(hung_up > 0, "some clients hung up");

    // Shut down; every record is in the Parquet files.
    let soak = match Arc::try_unwrap(soak) {
        Ok(s) => s,
        Err(_) => panic!("the soak harness is still shared"),
    };
    let Soak {
        sim,
        serving,
        mut writer,
        dir,
        ..
    } = soak;
    serving
        .shutdown(Duration::from_secs(20))
        .await
        .expect("the gateway stops");
    let stats = writer.take().unwrap().shutdown().await.unwrap();
    assert_eq!(stats.dropped, 0);
    sim.shutdown().await;

    let rows = read_rows(&dir.path().join("log"));
    let ids: HashSet<&str> = rows.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "request ids are unique");
    assert_eq!(rows.len(), sent, "one record per request sent");
    let closed = rows
        .iter()
        .filter(|r| r.error_kind.as_deref() == Some("client_closed"))
        .count();
    assert_eq!(
        closed, hung_up,
        "every client that hung up is recorded as such"
    );
    let longest = rows.iter().filter_map(|r| r.prompt_tokens).max().unwrap();
    assert!(
        longest as u64 <= MAX_PROMPT_TOKENS,
        "a prompt of {longest} tokens"
    );

    // Spend per key and round, from the records: within the budget plus one request, and
    // never more than the governor charged (which also charges answers cut short).
    for round_no in 1..=2 {
        for (id, _, budget, _) in KEYS {
            let charged: f64 = rows
                .iter()
                .filter(|r| r.key.as_deref() == Some(id) && round_of(r) == Some(round_no))
                .filter_map(|r| r.cost_usd)
                .sum();
            let governor = governor_spend[&(round_no, id)];
            assert!(
                charged <= budget + max_cost + 1e-9,
                "round {round_no}: records of {id} cost ${charged} on a ${budget} budget"
            );
            assert!(
                charged <= governor + 1e-6,
                "round {round_no}: records of {id} cost ${charged}, governor charged ${governor}"
            );
            println!("round {round_no}: {id} budget ${budget}: records ${charged:.6}, governor ${governor:.6}");
        }
    }
    let statuses: BTreeMap<i32, usize> = rows.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.status).or_insert(0) += 1;
        m
    });
    println!("statuses: {statuses:?}; one request costs at most ${max_cost:.6}");
    assert!(statuses.get(&200).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(
        statuses.get(&429).copied().unwrap_or(0) > 0,
        "budgets ran out: {statuses:?}"
    );

    // Memory: the second round of the same load adds less than a fixed bound.
    if let [Some(first), Some(second)] = rss[..] {
        println!(
            "resident memory: {} MiB after round 1, {} MiB after round 2",
            first / 1024,
            second / 1024
        );
        assert!(
            second <= first + RSS_GROWTH_BOUND_KIB,
            "resident memory grew from {first} KiB to {second} KiB"
        );
    } else {
        println!("resident memory not measured (no /proc/self/status)");
    }
    println!("soak finished in {:.1} s", started.elapsed().as_secs_f64());
}
