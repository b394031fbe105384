//! Service centres: booking channels, service durations, weekly slot templates, opening
//! hours, queue tickets, working days and the no-show rule. Pure: dates come in.

use crate::ErrorCode;
use crate::Invalid;
use crate::office::Service;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How a booking reached us; recorded on every appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The national immigration web site or app.
    Web,
    /// The mini program inside Alipay or WeChat; needs a passed face check first.
    MiniProgram,
    /// A city police portal, calling the API with a partner key of its own.
    CityPolice,
    /// Booked for the applicant by staff at the enquiry desk.
    Counter,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Web,
        Channel::MiniProgram,
        Channel::CityPolice,
        Channel::Counter,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::MiniProgram => "mini_program",
            Channel::CityPolice => "city_police",
            Channel::Counter => "counter",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Channel::ALL
            .into_iter()
            .find(|c| c.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadChannel,
                    "channel must be web, mini_program or city_police",
                )
            })
    }

    /// Online channels are the ones a no-show block applies to.
    pub fn is_online(self) -> bool {
        !matches!(self, Channel::Counter)
    }
}

impl Service {
    /// Minutes a counter needs for one applicant: the default slot length.
    pub fn duration_minutes(self) -> u32 {
        match self {
            Service::EepApplication | Service::Hrp | Service::Twp => 15,
            Service::Endorsement | Service::LinkageProofPaper => 10,
            Service::HrpNonChinese | Service::ResidencePermit => 30,
            Service::SelfServiceEndorsement | Service::Collection => 5,
        }
    }

    /// The letter in front of queue numbers, so the hall sees which queue is called.
    pub fn ticket_prefix(self) -> char {
        match self {
            Service::EepApplication => 'A',
            Service::Endorsement => 'B',
            Service::Hrp => 'C',
            Service::HrpNonChinese => 'D',
            Service::Twp => 'E',
            Service::ResidencePermit => 'F',
            Service::LinkageProofPaper => 'G',
            Service::Collection => 'H',
            Service::SelfServiceEndorsement => 'K',
        }
    }

    /// Services handled at a counter (the rest are self-service machines).
    pub fn bookable(self) -> bool {
        !matches!(self, Service::SelfServiceEndorsement)
    }
}

/// One line of a weekly template: on `weekday`, slots of `slot_minutes` from `opens` to
/// `closes`, each for `capacity` applicants (the counters serving the service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateLine {
    pub weekday: Weekday,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub slot_minutes: u32,
    pub capacity: u32,
}

impl TemplateLine {
    pub fn check(&self) -> Result<(), Invalid> {
        if self.closes <= self.opens {
            return Err(Invalid::new(
                ErrorCode::BadHours,
                "closing time must be after opening time",
            ));
        }
        if !(5..=240).contains(&self.slot_minutes) {
            return Err(Invalid::new(
                ErrorCode::BadSlotMinutes,
                "a slot lasts 5 to 240 minutes",
            ));
        }
        if !(1..=500).contains(&self.capacity) {
            return Err(Invalid::new(
                ErrorCode::BadCapacity,
                "capacity is 1 to 500 applicants per slot",
            ));
        }
        Ok(())
    }
}

/// A slot to open: local (Beijing) start and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPlan {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub capacity: u32,
}

/// Slots for `days` days from `from`, skipping closed days; a slot never runs past closing.
pub fn plan_slots(
    template: &[TemplateLine],
    from: NaiveDate,
    days: u32,
    closed: &HashSet<NaiveDate>,
) -> Vec<SlotPlan> {
    let mut out = Vec::new();
    for offset in 0..days {
        let date = from + Duration::days(offset.into());
        if closed.contains(&date) {
            continue;
        }
        for line in template.iter().filter(|l| l.weekday == date.weekday()) {
            let step = Duration::minutes(line.slot_minutes.into());
            let mut start = line.opens;
            while start + step <= line.closes && start + step > start {
                out.push(SlotPlan {
                    date,
                    start,
                    end: start + step,
                    capacity: line.capacity,
                });
                start += step;
            }
        }
    }
    out
}

/// Parses opening hours such as `Mon-Fri 09:00-17:00; Sat 09:00-12:00` into template lines.
pub fn template_from_hours(
    hours: &str,
    slot_minutes: u32,
    capacity: u32,
) -> Result<Vec<TemplateLine>, Invalid> {
    let bad = || {
        Invalid::new(
            ErrorCode::BadHours,
            format!(
                "opening hours look like 'Mon-Fri 09:00-17:00; Sat 09:00-12:00', not {hours:?}"
            ),
        )
    };
    let mut out = Vec::new();
    for part in hours.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (days, times) = part.split_once(' ').ok_or_else(bad)?;
        let (a, b) = match days.split_once('-') {
            Some((a, b)) => (weekday(a).ok_or_else(bad)?, weekday(b).ok_or_else(bad)?),
            None => {
                let d = weekday(days).ok_or_else(bad)?;
                (d, d)
            }
        };
        for range in times.split(',').map(str::trim) {
            let (o, c) = range.split_once('-').ok_or_else(bad)?;
            let opens = NaiveTime::parse_from_str(o.trim(), "%H:%M").map_err(|_| bad())?;
            let closes = NaiveTime::parse_from_str(c.trim(), "%H:%M").map_err(|_| bad())?;
            let mut d = a;
            loop {
                let line = TemplateLine {
                    weekday: d,
                    opens,
                    closes,
                    slot_minutes,
                    capacity,
                };
                line.check()?;
                out.push(line);
                if d == b {
                    break;
                }
                d = d.succ();
            }
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

fn weekday(s: &str) -> Option<Weekday> {
    s.trim().parse::<Weekday>().ok()
}

/// Counter hours of an office open round the clock: every day, 09:00–17:00.
pub const ROUND_THE_CLOCK_COUNTER_HOURS: &str = "Mon-Sun 09:00-17:00";

/// Queue numbers as shown on the display: prefix and three digits, `A001`.
pub fn ticket_label(prefix: char, number: i64) -> String {
    format!("{prefix}{number:03}")
}

/// Priority in the queue: higher is called first, then the earlier ticket.
pub fn ticket_priority(has_appointment: bool, elderly_or_disabled: bool) -> i64 {
    match (elderly_or_disabled, has_appointment) {
        (true, _) => 2,
        (false, true) => 1,
        (false, false) => 0,
    }
}

/// The date `n` working days after `from` (weekends and holidays are not working days;
/// make-up working weekends are). Day 1 is the first working day after `from`.
pub fn add_working_days(
    from: NaiveDate,
    n: u32,
    holidays: &HashSet<NaiveDate>,
    workdays: &HashSet<NaiveDate>,
) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d, holidays, workdays) {
            left -= 1;
        }
    }
    d
}

pub fn is_working_day(
    d: NaiveDate,
    holidays: &HashSet<NaiveDate>,
    workdays: &HashSet<NaiveDate>,
) -> bool {
    if workdays.contains(&d) {
        return true;
    }
    !holidays.contains(&d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Repeated no-shows block online booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowRule {
    /// This many no-shows …
    pub limit: u32,
    /// … within this many days …
    pub window_days: i64,
    /// … block online booking for this many days after the last one.
    pub block_days: i64,
}

impl Default for NoShowRule {
    fn default() -> Self {
        NoShowRule {
            limit: 3,
            window_days: 90,
            block_days: 30,
        }
    }
}

impl NoShowRule {
    /// Until when online booking is blocked, given the dates of past no-shows.
    pub fn blocked_until(&self, no_shows: &[NaiveDate], today: NaiveDate) -> Option<NaiveDate> {
        let since = today - Duration::days(self.window_days);
        let recent: Vec<NaiveDate> = no_shows.iter().copied().filter(|d| *d > since).collect();
        if recent.len() < self.limit as usize {
            return None;
        }
        let last = recent.into_iter().max()?;
        let until = last + Duration::days(self.block_days);
        (until > today).then_some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::time::testing::d;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn hours_become_template_lines() {
        let lines = template_from_hours("Mon-Fri 09:00-17:00; Sat 09:00-12:00", 15, 3).unwrap();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0].weekday, Weekday::Mon);
        assert_eq!(lines[5].weekday, Weekday::Sat);
        assert_eq!(lines[5].closes, t("12:00"));
        let split = template_from_hours("Mon 09:00-12:00,13:30-17:00", 30, 2).unwrap();
        assert_eq!(split.len(), 2);
        for bad in [
            "",
            "Mon",
            "Someday 09:00-12:00",
            "Mon 12:00-09:00",
            "Mon 9-5",
        ] {
            assert_eq!(
                template_from_hours(bad, 15, 3).unwrap_err().code,
                "bad_hours",
                "{bad}"
            );
        }
        assert_eq!(
            template_from_hours("Mon 09:00-12:00", 15, 0)
                .unwrap_err()
                .code,
            "bad_capacity"
        );
    }

    #[test]
    fn slots_skip_holidays_and_never_run_past_closing() {
        let lines = template_from_hours("Mon-Fri 09:00-10:00; Sat 09:00-09:50", 20, 4).unwrap();
        // 2026-09-28 is a Monday; 2026-10-01..07 is the National Day holiday.
        let closed: HashSet<NaiveDate> = (1..=7)
            .map(|day| NaiveDate::from_ymd_opt(2026, 10, day).unwrap())
            .collect();
        let slots = plan_slots(&lines, d("2026-09-28"), 14, &closed);
        let days: Vec<NaiveDate> = slots.iter().map(|s| s.date).collect();
        assert!(days.contains(&d("2026-09-30")));
        assert!(
            !days.iter().any(|x| closed.contains(x)),
            "no slot on a holiday"
        );
        assert!(!days.contains(&d("2026-10-04")), "Sunday has no template");
        // Mon–Fri: three 20-minute slots in an hour; Saturday 50 minutes: two, not three.
        assert_eq!(
            slots.iter().filter(|s| s.date == d("2026-09-28")).count(),
            3
        );
        let sat: Vec<_> = slots.iter().filter(|s| s.date == d("2026-10-10")).collect();
        assert_eq!(sat.len(), 2);
        assert_eq!(sat[1].end, t("09:40"));
        assert!(slots.iter().all(|s| s.capacity == 4));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_but_count_make_up_days() {
        let none = HashSet::new();
        let holidays: HashSet<NaiveDate> = (1..=7)
            .map(|day| NaiveDate::from_ymd_opt(2026, 10, day).unwrap())
            .collect();
        let make_up: HashSet<NaiveDate> = [d("2026-10-10")].into();
        for (from, n, holidays, make_up, want, why) in [
            (
                "2026-11-20",
                1,
                &none,
                &none,
                "2026-11-23",
                "Friday + 1 working day = Monday",
            ),
            (
                "2026-11-20",
                7,
                &none,
                &none,
                "2026-12-01",
                "over a weekend",
            ),
            // Accepted Wed 2026-09-30: working days Oct 8 (Thu), 9 (Fri), 10 (make-up Sat), 12.
            (
                "2026-09-30",
                3,
                &holidays,
                &make_up,
                "2026-10-10",
                "with the make-up day",
            ),
            (
                "2026-09-30",
                3,
                &holidays,
                &none,
                "2026-10-12",
                "without it",
            ),
        ] {
            let got = add_working_days(d(from), n, holidays, make_up);
            assert_eq!(got, d(want), "{from} + {n}: {why}");
        }
    }

    #[test]
    fn three_no_shows_in_ninety_days_block_for_thirty() {
        let rule = NoShowRule::default();
        let today = d("2026-11-22");
        assert_eq!(
            rule.blocked_until(&[d("2026-11-01"), d("2026-11-10")], today),
            None
        );
        let three = [d("2026-09-01"), d("2026-11-01"), d("2026-11-10")];
        assert_eq!(rule.blocked_until(&three, today), Some(d("2026-12-10")));
        // One of them is older than 90 days: not blocked.
        let old = [d("2026-08-01"), d("2026-11-01"), d("2026-11-10")];
        assert_eq!(rule.blocked_until(&old, today), None);
        // The block ends 30 days after the last.
        assert_eq!(rule.blocked_until(&three, d("2026-12-10")), None);
    }

    #[test]
    fn tickets_and_channels() {
        assert_eq!(ticket_label('A', 1), "A001");
        assert_eq!(ticket_label('H', 1234), "H1234");
        assert!(ticket_priority(false, true) > ticket_priority(true, false));
        assert!(ticket_priority(true, false) > ticket_priority(false, false));
        assert_eq!(
            Channel::parse("mini_program").unwrap(),
            Channel::MiniProgram
        );
        assert_eq!(Channel::parse("fax").unwrap_err().code, "bad_channel");
        let prefixes: HashSet<char> = Service::ALL.iter().map(|s| s.ticket_prefix()).collect();
        assert_eq!(prefixes.len(), Service::ALL.len(), "one letter per queue");
    }
}
