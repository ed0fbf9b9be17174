//! Upstream error bodies (OpenAI, Anthropic and Gemini shapes, HTML pages, plain text)
//! turned into OpenAI-shaped errors that name the provider and never carry a key.

use llmgw_types::ErrorBody;
use serde_json::Value;

/// The wire dialect a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI chat completions (and compatible servers).
    OpenAi,
    /// Anthropic Messages API.
    Anthropic,
    /// Gemini generateContent.
    Gemini,
}

impl Dialect {
    /// Lower-case name of the dialect.
    pub fn as_str(&self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
        }
    }
}

/// Longest upstream message passed on to clients.
const MAX_MESSAGE_CHARS: usize = 400;

/// An upstream HTTP failure, parsed from whatever body the provider sent.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamFailure {
    /// HTTP status the provider answered with.
    pub status: u16,
    /// The provider's error type or status string (`rate_limit_error`, `RESOURCE_EXHAUSTED`, …).
    pub upstream_type: Option<String>,
    /// The provider's error code, when it sends one (`insufficient_quota`, `API_KEY_INVALID`, …).
    pub upstream_code: Option<String>,
    /// The provider's message (secrets redacted, shortened), or a description of the body.
    pub message: String,
    /// The body was an HTML page.
    pub html: bool,
    /// The provider rejected the gateway's credentials.
    pub auth: bool,
    /// Seconds to wait before retrying, when the body says (Gemini's `RetryInfo.retryDelay`).
    pub retry_after_secs: Option<f64>,
}

impl UpstreamFailure {
    /// Parses an error body of `dialect` (falling back to the other JSON shapes, then HTML, then text).
    pub fn parse(dialect: Dialect, status: u16, content_type: Option<&str>, body: &str) -> Self {
        let mut failure = UpstreamFailure {
            status,
            upstream_type: None,
            upstream_code: None,
            message: String::new(),
            html: false,
            auth: status == 401 || status == 403,
            retry_after_secs: None,
        };
        let trimmed = body.trim();
        let looks_html = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("text/html"))
            || trimmed.get(..15).is_some_and(|s| {
                let s = s.to_ascii_lowercase();
                s.starts_with("<!doctype html") || s.starts_with("<html")
            });
        if let Ok(json) = serde_json::from_str::<Value>(trimmed) {
            if failure.fill_from_json(dialect, &json) {
                return failure;
            }
        }
        if looks_html {
            failure.html = true;
            failure.message = match html_title(trimmed) {
                Some(title) => format!(
                    "an HTML error page (\"{}\")",
                    shorten(&redact_secrets(&title))
                ),
                None => "an HTML error page".to_string(),
            };
        } else if trimmed.is_empty() {
            failure.message = "an empty body".to_string();
        } else {
            failure.message = shorten(&redact_secrets(trimmed));
        }
        failure
    }

    /// Fills type/code/message from a JSON error body; false when no shape matched.
    fn fill_from_json(&mut self, dialect: Dialect, json: &Value) -> bool {
        let Some(err) = json.get("error") else {
            return false;
        };
        if let Some(msg) = err.as_str() {
            self.message = shorten(&redact_secrets(msg));
            return true;
        }
        let message = err.get("message").and_then(Value::as_str);
        let Some(message) = message else {
            return false;
        };
        self.message = shorten(&redact_secrets(message));
        let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        match dialect {
            // Gemini: {"error": {"code": 400, "message", "status": "INVALID_ARGUMENT", "details": [...]}}
            Dialect::Gemini => {
                self.upstream_type = string(err.get("status")).or_else(|| string(err.get("type")));
                let reason = err
                    .get("details")
                    .and_then(Value::as_array)
                    .and_then(|d| d.iter().find_map(|x| string(x.get("reason"))));
                self.retry_after_secs = err
                    .get("details")
                    .and_then(Value::as_array)
                    .and_then(|d| {
                        d.iter()
                            .find_map(|x| x.get("retryDelay").and_then(Value::as_str))
                    })
                    .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0);
                if reason.as_deref() == Some("API_KEY_INVALID") {
                    self.auth = true;
                }
                self.upstream_code = reason;
            }
            // Anthropic: {"type": "error", "error": {"type": "rate_limit_error", "message"}}
            // OpenAI: {"error": {"message", "type", "param", "code"}}
            Dialect::Anthropic | Dialect::OpenAi => {
                self.upstream_type = string(err.get("type")).or_else(|| string(err.get("status")));
                self.upstream_code = string(err.get("code"));
            }
        }
        if matches!(
            self.upstream_type.as_deref(),
            Some(
                "authentication_error"
                    | "permission_error"
                    | "UNAUTHENTICATED"
                    | "PERMISSION_DENIED"
            )
        ) || self.upstream_code.as_deref() == Some("invalid_api_key")
        {
            self.auth = true;
        }
        true
    }

    /// The HTTP status the client gets for this failure.
    pub fn client_status(&self) -> u16 {
        if self.auth {
            return 502;
        }
        match self.status {
            400 | 422 => 400,
            413 => 413,
            429 => 429,
            408 | 504 => 504,
            503 | 529 => 503,
            _ => 502,
        }
    }

    /// True when the failure is the client's request (it would fail on any retry).
    pub fn is_bad_request(&self) -> bool {
        !self.auth && matches!(self.status, 400 | 413 | 422)
    }

    /// The OpenAI-shaped error for the client, naming the provider `provider_name`.
    pub fn to_openai_error(&self, provider_name: &str) -> (u16, ErrorBody) {
        let status = self.client_status();
        let detail = if self.html {
            format!(
                "{provider_name} returned HTTP {} with {}",
                self.status, self.message
            )
        } else if self.auth {
            format!(
                "{provider_name} rejected the gateway's credentials (HTTP {}): {}",
                self.status, self.message
            )
        } else {
            format!(
                "{provider_name} returned HTTP {}: {}",
                self.status, self.message
            )
        };
        let body = match status {
            400 | 413 => ErrorBody::invalid_request(detail),
            429 => ErrorBody::rate_limit(detail),
            504 => ErrorBody::timeout(detail),
            _ if self.auth => ErrorBody::upstream(detail).with_code("upstream_auth_failed"),
            _ => ErrorBody::upstream(detail).with_code(format!("upstream_{}", self.status)),
        };
        (status, body)
    }
}

/// The `<title>` of an HTML page.
fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    let title = html.get(start..end)?.trim();
    (!title.is_empty()).then(|| title.to_string())
}

/// Shortens to at most [`MAX_MESSAGE_CHARS`] characters.
fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
    out.push('…');
    out
}

/// Replaces anything that looks like an API key (`sk-…`, `AIza…`, `key=…`, `Bearer …`) by `[redacted]`.
pub fn redact_secrets(text: &str) -> String {
    const PREFIXES: &[(&str, bool)] = &[
        ("sk-", false),
        ("AIza", false),
        ("key=", true),
        ("Bearer ", true),
        ("x-api-key:", true),
    ];
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for (prefix, keep_prefix) in PREFIXES {
            if rest.starts_with(prefix) {
                let after = &rest[prefix.len()..];
                let after_trim = after.trim_start();
                let len: usize = after_trim
                    .chars()
                    .take_while(|c| is_key_char(*c))
                    .map(char::len_utf8)
                    .sum();
                if len >= 6 {
                    if *keep_prefix {
                        out.push_str(prefix);
                    }
                    out.push_str("[redacted]");
                    rest = &after_trim[len..];
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_overloaded() {
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let f = UpstreamFailure::parse(Dialect::Anthropic, 529, Some("application/json"), body);
        assert_eq!(f.upstream_type.as_deref(), Some("overloaded_error"));
        let (status, e) = f.to_openai_error("anthropic-main");
        assert_eq!(status, 503);
        assert_eq!(
            e.error.message,
            "anthropic-main returned HTTP 529: Overloaded"
        );
    }

    #[test]
    fn gemini_invalid_key_is_auth_not_bad_request() {
        let body = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        let f = UpstreamFailure::parse(Dialect::Gemini, 400, None, body);
        assert!(f.auth && !f.is_bad_request());
        let (status, e) = f.to_openai_error("gemini");
        assert_eq!(status, 502);
        assert_eq!(e.error.code.as_deref(), Some("upstream_auth_failed"));
    }

    #[test]
    fn gemini_rate_limit() {
        let body = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"32s"}]}}"#;
        let f = UpstreamFailure::parse(Dialect::Gemini, 429, None, body);
        assert_eq!(f.retry_after_secs, Some(32.0));
        let (status, e) = f.to_openai_error("gemini");
        assert_eq!((status, e.error.kind.as_str()), (429, "rate_limit_error"));
        assert!(e
            .error
            .message
            .starts_with("gemini returned HTTP 429: Resource has been exhausted"));
    }

    #[test]
    fn openai_key_is_redacted() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnop. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let f = UpstreamFailure::parse(Dialect::OpenAi, 401, None, body);
        assert!(f.auth);
        assert!(!f.message.contains("abcdefghijklmnop"), "{}", f.message);
        assert!(f.message.contains("[redacted]"));
    }

    #[test]
    fn html_page_names_title() {
        let body = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>";
        let f =
            UpstreamFailure::parse(Dialect::OpenAi, 502, Some("text/html; charset=utf-8"), body);
        assert!(f.html);
        let (status, e) = f.to_openai_error("vllm");
        assert_eq!(status, 502);
        assert_eq!(
            e.error.message,
            "vllm returned HTTP 502 with an HTML error page (\"502 Bad Gateway\")"
        );
    }

    #[test]
    fn unknown_text_and_empty_body() {
        let f = UpstreamFailure::parse(
            Dialect::Anthropic,
            500,
            Some("text/plain"),
            "upstream connect error",
        );
        assert_eq!(
            f.to_openai_error("a").1.error.message,
            "a returned HTTP 500: upstream connect error"
        );
        let f = UpstreamFailure::parse(Dialect::Gemini, 503, None, "");
        assert_eq!(f.to_openai_error("g").0, 503);
        assert!(f.message.contains("empty"));
    }

    #[test]
    fn long_messages_are_shortened() {
        let long = "x".repeat(5000);
        let f = UpstreamFailure::parse(Dialect::OpenAi, 500, None, &long);
        assert!(f.message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn redaction_patterns() {
        assert_eq!(
            redact_secrets("use key=AIzaSyA1234567890abcdefg now"),
            "use key=[redacted] now"
        );
        assert_eq!(
            redact_secrets("Authorization: Bearer abcdef123456"),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(redact_secrets("sk-ant-api03-xyzxyzxyz"), "[redacted]");
        assert_eq!(redact_secrets("a sketch: sk-1"), "a sketch: sk-1");
    }
}
