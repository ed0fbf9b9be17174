#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance battery, run against every adapter through the simulated providers.

mod battery;

use battery::{run_case, Adapter, Case, Mode};

/// One test per adapter × case × mode.
macro_rules! battery {
    ($($adapter_mod:ident => $adapter:expr),* $(,)?) => {$(
        mod $adapter_mod {
            use super::*;
            battery!(@cases $adapter;
                plain_text => Case::PlainText,
                system_prompt => Case::SystemPrompt,
                multi_turn => Case::MultiTurn,
                tool_call => Case::ToolCall,
                tool_result => Case::ToolResult,
                parallel_tool_calls => Case::ParallelToolCalls,
                json_object => Case::JsonObject,
                json_schema => Case::JsonSchema,
                rate_limited => Case::RateLimited,
                server_error => Case::ServerError,
                unavailable => Case::Unavailable,
                bad_request => Case::BadRequest,
                html_error_page => Case::HtmlErrorPage,
                timeout => Case::Timeout,
                cut => Case::Cut,
                missing_key => Case::MissingKey,
            );
            #[tokio::test]
            async fn stream_usage_only_when_asked() {
                run_case($adapter, Case::UsageOnlyWhenAsked, Mode::Stream).await;
            }
            #[tokio::test]
            async fn stream_stalled_mid_way() {
                run_case($adapter, Case::StalledStream, Mode::Stream).await;
            }
        }
    )*};
    (@cases $adapter:expr; $($name:ident => $case:expr),* $(,)?) => {
        mod complete {
            use super::*;
            $(#[tokio::test] async fn $name() { run_case($adapter, $case, Mode::Complete).await; })*
        }
        mod stream {
            use super::*;
            $(#[tokio::test] async fn $name() { run_case($adapter, $case, Mode::Stream).await; })*
        }
    };
}

battery!(
    openai => Adapter::OpenAi,
    anthropic => Adapter::Anthropic,
    gemini => Adapter::Gemini,
);
