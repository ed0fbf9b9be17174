//! One module per `llmgw` subcommand.

pub mod bench;
pub mod calibrate;
pub mod export;
pub mod keys;
pub mod score;
pub mod serve;
pub mod sim;
pub mod train;
