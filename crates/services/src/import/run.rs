//! Running an import: all or nothing, checked against the registry, in batches.

use super::rows::*;
use super::*;
use crate::{App, Result, audit};
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::IdKind;
use exitentry_domain::numbers::DocumentKind;
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::people::{self, PersonRecord, StoredPerson};
use exitentry_storage::{AnyConnection, Result as StorageResult, Tx, offices};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

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
            let t = std::time::Instant::now();
            let tx = write(app, &good, &mut summary, progress, people::insert_new).await?;
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
            let tx = write(app, &good, &mut summary, progress, documents::insert_new).await?;
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
            let insert = exitentry_storage::endorsements::insert_new;
            let tx = write(app, &good, &mut summary, progress, insert).await?;
            summary.unchanged = (good.len() as u64).saturating_sub(summary.inserted);
            finish(app, tx, kind, opts, &mut summary).await?;
        }
    }
    progress.finish();
    Ok(summary)
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

/// Inserts the rows that passed in batches of ten thousand, in the transaction [`finish`]
/// then commits.
async fn write<T>(
    app: &App,
    good: &[T],
    summary: &mut ImportSummary,
    progress: &dyn Progress,
    insert: impl AsyncFn(&mut AnyConnection, &[T], i64) -> StorageResult<u64>,
) -> Result<Tx> {
    progress.phase("writing", good.len() as u64);
    let mut tx = app.db.begin().await?;
    let now = app.now_micros();
    for chunk in good.chunks(10_000) {
        summary.inserted += insert(&mut tx, chunk, now).await?;
        progress.inc(chunk.len() as u64);
    }
    Ok(tx)
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

pub(super) async fn people_against_registry(
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
                ErrorCode::DuplicateInFile,
                format!("external_id {} is also on row {first}", p.external_id),
            ));
            dup_rows.insert(*n);
        } else if let Some(first) = by_id.insert((p.id_kind, &p.id_number), *n) {
            summary.problems.push(problem(
                *n,
                "id_number",
                ErrorCode::DuplicateInFile,
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

pub(super) async fn documents_against_registry(
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
                ErrorCode::UnknownPerson,
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
    Ok(good)
}
