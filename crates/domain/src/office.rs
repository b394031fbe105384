//! Exit-entry offices: codes, levels and the services they offer.

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OfficeCode(String);

impl OfficeCode {
    /// 2–16 characters: upper-case ASCII letters, digits and `-`.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_ascii_uppercase();
        let ok = (2..=16).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(OfficeCode(s))
        } else {
            Err(Invalid::new(
                "bad_office_code",
                format!("an office code is 2-16 letters, digits or '-', not {s:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Administrative level, lowest first; paper linkage proofs need county level or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficeLevel {
    /// A service point below county level (a police station window, a self-service point).
    Point,
    County,
    Prefecture,
    Province,
}

impl OfficeLevel {
    pub const ALL: [OfficeLevel; 4] = [
        OfficeLevel::Point,
        OfficeLevel::County,
        OfficeLevel::Prefecture,
        OfficeLevel::Province,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OfficeLevel::Point => "point",
            OfficeLevel::County => "county",
            OfficeLevel::Prefecture => "prefecture",
            OfficeLevel::Province => "province",
        }
    }

    /// County level or above: such offices may print paper linkage proofs.
    pub fn county_or_above(self) -> bool {
        self >= OfficeLevel::County
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        OfficeLevel::ALL
            .into_iter()
            .find(|l| l.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    "bad_level",
                    format!("level must be point, county, prefecture or province, not {s:?}"),
                )
            })
    }
}

/// What a visitor can do at an office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    EepApplication,
    Endorsement,
    SelfServiceEndorsement,
    Hrp,
    HrpNonChinese,
    Twp,
    ResidencePermit,
    LinkageProofPaper,
    Collection,
}

impl Service {
    pub const ALL: [Service; 9] = [
        Service::EepApplication,
        Service::Endorsement,
        Service::SelfServiceEndorsement,
        Service::Hrp,
        Service::HrpNonChinese,
        Service::Twp,
        Service::ResidencePermit,
        Service::LinkageProofPaper,
        Service::Collection,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Service::EepApplication => "eep_application",
            Service::Endorsement => "endorsement",
            Service::SelfServiceEndorsement => "self_service_endorsement",
            Service::Hrp => "hrp",
            Service::HrpNonChinese => "hrp_non_chinese",
            Service::Twp => "twp",
            Service::ResidencePermit => "residence_permit",
            Service::LinkageProofPaper => "linkage_proof_paper",
            Service::Collection => "collection",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Service::ALL
            .into_iter()
            .find(|v| v.code() == s.trim())
            .ok_or_else(|| Invalid::new("bad_service", format!("unknown service {s:?}")))
    }

    /// Parses a `;`-separated list, e.g. `endorsement;collection`.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, Invalid> {
        let mut out: Vec<Service> = s
            .split(';')
            .filter(|p| !p.trim().is_empty())
            .map(Service::parse)
            .collect::<Result<_, _>>()?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Services when the import file does not list them: a staffed hall offers every
    /// counter service; paper linkage proofs need county level or above (every level here).
    pub fn defaults(self_service_devices: u32, staffed: bool) -> Vec<Service> {
        let mut v = if staffed {
            vec![
                Service::EepApplication,
                Service::Endorsement,
                Service::Hrp,
                Service::Twp,
                Service::ResidencePermit,
                Service::LinkageProofPaper,
                Service::Collection,
            ]
        } else {
            vec![]
        };
        if self_service_devices > 0 {
            v.push(Service::SelfServiceEndorsement);
            if !staffed {
                v.push(Service::Collection);
            }
        }
        v.sort();
        v
    }
}

/// An office as held in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    pub code: OfficeCode,
    pub name_zh_hans: String,
    pub name_zh_hant: String,
    pub name_en: String,
    pub city: String,
    pub district: String,
    pub address: String,
    pub level: OfficeLevel,
    pub open_24h: bool,
    /// Free text such as `Mon-Fri 09:00-17:00; Sat 09:00-12:00`; ignored when `open_24h`.
    pub opening_hours: String,
    pub self_service_devices: u32,
    pub services: Vec<Service>,
}

/// Hours shown for offices that are not open round the clock, unless the file says otherwise.
pub const DEFAULT_OPENING_HOURS: &str = "Mon-Fri 09:00-17:00; Sat 09:00-12:00";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_codes() {
        assert_eq!(
            OfficeCode::parse(" gz-th-001 ").unwrap().as_str(),
            "GZ-TH-001"
        );
        for bad in ["", "X", "GZ TH", "GZ_TH", "ABCDEFGHIJKLMNOPQ", "广州"] {
            assert_eq!(
                OfficeCode::parse(bad).unwrap_err().code,
                "bad_office_code",
                "{bad}"
            );
        }
    }

    #[test]
    fn levels_and_services_parse() {
        assert_eq!(OfficeLevel::parse("county").unwrap(), OfficeLevel::County);
        assert_eq!(OfficeLevel::parse("city").unwrap_err().code, "bad_level");
        let s = Service::parse_list("collection;endorsement;collection").unwrap();
        assert_eq!(s, vec![Service::Endorsement, Service::Collection]);
        assert_eq!(Service::parse_list("visa").unwrap_err().code, "bad_service");
    }

    #[test]
    fn default_services_follow_staffing_and_devices() {
        let kiosk_only = Service::defaults(3, false);
        assert_eq!(
            kiosk_only,
            vec![Service::SelfServiceEndorsement, Service::Collection]
        );
        let hall = Service::defaults(0, true);
        assert!(hall.contains(&Service::LinkageProofPaper));
        assert!(!hall.contains(&Service::SelfServiceEndorsement));
    }
}
