//! Identity and permit numbers: check characters, formats, birth dates and sexes on the number, the generators.

use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test date")
}

fn today() -> NaiveDate {
    d(2025, 6, 1)
}

fn code_of(kind: IdKind, raw: &str) -> &'static str {
    match IdentityNumber::parse(kind, raw, today()) {
        Ok(n) => panic!("{raw:?} parsed as {n:?}, expected an error"),
        Err(e) => e.code.code(),
    }
}

fn canonical(kind: IdKind, raw: &str) -> String {
    match IdentityNumber::parse(kind, raw, today()) {
        Ok(n) => n.as_str().to_string(),
        Err(e) => panic!("{raw:?} as {kind:?}: {} ({})", e.code, e.message),
    }
}

/// Builds 17 digits + correct check char, so only the tested property is wrong.
fn prc_with_check(first17: &str) -> String {
    format!("{first17}{}", prc_check_char(first17))
}

#[test]
fn id_kind_codes_round_trip() {
    for k in IdKind::ALL {
        assert_eq!(IdKind::parse(k.code()), Ok(k));
        assert_eq!(IdKind::parse(&format!(" {} ", k.code())), Ok(k));
    }
    for bad in ["HKID", "", "prc", "passports"] {
        assert_eq!(
            IdKind::parse(bad).map_err(|e| e.code.code()),
            Err("bad_id_kind")
        );
    }
}

#[test]
fn prc_valid() {
    let cases = [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002X ", "11010519491231002X"),
    ];
    for (raw, want) in cases {
        assert_eq!(canonical(IdKind::PrcResidentId, raw), want, "{raw}");
    }
    // Generated ids across provinces, including the residence-permit prefixes.
    for area in ["110105", "440106", "650102", "710000", "810000", "830000"] {
        for seq3 in [0, 1, 2, 999] {
            let id = make_prc_resident_id(area, d(1990, 2, 28), seq3);
            assert_eq!(canonical(IdKind::PrcResidentId, &id), id);
        }
    }
    // Born today is not in the future.
    let id = make_prc_resident_id("440106", today(), 123);
    assert_eq!(canonical(IdKind::PrcResidentId, &id), id);
}

#[test]
fn prc_invalid() {
    let bad_date = prc_with_check("11010519490231002");
    let bad_month = prc_with_check("11010519491301002");
    let future = make_prc_resident_id("110105", d(2025, 6, 2), 2);
    let province_99 = make_prc_resident_id("990105", d(1949, 12, 31), 2);
    let province_10 = make_prc_resident_id("100105", d(1949, 12, 31), 2);
    let province_72 = make_prc_resident_id("720000", d(1949, 12, 31), 2);
    let cases: [(&str, &str); 14] = [
        ("110105194912310021", "bad_check_digit"),
        ("11010519491231002Y", "bad_format"),
        ("11010519491231002", "bad_format"),
        ("11010519491231002X1", "bad_format"),
        ("1101051949123100AX", "bad_format"),
        ("X1010519491231002X", "bad_format"),
        ("", "bad_format"),
        ("１1010519491231002X", "bad_format"),
        ("1101051949123100é", "bad_format"),
        (&bad_date, "bad_birth_date"),
        (&bad_month, "bad_birth_date"),
        (&future, "future_birth_date"),
        (&province_99, "bad_province"),
        (&province_10, "bad_province"),
    ];
    for (raw, want) in cases {
        assert_eq!(code_of(IdKind::PrcResidentId, raw), want, "{raw:?}");
    }
    assert_eq!(code_of(IdKind::PrcResidentId, &province_72), "bad_province");
}

#[test]
fn prc_check_message_names_expected_char() {
    let err = IdentityNumber::parse(IdKind::PrcResidentId, "110105194912310021", today())
        .expect_err("wrong check");
    assert_eq!(err.message, "check character should be X");
}

#[test]
fn prc_check_person() {
    let id =
        IdentityNumber::parse(IdKind::PrcResidentId, "11010519491231002X", today()).expect("valid");
    // Sequence 002: even, female.
    assert_eq!(id.check_person(d(1949, 12, 31), Sex::Female), Ok(()));
    let cases = [
        (d(1949, 12, 30), Sex::Female, "birth_date_mismatch"),
        (d(1950, 12, 31), Sex::Female, "birth_date_mismatch"),
        (d(1949, 12, 31), Sex::Male, "sex_mismatch"),
    ];
    for (dob, sex, want) in cases {
        assert_eq!(
            id.check_person(dob, sex).map_err(|e| e.code.code()),
            Err(want)
        );
    }
    let male = make_prc_resident_id("440106", d(2001, 1, 9), 13);
    let male = IdentityNumber::parse(IdKind::PrcResidentId, &male, today()).expect("valid");
    assert_eq!(male.check_person(d(2001, 1, 9), Sex::Male), Ok(()));
    assert_eq!(
        male.check_person(d(2001, 1, 9), Sex::Female)
            .map_err(|e| e.code.code()),
        Err("sex_mismatch")
    );
}

#[test]
fn hkid_by_hand() {
    // A123456: space 36*9 + A 10*8 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2 = 481;
    // 481 mod 11 = 8; 11 - 8 = 3.
    assert_eq!(hkid_check_char("A", "123456"), '3');
    // AB987654: 10*9 + 11*8 + 9*7 + 8*6 + 7*5 + 6*4 + 5*3 + 4*2 = 371;
    // 371 mod 11 = 8; 11 - 8 = 3.
    assert_eq!(hkid_check_char("AB", "987654"), '3');
    // A123458: 481 - 6*2 + 8*2 = 485; 485 mod 11 = 1; 11 - 1 = 10, written A.
    assert_eq!(hkid_check_char("A", "123458"), 'A');
    assert_eq!(hkid_check_char("a", "123458"), 'A');
}

#[test]
fn hkid_check_a_found_by_search() {
    let digits = (0..1000u32)
        .map(|n| format!("{:06}", 123_000 + n))
        .find(|d6| hkid_check_char("Z", d6) == 'A')
        .expect("some number has check A");
    let raw = format!("z{}(a)", digits);
    assert_eq!(canonical(IdKind::Hkid, &raw), format!("Z{digits}A"));
}

#[test]
fn hkid_valid() {
    let cases = [
        ("A123456(3)", "A1234563"),
        ("A1234563", "A1234563"),
        ("a1234563", "A1234563"),
        ("a123456(3)", "A1234563"),
        ("A123456 (3)", "A1234563"),
        (" A123456(3) ", "A1234563"),
        ("AB987654(3)", "AB9876543"),
        ("ab9876543", "AB9876543"),
        ("A123458(A)", "A123458A"),
        ("A123458a", "A123458A"),
    ];
    for (raw, want) in cases {
        assert_eq!(canonical(IdKind::Hkid, raw), want, "{raw}");
    }
}

#[test]
fn hkid_invalid() {
    let cases = [
        ("A123456(4)", "bad_check_digit"),
        ("A1234564", "bad_check_digit"),
        ("AB987654(4)", "bad_check_digit"),
        ("A123456(A)", "bad_check_digit"),
        ("A123456", "bad_format"),
        ("A12345(3)", "bad_format"),
        ("ABC123456(3)", "bad_format"),
        ("1123456(3)", "bad_format"),
        ("A123456(3", "bad_format"),
        ("A123456 3", "bad_format"),
        ("A123456  (3)", "bad_format"),
        ("A 123456(3)", "bad_format"),
        ("A123456(B)", "bad_format"),
        ("A123456()", "bad_format"),
        ("(3)", "bad_format"),
        (")", "bad_format"),
        ("", "bad_format"),
        ("Ä123456(3)", "bad_format"),
        ("A12345é(3)", "bad_format"),
    ];
    for (raw, want) in cases {
        assert_eq!(code_of(IdKind::Hkid, raw), want, "{raw:?}");
    }
}

#[test]
fn macao() {
    let valid = [
        ("12345678", "12345678"),
        ("1234567(8)", "12345678"),
        ("1234567/8", "12345678"),
        (" 5123456(0) ", "51234560"),
        ("71234569", "71234569"),
    ];
    for (raw, want) in valid {
        assert_eq!(canonical(IdKind::MacaoId, raw), want, "{raw}");
    }
    let invalid = [
        "22345678",
        "1234567",
        "123456789",
        "1234567(8",
        "1234567[8]",
        "1234567(A)",
        "A2345678",
        "1234567/",
        "",
        "1234567é",
    ];
    for raw in invalid {
        assert_eq!(code_of(IdKind::MacaoId, raw), "bad_format", "{raw:?}");
    }
}

#[test]
fn taiwan() {
    let valid = [("A123456789", "A123456789"), ("a123456789", "A123456789")];
    for (raw, want) in valid {
        assert_eq!(canonical(IdKind::TaiwanId, raw), want, "{raw}");
    }
    let invalid = [
        ("A123456788", "bad_check_digit"),
        ("B123456789", "bad_check_digit"),
        ("A323456789", "bad_format"),
        ("A023456789", "bad_format"),
        ("A12345678", "bad_format"),
        ("A1234567890", "bad_format"),
        ("1123456789", "bad_format"),
        ("A12345678X", "bad_format"),
        ("é123456789", "bad_format"),
        ("", "bad_format"),
    ];
    for (raw, want) in invalid {
        assert_eq!(code_of(IdKind::TaiwanId, raw), want, "{raw:?}");
    }
    let err =
        IdentityNumber::parse(IdKind::TaiwanId, "A123456788", today()).expect_err("bad check");
    assert_eq!(err.message, "check character should be 9");
}

#[test]
fn taiwan_check_person() {
    let id = IdentityNumber::parse(IdKind::TaiwanId, "A123456789", today()).expect("valid");
    assert_eq!(id.check_person(d(1980, 1, 1), Sex::Male), Ok(()));
    assert_eq!(
        id.check_person(d(1980, 1, 1), Sex::Female)
            .map_err(|e| e.code.code()),
        Err("sex_mismatch")
    );
    let f = make_taiwan_id('Q', Sex::Female, 1);
    let f = IdentityNumber::parse(IdKind::TaiwanId, &f, today()).expect("valid");
    assert_eq!(f.check_person(d(1980, 1, 1), Sex::Female), Ok(()));
}

#[test]
fn other_kinds_always_agree_with_person() {
    for (kind, raw) in [
        (IdKind::Hkid, "A1234563"),
        (IdKind::MacaoId, "12345678"),
        (IdKind::Passport, "E12345678"),
    ] {
        let id = IdentityNumber::parse(kind, raw, today()).expect("valid");
        assert_eq!(id.check_person(d(2000, 1, 1), Sex::Male), Ok(()));
        assert_eq!(id.check_person(d(1900, 1, 1), Sex::Female), Ok(()));
    }
}

#[test]
fn passport() {
    let valid = [
        ("E12345678", "E12345678"),
        ("e12345678", "E12345678"),
        ("ab123", "AB123"),
        ("12345678901234567890", "12345678901234567890"),
    ];
    for (raw, want) in valid {
        assert_eq!(canonical(IdKind::Passport, raw), want, "{raw}");
    }
    for raw in [
        "1234",
        "123456789012345678901",
        "E1234-567",
        "E 1234567",
        "É1234567",
        "",
    ] {
        assert_eq!(code_of(IdKind::Passport, raw), "bad_format", "{raw:?}");
    }
}

#[test]
fn masking() {
    let cases = [
        (
            IdKind::PrcResidentId,
            "11010519491231002X",
            "11**************2X",
        ),
        (IdKind::Hkid, "A123456(3)", "A12***63"),
        (IdKind::Hkid, "AB987654(3)", "AB9****43"),
        (IdKind::MacaoId, "1234567(8)", "12****78"),
        (IdKind::TaiwanId, "A123456789", "A1******89"),
        (IdKind::Passport, "E12345678", "E12****78"),
        (IdKind::Passport, "AB1234", "A****4"),
        (IdKind::Passport, "AB123", "A***3"),
    ];
    for (kind, raw, want) in cases {
        let id = IdentityNumber::parse(kind, raw, today()).expect("valid");
        assert_eq!(id.masked(), want, "{raw}");
        assert_eq!(id.masked().len(), id.as_str().len());
    }
    // The birth date is never shown.
    let prc =
        IdentityNumber::parse(IdKind::PrcResidentId, "11010519491231002X", today()).expect("valid");
    assert!(!prc.masked().contains("1949"));
}

#[test]
fn residence_permit_valid_for_each_region() {
    for region in [Region::HongKong, Region::Macao, Region::Taiwan] {
        for (dob, seq3) in [(d(1960, 2, 29), 1), (d(2000, 12, 31), 998), (today(), 0)] {
            let raw = make_residence_permit_number(region, dob, seq3);
            let p = ResidencePermitNumber::parse(&raw, today()).expect("generated parses");
            assert_eq!(p.as_str(), raw);
            assert_eq!(p.region(), region);
            assert_eq!(p.birth_date(), dob);
            let sex = if seq3 % 2 == 1 {
                Sex::Male
            } else {
                Sex::Female
            };
            assert_eq!(p.sex(), sex);
            assert_eq!(p.check_holder(region, dob, sex), Ok(()));
        }
    }
}

#[test]
fn residence_permit_lower_case_x() {
    // Find a generated number ending in X and feed it lower case.
    let raw = (0..100)
        .map(|s| make_residence_permit_number(Region::HongKong, d(1985, 5, 5), s))
        .find(|n| n.ends_with('X'))
        .expect("some sequence gives X");
    let p = ResidencePermitNumber::parse(&raw.to_ascii_lowercase(), today()).expect("valid");
    assert_eq!(p.as_str(), raw);
}

#[test]
fn residence_permit_invalid() {
    let good = make_residence_permit_number(Region::Macao, d(1990, 1, 1), 5);
    let last = good.as_bytes()[17];
    let wrong_check = format!("{}{}", &good[..17], if last == b'0' { '1' } else { '0' });
    let prefix_840 = prc_with_check("84000019900101005");
    let prefix_811 = prc_with_check("81100019900101005");
    let mainland = make_prc_resident_id("110105", d(1990, 1, 1), 5);
    let bad_date = prc_with_check("81000019900230005");
    let future = make_residence_permit_number(Region::Taiwan, d(2030, 1, 1), 5);
    let cases: [(&str, &str); 10] = [
        (&wrong_check, "bad_check_digit"),
        (&prefix_840, "bad_region_prefix"),
        (&prefix_811, "bad_region_prefix"),
        (&mainland, "bad_region_prefix"),
        (&bad_date, "bad_birth_date"),
        (&future, "future_birth_date"),
        (&good[..17], "bad_format"),
        ("", "bad_format"),
        ("82000019900101005Z", "bad_format"),
        ("82000019900101005é", "bad_format"),
    ];
    for (raw, want) in cases {
        let got = ResidencePermitNumber::parse(raw, today()).map_err(|e| e.code.code());
        assert_eq!(got, Err(want), "{raw:?}");
    }
}

#[test]
fn residence_permit_check_holder() {
    let raw = make_residence_permit_number(Region::Taiwan, d(1975, 7, 7), 11);
    let p = ResidencePermitNumber::parse(&raw, today()).expect("valid");
    let cases = [
        (Region::Taiwan, d(1975, 7, 7), Sex::Male, Ok(())),
        (
            Region::HongKong,
            d(1975, 7, 7),
            Sex::Male,
            Err("region_mismatch"),
        ),
        (
            Region::Mainland,
            d(1975, 7, 7),
            Sex::Male,
            Err("region_mismatch"),
        ),
        (
            Region::Taiwan,
            d(1975, 7, 8),
            Sex::Male,
            Err("birth_date_mismatch"),
        ),
        (
            Region::Taiwan,
            d(1975, 7, 7),
            Sex::Female,
            Err("sex_mismatch"),
        ),
    ];
    for (region, dob, sex, want) in cases {
        assert_eq!(
            p.check_holder(region, dob, sex).map_err(|e| e.code.code()),
            want
        );
    }
}

#[test]
fn generators_parse() {
    for seq3 in [0, 1, 500, 999] {
        let id = make_prc_resident_id("310101", d(1970, 1, 1), seq3);
        assert_eq!(id.len(), 18);
        assert_eq!(canonical(IdKind::PrcResidentId, &id), id);
    }
    for (prefix, digits) in [("A", 123_456), ("z", 0), ("XY", 999_999), ("k", 42)] {
        let id = make_hkid(prefix, digits);
        assert_eq!(canonical(IdKind::Hkid, &id), id);
    }
    assert_eq!(make_hkid("A", 123_456), "A1234563");
    for letter in ['A', 'i', 'O', 'Z', 'w'] {
        for sex in [Sex::Male, Sex::Female] {
            for middle in [0, 2_345_678, 9_999_999] {
                let id = make_taiwan_id(letter, sex, middle);
                assert_eq!(canonical(IdKind::TaiwanId, &id), id);
            }
        }
    }
    assert_eq!(make_taiwan_id('A', Sex::Male, 2_345_678), "A123456789");
    assert_eq!(prc_check_char("11010519491231002"), 'X');
}

#[test]
#[should_panic(expected = "mainland")]
fn residence_permit_generator_rejects_mainland() {
    make_residence_permit_number(Region::Mainland, d(1990, 1, 1), 1);
}

#[test]
fn no_panic_on_odd_input() {
    let odd = [
        "",
        " ",
        "(",
        ")",
        "()",
        "(((",
        "/",
        "é",
        "ééééééééééééééééé",
        "😀😀😀😀😀",
        "A😀(3)",
        "A12345😀",
        "1234567(😀)",
        "1234567/😀",
        "\u{0}",
        "8100001990010100😀",
    ];
    for raw in odd {
        for kind in IdKind::ALL {
            let _ = IdentityNumber::parse(kind, raw, today());
        }
        let _ = ResidencePermitNumber::parse(raw, today());
    }
}

#[test]
fn numbers_accept_spaces_and_lower_case() {
    assert_eq!(canonical(IdKind::Hkid, "a123456 (3)"), "A1234563");
    assert_eq!(canonical(IdKind::TaiwanId, "a123 456 789"), "A123456789");
    assert_eq!(canonical(IdKind::MacaoId, "1234 567(8)"), "12345678");
    assert_eq!(
        canonical(IdKind::PrcResidentId, "110105 19491231 002x"),
        "11010519491231002X"
    );
    let permit = |raw| {
        crate::numbers::DocumentNumber::parse(crate::numbers::DocumentKind::Hrp, raw, today())
    };
    for raw in ["h1234 5678", "H1234\u{3000}5678", " h12345678 "] {
        assert_eq!(
            permit(raw).ok().map(|n| n.as_str().to_string()).as_deref(),
            Some("H12345678"),
            "{raw}"
        );
    }
}
