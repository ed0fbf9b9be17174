//! What to compute: the time range, whose rows, and how to group them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::AnalyticsError;

/// Microseconds in a minute.
pub const MINUTE_US: i64 = 60_000_000;
/// Microseconds in an hour.
pub const HOUR_US: i64 = 60 * MINUTE_US;
/// Microseconds in a day.
pub const DAY_US: i64 = 24 * HOUR_US;

/// A time bucket of a series (UTC, aligned to the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Bucket {
    /// Parses `minute`, `hour` or `day`; `param` names the query parameter in the error.
    pub fn parse(value: &str, param: &'static str) -> Result<Bucket, AnalyticsError> {
        match value {
            "minute" => Ok(Bucket::Minute),
            "hour" => Ok(Bucket::Hour),
            "day" => Ok(Bucket::Day),
            other => Err(AnalyticsError::invalid(
                param,
                format!("expected one of minute, hour, day; got `{other}`"),
            )),
        }
    }

    /// Its name, as accepted by [`Bucket::parse`].
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    /// Its length in microseconds.
    pub fn micros(self) -> i64 {
        match self {
            Bucket::Minute => MINUTE_US,
            Bucket::Hour => HOUR_US,
            Bucket::Day => DAY_US,
        }
    }

    /// The label of the bucket starting at `start_us`: `YYYY-MM-DD` for days, an RFC 3339
    /// UTC time (`2026-01-31T14:00:00Z`) otherwise.
    pub fn label(self, start_us: i64) -> String {
        match self {
            Bucket::Day => DateTime::<Utc>::from_timestamp_micros(start_us)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            _ => rfc3339(start_us),
        }
    }
}

/// How rows are grouped in a spend report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The model that answered (`null`: the request failed before a model was chosen).
    Model,
    /// The provider of that model.
    Provider,
    /// The gateway key id (`null`: anonymous requests to an open gateway).
    Key,
    /// A time bucket of `received_at`.
    Time(Bucket),
}

impl GroupBy {
    /// Parses `model`, `provider`, `key`, `day`, `hour` or `minute` (the `group_by` parameter).
    pub fn parse(value: &str) -> Result<GroupBy, AnalyticsError> {
        match value {
            "model" => Ok(GroupBy::Model),
            "provider" => Ok(GroupBy::Provider),
            "key" => Ok(GroupBy::Key),
            "day" => Ok(GroupBy::Time(Bucket::Day)),
            "hour" => Ok(GroupBy::Time(Bucket::Hour)),
            "minute" => Ok(GroupBy::Time(Bucket::Minute)),
            other => Err(AnalyticsError::invalid(
                "group_by",
                format!("expected one of model, provider, key, day, hour, minute; got `{other}`"),
            )),
        }
    }

    /// Its name, as accepted by [`GroupBy::parse`].
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Key => "key",
            GroupBy::Time(b) => b.as_str(),
        }
    }
}

/// Whose rows a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// Every row (admin, or an open gateway).
    All,
    /// Only the rows of this gateway key id.
    Key(String),
}

/// The rows a report covers: `received_at` in `[from, to)` and the key scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Inclusive lower bound, Unix microseconds.
    pub from_us: Option<i64>,
    /// Exclusive upper bound, Unix microseconds.
    pub to_us: Option<i64>,
    /// Whose rows.
    pub scope: KeyScope,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            from_us: None,
            to_us: None,
            scope: KeyScope::All,
        }
    }
}

impl Filter {
    /// A filter from the `from` and `to` query values (see [`parse_time`]); checks that
    /// `from` is before `to`.
    pub fn from_params(
        from: Option<&str>,
        to: Option<&str>,
        scope: KeyScope,
    ) -> Result<Filter, AnalyticsError> {
        let from_us = from.map(|v| parse_time(v, "from", false)).transpose()?;
        let to_us = to.map(|v| parse_time(v, "to", true)).transpose()?;
        if let (Some(f), Some(t)) = (from_us, to_us) {
            if f >= t {
                return Err(AnalyticsError::invalid(
                    "to",
                    format!(
                        "must be later than `from` ({} is not after {})",
                        rfc3339(t),
                        rfc3339(f)
                    ),
                ));
            }
        }
        Ok(Filter {
            from_us,
            to_us,
            scope,
        })
    }

    /// The first log partition (`YYYY-MM-DD`) that can hold rows of this filter.
    pub fn since_partition(&self) -> Option<String> {
        self.from_us
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .map(|d| d.format("%Y-%m-%d").to_string())
    }
}

/// Parses a time bound: RFC 3339 (`2026-01-31T14:00:00Z`, any offset) or a date
/// `YYYY-MM-DD` (UTC). A date as the upper bound (`end = true`) includes that whole day:
/// it stands for the next day's midnight, the bound being exclusive. Returns Unix
/// microseconds; `param` names the query parameter in the error.
pub fn parse_time(value: &str, param: &'static str, end: bool) -> Result<i64, AnalyticsError> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc).timestamp_micros());
    }
    if v.len() == 10 {
        if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            let day = if end { d.succ_opt() } else { Some(d) };
            if let Some(t) = day.and_then(|d| d.and_hms_opt(0, 0, 0)) {
                return Ok(t.and_utc().timestamp_micros());
            }
        }
    }
    Err(AnalyticsError::invalid(
        param,
        format!(
            "expected an RFC 3339 time (2026-01-31T14:00:00Z; in a URL write a `+` offset as %2B) \
             or a date (2026-01-31), got `{value}`"
        ),
    ))
}

/// Unix microseconds as an RFC 3339 UTC time with second precision (`…Z`).
pub fn rfc3339(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rfc3339_parse_to_the_same_instant() {
        let d = parse_time("2026-01-31", "from", false).unwrap();
        let t = parse_time("2026-01-31T00:00:00Z", "from", false).unwrap();
        let offset = parse_time("2026-01-31T01:00:00+01:00", "from", false).unwrap();
        assert_eq!(d, t);
        assert_eq!(d, offset);
        // 2026-01-31 is 20484 days after 1970-01-01.
        assert_eq!(d, 20_484 * DAY_US);
    }

    #[test]
    fn a_date_as_upper_bound_includes_the_whole_day() {
        let to = parse_time("2026-01-31", "to", true).unwrap();
        assert_eq!(to, parse_time("2026-02-01T00:00:00Z", "to", false).unwrap());
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for bad in ["yesterday", "2026-13-01", "2026-1-1", "", "1700000000"] {
            let e = parse_time(bad, "from", false).unwrap_err();
            assert_eq!(e.param(), Some("from"), "{bad}");
        }
        let e =
            Filter::from_params(Some("2026-02-01"), Some("2026-01-01"), KeyScope::All).unwrap_err();
        assert_eq!(e.param(), Some("to"));
        // Same day as both bounds: the date upper bound covers it.
        assert!(Filter::from_params(Some("2026-01-01"), Some("2026-01-01"), KeyScope::All).is_ok());
        assert_eq!(
            GroupBy::parse("week").unwrap_err().param(),
            Some("group_by")
        );
        assert_eq!(
            Bucket::parse("second", "bucket").unwrap_err().param(),
            Some("bucket")
        );
    }

    #[test]
    fn labels_and_partitions() {
        let t = parse_time("2026-01-31T14:25:00Z", "from", false).unwrap();
        let hour = t - t.rem_euclid(HOUR_US);
        assert_eq!(Bucket::Hour.label(hour), "2026-01-31T14:00:00Z");
        assert_eq!(Bucket::Day.label(t - t.rem_euclid(DAY_US)), "2026-01-31");
        let f = Filter::from_params(Some("2026-01-31T14:25:00Z"), None, KeyScope::All).unwrap();
        assert_eq!(f.since_partition().as_deref(), Some("2026-01-31"));
    }
}
