//! Arrow schemas of the two logs, with a description of every column.
//!
//! Each field carries its meaning in the field metadata under `description`, so the
//! Parquet files document themselves (`pyarrow.parquet.read_schema(f).field(i).metadata`)
//! and [`schema_markdown`] renders the README table from the same source.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Version of the column layout, stored in the schema metadata as `llmgw.schema_version`.
pub const SCHEMA_VERSION: &str = "1";

/// Field-metadata key holding a column's description.
pub const DESCRIPTION_KEY: &str = "description";

fn col(name: &str, ty: DataType, nullable: bool, doc: &str) -> Field {
    Field::new(name, ty, nullable).with_metadata(HashMap::from([(
        DESCRIPTION_KEY.to_string(),
        doc.to_string(),
    )]))
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Fields of one element of the `candidates` list.
pub fn candidate_fields() -> Fields {
    Fields::from(vec![
        col("model", DataType::Utf8, false, "Catalog model id."),
        col(
            "provider",
            DataType::Utf8,
            false,
            "Provider name from the config.",
        ),
        col(
            "predicted_quality",
            DataType::Float32,
            true,
            "Classifier's predicted answer quality in [0, 1].",
        ),
        col(
            "estimated_cost_usd",
            DataType::Float64,
            true,
            "Optimizer's expected cost of the request on this model, USD.",
        ),
        col(
            "eligible",
            DataType::Boolean,
            false,
            "Whether the candidate passed the policy's constraints.",
        ),
        col(
            "reason",
            DataType::Utf8,
            true,
            "Why it was (not) eligible, in the optimizer's words.",
        ),
    ])
}

fn schema_metadata(kind: &str) -> HashMap<String, String> {
    HashMap::from([
        ("llmgw.log".to_string(), kind.to_string()),
        (
            "llmgw.schema_version".to_string(),
            SCHEMA_VERSION.to_string(),
        ),
    ])
}

static OUTCOMES: LazyLock<SchemaRef> = LazyLock::new(|| {
    let candidate = DataType::Struct(candidate_fields());
    let fields = vec![
        col("request_id", DataType::Utf8, false, "Gateway request id (`x-llmgw-request-id`); feedback joins on it."),
        col("received_at", ts(), false, "When the request arrived (UTC)."),
        col("first_token_at", ts(), true, "When the first token (or the whole non-streamed answer) was sent."),
        col("completed_at", ts(), false, "When the response ended (last byte sent or error returned)."),
        col("api_key_id", DataType::Utf8, true, "Id of the gateway API key used; never the key itself. Null when the gateway is open."),
        col("tenant", DataType::Utf8, true, "Tenant or team label, if the deployment sets one."),
        col("source", DataType::Utf8, true, "Traffic label (application, route); `llmgw export` writes it as `source`."),
        col("requested_model", DataType::Utf8, false, "The `model` the client sent: `auto`, `auto:<policy>` or a catalog id."),
        col("model", DataType::Utf8, true, "Model that produced the answer, after routing and fallbacks. Null if no model was reached."),
        col("provider", DataType::Utf8, true, "Provider of `model`."),
        col("policy", DataType::Utf8, true, "Routing policy applied (e.g. `min_quality:0.8`); null for a named model."),
        col("difficulty", DataType::Float32, true, "Classifier's difficulty score of the prompt."),
        col("predicted_quality", DataType::Float32, true, "Predicted quality of the chosen model, in [0, 1]."),
        col("estimated_cost_usd", DataType::Float64, true, "Expected cost of the chosen model before the call, USD."),
        col(
            "candidates",
            DataType::List(Arc::new(Field::new_list_field(candidate, false))),
            false,
            "Every candidate the optimizer scored, in ranked (fallback) order; empty for a named model.",
        ),
        col("prompt_tokens", DataType::Int64, true, "Prompt tokens reported by the upstream, cached tokens included."),
        col("completion_tokens", DataType::Int64, true, "Completion tokens reported by the upstream, reasoning tokens included."),
        col("cached_tokens", DataType::Int64, true, "Prompt tokens served from the provider's prompt cache."),
        col("cost_usd", DataType::Float64, true, "Actual cost, USD, from catalog prices and upstream usage (cached input at the cached price); 0 for a gateway cache hit."),
        col("latency_ms", DataType::Float64, false, "Total latency as the client saw it, ms."),
        col("ttft_ms", DataType::Float64, true, "Time to first token, ms (streams)."),
        col("overhead_ms", DataType::Float64, true, "Time spent in the gateway itself (all but waiting on the upstream), ms."),
        col("routing_ms", DataType::Float64, true, "Time spent choosing the model (classifier + optimizer), ms."),
        col("status", DataType::Int32, false, "HTTP status returned to the client."),
        col("error_kind", DataType::Utf8, true, "Error class when the request failed (e.g. `upstream_timeout`, `rate_limited`)."),
        col("finish_reason", DataType::Utf8, true, "Finish reason of the answer (`stop`, `length`, `tool_calls`, ...)."),
        col("cache_hit", DataType::Utf8, false, "Response cache result: `none`, `exact` or `semantic`."),
        col("cache_similarity", DataType::Float32, true, "Cosine similarity of a semantic cache hit."),
        col("retries", DataType::Int32, false, "Retries of upstream calls, all models together."),
        col(
            "fallbacks",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false))),
            false,
            "Models tried before `model`, in order; empty when the first choice answered.",
        ),
        col("stream", DataType::Boolean, false, "Whether the client asked for a stream."),
        col("prompt", DataType::Utf8, true, "Text the request was routed on; null when `store_prompts = false`."),
        col("prompt_sha256", DataType::Utf8, true, "Hex SHA-256 of the prompt text (always kept)."),
        col(
            "prompt_embedding",
            DataType::List(Arc::new(Field::new_list_field(DataType::Float32, false))),
            true,
            "Classifier embedding of the prompt, when the gateway supplied it.",
        ),
        col("embedding_model", DataType::Utf8, true, "Encoder that produced `prompt_embedding`."),
    ];
    Arc::new(Schema::new_with_metadata(
        fields,
        schema_metadata("outcomes"),
    ))
});

static FEEDBACK: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields = vec![
        col(
            "request_id",
            DataType::Utf8,
            false,
            "Request the feedback is about; may be unknown to the gateway.",
        ),
        col(
            "received_at",
            ts(),
            false,
            "When the feedback arrived (UTC).",
        ),
        col(
            "quality",
            DataType::Float64,
            false,
            "Quality of the answer in [0, 1] (1 = best).",
        ),
        col("comment", DataType::Utf8, true, "Free-text comment."),
        col(
            "known_request",
            DataType::Boolean,
            true,
            "Whether the receiving gateway knew the request id; null when it could not tell.",
        ),
        col(
            "api_key_id",
            DataType::Utf8,
            true,
            "Id of the API key that sent the feedback.",
        ),
    ];
    Arc::new(Schema::new_with_metadata(
        fields,
        schema_metadata("feedback"),
    ))
});

/// Schema of `DIR/outcomes/`: one row per request.
pub fn outcomes_schema() -> SchemaRef {
    OUTCOMES.clone()
}

/// Schema of `DIR/feedback/`: one row per feedback.
pub fn feedback_schema() -> SchemaRef {
    FEEDBACK.clone()
}

/// A short, reader-friendly name of an Arrow type, as used in the README tables.
pub fn type_name(ty: &DataType) -> String {
    match ty {
        DataType::Utf8 => "string".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => format!("timestamp[us, {tz}]"),
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        DataType::Struct(_) => "struct".into(),
        other => other.to_string(),
    }
}

/// Renders fields as a markdown table: column, type, nullable, meaning.
pub fn fields_markdown(fields: &Fields) -> String {
    let mut out = String::from("| column | type | null | meaning |\n|---|---|---|---|\n");
    for f in fields {
        let doc = f
            .metadata()
            .get(DESCRIPTION_KEY)
            .map(String::as_str)
            .unwrap_or("");
        let null = if f.is_nullable() { "yes" } else { "no" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name(),
            type_name(f.data_type()),
            null,
            doc
        ));
    }
    out
}

/// Renders a schema as a markdown table: column, type, nullable, meaning.
pub fn schema_markdown(schema: &Schema) -> String {
    fields_markdown(schema.fields())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_documented() {
        let mut all: Vec<Field> = Vec::new();
        all.extend(
            outcomes_schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone()),
        );
        all.extend(
            feedback_schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone()),
        );
        all.extend(candidate_fields().iter().map(|f| f.as_ref().clone()));
        for f in all {
            let doc = f
                .metadata()
                .get(DESCRIPTION_KEY)
                .cloned()
                .unwrap_or_default();
            assert!(doc.len() > 10, "column {} lacks a description", f.name());
        }
    }

    #[test]
    fn join_key_and_types_are_stable() {
        let o = outcomes_schema();
        let f = feedback_schema();
        assert_eq!(o.field(0).name(), "request_id");
        assert_eq!(f.field(0).name(), "request_id");
        assert_eq!(
            o.field_with_name("received_at")
                .map(|x| x.data_type().clone())
                .ok(),
            Some(ts())
        );
        // No unsigned integers: Spark and older readers do not take them.
        for field in o.fields().iter().chain(f.fields().iter()) {
            assert!(!matches!(
                field.data_type(),
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
            ));
        }
        assert_eq!(
            o.metadata().get("llmgw.schema_version").map(String::as_str),
            Some(SCHEMA_VERSION)
        );
    }

    #[test]
    fn markdown_lists_every_column() {
        let md = schema_markdown(&outcomes_schema());
        for f in outcomes_schema().fields() {
            assert!(md.contains(&format!("| `{}` |", f.name())));
        }
        assert!(md.contains("| `received_at` | timestamp[us, UTC] | no |"));
        assert!(md.contains("| `fallbacks` | list<string> | no |"));
    }
}
