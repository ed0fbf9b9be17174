//! Budget windows: UTC calendar days and months.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar month.
    Month,
}

impl Period {
    /// `daily` or `monthly`, as in messages and config names.
    pub fn adjective(&self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
        }
    }
}

/// One concrete window: a day (`2026-12-03`) or a month (`2026-12`), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Day or month.
    pub period: Period,
    /// Its first day.
    pub start: NaiveDate,
}

impl Window {
    /// The window of `period` that contains `now_ms` (Unix milliseconds).
    pub fn containing(period: Period, now_ms: i64) -> Window {
        let day = utc(now_ms).date_naive();
        let start = match period {
            Period::Day => day,
            Period::Month => day.with_day(1).unwrap_or(day),
        };
        Window { period, start }
    }

    /// Unix milliseconds at which the window ends (the next one starts).
    pub fn end_ms(&self) -> i64 {
        let next = match self.period {
            Period::Day => self.start.succ_opt(),
            Period::Month => {
                let (y, m) = if self.start.month() == 12 {
                    (self.start.year() + 1, 1)
                } else {
                    (self.start.year(), self.start.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
            }
        };
        next.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| Utc.from_utc_datetime(&dt).timestamp_millis())
            .unwrap_or(i64::MAX)
    }

    /// A stable text id, e.g. `day:2026-12-03` or `month:2026-12` (usable as a store key).
    pub fn id(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period {
            Period::Day => write!(f, "day:{}", self.start.format("%Y-%m-%d")),
            Period::Month => write!(f, "month:{}", self.start.format("%Y-%m")),
        }
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 text of Unix milliseconds, for messages.
pub fn rfc3339(ms: i64) -> String {
    utc(ms).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-31T23:59:59.500Z
    const NYE: i64 = 1_798_761_599_500;

    #[test]
    fn day_and_month_roll_over_in_utc() {
        let d = Window::containing(Period::Day, NYE);
        let m = Window::containing(Period::Month, NYE);
        assert_eq!(d.id(), "day:2026-12-31");
        assert_eq!(m.id(), "month:2026-12");
        assert_eq!(d.end_ms(), NYE + 500);
        assert_eq!(m.end_ms(), NYE + 500);
        assert_eq!(rfc3339(d.end_ms()), "2027-01-01T00:00:00Z");
        let next = Window::containing(Period::Day, NYE + 500);
        assert_eq!(next.id(), "day:2027-01-01");
        assert_eq!(
            Window::containing(Period::Month, NYE + 500).id(),
            "month:2027-01"
        );
        // February of a leap year ends on the 29th.
        let feb = Window::containing(Period::Month, 1_709_208_000_000); // 2024-02-29T12:00Z
        assert_eq!(rfc3339(feb.end_ms()), "2024-03-01T00:00:00Z");
    }
}
