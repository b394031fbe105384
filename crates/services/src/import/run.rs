//! Running an import: all or nothing, checked against the registry, in batches.

use super::rows::*;
use super::seen::Seen;
use super::*;
use crate::{App, Result, audit};
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::IdKind;
use exitentry_domain::numbers::DocumentKind;
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::people::{self, Holder, PersonRecord};
use exitentry_storage::{AnyConnection, Tx, offices};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// Imports one CSV file of the given kind, read from `input`.
pub async fn run(
    app: &App,
    kind: ImportKind,
    input: impl Read + Send + 'static,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary> {
    let input: Box<dyn Read + Send> = Box::new(input);
    let mut summary = ImportSummary::default();
    let today = app.today();
    match kind {
        ImportKind::Offices => {
            let stream = read_csv(input, kind, parse_office);
            let rows = collect(stream, &mut summary, progress).await?;
            let mut seen = HashMap::new();
            let mut good = Vec::new();
            for (n, o) in rows {
                if let Some(first) = seen.insert(o.code.clone(), n) {
                    summary.problems.push(problem(
                        n,
                        "code",
                        ErrorCode::DuplicateInFile,
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
            let stream = read_csv(input, kind, move |r| parse_person(r, today));
            import_people(app, stream, opts, &mut summary, progress).await?;
        }
        ImportKind::Documents => {
            let office_codes: HashSet<String> = {
                let mut c = app.db.conn().await?;
                offices::all_codes(&mut c).await?.into_iter().collect()
            };
            let stream = read_csv(input, kind, move |r| {
                parse_document_row(r, today, &office_codes)
            });
            import_documents(app, stream, opts, &mut summary, progress).await?;
        }
        ImportKind::Endorsements => {
            let stream = read_csv(input, kind, parse_endorsement_row);
            let rows = collect(stream, &mut summary, progress).await?;
            let good = endorsements_against_registry(app, rows, &mut summary).await?;
            if !proceed(&mut summary, opts) {
                return Ok(summary);
            }
            let mut tx = app.db.begin().await?;
            let insert = exitentry_storage::endorsements::insert_new;
            summary.inserted = insert(&mut tx, &good, app.now_micros()).await?;
            summary.unchanged = (good.len() as u64).saturating_sub(summary.inserted);
            finish(app, tx, kind, opts, &mut summary).await?;
        }
    }
    progress.finish();
    Ok(summary)
}

/// Takes a chunk's count and problems into the summary; its rows are the caller's.
fn tally<T>(summary: &mut ImportSummary, chunk: &mut Chunk<T>, progress: &dyn Progress) {
    summary.rows += chunk.read;
    summary.problems.append(&mut chunk.problems);
    progress.inc(chunk.bytes);
}

/// All rows of a small file (offices, endorsements), for checks that need them together.
async fn collect<T>(
    mut stream: Stream<T>,
    summary: &mut ImportSummary,
    progress: &dyn Progress,
) -> Result<Vec<(u64, T)>> {
    let mut rows = Vec::new();
    while let Some(mut chunk) = stream.next().await {
        tally(summary, &mut chunk, progress);
        rows.append(&mut chunk.rows);
    }
    summary.sha256 = stream.sha256().await?;
    Ok(rows)
}

/// Whether the rows checked so far may still be written: once a problem means nothing will
/// be committed, the rest of the file is only checked.
fn writing(summary: &ImportSummary, opts: &ImportOptions) -> bool {
    opts.skip_invalid || summary.problems.is_empty()
}

/// People are checked and written chunk by chunk in one transaction, committed only when the
/// whole file allows it.
async fn import_people(
    app: &App,
    mut stream: Stream<PersonRecord>,
    opts: &ImportOptions,
    summary: &mut ImportSummary,
    progress: &dyn Progress,
) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let mut checks = PeopleChecks {
        empty_registry: people::none(&mut tx).await?,
        ..Default::default()
    };
    let now = app.now_micros();
    while let Some(mut chunk) = stream.next().await {
        tally(summary, &mut chunk, progress);
        let good = checks
            .against_registry(&mut tx, chunk.rows, summary)
            .await?;
        if writing(summary, opts) {
            summary.inserted += people::insert_all_new(&mut tx, &good, now).await?;
        }
    }
    summary.sha256 = stream.sha256().await?;
    conclude(app, tx, ImportKind::People, opts, summary).await
}

/// Documents, like people, chunk by chunk in one transaction.
async fn import_documents(
    app: &App,
    mut stream: Stream<DocRow>,
    opts: &ImportOptions,
    summary: &mut ImportSummary,
    progress: &dyn Progress,
) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let mut checks = DocumentChecks {
        empty_registry: documents::none(&mut tx).await?,
        today: app.today(),
        seen: Seen::default(),
    };
    let now = app.now_micros();
    while let Some(mut chunk) = stream.next().await {
        tally(summary, &mut chunk, progress);
        let found = checks.read(&mut tx, &chunk.rows).await?;
        let good = checks.judge(app, chunk.rows, found, summary);
        if writing(summary, opts) {
            summary.inserted += documents::insert_all_new(&mut tx, &good, now).await?;
        }
    }
    summary.sha256 = stream.sha256().await?;
    conclude(app, tx, ImportKind::Documents, opts, summary).await
}

/// Commits what was written when the file allows it, else rolls all of it back.
async fn conclude(
    app: &App,
    tx: Tx,
    kind: ImportKind,
    opts: &ImportOptions,
    summary: &mut ImportSummary,
) -> Result<()> {
    if proceed(summary, opts) {
        finish(app, tx, kind, opts, summary).await
    } else {
        tx.rollback().await?;
        summary.inserted = 0;
        Ok(())
    }
}

/// A row the registry already holds: unchanged when `same`, else a conflict to report at
/// `(row, column)`.
fn already_registered(
    summary: &mut ImportSummary,
    (row, column): (u64, &str),
    what: &str,
    same: bool,
) {
    if same {
        summary.unchanged += 1;
    } else {
        let message = format!("{what} is already registered with different details");
        summary.problems.push(problem(
            row,
            column,
            ErrorCode::ConflictsWithRegistry,
            message,
        ));
    }
}

/// Decides whether to write: never with header problems, never with row problems unless
/// asked to skip them.
pub(super) fn proceed(summary: &mut ImportSummary, opts: &ImportOptions) -> bool {
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

pub(super) async fn finish(
    app: &App,
    mut tx: Tx,
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
    tx.commit().await?;
    summary.committed = changed > 0;
    Ok(())
}

/// What the people of a file are checked against: the file's own earlier rows, and the
/// registry unless it was empty when the import began.
#[derive(Default)]
struct PeopleChecks {
    empty_registry: bool,
    external_ids: Seen,
    identities: Seen,
}

impl PeopleChecks {
    async fn against_registry(
        &mut self,
        conn: &mut AnyConnection,
        rows: Vec<(u64, PersonRecord)>,
        summary: &mut ImportSummary,
    ) -> Result<Vec<PersonRecord>> {
        let mut unique = Vec::with_capacity(rows.len());
        for (n, p) in rows {
            if let Some(first) = self
                .external_ids
                .first_or_insert(p.external_id.as_bytes(), n)
            {
                summary.problems.push(problem(
                    n,
                    "external_id",
                    ErrorCode::DuplicateInFile,
                    format!("external_id {} is also on row {first}", p.external_id),
                ));
            } else if let Some(first) = self
                .identities
                .first_or_insert(&identity_key(p.id_kind, &p.id_number), n)
            {
                summary.problems.push(problem(
                    n,
                    "id_number",
                    ErrorCode::DuplicateInFile,
                    format!("this identity number is also on row {first}"),
                ));
            } else {
                unique.push((n, p));
            }
        }
        // Rows of this file written earlier in the transaction are all in `Seen`, so the
        // registry can only answer for what it held before.
        if self.empty_registry {
            return Ok(unique.into_iter().map(|(_, p)| p).collect());
        }
        let ext: Vec<String> = unique.iter().map(|(_, p)| p.external_id.clone()).collect();
        let existing: HashMap<String, PersonRecord> = people::by_external_ids(conn, &ext)
            .await?
            .into_iter()
            .map(|s| (s.person.external_id.clone(), s.person))
            .collect();
        let ids: Vec<(IdKind, String)> = unique
            .iter()
            .map(|(_, p)| (p.id_kind, p.id_number.clone()))
            .collect();
        let owners: HashMap<(IdKind, String), String> = people::find_identity_owners(conn, &ids)
            .await?
            .into_iter()
            .map(|(k, n, owner)| ((k, n), owner))
            .collect();
        let mut good = Vec::with_capacity(unique.len());
        for (n, p) in unique {
            if let Some(old) = existing.get(&p.external_id) {
                already_registered(summary, (n, "external_id"), &p.external_id, old == &p);
                continue;
            }
            if let Some(owner) = owners.get(&(p.id_kind, p.id_number.clone())) {
                summary.problems.push(problem(
                    n,
                    "id_number",
                    ErrorCode::IdentityTaken,
                    format!("this identity number is registered to {owner}"),
                ));
                continue;
            }
            good.push(p);
        }
        Ok(good)
    }
}

/// The kind as one byte before the number.
fn identity_key(kind: IdKind, number: &str) -> Vec<u8> {
    [&[kind as u8], number.as_bytes()].concat()
}

/// What the documents of a file are checked against: their holders, the file's own earlier
/// rows, and the registry unless it held no document when the import began.
struct DocumentChecks {
    empty_registry: bool,
    today: NaiveDate,
    seen: Seen,
}

type DocKey = (DocumentKind, String, Option<u8>);

/// What the registry holds for a chunk of documents: their holders and, unless it held no
/// document when the import began, the documents under the same numbers.
struct Found {
    holders: HashMap<String, Holder>,
    existing: HashMap<DocKey, (DocumentRecord, String)>,
}

impl DocumentChecks {
    /// Reads what the registry holds for the chunk's rows.
    async fn read(&self, conn: &mut AnyConnection, rows: &[(u64, DocRow)]) -> Result<Found> {
        let ext: Vec<&str> = {
            let set: HashSet<&str> = rows
                .iter()
                .map(|(_, d)| d.person_external_id.as_str())
                .collect();
            set.into_iter().collect()
        };
        let holders = people::holders(conn, &ext)
            .await?
            .into_iter()
            .map(|h| (h.external_id.clone(), h))
            .collect();
        let mut existing = HashMap::new();
        if !self.empty_registry {
            let numbers: Vec<String> = rows
                .iter()
                .map(|(_, d)| d.number.as_str().to_string())
                .collect();
            for (d, owner) in documents::find_existing(conn, &numbers).await? {
                existing.insert(
                    (d.doc.kind, d.doc.number.clone(), d.doc.issue_count),
                    (d.doc, owner),
                );
            }
        }
        Ok(Found { holders, existing })
    }

    /// The rows that may be written; the problems of the others go to the summary.
    fn judge(
        &mut self,
        app: &App,
        rows: Vec<(u64, DocRow)>,
        found: Found,
        summary: &mut ImportSummary,
    ) -> Vec<DocumentRecord> {
        let Found { holders, existing } = found;
        let mut good = Vec::with_capacity(rows.len());
        for (n, d) in rows {
            let Some(holder) = holders.get(&d.person_external_id) else {
                summary.problems.push(problem(
                    n,
                    "person_external_id",
                    ErrorCode::UnknownPerson,
                    format!(
                        "no person {} in the registry; import people first",
                        d.person_external_id
                    ),
                ));
                continue;
            };
            let issues = check_holder(app, &d, holder, self.today);
            if !issues.is_empty() {
                for (col, e) in issues {
                    summary.problems.push(problem(n, col, e.code, e.message));
                }
                continue;
            }
            let key: DocKey = (d.kind, d.number.as_str().to_string(), d.issue_count);
            if let Some(first) = self.seen.first_or_insert(&document_key(&key), n) {
                summary.problems.push(problem(
                    n,
                    "number",
                    ErrorCode::DuplicateInFile,
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
                        ErrorCode::NumberTaken,
                        format!("document {} belongs to {owner}", d.number.as_str()),
                    ));
                } else {
                    let what = format!("document {}", d.number.as_str());
                    already_registered(summary, (n, "number"), &what, old == &record);
                }
                continue;
            }
            good.push(record);
        }
        good
    }
}

fn document_key((kind, number, issue_count): &DocKey) -> Vec<u8> {
    let (has_count, count) = issue_count.map_or((0, 0), |c| (1, c));
    [&[*kind as u8, has_count, count], number.as_bytes()].concat()
}
