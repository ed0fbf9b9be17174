//! Programmatic faults ([`crate::SimServer::inject`]) and the `fail_first` bookkeeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::directives::Directives;
use crate::seed;

/// Most distinct `fail_first` prompts remembered; the table is cleared when it grows past this.
const MAX_FAIL_FIRST_KEYS: usize = 10_000;

/// A fault to inject into the next requests for a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Respond with this status (400..=599) and the provider's error body; 429 adds `retry-after: 1`.
    Status(u16),
    /// A 400 in the provider's own error shape.
    BadRequest,
    /// The provider's "prompt is too long" 400.
    ContextLength,
    /// This status with an HTML page body (`content-type: text/html`), as a proxy in front would send.
    Html(u16),
    /// Wait this many milliseconds before answering normally.
    DelayMs(u64),
    /// Streams: send this many content chunks, then drop the connection without the end event.
    /// Non-streaming: send part of the body, then drop the connection.
    CutAfter(usize),
}

impl Fault {
    /// Overlays this fault on the directives of a prompt.
    pub(crate) fn apply(&self, d: &mut Directives) {
        match self {
            Fault::Status(code) => d.status = Some(*code),
            Fault::BadRequest => d.bad_request = true,
            Fault::ContextLength => d.context_length = true,
            Fault::Html(code) => d.html = Some(*code),
            Fault::DelayMs(ms) => d.delay_ms = Some(*ms),
            Fault::CutAfter(n) => d.cut_after = Some(*n),
        }
    }
}

/// Wildcard model name for [`crate::SimServer::inject`]: matches every model.
pub const ANY_MODEL: &str = "*";

/// Pending injected faults and `fail_first` counters.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    injected: Mutex<VecDeque<(String, Fault, u32)>>,
    fail_first: Mutex<HashMap<[u8; 32], u32>>,
}

impl FaultBook {
    /// Queues `fault` for the next `times` requests for `model` (or every model with [`ANY_MODEL`]).
    pub(crate) fn inject(&self, model: String, fault: Fault, times: u32) {
        if times == 0 {
            return;
        }
        let mut q = self.injected.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back((model, fault, times));
    }

    /// Takes one use of the oldest fault queued for `model`, if any.
    pub(crate) fn take(&self, model: &str) -> Option<Fault> {
        let mut q = self.injected.lock().unwrap_or_else(|e| e.into_inner());
        let pos = q
            .iter()
            .position(|(m, _, _)| m == model || m == ANY_MODEL)?;
        let entry = q.get_mut(pos)?;
        entry.2 -= 1;
        let fault = entry.1.clone();
        if entry.2 == 0 {
            q.remove(pos);
        }
        Some(fault)
    }

    /// Counts a request carrying `text` with a `fail_first=n` directive; true while it must still fail.
    pub(crate) fn fail_first(&self, text: &str, n: u32) -> bool {
        let key = seed::digest(&[text.as_bytes()]);
        let mut table = self.fail_first.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_FAIL_FIRST_KEYS && !table.contains_key(&key) {
            table.clear();
        }
        let seen = table.entry(key).or_insert(0);
        *seen = seen.saturating_add(1);
        *seen <= n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_faults_are_used_in_order_and_counted() {
        let book = FaultBook::default();
        book.inject("a".into(), Fault::Status(500), 2);
        book.inject(ANY_MODEL.into(), Fault::Html(502), 1);
        book.inject("b".into(), Fault::BadRequest, 0);
        assert_eq!(book.take("b"), Some(Fault::Html(502)));
        assert_eq!(book.take("b"), None);
        assert_eq!(book.take("a"), Some(Fault::Status(500)));
        assert_eq!(book.take("a"), Some(Fault::Status(500)));
        assert_eq!(book.take("a"), None);
    }

    #[test]
    fn fail_first_counts_per_exact_prompt() {
        let book = FaultBook::default();
        assert!(book.fail_first("p [[sim:fail_first=2]]", 2));
        assert!(book.fail_first("p [[sim:fail_first=2]]", 2));
        assert!(!book.fail_first("p [[sim:fail_first=2]]", 2));
        assert!(book.fail_first("q [[sim:fail_first=2]]", 2));
    }

    #[test]
    fn faults_overlay_directives() {
        let mut d = Directives::default();
        Fault::CutAfter(4).apply(&mut d);
        Fault::DelayMs(9).apply(&mut d);
        Fault::ContextLength.apply(&mut d);
        assert_eq!(d.cut_after, Some(4));
        assert_eq!(d.delay_ms, Some(9));
        assert!(d.context_length);
    }
}
