//! Importing an existing registry from CSV: offices, people, documents.
//!
//! Every row is validated before anything is written. With problems, nothing is written
//! unless `skip_invalid` is set; then the valid rows go in. Either way the whole import is
//! one transaction with one audit entry, and re-importing the same file changes nothing.

mod rows;
mod run;

use crate::ErrorCode;
pub use run::*;

use exitentry_domain::Invalid;
use serde::Serialize;
use std::collections::HashMap;

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
            ImportKind::Offices => &[
                "address_zh_hant",
                "address_en",
                "opening_hours",
                "services",
                "calendar",
            ],
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
pub(super) struct Row<'a> {
    pub(super) n: u64,
    pub(super) rec: &'a csv::StringRecord,
    pub(super) cols: &'a HashMap<String, usize>,
    pub(super) problems: Vec<Problem>,
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
                Invalid::new(ErrorCode::MissingValue, format!("{col} is required")),
            );
            None
        } else if v.chars().any(char::is_control) {
            self.add(
                col,
                Invalid::new(
                    ErrorCode::BadValue,
                    format!("{col} contains control characters"),
                ),
            );
            None
        } else {
            Some(v)
        }
    }
}

pub(super) struct Parsed<T> {
    pub(super) rows: Vec<(u64, T)>,
    pub(super) problems: Vec<Problem>,
    pub(super) total: u64,
}

/// Reads the CSV, checks the header, and hands each record to `parse`.
pub(super) fn read_csv<T>(
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
                code: ErrorCode::BadHeader.to_string(),
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
                code: ErrorCode::MissingColumn.to_string(),
                message: format!("the header has no column {c}"),
            });
        }
    }
    for h in cols.keys() {
        if !kind.columns().contains(&h.as_str()) && !kind.optional_columns().contains(&h.as_str()) {
            out.problems.push(Problem {
                row: 0,
                column: h.clone(),
                code: ErrorCode::UnknownColumn.to_string(),
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
                    csv::ErrorKind::Utf8 { .. } => ErrorCode::BadEncoding,
                    csv::ErrorKind::UnequalLengths { .. } => ErrorCode::BadRowLength,
                    _ => ErrorCode::BadRow,
                };
                out.problems.push(Problem {
                    row: n,
                    column: String::new(),
                    code: code.to_string(),
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
