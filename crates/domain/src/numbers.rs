//! Travel document numbers by kind (EEP, HRP, TWP, residence permit) and the HRP issue
//! count. Formats follow `DOMAIN.md` ("Documents").

use crate::ErrorCode;
use crate::Invalid;
use crate::ids::ResidencePermitNumber;
use crate::person::Region;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The kind of a travel or residence document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    EepCard,
    EepBooklet,
    Hrp,
    HrpNonChinese,
    Twp,
    ResidencePermit,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::EepCard,
        DocumentKind::EepBooklet,
        DocumentKind::Hrp,
        DocumentKind::HrpNonChinese,
        DocumentKind::Twp,
        DocumentKind::ResidencePermit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::EepCard => "eep_card",
            DocumentKind::EepBooklet => "eep_booklet",
            DocumentKind::Hrp => "hrp",
            DocumentKind::HrpNonChinese => "hrp_non_chinese",
            DocumentKind::Twp => "twp",
            DocumentKind::ResidencePermit => "residence_permit",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        DocumentKind::ALL
            .into_iter()
            .find(|k| k.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadDocumentKind,
                    format!(
                        "document kind must be eep_card, eep_booklet, hrp, hrp_non_chinese, twp \
                         or residence_permit, not {s:?}"
                    ),
                )
            })
    }

    /// Whether documents of this kind carry a 2-digit issue count: the home return permits,
    /// whose number is kept for life, so the count tells one card from the next.
    pub fn has_issue_count(self) -> bool {
        matches!(self, DocumentKind::Hrp | DocumentKind::HrpNonChinese)
    }

    /// The region(s) of residence a holder of this kind must have.
    pub fn holder_regions(self) -> &'static [Region] {
        match self {
            DocumentKind::EepCard | DocumentKind::EepBooklet => &[Region::Mainland],
            DocumentKind::Hrp | DocumentKind::HrpNonChinese => &[Region::HongKong, Region::Macao],
            DocumentKind::Twp => &[Region::Taiwan],
            DocumentKind::ResidencePermit => &[Region::HongKong, Region::Macao, Region::Taiwan],
        }
    }

    /// The expected format, for error messages.
    fn format_description(self) -> &'static str {
        match self {
            DocumentKind::EepCard | DocumentKind::EepBooklet => {
                "C followed by 8 digits, or C, a letter other than I or O, and 7 digits"
            }
            DocumentKind::Hrp => "H or M followed by 8 digits",
            DocumentKind::HrpNonChinese => "HA or MA followed by 7 digits",
            DocumentKind::Twp => "exactly 8 digits",
            DocumentKind::ResidencePermit => {
                "810000, 820000 or 830000, a birth date YYYYMMDD, 3 digits and a check character"
            }
        }
    }
}

/// A validated document number of a declared kind, stored in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentNumber {
    kind: DocumentKind,
    value: String,
}

impl DocumentNumber {
    /// Parse and canonicalise (spaces dropped, upper case: `h1234 5678` is `H12345678`, as
    /// people copy it from the card). `today` only matters for residence permits (their
    /// birth date must not be in the future).
    pub fn parse(kind: DocumentKind, raw: &str, today: NaiveDate) -> Result<Self, Invalid> {
        let value = if kind == DocumentKind::ResidencePermit {
            ResidencePermitNumber::parse(raw, today)?
                .as_str()
                .to_string()
        } else {
            let s = canonical(raw);
            if !matches_format(kind, &s) {
                return Err(Invalid::new(
                    ErrorCode::BadFormat,
                    format!(
                        "a {} number must be {}",
                        kind.code(),
                        kind.format_description()
                    ),
                ));
            }
            s
        };
        Ok(DocumentNumber { kind, value })
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The region the number belongs to: EEP Mainland; HRP by its `H`/`M` (`HA`/`MA`)
    /// prefix; TWP Taiwan; residence permits by their `81`/`82`/`83` prefix.
    pub fn region(&self) -> Region {
        // Parsing guarantees the prefixes, so the fallback arms cover only the other option.
        match self.kind {
            DocumentKind::EepCard | DocumentKind::EepBooklet => Region::Mainland,
            DocumentKind::Hrp | DocumentKind::HrpNonChinese => {
                if self.value.starts_with('H') {
                    Region::HongKong
                } else {
                    Region::Macao
                }
            }
            DocumentKind::Twp => Region::Taiwan,
            DocumentKind::ResidencePermit => match self.value.get(..2) {
                Some("81") => Region::HongKong,
                Some("82") => Region::Macao,
                _ => Region::Taiwan,
            },
        }
    }
}

/// Guess the kind from the shape of a number (for the officer's search box): all kinds whose
/// format the trimmed, upper-cased string matches. Residence permits need the 18-character
/// shape and a region prefix; their date and check character are not verified here.
pub fn kinds_matching(raw: &str) -> Vec<DocumentKind> {
    let s = canonical(raw);
    DocumentKind::ALL
        .into_iter()
        .filter(|&k| matches_format(k, &s))
        .collect()
}

/// A number as typed, as stored (see `ids::squeeze`).
fn canonical(raw: &str) -> String {
    crate::ids::squeeze(raw)
}

/// Parses the HRP issue count (`01`..`99`, or `1`..`99`). Empty is `None` for every kind; a
/// value for a kind without a count is `unexpected_issue_count`; a bad value `bad_issue_count`.
pub fn parse_issue_count(kind: DocumentKind, raw: &str) -> Result<Option<u8>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if !kind.has_issue_count() {
        return Err(Invalid::new(
            ErrorCode::UnexpectedIssueCount,
            format!("a {} number has no issue count", kind.code()),
        ));
    }
    let count = (matches!(s.len(), 1 | 2) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u8>().ok())
        .flatten()
        .filter(|n| (1..=99).contains(n));
    count.map(Some).ok_or_else(|| {
        Invalid::new(
            ErrorCode::BadIssueCount,
            format!("the issue count should be a number from 01 to 99, not {s:?}"),
        )
    })
}

/// Whether a trimmed, upper-cased string has the shape of `kind`'s numbers.
fn matches_format(kind: DocumentKind, s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match kind {
        DocumentKind::EepCard | DocumentKind::EepBooklet => {
            // The second character may be a letter (since 2018) but never I or O (look like 1, 0).
            b.len() == 9
                && b[0] == b'C'
                && (b[1].is_ascii_digit()
                    || (b[1].is_ascii_uppercase() && !matches!(b[1], b'I' | b'O')))
                && digits(&b[2..])
        }
        DocumentKind::Hrp => b.len() == 9 && matches!(b[0], b'H' | b'M') && digits(&b[1..]),
        DocumentKind::HrpNonChinese => {
            b.len() == 9 && matches!(&b[..2], b"HA" | b"MA") && digits(&b[2..])
        }
        DocumentKind::Twp => b.len() == 8 && digits(b),
        DocumentKind::ResidencePermit => {
            b.len() == 18
                && matches!(&b[..6], b"810000" | b"820000" | b"830000")
                && digits(&b[..17])
                && (b[17].is_ascii_digit() || b[17] == b'X')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::make_residence_permit_number;
    use DocumentKind::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("test date")
    }

    fn today() -> NaiveDate {
        d(2025, 6, 1)
    }

    #[test]
    fn numbers_are_read_as_people_copy_them_spaces_and_lower_case_included() {
        for typed in ["H1234 5678", " h12345678 ", "H 1234\u{3000}5678"] {
            let n = DocumentNumber::parse(Hrp, typed, today()).expect(typed);
            assert_eq!(n.as_str(), "H12345678", "{typed:?}");
        }
        assert_eq!(kinds_matching("h1234 5678"), vec![Hrp]);
        let card = DocumentNumber::parse(EepCard, "C 12345678", today()).expect("spaced card");
        assert_eq!(card.as_str(), "C12345678");
        // Spaces are forgiven, other characters are not.
        assert!(DocumentNumber::parse(Hrp, "H1234-5678", today()).is_err());
    }

    #[test]
    fn kind_codes_round_trip() {
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.code()), Ok(k));
        }
        for bad in ["", "EEP_CARD", "hrp-non-chinese", "passport"] {
            assert_eq!(
                DocumentKind::parse(bad).map_err(|e| e.code.code()),
                Err("bad_document_kind")
            );
        }
    }

    #[test]
    fn kind_properties() {
        let counts: Vec<_> = DocumentKind::ALL
            .into_iter()
            .filter(|k| k.has_issue_count())
            .collect();
        assert_eq!(counts, [Hrp, HrpNonChinese]);
        assert_eq!(EepCard.holder_regions(), [Region::Mainland]);
        assert_eq!(EepBooklet.holder_regions(), [Region::Mainland]);
        assert_eq!(Hrp.holder_regions(), [Region::HongKong, Region::Macao]);
        assert_eq!(
            HrpNonChinese.holder_regions(),
            [Region::HongKong, Region::Macao]
        );
        assert_eq!(Twp.holder_regions(), [Region::Taiwan]);
        assert_eq!(
            ResidencePermit.holder_regions(),
            [Region::HongKong, Region::Macao, Region::Taiwan]
        );
    }

    #[test]
    fn valid_numbers() {
        let hk_permit = make_residence_permit_number(Region::HongKong, d(1990, 1, 1), 1);
        let mo_permit = make_residence_permit_number(Region::Macao, d(1990, 1, 1), 2);
        let tw_permit = make_residence_permit_number(Region::Taiwan, d(1990, 1, 1), 3);
        let cases: [(DocumentKind, &str, &str, Region); 20] = [
            (EepCard, "C12345678", "C12345678", Region::Mainland),
            (EepCard, "CA1234567", "CA1234567", Region::Mainland),
            (EepCard, "CZ1234567", "CZ1234567", Region::Mainland),
            (EepCard, " c12345678 ", "C12345678", Region::Mainland),
            (EepCard, "ca1234567", "CA1234567", Region::Mainland),
            (EepBooklet, "C12345678", "C12345678", Region::Mainland),
            (EepBooklet, "CB7654321", "CB7654321", Region::Mainland),
            (Hrp, "H12345678", "H12345678", Region::HongKong),
            (Hrp, "M12345678", "M12345678", Region::Macao),
            (Hrp, "h01234567", "H01234567", Region::HongKong),
            (Hrp, "m87654321", "M87654321", Region::Macao),
            (HrpNonChinese, "HA1234567", "HA1234567", Region::HongKong),
            (HrpNonChinese, "MA1234567", "MA1234567", Region::Macao),
            (HrpNonChinese, "ha7654321", "HA7654321", Region::HongKong),
            (HrpNonChinese, "ma0000001", "MA0000001", Region::Macao),
            (Twp, "12345678", "12345678", Region::Taiwan),
            (Twp, " 00000001 ", "00000001", Region::Taiwan),
            (ResidencePermit, &hk_permit, &hk_permit, Region::HongKong),
            (ResidencePermit, &mo_permit, &mo_permit, Region::Macao),
            (ResidencePermit, &tw_permit, &tw_permit, Region::Taiwan),
        ];
        for (kind, raw, want, region) in cases {
            let n = match DocumentNumber::parse(kind, raw, today()) {
                Ok(n) => n,
                Err(e) => panic!("{raw:?} as {kind:?}: {} ({})", e.code, e.message),
            };
            assert_eq!(n.kind(), kind);
            assert_eq!(n.as_str(), want, "{raw:?}");
            assert_eq!(n.region(), region, "{raw:?}");
            assert!(kind.holder_regions().contains(&n.region()), "{raw:?}");
        }
    }

    #[test]
    fn residence_permit_lower_case_x_canonicalised() {
        let raw = (0..100)
            .map(|s| make_residence_permit_number(Region::Macao, d(1985, 5, 5), s))
            .find(|n| n.ends_with('X'))
            .expect("some sequence gives X");
        let n = DocumentNumber::parse(ResidencePermit, &raw.to_ascii_lowercase(), today())
            .expect("valid");
        assert_eq!(n.as_str(), raw);
    }

    #[test]
    fn invalid_numbers() {
        let permit = make_residence_permit_number(Region::HongKong, d(1990, 1, 1), 1);
        let future = make_residence_permit_number(Region::HongKong, d(2030, 1, 1), 1);
        let last = permit.as_bytes()[17];
        let wrong_check = format!("{}{}", &permit[..17], if last == b'0' { '1' } else { '0' });
        let cases: [(DocumentKind, &str, &str); 36] = [
            (EepCard, "CI1234567", "bad_format"),
            (EepCard, "CO1234567", "bad_format"),
            (EepCard, "ci1234567", "bad_format"),
            (EepCard, "C1234567", "bad_format"),
            (EepCard, "C123456789", "bad_format"),
            (EepCard, "CA123456", "bad_format"),
            (EepCard, "CAB123456", "bad_format"),
            (EepCard, "D12345678", "bad_format"),
            (EepCard, "C1234567A", "bad_format"),
            (EepCard, "", "bad_format"),
            (EepCard, "CÄ1234567", "bad_format"),
            (EepBooklet, "CO1234567", "bad_format"),
            (EepBooklet, "H12345678", "bad_format"),
            // Wrong kind for a well-formed number.
            (EepCard, "H12345678", "bad_format"),
            (EepCard, "12345678", "bad_format"),
            (Hrp, "C12345678", "bad_format"),
            (Hrp, "HA1234567", "bad_format"),
            (Hrp, "12345678", "bad_format"),
            (Hrp, "H1234567", "bad_format"),
            (Hrp, "H123456789", "bad_format"),
            (Hrp, "X12345678", "bad_format"),
            (HrpNonChinese, "H12345678", "bad_format"),
            (HrpNonChinese, "HB1234567", "bad_format"),
            (HrpNonChinese, "HA123456", "bad_format"),
            (HrpNonChinese, "CA1234567", "bad_format"),
            (Twp, "1234567", "bad_format"),
            (Twp, "123456789", "bad_format"),
            (Twp, "T1234567", "bad_format"),
            (Twp, "１2345678", "bad_format"),
            (ResidencePermit, "12345678", "bad_format"),
            (ResidencePermit, "H12345678", "bad_format"),
            (ResidencePermit, "11010519491231002X", "bad_region_prefix"),
            (ResidencePermit, &wrong_check, "bad_check_digit"),
            (ResidencePermit, &future, "future_birth_date"),
            (ResidencePermit, "810000199002300011", "bad_birth_date"),
            (ResidencePermit, "", "bad_format"),
        ];
        for (kind, raw, want) in cases {
            let got = DocumentNumber::parse(kind, raw, today()).map_err(|e| e.code.code());
            assert_eq!(got, Err(want), "{raw:?} as {kind:?}");
        }
    }

    #[test]
    fn format_message_names_expected_format() {
        let err = DocumentNumber::parse(Hrp, "H123", today()).expect_err("too short");
        assert_eq!(
            err.message,
            "a hrp number must be H or M followed by 8 digits"
        );
    }

    #[test]
    fn guessing_kinds() {
        let permit = make_residence_permit_number(Region::Taiwan, d(1990, 1, 1), 7);
        let cases: [(&str, &[DocumentKind]); 14] = [
            ("C12345678", &[EepCard, EepBooklet]),
            ("ca1234567", &[EepCard, EepBooklet]),
            ("CI1234567", &[]),
            ("H12345678", &[Hrp]),
            ("m12345678", &[Hrp]),
            ("HA1234567", &[HrpNonChinese]),
            ("MA1234567", &[HrpNonChinese]),
            ("12345678", &[Twp]),
            (&permit, &[ResidencePermit]),
            // Shape only: a wrong check character still looks like a residence permit.
            ("830000199001010071", &[ResidencePermit]),
            ("11010519491231002X", &[]),
            ("", &[]),
            ("😀😀😀😀😀😀😀😀😀", &[]),
            ("C1234567é", &[]),
        ];
        for (raw, want) in cases {
            assert_eq!(kinds_matching(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn issue_counts() {
        let ok: [(DocumentKind, &str, Option<u8>); 11] = [
            (Hrp, "01", Some(1)),
            (HrpNonChinese, "02", Some(2)),
            (Hrp, "1", Some(1)),
            (Hrp, "09", Some(9)),
            (Hrp, "10", Some(10)),
            (Hrp, " 99 ", Some(99)),
            (Hrp, "", None),
            (Hrp, "  ", None),
            (EepCard, "", None),
            (Twp, "", None),
            (ResidencePermit, " ", None),
        ];
        for (kind, raw, want) in ok {
            assert_eq!(parse_issue_count(kind, raw), Ok(want), "{raw:?} {kind:?}");
        }
        let bad: [(DocumentKind, &str, &str); 13] = [
            (Hrp, "0", "bad_issue_count"),
            (Hrp, "00", "bad_issue_count"),
            (Hrp, "100", "bad_issue_count"),
            (Hrp, "001", "bad_issue_count"),
            (Hrp, "-1", "bad_issue_count"),
            (Hrp, "+1", "bad_issue_count"),
            (Hrp, "1a", "bad_issue_count"),
            (Hrp, "１", "bad_issue_count"),
            (Hrp, "1 2", "bad_issue_count"),
            (EepCard, "01", "unexpected_issue_count"),
            (EepBooklet, "1", "unexpected_issue_count"),
            (Twp, "x", "unexpected_issue_count"),
            (ResidencePermit, "01", "unexpected_issue_count"),
        ];
        for (kind, raw, want) in bad {
            assert_eq!(
                parse_issue_count(kind, raw).map_err(|e| e.code.code()),
                Err(want),
                "{raw:?} {kind:?}"
            );
        }
    }

    #[test]
    fn no_panic_on_odd_input() {
        for raw in [
            "",
            "(",
            "é",
            "C😀",
            "😀😀😀😀😀😀😀😀😀",
            "ééééééééé",
            "\u{0}",
        ] {
            for kind in DocumentKind::ALL {
                let _ = DocumentNumber::parse(kind, raw, today());
                let _ = parse_issue_count(kind, raw);
            }
            let _ = kinds_matching(raw);
        }
    }
}
