//! People in the registry and the enumerations that describe them.

use crate::ErrorCode;
use crate::Invalid;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Sex as recorded on identity documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "M" | "m" => Ok(Sex::Male),
            "F" | "f" => Ok(Sex::Female),
            other => Err(Invalid::new(
                ErrorCode::BadSex,
                format!("sex must be M or F, not {other:?}"),
            )),
        }
    }
}

/// Region of residence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Mainland,
    HongKong,
    Macao,
    Taiwan,
}

impl Region {
    pub const ALL: [Region; 4] = [
        Region::Mainland,
        Region::HongKong,
        Region::Macao,
        Region::Taiwan,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Region::Mainland => "mainland",
            Region::HongKong => "hong_kong",
            Region::Macao => "macao",
            Region::Taiwan => "taiwan",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Region::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadRegion,
                    format!("region must be mainland, hong_kong, macao or taiwan, not {s:?}"),
                )
            })
    }
}

/// Nationality: Chinese, or another country by ISO 3166-1 alpha-3 code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Nationality {
    Chinese,
    Other(String),
}

impl Nationality {
    /// Accepts `CHN` (Chinese) or any other three-letter upper-case ISO 3166 alpha-3 code.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            let up = s.to_ascii_uppercase();
            if up == "CHN" {
                Ok(Nationality::Chinese)
            } else {
                Ok(Nationality::Other(up))
            }
        } else {
            Err(Invalid::new(
                ErrorCode::BadNationality,
                format!(
                    "nationality must be an ISO 3166 alpha-3 code such as CHN or GBR, not {s:?}"
                ),
            ))
        }
    }

    pub fn code(&self) -> &str {
        match self {
            Nationality::Chinese => "CHN",
            Nationality::Other(c) => c,
        }
    }

    pub fn is_chinese(&self) -> bool {
        matches!(self, Nationality::Chinese)
    }
}

/// A person's names. `zh` is absent for people without a Chinese name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub zh: Option<String>,
    pub latin: String,
}

impl Names {
    pub fn parse(zh: &str, latin: &str) -> Result<Self, Invalid> {
        let zh = zh.trim();
        let latin = latin.trim();
        if latin.is_empty() {
            return Err(Invalid::new(
                ErrorCode::MissingLatinName,
                "the name in Latin script is required",
            ));
        }
        if latin.chars().count() > 100 || zh.chars().count() > 50 {
            return Err(Invalid::new(ErrorCode::NameTooLong, "the name is too long"));
        }
        if latin.chars().any(|c| c.is_control()) || zh.chars().any(|c| c.is_control()) {
            return Err(Invalid::new(
                ErrorCode::BadName,
                "the name contains control characters",
            ));
        }
        Ok(Names {
            zh: (!zh.is_empty()).then(|| zh.to_string()),
            latin: latin.to_string(),
        })
    }
}

/// Parses an ISO date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, Invalid> {
    let s = s.trim();
    // Every stored date and nearly every given one is exactly `YYYY-MM-DD`: read it straight
    // (a check reads three dates; the format parser was a visible share of it).
    if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s.as_bytes()
        && [y0, y1, y2, y3, m0, m1, d0, d1]
            .iter()
            .all(u8::is_ascii_digit)
    {
        let n = |ds: &[u8]| ds.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        let year = i32::try_from(n(&[y0, y1, y2, y3])).unwrap_or(0);
        if let Some(d) = NaiveDate::from_ymd_opt(year, n(&[m0, m1]), n(&[d0, d1])) {
            return Ok(d);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        Invalid::new(
            ErrorCode::BadDate,
            format!("expected a date YYYY-MM-DD, not {s:?}"),
        )
    })
}

/// Where a mainland resident's household registration (hukou) is: a 6-digit administrative
/// division code (province, city, county). Its first four digits name the city.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HukouArea(String);

impl HukouArea {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let province = s.get(..2).and_then(|p| p.parse::<u32>().ok());
        let ok = s.len() == 6
            && s.bytes().all(|b| b.is_ascii_digit())
            && province.is_some_and(|p| is_province_code(p) && p < 71);
        if ok {
            Ok(HukouArea(s.to_string()))
        } else {
            Err(Invalid::new(
                ErrorCode::BadHukouArea,
                "a household registration area is a 6-digit mainland division code, e.g. 440106",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The city part (first four digits), as the individual-visit scheme lists cities.
    pub fn city(&self) -> &str {
        &self.0[..4]
    }
}

/// Province-level codes that can begin a PRC id (71/81/82/83 appear on residence permits).
pub(crate) fn is_province_code(code: u32) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

#[cfg(test)]
mod hukou_tests {
    use super::*;

    #[test]
    fn hukou_areas_are_mainland_division_codes() {
        let a = HukouArea::parse(" 440106 ").unwrap();
        assert_eq!((a.as_str(), a.city()), ("440106", "4401"));
        for bad in [
            "", "44010", "4401066", "44O106", "990105", "810000", "710000",
        ] {
            assert_eq!(
                HukouArea::parse(bad).unwrap_err().code,
                "bad_hukou_area",
                "{bad}"
            );
        }
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_read_as_the_format_parser_reads_them() {
        for s in [
            "1990-01-31",
            " 2000-02-29 ",
            "2001-02-29",
            "1990-13-01",
            "1990-00-10",
            "1990-1-5",
            "+1990-01-01",
            "0000-01-01",
            "19a0-01-01",
            "1990/01/01",
            "",
        ] {
            let expected = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
            assert_eq!(parse_date(s).ok(), expected, "{s:?}");
        }
        assert_eq!(
            parse_date("2024-02-29").ok(),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
    }
}
