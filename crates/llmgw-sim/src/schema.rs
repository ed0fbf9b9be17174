//! Deterministic JSON values built from a JSON schema (tool arguments, structured outputs).
//!
//! Understands the subset providers use: `type` (also upper-case Gemini types and type lists),
//! `properties`, `items`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`, local `$ref`s, string `format`s,
//! `minimum`/`maximum`, `minItems`/`maxItems`, `minLength`/`maxLength`. Every declared property is filled.

use serde_json::{json, Map, Value};

use crate::seed::Rng;

const MAX_DEPTH: usize = 8;
const WORDS: &[&str] = &[
    "alpha", "bravo", "cedar", "delta", "ember", "fjord", "harbor", "indigo", "juniper", "kepler",
    "lumen", "meadow", "nova", "orbit", "prism", "quartz", "river", "sierra", "tundra", "violet",
];

/// A value that satisfies `schema` (resolved against `root` for `$ref`s).
pub(crate) fn value_for(schema: &Value, rng: &mut Rng) -> Value {
    generate(schema, schema, rng, 0)
}

fn generate(schema: &Value, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return Value::String(word(rng).to_string());
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(options) = obj.get("enum").and_then(Value::as_array) {
        if !options.is_empty() {
            return options[rng.index(options.len())].clone();
        }
    }
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        return match resolve(root, target) {
            Some(s) => generate(s, root, rng, depth + 1),
            None => Value::Null,
        };
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alts) = obj.get(key).and_then(Value::as_array) {
            let pick = alts.iter().find(|a| type_of(a).as_deref() != Some("null"));
            if let Some(alt) = pick.or(alts.first()) {
                return generate(alt, root, rng, depth + 1);
            }
        }
    }
    let ty = type_of(schema).unwrap_or_else(|| {
        if obj.contains_key("properties") {
            "object".to_string()
        } else if obj.contains_key("items") {
            "array".to_string()
        } else {
            "string".to_string()
        }
    });
    match ty.as_str() {
        "object" => object(obj, root, rng, depth),
        "array" => array(obj, root, rng, depth),
        "integer" => {
            let (lo, hi) = bounds(obj);
            json!(lo.ceil() as i64 + rng.below((hi.floor() - lo.ceil()).max(0.0) as u64 + 1) as i64)
        }
        "number" => {
            let (lo, hi) = bounds(obj);
            let span = (hi - lo).max(0.0);
            let steps = rng.below(101) as f64 / 100.0;
            json!(((lo + span * steps) * 100.0).round() / 100.0)
        }
        "boolean" => json!(rng.below(2) == 1),
        "null" => Value::Null,
        _ => string(obj, rng),
    }
}

fn object(obj: &Map<String, Value>, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let mut out = Map::new();
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            out.insert(name.clone(), generate(sub, root, rng, depth + 1));
        }
    }
    Value::Object(out)
}

fn array(obj: &Map<String, Value>, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(1);
    let max = obj
        .get("maxItems")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let n = min.clamp(1, 3).min(max);
    let item = obj
        .get("items")
        .cloned()
        .unwrap_or(json!({"type": "string"}));
    Value::Array(
        (0..n)
            .map(|_| generate(&item, root, rng, depth + 1))
            .collect(),
    )
}

fn string(obj: &Map<String, Value>, rng: &mut Rng) -> Value {
    let format = obj.get("format").and_then(Value::as_str).unwrap_or("");
    let mut s = match format {
        "date" => "2024-05-17".to_string(),
        "date-time" => "2024-05-17T12:30:00Z".to_string(),
        "time" => "12:30:00".to_string(),
        "email" => format!("{}@example.com", word(rng)),
        "uri" | "url" => format!("https://example.com/{}", word(rng)),
        "uuid" => "6f1c2a9e-3b7d-4e8f-9a01-2c3d4e5f6a7b".to_string(),
        _ => format!("{} {}", word(rng), word(rng)),
    };
    let min_len = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    while s.chars().count() < min_len {
        s.push('x');
    }
    if let Some(max_len) = obj.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max_len as usize).collect();
    }
    Value::String(s)
}

fn word(rng: &mut Rng) -> &'static str {
    WORDS[rng.index(WORDS.len())]
}

/// The schema's type, lower-cased; the first non-null one of a type list.
fn type_of(schema: &Value) -> Option<String> {
    match schema.get("type")? {
        Value::String(s) => Some(s.to_ascii_lowercase()),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .or_else(|| list.first().and_then(Value::as_str))
            .map(str::to_ascii_lowercase),
        _ => None,
    }
}

fn bounds(obj: &Map<String, Value>) -> (f64, f64) {
    let lo = obj
        .get("minimum")
        .or_else(|| obj.get("exclusiveMinimum"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let hi = obj
        .get("maximum")
        .or_else(|| obj.get("exclusiveMaximum"))
        .and_then(Value::as_f64)
        .unwrap_or(lo.max(0.0) + 100.0);
    (lo, hi.max(lo))
}

/// Resolves a local JSON pointer reference such as `#/$defs/Item`.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{digest, Rng};

    fn rng() -> Rng {
        Rng::from_digest(&digest(&[b"schema"]))
    }

    #[test]
    fn fills_every_property_with_the_declared_type() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "metric": {"type": "boolean"},
                "unit": {"type": "string", "enum": ["c", "f"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "when": {"type": "string", "format": "date"},
                "ratio": {"type": "number", "minimum": 0.5, "maximum": 0.75},
                "nested": {"type": "object", "properties": {"x": {"type": ["null", "integer"]}}}
            },
            "required": ["city"]
        });
        let v = value_for(&schema, &mut rng());
        assert!(v["city"].is_string());
        let days = v["days"].as_i64().unwrap();
        assert!((1..=7).contains(&days));
        assert!(v["metric"].is_boolean());
        assert!(["c", "f"].contains(&v["unit"].as_str().unwrap()));
        assert_eq!(v["tags"].as_array().unwrap().len(), 2);
        assert_eq!(v["when"], "2024-05-17");
        let r = v["ratio"].as_f64().unwrap();
        assert!((0.5..=0.75).contains(&r));
        assert!(v["nested"]["x"].is_i64());
    }

    #[test]
    fn handles_gemini_types_refs_and_alternatives() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "n": {"type": "INTEGER"},
                "item": {"$ref": "#/$defs/Item"},
                "either": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
                "fixed": {"const": "k"}
            },
            "$defs": {"Item": {"type": "object", "properties": {"id": {"type": "string", "maxLength": 3}}}}
        });
        let v = value_for(&schema, &mut rng());
        assert!(v["n"].is_i64());
        assert!(v["item"]["id"].as_str().unwrap().len() <= 3);
        assert!(v["either"].is_boolean());
        assert_eq!(v["fixed"], "k");
    }

    #[test]
    fn deterministic_for_the_same_seed() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}}});
        assert_eq!(
            value_for(&schema, &mut rng()),
            value_for(&schema, &mut rng())
        );
        assert_eq!(value_for(&json!({"type": "object"}), &mut rng()), json!({}));
    }

    #[test]
    fn self_referencing_schema_terminates() {
        let schema = json!({"type": "object", "properties": {"next": {"$ref": "#"}}});
        let v = value_for(&schema, &mut rng());
        assert!(v.is_object());
    }
}
