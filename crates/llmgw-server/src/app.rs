//! The axum application: routes, OpenAI-shaped fallbacks, the request-id layer.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use llmgw_types::ApiError;

use crate::error::{method_not_allowed, unknown_route, HttpError};
use crate::handlers::{admin, analytics, chat, dashboard, feedback, health, models, route};
use crate::meta::request_id_layer;
use crate::state::AppState;

/// The gateway's HTTP routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/v1/route", post(route::route_only))
        .route("/v1/feedback", post(feedback::feedback))
        .route("/v1/models", get(models::list_models))
        .route("/v1/models/{*model}", get(retrieve_model))
        .route("/health", get(health::health))
        .route("/admin/keys", get(admin::list).post(admin::issue))
        .route("/admin/keys/{id}", get(admin::get).delete(admin::revoke))
        .route("/metrics", get(crate::metrics::handler))
        .route("/v1/analytics/spend", get(analytics::spend))
        .route("/v1/analytics/overview", get(analytics::overview))
        .route("/dashboard", get(dashboard::page))
        .fallback(fallback)
        .method_not_allowed_fallback(wrong_method)
        // Bodies are read by the handlers themselves, with the configured limit and an
        // OpenAI-shaped 413.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(request_id_layer))
        .with_state(state)
}

async fn fallback(method: Method, uri: Uri) -> Response {
    HttpError(unknown_route(method.as_str(), uri.path())).into_response()
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    HttpError(method_not_allowed(method.as_str(), uri.path())).into_response()
}

/// `GET /v1/models/{model}`: one entry of the list, or 404 `model_not_found`.
async fn retrieve_model(State(state): State<Arc<AppState>>, Path(model): Path<String>) -> Response {
    let list = models::model_list(&state);
    match list
        .data
        .into_iter()
        .find(|m| m.get("id").and_then(|v| v.as_str()) == Some(model.as_str()))
    {
        Some(entry) => Json(entry).into_response(),
        None => HttpError(ApiError::model_not_found(&model)).into_response(),
    }
}
