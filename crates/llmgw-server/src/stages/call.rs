//! Call stage: send the request to the chosen provider within the configured time budgets.

use std::time::Duration;

use llmgw_types::{
    ApiError, ChatCompletionRequest, ChatCompletionResponse, ErrorBody, StreamOptions,
    GATEWAY_FIELDS,
};

use super::route::Target;
use crate::upstream::{ChunkStream, UpstreamError};

/// Time budgets of one upstream call.
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    /// Until a streaming upstream has accepted the request.
    pub first_token: Duration,
    /// For the whole call (a non-streaming answer, or a whole stream).
    pub total: Duration,
}

/// The upstream's answer.
pub enum Answer {
    /// A complete response.
    Complete(Box<ChatCompletionResponse>),
    /// A stream of chunks, accepted by the upstream.
    Stream(ChunkStream),
}

/// The request as sent upstream: the provider's model name, no gateway-only fields, and
/// usage always asked for on streams (the gateway prices every answer; the respond stage
/// drops the usage chunk when the client did not ask for it).
pub fn upstream_request(target: &Target, req: &ChatCompletionRequest) -> ChatCompletionRequest {
    let mut up = req.clone();
    up.model = target.model.upstream().to_string();
    for field in GATEWAY_FIELDS {
        up.extra.remove(*field);
    }
    if up.is_stream() {
        up.stream_options = Some(StreamOptions {
            include_usage: Some(true),
        });
    }
    up
}

/// Call `target` with `req` (already passed through [`upstream_request`]).
pub async fn call(
    target: &Target,
    req: ChatCompletionRequest,
    budgets: Budgets,
) -> Result<Answer, UpstreamError> {
    let provider = &target.provider;
    if req.is_stream() {
        let fut = provider.upstream.stream(req);
        match tokio::time::timeout(budgets.first_token, fut).await {
            Ok(result) => result.map(Answer::Stream),
            Err(_) => Err(timeout(
                &provider.name,
                budgets.first_token,
                "start streaming",
            )),
        }
    } else {
        let fut = provider.upstream.complete(req);
        match tokio::time::timeout(budgets.total, fut).await {
            Ok(result) => result.map(|r| Answer::Complete(Box::new(r))),
            Err(_) => Err(timeout(&provider.name, budgets.total, "answer")),
        }
    }
}

/// A 504 naming the provider and the budget that ran out.
pub fn timeout(provider: &str, budget: Duration, what: &str) -> UpstreamError {
    UpstreamError::new(
        "upstream_timeout",
        ApiError::new(
            504,
            ErrorBody::timeout(format!(
                "Provider `{provider}` did not {what} within {:.1} s.",
                budget.as_secs_f64()
            )),
        ),
        true,
    )
}

/// Call `candidates` in order (the route stage's first choice, then its fallbacks) with
/// retries, backoff, circuit breakers and the total deadline of `executor`. A stream counts
/// as answered once it has produced output; a failure before that is retried like a failed
/// call. Returns the answer, the index of the candidate that gave it, and every attempt.
pub async fn call_candidates(
    executor: &llmgw_reliability::Executor,
    candidates: &[Target],
    req: &ChatCompletionRequest,
    budgets: Budgets,
) -> Result<
    (Answer, usize, llmgw_reliability::Attempts),
    (UpstreamError, llmgw_reliability::Attempts),
> {
    let (answer, attempts) = executor
        .call_with_fallbacks(candidates, |target, _attempt| {
            let target = target.clone();
            let up = upstream_request(&target, req);
            async move {
                match call(&target, up, budgets).await? {
                    Answer::Stream(chunks) => {
                        let started = llmgw_reliability::start_stream(chunks, |c| {
                            crate::governance::has_output(c.chunk())
                        });
                        match tokio::time::timeout(budgets.first_token, started).await {
                            Ok(Ok(chunks)) => Ok(Answer::Stream(Box::pin(chunks))),
                            Ok(Err(e)) => Err(e),
                            Err(_) => Err(timeout(
                                &target.provider.name,
                                budgets.first_token,
                                "send a first token",
                            )),
                        }
                    }
                    complete => Ok(complete),
                }
            }
        })
        .await?;
    let winner = attempts.winner().map_or(0, |w| w.candidate);
    Ok((answer, winner, attempts))
}
