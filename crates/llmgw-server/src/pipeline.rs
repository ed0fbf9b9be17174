//! The request path of `POST /v1/chat/completions`, stage by stage:
//! auth → validate → route → cache → call → respond → record.
//!
//! Each stage is a module under `stages/` with a narrow interface; this file only wires
//! them together and keeps the per-request record and response headers up to date.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use llmgw_outcomes::{Candidate as LoggedCandidate, OutcomeRecord};
use llmgw_types::{ApiError, ChatCompletionRequest};

use crate::auto::AutoDecision;
use crate::meta::{RequestId, ResponseMeta, RoutingHeaders};
use crate::stages::call::{self, Answer, Budgets};
use crate::stages::record::{self, RecordGuard};
use crate::stages::respond::{self, StreamPlan};
use crate::stages::route::{self, Routed, Target};
use crate::stages::{cache, validate};
use crate::state::AppState;

/// One request in flight: its record, the headers learned so far, its clock.
struct Flight {
    rec: OutcomeRecord,
    meta: ResponseMeta,
    started: Instant,
    /// Time spent waiting for upstream calls (for streams: until their first token).
    upstream_wait: Duration,
    /// For the record of a request dropped before it answered (see `Drop`).
    state: Arc<AppState>,
}

impl Flight {
    /// Hand the record over to whoever writes it; the flight no longer does.
    fn take_record(&mut self) -> OutcomeRecord {
        std::mem::replace(&mut self.rec, OutcomeRecord::new("", "", SystemTime::now()))
    }
}

/// A request whose handler is dropped before it answered (the client went away while the
/// gateway waited, e.g. on the provider) is still recorded, once, as `client_closed`.
impl Drop for Flight {
    fn drop(&mut self) {
        if self.rec.request_id.is_empty() {
            return;
        }
        let mut rec = self.take_record();
        rec.status = record::CLIENT_CLOSED_STATUS;
        rec.error_kind = Some("client_closed".to_string());
        let state = &self.state;
        record::finish_now(
            state.outcomes.as_ref(),
            &state.tasks,
            &state.metrics,
            rec,
            self.started,
        );
    }
}

impl Flight {
    /// Time the gateway itself has spent so far: elapsed minus upstream waits, in ms.
    fn overhead_ms(&self) -> f64 {
        let own = self.started.elapsed().saturating_sub(self.upstream_wait);
        own.as_secs_f64() * 1000.0
    }

    /// Fix the overhead of a request whose response is ready: in the record and its header.
    fn close_overhead(&mut self, resp: &mut Response) {
        let ms = self.overhead_ms();
        self.rec.overhead_ms = Some(ms);
        crate::meta::set_overhead_ms(resp.headers_mut(), ms);
    }

    fn fail(&mut self, err: &ApiError, kind: &str) {
        self.rec.status = err.status;
        if self.rec.error_kind.is_none() {
            self.rec.error_kind = Some(kind.to_string());
        }
    }
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    state: Arc<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut flight = Flight {
        rec: OutcomeRecord::new(request_id.0, "", SystemTime::now()),
        meta: ResponseMeta::default(),
        started: Instant::now(),
        upstream_wait: Duration::ZERO,
        state: state.clone(),
    };
    match run(&state, &headers, body, &mut flight).await {
        Ok(Reply::Done(mut resp)) => {
            flight.close_overhead(&mut resp);
            record::finish(&state, flight.take_record(), flight.started).await;
            resp
        }
        Ok(Reply::Streaming(resp)) => resp,
        Err((err, kind)) => {
            flight.fail(&err, kind);
            let mut resp = respond::error(&err, &flight.meta);
            flight.close_overhead(&mut resp);
            record::finish(&state, flight.take_record(), flight.started).await;
            resp
        }
    }
}

enum Reply {
    /// Fully built; the pipeline records it.
    Done(Response),
    /// A stream whose record is written when it ends.
    Streaming(Response),
}

type StageError = (ApiError, &'static str);

fn at(kind: &'static str) -> impl Fn(ApiError) -> StageError {
    move |e| (e, kind)
}

async fn run(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
    flight: &mut Flight,
) -> Result<Reply, StageError> {
    // auth
    let caller = state
        .auth
        .authenticate(headers)
        .map_err(at("unauthorized"))?;
    flight.rec.api_key_id.clone_from(&caller.key_id);
    flight.rec.tenant.clone_from(&caller.tenant);

    // validate
    let bytes = validate::read_body(headers, body, state.config.server.max_body_bytes)
        .await
        .map_err(at("invalid_request"))?;
    let req: ChatCompletionRequest = validate::parse_json(&bytes).map_err(at("invalid_request"))?;
    flight.rec.requested_model.clone_from(&req.model);
    flight.rec.stream = req.is_stream();
    validate::check_chat_request(&req).map_err(at("invalid_request"))?;

    // route
    if let Some((provider, model)) = state
        .config
        .catalog
        .get(&req.model)
        .map(|m| (state.providers.get(&m.provider), m))
    {
        // A named model: report it even when the route stage refuses it.
        flight.meta.model = Some(model.id.clone());
        flight.meta.provider = Some(model.provider.clone());
        flight.meta.simulated = provider.is_some_and(|p| p.simulated);
    }
    // The client's cache options decide whether routing also computes the embedding.
    let cache_opts =
        cache::options(headers, &req, &state.config.cache).map_err(at("invalid_request"))?;
    let embedding = route::wants_embedding(state, &cache_opts);
    let routed = match route::resolve(state, &req, headers, embedding).await {
        Ok(routed) => routed,
        Err(e) => {
            flight.rec.error_kind = Some(
                e.body
                    .error
                    .code
                    .clone()
                    .unwrap_or_else(|| "routing_failed".to_string()),
            );
            return Err((e, "routing_failed"));
        }
    };
    note_route(flight, &routed, &req);
    note_skipped(flight, &routed);
    let prompt_tokens = routed
        .auto
        .as_ref()
        .map_or_else(|| estimate_prompt_tokens(&req), |a| a.prompt_tokens);
    validate::check_fits_model(&req, &routed.target.model, prompt_tokens)
        .map_err(at("invalid_request"))?;

    // govern: the models this caller may use, first choice first
    let who = if state.governor.is_open() {
        llmgw_governance::Principal::anonymous()
    } else {
        state
            .governor
            .principal(caller.key_id.as_deref())
            .map_err(|e| refused(flight, &e))?
    };
    let candidates = allowed_candidates(state, &who, &routed, &req, prompt_tokens)
        .map_err(|e| refused(flight, &e))?;
    if candidates.is_empty() {
        return Err((route::no_allowed_fallback(&routed), "provider_unavailable"));
    }
    if candidates[0].model.id != routed.target.model.id {
        note_target(flight, &candidates[0]);
    }

    // cache
    let semantic = cache_opts.min_similarity.filter(|_| state.cache.is_some());
    let named_embedding = match (&routed.auto, semantic) {
        (None, Some(_)) => cache::named_model_embedding(&state.auto, &req)
            .await
            .map_err(at("invalid_request"))?,
        _ => None,
    };
    if let Some((vector, encoder)) = &named_embedding {
        flight.rec.prompt_embedding = Some(vector.clone());
        flight.rec.embedding_model = Some(encoder.clone());
    }
    let embedding = routed
        .auto
        .as_ref()
        .and_then(|a| a.embedding.as_ref())
        .or(named_embedding.as_ref());
    let query = cache::CacheQuery {
        caller: &caller,
        model: &candidates[0].model.id,
        request: &req,
        embedding: embedding.map(|(vector, encoder)| cache::PromptEmbedding { vector, encoder }),
        min_similarity: semantic,
    };
    let cache_state = cache::lookup(state.cache.as_deref(), &query, cache_opts.bypass).await;
    flight.meta.cache = cache_state.label();
    flight.meta.cache_match = cache_state.match_kind();
    state
        .metrics
        .cache_lookup(cache_state.label(), cache_state.match_kind());
    if let cache::CacheOutcome::Hit(hit) = &cache_state {
        flight.rec.cache_hit = if hit.similarity.is_some() {
            llmgw_outcomes::CacheHit::Semantic
        } else {
            llmgw_outcomes::CacheHit::Exact
        };
        flight.rec.cache_similarity = hit.similarity.map(|s| s as f32);
        flight.meta.cache_similarity = hit.similarity;
        flight.rec.cost_usd = Some(0.0);
        if let Some(usage) = &hit.response.usage {
            flight.rec.prompt_tokens = Some(usage.prompt_tokens);
            flight.rec.completion_tokens = Some(usage.completion_tokens);
        }
        let model_id = &candidates[0].model.id;
        if !req.is_stream() {
            return Ok(Reply::Done(respond::json(
                hit.response.clone(),
                model_id,
                &flight.meta,
            )));
        }
        let chunks: Vec<Result<_, crate::upstream::UpstreamError>> =
            cache::replay_as_chunks(&hit.response)
                .into_iter()
                .map(|c| Ok(llmgw_types::StreamChunk::new(c)))
                .collect();
        return Ok(stream_reply(
            state,
            flight,
            &candidates[0],
            &req,
            Box::pin(futures::stream::iter(chunks)),
            None,
        ));
    }

    // admit: rate limits and budgets hold this request's worst-case cost until it settles
    let admission = crate::governance::admission(&req, prompt_tokens, &candidates);
    let mut permit = state
        .governor
        .admit(&who, admission)
        .await
        .map_err(|e| refused(flight, &e))?;
    // A client that goes away mid-call still pays for the prompt the provider received.
    permit.charge_if_dropped(llmgw_governance::Actual {
        tokens: prompt_tokens,
        cost_usd: candidates[0].model.cost_usd(prompt_tokens, 0, 0),
    });

    // call (retries, fallbacks, circuit breakers)
    let server = &state.config.server;
    let budgets = Budgets {
        first_token: server.first_token_timeout(),
        total: server.request_timeout(),
    };
    let call_started = Instant::now();
    let called = call::call_candidates(&state.executor, &candidates, &req, budgets).await;
    flight.upstream_wait += call_started.elapsed();
    let (answer, target) = match called {
        Ok((answer, winner, attempts)) => {
            note_attempts(flight, &attempts, &candidates, Some(winner));
            (answer, &candidates[winner])
        }
        Err((e, attempts)) => {
            note_attempts(flight, &attempts, &candidates, None);
            let kind: &'static str = match e.kind.as_str() {
                "upstream_timeout" => "upstream_timeout",
                "upstream_rate_limited" => "upstream_rate_limited",
                "circuit_open" => "circuit_open",
                _ => "upstream_error",
            };
            flight.rec.error_kind = Some(e.kind.clone());
            let wait = e.retry_after.or_else(|| {
                (e.kind == "circuit_open")
                    .then(|| attempts.shortest_breaker_wait())
                    .flatten()
            });
            flight.meta.retry_after_secs = wait.map(|d| d.as_secs_f64().ceil() as u64);
            // Failed calls are not billed: the hold is released, nothing is charged.
            permit.release().await;
            return Err((*e.error, kind));
        }
    };
    let first_choice_answered = std::ptr::eq(target, &candidates[0]);

    // respond (+ record)
    match answer {
        Answer::Complete(resp) => {
            let resp = *resp;
            if let Some(usage) = &resp.usage {
                record::apply_usage(&mut flight.rec, usage, &target.model);
            }
            flight.rec.finish_reason = resp
                .choices
                .first()
                .and_then(|c| c.finish_reason)
                .map(|r| r.as_str().to_string());
            flight.rec.first_token_at = Some(SystemTime::now());
            let actual = crate::governance::actual_usage(
                &flight.rec,
                &target.model,
                prompt_tokens,
                response_chars(&resp),
            );
            permit.settle(actual).await;
            if matches!(cache_state, cache::CacheOutcome::Miss) && first_choice_answered {
                if let Some(c) = &state.cache {
                    c.store(&query, &resp).await;
                }
            }
            Ok(Reply::Done(respond::json(
                resp,
                &target.model.id,
                &flight.meta,
            )))
        }
        Answer::Stream(chunks) => {
            let chunks = match (&cache_state, &state.cache) {
                (cache::CacheOutcome::Miss, Some(c)) if first_choice_answered => {
                    cache::store_when_complete(c.clone(), cache::OwnedQuery::new(&query), chunks)
                }
                _ => chunks,
            };
            Ok(stream_reply(
                state,
                flight,
                target,
                &req,
                chunks,
                Some((permit, prompt_tokens)),
            ))
        }
    }
}

/// Hand the stream to the respond stage; its record is written when the stream ends.
fn stream_reply(
    state: &Arc<AppState>,
    flight: &mut Flight,
    target: &Target,
    req: &ChatCompletionRequest,
    chunks: crate::upstream::ChunkStream,
    permit: Option<(llmgw_governance::Permit, u64)>,
) -> Reply {
    let server = &state.config.server;
    let plan = StreamPlan {
        model: target.model.clone(),
        provider: target.provider.name.clone(),
        client_wants_usage: req.include_usage(),
        first_chunk_budget: server.first_token_timeout(),
        total_budget: server
            .request_timeout()
            .saturating_sub(flight.started.elapsed()),
    };
    // The response goes out as soon as this returns: its overhead is known now.
    let overhead = flight.overhead_ms();
    flight.rec.overhead_ms = Some(overhead);
    flight.meta.overhead_ms = Some(overhead);
    let rec = flight.take_record();
    let mut guard = RecordGuard::new(state, rec, flight.started);
    if let Some((permit, prompt_tokens)) = permit {
        guard = guard.with_permit(permit, target.model.clone(), prompt_tokens);
    }
    Reply::Streaming(respond::sse(chunks, plan, guard, &flight.meta))
}

/// The prompt-token estimate of a request (see `llmgw_optimizer::estimate_prompt_tokens`).
pub fn estimate_prompt_tokens(req: &ChatCompletionRequest) -> u64 {
    let texts: Vec<(&str, String)> = req
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.text()))
        .collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(r, t)| (*r, t.as_str())).collect();
    llmgw_optimizer::estimate_prompt_tokens(&refs)
}

/// Put the routing outcome into the record and the response headers.
fn note_route(flight: &mut Flight, routed: &Routed, req: &ChatCompletionRequest) {
    let target = &routed.target;
    flight.meta.model = Some(target.model.id.clone());
    flight.meta.provider = Some(target.provider.name.clone());
    flight.meta.simulated = target.provider.simulated;
    flight.rec.model = Some(target.model.id.clone());
    flight.rec.provider = Some(target.provider.name.clone());
    match &routed.auto {
        Some(auto) => note_auto(flight, auto),
        None => {
            // Named models are routed on nothing, but the prompt is kept for training.
            let texts: Vec<(&str, String)> = req
                .messages
                .iter()
                .map(|m| (m.role.as_str(), m.text()))
                .collect();
            let refs: Vec<(&str, &str)> = texts.iter().map(|(r, t)| (*r, t.as_str())).collect();
            flight.rec.prompt = Some(llmgw_classifier::routing_text(&refs));
        }
    }
}

fn note_auto(flight: &mut Flight, auto: &AutoDecision) {
    let winner = auto.decision.winner();
    let predicted_quality = winner.map_or(0.0, |w| w.predicted_quality);
    let estimated_cost = winner.map_or(0.0, |w| w.estimated_cost_usd);
    let policy = auto.decision.policy.to_string();
    flight.meta.routing = Some(RoutingHeaders {
        policy: format!("{}:{}", auto.policy_name, policy),
        predicted_quality,
        difficulty: auto.difficulty,
        estimated_cost_usd: estimated_cost,
        routing_ms: auto.routing_ms,
    });
    let rec = &mut flight.rec;
    rec.policy = Some(format!("{}:{}", auto.policy_name, policy));
    rec.difficulty = Some(auto.difficulty as f32);
    rec.predicted_quality = Some(predicted_quality as f32);
    rec.estimated_cost_usd = Some(estimated_cost);
    rec.routing_ms = Some(auto.routing_ms);
    rec.prompt = Some(auto.routing_text.clone());
    if let Some((embedding, encoder)) = &auto.embedding {
        rec.prompt_embedding = Some(embedding.clone());
        rec.embedding_model = Some(encoder.clone());
    }
    let ranked = auto.decision.fallback_order();
    let unranked = auto.decision.candidates.iter().filter(|c| !c.eligible);
    rec.candidates = ranked
        .chain(unranked)
        .map(|c| LoggedCandidate {
            model: c.model.clone(),
            provider: c.provider.clone(),
            predicted_quality: Some(c.predicted_quality as f32),
            estimated_cost_usd: Some(c.estimated_cost_usd),
            eligible: c.eligible,
            reason: Some(c.reason.clone()),
        })
        .collect();
}

/// A refusal of the governor as a stage error, with its `retry-after`.
fn refused(flight: &mut Flight, e: &llmgw_governance::GovernError) -> StageError {
    let (err, retry_after, kind) = crate::governance::refusal(e);
    flight.meta.retry_after_secs = retry_after;
    flight.rec.error_kind = Some(kind.to_string());
    (err, kind)
}

/// The route's first choice and fallbacks that `who` may use and whose context window holds
/// the request; 403 when the caller may use none of them. For a named model that cannot be
/// called now (its fallbacks stand in for it), 403 when the caller may not use the named
/// model, and an empty list when it may use none of the fallbacks.
fn allowed_candidates(
    state: &AppState,
    who: &llmgw_governance::Principal,
    routed: &Routed,
    req: &ChatCompletionRequest,
    prompt_tokens: u64,
) -> Result<Vec<Target>, llmgw_governance::GovernError> {
    let first = &routed.target;
    let allowed = |t: &Target| state.governor.check_model(who, &t.model.id).is_ok();
    if let Some(skipped) = &routed.skipped {
        state.governor.check_model(who, &skipped.model)?;
    }
    let mut out: Vec<Target> = Vec::with_capacity(1 + routed.fallbacks.len());
    if allowed(first) {
        out.push(first.clone());
    } else if routed.auto.is_none() && routed.skipped.is_none() {
        // A named model the key may not use.
        state.governor.check_model(who, &first.model.id)?;
    }
    out.extend(
        routed
            .fallbacks
            .iter()
            .filter(|t| allowed(t))
            .filter(|t| validate::check_fits_model(req, &t.model, prompt_tokens).is_ok())
            .cloned(),
    );
    if out.is_empty() && routed.skipped.is_none() {
        state.governor.check_model(who, &first.model.id)?;
    }
    Ok(out)
}

/// A named model passed over at routing time: the request falls back from it (header and
/// record), as if it had been tried.
fn note_skipped(flight: &mut Flight, routed: &Routed) {
    if let Some(s) = &routed.skipped {
        flight.meta.fallback_from = Some(s.model.clone());
        flight.rec.fallbacks = vec![s.model.clone()];
    }
}

/// Report `target` as the model of the request (headers and record).
fn note_target(flight: &mut Flight, target: &Target) {
    flight.meta.model = Some(target.model.id.clone());
    flight.meta.provider = Some(target.provider.name.clone());
    flight.meta.simulated = target.provider.simulated;
    flight.rec.model = Some(target.model.id.clone());
    flight.rec.provider = Some(target.provider.name.clone());
}

/// Put what the call stage did into the headers (`x-llmgw-attempts`,
/// `x-llmgw-fallback-from`) and the record (`retries`, `fallbacks`, the model that answered).
fn note_attempts(
    flight: &mut Flight,
    attempts: &llmgw_reliability::Attempts,
    candidates: &[Target],
    winner: Option<usize>,
) {
    use llmgw_reliability::Outcome;
    flight.meta.attempts = Some(attempts.calls());
    // A named model passed over at routing time stays what the request fell back from.
    if flight.meta.fallback_from.is_none() {
        flight.meta.fallback_from = attempts.fallback_from().map(str::to_string);
    }
    flight.rec.retries = attempts
        .steps
        .iter()
        .filter(|s| s.attempt > 1 && !matches!(s.outcome, Outcome::CircuitOpen { .. }))
        .count() as u32;
    let last = winner.or_else(|| attempts.steps.last().map(|s| s.candidate));
    let Some(last) = last else { return };
    let mut before: Vec<String> = std::mem::take(&mut flight.rec.fallbacks);
    for s in attempts.steps.iter().filter(|s| s.candidate != last) {
        if !before.contains(&s.model) {
            before.push(s.model.clone());
        }
    }
    flight.rec.fallbacks = before;
    if let Some(t) = candidates.get(last).filter(|_| last > 0) {
        note_target(flight, t);
    }
}

/// Characters of output in a complete answer (for the usage estimate when none is reported).
fn response_chars(resp: &llmgw_types::ChatCompletionResponse) -> u64 {
    let mut n = 0usize;
    for c in &resp.choices {
        n += c.message.content.as_ref().map_or(0, |t| t.len());
        for call in c.message.tool_calls.iter().flatten() {
            n += call.function.arguments.len();
        }
    }
    n as u64
}
