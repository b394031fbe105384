//! Exit-entry offices: codes, levels and the services they offer.

use crate::ErrorCode;
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
                ErrorCode::BadOfficeCode,
                format!("an office code is 2-16 letters, digits or '-', not {s:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of office it is: the public-security levels, lowest first, and the CTS
/// service centres in Hong Kong, which are no public-security office at all. Paper linkage
/// proofs need a public-security office of county level or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficeLevel {
    /// A service point below county level (a police station's self-service point, a
    /// self-service machine in a station or a mall).
    Point,
    /// A district (county-level) public security bureau's exit-entry hall.
    County,
    /// A city public security bureau's exit-entry hall.
    Prefecture,
    /// A province's public security department's exit-entry hall.
    Province,
    /// A service centre of China Travel Service Entry Permit Service Hong Kong Limited: it
    /// takes, processes and hands out the home return permits of Hong Kong residents
    /// (Chinese citizens and, since 2024-07-10, non-Chinese nationals), with Hong Kong's
    /// holidays and fees in HKD.
    CtsCentre,
}

impl OfficeLevel {
    pub const ALL: [OfficeLevel; 5] = [
        OfficeLevel::Point,
        OfficeLevel::County,
        OfficeLevel::Prefecture,
        OfficeLevel::Province,
        OfficeLevel::CtsCentre,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OfficeLevel::Point => "point",
            OfficeLevel::County => "county",
            OfficeLevel::Prefecture => "prefecture",
            OfficeLevel::Province => "province",
            OfficeLevel::CtsCentre => "cts_centre",
        }
    }

    /// A public-security office (the exit-entry administration's own), at any level.
    pub fn public_security(self) -> bool {
        !matches!(self, OfficeLevel::CtsCentre)
    }

    /// A public-security office of county level or above: such offices may print paper
    /// linkage proofs. A CTS centre is not one.
    pub fn county_or_above(self) -> bool {
        matches!(
            self,
            OfficeLevel::County | OfficeLevel::Prefecture | OfficeLevel::Province
        )
    }

    /// The holiday calendar an office of this level follows unless it says otherwise.
    pub fn default_calendar(self) -> HolidayCalendar {
        match self {
            OfficeLevel::CtsCentre => HolidayCalendar::HongKong,
            _ => HolidayCalendar::Mainland,
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        OfficeLevel::ALL
            .into_iter()
            .find(|l| l.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadLevel,
                    format!(
                        "level must be point, county, prefecture, province or cts_centre, not {s:?}"
                    ),
                )
            })
    }
}

/// Whose public holidays close an office and are skipped when working days are counted:
/// the mainland's (State Council holidays, with make-up working days) or Hong Kong's
/// general holidays. Every office follows one; each office may also close on its own days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayCalendar {
    Mainland,
    HongKong,
}

impl HolidayCalendar {
    pub const ALL: [HolidayCalendar; 2] = [HolidayCalendar::Mainland, HolidayCalendar::HongKong];

    pub fn code(self) -> &'static str {
        match self {
            HolidayCalendar::Mainland => "mainland",
            HolidayCalendar::HongKong => "hong_kong",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        HolidayCalendar::ALL
            .into_iter()
            .find(|c| c.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadCalendar,
                    format!("calendar must be mainland or hong_kong, not {s:?}"),
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
            .ok_or_else(|| Invalid::new(ErrorCode::BadService, format!("unknown service {s:?}")))
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

    /// Services when the import file does not list them. A public-security hall of county
    /// level or above offers every counter service, paper linkage proofs included; a point
    /// (and, as older files label them, a county-level site open round the clock) has only
    /// its self-service machines; a CTS centre takes and hands out the home return permits
    /// of Hong Kong residents.
    pub fn defaults(level: OfficeLevel, open_24h: bool, self_service_devices: u32) -> Vec<Service> {
        let mut v = match level {
            OfficeLevel::CtsCentre => vec![Service::Hrp, Service::HrpNonChinese],
            OfficeLevel::Point => vec![],
            OfficeLevel::County if open_24h => vec![],
            OfficeLevel::County | OfficeLevel::Prefecture | OfficeLevel::Province => vec![
                Service::EepApplication,
                Service::Endorsement,
                Service::Hrp,
                Service::Twp,
                Service::ResidencePermit,
                Service::LinkageProofPaper,
            ],
        };
        let staffed = !v.is_empty();
        if staffed || self_service_devices > 0 {
            v.push(Service::Collection);
        }
        if self_service_devices > 0 && level.public_security() {
            v.push(Service::SelfServiceEndorsement);
        }
        v.sort();
        v
    }

    /// Whether an office of `level` may offer this service: paper linkage proofs only at a
    /// public-security office of county level or above.
    pub fn allowed_at(self, level: OfficeLevel) -> bool {
        match self {
            Service::LinkageProofPaper => level.county_or_above(),
            _ => true,
        }
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
    /// The address in Simplified Chinese (the registry's own).
    pub address: String,
    /// The address in Traditional Chinese ("" when the registry has none).
    #[serde(default)]
    pub address_zh_hant: String,
    /// The address in English ("" when the registry has none).
    #[serde(default)]
    pub address_en: String,
    pub level: OfficeLevel,
    /// Whose public holidays apply (Hong Kong's at a CTS centre).
    pub calendar: HolidayCalendar,
    pub open_24h: bool,
    /// Free text such as `Mon-Fri 09:00-17:00; Sat 09:00-12:00`; ignored when `open_24h`.
    pub opening_hours: String,
    pub self_service_devices: u32,
    pub services: Vec<Service>,
}

/// The office directory's city (its `city` column) where a household registration area
/// lies, for the cities that have offices: county-level cities by their own code first,
/// then the prefecture's.
pub fn city_of_hukou(area: &crate::person::HukouArea) -> Option<&'static str> {
    const COUNTY_CITIES: [(&str, &str); 3] = [
        ("320583", "Kunshan"),
        ("330782", "Yiwu"),
        ("350582", "Jinjiang"),
    ];
    const CITIES: [(&str, &str); 10] = [
        ("1101", "Beijing"),
        ("3101", "Shanghai"),
        ("3301", "Hangzhou"),
        ("4201", "Wuhan"),
        ("4401", "Guangzhou"),
        ("4403", "Shenzhen"),
        ("4404", "Zhuhai"),
        ("4406", "Foshan"),
        ("4419", "Dongguan"),
        ("5101", "Chengdu"),
    ];
    COUNTY_CITIES
        .iter()
        .find(|(code, _)| *code == area.as_str())
        .or_else(|| CITIES.iter().find(|(code, _)| *code == area.city()))
        .map(|(_, city)| *city)
}

/// Hours shown for offices that are not open round the clock, unless the file says otherwise.
pub const DEFAULT_OPENING_HOURS: &str = "Mon-Fri 09:00-17:00; Sat 09:00-12:00";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_of_a_household_registration() {
        use crate::person::HukouArea;
        let city = |a: &str| city_of_hukou(&HukouArea::parse(a).unwrap());
        assert_eq!(city("440106"), Some("Guangzhou"));
        assert_eq!(city("441900"), Some("Dongguan"));
        assert_eq!(city("320583"), Some("Kunshan"));
        assert_eq!(city("320505"), None);
        assert_eq!(city("110105"), Some("Beijing"));
    }

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
    fn default_services_follow_level_staffing_and_devices() {
        let kiosk_only = Service::defaults(OfficeLevel::Point, true, 3);
        assert_eq!(
            kiosk_only,
            vec![Service::SelfServiceEndorsement, Service::Collection]
        );
        // Older files label a round-the-clock self-service point `county`.
        assert_eq!(Service::defaults(OfficeLevel::County, true, 3), kiosk_only);
        assert!(Service::defaults(OfficeLevel::Point, false, 0).is_empty());
        let hall = Service::defaults(OfficeLevel::County, false, 0);
        assert!(hall.contains(&Service::LinkageProofPaper));
        assert!(hall.contains(&Service::Collection));
        assert!(!hall.contains(&Service::SelfServiceEndorsement));
        assert!(!hall.contains(&Service::HrpNonChinese));
        for level in [OfficeLevel::Prefecture, OfficeLevel::Province] {
            assert_eq!(Service::defaults(level, false, 0), hall, "{level:?}");
        }
        // A CTS centre takes Hong Kong residents' permits; its machines hand them out.
        assert_eq!(
            Service::defaults(OfficeLevel::CtsCentre, false, 4),
            vec![Service::Hrp, Service::HrpNonChinese, Service::Collection]
        );
        for level in OfficeLevel::ALL {
            for open_24h in [false, true] {
                for s in Service::defaults(level, open_24h, 2) {
                    assert!(s.allowed_at(level), "{level:?} {s:?}");
                }
            }
        }
    }

    #[test]
    fn hong_kong_centre_codes_parse() {
        for code in ["HK-HKI-001", "HK-KLN-001", "HK-NT-001", "hk-nt-002"] {
            let c = OfficeCode::parse(code).unwrap();
            assert_eq!(c.as_str(), code.to_ascii_uppercase());
        }
    }

    #[test]
    fn only_public_security_offices_of_county_level_or_above_print_linkage_proofs() {
        let can: Vec<&str> = OfficeLevel::ALL
            .into_iter()
            .filter(|l| l.county_or_above())
            .map(OfficeLevel::code)
            .collect();
        assert_eq!(can, ["county", "prefecture", "province"]);
        assert_eq!(
            OfficeLevel::parse("cts_centre").unwrap(),
            OfficeLevel::CtsCentre
        );
        assert!(!OfficeLevel::CtsCentre.public_security());
        assert!(OfficeLevel::Point.public_security());
        for level in OfficeLevel::ALL {
            assert_eq!(
                Service::LinkageProofPaper.allowed_at(level),
                level.county_or_above(),
                "{level:?}"
            );
            assert!(Service::HrpNonChinese.allowed_at(level));
        }
    }

    #[test]
    fn a_cts_centre_follows_hong_kong_holidays() {
        assert_eq!(
            OfficeLevel::CtsCentre.default_calendar(),
            HolidayCalendar::HongKong
        );
        for level in [
            OfficeLevel::Point,
            OfficeLevel::County,
            OfficeLevel::Prefecture,
            OfficeLevel::Province,
        ] {
            assert_eq!(level.default_calendar(), HolidayCalendar::Mainland);
        }
        assert_eq!(
            HolidayCalendar::parse(" hong_kong ").unwrap(),
            HolidayCalendar::HongKong
        );
        assert_eq!(
            HolidayCalendar::parse("macao").unwrap_err().code,
            "bad_calendar"
        );
    }
}
