//! Versioned policy: every rule with a number or a date, with the day it took effect.
//! The authorities change these often; code asks the policy, never a constant.

use crate::ErrorCode;
use crate::Invalid;
use crate::numbers::DocumentKind;
use chrono::NaiveDate;

/// How long a document of one kind is valid, from `effective_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityRule {
    pub kind: DocumentKind,
    pub effective_from: NaiveDate,
    /// Last day on which new documents of this kind are issued, if the kind was withdrawn.
    pub issued_until: Option<NaiveDate>,
    /// Holders younger than `adult_age` on the application date get `minor_years`.
    pub adult_age: i32,
    pub minor_years: u32,
    pub adult_years: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub validity: Vec<ValidityRule>,
    /// The last day EEP booklets were issued (cards replaced them).
    pub booklets_last_issued: NaiveDate,
    /// Every EEP booklet is void from this day (valid up to and including the day before).
    pub booklets_void_from: NaiveDate,
    pub temporary_permit: TemporaryPermitRules,
    /// Fees for issuing a document, by the application date.
    pub fees: Vec<FeeRule>,
    /// Endorsement stays and fees, by date.
    pub endorsements: crate::endorsements::EndorsementRules,
}

/// The fee for issuing a document of `kind`, from `effective_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    pub kind: DocumentKind,
    pub effective_from: NaiveDate,
    pub fee: crate::products::Money,
    /// Applicants younger than this age pay `minor_cents` instead (same currency).
    pub minor: Option<(u32, i64)>,
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid policy date"),
    }
}

impl Policy {
    /// The rules of DOMAIN.md as of today's knowledge.
    pub fn builtin() -> Self {
        use crate::products::Currency::*;
        use DocumentKind::*;
        let fee = |kind, from, cents, currency| FeeRule {
            kind,
            effective_from: from,
            fee: crate::products::Money { cents, currency },
            minor: None,
        };
        let rule = |kind, from, until, adult_age, minor_years, adult_years| ValidityRule {
            kind,
            effective_from: from,
            issued_until: until,
            adult_age,
            minor_years,
            adult_years,
        };
        Policy {
            validity: vec![
                // Smart cards since 2014-09-15: 5 years under 16, else 10.
                rule(EepCard, date(2014, 9, 15), None, 16, 5, 10),
                // Booklets: 5 years; the last issued on 2014-09-14, so valid up to and
                // including 2019-09-13 and void from 2019-09-14.
                rule(
                    EepBooklet,
                    date(1998, 1, 1),
                    Some(date(2014, 9, 14)),
                    0,
                    5,
                    5,
                ),
                rule(Hrp, date(1999, 1, 1), None, 18, 5, 10),
                rule(HrpNonChinese, date(2024, 7, 10), None, 0, 5, 5),
                rule(Twp, date(2015, 7, 1), None, 0, 5, 5),
                rule(ResidencePermit, date(2018, 9, 1), None, 0, 5, 5),
            ],
            booklets_last_issued: date(2014, 9, 14),
            booklets_void_from: date(2019, 9, 14),
            temporary_permit: TemporaryPermitRules::default(),
            fees: vec![
                // EEP card: 80 CNY, 60 from 2019-07-01.
                fee(EepCard, date(2014, 9, 15), 8000, Cny),
                fee(EepCard, date(2019, 7, 1), 6000, Cny),
                fee(HrpNonChinese, date(2024, 7, 10), 26000, Hkd),
                // The Chinese citizens' home return permit at the CTS centres: HK$390 for
                // adults, HK$260 under 18.
                FeeRule {
                    minor: Some((18, 26000)),
                    ..fee(Hrp, date(2024, 7, 10), 39000, Hkd)
                },
            ],
            endorsements: crate::endorsements::EndorsementRules::default(),
        }
    }

    /// The fee for a document of `kind` applied for on `applied_on`.
    pub fn fee(
        &self,
        kind: DocumentKind,
        applied_on: NaiveDate,
    ) -> Result<crate::products::Money, Invalid> {
        self.fee_for_age(kind, applied_on, u32::MAX)
    }

    /// The fee for an applicant of `age` (some kinds cost less for minors).
    pub fn fee_for_age(
        &self,
        kind: DocumentKind,
        applied_on: NaiveDate,
        age: u32,
    ) -> Result<crate::products::Money, Invalid> {
        self.fees
            .iter()
            .filter(|r| r.kind == kind && r.effective_from <= applied_on)
            .max_by_key(|r| r.effective_from)
            .map(|r| match r.minor {
                Some((below, cents)) if age < below => crate::products::Money {
                    cents,
                    currency: r.fee.currency,
                },
                _ => r.fee,
            })
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::NoFeeOnDate,
                    format!("no fee for {} on {applied_on}", kind.code()),
                )
            })
    }

    fn rule_on(&self, kind: DocumentKind, on: NaiveDate) -> Option<&ValidityRule> {
        self.validity
            .iter()
            .filter(|r| r.kind == kind && r.effective_from <= on)
            .max_by_key(|r| r.effective_from)
    }

    /// Years of validity for a document applied for on `applied_on` by a holder of `age`.
    pub fn validity_years(
        &self,
        kind: DocumentKind,
        age: i32,
        applied_on: NaiveDate,
    ) -> Result<u32, Invalid> {
        let rule = self
            .rule_on(kind, applied_on)
            .filter(|r| r.issued_until.is_none_or(|u| applied_on <= u))
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::NotAvailableOnDate,
                    format!("no {} is issued on {applied_on}", kind.code()),
                )
            })?;
        Ok(if age < rule.adult_age {
            rule.minor_years
        } else {
            rule.adult_years
        })
    }

    /// The longest validity a document of this kind has had under any rule.
    pub fn max_validity_years(&self, kind: DocumentKind) -> u32 {
        self.validity
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.adult_years.max(r.minor_years))
            .max()
            .unwrap_or(10)
    }
}

/// Numbers and dates of the rules, from policy (see `Policy::temporary_permit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemporaryPermitRules {
    /// The service exists from this day (2025-03-20).
    pub available_from: NaiveDate,
    pub valid_days: i64,
    pub per_calendar_month: i64,
    pub sms_code_minutes: i64,
    pub sms_max_tries: i64,
    pub sms_resend_secs: i64,
    /// Codes sent per application (the first and the resends); then start again.
    pub sms_max_sends: i64,
}

impl Default for TemporaryPermitRules {
    fn default() -> Self {
        TemporaryPermitRules {
            available_from: NaiveDate::from_ymd_opt(2025, 3, 20).unwrap_or_default(),
            valid_days: 7,
            per_calendar_month: 2,
            sms_code_minutes: 5,
            sms_max_tries: 5,
            sms_resend_secs: 60,
            sms_max_sends: 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_fee_follows_the_application_date() {
        let p = Policy::builtin();
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            p.fee(DocumentKind::EepCard, on(2019, 6, 30)).unwrap().cents,
            8000
        );
        assert_eq!(
            p.fee(DocumentKind::EepCard, on(2019, 7, 1)).unwrap().cents,
            6000
        );
        let adult = p
            .fee_for_age(DocumentKind::Hrp, on(2026, 1, 1), 30)
            .unwrap();
        let child = p
            .fee_for_age(DocumentKind::Hrp, on(2026, 1, 1), 17)
            .unwrap();
        assert_eq!(
            (adult.to_string(), child.to_string()),
            ("HKD 390.00".to_string(), "HKD 260.00".to_string())
        );
        let hk = p.fee(DocumentKind::HrpNonChinese, on(2026, 1, 1)).unwrap();
        assert_eq!(hk.to_string(), "HKD 260.00");
        assert_eq!(
            p.fee(DocumentKind::HrpNonChinese, on(2024, 7, 9))
                .unwrap_err()
                .code,
            "no_fee_on_date"
        );
    }
}
