//! Relying parties (airlines, railways, banks, …): kinds, scopes, names, and the rule that
//! links a travel permit to a residence permit.

use crate::ErrorCode;
use crate::Invalid;
use crate::numbers::{DocumentKind, DocumentNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerKind {
    Airline,
    Railway,
    Bank,
    Telecom,
    Government,
    Other,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 6] = [
        PartnerKind::Airline,
        PartnerKind::Railway,
        PartnerKind::Bank,
        PartnerKind::Telecom,
        PartnerKind::Government,
        PartnerKind::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PartnerKind::Airline => "airline",
            PartnerKind::Railway => "railway",
            PartnerKind::Bank => "bank",
            PartnerKind::Telecom => "telecom",
            PartnerKind::Government => "government",
            PartnerKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        PartnerKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadPartnerKind,
                    "kind must be airline, railway, bank, telecom, government or other",
                )
            })
    }
}

/// What a partner's key may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    VerifyPermit,
    VerifyLinkage,
    VerifyCredential,
    /// Book appointments for applicants (a city police portal).
    BookAppointments,
    /// Report border crossings against endorsements (border control).
    Border,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::VerifyPermit,
        Scope::VerifyLinkage,
        Scope::VerifyCredential,
        Scope::BookAppointments,
        Scope::Border,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Scope::VerifyPermit => "verify_permit",
            Scope::VerifyLinkage => "verify_linkage",
            Scope::VerifyCredential => "verify_credential",
            Scope::BookAppointments => "book_appointments",
            Scope::Border => "border",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Scope::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadScope,
                    format!(
                        "unknown scope {:?}: use verify_permit, verify_linkage, verify_credential, book_appointments or border",
                        s.trim()
                    ),
                )
            })
    }

    /// A comma-separated list, at least one, duplicates folded, in a fixed order.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, Invalid> {
        let mut scopes = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(Invalid::new(ErrorCode::BadScope, "give at least one scope"));
        }
        Ok(scopes)
    }
}

/// Partner names: 2–64 characters, letters (any script), digits, spaces, `.`, `-`, `_`, `&`.
pub fn parse_partner_name(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    let ok = (2..=64).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_alphanumeric() || " .-_&".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(
            ErrorCode::BadPartnerName,
            "a partner name is 2-64 letters, digits, spaces, '.', '-', '_' or '&'",
        ))
    }
}

/// The residence permit's region prefix must agree with the travel permit: 810000 with a
/// Hong Kong HRP, 820000 with a Macao HRP, 830000 with a TWP.
pub fn regions_agree(travel: &DocumentNumber, residence: &DocumentNumber) -> bool {
    matches!(
        travel.kind(),
        DocumentKind::Hrp | DocumentKind::HrpNonChinese | DocumentKind::Twp
    ) && residence.kind() == DocumentKind::ResidencePermit
        && travel.region() == residence.region()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn n(kind: DocumentKind, s: &str) -> DocumentNumber {
        DocumentNumber::parse(kind, s, today()).unwrap()
    }

    #[test]
    fn scopes_parse_as_a_list_and_refuse_unknown_ones() {
        assert_eq!(
            Scope::parse_list("verify_linkage, verify_permit,verify_permit").unwrap(),
            [Scope::VerifyPermit, Scope::VerifyLinkage]
        );
        assert_eq!(
            Scope::parse_list("verify_all").unwrap_err().code,
            "bad_scope"
        );
        assert_eq!(Scope::parse_list(" , ").unwrap_err().code, "bad_scope");
        for k in PartnerKind::ALL {
            assert_eq!(PartnerKind::parse(k.code()).unwrap(), k);
        }
        assert_eq!(
            PartnerKind::parse("bakery").unwrap_err().code,
            "bad_partner_kind"
        );
    }

    #[test]
    fn partner_names() {
        assert_eq!(
            parse_partner_name("  China Southern Airlines ").unwrap(),
            "China Southern Airlines"
        );
        assert_eq!(
            parse_partner_name("中国铁路 12306").unwrap(),
            "中国铁路 12306"
        );
        for bad in ["x", "a;drop", &"y".repeat(65)] {
            assert_eq!(
                parse_partner_name(bad).unwrap_err().code,
                "bad_partner_name"
            );
        }
    }

    #[test]
    fn residence_permit_regions_must_agree_with_the_travel_permit() {
        use crate::ids::make_residence_permit_number;
        use crate::person::Region;
        let dob = NaiveDate::from_ymd_opt(1990, 5, 1).unwrap();
        let rp = |r| {
            n(
                DocumentKind::ResidencePermit,
                &make_residence_permit_number(r, dob, 1),
            )
        };
        let hk = n(DocumentKind::Hrp, "H12345678");
        let mo = n(DocumentKind::Hrp, "M12345678");
        let tw = n(DocumentKind::Twp, "12345678");
        assert!(regions_agree(&hk, &rp(Region::HongKong)));
        assert!(regions_agree(&mo, &rp(Region::Macao)));
        assert!(regions_agree(&tw, &rp(Region::Taiwan)));
        assert!(!regions_agree(&hk, &rp(Region::Macao)));
        assert!(!regions_agree(&mo, &rp(Region::HongKong)));
        assert!(!regions_agree(&tw, &rp(Region::HongKong)));
        assert!(
            !regions_agree(&hk, &hk),
            "the second document must be a residence permit"
        );
    }
}
