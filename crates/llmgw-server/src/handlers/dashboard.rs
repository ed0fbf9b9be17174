//! `GET /dashboard`: one self-contained page (inline HTML, CSS, JS and SVG; nothing is
//! loaded from elsewhere) that polls `/v1/analytics/overview` and draws spend, savings,
//! the model mix, routing by difficulty, cache hit rate and latency percentiles.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The page.
pub const DASHBOARD_HTML: &str = include_str!("../../assets/dashboard.html");

/// `GET /dashboard`. The page holds no data; it reads the analytics API with the key the
/// user enters (kept in the browser's localStorage).
pub async fn page() -> Response {
    let mut resp = DASHBOARD_HTML.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}
