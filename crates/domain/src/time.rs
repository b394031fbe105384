//! Beijing time (UTC+8, no daylight saving): the calendar every rule counts days in.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// China Standard Time.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(o) => o,
    None => panic!("UTC+8 is a valid offset"),
};

/// China Standard Time (for call sites that want a function).
pub fn cst() -> FixedOffset {
    BEIJING
}

/// The date in Beijing at an instant.
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&BEIJING).date_naive()
}

/// Beijing local date and time → instant (a fixed offset has exactly one).
pub fn local_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    BEIJING
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_time(time).and_utc())
}

/// Start of a Beijing day as unix microseconds (how instants are stored).
pub fn day_start_micros(date: NaiveDate) -> i64 {
    local_instant(date, NaiveTime::MIN).timestamp_micros()
}

/// Dates and instants written out in tests.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{DateTime, NaiveDate, Utc};

    /// `"2026-11-22"` as a date.
    pub(crate) fn d(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// An RFC 3339 instant in UTC.
    pub(crate) fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("an RFC 3339 time")
            .with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beijing_day_starts_at_sixteen_hundred_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let start = local_instant(d, NaiveTime::MIN);
        assert_eq!(start.to_rfc3339(), "2026-12-04T16:00:00+00:00");
        assert_eq!(day_start_micros(d), start.timestamp_micros());
        assert_eq!(beijing_date(start), d);
        assert_eq!(
            beijing_date(start - chrono::Duration::seconds(1)),
            d.pred_opt().unwrap()
        );
    }
}
