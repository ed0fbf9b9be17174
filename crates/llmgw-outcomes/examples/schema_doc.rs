//! Prints the README's schema tables from the schemas themselves:
//! `cargo run -p llmgw-outcomes --example schema_doc`.

use llmgw_outcomes::{
    candidate_fields, feedback_schema, fields_markdown, outcomes_schema, schema_markdown,
};

fn main() {
    println!("#### `outcomes/`: one row per request\n");
    println!("{}", schema_markdown(&outcomes_schema()));
    println!("Fields of each `candidates` element:\n");
    println!("{}", fields_markdown(&candidate_fields()));
    println!("#### `feedback/`: one row per feedback\n");
    println!("{}", schema_markdown(&feedback_schema()));
}
