//! HTTP plumbing shared by the adapters: one pooled client per provider, time limits,
//! upstream error bodies, JSON bodies and SSE streams.

use crate::{ChunkStream, ProviderError, ProviderErrorKind, ProviderSettings, Secret, Timeouts};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use llmgw_translate::{redact_secrets, Dialect, TranslateError, UpstreamFailure};
use llmgw_types::{ChatCompletionChunk, StreamChunk};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Response, Url};
use serde::Serialize;
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// Largest error body read from an upstream (the rest is ignored).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A provider stream translator (Anthropic, Gemini, OpenAI pass-through). Chunks are
/// appended to `out`, which the caller empties after each call.
pub(crate) trait StreamTranslator: Send + 'static {
    /// Feeds one SSE `data:` payload.
    fn feed(&mut self, data: String, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError>;
    /// The byte stream ended.
    fn finish(&mut self, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError>;
    /// The terminal event was seen; nothing more needs reading.
    fn is_done(&self) -> bool;
}

/// Translated chunks carry no upstream payload.
fn push_translated(out: &mut Vec<StreamChunk>, chunks: Vec<ChatCompletionChunk>) {
    out.extend(chunks.into_iter().map(StreamChunk::new));
}

impl StreamTranslator for llmgw_translate::anthropic::AnthropicStream {
    fn feed(&mut self, data: String, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        push_translated(
            out,
            llmgw_translate::anthropic::AnthropicStream::feed(self, &data)?,
        );
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        push_translated(
            out,
            llmgw_translate::anthropic::AnthropicStream::finish(self)?,
        );
        Ok(())
    }
    fn is_done(&self) -> bool {
        llmgw_translate::anthropic::AnthropicStream::is_done(self)
    }
}

impl StreamTranslator for llmgw_translate::gemini::GeminiStream {
    fn feed(&mut self, data: String, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        push_translated(
            out,
            llmgw_translate::gemini::GeminiStream::feed(self, &data)?,
        );
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        push_translated(out, llmgw_translate::gemini::GeminiStream::finish(self)?);
        Ok(())
    }
    fn is_done(&self) -> bool {
        // Gemini has no terminal event: read to the end of the body.
        false
    }
}

impl StreamTranslator for llmgw_translate::openai::OpenAiStream {
    /// OpenAI chunks keep the upstream's payload, so they can be passed on as sent.
    fn feed(&mut self, data: String, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        out.extend(llmgw_translate::openai::OpenAiStream::feed_payload(
            self, data,
        )?);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<StreamChunk>) -> Result<(), TranslateError> {
        push_translated(out, llmgw_translate::openai::OpenAiStream::finish(self)?);
        Ok(())
    }
    fn is_done(&self) -> bool {
        llmgw_translate::openai::OpenAiStream::is_done(self)
    }
}

/// One provider's connection settings and pooled client.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub name: String,
    pub dialect: Dialect,
    /// Where requests go, parsed once (for Gemini, the prefix that the model and the method
    /// are appended to).
    pub endpoint: Url,
    client: Client,
    headers: HeaderMap,
    timeouts: Timeouts,
    secret: Option<Secret>,
}

impl Upstream {
    /// Builds the client and the headers sent with every request (`auth` first, then the
    /// settings' extra headers). `endpoint` turns the base URL (trimmed, without a trailing
    /// `/`) into the URL requests go to; it is parsed here, once.
    pub fn new(
        settings: &ProviderSettings,
        dialect: Dialect,
        auth: Vec<(&'static str, String)>,
        endpoint: impl FnOnce(&str) -> String,
    ) -> Result<Upstream, ProviderError> {
        let name = settings.name.clone();
        let config_err = |what: String| ProviderError::new(ProviderErrorKind::Config, &name, what);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in auth {
            let mut value = HeaderValue::from_str(&v).map_err(|_| {
                config_err(format!(
                    "{name}: the API key contains characters not allowed in an HTTP header"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static(k), value);
        }
        for (k, v) in &settings.extra_headers {
            let key = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                config_err(format!("{name}: `{k}` is not a valid HTTP header name"))
            })?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                config_err(format!(
                    "{name}: the value of header `{k}` is not a valid HTTP header value"
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(key, value);
        }
        let base_url = settings.base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(config_err(format!(
                "{name}: base URL `{base_url}` must start with http:// or https://"
            )));
        }
        let endpoint = Url::parse(&endpoint(&base_url)).map_err(|e| {
            config_err(format!(
                "{name}: base URL `{base_url}` is not a valid URL: {e}"
            ))
        })?;
        let client = Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| config_err(format!("{name}: cannot build the HTTP client: {e}")))?;
        Ok(Upstream {
            name,
            dialect,
            endpoint,
            client,
            headers,
            timeouts: settings.timeouts,
            secret: settings.api_key.clone(),
        })
    }

    /// Removes anything key-like, and the configured key itself, from a message.
    pub fn redact(&self, text: &str) -> String {
        let mut s = redact_secrets(text);
        if let Some(key) = self
            .secret
            .as_ref()
            .map(Secret::expose)
            .filter(|k| k.len() >= 4)
        {
            s = s.replace(key, "[redacted]");
        }
        s
    }

    fn err(&self, kind: ProviderErrorKind, message: impl AsRef<str>) -> ProviderError {
        ProviderError::new(kind, &self.name, self.redact(message.as_ref()))
    }

    /// Maps a reqwest error (connect, timeout, body) to a provider error.
    fn transport_error(&self, e: reqwest::Error, during: &str) -> ProviderError {
        let kind = if e.is_timeout() {
            ProviderErrorKind::Timeout
        } else if e.is_body() || e.is_decode() {
            ProviderErrorKind::StreamCut
        } else {
            ProviderErrorKind::Connect
        };
        let causes = error_causes(&e);
        let mut detail = e.without_url().to_string();
        for cause in causes {
            if !detail.contains(&cause) {
                detail.push_str(": ");
                detail.push_str(&cause);
            }
        }
        self.err(kind, format!("{}: {during}: {detail}", self.name))
    }

    /// POSTs `body` (serialised once, straight to bytes) to `url`. Success statuses return
    /// the response and the call's deadline; failures are read and classified. Streams must
    /// see headers within `first_token`.
    pub async fn post<B: Serialize + ?Sized>(
        &self,
        url: Url,
        body: &B,
        stream: bool,
    ) -> Result<(Response, Instant), ProviderError> {
        let start = Instant::now();
        let deadline = start + self.timeouts.total;
        let headers_by = if stream {
            deadline.min(start + self.timeouts.first_token)
        } else {
            deadline
        };
        let req = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .json(body);
        let resp = match timeout_at(headers_by, req.send()).await {
            Err(_) => {
                return Err(self.err(
                    ProviderErrorKind::Timeout,
                    format!(
                        "{} did not answer within {:?}",
                        self.name,
                        headers_by - start
                    ),
                ))
            }
            Ok(Err(e)) => return Err(self.transport_error(e, "request failed")),
            Ok(Ok(resp)) => resp,
        };
        if resp.status().is_success() {
            return Ok((resp, deadline));
        }
        Err(self.failure(resp, deadline).await)
    }

    /// Reads and classifies a non-success response.
    async fn failure(&self, mut resp: Response, deadline: Instant) -> ProviderError {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = retry_after(resp.headers());
        let mut body = Vec::new();
        let read = timeout_at(deadline, async {
            while let Ok(Some(chunk)) = resp.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() >= MAX_ERROR_BODY {
                    break;
                }
            }
        })
        .await;
        let _ = read; // A body that cannot be read in time is classified from what arrived.
        let text = String::from_utf8_lossy(&body);
        let failure = UpstreamFailure::parse(self.dialect, status, content_type.as_deref(), &text);
        let mut err = ProviderError::from_failure(&self.name, &failure, retry_after);
        err.message = self.redact(&err.message);
        tracing::debug!(provider = %self.name, status, kind = err.kind.as_str(), "upstream failure");
        err
    }

    /// Reads a whole success body before the deadline.
    pub async fn read_body(
        &self,
        resp: Response,
        deadline: Instant,
    ) -> Result<(String, Option<String>), ProviderError> {
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match timeout_at(deadline, resp.bytes()).await {
            Err(_) => Err(self.err(
                ProviderErrorKind::Timeout,
                format!("{} did not finish its answer in time", self.name),
            )),
            Ok(Err(e)) => Err(self.transport_error(e, "the answer was cut off")),
            Ok(Ok(bytes)) => Ok((String::from_utf8_lossy(&bytes).into_owned(), content_type)),
        }
    }

    /// Parses a success body as JSON of type `T`, classifying truncated and non-JSON bodies.
    pub fn parse_json<T: serde::de::DeserializeOwned>(
        &self,
        body: &str,
        content_type: Option<&str>,
    ) -> Result<T, ProviderError> {
        serde_json::from_str(body).map_err(|e| {
            if e.is_eof() {
                self.err(
                    ProviderErrorKind::StreamCut,
                    format!("{}: the answer ended before it was complete", self.name),
                )
            } else if content_type.is_some_and(|c| c.contains("text/html"))
                || body.trim_start().starts_with('<')
            {
                self.err(
                    ProviderErrorKind::InvalidResponse,
                    format!("{} answered with an HTML page instead of JSON", self.name),
                )
            } else {
                self.err(
                    ProviderErrorKind::InvalidResponse,
                    format!("{} sent an unreadable answer: {e}", self.name),
                )
            }
        })
    }

    /// A translation failure as a provider error.
    pub fn translate_err(&self, e: &TranslateError) -> ProviderError {
        let mut err = ProviderError::from_translate(&self.name, e);
        err.message = self.redact(&err.message);
        err
    }

    /// Turns an SSE response into OpenAI chunks, yielding each as soon as it is translated.
    /// The first chunk must come within `first_token` of `start`, later events within
    /// `first_token` of each other, and everything before the call's total deadline.
    pub fn sse<T: StreamTranslator>(
        self: std::sync::Arc<Self>,
        resp: Response,
        mut translator: T,
        deadline: Instant,
    ) -> ChunkStream {
        let up = self;
        let start = Instant::now();
        let s = async_stream::stream! {
            let mut events = resp.bytes_stream().eventsource();
            let mut out: Vec<StreamChunk> = Vec::new();
            let mut first_chunk_by = Some(deadline.min(start + up.timeouts.first_token));
            loop {
                let wait_until = match first_chunk_by {
                    Some(t) => t,
                    None => deadline.min(Instant::now() + up.timeouts.first_token),
                };
                let next = timeout_at(wait_until, events.next()).await;
                let event = match next {
                    Err(_) => {
                        let what = if first_chunk_by.is_some() { "the first token" } else { "the next event" };
                        yield Err(up.err(ProviderErrorKind::Timeout, format!("{}: timed out waiting for {what}", up.name)));
                        break;
                    }
                    Ok(None) => {
                        match translator.finish(&mut out) {
                            Ok(()) => for c in out.drain(..) { yield Ok(c); },
                            Err(e) => yield Err(up.translate_err(&e)),
                        }
                        break;
                    }
                    Ok(Some(Err(e))) => {
                        // The connection broke. Complete if the translator already saw the end.
                        match translator.finish(&mut out) {
                            Ok(()) => for c in out.drain(..) { yield Ok(c); },
                            Err(_) => yield Err(up.err(
                                ProviderErrorKind::StreamCut,
                                format!("{}: the stream was cut before the answer was complete ({})", up.name, e),
                            )),
                        }
                        break;
                    }
                    Ok(Some(Ok(event))) => event,
                };
                if event.data.is_empty() {
                    continue;
                }
                match translator.feed(event.data, &mut out) {
                    Ok(()) => {
                        if !out.is_empty() {
                            first_chunk_by = None;
                        }
                        for c in out.drain(..) {
                            yield Ok(c);
                        }
                    }
                    Err(e) => {
                        yield Err(up.translate_err(&e));
                        break;
                    }
                }
                if translator.is_done() {
                    match translator.finish(&mut out) {
                        Ok(()) => for c in out.drain(..) { yield Ok(c); },
                        Err(e) => yield Err(up.translate_err(&e)),
                    }
                    break;
                }
            }
        };
        s.boxed()
    }
}

/// `retry-after-ms` or `retry-after` (seconds) as a duration.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// The causes of an error (reqwest hides them in its own message).
fn error_causes(e: &reqwest::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out
}
