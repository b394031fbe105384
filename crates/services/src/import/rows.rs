//! Parsing one CSV row of each kind into a typed record, with every problem reported
//! against its row and column.

use super::*;
use crate::ErrorCode;
use crate::{App, Result};
use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::{DocumentStatus, check_dates};
use exitentry_domain::ids::{IdKind, IdentityNumber, ResidencePermitNumber};
use exitentry_domain::numbers::{DocumentKind, DocumentNumber, parse_issue_count};
use exitentry_domain::office::{
    DEFAULT_OPENING_HOURS, HolidayCalendar, Office, OfficeCode, OfficeLevel, Service,
};
use exitentry_domain::person::{Names, Nationality, Region, Sex, parse_date};
use exitentry_domain::states::EndorsementState;
use exitentry_storage::documents::{self};
use exitentry_storage::people::{Holder, PersonRecord};
use std::collections::{HashMap, HashSet};

pub(super) fn flag(row: &mut Row, col: &str) -> Option<bool> {
    match row.get(col) {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" | "" => Some(false),
        other => {
            row.add(
                col,
                Invalid::new(
                    ErrorCode::BadFlag,
                    format!("{col} must be 1 or 0, not {other:?}"),
                ),
            );
            None
        }
    }
}

pub(super) fn parse_office(row: &mut Row) -> Option<Office> {
    let code = row.field("code", OfficeCode::parse(row.get("code")));
    let text = |row: &mut Row, c: &str| row.required(c).map(str::to_string);
    let name_zh_hans = text(row, "name_zh_hans");
    let name_zh_hant = text(row, "name_zh_hant");
    let name_en = text(row, "name_en");
    let city = text(row, "city");
    let district = text(row, "district");
    let address = text(row, "address");
    // The translated addresses are optional columns: a registry without them imports as
    // before, and pages fall back to another language's address.
    let address_zh_hant = one_line(row, "address_zh_hant");
    let address_en = one_line(row, "address_en");
    let level = row.field("level", OfficeLevel::parse(row.get("level")));
    let open_24h = flag(row, "open_24h");
    let devices = row
        .get("self_service_devices")
        .parse::<u32>()
        .ok()
        .filter(|d| *d <= 1000);
    if devices.is_none() {
        row.add(
            "self_service_devices",
            Invalid::new(
                ErrorCode::BadNumber,
                "self_service_devices must be a whole number from 0 to 1000",
            ),
        );
    }
    let hours = match row.get("opening_hours") {
        "" => DEFAULT_OPENING_HOURS.to_string(),
        _ => one_line(row, "opening_hours").unwrap_or_default(),
    };
    let services = if row.has("services") && !row.get("services").is_empty() {
        row.field("services", Service::parse_list(row.get("services")))
    } else {
        // Without a list: what an office of its level offers (a self-service point only
        // its machines).
        level
            .zip(open_24h)
            .zip(devices)
            .map(|((l, o), d)| Service::defaults(l, o, d))
    };
    // Paper linkage proofs only at a public-security office of county level or above.
    let services = match (level, services) {
        (Some(l), Some(list)) => match list.iter().find(|s| !s.allowed_at(l)) {
            Some(s) => {
                row.add(
                    "services",
                    Invalid::new(
                        ErrorCode::ServiceNotAtLevel,
                        format!(
                            "{} is offered only at public-security offices of county level or above, not at a {}",
                            s.code(),
                            l.code()
                        ),
                    ),
                );
                None
            }
            None => Some(list),
        },
        (_, other) => other,
    };
    let calendar = match row.get("calendar") {
        "" => level.map(OfficeLevel::default_calendar),
        c => row.field("calendar", HolidayCalendar::parse(c)),
    };
    Some(Office {
        code: code?,
        name_zh_hans: name_zh_hans?,
        name_zh_hant: name_zh_hant?,
        name_en: name_en?,
        city: city?,
        district: district?,
        address: address?,
        address_zh_hant: address_zh_hant?,
        address_en: address_en?,
        level: level?,
        calendar: calendar?,
        open_24h: open_24h?,
        opening_hours: hours,
        self_service_devices: devices?,
        services: services?,
    })
}

/// An optional free-text column: one line of at most 200 characters ("" when absent).
fn one_line(row: &mut Row, col: &str) -> Option<String> {
    let v = row.get(col).trim();
    if v.chars().any(char::is_control) || v.chars().count() > 200 {
        row.add(
            col,
            Invalid::new(
                ErrorCode::BadValue,
                format!("{col} must be one line of at most 200 characters"),
            ),
        );
        return None;
    }
    Some(v.to_string())
}

/// Which identity kinds a resident of each region may be registered under.
pub(super) fn id_kind_fits(region: Region, kind: IdKind) -> bool {
    matches!(
        (region, kind),
        (Region::Mainland, IdKind::PrcResidentId)
            | (Region::HongKong, IdKind::Hkid | IdKind::Passport)
            | (Region::Macao, IdKind::MacaoId | IdKind::Passport)
            | (Region::Taiwan, IdKind::TaiwanId | IdKind::Passport)
    )
}

pub(super) fn parse_person(row: &mut Row, today: NaiveDate) -> Option<PersonRecord> {
    let external_id = row.required("external_id").map(str::to_string);
    if external_id.as_ref().is_some_and(|e| e.chars().count() > 64) {
        row.add(
            "external_id",
            Invalid::new(
                ErrorCode::BadValue,
                "external_id is longer than 64 characters",
            ),
        );
    }
    let names = match Names::parse(row.get("name_zh"), row.get("name_latin")) {
        Ok(n) => Some(n),
        Err(e) => {
            let col = if e.code == "missing_latin_name" {
                "name_latin"
            } else {
                "name_zh"
            };
            row.add(col, e);
            None
        }
    };
    let sex = row.field("sex", Sex::parse(row.get("sex")));
    let dob = row.field("date_of_birth", parse_date(row.get("date_of_birth")));
    if dob.is_some_and(|d| d > today) {
        row.add(
            "date_of_birth",
            Invalid::new(
                ErrorCode::FutureBirthDate,
                "the date of birth is in the future",
            ),
        );
    }
    let region = row.field("region", Region::parse(row.get("region")));
    let nationality = row.field("nationality", Nationality::parse(row.get("nationality")));
    let id_kind = row.field("id_kind", IdKind::parse(row.get("id_kind")));
    let id = id_kind.and_then(|k| {
        row.field(
            "id_number",
            IdentityNumber::parse(k, row.get("id_number"), today),
        )
    });
    if let (Some(id), Some(dob), Some(sex)) = (&id, dob, sex) {
        let r = id.check_person(dob, sex);
        row.field("id_number", r);
    }
    if let (Some(region), Some(kind)) = (region, id_kind)
        && !id_kind_fits(region, kind)
    {
        row.add(
            "id_kind",
            Invalid::new(
                ErrorCode::IdKindRegionMismatch,
                format!(
                    "a {} resident is not registered by {}",
                    region.code(),
                    kind.code()
                ),
            ),
        );
    }
    if let (Some(region), Some(nat)) = (region, &nationality)
        && matches!(region, Region::Mainland | Region::Taiwan)
        && !nat.is_chinese()
    {
        row.add(
            "nationality",
            Invalid::new(
                ErrorCode::NationalityRegionMismatch,
                format!(
                    "{} residents in the registry are Chinese citizens (CHN)",
                    region.code()
                ),
            ),
        );
    }
    let hukou_area = if row.has("hukou_area") && !row.get("hukou_area").trim().is_empty() {
        let area = row.field(
            "hukou_area",
            exitentry_domain::person::HukouArea::parse(row.get("hukou_area")),
        );
        if region.is_some_and(|r| r != Region::Mainland) {
            row.add(
                "hukou_area",
                Invalid::new(
                    ErrorCode::HukouNotMainland,
                    "only mainland residents have a household registration here",
                ),
            );
        }
        area.map(|a| a.as_str().to_string())
    } else {
        None
    };
    Some(PersonRecord {
        hukou_area,
        external_id: external_id?,
        names: names?,
        sex: sex?,
        date_of_birth: dob?,
        region: region?,
        nationality: nationality?,
        id_kind: id_kind?,
        id_number: id?.as_str().to_string(),
    })
}

/// A documents row before its holder is known.
pub(super) struct DocRow {
    pub(super) person_external_id: String,
    pub(super) kind: DocumentKind,
    pub(super) number: DocumentNumber,
    pub(super) issue_count: Option<u8>,
    pub(super) issued_on: NaiveDate,
    pub(super) expires_on: NaiveDate,
    pub(super) status: DocumentStatus,
    pub(super) office_code: Option<String>,
}

/// A row of an endorsements file, parsed.
pub(super) struct EndorsementCsvRow {
    pub(super) document_number: String,
    pub(super) destination: exitentry_domain::endorsements::Destination,
    pub(super) kind: exitentry_domain::endorsements::EndorsementType,
    pub(super) trips: exitentry_domain::endorsements::Trips,
    pub(super) valid_from: NaiveDate,
    pub(super) valid_until: NaiveDate,
    pub(super) stay_days: i64,
}

pub(super) fn parse_endorsement_row(row: &mut Row) -> Option<EndorsementCsvRow> {
    use exitentry_domain::endorsements::{Destination, EndorsementType, Trips};
    let number = row
        .required("document_number")
        .map(|n| n.trim().to_ascii_uppercase());
    let destination = row.field("destination", Destination::parse(row.get("destination")));
    let kind = row.field("type", EndorsementType::parse(row.get("type")));
    let trips = row.field("trips", Trips::parse(row.get("trips")));
    let valid_from = row.field("valid_from", parse_date(row.get("valid_from")));
    let valid_until = row.field("valid_until", parse_date(row.get("valid_until")));
    let stay = row.field(
        "stay_days",
        row.get("stay_days")
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=366).contains(d))
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadStayDays,
                    "stay_days is a number of days from 1 to 366",
                )
            }),
    );
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u < f
    {
        row.add(
            "valid_until",
            Invalid::new(
                ErrorCode::EndsBeforeStart,
                "valid_until is before valid_from",
            ),
        );
        return None;
    }
    Some(EndorsementCsvRow {
        document_number: number?,
        destination: destination?,
        kind: kind?,
        trips: trips?,
        valid_from: valid_from?,
        valid_until: valid_until?,
        stay_days: stay?,
    })
}

/// Endorsements belong on an Exit-Entry Permit in the registry and within its validity;
/// the same endorsement twice in the file is a problem.
pub(super) async fn endorsements_against_registry(
    app: &App,
    rows: Vec<(u64, EndorsementCsvRow)>,
    summary: &mut ImportSummary,
) -> Result<Vec<exitentry_storage::endorsements::EndorsementRow>> {
    let mut conn = app.db.conn().await?;
    let mut seen: HashMap<(String, &'static str, &'static str, NaiveDate), u64> = HashMap::new();
    let mut out = Vec::new();
    for (n, r) in rows {
        let key = (
            r.document_number.clone(),
            r.destination.code(),
            r.kind.code(),
            r.valid_from,
        );
        if let Some(first) = seen.insert(key, n) {
            summary.problems.push(problem(
                n,
                "document_number",
                ErrorCode::DuplicateInFile,
                format!("the same endorsement is on row {first}"),
            ));
            continue;
        }
        let permit = documents::current_eep(&mut conn, &r.document_number).await?;
        let Some(permit) = permit else {
            summary.problems.push(problem(
                n,
                "document_number",
                ErrorCode::UnknownPermit,
                format!("no Exit-Entry Permit {} in the registry", r.document_number),
            ));
            continue;
        };
        if r.valid_until > permit.doc.expires_on || r.valid_from < permit.doc.issued_on {
            summary.problems.push(problem(
                n,
                "valid_until",
                ErrorCode::OutsidePermitValidity,
                format!(
                    "the permit is valid {} to {}",
                    permit.doc.issued_on, permit.doc.expires_on
                ),
            ));
            continue;
        }
        out.push(exitentry_storage::endorsements::EndorsementRow {
            id: 0,
            document_id: permit.id,
            destination: r.destination.code().to_string(),
            kind: r.kind.code().to_string(),
            trips_allowed: match r.trips {
                exitentry_domain::endorsements::Trips::Count(c) => Some(i64::from(c)),
                exitentry_domain::endorsements::Trips::Multiple => None,
            },
            trips_used: 0,
            valid_from: r.valid_from.to_string(),
            valid_until: r.valid_until.to_string(),
            stay_days: r.stay_days,
            status: EndorsementState::Valid,
            source: "import".into(),
        });
    }
    Ok(out)
}

pub(super) fn parse_document_row(
    row: &mut Row,
    today: NaiveDate,
    offices: &HashSet<String>,
) -> Option<DocRow> {
    let person = row.required("person_external_id").map(str::to_string);
    let kind = row.field("kind", DocumentKind::parse(row.get("kind")));
    let number =
        kind.and_then(|k| row.field("number", DocumentNumber::parse(k, row.get("number"), today)));
    let issue_count =
        kind.and_then(|k| row.field("issue_count", parse_issue_count(k, row.get("issue_count"))));
    let issued_on = row.field("issued_on", parse_date(row.get("issued_on")));
    let expires_on = row.field("expires_on", parse_date(row.get("expires_on")));
    let status = row.field("status", DocumentStatus::parse(row.get("status")));
    let office = match row.get("office_code") {
        "" => Some(None),
        code => match OfficeCode::parse(code) {
            Ok(c) if offices.contains(c.as_str()) => Some(Some(c.as_str().to_string())),
            Ok(c) => {
                row.add(
                    "office_code",
                    Invalid::new(
                        ErrorCode::UnknownOffice,
                        format!("no office {} in the registry", c.as_str()),
                    ),
                );
                None
            }
            Err(e) => {
                row.add("office_code", e);
                None
            }
        },
    };
    Some(DocRow {
        person_external_id: person?,
        kind: kind?,
        number: number?,
        issue_count: issue_count?,
        issued_on: issued_on?,
        expires_on: expires_on?,
        status: status?,
        office_code: office?,
    })
}

/// Rules that need the holder: region and nationality fit the kind, numbers agree.
pub(super) fn check_holder(
    app: &App,
    d: &DocRow,
    holder: &Holder,
    today: NaiveDate,
) -> Vec<(&'static str, Invalid)> {
    let mut out = Vec::new();
    if !d.kind.holder_regions().contains(&holder.region) {
        out.push((
            "kind",
            Invalid::new(
                ErrorCode::HolderRegionMismatch,
                format!(
                    "a {} is not held by a {} resident",
                    d.kind.code(),
                    holder.region.code()
                ),
            ),
        ));
    } else if d.kind != DocumentKind::ResidencePermit && d.number.region() != holder.region {
        out.push((
            "number",
            Invalid::new(
                ErrorCode::RegionMismatch,
                format!(
                    "number {} belongs to {}, the holder lives in {}",
                    d.number.as_str(),
                    d.number.region().code(),
                    holder.region.code()
                ),
            ),
        ));
    }
    match d.kind {
        DocumentKind::Hrp | DocumentKind::Twp if !holder.nationality.is_chinese() => out.push((
            "kind",
            Invalid::new(
                ErrorCode::NationalityMismatch,
                format!("a {} is for Chinese citizens", d.kind.code()),
            ),
        )),
        DocumentKind::HrpNonChinese if holder.nationality.is_chinese() => out.push((
            "kind",
            Invalid::new(
                ErrorCode::NationalityMismatch,
                "a non-Chinese HRP is for holders who are not Chinese nationals",
            ),
        )),
        DocumentKind::ResidencePermit => {
            if let Ok(rp) = ResidencePermitNumber::parse(d.number.as_str(), today)
                && let Err(e) = rp.check_holder(holder.region, holder.date_of_birth, holder.sex)
            {
                out.push(("number", e));
            }
        }
        _ => {}
    }
    if let Err(e) = check_dates(
        &app.policy,
        d.kind,
        d.issued_on,
        d.expires_on,
        d.status,
        today,
    ) {
        let col = match e.code {
            ErrorCode::IssuedInFuture | ErrorCode::BookletAfterVoidDate => "issued_on",
            ErrorCode::StatusConflict => "status",
            _ => "expires_on",
        };
        out.push((col, e));
    }
    out
}

pub(super) fn problem(row: u64, column: &str, code: ErrorCode, message: String) -> Problem {
    Problem {
        row,
        column: column.into(),
        code: code.to_string(),
        message,
    }
}
