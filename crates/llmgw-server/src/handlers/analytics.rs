//! `GET /v1/analytics/spend` and `GET /v1/analytics/overview`: spend, savings, cache hits,
//! routing and latency, computed with polars over the outcome log (published Parquet files
//! plus the rows not yet flushed) on a blocking thread.
//!
//! Access: while the gateway is open (no gateway keys) anyone may read them; otherwise the
//! admin key sees every row and a gateway key sees only its own rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmgw_analytics::{AnalyticsError, Bucket, Filter, GroupBy, KeyScope, Reference};
use llmgw_outcomes::OutcomeLog;
use llmgw_types::{ApiError, ErrorBody};
use serde_json::{json, Value};

use crate::error::HttpError;
use crate::state::AppState;

/// Parameters of the two endpoints.
const SPEND_PARAMS: &[&str] = &["group_by", "from", "to", "reference_model"];
const OVERVIEW_PARAMS: &[&str] = &["bucket", "from", "to", "reference_model"];

/// The query string as a map, after rejecting unknown and repeated parameters.
fn params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    allowed: &[&str],
) -> Result<BTreeMap<String, String>, ApiError> {
    let Query(pairs) =
        query.map_err(|e| ApiError::bad_request(format!("Malformed query string: {e}."), None))?;
    let mut out = BTreeMap::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::bad_request(
                format!(
                    "Unknown query parameter `{name}`; expected {}.",
                    allowed.join(", ")
                ),
                Some(&name),
            ));
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_request(
                format!("Query parameter `{name}` is given more than once."),
                Some(&name),
            ));
        }
    }
    Ok(out)
}

/// Whose rows the caller may see, and how to describe it.
struct Access {
    scope: KeyScope,
    label: &'static str,
}

fn access(state: &AppState, headers: &HeaderMap) -> Result<Access, ApiError> {
    if state.auth.is_open() {
        return Ok(Access {
            scope: KeyScope::All,
            label: "open",
        });
    }
    if state.governor.admin_enabled() {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if state.governor.authenticate_admin(value).is_ok() {
            return Ok(Access {
                scope: KeyScope::All,
                label: "admin",
            });
        }
    }
    let caller = state.auth.authenticate(headers)?;
    match caller.key_id {
        Some(id) => Ok(Access {
            scope: KeyScope::Key(id),
            label: "key",
        }),
        None => Err(ApiError::new(
            403,
            ErrorBody::permission("Analytics need the admin key or a gateway key.")
                .with_code("analytics_forbidden"),
        )),
    }
}

fn outcome_log(state: &AppState) -> Result<OutcomeLog, ApiError> {
    state.outcomes.clone().ok_or_else(|| {
        ApiError::new(
            503,
            ErrorBody::server_error(
                "Analytics need the outcome log, and this gateway runs without one \
                 (start it with --log-dir DIR or set server.log_dir).",
            )
            .with_code("outcome_log_disabled"),
        )
    })
}

fn analytics_error(e: AnalyticsError) -> ApiError {
    match e {
        AnalyticsError::InvalidParam { param, message } => {
            ApiError::bad_request(format!("Invalid `{param}`: {message}."), Some(param))
        }
        other => ApiError::internal(format!("Could not compute analytics: {other}")),
    }
}

/// What both endpoints share: access, the log, the filter and the reference model.
struct Prepared {
    access: Access,
    log: OutcomeLog,
    filter: Filter,
    reference: Reference,
    params: BTreeMap<String, String>,
}

fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    allowed: &[&str],
) -> Result<Prepared, ApiError> {
    let access = access(state, headers)?;
    let params = params(query, allowed)?;
    let log = outcome_log(state)?;
    let get = |k: &str| params.get(k).map(String::as_str);
    let filter = Filter::from_params(get("from"), get("to"), access.scope.clone())
        .map_err(analytics_error)?;
    let reference = Reference::choose(
        &state.config.catalog,
        get("reference_model"),
        state.config.analytics.reference_model.as_deref(),
    )
    .map_err(analytics_error)?;
    Ok(Prepared {
        access,
        log,
        filter,
        reference,
        params,
    })
}

/// Runs `compute` over a fresh view of the log on a blocking thread.
async fn compute<T, F>(p: &Prepared, compute: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&llmgw_outcomes::LogView, &Filter, &Reference) -> Result<T, AnalyticsError>
        + Send
        + 'static,
{
    let log = p.log.clone();
    let filter = p.filter.clone();
    let reference = p.reference.clone();
    tokio::task::spawn_blocking(move || {
        let view = log.view(filter.since_partition().as_deref())?;
        compute(&view, &filter, &reference)
    })
    .await
    .map_err(|e| ApiError::internal(format!("The analytics task failed: {e}")))?
    .map_err(analytics_error)
}

/// The envelope of both answers: `object`, range, access, then the report's fields.
fn envelope(object: &str, p: &Prepared, report: Value) -> Value {
    let mut out = json!({
        "object": object,
        "from": p.filter.from_us.map(llmgw_analytics::rfc3339),
        "to": p.filter.to_us.map(llmgw_analytics::rfc3339),
        "access": p.access.label,
    });
    if let KeyScope::Key(id) = &p.access.scope {
        out["api_key_id"] = json!(id);
    }
    if p.access.label == "open" {
        out["note"] = json!(
            "The gateway is open (no gateway keys are configured): anyone can read these analytics."
        );
    }
    if let (Value::Object(o), Value::Object(r)) = (&mut out, report) {
        o.extend(r);
    }
    out
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

/// `GET /v1/analytics/spend?group_by=model|provider|key|day|hour|minute&from=&to=&reference_model=`.
pub async fn spend(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    answer(
        async {
            let p = prepare(&state, &headers, query, SPEND_PARAMS)?;
            let group_by = GroupBy::parse(p.params.get("group_by").map_or("model", String::as_str))
                .map_err(analytics_error)?;
            let report = compute(&p, move |view, filter, reference| {
                llmgw_analytics::spend(view, filter, group_by, reference)
            })
            .await?;
            let value = serde_json::to_value(report)
                .map_err(|e| ApiError::internal(format!("Could not encode the report: {e}")))?;
            Ok(envelope("analytics.spend", &p, value))
        }
        .await,
    )
}

/// `GET /v1/analytics/overview?bucket=minute|hour|day&from=&to=&reference_model=`: what the
/// dashboard shows.
pub async fn overview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    answer(
        async {
            let p = prepare(&state, &headers, query, OVERVIEW_PARAMS)?;
            let bucket = Bucket::parse(
                p.params.get("bucket").map_or("hour", String::as_str),
                "bucket",
            )
            .map_err(analytics_error)?;
            let report = compute(&p, move |view, filter, reference| {
                llmgw_analytics::overview(view, filter, bucket, reference)
            })
            .await?;
            let value = serde_json::to_value(report)
                .map_err(|e| ApiError::internal(format!("Could not encode the report: {e}")))?;
            Ok(envelope("analytics.overview", &p, value))
        }
        .await,
    )
}
