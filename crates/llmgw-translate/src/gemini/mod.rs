//! OpenAI <-> Gemini `generateContent`.

mod ids;
mod request;
mod response;
mod schema;
mod stream;
pub mod wire;

pub use ids::{join_signature, split_signature, THOUGHT_SIGNATURE_SEPARATOR};
pub use request::to_gemini_request;
pub use response::{from_gemini_response, map_finish_reason, map_usage};
pub use schema::clean_schema;
pub use stream::GeminiStream;
