//! The provider conformance battery: one set of cases, run against every adapter through the
//! simulated providers of `llmgw-sim`.

mod assemble;
mod cases;

pub use assemble::assemble;
pub use cases::run_case;

use futures::StreamExt;
use llmgw_providers::{Provider, ProviderError, ProviderKind, ProviderSettings, Timeouts};
use llmgw_sim::{SeenRequest, SimConfig, SimServer};
use llmgw_types::{ChatCompletionChunk, ChatCompletionRequest, ChatMessage, FinishReason, Usage};

/// The key every test provider uses; it must never show up in an error.
pub const KEY: &str = "sk-conformance-SECRET-0123456789";

/// An adapter under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Adapter {
    pub fn kind(self) -> ProviderKind {
        match self {
            Adapter::OpenAi => ProviderKind::OpenAi,
            Adapter::Anthropic => ProviderKind::Anthropic,
            Adapter::Gemini => ProviderKind::Gemini,
        }
    }

    /// The upstream model name used in requests.
    pub fn model(self) -> &'static str {
        match self {
            Adapter::OpenAi => "gpt-4o-mini",
            Adapter::Anthropic => "claude-sonnet-4-20250514",
            Adapter::Gemini => "gemini-2.5-flash",
        }
    }

    /// The configured provider name (distinct from the kind, to check errors name it).
    pub fn name(self) -> &'static str {
        match self {
            Adapter::OpenAi => "sim-openai",
            Adapter::Anthropic => "sim-anthropic",
            Adapter::Gemini => "sim-gemini",
        }
    }

    pub fn base_url(self, sim: &SimServer) -> String {
        match self {
            Adapter::OpenAi => sim.openai_base_url(),
            Adapter::Anthropic => sim.anthropic_base_url(),
            Adapter::Gemini => sim.gemini_base_url(),
        }
    }
}

/// Streamed or whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Complete,
    Stream,
}

/// One conformance case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    PlainText,
    SystemPrompt,
    MultiTurn,
    ToolCall,
    ToolResult,
    ParallelToolCalls,
    JsonObject,
    JsonSchema,
    UsageOnlyWhenAsked,
    RateLimited,
    ServerError,
    Unavailable,
    BadRequest,
    HtmlErrorPage,
    Timeout,
    Cut,
    MissingKey,
    StalledStream,
}

/// What a call produced, put back together the same way for both modes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Answer {
    pub content: String,
    /// (id, name, arguments) in tool-call index order.
    pub tool_calls: Vec<(String, String, String)>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    /// Number of chunks (streams only).
    pub chunks: usize,
}

/// A running simulator and a provider pointed at it.
pub struct Rig {
    pub sim: SimServer,
    pub provider: Provider,
    pub adapter: Adapter,
}

impl Rig {
    pub async fn start(
        adapter: Adapter,
        key: Option<&str>,
        timeouts: Timeouts,
        sim: SimConfig,
    ) -> Rig {
        let sim = SimServer::start(sim).await.expect("sim starts");
        let mut settings = ProviderSettings::new(adapter.name(), adapter.kind())
            .with_base_url(adapter.base_url(&sim))
            .with_timeouts(timeouts);
        if let Some(k) = key {
            settings = settings.with_api_key(k);
        }
        let provider = Provider::new(&settings).expect("provider builds");
        assert_eq!(provider.name(), adapter.name());
        assert_eq!(provider.kind(), adapter.kind());
        Rig {
            sim,
            provider,
            adapter,
        }
    }

    pub fn request(&self, messages: Vec<ChatMessage>) -> ChatCompletionRequest {
        ChatCompletionRequest::new(self.adapter.model(), messages)
    }

    /// Runs `req` in `mode`; streams are assembled as an OpenAI client would.
    pub async fn call(
        &self,
        req: &ChatCompletionRequest,
        mode: Mode,
    ) -> Result<Answer, ProviderError> {
        match mode {
            Mode::Complete => {
                let resp = self.provider.complete(req).await?;
                assert_eq!(resp.object, "chat.completion");
                assert_eq!(resp.choices.len(), 1);
                let c = &resp.choices[0];
                Ok(Answer {
                    content: c.message.content.clone().unwrap_or_default(),
                    tool_calls: c
                        .message
                        .tool_calls
                        .iter()
                        .flatten()
                        .map(|t| {
                            (
                                t.id.clone(),
                                t.function.name.clone(),
                                t.function.arguments.clone(),
                            )
                        })
                        .collect(),
                    finish_reason: c.finish_reason,
                    usage: resp.usage.clone(),
                    chunks: 0,
                })
            }
            Mode::Stream => {
                let mut req = req.clone();
                req.stream = Some(true);
                let (chunks, err) = self.stream_all(&req).await?;
                if let Some(e) = err {
                    return Err(e);
                }
                Ok(assemble(&chunks))
            }
        }
    }

    /// Collects a stream: the chunks received and the error that ended it, if any.
    pub async fn stream_all(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<(Vec<ChatCompletionChunk>, Option<ProviderError>), ProviderError> {
        let mut stream = self.provider.stream(req).await?;
        let mut chunks = Vec::new();
        let mut err = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(c) => {
                    assert!(err.is_none(), "nothing may follow an error item");
                    if let Some(raw) = c.raw() {
                        let parsed: ChatCompletionChunk = serde_json::from_str(raw).unwrap();
                        assert_eq!(&parsed, c.chunk(), "the payload is the chunk as carried");
                    }
                    chunks.push(c.into_chunk())
                }
                Err(e) => {
                    assert!(err.is_none(), "one error item at most");
                    err = Some(e)
                }
            }
        }
        Ok((chunks, err))
    }

    /// The last request the simulator received.
    pub fn last_seen(&self) -> SeenRequest {
        self.sim
            .recent_requests()
            .last()
            .cloned()
            .expect("the simulator saw a request")
    }
}
