//! Importing an existing registry from CSV: offices, people, documents.
//!
//! Every row is validated before anything is written. With problems, nothing is written
//! unless `skip_invalid` is set; then the valid rows go in. Either way the whole import is
//! one transaction with one audit entry, and re-importing the same file changes nothing.

use crate::{App, Result, audit};
use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::{DocumentStatus, check_dates};
use exitentry_domain::ids::{IdKind, IdentityNumber, ResidencePermitNumber};
use exitentry_domain::numbers::{DocumentKind, DocumentNumber, parse_issue_count};
use exitentry_domain::office::{
    DEFAULT_OPENING_HOURS, HolidayCalendar, Office, OfficeCode, OfficeLevel, Service,
};
use exitentry_domain::person::{Names, Nationality, Region, Sex, parse_date};
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::offices;
use exitentry_storage::people::{self, PersonRecord, StoredPerson};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Which registry file is being imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Offices,
    People,
    Documents,
    Endorsements,
}

impl ImportKind {
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Offices => "offices",
            ImportKind::People => "people",
            ImportKind::Documents => "documents",
            ImportKind::Endorsements => "endorsements",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Offices => &[
                "code",
                "name_zh_hans",
                "name_zh_hant",
                "name_en",
                "city",
                "district",
                "address",
                "level",
                "open_24h",
                "self_service_devices",
            ],
            ImportKind::People => &[
                "external_id",
                "name_zh",
                "name_latin",
                "sex",
                "date_of_birth",
                "region",
                "nationality",
                "id_kind",
                "id_number",
            ],
            ImportKind::Documents => &[
                "person_external_id",
                "kind",
                "number",
                "issue_count",
                "issued_on",
                "expires_on",
                "status",
                "office_code",
            ],
            ImportKind::Endorsements => &[
                "document_number",
                "destination",
                "type",
                "trips",
                "valid_from",
                "valid_until",
                "stay_days",
            ],
        }
    }

    /// Columns a file may add; absent ones take defaults.
    fn optional_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Offices => &["opening_hours", "services", "calendar"],
            ImportKind::People => &["hukou_area"],
            _ => &[],
        }
    }
}

/// Progress reporting (a terminal bar in the CLI, nothing in tests).
pub trait Progress {
    fn phase(&self, _name: &str, _len: u64) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// One problem with one field of one row. Row 1 is the first data row; row 0 the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub row: u64,
    pub column: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows left out because they had problems (only with `skip_invalid`).
    pub skipped: u64,
    pub problems: Vec<Problem>,
    /// Whether anything was written.
    pub committed: bool,
    pub sha256: String,
}

impl ImportSummary {
    /// The report file: `row,column,code,message`.
    pub fn report_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["row", "column", "code", "message"]);
        for p in &self.problems {
            let _ = w.write_record([p.row.to_string().as_str(), &p.column, &p.code, &p.message]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub skip_invalid: bool,
    /// Who runs the import, for the audit log (e.g. `cli:import`).
    pub actor: String,
}

/// Collects problems while a row is parsed.
struct Row<'a> {
    n: u64,
    rec: &'a csv::StringRecord,
    cols: &'a HashMap<String, usize>,
    problems: Vec<Problem>,
}

impl<'a> Row<'a> {
    fn get(&self, col: &str) -> &'a str {
        self.cols
            .get(col)
            .and_then(|&i| self.rec.get(i))
            .unwrap_or("")
            .trim()
    }

    fn has(&self, col: &str) -> bool {
        self.cols.contains_key(col)
    }

    fn add(&mut self, col: &str, e: Invalid) {
        self.problems.push(Problem {
            row: self.n,
            column: col.to_string(),
            code: e.code.to_string(),
            message: e.message,
        });
    }

    fn field<T>(&mut self, col: &str, r: std::result::Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(col, e);
                None
            }
        }
    }

    fn required(&mut self, col: &str) -> Option<&'a str> {
        let v = self.get(col);
        if v.is_empty() {
            self.add(
                col,
                Invalid::new("missing_value", format!("{col} is required")),
            );
            None
        } else if v.chars().any(char::is_control) {
            self.add(
                col,
                Invalid::new("bad_value", format!("{col} contains control characters")),
            );
            None
        } else {
            Some(v)
        }
    }
}

struct Parsed<T> {
    rows: Vec<(u64, T)>,
    problems: Vec<Problem>,
    total: u64,
}

/// Reads the CSV, checks the header, and hands each record to `parse`.
fn read_csv<T>(
    bytes: &[u8],
    kind: ImportKind,
    progress: &dyn Progress,
    mut parse: impl FnMut(&mut Row) -> Option<T>,
) -> Parsed<T> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Parsed {
        rows: Vec::new(),
        problems: Vec::new(),
        total: 0,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.problems.push(Problem {
                row: 0,
                column: String::new(),
                code: "bad_header".into(),
                message: format!("cannot read the header row: {e}"),
            });
            return out;
        }
    };
    let cols: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_string(), i))
        .collect();
    for c in kind.columns() {
        if !cols.contains_key(*c) {
            out.problems.push(Problem {
                row: 0,
                column: (*c).to_string(),
                code: "missing_column".into(),
                message: format!("the header has no column {c}"),
            });
        }
    }
    for h in cols.keys() {
        if !kind.columns().contains(&h.as_str()) && !kind.optional_columns().contains(&h.as_str()) {
            out.problems.push(Problem {
                row: 0,
                column: h.clone(),
                code: "unknown_column".into(),
                message: format!("column {h} is not part of the {} format", kind.name()),
            });
        }
    }
    if !out.problems.is_empty() {
        return out;
    }
    progress.phase("validating", bytes.len() as u64);
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    let mut last_pos = 0u64;
    loop {
        n += 1;
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                out.total += 1;
                let mut row = Row {
                    n,
                    rec: &rec,
                    cols: &cols,
                    problems: Vec::new(),
                };
                let parsed = parse(&mut row);
                if row.problems.is_empty() {
                    if let Some(v) = parsed {
                        out.rows.push((n, v));
                    }
                } else {
                    out.problems.append(&mut row.problems);
                }
            }
            Err(e) => {
                out.total += 1;
                let code = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "bad_encoding",
                    csv::ErrorKind::UnequalLengths { .. } => "bad_row_length",
                    _ => "bad_row",
                };
                out.problems.push(Problem {
                    row: n,
                    column: String::new(),
                    code: code.into(),
                    message: e.to_string(),
                });
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
        let pos = reader.position().byte();
        if pos - last_pos > 1 << 20 {
            progress.inc(pos - last_pos);
            last_pos = pos;
        }
    }
    progress.inc((bytes.len() as u64).saturating_sub(last_pos));
    out
}

fn flag(row: &mut Row, col: &str) -> Option<bool> {
    match row.get(col) {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" | "" => Some(false),
        other => {
            row.add(
                col,
                Invalid::new("bad_flag", format!("{col} must be 1 or 0, not {other:?}")),
            );
            None
        }
    }
}

fn parse_office(row: &mut Row) -> Option<Office> {
    let code = row.field("code", OfficeCode::parse(row.get("code")));
    let text = |row: &mut Row, c: &str| row.required(c).map(str::to_string);
    let name_zh_hans = text(row, "name_zh_hans");
    let name_zh_hant = text(row, "name_zh_hant");
    let name_en = text(row, "name_en");
    let city = text(row, "city");
    let district = text(row, "district");
    let address = text(row, "address");
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
                "bad_number",
                "self_service_devices must be a whole number from 0 to 1000",
            ),
        );
    }
    let hours = match row.get("opening_hours") {
        "" => DEFAULT_OPENING_HOURS.to_string(),
        h if h.chars().any(char::is_control) || h.chars().count() > 200 => {
            row.add(
                "opening_hours",
                Invalid::new(
                    "bad_value",
                    "opening_hours must be one line of at most 200 characters",
                ),
            );
            String::new()
        }
        h => h.to_string(),
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
                        "service_not_at_level",
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
        level: level?,
        calendar: calendar?,
        open_24h: open_24h?,
        opening_hours: hours,
        self_service_devices: devices?,
        services: services?,
    })
}

/// Which identity kinds a resident of each region may be registered under.
fn id_kind_fits(region: Region, kind: IdKind) -> bool {
    matches!(
        (region, kind),
        (Region::Mainland, IdKind::PrcResidentId)
            | (Region::HongKong, IdKind::Hkid | IdKind::Passport)
            | (Region::Macao, IdKind::MacaoId | IdKind::Passport)
            | (Region::Taiwan, IdKind::TaiwanId | IdKind::Passport)
    )
}

fn parse_person(row: &mut Row, today: NaiveDate) -> Option<PersonRecord> {
    let external_id = row.required("external_id").map(str::to_string);
    if external_id.as_ref().is_some_and(|e| e.chars().count() > 64) {
        row.add(
            "external_id",
            Invalid::new("bad_value", "external_id is longer than 64 characters"),
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
            Invalid::new("future_birth_date", "the date of birth is in the future"),
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
                "id_kind_region_mismatch",
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
                "nationality_region_mismatch",
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
                    "hukou_not_mainland",
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
struct DocRow {
    person_external_id: String,
    kind: DocumentKind,
    number: DocumentNumber,
    issue_count: Option<u8>,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
    status: DocumentStatus,
    office_code: Option<String>,
}

/// A row of an endorsements file, parsed.
struct EndorsementCsvRow {
    document_number: String,
    destination: exitentry_domain::endorsements::Destination,
    kind: exitentry_domain::endorsements::EndorsementType,
    trips: exitentry_domain::endorsements::Trips,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    stay_days: i64,
}

fn parse_endorsement_row(row: &mut Row) -> Option<EndorsementCsvRow> {
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
                    "bad_stay_days",
                    "stay_days is a number of days from 1 to 366",
                )
            }),
    );
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u < f
    {
        row.add(
            "valid_until",
            Invalid::new("ends_before_start", "valid_until is before valid_from"),
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
async fn endorsements_against_registry(
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
                "duplicate_in_file",
                format!("the same endorsement is on row {first}"),
            ));
            continue;
        }
        let permit = documents::current_eep(&mut conn, &r.document_number).await?;
        let Some(permit) = permit else {
            summary.problems.push(problem(
                n,
                "document_number",
                "unknown_permit",
                format!("no Exit-Entry Permit {} in the registry", r.document_number),
            ));
            continue;
        };
        if r.valid_until > permit.doc.expires_on || r.valid_from < permit.doc.issued_on {
            summary.problems.push(problem(
                n,
                "valid_until",
                "outside_permit_validity",
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
            status: "valid".into(),
            source: "import".into(),
        });
    }
    Ok(out)
}

fn parse_document_row(
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
                        "unknown_office",
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
fn check_holder(
    app: &App,
    d: &DocRow,
    p: &StoredPerson,
    today: NaiveDate,
) -> Vec<(&'static str, Invalid)> {
    let mut out = Vec::new();
    let holder = &p.person;
    if !d.kind.holder_regions().contains(&holder.region) {
        out.push((
            "kind",
            Invalid::new(
                "holder_region_mismatch",
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
                "region_mismatch",
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
                "nationality_mismatch",
                format!("a {} is for Chinese citizens", d.kind.code()),
            ),
        )),
        DocumentKind::HrpNonChinese if holder.nationality.is_chinese() => out.push((
            "kind",
            Invalid::new(
                "nationality_mismatch",
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
            "issued_in_future" | "booklet_after_void_date" => "issued_on",
            "status_conflict" => "status",
            _ => "expires_on",
        };
        out.push((col, e));
    }
    out
}

fn problem(row: u64, column: &str, code: &str, message: String) -> Problem {
    Problem {
        row,
        column: column.into(),
        code: code.into(),
        message,
    }
}

/// Imports one CSV file of the given kind.
pub async fn run(
    app: &App,
    kind: ImportKind,
    bytes: &[u8],
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        sha256: hex::encode(Sha256::digest(bytes)),
        ..Default::default()
    };
    let today = app.today();
    match kind {
        ImportKind::Offices => {
            let parsed = read_csv(bytes, kind, progress, parse_office);
            summary.rows = parsed.total;
            summary.problems = parsed.problems;
            let mut seen = HashMap::new();
            let mut good = Vec::new();
            for (n, o) in parsed.rows {
                if let Some(first) = seen.insert(o.code.clone(), n) {
                    summary.problems.push(problem(
                        n,
                        "code",
                        "duplicate_in_file",
                        format!("office {} is also on row {first}", o.code.as_str()),
                    ));
                } else {
                    good.push(o);
                }
            }
            if !proceed(&mut summary, opts) {
                return Ok(summary);
            }
            let mut tx = app.db.begin().await?;
            let c = offices::upsert(&mut tx, &good, app.now_micros()).await?;
            (summary.inserted, summary.updated, summary.unchanged) =
                (c.inserted, c.updated, c.unchanged);
            finish(app, tx, kind, opts, &mut summary).await?;
        }
        ImportKind::People => {
            let t = std::time::Instant::now();
            let parsed = read_csv(bytes, kind, progress, |r| parse_person(r, today));
            tracing::info!(
                rows = parsed.total,
                secs = t.elapsed().as_secs_f64(),
                "people validated"
            );
            summary.rows = parsed.total;
            summary.problems = parsed.problems;
            let t = std::time::Instant::now();
            let good = people_against_registry(app, parsed.rows, &mut summary, progress).await?;
            tracing::info!(
                secs = t.elapsed().as_secs_f64(),
                "people checked against the registry"
            );
            if !proceed(&mut summary, opts) {
                return Ok(summary);
            }
            progress.phase("writing", good.len() as u64);
            let mut tx = app.db.begin().await?;
            let now = app.now_micros();
            let t = std::time::Instant::now();
            for chunk in good.chunks(10_000) {
                summary.inserted += people::insert_new(&mut tx, chunk, now).await?;
                progress.inc(chunk.len() as u64);
            }
            finish(app, tx, kind, opts, &mut summary).await?;
            tracing::info!(secs = t.elapsed().as_secs_f64(), "people written");
        }
        ImportKind::Documents => {
            let office_codes: HashSet<String> = {
                let mut c = app.db.conn().await?;
                offices::all_codes(&mut c).await?.into_iter().collect()
            };
            let parsed = read_csv(bytes, kind, progress, |r| {
                parse_document_row(r, today, &office_codes)
            });
            summary.rows = parsed.total;
            summary.problems = parsed.problems;
            let good = documents_against_registry(app, parsed.rows, &mut summary, today).await?;
            if !proceed(&mut summary, opts) {
                return Ok(summary);
            }
            progress.phase("writing", good.len() as u64);
            let mut tx = app.db.begin().await?;
            let now = app.now_micros();
            for chunk in good.chunks(10_000) {
                summary.inserted += documents::insert_new(&mut tx, chunk, now).await?;
                progress.inc(chunk.len() as u64);
            }
            finish(app, tx, kind, opts, &mut summary).await?;
        }
        ImportKind::Endorsements => {
            let parsed = read_csv(bytes, kind, progress, parse_endorsement_row);
            summary.rows = parsed.total;
            summary.problems = parsed.problems;
            let good = endorsements_against_registry(app, parsed.rows, &mut summary).await?;
            if !proceed(&mut summary, opts) {
                return Ok(summary);
            }
            progress.phase("writing", good.len() as u64);
            let mut tx = app.db.begin().await?;
            let now = app.now_micros();
            for chunk in good.chunks(10_000) {
                summary.inserted +=
                    exitentry_storage::endorsements::insert_new(&mut tx, chunk, now).await?;
                progress.inc(chunk.len() as u64);
            }
            summary.unchanged = (good.len() as u64).saturating_sub(summary.inserted);
            finish(app, tx, kind, opts, &mut summary).await?;
        }
    }
    progress.finish();
    Ok(summary)
}

/// Decides whether to write: never with header problems, never with row problems unless
/// asked to skip them.
fn proceed(summary: &mut ImportSummary, opts: &ImportOptions) -> bool {
    summary
        .problems
        .sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    let header_broken = summary.problems.iter().any(|p| p.row == 0);
    let bad_rows: HashSet<u64> = summary.problems.iter().map(|p| p.row).collect();
    summary.skipped = bad_rows.len() as u64;
    if header_broken || (!summary.problems.is_empty() && !opts.skip_invalid) {
        return false;
    }
    true
}

async fn finish(
    app: &App,
    mut tx: exitentry_storage::Transaction,
    kind: ImportKind,
    opts: &ImportOptions,
    summary: &mut ImportSummary,
) -> Result<()> {
    let changed = summary.inserted + summary.updated;
    if changed > 0 {
        let entry = audit::AuditEntry {
            actor: opts.actor.clone(),
            action: format!("import.{}", kind.name()),
            subject: format!("registry:{}", kind.name()),
            before_ref: None,
            after_ref: Some(format!("file:sha256:{}", summary.sha256)),
            detail: String::new(),
        };
        let detail = json!({"rows": summary.rows, "inserted": summary.inserted, "updated": summary.updated,
                            "unchanged": summary.unchanged, "skipped": summary.skipped});
        audit::record_change(app, &mut tx, entry, detail).await?;
    }
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    summary.committed = changed > 0;
    Ok(())
}

async fn people_against_registry(
    app: &App,
    rows: Vec<(u64, PersonRecord)>,
    summary: &mut ImportSummary,
    progress: &dyn Progress,
) -> Result<Vec<PersonRecord>> {
    progress.phase("checking against the registry", rows.len() as u64);
    let mut by_ext: HashMap<&str, u64> = HashMap::new();
    let mut by_id: HashMap<(IdKind, &str), u64> = HashMap::new();
    let mut dup_rows = HashSet::new();
    for (n, p) in &rows {
        if let Some(first) = by_ext.insert(&p.external_id, *n) {
            summary.problems.push(problem(
                *n,
                "external_id",
                "duplicate_in_file",
                format!("external_id {} is also on row {first}", p.external_id),
            ));
            dup_rows.insert(*n);
        } else if let Some(first) = by_id.insert((p.id_kind, &p.id_number), *n) {
            summary.problems.push(problem(
                *n,
                "id_number",
                "duplicate_in_file",
                format!("this identity number is also on row {first}"),
            ));
            dup_rows.insert(*n);
        }
    }
    let mut conn = app.db.conn().await?;
    let mut existing: HashMap<String, PersonRecord> = HashMap::new();
    let mut owners: HashMap<(IdKind, String), String> = HashMap::new();
    for chunk in rows.chunks(5_000) {
        let ext: Vec<String> = chunk.iter().map(|(_, p)| p.external_id.clone()).collect();
        for s in people::by_external_ids(&mut conn, &ext).await? {
            existing.insert(s.person.external_id.clone(), s.person);
        }
        let ids: Vec<(IdKind, String)> = chunk
            .iter()
            .map(|(_, p)| (p.id_kind, p.id_number.clone()))
            .collect();
        for (k, n, owner) in people::find_identity_owners(&mut conn, &ids).await? {
            owners.insert((k, n), owner);
        }
        progress.inc(chunk.len() as u64);
    }
    let mut good = Vec::with_capacity(rows.len());
    for (n, p) in rows {
        if dup_rows.contains(&n) {
            continue;
        }
        if let Some(old) = existing.get(&p.external_id) {
            if *old == p {
                summary.unchanged += 1;
            } else {
                summary.problems.push(problem(
                    n,
                    "external_id",
                    "conflicts_with_registry",
                    format!(
                        "{} is already registered with different details",
                        p.external_id
                    ),
                ));
            }
            continue;
        }
        if let Some(owner) = owners.get(&(p.id_kind, p.id_number.clone())) {
            summary.problems.push(problem(
                n,
                "id_number",
                "identity_taken",
                format!("this identity number is registered to {owner}"),
            ));
            continue;
        }
        good.push(p);
    }
    Ok(good)
}

async fn documents_against_registry(
    app: &App,
    rows: Vec<(u64, DocRow)>,
    summary: &mut ImportSummary,
    today: NaiveDate,
) -> Result<Vec<DocumentRecord>> {
    let mut conn = app.db.conn().await?;
    let ext: Vec<String> = {
        let set: HashSet<&str> = rows
            .iter()
            .map(|(_, d)| d.person_external_id.as_str())
            .collect();
        set.into_iter().map(str::to_string).collect()
    };
    let holders: HashMap<String, StoredPerson> = people::by_external_ids(&mut conn, &ext)
        .await?
        .into_iter()
        .map(|p| (p.person.external_id.clone(), p))
        .collect();
    let numbers: Vec<String> = rows
        .iter()
        .map(|(_, d)| d.number.as_str().to_string())
        .collect();
    let mut existing: HashMap<(DocumentKind, String, Option<u8>), (DocumentRecord, String)> =
        HashMap::new();
    for (d, owner) in documents::find_existing(&mut conn, &numbers).await? {
        existing.insert(
            (d.doc.kind, d.doc.number.clone(), d.doc.issue_count),
            (d.doc, owner),
        );
    }
    let mut seen: HashMap<(DocumentKind, String, Option<u8>), u64> = HashMap::new();
    let mut good = Vec::new();
    for (n, d) in rows {
        let Some(holder) = holders.get(&d.person_external_id) else {
            summary.problems.push(problem(
                n,
                "person_external_id",
                "unknown_person",
                format!(
                    "no person {} in the registry; import people first",
                    d.person_external_id
                ),
            ));
            continue;
        };
        let issues = check_holder(app, &d, holder, today);
        if !issues.is_empty() {
            for (col, e) in issues {
                summary.problems.push(problem(n, col, e.code, e.message));
            }
            continue;
        }
        let key = (d.kind, d.number.as_str().to_string(), d.issue_count);
        if let Some(first) = seen.insert(key.clone(), n) {
            summary.problems.push(problem(
                n,
                "number",
                "duplicate_in_file",
                format!("this document is also on row {first}"),
            ));
            continue;
        }
        let record = DocumentRecord {
            person_id: holder.id,
            kind: d.kind,
            number: d.number.as_str().to_string(),
            issue_count: d.issue_count,
            issued_on: d.issued_on,
            expires_on: d.expires_on,
            // Expiry is derived from the date, so "expired" is stored as the plain state.
            status: if d.status == DocumentStatus::Expired {
                DocumentStatus::Valid
            } else {
                d.status
            },
            office_code: d.office_code,
        };
        if let Some((old, owner)) = existing.get(&key) {
            if *owner != d.person_external_id {
                summary.problems.push(problem(
                    n,
                    "number",
                    "number_taken",
                    format!("document {} belongs to {owner}", d.number.as_str()),
                ));
            } else if *old == record {
                summary.unchanged += 1;
            } else {
                summary.problems.push(problem(
                    n,
                    "number",
                    "conflicts_with_registry",
                    format!(
                        "document {} is already registered with different details",
                        d.number.as_str()
                    ),
                ));
            }
            continue;
        }
        good.push(record);
    }
    Ok(good)
}
