//! Documents held by people: statuses and the validity rules applied when the platform
//! issues one.

use crate::ErrorCode;
use crate::Invalid;
use crate::numbers::DocumentKind;
use crate::policy::Policy;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// Status as stored: what happened to the document. Expiry is never stored; it is derived
/// from `expires_on` by [`effective_status`], so a status cannot go stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Valid,
    ReportedLost,
    Damaged,
    Surrendered,
    Cancelled,
    /// Only ever produced by [`effective_status`]; import accepts it for a past date.
    Expired,
}

impl DocumentStatus {
    pub const ALL: [DocumentStatus; 6] = [
        DocumentStatus::Valid,
        DocumentStatus::ReportedLost,
        DocumentStatus::Damaged,
        DocumentStatus::Surrendered,
        DocumentStatus::Cancelled,
        DocumentStatus::Expired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocumentStatus::Valid => "valid",
            DocumentStatus::ReportedLost => "reported_lost",
            DocumentStatus::Damaged => "damaged",
            DocumentStatus::Surrendered => "surrendered",
            DocumentStatus::Cancelled => "cancelled",
            DocumentStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        DocumentStatus::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadStatus,
                    format!(
                        "status must be one of valid, reported_lost, damaged, surrendered, cancelled, expired, not {s:?}"
                    ),
                )
            })
    }
}

/// The status a reader should see on `today`: a stored `valid` past its expiry (or a
/// booklet after the booklet void date) reads as `expired`.
pub fn effective_status(
    policy: &Policy,
    kind: DocumentKind,
    stored: DocumentStatus,
    expires_on: NaiveDate,
    today: NaiveDate,
) -> DocumentStatus {
    if stored != DocumentStatus::Valid {
        return stored;
    }
    let booklet_void = kind == DocumentKind::EepBooklet && today >= policy.booklets_void_from;
    if today > expires_on || booklet_void {
        DocumentStatus::Expired
    } else {
        DocumentStatus::Valid
    }
}

/// Whole years between `dob` and `on` (the age on that day).
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

/// The expiry date of a document the platform issues: the validity from policy by the
/// holder's age on the application date, ending the day before the anniversary.
pub fn expiry_for_issue(
    policy: &Policy,
    kind: DocumentKind,
    dob: NaiveDate,
    applied_on: NaiveDate,
    issued_on: NaiveDate,
) -> Result<NaiveDate, Invalid> {
    let years = policy.validity_years(kind, age_on(dob, applied_on), applied_on)?;
    issued_on
        .checked_add_months(Months::new(years * 12))
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| Invalid::new(ErrorCode::BadDate, "expiry date out of range"))
}

/// Checks imported dates for plausibility: expiry after issue, no longer than the longest
/// validity the kind has ever had, and the status `expired` only for a past expiry.
pub fn check_dates(
    policy: &Policy,
    kind: DocumentKind,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
    status: DocumentStatus,
    today: NaiveDate,
) -> Result<(), Invalid> {
    if issued_on > today {
        return Err(Invalid::new(
            ErrorCode::IssuedInFuture,
            "the issue date is in the future",
        ));
    }
    if expires_on <= issued_on {
        return Err(Invalid::new(
            ErrorCode::ExpiryBeforeIssue,
            "the expiry date must be after the issue date",
        ));
    }
    let longest = policy.max_validity_years(kind);
    let limit = issued_on
        .checked_add_months(Months::new(longest * 12))
        .unwrap_or(NaiveDate::MAX);
    if expires_on > limit {
        return Err(Invalid::new(
            ErrorCode::ValidityTooLong,
            format!("a {} is valid for at most {longest} years", kind.code()),
        ));
    }
    if kind == DocumentKind::EepBooklet && issued_on > policy.booklets_last_issued {
        return Err(Invalid::new(
            ErrorCode::BookletAfterVoidDate,
            format!(
                "no booklets were issued after {}; all booklets are void from {}",
                policy.booklets_last_issued, policy.booklets_void_from
            ),
        ));
    }
    if status == DocumentStatus::Expired && expires_on >= today {
        return Err(Invalid::new(
            ErrorCode::StatusConflict,
            "status is expired but the expiry date has not passed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::time::testing::d;

    #[test]
    fn eep_card_is_five_years_under_sixteen_and_ten_from_sixteen() {
        let p = Policy::builtin();
        let dob = d("2010-06-01");
        // 15 on the application date, 16 by the issue date: the application date decides.
        let exp = expiry_for_issue(
            &p,
            DocumentKind::EepCard,
            dob,
            d("2026-05-31"),
            d("2026-06-10"),
        );
        assert_eq!(exp.unwrap(), d("2031-06-09"));
        let exp = expiry_for_issue(
            &p,
            DocumentKind::EepCard,
            dob,
            d("2026-06-01"),
            d("2026-06-10"),
        );
        assert_eq!(exp.unwrap(), d("2036-06-09"));
    }

    #[test]
    fn hrp_is_ten_years_from_eighteen_else_five() {
        let p = Policy::builtin();
        let dob = d("2008-03-01");
        let minor = expiry_for_issue(&p, DocumentKind::Hrp, dob, d("2026-02-28"), d("2026-03-05"));
        assert_eq!(minor.unwrap(), d("2031-03-04"));
        let adult = expiry_for_issue(&p, DocumentKind::Hrp, dob, d("2026-03-01"), d("2026-03-05"));
        assert_eq!(adult.unwrap(), d("2036-03-04"));
    }

    #[test]
    fn fixed_five_year_kinds() {
        let p = Policy::builtin();
        for kind in [
            DocumentKind::HrpNonChinese,
            DocumentKind::Twp,
            DocumentKind::ResidencePermit,
        ] {
            let exp = expiry_for_issue(&p, kind, d("1980-01-01"), d("2025-01-10"), d("2025-01-20"));
            assert_eq!(exp.unwrap(), d("2030-01-19"), "{kind:?}");
        }
    }

    #[test]
    fn non_chinese_hrp_does_not_exist_before_its_start_date() {
        let p = Policy::builtin();
        let r = expiry_for_issue(
            &p,
            DocumentKind::HrpNonChinese,
            d("1980-01-01"),
            d("2024-07-09"),
            d("2024-07-20"),
        );
        assert_eq!(r.unwrap_err().code, "not_available_on_date");
    }

    #[test]
    fn no_new_booklets_after_the_last_issue_day() {
        let p = Policy::builtin();
        let issue = |on: &str| {
            expiry_for_issue(&p, DocumentKind::EepBooklet, d("1980-01-01"), d(on), d(on))
        };
        assert_eq!(issue("2014-09-14").unwrap(), d("2019-09-13"));
        assert_eq!(
            issue("2014-09-15").unwrap_err().code,
            "not_available_on_date"
        );
    }

    /// The status read on each day of `days`, for a document of `kind` stored as `stored`
    /// and expiring `expires_on`, is the one paired with the day.
    fn read_as(
        kind: DocumentKind,
        stored: DocumentStatus,
        expires_on: &str,
        days: &[(&str, DocumentStatus)],
    ) {
        let p = Policy::builtin();
        for &(on, want) in days {
            let got = effective_status(&p, kind, stored, d(expires_on), d(on));
            assert_eq!(got, want, "{kind:?} stored {stored:?}, read on {on}");
        }
    }

    #[test]
    fn expiry_is_derived_from_the_date() {
        use DocumentStatus::{Expired, ReportedLost, Valid};
        let twp = DocumentKind::Twp;
        read_as(
            twp,
            Valid,
            "2026-01-31",
            &[("2026-01-31", Valid), ("2026-02-01", Expired)],
        );
        read_as(
            twp,
            ReportedLost,
            "2026-01-31",
            &[("2026-02-01", ReportedLost)],
        );
    }

    #[test]
    fn booklets_read_as_expired_from_the_void_date() {
        use DocumentStatus::{Expired, Valid};
        // Valid up to and including 2019-09-13, void from 2019-09-14.
        let days = [("2019-09-13", Valid), ("2019-09-14", Expired)];
        read_as(DocumentKind::EepBooklet, Valid, "2020-12-31", &days);
    }

    #[test]
    fn imported_dates_are_checked() {
        let p = Policy::builtin();
        let today = d("2026-11-22");
        let ok = check_dates(
            &p,
            DocumentKind::Twp,
            d("2022-01-01"),
            d("2026-12-31"),
            DocumentStatus::Valid,
            today,
        );
        assert!(ok.is_ok());
        let cases = [
            (
                DocumentKind::Twp,
                "2027-01-01",
                "2031-12-31",
                DocumentStatus::Valid,
                "issued_in_future",
            ),
            (
                DocumentKind::Twp,
                "2022-01-01",
                "2021-12-31",
                DocumentStatus::Valid,
                "expiry_before_issue",
            ),
            (
                DocumentKind::Twp,
                "2020-01-01",
                "2026-01-01",
                DocumentStatus::Valid,
                "validity_too_long",
            ),
            (
                DocumentKind::EepBooklet,
                "2019-09-13",
                "2024-09-12",
                DocumentStatus::Valid,
                "booklet_after_void_date",
            ),
            (
                DocumentKind::Twp,
                "2022-01-01",
                "2026-12-31",
                DocumentStatus::Expired,
                "status_conflict",
            ),
        ];
        for (kind, issued, expires, status, code) in cases {
            let r = check_dates(&p, kind, d(issued), d(expires), status, today);
            assert_eq!(r.unwrap_err().code, code, "{kind:?} {issued} {expires}");
        }
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(d("2000-02-29"), d("2018-02-28")), 17);
        assert_eq!(age_on(d("2000-02-29"), d("2018-03-01")), 18);
    }
}
