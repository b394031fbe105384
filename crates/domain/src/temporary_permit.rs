//! Rules of the temporary e-permit (DOMAIN.md "Temporary e-permit"): who may apply, how
//! long it is valid, how many a month, what it may be used for. Pure: times come in.

use crate::ErrorCode;
use crate::Invalid;
use crate::document::DocumentStatus;
use crate::numbers::DocumentKind;
use crate::person::Names;
use crate::time::cst;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

pub use crate::policy::TemporaryPermitRules;

/// What a temporary permit may be shown for: identity checks on domestic flights and trains,
/// never at border control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermittedUse {
    DomesticFlight,
    DomesticRail,
}

impl PermittedUse {
    pub const ALL: [PermittedUse; 2] = [PermittedUse::DomesticFlight, PermittedUse::DomesticRail];

    pub fn code(self) -> &'static str {
        match self {
            PermittedUse::DomesticFlight => "domestic_flight",
            PermittedUse::DomesticRail => "domestic_rail",
        }
    }
}

/// A mainland mobile number: 11 digits starting 13–19.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits.strip_prefix("+86").unwrap_or(&digits).to_string();
        let b = digits.as_bytes();
        if b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
        {
            Ok(MobileNumber(digits))
        } else {
            Err(Invalid::new(
                ErrorCode::BadMobile,
                "a mainland mobile number has 11 digits and starts with 13 to 19",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`, for messages and staff pages.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// Only home return permits (Chinese citizens) and Taiwan residents' permits stand behind a
/// temporary permit, and only while valid.
/// Whether a permit can stand behind a temporary permit on `today`: its status, and its
/// expiry date whatever the status (a lost or damaged permit past its expiry date is expired
/// too: a temporary permit never outlives the permit it stands for).
pub fn check_eligible_on(
    kind: DocumentKind,
    effective_status: DocumentStatus,
    expires_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), Invalid> {
    check_eligible(kind, effective_status)?;
    if expires_on < today {
        return Err(Invalid::new(
            ErrorCode::PermitExpired,
            "the permit has expired",
        ));
    }
    Ok(())
}

pub fn check_eligible(kind: DocumentKind, effective_status: DocumentStatus) -> Result<(), Invalid> {
    if !matches!(kind, DocumentKind::Hrp | DocumentKind::Twp) {
        return Err(Invalid::new(
            ErrorCode::KindNotEligible,
            "temporary permits stand for a home return permit or a Taiwan residents' permit",
        ));
    }
    match effective_status {
        DocumentStatus::Valid | DocumentStatus::ReportedLost | DocumentStatus::Damaged => Ok(()),
        DocumentStatus::Expired => Err(Invalid::new(
            ErrorCode::PermitExpired,
            "the permit has expired",
        )),
        DocumentStatus::Cancelled | DocumentStatus::Surrendered => Err(Invalid::new(
            ErrorCode::PermitNotValid,
            "the permit has been cancelled or surrendered",
        )),
    }
}

/// The name as on the permit: the Chinese name or the Latin name, ignoring case and spacing.
/// Compared a character at a time: relying-party checks call this for every document they
/// read, and building the folded names cost a linkage check about 2 % of its time.
pub fn name_matches(input: &str, names: &Names) -> bool {
    fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != ',')
            .flat_map(char::to_uppercase)
    }
    folded(input).next().is_some()
        && (names
            .zh
            .as_deref()
            .is_some_and(|zh| folded(zh).eq(folded(input)))
            || folded(&names.latin).eq(folded(input)))
}

/// Valid from issue until issue + 7 days, never past the end of the permit's expiry day
/// (Beijing time).
pub fn validity(
    rules: &TemporaryPermitRules,
    issued_at: DateTime<Utc>,
    permit_expires_on: NaiveDate,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let until = (issued_at + Duration::days(rules.valid_days))
        .min(end_of_day(permit_expires_on, issued_at));
    (issued_at, until)
}

/// The end of a document's expiry day in Beijing (midnight starting the next day); a
/// credential standing for the document never outlives it. `fallback` if out of range.
pub fn end_of_day(expires_on: NaiveDate, fallback: DateTime<Utc>) -> DateTime<Utc> {
    expires_on
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| cst().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(fallback)
}

/// The calendar month (Beijing time) an issue counts against, e.g. `2026-11`.
pub fn month_key(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&cst());
    format!("{:04}-{:02}", local.year(), local.month())
}

/// The first moment of the next calendar month in Beijing time: when the count resets.
pub fn next_month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&cst());
    let (y, m) = if local.month() == 12 {
        (local.year() + 1, 1)
    } else {
        (local.year(), local.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| cst().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::time::testing::{d, utc};

    #[test]
    fn seven_days_but_never_past_the_permit() {
        let r = TemporaryPermitRules::default();
        let at = utc("2026-11-22T10:00:00+08:00");
        let (from, until) = validity(&r, at, d("2030-01-01"));
        assert_eq!(from, at);
        assert_eq!(until, utc("2026-11-29T10:00:00+08:00"));
        let (_, until) = validity(&r, at, d("2026-11-25"));
        assert_eq!(
            until,
            utc("2026-11-26T00:00:00+08:00"),
            "ends with the permit's last day"
        );
    }

    #[test]
    fn the_month_is_counted_in_beijing_time() {
        // 23:30 UTC on 31 Oct is already 1 Nov in Beijing.
        assert_eq!(month_key(utc("2026-10-31T23:30:00Z")), "2026-11");
        assert_eq!(month_key(utc("2026-10-31T15:59:59Z")), "2026-10");
        assert_eq!(
            next_month_start(utc("2026-11-30T12:00:00+08:00")),
            utc("2026-12-01T00:00:00+08:00")
        );
        assert_eq!(
            next_month_start(utc("2026-12-15T12:00:00+08:00")),
            utc("2027-01-01T00:00:00+08:00")
        );
    }

    #[test]
    fn mobile_numbers() {
        for ok in ["13800138000", "+86 138 0013 8000", "199-1234-5678"] {
            assert!(MobileNumber::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "12800138000",
            "1380013800",
            "138001380000",
            "23800138000",
            "1380013800a",
            "",
            "１３８００１３８０００",
        ] {
            assert_eq!(
                MobileNumber::parse(bad).unwrap_err().code,
                "bad_mobile",
                "{bad}"
            );
        }
        assert_eq!(
            MobileNumber::parse("13800138000").unwrap().masked(),
            "138****8000"
        );
    }

    #[test]
    fn eligibility() {
        assert!(check_eligible(DocumentKind::Hrp, DocumentStatus::Valid).is_ok());
        assert!(
            check_eligible(DocumentKind::Twp, DocumentStatus::ReportedLost).is_ok(),
            "lost permits are the point"
        );
        for (kind, status, want) in [
            (
                DocumentKind::EepCard,
                DocumentStatus::Valid,
                "kind_not_eligible",
            ),
            (
                DocumentKind::HrpNonChinese,
                DocumentStatus::Valid,
                "kind_not_eligible",
            ),
            (DocumentKind::Hrp, DocumentStatus::Expired, "permit_expired"),
            (
                DocumentKind::Hrp,
                DocumentStatus::Cancelled,
                "permit_not_valid",
            ),
            (
                DocumentKind::Twp,
                DocumentStatus::Surrendered,
                "permit_not_valid",
            ),
        ] {
            let refused = check_eligible(kind, status).unwrap_err();
            assert_eq!(refused.code, want, "{kind:?} {status:?}");
        }
    }

    #[test]
    fn names_match_ignoring_case_and_spacing() {
        let n = Names {
            zh: Some("陳大文".into()),
            latin: "CHAN TAI MAN".into(),
        };
        for ok in [
            "陳大文",
            "陳 大文",
            "chan tai man",
            "CHAN,TAI MAN",
            "ChanTaiMan",
        ] {
            assert!(name_matches(ok, &n), "{ok}");
        }
        for bad in [
            "陈大文",
            "CHAN TAI",
            "CHAN TAI MAN JR",
            "陳大文陳",
            "",
            "  ",
            ",",
        ] {
            assert!(!name_matches(bad, &n), "{bad}");
        }
        // Case folded as the documents print it: one letter may stand for two.
        let latin_only = Names {
            zh: None,
            latin: "WEISS STRASSE".into(),
        };
        assert!(name_matches("Weiß Straße", &latin_only));
        assert!(!name_matches("Weis Strase", &latin_only));
    }

    #[test]
    fn uses_are_domestic_only() {
        let codes: Vec<_> = PermittedUse::ALL.iter().map(|u| u.code()).collect();
        assert_eq!(codes, ["domestic_flight", "domestic_rail"]);
        assert!(!codes.contains(&"border"));
    }

    #[test]
    fn every_status_expired_or_not_has_one_clear_answer() {
        use DocumentStatus::*;
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let past = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let future = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        for (status, future_answer) in [
            (Valid, None),
            (ReportedLost, None),
            (Damaged, None),
            (Expired, Some("permit_expired")),
            (Cancelled, Some("permit_not_valid")),
            (Surrendered, Some("permit_not_valid")),
        ] {
            let code = |on| {
                check_eligible_on(DocumentKind::Hrp, status, on, today)
                    .err()
                    .map(|e| e.code.code())
            };
            assert_eq!(code(future), future_answer, "{status:?} not expired");
            let past_answer = future_answer.or(Some("permit_expired"));
            assert_eq!(code(past), past_answer, "{status:?} past its expiry date");
            // The last day of validity still counts.
            assert_eq!(code(today), future_answer, "{status:?} expiring today");
        }
    }
}
