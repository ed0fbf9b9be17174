//! The part of request handling shared by all providers: directives, injected faults and pacing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::conversation::Conversation;
use crate::directives::Directives;
use crate::pacing::Pace;
use crate::server::Shared;
use crate::{anthropic, gemini, openai};

/// Which wire format a request came in on; decides the shape of error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Provider {
    /// The error this provider sends for `status`.
    pub(crate) fn status_error(
        self,
        status: StatusCode,
        model: &str,
        request_id: &str,
    ) -> Response {
        let mut resp = match self {
            Provider::OpenAi => openai::error::for_status(status, model),
            Provider::Anthropic => anthropic::error::for_status(status, model, request_id),
            Provider::Gemini => gemini::error::for_status(status, model),
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }

    /// This provider's "prompt is too long" error.
    pub(crate) fn context_length(self, prompt_tokens: u32, request_id: &str) -> Response {
        match self {
            Provider::OpenAi => openai::error::context_length(prompt_tokens),
            Provider::Anthropic => anthropic::error::context_length(prompt_tokens, request_id),
            Provider::Gemini => gemini::error::context_length(prompt_tokens),
        }
    }
}

/// How to answer a request that passed validation and fault checks.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub directives: Directives,
    pub pace: Pace,
}

/// Applies directives and injected faults: waits for `delay_ms`, and returns the failure response
/// when one is due, or the plan for the answer.
pub(crate) async fn prepare(
    shared: &Shared,
    provider: Provider,
    model: &str,
    conv: &Conversation,
    request_id: &str,
) -> Result<Plan, Response> {
    let text = conv.last_user_text();
    let mut d = Directives::parse(&text);
    if let Some(fault) = shared.faults.take(model) {
        fault.apply(&mut d);
    }
    if let Some(ms) = d.delay_ms {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(code) = d.html {
        return Err(html_page(code));
    }
    if let Some(code) = d.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(provider.status_error(status, model, request_id));
    }
    if d.bad_request {
        return Err(provider.status_error(StatusCode::BAD_REQUEST, model, request_id));
    }
    if d.context_length {
        return Err(provider.context_length(conv.prompt_tokens(), request_id));
    }
    if let Some(n) = d.fail_first {
        if shared.faults.fail_first(&text, n) {
            return Err(provider.status_error(StatusCode::SERVICE_UNAVAILABLE, model, request_id));
        }
    }
    Ok(Plan {
        directives: d,
        pace: shared.cfg.pace_for(model),
    })
}

/// An HTML error page such as a load balancer in front of a provider sends.
pub(crate) fn html_page(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}
