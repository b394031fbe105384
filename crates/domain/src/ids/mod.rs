//! Identity numbers: PRC resident ID, HKID, Macao ID, Taiwan ID, passport, and the residence
//! permit number for Hong Kong, Macao and Taiwan residents. Parsing canonicalises; the check
//! algorithms follow `DOMAIN.md` ("Identity numbers").

use crate::ErrorCode;
use crate::Invalid;
use crate::person::{Region, Sex, is_province_code};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The kind of an identity number a person declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    PrcResidentId,
    Hkid,
    MacaoId,
    TaiwanId,
    Passport,
}

impl IdKind {
    pub const ALL: [IdKind; 5] = [
        IdKind::PrcResidentId,
        IdKind::Hkid,
        IdKind::MacaoId,
        IdKind::TaiwanId,
        IdKind::Passport,
    ];

    pub fn code(self) -> &'static str {
        match self {
            IdKind::PrcResidentId => "prc_resident_id",
            IdKind::Hkid => "hkid",
            IdKind::MacaoId => "macao_id",
            IdKind::TaiwanId => "taiwan_id",
            IdKind::Passport => "passport",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        IdKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadIdKind,
                    format!(
                        "identity number kind must be prc_resident_id, hkid, macao_id, taiwan_id \
                         or passport, not {s:?}"
                    ),
                )
            })
    }
}

/// A validated identity number of a declared kind, stored in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityNumber {
    kind: IdKind,
    value: String,
}

impl IdentityNumber {
    /// Parse `raw` as `kind`. `today` is needed for the not-in-the-future birth-date rule.
    pub fn parse(kind: IdKind, raw: &str, today: NaiveDate) -> Result<Self, Invalid> {
        let value = match kind {
            IdKind::PrcResidentId => parse_prc(raw, today)?,
            IdKind::Hkid => parse_hkid(raw)?,
            IdKind::MacaoId => parse_macao(raw)?,
            IdKind::TaiwanId => parse_taiwan(raw)?,
            IdKind::Passport => parse_passport(raw)?,
        };
        Ok(IdentityNumber { kind, value })
    }

    pub fn kind(&self) -> IdKind {
        self.kind
    }

    /// The canonical form (upper case, no brackets or punctuation).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Masked for display to staff: the first 2 characters (3 for HKID and passport, so the
    /// letter prefix stays readable) and the last 2 are kept, the rest becomes `*`. Short
    /// numbers keep only the first and last character so that something is always hidden.
    /// E.g. `11010519491231002X` -> `11**************2X`, `A1234563` -> `A12***63`.
    pub fn masked(&self) -> String {
        let front = match self.kind {
            IdKind::Hkid | IdKind::Passport => 3,
            _ => 2,
        };
        mask(&self.value, front, 2)
    }

    /// Checks that the number agrees with the person. PRC id: the birth date digits equal
    /// `dob` and the 17th digit's parity matches `sex` (odd = male). Taiwan id: the first digit
    /// is 1 for male, 2 for female. Other kinds carry neither, so they always agree.
    pub fn check_person(&self, dob: NaiveDate, sex: Sex) -> Result<(), Invalid> {
        match self.kind {
            IdKind::PrcResidentId => {
                check_birth_date(&self.value, dob)?;
                check_sex(sex_from_sequence(&self.value), sex)
            }
            IdKind::TaiwanId => {
                // Canonical Taiwan ids have `1` or `2` at index 1.
                let on_id = if self.value.as_bytes()[1] == b'1' {
                    Sex::Male
                } else {
                    Sex::Female
                };
                check_sex(on_id, sex)
            }
            IdKind::Hkid | IdKind::MacaoId | IdKind::Passport => Ok(()),
        }
    }
}

/// Residence permit number for HK/Macao/Taiwan residents (港澳台居民居住证): region prefix
/// `810000`/`820000`/`830000` + birth date + 3-digit sequence + GB 11643 check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidencePermitNumber(String);

impl ResidencePermitNumber {
    /// Errors, in the order checked: `bad_format`, `bad_region_prefix`, `bad_birth_date`,
    /// `future_birth_date`, `bad_check_digit`.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, Invalid> {
        let s = gb11643_shape(raw, "a residence permit number")?;
        if region_of_permit_prefix(&s[..6]).is_none() {
            return Err(Invalid::new(
                ErrorCode::BadRegionPrefix,
                format!(
                    "a residence permit number must start with 810000, 820000 or 830000, not {}",
                    &s[..6]
                ),
            ));
        }
        birth_date_of(&s, today)?;
        verify_gb11643_check(&s)?;
        Ok(ResidencePermitNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn region(&self) -> Region {
        // Parsing guarantees one of the three prefixes.
        region_of_permit_prefix(&self.0[..6]).unwrap_or(Region::Taiwan)
    }

    pub fn birth_date(&self) -> NaiveDate {
        // Parsing guarantees a real date; the fallback is never reached.
        date_digits(&self.0).unwrap_or_default()
    }

    /// Sex encoded by the parity of the 17th digit (odd = male).
    pub fn sex(&self) -> Sex {
        sex_from_sequence(&self.0)
    }

    /// The holder's region must equal the prefix region (`region_mismatch`), their birth date
    /// the encoded one (`birth_date_mismatch`), their sex the parity (`sex_mismatch`).
    pub fn check_holder(&self, region: Region, dob: NaiveDate, sex: Sex) -> Result<(), Invalid> {
        let on_permit = self.region();
        if on_permit != region {
            return Err(Invalid::new(
                ErrorCode::RegionMismatch,
                format!(
                    "the residence permit is for {} residents, not {}",
                    on_permit.code(),
                    region.code()
                ),
            ));
        }
        check_birth_date(&self.0, dob)?;
        check_sex(self.sex(), sex)
    }
}

// ---------------------------------------------------------------------------------------------
// Generators (demo data and tests).

/// GB 11643 check character for the first 17 digits of a PRC id or residence permit number.
///
/// # Panics
/// If `first17` is not exactly 17 ASCII digits (callers validate input first).
pub fn prc_check_char(first17: &str) -> char {
    assert!(
        first17.len() == 17 && first17.bytes().all(|b| b.is_ascii_digit()),
        "prc_check_char needs exactly 17 ASCII digits, got {first17:?}"
    );
    gb11643_check(first17.as_bytes())
}

/// Builds a valid 18-character PRC resident id.
///
/// # Panics
/// If `area6` is not 6 ASCII digits, `seq3` is above 999 or the year of `dob` has not 4 digits.
pub fn make_prc_resident_id(area6: &str, dob: NaiveDate, seq3: u16) -> String {
    assert!(
        area6.len() == 6 && area6.bytes().all(|b| b.is_ascii_digit()),
        "area code must be 6 digits, got {area6:?}"
    );
    with_check(format!("{area6}{}{}", date8(dob), seq(seq3)))
}

/// Builds a valid residence permit number for a HK, Macao or Taiwan resident.
///
/// # Panics
/// If `region` is `Mainland` (mainland residents get no such permit), `seq3` is above 999 or
/// the year of `dob` has not 4 digits.
pub fn make_residence_permit_number(region: Region, dob: NaiveDate, seq3: u16) -> String {
    let prefix = match region {
        Region::HongKong => "810000",
        Region::Macao => "820000",
        Region::Taiwan => "830000",
        Region::Mainland => panic!("mainland residents have no residence permit number"),
    };
    with_check(format!("{prefix}{}{}", date8(dob), seq(seq3)))
}

/// HKID check character (`0`-`9` or `A`) for a 1- or 2-letter prefix and 6 digits.
///
/// # Panics
/// If `prefix` is not 1 or 2 ASCII letters or `digits6` is not 6 ASCII digits.
pub fn hkid_check_char(prefix: &str, digits6: &str) -> char {
    assert!(
        matches!(prefix.len(), 1 | 2) && prefix.bytes().all(|b| b.is_ascii_alphabetic()),
        "HKID prefix must be 1 or 2 letters, got {prefix:?}"
    );
    assert!(
        digits6.len() == 6 && digits6.bytes().all(|b| b.is_ascii_digit()),
        "HKID needs 6 digits, got {digits6:?}"
    );
    hkid_check(&prefix.to_ascii_uppercase(), digits6)
}

/// Builds a canonical HKID (no brackets), e.g. `make_hkid("A", 123456)` -> `A1234563`.
///
/// # Panics
/// As [`hkid_check_char`], and if `digits6` is above 999999.
pub fn make_hkid(prefix: &str, digits6: u32) -> String {
    assert!(digits6 <= 999_999, "HKID digits must be at most 999999");
    let digits = format!("{digits6:06}");
    let check = hkid_check_char(prefix, &digits);
    format!("{}{digits}{check}", prefix.to_ascii_uppercase())
}

/// Builds a valid Taiwan id: `letter` + sex digit (1 male, 2 female) + the 7 digits of
/// `middle7` (zero-padded) + check digit.
///
/// # Panics
/// If `letter` is not an ASCII letter or `middle7` is above 9999999.
pub fn make_taiwan_id(letter: char, sex: Sex, middle7: u32) -> String {
    assert!(
        letter.is_ascii_alphabetic(),
        "Taiwan id letter must be A-Z, got {letter:?}"
    );
    assert!(
        middle7 <= 9_999_999,
        "Taiwan id middle digits must be at most 9999999"
    );
    let sex_digit = match sex {
        Sex::Male => '1',
        Sex::Female => '2',
    };
    let head = format!("{}{sex_digit}{middle7:07}", letter.to_ascii_uppercase());
    let sum = taiwan_weighted_sum(head.as_bytes());
    let check = (10 - sum % 10) % 10;
    format!("{head}{check}")
}

// ---------------------------------------------------------------------------------------------
// Parsers. Each one trims, rejects non-ASCII first (so byte slicing cannot panic) and returns
// the canonical form.

/// GB 11643 weights over the first 17 digits.
const GB11643_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

fn parse_prc(raw: &str, today: NaiveDate) -> Result<String, Invalid> {
    let s = gb11643_shape(raw, "a PRC resident id")?;
    let province = digits_value(&s.as_bytes()[..2]);
    if !is_province_code(province) {
        return Err(Invalid::new(
            ErrorCode::BadProvince,
            format!("a PRC resident id must start with a province-level code, not {province:02}"),
        ));
    }
    birth_date_of(&s, today)?;
    verify_gb11643_check(&s)?;
    Ok(s)
}

/// Shape shared by PRC ids and residence permits: 17 digits + digit or `X`; returns the
/// trimmed, upper-cased string.
fn gb11643_shape(raw: &str, what: &str) -> Result<String, Invalid> {
    let s = squeeze(raw);
    let b = s.as_bytes();
    let ok = b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X');
    if ok {
        Ok(s)
    } else {
        Err(Invalid::new(
            ErrorCode::BadFormat,
            format!("{what} must be 17 digits followed by a digit or X"),
        ))
    }
}

/// The birth date at characters 7-14, which must be real and not after `today`.
fn birth_date_of(s: &str, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let date = date_digits(s).ok_or_else(|| {
        Invalid::new(
            ErrorCode::BadBirthDate,
            format!("the birth date {} is not a real date (YYYYMMDD)", &s[6..14]),
        )
    })?;
    if date > today {
        return Err(Invalid::new(
            ErrorCode::FutureBirthDate,
            format!("the birth date {date} should not be after today ({today})"),
        ));
    }
    Ok(date)
}

/// Decodes YYYYMMDD at byte offsets 6..14 of a shape-checked 18-character number.
fn date_digits(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes().get(6..14)?;
    let year = i32::try_from(digits_value(&b[..4])).ok()?;
    NaiveDate::from_ymd_opt(year, digits_value(&b[4..6]), digits_value(&b[6..8]))
}

fn verify_gb11643_check(s: &str) -> Result<(), Invalid> {
    let expected = gb11643_check(&s.as_bytes()[..17]);
    if s.as_bytes()[17] == expected as u8 {
        Ok(())
    } else {
        Err(Invalid::new(
            ErrorCode::BadCheckDigit,
            format!("check character should be {expected}"),
        ))
    }
}

/// GB 11643 check over 17 ASCII digits (caller guarantees them).
fn gb11643_check(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(GB11643_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    char::from(b"10X98765432"[(sum % 11) as usize])
}

fn with_check(first17: String) -> String {
    let check = prc_check_char(&first17);
    format!("{first17}{check}")
}

fn date8(dob: NaiveDate) -> String {
    assert!(
        (1000..=9999).contains(&dob.year()),
        "birth year must have 4 digits, got {}",
        dob.year()
    );
    dob.format("%Y%m%d").to_string()
}

fn seq(seq3: u16) -> String {
    assert!(seq3 <= 999, "sequence must be at most 999, got {seq3}");
    format!("{seq3:03}")
}

/// Odd 17th digit = male.
fn sex_from_sequence(s: &str) -> Sex {
    if (s.as_bytes()[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    }
}

fn check_birth_date(s: &str, dob: NaiveDate) -> Result<(), Invalid> {
    match date_digits(s) {
        Some(on_number) if on_number == dob => Ok(()),
        _ => Err(Invalid::new(
            ErrorCode::BirthDateMismatch,
            format!(
                "the birth date in the number should be {}, the person's date of birth",
                dob.format("%Y%m%d")
            ),
        )),
    }
}

fn check_sex(on_number: Sex, sex: Sex) -> Result<(), Invalid> {
    if on_number == sex {
        Ok(())
    } else {
        Err(Invalid::new(
            ErrorCode::SexMismatch,
            format!(
                "the number encodes sex {}, the person's sex is {}",
                on_number.code(),
                sex.code()
            ),
        ))
    }
}

fn region_of_permit_prefix(prefix: &str) -> Option<Region> {
    match prefix {
        "810000" => Some(Region::HongKong),
        "820000" => Some(Region::Macao),
        "830000" => Some(Region::Taiwan),
        _ => None,
    }
}

/// Decimal value of a run of ASCII digits (caller guarantees digits, at most 9 of them).
fn digits_value(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Accepts `A123456(3)`, `A123456 (3)`, `A1234563`, lower case, 1 or 2 prefix letters.
fn parse_hkid(raw: &str) -> Result<String, Invalid> {
    let bad = || {
        Invalid::new(
            ErrorCode::BadFormat,
            "an HKID must be 1 or 2 letters, 6 digits and a check character, e.g. A123456(3)",
        )
    };
    let s = raw.trim().to_ascii_uppercase();
    if !s.is_ascii() {
        return Err(bad());
    }
    // Split off the check character, bracketed or not.
    let (body, check) = match s.strip_suffix(')') {
        Some(rest) => {
            let (body, check) = rest
                .split_at_checked(rest.len().saturating_sub(2))
                .ok_or_else(bad)?;
            let check = check.strip_prefix('(').ok_or_else(bad)?;
            (body.strip_suffix(' ').unwrap_or(body), check)
        }
        None => s
            .split_at_checked(s.len().saturating_sub(1))
            .ok_or_else(bad)?,
    };
    let letters = body.len().checked_sub(6).ok_or_else(bad)?;
    let (prefix, digits) = body.split_at(letters);
    let shape_ok = matches!(letters, 1 | 2)
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && check.len() == 1
        && check.bytes().all(|b| b.is_ascii_digit() || b == b'A');
    if !shape_ok {
        return Err(bad());
    }
    let expected = hkid_check(prefix, digits);
    if check.as_bytes()[0] != expected as u8 {
        return Err(Invalid::new(
            ErrorCode::BadCheckDigit,
            format!("check character should be {expected}"),
        ));
    }
    Ok(format!("{prefix}{digits}{check}"))
}

/// HKID check over an upper-case 1-2 letter prefix and 6 digits (caller guarantees them).
fn hkid_check(prefix: &str, digits6: &str) -> char {
    let letter = |b: u8| u32::from(b - b'A') + 10;
    // A single letter is preceded by a space worth 36.
    let head: [u32; 2] = match prefix.as_bytes() {
        [one] => [36, letter(*one)],
        [a, b, ..] => [letter(*a), letter(*b)],
        [] => [36, 36],
    };
    let values = head
        .into_iter()
        .chain(digits6.bytes().map(|d| u32::from(d - b'0')));
    let sum: u32 = values.zip((2..=9).rev()).map(|(v, w)| v * w).sum();
    match (11 - sum % 11) % 11 {
        10 => 'A',
        n => char::from(b'0' + n as u8),
    }
}

/// Accepts `12345678`, `1234567(8)` and `1234567/8`; format only (no public check algorithm).
fn parse_macao(raw: &str) -> Result<String, Invalid> {
    let bad = || {
        Invalid::new(
            ErrorCode::BadFormat,
            "a Macao id must be 1, 5 or 7, then 6 digits and a check digit, e.g. 1234567(8)",
        )
    };
    let s = &squeeze(raw);
    if !s.is_ascii() {
        return Err(bad());
    }
    let canonical = match s.len() {
        8 => s.to_string(),
        9 if s.as_bytes()[7] == b'/' => format!("{}{}", &s[..7], &s[8..]),
        10 if s.as_bytes()[7] == b'(' && s.as_bytes()[9] == b')' => {
            format!("{}{}", &s[..7], &s[8..9])
        }
        _ => return Err(bad()),
    };
    let b = canonical.as_bytes();
    if b.len() == 8 && matches!(b[0], b'1' | b'5' | b'7') && b.iter().all(u8::is_ascii_digit) {
        Ok(canonical)
    } else {
        Err(bad())
    }
}

/// Taiwan letter values per DOMAIN.md, indexed by `letter - 'A'`.
const TAIWAN_LETTERS: [u32; 26] = [
    10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30,
    31, 33,
];

/// Weighted sum of the letter's two digits (weights 1, 9) and up to 9 digits (8..1, 1).
fn taiwan_weighted_sum(b: &[u8]) -> u32 {
    let n = TAIWAN_LETTERS[usize::from(b[0] - b'A')];
    let digit_weights = [8, 7, 6, 5, 4, 3, 2, 1, 1];
    let digits: u32 = b[1..]
        .iter()
        .zip(digit_weights)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    n / 10 + (n % 10) * 9 + digits
}

fn parse_taiwan(raw: &str) -> Result<String, Invalid> {
    let s = squeeze(raw);
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[0].is_ascii_uppercase()
        && matches!(b[1], b'1' | b'2')
        && b[1..].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(Invalid::new(
            ErrorCode::BadFormat,
            "a Taiwan id must be a letter, then 1 or 2, then 8 digits, e.g. A123456789",
        ));
    }
    let sum = taiwan_weighted_sum(b);
    if !sum.is_multiple_of(10) {
        // The check digit has weight 1, so the right one is off by the remainder.
        let expected = (u32::from(b[9] - b'0') + 10 - sum % 10) % 10;
        return Err(Invalid::new(
            ErrorCode::BadCheckDigit,
            format!("check character should be {expected}"),
        ));
    }
    Ok(s)
}

fn parse_passport(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim().to_ascii_uppercase();
    if (5..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(Invalid::new(
            ErrorCode::BadFormat,
            "a passport number must be 5 to 20 letters and digits",
        ))
    }
}

/// A number as people type or copy it, as stored: without its spaces (ASCII and
/// ideographic), in upper case. `h1234 5678` and `H12345678` are one number; anything else
/// (a hyphen, a full-width digit) is still refused, so a typo is not silently "fixed".
pub fn squeeze(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Keeps `front` and `back` characters of an ASCII string and stars the rest; falls back to
/// 1 + 1 when that would hide fewer than 2 characters.
fn mask(s: &str, front: usize, back: usize) -> String {
    let len = s.len();
    let (front, back) = if len >= front + back + 2 {
        (front, back)
    } else {
        (1.min(len), 1.min(len.saturating_sub(1)))
    };
    let hidden = len - front - back;
    format!("{}{}{}", &s[..front], "*".repeat(hidden), &s[len - back..])
}

#[cfg(test)]
mod tests;
