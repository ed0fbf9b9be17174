//! Paced response bodies: streams emitted frame by frame, and connections cut mid-way.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use crate::pacing::Pace;

/// Pause before a simulated cut, so the bytes already written reach the client before the drop.
const CUT_GRACE: Duration = Duration::from_millis(20);

/// What a frame carries, which decides pacing and where a cut may fall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// Framing without generated content (role chunk, `message_start`, block start/stop, ping).
    Structural,
    /// Generated content of this many tokens (fractional): paced, and counted by `cut_after`.
    Content(f64),
    /// The end of the answer (finish chunk, usage, `[DONE]`, `message_stop`): never sent after a cut.
    Terminal,
}

/// One piece of a streamed body.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub bytes: Bytes,
    pub kind: Kind,
}

impl Frame {
    pub(crate) fn new(bytes: impl Into<Bytes>, kind: Kind) -> Frame {
        Frame {
            bytes: bytes.into(),
            kind,
        }
    }

    /// A server-sent event with an optional `event:` name and one `data:` line, ended by `eol` twice.
    pub(crate) fn sse(event: Option<&str>, data: &str, eol: &str, kind: Kind) -> Frame {
        let mut s = String::with_capacity(data.len() + 32);
        if let Some(name) = event {
            s.push_str("event: ");
            s.push_str(name);
            s.push_str(eol);
        }
        s.push_str("data: ");
        s.push_str(data);
        s.push_str(eol);
        s.push_str(eol);
        Frame::new(s, kind)
    }
}

/// A body that emits `frames` as the simulated model generates them: `first_token` before the first
/// content frame, then each content frame after its tokens' generation time. With `cut_after = Some(n)`,
/// the connection is dropped after n content frames, and in any case before the first terminal frame.
pub(crate) fn paced(frames: Vec<Frame>, pace: Pace, cut_after: Option<usize>) -> Body {
    let stream = async_stream::stream! {
        let mut sent = 0usize;
        for frame in frames {
            let cut_here = cut_after.is_some_and(|n| match frame.kind {
                Kind::Structural => false,
                Kind::Content(_) => sent >= n,
                Kind::Terminal => true,
            });
            if cut_here {
                tokio::time::sleep(CUT_GRACE).await;
                yield Err(io::Error::other("simulated connection cut"));
                return;
            }
            if let Kind::Content(weight) = frame.kind {
                let wait = if sent == 0 { pace.first_token() } else { pace.generation(weight) };
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                sent += 1;
            }
            yield Ok::<Bytes, io::Error>(frame.bytes);
        }
    };
    Body::from_stream(stream)
}

/// A body that sends the first half of `full`, then drops the connection.
pub(crate) fn truncated(full: Bytes) -> Body {
    let half = full.slice(..full.len() / 2);
    let stream = async_stream::stream! {
        yield Ok::<Bytes, io::Error>(half);
        tokio::time::sleep(CUT_GRACE).await;
        yield Err(io::Error::other("simulated connection cut"));
    };
    Body::from_stream(stream)
}

/// A 200 response with a JSON body, or (when `cut`) one that announces the full length, sends half
/// and drops the connection.
pub(crate) fn json_response(value: &serde_json::Value, cut: bool) -> Response {
    let bytes = Bytes::from(value.to_string());
    let len = bytes.len();
    let body = if cut {
        truncated(bytes)
    } else {
        Body::from(bytes)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

/// A 200 streaming response of `content_type` paced as [`paced`] describes.
pub(crate) fn stream_response(
    content_type: &'static str,
    frames: Vec<Frame>,
    pace: Pace,
    cut_after: Option<usize>,
) -> Response {
    let mut resp = Response::new(paced(frames, pace, cut_after));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn collect(body: Body) -> (Vec<Bytes>, bool) {
        let mut stream = body.into_data_stream();
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => out.push(b),
                Err(_) => return (out, true),
            }
        }
        (out, false)
    }

    fn frames() -> Vec<Frame> {
        vec![
            Frame::new("start", Kind::Structural),
            Frame::new("a", Kind::Content(1.0)),
            Frame::new("b", Kind::Content(1.0)),
            Frame::new("stop", Kind::Structural),
            Frame::new("end", Kind::Terminal),
        ]
    }

    #[tokio::test]
    async fn sends_every_frame_without_a_cut() {
        let (out, failed) = collect(paced(frames(), Pace::new(0, 0.0), None)).await;
        assert!(!failed);
        assert_eq!(out.concat(), b"startabstopend");
    }

    #[tokio::test]
    async fn cut_drops_before_the_next_content_or_terminal_frame() {
        let (out, failed) = collect(paced(frames(), Pace::new(0, 0.0), Some(1))).await;
        assert!(failed);
        assert_eq!(out.concat(), b"starta");
        let (out, failed) = collect(paced(frames(), Pace::new(0, 0.0), Some(0))).await;
        assert!(failed);
        assert_eq!(out.concat(), b"start");
        let (out, failed) = collect(paced(frames(), Pace::new(0, 0.0), Some(9))).await;
        assert!(failed);
        assert_eq!(out.concat(), b"startabstop");
    }

    #[tokio::test]
    async fn truncated_body_sends_half_then_fails() {
        let (out, failed) = collect(truncated(Bytes::from_static(b"0123456789"))).await;
        assert!(failed);
        assert_eq!(out.concat(), b"01234");
    }

    #[test]
    fn sse_frames_are_well_formed() {
        let f = Frame::sse(Some("ping"), "{}", "\n", Kind::Structural);
        assert_eq!(f.bytes, Bytes::from_static(b"event: ping\ndata: {}\n\n"));
        let f = Frame::sse(None, "[DONE]", "\r\n", Kind::Terminal);
        assert_eq!(f.bytes, Bytes::from_static(b"data: [DONE]\r\n\r\n"));
    }
}
