//! Spend analytics of LLM Gateway, computed with polars over the outcome log: the
//! published Parquet files plus the rows not yet flushed ([`llmgw_outcomes::LogView`]),
//! each row counted exactly once.
//!
//! Definitions:
//! * **cost**: the row's `cost_usd` (catalog prices × reported usage; 0 for a gateway
//!   cache hit).
//! * **reference cost**: what the row's tokens would have cost on the reference model
//!   (configured, or the catalog's most expensive): its input price for uncached prompt
//!   tokens, its cached-input price for prompt tokens the provider served from its cache,
//!   its output price for completion tokens.
//! * **savings** = reference cost − cost. A cache hit costs 0, so it saves the full
//!   reference cost of the answer it replayed.
//! * **rows without a cost** (`cost_usd` null: the request failed before any usage was
//!   reported) count as requests (and as errors) and in `unpriced_requests`, and add
//!   nothing to tokens, costs or savings: neither side of the comparison paid for them.
//! * **errors**: HTTP status ≥ 400, or an error recorded after the answer began (a stream
//!   cut short).
//!
//! ```no_run
//! # fn demo(log: &llmgw_outcomes::OutcomeLog, catalog: &llmgw_config::Catalog)
//! # -> Result<(), llmgw_analytics::AnalyticsError> {
//! use llmgw_analytics::{spend, Filter, GroupBy, KeyScope, Reference};
//! let filter = Filter::from_params(Some("2026-01-01"), None, KeyScope::All)?;
//! let view = log.view(filter.since_partition().as_deref())?;
//! let reference = Reference::choose(catalog, None, None)?;
//! let report = spend(&view, &filter, GroupBy::Model, &reference)?;
//! println!("saved {:.2} USD", report.totals.savings_usd);
//! # Ok(()) }
//! ```

mod error;
mod frame;
mod query;
mod reference;
mod report;
mod stats;

pub use error::AnalyticsError;
pub use frame::{load, pending_frame, COLUMNS};
pub use query::{
    parse_time, rfc3339, Bucket, Filter, GroupBy, KeyScope, DAY_US, HOUR_US, MINUTE_US,
};
pub use reference::{Reference, ReferenceSource};
pub use report::{
    overview, spend, Group, Overview, RoutingCell, Sources, SpendReport, DIFFICULTY_BINS,
};
pub use stats::{CacheHits, Percentiles, Stats};

#[cfg(test)]
mod tests;
