//! Record batches from records: the in-memory Arrow form of the logs.

use std::borrow::Borrow;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, ListArray,
    RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, FieldRef, Schema};
use arrow::error::ArrowError;

use crate::record::{FeedbackRecord, OutcomeRecord};
use crate::schema::{feedback_schema, outcomes_schema};

/// Microseconds since the Unix epoch (negative before it), saturating.
pub fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

fn ts_array(values: impl Iterator<Item = Option<SystemTime>>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter(values.map(|t| t.map(micros))).with_timezone("UTC"),
    )
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn count(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The item field of a list column, taken from the schema so that the types match exactly.
fn list_item(schema: &Schema, column: &str) -> Result<FieldRef, ArrowError> {
    match schema.field_with_name(column)?.data_type() {
        DataType::List(item) => Ok(item.clone()),
        other => Err(ArrowError::SchemaError(format!(
            "column `{column}` should be a list, is {other}"
        ))),
    }
}

fn list_of(
    item: FieldRef,
    lengths: Vec<usize>,
    values: ArrayRef,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, ArrowError> {
    Ok(Arc::new(ListArray::try_new(
        item,
        OffsetBuffer::from_lengths(lengths),
        values,
        nulls,
    )?))
}

fn candidates_column<R: Borrow<OutcomeRecord>>(
    schema: &Schema,
    rows: &[R],
) -> Result<ArrayRef, ArrowError> {
    let item = list_item(schema, "candidates")?;
    let DataType::Struct(fields) = item.data_type() else {
        return Err(ArrowError::SchemaError(
            "`candidates` items should be structs".into(),
        ));
    };
    let all: Vec<_> = rows
        .iter()
        .flat_map(|r| r.borrow().candidates.iter())
        .collect();
    let columns: Vec<ArrayRef> = vec![
        strings(all.iter().map(|c| Some(c.model.as_str()))),
        strings(all.iter().map(|c| Some(c.provider.as_str()))),
        Arc::new(Float32Array::from_iter(
            all.iter().map(|c| c.predicted_quality),
        )),
        Arc::new(Float64Array::from_iter(
            all.iter().map(|c| c.estimated_cost_usd),
        )),
        Arc::new(BooleanArray::from_iter(
            all.iter().map(|c| Some(c.eligible)),
        )),
        strings(all.iter().map(|c| c.reason.as_deref())),
    ];
    let values = Arc::new(StructArray::try_new(fields.clone(), columns, None)?);
    let lengths = rows.iter().map(|r| r.borrow().candidates.len()).collect();
    list_of(item, lengths, values, None)
}

fn fallbacks_column<R: Borrow<OutcomeRecord>>(
    schema: &Schema,
    rows: &[R],
) -> Result<ArrayRef, ArrowError> {
    let item = list_item(schema, "fallbacks")?;
    let values = strings(
        rows.iter()
            .flat_map(|r| r.borrow().fallbacks.iter().map(|s| Some(s.as_str()))),
    );
    let lengths = rows.iter().map(|r| r.borrow().fallbacks.len()).collect();
    list_of(item, lengths, values, None)
}

fn embedding_column<R: Borrow<OutcomeRecord>>(
    schema: &Schema,
    rows: &[R],
) -> Result<ArrayRef, ArrowError> {
    let item = list_item(schema, "prompt_embedding")?;
    let values: ArrayRef =
        Arc::new(Float32Array::from_iter_values(rows.iter().flat_map(|r| {
            r.borrow().prompt_embedding.iter().flatten().copied()
        })));
    let lengths = rows
        .iter()
        .map(|r| r.borrow().prompt_embedding.as_ref().map_or(0, Vec::len))
        .collect();
    let nulls = NullBuffer::from_iter(rows.iter().map(|r| r.borrow().prompt_embedding.is_some()));
    list_of(item, lengths, values, Some(nulls))
}

/// One record batch of outcome rows, in the column order of [`outcomes_schema`].
pub fn outcomes_batch<R: Borrow<OutcomeRecord>>(rows: &[R]) -> Result<RecordBatch, ArrowError> {
    let schema = outcomes_schema();
    let r = || rows.iter().map(Borrow::borrow);
    let columns: Vec<ArrayRef> = vec![
        strings(r().map(|x| Some(x.request_id.as_str()))),
        ts_array(r().map(|x| Some(x.received_at))),
        ts_array(r().map(|x| x.first_token_at)),
        ts_array(r().map(|x| Some(x.completed_at))),
        strings(r().map(|x| x.api_key_id.as_deref())),
        strings(r().map(|x| x.tenant.as_deref())),
        strings(r().map(|x| x.source.as_deref())),
        strings(r().map(|x| Some(x.requested_model.as_str()))),
        strings(r().map(|x| x.model.as_deref())),
        strings(r().map(|x| x.provider.as_deref())),
        strings(r().map(|x| x.policy.as_deref())),
        Arc::new(Float32Array::from_iter(r().map(|x| x.difficulty))),
        Arc::new(Float32Array::from_iter(r().map(|x| x.predicted_quality))),
        Arc::new(Float64Array::from_iter(r().map(|x| x.estimated_cost_usd))),
        candidates_column(&schema, rows)?,
        Arc::new(Int64Array::from_iter(r().map(|x| count(x.prompt_tokens)))),
        Arc::new(Int64Array::from_iter(
            r().map(|x| count(x.completion_tokens)),
        )),
        Arc::new(Int64Array::from_iter(r().map(|x| count(x.cached_tokens)))),
        Arc::new(Float64Array::from_iter(r().map(|x| x.cost_usd))),
        Arc::new(Float64Array::from_iter_values(r().map(|x| x.latency_ms))),
        Arc::new(Float64Array::from_iter(r().map(|x| x.ttft_ms))),
        Arc::new(Float64Array::from_iter(r().map(|x| x.overhead_ms))),
        Arc::new(Float64Array::from_iter(r().map(|x| x.routing_ms))),
        Arc::new(Int32Array::from_iter_values(
            r().map(|x| i32::from(x.status)),
        )),
        strings(r().map(|x| x.error_kind.as_deref())),
        strings(r().map(|x| x.finish_reason.as_deref())),
        strings(r().map(|x| Some(x.cache_hit.as_str()))),
        Arc::new(Float32Array::from_iter(r().map(|x| x.cache_similarity))),
        Arc::new(Int32Array::from_iter_values(
            r().map(|x| i32::try_from(x.retries).unwrap_or(i32::MAX)),
        )),
        fallbacks_column(&schema, rows)?,
        Arc::new(BooleanArray::from_iter(r().map(|x| Some(x.stream)))),
        strings(r().map(|x| x.prompt.as_deref())),
        strings(r().map(|x| x.prompt_sha256.as_deref())),
        embedding_column(&schema, rows)?,
        strings(r().map(|x| x.embedding_model.as_deref())),
    ];
    RecordBatch::try_new(schema, columns)
}

/// One record batch of feedback rows, in the column order of [`feedback_schema`].
pub fn feedback_batch<R: Borrow<FeedbackRecord>>(rows: &[R]) -> Result<RecordBatch, ArrowError> {
    let r = || rows.iter().map(Borrow::borrow);
    let columns: Vec<ArrayRef> = vec![
        strings(r().map(|x| Some(x.request_id.as_str()))),
        ts_array(r().map(|x| Some(x.received_at))),
        Arc::new(Float64Array::from_iter_values(r().map(|x| x.quality))),
        strings(r().map(|x| x.comment.as_deref())),
        Arc::new(BooleanArray::from_iter(r().map(|x| x.known_request))),
        strings(r().map(|x| x.api_key_id.as_deref())),
    ];
    RecordBatch::try_new(feedback_schema(), columns)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float32Type, Int64Type, TimestampMicrosecondType};

    use super::*;
    use crate::record::{CacheHit, Candidate};

    fn sample(i: u64) -> OutcomeRecord {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i);
        let mut r = OutcomeRecord::new(format!("req-{i}"), "auto", t0);
        r.completed_at = t0 + Duration::from_millis(250);
        r.model = Some("gpt-4-1106-preview".into());
        r.candidates = vec![
            Candidate {
                model: "gpt-4-1106-preview".into(),
                provider: "openai".into(),
                predicted_quality: Some(0.9),
                estimated_cost_usd: Some(0.01),
                eligible: true,
                reason: None,
            },
            Candidate {
                model: "mixtral-8x7b-instruct-v0.1".into(),
                provider: "together".into(),
                predicted_quality: Some(0.4),
                estimated_cost_usd: Some(0.0002),
                eligible: false,
                reason: Some("below min_quality".into()),
            },
        ];
        r.prompt_tokens = Some(100 + i);
        r.cache_hit = CacheHit::Semantic;
        r.fallbacks = vec!["claude".into()];
        r
    }

    #[test]
    fn outcome_batch_carries_every_field_in_schema_order() {
        let mut second = sample(2);
        second.candidates.clear();
        second.fallbacks.clear();
        second.prompt_embedding = Some(vec![0.25, 0.5, 0.75]);
        second.first_token_at = Some(UNIX_EPOCH + Duration::from_micros(5));
        let rows = vec![sample(1), second];
        let batch = outcomes_batch(&rows).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), outcomes_schema());

        let ids = batch
            .column_by_name("request_id")
            .unwrap()
            .as_string::<i32>();
        assert_eq!(ids.value(0), "req-1");
        assert_eq!(ids.value(1), "req-2");

        let recv = batch
            .column_by_name("received_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        assert_eq!(recv.value(0), 1_700_000_001_000_000);
        let first = batch
            .column_by_name("first_token_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        assert!(first.is_null(0));
        assert_eq!(first.value(1), 5);

        let cands = batch.column_by_name("candidates").unwrap().as_list::<i32>();
        assert_eq!(cands.value_length(0), 2);
        assert_eq!(cands.value_length(1), 0);
        let first_row = cands.value(0);
        let st = first_row.as_struct();
        assert_eq!(
            st.column(0).as_string::<i32>().value(1),
            "mixtral-8x7b-instruct-v0.1"
        );
        assert_eq!(st.column(2).as_primitive::<Float32Type>().value(0), 0.9);
        assert!(!st.column(4).as_boolean().value(1));
        assert_eq!(
            st.column(5).as_string::<i32>().value(1),
            "below min_quality"
        );
        assert!(st.column(5).is_null(0));

        let fb = batch.column_by_name("fallbacks").unwrap().as_list::<i32>();
        assert_eq!(fb.value(0).as_string::<i32>().value(0), "claude");
        assert_eq!(fb.value_length(1), 0);

        let emb = batch
            .column_by_name("prompt_embedding")
            .unwrap()
            .as_list::<i32>();
        assert!(emb.is_null(0));
        assert_eq!(
            emb.value(1).as_primitive::<Float32Type>().values().to_vec(),
            vec![0.25, 0.5, 0.75]
        );
        let pt = batch
            .column_by_name("prompt_tokens")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(pt.value(1), 102);
        assert!(batch.column_by_name("cached_tokens").unwrap().is_null(0));
        assert_eq!(
            batch
                .column_by_name("cache_hit")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "semantic"
        );
    }

    #[test]
    fn empty_and_feedback_batches_match_their_schemas() {
        let empty: Vec<OutcomeRecord> = Vec::new();
        assert_eq!(outcomes_batch(&empty).unwrap().num_rows(), 0);
        let mut fb = FeedbackRecord::new("req-1", 0.75).unwrap();
        fb.comment = Some("good".into());
        let b = feedback_batch(&[fb]).unwrap();
        assert_eq!(b.schema(), feedback_schema());
        assert_eq!(
            b.column(2)
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(0),
            0.75
        );
        assert!(b.column(4).is_null(0));
    }

    #[test]
    fn timestamps_before_epoch_are_negative() {
        assert_eq!(micros(UNIX_EPOCH - Duration::from_micros(7)), -7);
        assert_eq!(micros(UNIX_EPOCH + Duration::from_secs(1)), 1_000_000);
    }
}
