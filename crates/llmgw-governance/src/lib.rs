//! Governance for LLM Gateway: virtual API keys issued by the gateway, each with optional
//! allowed models, USD budgets per UTC day and month, and requests- and tokens-per-minute
//! limits.
//!
//! * Keys are stored only as SHA-256 hashes ([`KeyHash`]); key ids are public. The key a caller
//!   presents never appears in `Debug` output or errors ([`ApiKey`], [`GovernError`]).
//! * A [`KeyStore`] holds the keys of the config file plus those issued or revoked at run time,
//!   which a [`KeysFile`] keeps across restarts (hashes only, written atomically, mode 0600).
//! * The [`Governor`] authenticates `Authorization: Bearer <key>` (401), checks the model
//!   (403), and admits a request against the key's rate limits and budgets (429 with a
//!   `retry-after`), returning a [`Permit`] that is settled with the actual usage when the
//!   answer completes, streams included. With no keys the gateway is open
//!   ([`Governor::is_open`]).
//! * Counters sit behind [`CounterStore`] ([`MemoryStore`] in process; a shared store lets
//!   several gateway instances enforce the same limits).
//!
//! # Budgets under concurrency
//!
//! Admission holds the request's maximum cost ([`Admission::max_cost_usd`]) in the key's day
//! and month windows; settlement swaps the hold for the actual cost. A window with limit `L`
//! admits a hold `c` when `spent + held + c <= L`, or when nothing is held and `spent < L`
//! (so a request whose worst case exceeds what is left can still use the rest of the budget,
//! alone). Hence, if no request costs more than it reserved:
//!
//! * while any request admitted by the first rule is in flight, `spent + held <= L`;
//! * a request admitted by the second rule runs alone, and after it settles `spent < L + cost`.
//!
//! So however many requests race, a window's spend never exceeds its limit by more than one
//! request's cost. The tests in `tests/concurrency.rs` check this with hundreds of concurrent
//! tasks on a multi-threaded runtime.
//!
//! # Rate limits
//!
//! Token buckets refilled continuously ([`bucket`]): a key may burst up to one minute's
//! allowance. Tokens per minute are taken at admission from an estimate and corrected at
//! settlement to the actual count.

pub mod bucket;
mod clock;
mod error;
mod governor;
mod key;
mod keyfile;
mod keystore;
mod memory;
mod money;
mod spec;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::GovernError;
pub use governor::{Actual, Admission, Governor, KeyUsage, Permit, Principal, HELD_BUDGET_RETRY};
pub use key::{ApiKey, InvalidKeyHash, KeyHash, KEY_PREFIX};
pub use keyfile::{KeysFile, KeysFileContents, KeysFileError, RevokedKey, KEYS_FILE_VERSION};
pub use keystore::{KeyStore, KeyStoreError};
pub use memory::{Footprint, MemoryStore};
pub use money::{nanos_to_usd, usd_to_nanos, NANOS_PER_USD};
pub use spec::{KeyPolicy, KeySpec, NewKey, SpecError};
pub use store::{
    BudgetDenial, CounterStore, RateKind, Reserve, StoreError, WindowLimit, WindowSpend,
};
pub use window::{rfc3339, Period, Window};
