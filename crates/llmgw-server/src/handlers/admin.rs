//! The admin API for gateway keys, guarded by the admin key (`[admin]` in the config):
//! `GET /admin/keys`, `POST /admin/keys`, `GET /admin/keys/{id}`, `DELETE /admin/keys/{id}`.
//! Keys are shown once, when issued; the gateway keeps only their hashes (in the keys file
//! when one is configured, so that issued and revoked keys survive a restart).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmgw_governance::{GovernError, KeyPolicy, KeyStoreError, KeyUsage, NewKey};
use llmgw_types::{ApiError, ErrorBody};
use serde::Serialize;

use crate::error::HttpError;
use crate::stages::validate;
use crate::state::AppState;

/// A key as the admin API shows it (never the key or its hash).
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// Key id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Allowed models (`null`: all).
    pub models: Option<Vec<String>>,
    /// Daily budget, USD.
    pub daily_budget_usd: Option<f64>,
    /// Monthly budget, USD.
    pub monthly_budget_usd: Option<f64>,
    /// Requests per minute.
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute.
    pub tokens_per_minute: Option<u64>,
    /// Spend in the current UTC day and month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<KeyUsage>,
    /// The key itself: only in the answer that issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn view(p: &KeyPolicy, usage: Option<KeyUsage>, key: Option<String>) -> KeyView {
    let s = p.spec();
    KeyView {
        id: p.id().to_string(),
        tenant: p.tenant().to_string(),
        description: s.description.clone(),
        models: s.models.clone(),
        daily_budget_usd: s.daily_budget_usd,
        monthly_budget_usd: s.monthly_budget_usd,
        requests_per_minute: s.requests_per_minute,
        tokens_per_minute: s.tokens_per_minute,
        usage,
        key,
    }
}

fn guard(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    state
        .governor
        .authenticate_admin(value)
        .map_err(|e| e.to_api_error())
}

fn answer(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| HttpError(e).into_response())
}

async fn usage(state: &AppState, id: &str) -> Result<KeyUsage, ApiError> {
    state.governor.usage(id).await.map_err(|e| e.to_api_error())
}

/// `GET /admin/keys`.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    answer(
        async {
            guard(&state, &headers)?;
            let mut out = Vec::new();
            for p in state.governor.keys().list() {
                let u = usage(&state, p.id()).await?;
                out.push(view(&p, Some(u), None));
            }
            Ok(Json(serde_json::json!({"object": "list", "data": out})).into_response())
        }
        .await,
    )
}

/// `GET /admin/keys/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            guard(&state, &headers)?;
            let p = state
                .governor
                .keys()
                .get(&id)
                .ok_or_else(|| not_found(&id))?;
            let u = usage(&state, &id).await?;
            Ok(Json(view(&p, Some(u), None)).into_response())
        }
        .await,
    )
}

/// `POST /admin/keys`: issue a key (body: the limits, all optional, and an optional `id`).
pub async fn issue(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            guard(&state, &headers)?;
            let bytes =
                validate::read_body(&headers, body, state.config.server.max_body_bytes).await?;
            let req: NewKey = if bytes.iter().all(u8::is_ascii_whitespace) {
                NewKey::default()
            } else {
                validate::parse_json(&bytes)?
            };
            let (policy, key) = state.governor.keys().issue(req).map_err(|e| match e {
                KeyStoreError::Spec(e) => ApiError::new(
                    400,
                    ErrorBody::invalid_request(e.to_string()).with_code("invalid_key_spec"),
                ),
                KeyStoreError::File(e) => {
                    tracing::error!(error = %e, "a gateway key could not be saved");
                    GovernError::KeysNotSaved(e.to_string()).to_api_error()
                }
            })?;
            tracing::info!(key_id = policy.id(), "gateway key issued");
            let body = view(&policy, None, Some(key.expose().to_string()));
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        .await,
    )
}

/// `DELETE /admin/keys/{id}`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    answer(
        async {
            guard(&state, &headers)?;
            if !state
                .governor
                .revoke(&id)
                .await
                .map_err(|e| e.to_api_error())?
            {
                return Err(not_found(&id));
            }
            tracing::info!(key_id = %id, "gateway key revoked");
            Ok(Json(serde_json::json!({"id": id, "revoked": true})).into_response())
        }
        .await,
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        ErrorBody::not_found(format!("No gateway key with id `{id}`.")).with_code("key_not_found"),
    )
}
