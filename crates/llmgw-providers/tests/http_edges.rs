#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Transport-level behaviour that the simulator does not cover: unreachable hosts, bad
//! settings, URL shapes.

use llmgw_providers::{Provider, ProviderErrorKind, ProviderKind, ProviderSettings, Timeouts};
use llmgw_types::{ChatCompletionRequest, ChatMessage};
use std::time::Duration;

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn unreachable_upstream_is_a_connect_error() {
    for kind in [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
    ] {
        let settings = ProviderSettings::new("down", kind)
            .with_base_url(closed_port_url())
            .with_api_key("sk-edge-SECRET-abcdef")
            .with_timeouts(Timeouts {
                connect: Duration::from_secs(2),
                first_token: Duration::from_secs(2),
                total: Duration::from_secs(5),
            });
        let p = Provider::new(&settings).unwrap();
        let req = ChatCompletionRequest::new("m", vec![ChatMessage::user("hi")]);
        let err = p.complete(&req).await.unwrap_err();
        assert_eq!(
            err.kind,
            ProviderErrorKind::Connect,
            "{kind}: {}",
            err.message
        );
        assert!(err.message.starts_with("down:"), "{}", err.message);
        assert!(!err.message.contains("SECRET"));
        assert!(err.is_retryable() && err.should_fall_back());
        let (status, body) = err.to_openai_error();
        assert_eq!(
            (status, body.error.code.as_deref()),
            (502, Some("upstream_unreachable"))
        );
        let mut sreq = req.clone();
        sreq.stream = Some(true);
        let err = p
            .stream(&sreq)
            .await
            .err()
            .expect("stream fails before the first byte");
        assert_eq!(err.kind, ProviderErrorKind::Connect);
    }
}

#[test]
fn bad_settings_are_config_errors() {
    let bad_url = ProviderSettings::new("x", ProviderKind::OpenAi).with_base_url("localhost:8000");
    let err = Provider::new(&bad_url).unwrap_err();
    assert_eq!(err.kind, ProviderErrorKind::Config);
    assert!(err.message.contains("http://"), "{}", err.message);

    let bad_header =
        ProviderSettings::new("x", ProviderKind::Anthropic).with_header("bad header", "v");
    assert_eq!(
        Provider::new(&bad_header).unwrap_err().kind,
        ProviderErrorKind::Config
    );

    let bad_key = ProviderSettings::new("x", ProviderKind::Gemini).with_api_key("line\nbreak");
    let err = Provider::new(&bad_key).unwrap_err();
    assert!(!err.message.contains("line\nbreak"));
    assert_eq!(err.to_openai_error().0, 500);
}

#[test]
fn debug_output_hides_keys() {
    let s = ProviderSettings::new("x", ProviderKind::OpenAi).with_api_key("sk-live-SECRET-123456");
    let p = Provider::new(&s).unwrap();
    let dbg = format!("{p:?} {s:?}");
    assert!(!dbg.contains("SECRET"), "{dbg}");
}
