//! Importing an existing registry from CSV: offices, people, documents.
//!
//! Every row is validated and checked. With problems, nothing is written unless
//! `skip_invalid` is set; then the valid rows go in. Either way the whole import is one
//! transaction with one audit entry, and re-importing the same file changes nothing. The file
//! streams through: a thread reads and validates it a few thousand rows at a time while the
//! import checks and writes the rows before it, so memory does not grow with the file.

mod rows;
mod run;
mod seen;

use crate::ErrorCode;
pub use run::*;

use exitentry_domain::Invalid;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

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

/// Progress reporting (a terminal bar in the CLI, nothing in tests), in bytes of the file.
pub trait Progress {
    fn inc(&self, _bytes: u64) {}
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

/// Rows read per chunk handed from the reading thread to the import.
const CHUNK_ROWS: usize = 5_000;
/// Chunks read ahead of the import: enough to keep both sides busy, few enough to bound memory.
const CHUNKS_AHEAD: usize = 2;

/// A run of rows from the file: those that parsed, with their row numbers, and the problems
/// of those that did not.
pub(super) struct Chunk<T> {
    pub(super) rows: Vec<(u64, T)>,
    pub(super) problems: Vec<Problem>,
    /// Records read, valid or not.
    pub(super) read: u64,
    /// Bytes of the file this chunk covers.
    pub(super) bytes: u64,
}

/// A file being read and validated on its own thread.
pub(super) struct Stream<T> {
    chunks: mpsc::Receiver<Chunk<T>>,
    reader: JoinHandle<String>,
}

impl<T> Stream<T> {
    pub(super) async fn next(&mut self) -> Option<Chunk<T>> {
        self.chunks.recv().await
    }

    /// The SHA-256 of the whole file, once every chunk has been taken.
    pub(super) async fn sha256(self) -> crate::Result<String> {
        drop(self.chunks);
        self.reader
            .await
            .map_err(|e| crate::ServiceError::Internal(format!("import reader failed: {e}")))
    }
}

/// Starts reading `input` as a CSV file of `kind` on a blocking thread: the header is checked,
/// then each record goes to `parse`. With a broken header only its problems come through.
pub(super) fn read_csv<T: Send + 'static>(
    input: Box<dyn Read + Send>,
    kind: ImportKind,
    parse: impl FnMut(&mut Row) -> Option<T> + Send + 'static,
) -> Stream<T> {
    let (tx, chunks) = mpsc::channel(CHUNKS_AHEAD);
    let reader = tokio::task::spawn_blocking(move || read_blocking(input, kind, parse, tx));
    Stream { chunks, reader }
}

/// Hashes every byte that passes through, so the audit names the exact file.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

fn read_blocking<T>(
    input: Box<dyn Read + Send>,
    kind: ImportKind,
    mut parse: impl FnMut(&mut Row) -> Option<T>,
    tx: mpsc::Sender<Chunk<T>>,
) -> String {
    let mut file = BufReader::with_capacity(
        1 << 16,
        Hashing {
            inner: input,
            sha: Sha256::new(),
        },
    );
    if file
        .fill_buf()
        .is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"))
    {
        file.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(file);
    let cols = header_columns(&mut reader);
    let mut chunk = Chunk {
        rows: Vec::new(),
        problems: header_problems(&mut reader, &cols, kind),
        read: 0,
        bytes: 0,
    };
    // With a broken header no row is read: its problems alone come through.
    let mut sent_to = 0u64;
    if chunk.problems.is_empty() {
        match read_rows(&mut reader, &cols, &mut parse, &tx, chunk) {
            Some((rest, at)) => (chunk, sent_to) = (rest, at),
            None => return String::new(), // the import stopped taking rows
        }
    }
    chunk.bytes = reader.position().byte() - sent_to;
    let _ = tx.blocking_send(chunk);
    // The rest of a file cut short by a broken record still counts in its hash.
    let mut file = reader.into_inner();
    let _ = std::io::copy(&mut file, &mut std::io::sink());
    hex::encode(file.into_inner().sha.finalize())
}

/// Reads the records after the header, sending full chunks as they fill; the last, partial
/// chunk and how far the sent ones reached in bytes come back. `None` when the import stopped
/// taking chunks.
fn read_rows<T, R: Read>(
    reader: &mut csv::Reader<R>,
    cols: &HashMap<String, usize>,
    parse: &mut impl FnMut(&mut Row) -> Option<T>,
    tx: &mpsc::Sender<Chunk<T>>,
    mut chunk: Chunk<T>,
) -> Option<(Chunk<T>, u64)> {
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    let mut sent_to = 0u64;
    loop {
        n += 1;
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                chunk.read += 1;
                let mut row = Row {
                    n,
                    rec: &rec,
                    cols,
                    problems: Vec::new(),
                };
                let parsed = parse(&mut row);
                if row.problems.is_empty() {
                    if let Some(v) = parsed {
                        chunk.rows.push((n, v));
                    }
                } else {
                    chunk.problems.append(&mut row.problems);
                }
            }
            Err(e) => {
                chunk.read += 1;
                let code = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => ErrorCode::BadEncoding,
                    csv::ErrorKind::UnequalLengths { .. } => ErrorCode::BadRowLength,
                    _ => ErrorCode::BadRow,
                };
                chunk.problems.push(Problem {
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
        if chunk.read as usize >= CHUNK_ROWS {
            let at = reader.position().byte();
            chunk.bytes = at - sent_to;
            sent_to = at;
            let next = Chunk {
                rows: Vec::with_capacity(CHUNK_ROWS),
                problems: Vec::new(),
                read: 0,
                bytes: 0,
            };
            tx.blocking_send(std::mem::replace(&mut chunk, next)).ok()?;
        }
    }
    Some((chunk, sent_to))
}

/// The columns by name, as the header row gives them.
fn header_columns<R: Read>(reader: &mut csv::Reader<R>) -> HashMap<String, usize> {
    reader
        .headers()
        .map(|h| {
            h.iter()
                .enumerate()
                .map(|(i, h)| (h.trim().to_string(), i))
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with the header row: unreadable, a required column missing, an unknown one.
fn header_problems<R: Read>(
    reader: &mut csv::Reader<R>,
    cols: &HashMap<String, usize>,
    kind: ImportKind,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(e) = reader.headers() {
        problems.push(Problem {
            row: 0,
            column: String::new(),
            code: ErrorCode::BadHeader.to_string(),
            message: format!("cannot read the header row: {e}"),
        });
        return problems;
    }
    for c in kind.columns() {
        if !cols.contains_key(*c) {
            problems.push(Problem {
                row: 0,
                column: (*c).to_string(),
                code: ErrorCode::MissingColumn.to_string(),
                message: format!("the header has no column {c}"),
            });
        }
    }
    for h in cols.keys() {
        if !kind.columns().contains(&h.as_str()) && !kind.optional_columns().contains(&h.as_str()) {
            problems.push(Problem {
                row: 0,
                column: h.clone(),
                code: ErrorCode::UnknownColumn.to_string(),
                message: format!("column {h} is not part of the {} format", kind.name()),
            });
        }
    }
    problems
}
