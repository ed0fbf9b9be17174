//! llmgw-classifier: predicts, for a prompt, the answer quality each model would reach and
//! how difficult the prompt is.
//!
//! A frozen BERT-family sentence encoder (default all-MiniLM-L6-v2) embeds the prompt
//! (mean-pooled layers, see [`pipeline`]); hashed word n-grams and length/structure features
//! ([`features`]) join it; small multi-task quality heads ([`head`]) trained with a masked
//! loss predict one logit per model profile, calibrated per profile ([`calibration`]).
//! [`Router`] loads a trained router folder, [`BatchingRouter`] serves it with dynamic
//! batching, [`train::train`] produces one.

#![warn(missing_docs)]

pub mod batching;
mod bert;
pub mod cache;
pub mod calibration;
pub mod data;
pub mod embed;
pub mod encoder;
pub mod error;
pub mod features;
pub mod head;
pub mod hub;
pub mod manifest;
pub mod pipeline;
pub mod router;
pub mod static_table;
pub mod text;
pub mod train;

pub use batching::{BatchConfig, BatchingRouter};
pub use encoder::Encoder;
pub use error::{ClassifierError, Result};
pub use router::{Prediction, Router};
pub use static_table::StaticTable;
pub use text::routing_text;
