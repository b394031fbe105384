//! The non-Chinese home return permit's online pre-application (since 2024-07-10): who may
//! apply, what the form must hold, which documents go with it, the supplement items a
//! reviewer can ask for, and the permit's number once issued.

use crate::ErrorCode;
use crate::Invalid;
use crate::countries;
use crate::ids::{IdKind, IdentityNumber};
use crate::numbers::{DocumentKind, DocumentNumber};
use crate::person::{Names, Nationality, Sex, parse_date};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// Passports must have at least this many months left on submission.
pub const PASSPORT_MONTHS_LEFT: u32 = 6;
/// Below this age the Immigration Department's notice replaces the identity card.
pub const NOTICE_BELOW_AGE: u32 = 11;
/// Below this age a guardian's details and consent are required.
pub const GUARDIAN_BELOW_AGE: u32 = 18;
/// The longest stay per visit, printed on the card (validity and the start date are policy:
/// `document::expiry_for_issue`).
pub const STAY_DAYS: u32 = 90;

/// The form as typed (strings, kept as is between saves so nothing is lost).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Form {
    /// What the application is for ([`Purpose`] codes; empty is a first permit).
    pub purpose: String,
    /// The permit held now (renewal) or lost or damaged (replacement).
    pub current_permit: String,
    pub name_latin: String,
    pub name_zh: String,
    pub sex: String,
    pub date_of_birth: String,
    pub nationality: String,
    /// `hong_kong` or `macao`: which permanent identity card.
    pub region: String,
    pub permanent_id: String,
    pub passport_number: String,
    pub passport_expiry: String,
    pub address: String,
    pub phone: String,
    pub guardian_name: String,
    pub guardian_relation: String,
    pub guardian_id: String,
    pub guardian_consent: bool,
    /// Under 11 only: the child already has a Hong Kong (or Macao) permanent identity card,
    /// so the card is uploaded, not the Immigration Department's notice.
    pub child_holds_id_card: bool,
}

/// What a pre-application is for; the counter accepts it only as the matching product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    First,
    /// The current permit is handed in when the new one is collected.
    Renewal,
    /// The permit was lost: recorded as reported lost when the counter accepts.
    ReplacementLost,
    /// The permit is damaged: recorded so at the counter, handed in at collection.
    ReplacementDamaged,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::First,
        Purpose::Renewal,
        Purpose::ReplacementLost,
        Purpose::ReplacementDamaged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Purpose::First => "first",
            Purpose::Renewal => "renewal",
            Purpose::ReplacementLost => "replacement_lost",
            Purpose::ReplacementDamaged => "replacement_damaged",
        }
    }

    /// Empty means a first permit (forms saved before the choice existed).
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Purpose::First);
        }
        Purpose::ALL
            .into_iter()
            .find(|p| p.code() == s)
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadApplicationPurpose,
                    "choose a first permit, a renewal or a replacement",
                )
            })
    }

    /// The counter product that accepts this pre-application.
    pub fn product(self) -> &'static str {
        match self {
            Purpose::First => "hrp_non_chinese_first",
            Purpose::Renewal => "hrp_non_chinese_renewal",
            Purpose::ReplacementLost | Purpose::ReplacementDamaged => "hrp_non_chinese_replacement",
        }
    }
}

/// A field that is wrong, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: ErrorCode,
    pub message: String,
}

fn err(field: &'static str, e: Invalid) -> FieldError {
    FieldError {
        field,
        code: e.code,
        message: e.message,
    }
}

fn need(field: &'static str, v: &str, max: usize, out: &mut Vec<FieldError>) {
    let n = v.trim().chars().count();
    if n == 0 {
        out.push(err(
            field,
            Invalid::new(ErrorCode::Required, "this field is required"),
        ));
    } else if n > max || v.chars().any(char::is_control) {
        out.push(err(
            field,
            Invalid::new(
                ErrorCode::BadText,
                format!("at most {max} characters, no control characters"),
            ),
        ));
    }
}

/// What a complete form says, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub purpose: Purpose,
    /// Given for every purpose but a first permit.
    pub current_permit: Option<DocumentNumber>,
    pub names: Names,
    pub sex: Sex,
    pub date_of_birth: NaiveDate,
    pub nationality: Nationality,
    pub permanent_id: IdentityNumber,
    pub passport_number: String,
    pub passport_expiry: NaiveDate,
    pub age: u32,
    /// The applicant holds the permanent identity card (always from 11 on).
    pub holds_id_card: bool,
}

impl Applicant {
    pub fn id_kind(&self) -> IdKind {
        self.permanent_id.kind()
    }

    /// The documents to upload: the identity card front and back, or, for a child under 11
    /// who has no card yet, the notice of permanent-resident status; always the passport's
    /// data page.
    pub fn required_documents(&self) -> Vec<&'static str> {
        if !self.holds_id_card {
            vec!["pr_notice", "passport"]
        } else {
            vec!["id_card_front", "id_card_back", "passport"]
        }
    }
}

/// Age in whole years on `on`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.years_since(dob).unwrap_or(0);
    if years > 150 {
        years = 150;
    }
    years
}

/// Checks the whole form on `today`; every problem at once, so the applicant fixes them in
/// one go. The passport rule is checked whenever its expiry is readable ("refused at once").
pub fn check(form: &Form, today: NaiveDate) -> Result<Applicant, Vec<FieldError>> {
    let mut out = Vec::new();
    // Empty fields are "required", whatever their format would be.
    let empty: Vec<&'static str> = [
        ("sex", &form.sex),
        ("date_of_birth", &form.date_of_birth),
        ("nationality", &form.nationality),
        ("region", &form.region),
        ("permanent_id", &form.permanent_id),
        ("passport_number", &form.passport_number),
        ("passport_expiry", &form.passport_expiry),
    ]
    .into_iter()
    .filter(|(_, v)| v.trim().is_empty())
    .map(|(f, _)| f)
    .collect();
    let names = Names::parse(&form.name_zh, &form.name_latin)
        .map_err(|e| out.push(err("name_latin", e)))
        .ok();
    let sex = Sex::parse(&form.sex)
        .map_err(|e| out.push(err("sex", e)))
        .ok();
    let purpose = Purpose::parse(&form.purpose)
        .map_err(|e| out.push(err("purpose", e)))
        .ok();
    // The number is for life, so the current permit names the card being renewed or replaced.
    let current_permit = match purpose {
        Some(Purpose::First) | None => None,
        Some(_) if form.current_permit.trim().is_empty() => {
            out.push(err(
                "current_permit",
                Invalid::new(
                    ErrorCode::CurrentPermitRequired,
                    "give the number of the permit you hold or held (HA or MA and 7 digits)",
                ),
            ));
            None
        }
        Some(_) => DocumentNumber::parse(DocumentKind::HrpNonChinese, &form.current_permit, today)
            .map_err(|e| out.push(err("current_permit", e)))
            .ok(),
    };
    let dob = match parse_date(&form.date_of_birth) {
        Ok(d) if d > today => {
            out.push(err(
                "date_of_birth",
                Invalid::new(ErrorCode::BadDate, "the date of birth is in the future"),
            ));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            out.push(err("date_of_birth", e));
            None
        }
    };
    let nationality = match Nationality::parse(&form.nationality) {
        Ok(Nationality::Chinese) => {
            out.push(err(
                "nationality",
                Invalid::new(
                    ErrorCode::ChineseNational,
                    "Chinese nationals apply for the home return permit, not this one",
                ),
            ));
            None
        }
        // A country of the ISO list, chosen in the picker (not a part of China).
        Ok(n)
            if countries::by_alpha3(n.code())
                .is_some_and(|c| !countries::PARTS_OF_CHINA.contains(&c.alpha3)) =>
        {
            Some(n)
        }
        Ok(_) | Err(_) => {
            out.push(err(
                "nationality",
                Invalid::new(
                    ErrorCode::BadNationality,
                    "choose the country of your nationality from the list",
                ),
            ));
            None
        }
    };
    let kind = match form.region.as_str() {
        "hong_kong" => Some(IdKind::Hkid),
        "macao" => Some(IdKind::MacaoId),
        _ => {
            out.push(err(
                "region",
                Invalid::new(ErrorCode::BadRegion, "choose Hong Kong or Macao"),
            ));
            None
        }
    };
    let permanent_id = kind.and_then(|k| {
        IdentityNumber::parse(k, &form.permanent_id, today)
            .map_err(|e| out.push(err("permanent_id", e)))
            .ok()
    });
    let passport = form.passport_number.trim().to_ascii_uppercase();
    if !(5..=20).contains(&passport.len()) || !passport.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push(err(
            "passport_number",
            Invalid::new(ErrorCode::BadPassportNumber, "5 to 20 letters and digits"),
        ));
    }
    let passport_expiry = match parse_date(&form.passport_expiry) {
        Ok(d) => {
            let limit = today
                .checked_add_months(Months::new(PASSPORT_MONTHS_LEFT))
                .unwrap_or(today);
            if d < limit {
                out.push(err(
                    "passport_expiry",
                    Invalid::new(
                        ErrorCode::PassportExpiresTooSoon,
                        "the passport needs at least 6 months of validity left",
                    ),
                ));
            }
            Some(d)
        }
        Err(e) => {
            out.push(err("passport_expiry", e));
            None
        }
    };
    need("address", &form.address, 200, &mut out);
    need("phone", &form.phone, 30, &mut out);
    let age = dob.map(|d| age_on(d, today));
    if age.is_some_and(|a| a < GUARDIAN_BELOW_AGE) {
        need("guardian_name", &form.guardian_name, 100, &mut out);
        need("guardian_relation", &form.guardian_relation, 50, &mut out);
        need("guardian_id", &form.guardian_id, 30, &mut out);
        if !form.guardian_consent {
            out.push(err(
                "guardian_consent",
                Invalid::new(
                    ErrorCode::GuardianConsentRequired,
                    "a guardian must consent for an applicant under 18",
                ),
            ));
        }
    }
    // An empty field reports "required" only, not also its format.
    out.retain(|e| !empty.contains(&e.field));
    for field in empty {
        out.push(err(
            field,
            Invalid::new(ErrorCode::Required, "this field is required"),
        ));
    }
    match (
        purpose,
        names,
        sex,
        dob,
        nationality,
        permanent_id,
        passport_expiry,
        age,
    ) {
        (
            Some(purpose),
            Some(names),
            Some(sex),
            Some(date_of_birth),
            Some(nationality),
            Some(permanent_id),
            Some(passport_expiry),
            Some(age),
        ) if out.is_empty() => Ok(Applicant {
            purpose,
            current_permit,
            names,
            sex,
            date_of_birth,
            nationality,
            permanent_id,
            passport_number: passport,
            passport_expiry,
            age,
            holds_id_card: age >= NOTICE_BELOW_AGE || form.child_holds_id_card,
        }),
        _ => Err(out),
    }
}

/// What a reviewer may ask to be supplemented (besides free text).
pub const SUPPLEMENT_ITEMS: [&str; 7] = [
    "id_card_front",
    "id_card_back",
    "pr_notice",
    "passport",
    "details_mismatch",
    "guardian_consent",
    "photo_quality",
];

/// Checks a supplement request: known items, at least one item or a note.
pub fn check_supplement(items: &[String], note: &str) -> Result<Vec<String>, Invalid> {
    if let Some(x) = items
        .iter()
        .find(|i| !SUPPLEMENT_ITEMS.contains(&i.as_str()))
    {
        return Err(Invalid::new(
            ErrorCode::BadSupplementItem,
            format!("not a supplement item: {x:?}"),
        ));
    }
    if items.is_empty() && note.trim().is_empty() {
        return Err(Invalid::new(
            ErrorCode::SupplementEmpty,
            "say what the applicant must add",
        ));
    }
    if note.chars().count() > 1000 {
        return Err(Invalid::new(
            ErrorCode::NoteTooLong,
            "the note has at most 1000 characters",
        ));
    }
    let mut v = items.to_vec();
    v.dedup();
    Ok(v)
}

/// The permit's number: `HA` for Hong Kong, `MA` for Macao residents, then 7 digits from
/// the random value (the caller retries when the number was ever used).
pub fn permit_number(region_hong_kong: bool, random: u64) -> String {
    let prefix = if region_hong_kong { "HA" } else { "MA" };
    format!("{prefix}{:07}", random % 10_000_000)
}

/// A complete first application of an adult: a British citizen with a Hong Kong permanent
/// identity card. The form tests start from.
#[cfg(any(test, feature = "fixtures"))]
pub fn example_form() -> Form {
    Form {
        name_latin: "SMITH, JOHN".into(),
        sex: "M".into(),
        date_of_birth: "1980-05-01".into(),
        nationality: "GBR".into(),
        region: "hong_kong".into(),
        permanent_id: "A123456(3)".into(),
        passport_number: "123456789".into(),
        passport_expiry: "2030-01-01".into(),
        address: "1 Queen's Road, Central".into(),
        phone: "+852 9123 4567".into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::time::testing::d;

    fn codes(r: Result<Applicant, Vec<FieldError>>) -> Vec<(&'static str, &'static str)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code.code()))
            .collect()
    }

    #[test]
    fn a_complete_adult_form_passes() {
        let a = check(&example_form(), d("2026-11-22")).unwrap();
        assert_eq!(a.id_kind(), IdKind::Hkid);
        assert_eq!(a.age, 46);
        assert_eq!(
            a.required_documents(),
            ["id_card_front", "id_card_back", "passport"]
        );
    }

    #[test]
    fn renewals_and_replacements_name_the_current_permit() {
        let mut f = example_form();
        assert_eq!(check(&f, d("2026-11-22")).unwrap().purpose, Purpose::First);
        f.purpose = "renewal".into();
        assert_eq!(
            codes(check(&f, d("2026-11-22"))),
            [("current_permit", "current_permit_required")]
        );
        f.current_permit = "H12345678".into();
        assert_eq!(
            codes(check(&f, d("2026-11-22"))),
            [("current_permit", "bad_format")]
        );
        f.current_permit = " ha1234567 ".into();
        let a = check(&f, d("2026-11-22")).unwrap();
        assert_eq!(a.purpose.product(), "hrp_non_chinese_renewal");
        assert_eq!(a.current_permit.unwrap().as_str(), "HA1234567");
        f.purpose = "replacement_lost".into();
        assert_eq!(
            check(&f, d("2026-11-22")).unwrap().purpose.product(),
            "hrp_non_chinese_replacement"
        );
        f.purpose = "upgrade".into();
        assert_eq!(
            codes(check(&f, d("2026-11-22"))),
            [("purpose", "bad_application_purpose")]
        );
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.code()), Ok(p));
            crate::products::product(p.product()).unwrap();
        }
    }

    #[test]
    fn the_passport_needs_six_months_left() {
        let mut f = example_form();
        f.passport_expiry = "2027-05-21".into();
        assert_eq!(
            codes(check(&f, d("2026-11-22"))),
            [("passport_expiry", "passport_expires_too_soon")]
        );
        f.passport_expiry = "2027-05-22".into();
        assert!(check(&f, d("2026-11-22")).is_ok());
    }

    #[test]
    fn chinese_nationals_and_bad_identity_cards_are_refused() {
        let mut f = example_form();
        f.nationality = "CHN".into();
        f.permanent_id = "A123456(4)".into();
        assert_eq!(
            codes(check(&f, d("2026-11-22"))),
            [
                ("nationality", "chinese_national"),
                ("permanent_id", "bad_check_digit")
            ]
        );
        let mut m = example_form();
        m.region = "macao".into();
        m.permanent_id = "1234567(8)".into();
        assert_eq!(
            check(&m, d("2026-11-22")).unwrap().id_kind(),
            IdKind::MacaoId
        );
    }

    #[test]
    fn minors_need_a_guardian_and_children_the_notice() {
        let mut f = example_form();
        f.date_of_birth = "2018-01-01".into();
        let errs = codes(check(&f, d("2026-11-22")));
        assert!(errs.contains(&("guardian_name", "required")));
        assert!(errs.contains(&("guardian_consent", "guardian_consent_required")));
        f.guardian_name = "SMITH, JANE".into();
        f.guardian_relation = "mother".into();
        f.guardian_id = "A123456(3)".into();
        f.guardian_consent = true;
        let a = check(&f, d("2026-11-22")).unwrap();
        assert_eq!(a.required_documents(), ["pr_notice", "passport"]);
        // A child who already has the permanent identity card uploads the card.
        f.child_holds_id_card = true;
        let a = check(&f, d("2026-11-22")).unwrap();
        assert_eq!(
            a.required_documents(),
            ["id_card_front", "id_card_back", "passport"]
        );
        f.child_holds_id_card = false;
        f.date_of_birth = "2008-11-23".into();
        let teen = check(&f, d("2026-11-22")).unwrap();
        assert_eq!(teen.age, 17);
        assert_eq!(teen.required_documents().len(), 3);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errs = codes(check(&Form::default(), d("2026-11-22")));
        for field in [
            "name_latin",
            "sex",
            "date_of_birth",
            "nationality",
            "region",
            "passport_number",
            "passport_expiry",
            "address",
            "phone",
        ] {
            assert!(errs.iter().any(|(f, _)| *f == field), "{field}: {errs:?}");
        }
    }

    #[test]
    fn supplements_and_numbers() {
        assert_eq!(
            check_supplement(&[], " ").unwrap_err().code,
            "supplement_empty"
        );
        assert_eq!(
            check_supplement(&["x".into()], "").unwrap_err().code,
            "bad_supplement_item"
        );
        assert_eq!(
            check_supplement(&["passport".into()], "").unwrap(),
            ["passport"]
        );
        assert_eq!(permit_number(true, 42), "HA0000042");
        assert_eq!(permit_number(false, 12_345_678), "MA2345678");
    }
}
