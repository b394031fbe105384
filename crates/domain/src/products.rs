//! What a service centre accepts at the counter: each product names the service it is
//! booked under, the document it issues, the checklist the clerk ticks, the processing time,
//! whether the old document is surrendered on collection, and how it is paid. New kinds of
//! application plug in by adding a row to [`PRODUCTS`] (and a fee rule to the policy).

use crate::ErrorCode;
use crate::Invalid;
use crate::numbers::DocumentKind;
use crate::office::Service;
use serde::{Deserialize, Serialize};

/// Processing after acceptance at the counter.
pub const HRP_PROCESSING_WORKING_DAYS: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Cny,
    Hkd,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
            Currency::Hkd => "HKD",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "CNY" => Ok(Currency::Cny),
            "HKD" => Ok(Currency::Hkd),
            _ => Err(Invalid::new(
                ErrorCode::BadCurrency,
                "currency is CNY or HKD",
            )),
        }
    }

    /// How a counter may take money in this currency: the mainland's cards and wallets for
    /// CNY; at a Hong Kong centre (HKD) cash, EPS (debit card), Octopus or a credit card
    /// (`card`).
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Currency::Cny => &[
                "unionpay",
                "alipay",
                "wechat_pay",
                "yang_cheng_tong",
                "cash",
            ],
            Currency::Hkd => &["card", "octopus", "eps", "cash"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub cents: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(cents: i64, currency: Currency) -> Self {
        Money { cents, currency }
    }

    /// Yuan (renminbi) in fen.
    pub fn cny(cents: i64) -> Self {
        Money::new(cents, Currency::Cny)
    }

    /// The amount without the currency, two decimals: `12.50` (pages put the currency
    /// where their language wants it; `Display` gives `CNY 12.50`).
    pub fn amount(&self) -> String {
        format!("{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.currency.code(), self.amount())
    }
}

/// Why a document is applied for; decides what happens to the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueReason {
    /// No document of this kind yet (or none still valid).
    First,
    /// The current document is handed in when the new one is collected.
    Renewal,
    /// The old document was lost or damaged: a lost one stays reported lost, a damaged one
    /// is handed in (surrendered) when the new one is collected.
    Replacement,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub code: &'static str,
    pub service: Service,
    pub issues: DocumentKind,
    pub reason: IssueReason,
    /// Checklist item codes; every one must be ticked before acceptance.
    pub checklist: &'static [&'static str],
    /// Items also to be ticked when the applicant is under 18 (a guardian accompanies).
    pub minor_checklist: &'static [&'static str],
    pub processing_working_days: u32,
}

const EEP_CHECKLIST: &[&str] = &["identity_card", "hukou_booklet", "application_form"];
const HRP_CHECKLIST: &[&str] = &["permanent_id_card", "application_form"];
/// Processing of the Chinese citizens' home return permit (regular service).
pub const HRP_WORKING_DAYS: u32 = 12;

/// A new home return permit number for a Chinese citizen: `H` (Hong Kong) or `M` (Macao)
/// and 8 digits; kept for life.
pub fn hrp_number(region_hong_kong: bool, random: u64) -> String {
    let prefix = if region_hong_kong { "H" } else { "M" };
    format!("{prefix}{:08}", random % 100_000_000)
}

pub const PRODUCTS: &[Product] = &[
    Product {
        code: "eep_card_first",
        service: Service::EepApplication,
        issues: DocumentKind::EepCard,
        reason: IssueReason::First,
        checklist: EEP_CHECKLIST,
        minor_checklist: &[],
        processing_working_days: 7,
    },
    Product {
        code: "eep_card_renewal",
        service: Service::EepApplication,
        issues: DocumentKind::EepCard,
        reason: IssueReason::Renewal,
        checklist: &[
            "identity_card",
            "hukou_booklet",
            "application_form",
            "old_permit",
        ],
        minor_checklist: &[],
        processing_working_days: 7,
    },
    Product {
        code: "eep_card_replacement",
        service: Service::EepApplication,
        issues: DocumentKind::EepCard,
        reason: IssueReason::Replacement,
        checklist: &[
            "identity_card",
            "hukou_booklet",
            "application_form",
            "loss_declaration",
        ],
        minor_checklist: &[],
        processing_working_days: 7,
    },
    // The Chinese citizens' home return permit at the CTS centres in Hong Kong: 12 working
    // days; renewals and replacements keep the number for life.
    Product {
        code: "hrp_first",
        service: Service::Hrp,
        issues: DocumentKind::Hrp,
        reason: IssueReason::First,
        checklist: HRP_CHECKLIST,
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_WORKING_DAYS,
    },
    Product {
        code: "hrp_renewal",
        service: Service::Hrp,
        issues: DocumentKind::Hrp,
        reason: IssueReason::Renewal,
        checklist: &["permanent_id_card", "application_form", "old_permit"],
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_WORKING_DAYS,
    },
    Product {
        code: "hrp_replacement",
        service: Service::Hrp,
        issues: DocumentKind::Hrp,
        reason: IssueReason::Replacement,
        checklist: &["permanent_id_card", "application_form", "loss_declaration"],
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_WORKING_DAYS,
    },
    // The non-Chinese permit, each accepted against an approved online pre-application
    // made for that purpose; renewals and replacements keep the number (`keeps_number`).
    Product {
        code: "hrp_non_chinese_first",
        service: Service::HrpNonChinese,
        issues: DocumentKind::HrpNonChinese,
        reason: IssueReason::First,
        checklist: &["permanent_id_card", "passport", "pre_application"],
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_PROCESSING_WORKING_DAYS,
    },
    Product {
        code: "hrp_non_chinese_renewal",
        service: Service::HrpNonChinese,
        issues: DocumentKind::HrpNonChinese,
        reason: IssueReason::Renewal,
        checklist: &[
            "permanent_id_card",
            "passport",
            "pre_application",
            "old_permit",
        ],
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_PROCESSING_WORKING_DAYS,
    },
    Product {
        code: "hrp_non_chinese_replacement",
        service: Service::HrpNonChinese,
        issues: DocumentKind::HrpNonChinese,
        reason: IssueReason::Replacement,
        checklist: &[
            "permanent_id_card",
            "passport",
            "pre_application",
            "loss_declaration",
        ],
        minor_checklist: &["guardian_present"],
        processing_working_days: HRP_PROCESSING_WORKING_DAYS,
    },
];

pub fn product(code: &str) -> Result<&'static Product, Invalid> {
    PRODUCTS
        .iter()
        .find(|p| p.code == code.trim())
        .ok_or_else(|| {
            Invalid::new(
                ErrorCode::BadProduct,
                format!("unknown application kind {code:?}"),
            )
        })
}

/// Products a counter of `service` accepts.
pub fn for_service(service: Service) -> Vec<&'static Product> {
    PRODUCTS.iter().filter(|p| p.service == service).collect()
}

impl Product {
    /// Whether the new document carries the old one's number (with the next issue count)
    /// instead of a new number: renewals and replacements of the home return permits, whose
    /// number is for life.
    pub fn keeps_number(&self) -> bool {
        self.issues.has_issue_count() && self.reason != IssueReason::First
    }

    /// Every checklist item ticked (for an applicant under 18 also the minor items), and
    /// nothing unknown; returns the items in order.
    pub fn check_list(&self, ticked: &[String], minor: bool) -> Result<Vec<&'static str>, Invalid> {
        let known = |t: &str| self.checklist.contains(&t) || self.minor_checklist.contains(&t);
        if let Some(x) = ticked.iter().find(|t| !known(t)) {
            return Err(Invalid::new(
                ErrorCode::BadChecklistItem,
                format!("not on the checklist: {x:?}"),
            ));
        }
        let minor_items: &[&'static str] = if minor { self.minor_checklist } else { &[] };
        let required: Vec<&'static str> =
            self.checklist.iter().chain(minor_items).copied().collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !ticked.iter().any(|t| t == c))
            .collect();
        if !missing.is_empty() {
            return Err(Invalid::new(
                ErrorCode::ChecklistIncomplete,
                format!("still to check: {}", missing.join(", ")),
            ));
        }
        Ok(required)
    }
}

/// An EEP card number in the current format: `C`, a letter other than I and O, 7 digits,
/// from 64 random bits (the caller retries when the number was ever used).
pub fn eep_card_number(random: u64) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    let letter = LETTERS[(random % LETTERS.len() as u64) as usize] as char;
    let digits = (random / LETTERS.len() as u64) % 10_000_000;
    format!("C{letter}{digits:07}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbers::DocumentNumber;
    use chrono::NaiveDate;

    #[test]
    fn money_prints_two_decimals_with_or_without_the_currency() {
        assert_eq!(Money::cny(1250).amount(), "12.50");
        assert_eq!(Money::cny(5).to_string(), "CNY 0.05");
        assert_eq!(Money::new(39000, Currency::Hkd).to_string(), "HKD 390.00");
    }

    #[test]
    fn card_numbers_have_the_current_format() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        for r in [0, 1, 23, 24, u64::MAX, 0x1234_5678_9abc_def0] {
            let n = eep_card_number(r);
            assert_eq!(n.len(), 9, "{n}");
            assert!(!n[1..2].contains(['I', 'O']), "{n}");
            DocumentNumber::parse(DocumentKind::EepCard, &n, today).unwrap();
        }
        assert_ne!(eep_card_number(1), eep_card_number(2));
    }

    #[test]
    fn checklist_must_be_complete_and_known() {
        let p = product("eep_card_renewal").unwrap();
        let all: Vec<String> = p.checklist.iter().map(|s| s.to_string()).collect();
        assert_eq!(p.check_list(&all, false).unwrap().len(), 4);
        let short = &all[..3];
        assert_eq!(
            p.check_list(short, false).unwrap_err().code,
            "checklist_incomplete"
        );
        let mut extra = all.clone();
        extra.push("bribe".into());
        assert_eq!(
            p.check_list(&extra, false).unwrap_err().code,
            "bad_checklist_item"
        );
        assert_eq!(product("visa").unwrap_err().code, "bad_product");
        assert_eq!(for_service(Service::EepApplication).len(), 3);
    }

    #[test]
    fn a_guardian_is_checked_for_applicants_under_18() {
        let p = product("hrp_non_chinese_first").unwrap();
        let mut ticked: Vec<String> = p.checklist.iter().map(|s| s.to_string()).collect();
        assert_eq!(p.check_list(&ticked, false).unwrap(), p.checklist);
        assert_eq!(
            p.check_list(&ticked, true).unwrap_err().code,
            "checklist_incomplete"
        );
        ticked.push("guardian_present".into());
        assert_eq!(p.check_list(&ticked, true).unwrap().len(), 4);
        assert_eq!(p.check_list(&ticked, false).unwrap().len(), 3);
        // Adults' EEP products have no such item.
        assert_eq!(
            product("eep_card_first")
                .unwrap()
                .check_list(&ticked, false)
                .unwrap_err()
                .code,
            "bad_checklist_item"
        );
    }

    #[test]
    fn only_home_return_permit_renewals_and_replacements_keep_the_number() {
        let keeps: Vec<_> = PRODUCTS
            .iter()
            .filter(|p| p.keeps_number())
            .map(|p| p.code)
            .collect();
        assert_eq!(
            keeps,
            [
                "hrp_renewal",
                "hrp_replacement",
                "hrp_non_chinese_renewal",
                "hrp_non_chinese_replacement"
            ]
        );
        assert_eq!(for_service(Service::HrpNonChinese).len(), 3);
        assert_eq!(for_service(Service::Hrp).len(), 3);
    }

    #[test]
    fn money_and_methods() {
        let m = Money {
            cents: 6000,
            currency: Currency::Cny,
        };
        assert_eq!(m.to_string(), "CNY 60.00");
        assert!(Currency::Cny.methods().contains(&"yang_cheng_tong"));
        assert!(Currency::Hkd.methods().contains(&"octopus"));
    }

    #[test]
    fn a_hong_kong_centre_takes_cash_eps_octopus_and_credit_cards() {
        let mut hkd = Currency::Hkd.methods().to_vec();
        hkd.sort_unstable();
        assert_eq!(hkd, ["card", "cash", "eps", "octopus"]);
        // Mainland wallets are not taken in Hong Kong, nor Hong Kong's means on the mainland.
        for m in ["alipay", "wechat_pay", "unionpay", "yang_cheng_tong"] {
            assert!(!Currency::Hkd.methods().contains(&m), "{m}");
        }
        for m in ["eps", "octopus", "card"] {
            assert!(!Currency::Cny.methods().contains(&m), "{m}");
        }
    }
}
