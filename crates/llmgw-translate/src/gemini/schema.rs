//! JSON Schema -> the OpenAPI subset Gemini accepts for function parameters and `responseSchema`.
//!
//! Rules: `$ref`s into `$defs`/`definitions` are inlined (to a depth of 8; deeper, or
//! recursive, references become a plain object); `type: [T, "null"]` becomes
//! `type: T, nullable: true`; `const` becomes a one-value `enum`; `oneOf` becomes `anyOf`;
//! an `allOf` of one schema is inlined; keys Gemini rejects (`additionalProperties`, `$schema`,
//! `$id`, `default`, `examples`, `strict`, …) are dropped; string `format`s other than `enum`
//! and `date-time` are dropped; `required` keeps only properties that exist.

use serde_json::{json, Map, Value};

const MAX_REF_DEPTH: usize = 8;

/// Keys kept as they are (after their values are cleaned).
const KEPT: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "propertyOrdering",
    "items",
    "minimum",
    "maximum",
];

/// Cleans `schema` for Gemini.
pub fn clean_schema(schema: &Value) -> Value {
    let defs = collect_defs(schema);
    clean(schema, &defs, 0)
}

fn collect_defs(root: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = root.get(key) {
            for (k, v) in d {
                defs.insert(format!("#/{key}/{k}"), v.clone());
            }
        }
    }
    defs
}

fn clean(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(obj) = schema else {
        // `true` / `{}`-like schemas: any value; Gemini needs a type, so say string.
        return json!({"type": "string"});
    };
    if let Some(Value::String(r)) = obj.get("$ref") {
        return match defs.get(r) {
            Some(target) if depth < MAX_REF_DEPTH => {
                let mut merged = target.clone();
                if let (Value::Object(m), Some(Value::String(d))) =
                    (&mut merged, obj.get("description"))
                {
                    m.insert("description".into(), Value::String(d.clone()));
                }
                clean(&merged, defs, depth + 1)
            }
            _ => json!({"type": "object"}),
        };
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        if all.len() == 1 {
            let mut merged = obj.clone();
            merged.remove("allOf");
            if let Some(Value::Object(inner)) = all.first() {
                for (k, v) in inner {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            return clean(&Value::Object(merged), defs, depth);
        }
    }
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    if non_null.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    match non_null.as_slice() {
                        [] => {}
                        [one] => {
                            out.insert("type".into(), (*one).clone());
                        }
                        many => {
                            let alts = many.iter().map(|t| json!({"type": t})).collect();
                            out.insert("anyOf".into(), Value::Array(alts));
                        }
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "properties" => {
                if let Value::Object(props) = value {
                    let cleaned = props
                        .iter()
                        .map(|(k, v)| (k.clone(), clean(v, defs, depth)))
                        .collect();
                    out.insert("properties".into(), Value::Object(cleaned));
                }
            }
            "items" => {
                out.insert("items".into(), clean(value, defs, depth));
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(alts) = value {
                    let mut cleaned: Vec<Value> = Vec::new();
                    for alt in alts {
                        if alt.get("type").and_then(Value::as_str) == Some("null") {
                            out.insert("nullable".into(), Value::Bool(true));
                        } else {
                            cleaned.push(clean(alt, defs, depth));
                        }
                    }
                    if cleaned.len() == 1 {
                        if let Some(Value::Object(only)) = cleaned.pop() {
                            for (k, v) in only {
                                out.entry(k).or_insert(v);
                            }
                        }
                    } else if !cleaned.is_empty() {
                        out.insert("anyOf".into(), Value::Array(cleaned));
                    }
                }
            }
            k if KEPT.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    let is_string = out.get("type").and_then(Value::as_str) == Some("string");
    if is_string {
        if let Some(Value::String(f)) = out.get("format") {
            if f != "enum" && f != "date-time" {
                out.remove("format");
            }
        }
    }
    if let Some(Value::Array(enums)) = out.get("enum") {
        // Gemini enums are strings.
        let strings = enums
            .iter()
            .map(|v| match v {
                Value::String(s) => Value::String(s.clone()),
                other => Value::String(other.to_string()),
            })
            .collect();
        out.insert("enum".into(), Value::Array(strings));
        out.insert("type".into(), json!("string"));
    }
    if let Some(Value::Array(req)) = out.get("required") {
        let props = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = req
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|n| props.is_some_and(|p| p.contains_key(n)))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    if !out.contains_key("type") && !out.contains_key("anyOf") {
        let guess = if out.contains_key("properties") {
            "object"
        } else if out.contains_key("items") {
            "array"
        } else {
            "string"
        };
        out.insert("type".into(), json!(guess));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_rejected_keys_and_resolves_refs() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "description": "City", "format": "uri"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "when": {"type": "string", "format": "date-time", "default": "now"},
                "loc": {"$ref": "#/$defs/Loc"},
                "kind": {"const": "weather"},
                "tags": {"type": "array", "items": {"type": "string", "examples": ["x"]}},
                "alt": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
            },
            "required": ["city", "ghost"],
            "$defs": {"Loc": {"type": "object", "properties": {"lat": {"type": "number"}}, "additionalProperties": false}}
        });
        let c = clean_schema(&schema);
        assert_eq!(
            c,
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City"},
                    "unit": {"type": "string", "nullable": true, "enum": ["c", "f"]},
                    "when": {"type": "string", "format": "date-time"},
                    "loc": {"type": "object", "properties": {"lat": {"type": "number"}}},
                    "kind": {"type": "string", "enum": ["weather"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "alt": {"type": "integer", "nullable": true}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn recursive_refs_terminate() {
        let schema = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#/definitions/Node"}},
            "definitions": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}}
        });
        let c = clean_schema(&schema);
        let mut v = &c["properties"]["node"];
        let mut depth = 0;
        while let Some(next) = v.get("properties").and_then(|p| p.get("next")) {
            v = next;
            depth += 1;
        }
        assert!(depth <= MAX_REF_DEPTH + 1);
        assert_eq!(v["type"], "object");
    }
}
