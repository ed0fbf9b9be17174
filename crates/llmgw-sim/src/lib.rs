//! Simulated OpenAI, Anthropic and Gemini servers on loopback.
//!
//! [`SimServer`] serves the three providers' real wire formats from one port, so tests, benchmarks and
//! the demo can exercise a gateway end to end without network or keys:
//!
//! | Provider | Routes | Auth |
//! |---|---|---|
//! | OpenAI | `POST /openai/v1/chat/completions` (JSON or SSE `chat.completion.chunk`s, `stream_options.include_usage`), `GET /openai/v1/models` | `Authorization: Bearer <any>` |
//! | Anthropic | `POST /anthropic/v1/messages` (JSON or SSE `message_start` … `message_stop`), `GET /anthropic/v1/models` | `x-api-key: <any>` and `anthropic-version: 2023-06-01` |
//! | Gemini | `POST /gemini/v1beta/models/{model}:generateContent`, `:streamGenerateContent` (`?alt=sse`, or a streamed JSON array), `GET /gemini/v1beta/models` | `x-goog-api-key: <any>` or `?key=` |
//!
//! A request without credentials gets that provider's own 401 body. Requests are validated as strictly
//! as the real APIs (unknown fields, types and ranges; Anthropic's required `max_tokens`, alternating
//! roles and tool_use/tool_result pairing; OpenAI's tool message pairing; Gemini's roles and
//! functionCall/functionResponse ordering) and refused with a 400 in the provider's own error shape.
//!
//! # Answers
//! Deterministic: the answer is derived from a SHA-256 digest of the parsed conversation (system text,
//! turns, tools, response format) and the model name. When tools are offered and the last turn is not a
//! tool result, the model calls the first offered tool (or the one `tool_choice` names), with arguments
//! built from the tool's JSON schema; `[[sim:parallel_tools]]` with two or more tools makes two parallel
//! calls. Streams split tool arguments across several deltas. After a tool result the answer is text
//! quoting it. JSON mode (OpenAI `response_format`, Gemini `responseMimeType: application/json`, or a
//! system prompt that mentions JSON) answers with a JSON object, following the schema when one is given.
//! `max_tokens` truncates the text (finish reason `length` / `max_tokens` / `MAX_TOKENS`); stop
//! sequences cut it where they first occur.
//!
//! # Token counts
//! Every count uses one documented estimate: a text of `c` Unicode scalar values is `ceil(c / 4)` tokens.
//! Prompt tokens = the estimate over every text of the request (system, message text, tool-call names
//! and argument JSON, tool results, each tool definition as compact JSON of its name, description and
//! parameters) + 85 per image or other attachment + 4 per message. Completion tokens = the estimate over
//! the answer text plus each tool call's name and argument JSON (Anthropic adds the short text it writes
//! before tool calls). Usage is reported in each provider's own fields; `[[sim:cached_tokens=N]]` reports
//! N prompt tokens as cached (`prompt_tokens_details.cached_tokens`, `cache_read_input_tokens` — Anthropic
//! then counts them outside `input_tokens` — and `cachedContentTokenCount`).
//!
//! # Fault directives
//! Written anywhere in the text of the last user message, so they survive any translation:
//!
//! | Directive | Effect |
//! |---|---|
//! | `[[sim:status=N]]` | status N (400–599) with the provider's error body; 429 carries `retry-after: 1` |
//! | `[[sim:error=bad_request]]` | 400 in the provider's own error shape |
//! | `[[sim:error=context_length]]` | the provider's "prompt is too long" 400 |
//! | `[[sim:html=N]]` | status N with an HTML page (`content-type: text/html`) |
//! | `[[sim:delay_ms=N]]` | wait N ms before answering |
//! | `[[sim:cut_after=N]]` | streams: N content chunks, then the connection drops without the end event; non-streaming: half the body, then the drop |
//! | `[[sim:fail_first=N]]` | the first N requests with this exact prompt text fail with 503 |
//! | `[[sim:tokens=N]]` | exactly N completion tokens |
//! | `[[sim:parallel_tools]]` | two parallel tool calls when two or more tools are offered |
//! | `[[sim:cached_tokens=N]]` | report N prompt tokens as cache reads |
//!
//! [`SimServer::inject`] queues the same faults programmatically. Per-model `first_token_ms` and
//! `tokens_per_sec` ([`SimModel`]) pace streams chunk by chunk and delay non-streaming answers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), llmgw_sim::SimError> {
//! use llmgw_sim::{SimConfig, SimModel, SimServer};
//! let cfg = SimConfig::default().with_model(SimModel::new("gpt-4o-mini", 200, 80.0));
//! let sim = SimServer::start(cfg).await?;
//! println!("OpenAI-compatible base URL: {}", sim.openai_base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod answer;
mod anthropic;
mod config;
mod conversation;
mod directives;
mod error;
mod faults;
mod flow;
mod gemini;
mod openai;
mod pacing;
mod schema;
mod seed;
mod seen;
mod server;
mod stream;
mod tokens;
mod wire;

pub use config::{SimConfig, SimModel};
pub use error::SimError;
pub use faults::{Fault, ANY_MODEL};
pub use seen::SeenRequest;
pub use server::SimServer;
