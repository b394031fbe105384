//! The officer's registry search and person view.

use crate::auth::StaffSession;
use crate::input::RequiredText;
use crate::records;
use crate::{App, Result, ServiceError};
use crate::{AtField, ErrorCode};
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::{IdKind, IdentityNumber};
use exitentry_domain::numbers::{DocumentKind, DocumentNumber, kinds_matching};
use exitentry_domain::staff::Permission;
use exitentry_storage::documents::{self, StoredDocument};
use exitentry_storage::people::{self, StoredPerson};

/// A person as an officer sees them: identity number masked.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub id: i64,
    pub name_zh: Option<String>,
    pub name_latin: String,
    pub sex: &'static str,
    pub date_of_birth: NaiveDate,
    pub region: &'static str,
    pub nationality: String,
    pub id_kind: &'static str,
    pub id_masked: String,
    /// Mainland residents: where the household registration is (6-digit division code).
    pub hukou_area: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DocumentView {
    pub kind: DocumentKind,
    pub number: String,
    pub issue_count: Option<u8>,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// Effective today (expiry derived from the date).
    pub status: DocumentStatus,
    pub office_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub person: PersonView,
    /// What matched: a document kind code, or `identity`.
    pub matched: String,
}

fn mask(p: &StoredPerson) -> String {
    // Stored numbers are canonical; re-parsing only fails on corrupt rows, masked fully then.
    let far_future = NaiveDate::MAX;
    IdentityNumber::parse(p.person.id_kind, &p.person.id_number, far_future)
        .map(|n| n.masked())
        .unwrap_or_else(|_| "*".repeat(p.person.id_number.len()))
}

fn person_view(p: &StoredPerson) -> PersonView {
    PersonView {
        id: p.id,
        name_zh: p.person.names.zh.clone(),
        name_latin: p.person.names.latin.clone(),
        sex: p.person.sex.code(),
        date_of_birth: p.person.date_of_birth,
        region: p.person.region.code(),
        nationality: p.person.nationality.code().to_string(),
        id_kind: p.person.id_kind.code(),
        id_masked: mask(p),
        hukou_area: p.person.hukou_area.clone(),
    }
}

pub(crate) fn document_view(app: &App, d: &StoredDocument, today: NaiveDate) -> DocumentView {
    DocumentView {
        kind: d.doc.kind,
        number: d.doc.number.clone(),
        issue_count: d.doc.issue_count,
        issued_on: d.doc.issued_on,
        expires_on: d.doc.expires_on,
        status: app.document_status(&d.doc, today),
        office_code: d.doc.office_code.clone(),
    }
}

/// Finds people by a document number or an identity number, in whatever form the officer
/// typed it (spaces, brackets, lower case).
pub async fn search(app: &App, who: &StaffSession, query: &str) -> Result<Vec<SearchHit>> {
    who.require(Permission::SearchRegistry)?;
    let q: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    // Control characters (NUL above all) are never part of a number, and PostgreSQL rejects
    // NUL in text outright.
    if q.is_empty() || q.len() > 40 || q.chars().any(char::is_control) {
        return Err(ServiceError::bad_input(
            "q",
            ErrorCode::BadQuery,
            "type a document or identity number",
        ));
    }
    let mut candidates: Vec<(String, String)> = Vec::new();
    for kind in kinds_matching(&q) {
        if let Ok(n) = DocumentNumber::parse(kind, &q, NaiveDate::MAX) {
            candidates.push((n.as_str().to_string(), kind.code().to_string()));
        }
    }
    let mut ids: Vec<String> = IdKind::ALL
        .into_iter()
        .filter_map(|k| IdentityNumber::parse(k, &q, NaiveDate::MAX).ok())
        .map(|n| n.as_str().to_string())
        .collect();
    // Loose fallback: the raw upper-cased text, for numbers typed in an unexpected form.
    ids.push(q.to_ascii_uppercase());
    ids.sort();
    ids.dedup();

    let mut conn = app.db.conn().await?;
    let mut hits: Vec<SearchHit> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    candidates.sort();
    candidates.dedup_by(|a, b| a.0 == b.0);
    for (number, _) in &candidates {
        for (d, p) in documents::by_number(&mut conn, number).await? {
            if seen.insert(p.id) {
                hits.push(SearchHit {
                    person: person_view(&p),
                    matched: d.doc.kind.code().into(),
                });
            }
        }
    }
    for id in &ids {
        for p in people::by_id_number(&mut conn, id).await? {
            if seen.insert(p.id) {
                hits.push(SearchHit {
                    person: person_view(&p),
                    matched: "identity".into(),
                });
            }
        }
    }
    tracing::info!(officer = %who.username, hits = hits.len(), "registry search");
    Ok(hits)
}

/// A person's page: their details and every document, newest first.
pub async fn person(
    app: &App,
    who: &StaffSession,
    id: i64,
) -> Result<(PersonView, Vec<DocumentView>)> {
    who.require(Permission::SearchRegistry)?;
    let mut conn = app.db.conn().await?;
    let p = records::person(&mut conn, id).await?;
    let today = app.today();
    let docs = documents::for_person(&mut conn, id)
        .await?
        .iter()
        .map(|d| document_view(app, d, today))
        .collect();
    Ok((person_view(&p), docs))
}

/// Why a person's household registration area is recorded.
const HUKOU_REASON: RequiredText = RequiredText {
    field: "reason",
    max: 200,
    code: ErrorCode::HukouReasonRequired,
    message: "say why (at most 200 characters)",
};

/// Records where a mainland resident's household registration is now (the officer saw the
/// hukou booklet), with the reason; audited with the value before and after.
pub async fn set_hukou_area(
    app: &App,
    who: &StaffSession,
    person_id: i64,
    area: &str,
    reason: &str,
) -> Result<()> {
    who.require(Permission::RecordHukou)?;
    let area = exitentry_domain::person::HukouArea::parse(area).at_field("hukou_area")?;
    let reason = HUKOU_REASON.check(reason)?;
    let mut tx = app.db.begin().await?;
    let p = records::person(&mut tx, person_id).await?;
    if p.person.region != exitentry_domain::person::Region::Mainland {
        return Err(ServiceError::bad_input(
            "hukou_area",
            ErrorCode::HukouNotMainland,
            "only mainland residents have a household registration here",
        ));
    }
    let before = people::set_hukou_area(&mut tx, person_id, area.as_str(), app.now_micros())
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    crate::audit::record(
        app,
        &mut tx,
        &who.actor(),
        "person.hukou_area",
        &format!("person:{}", p.person.external_id),
        serde_json::json!({"before": before, "after": area.as_str(), "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Registry totals for the home page and readiness output.
pub async fn totals(app: &App) -> Result<(i64, i64)> {
    let mut conn = app.db.conn().await?;
    Ok((
        people::count(&mut conn).await?,
        documents::count(&mut conn).await?,
    ))
}
