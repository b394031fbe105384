//! Linkage proofs: a signed credential (kind `linkage_proof`) stating that a travel permit
//! (HRP or TWP) and a residence permit belong to the same holder. Online for a signed-in
//! holder; on paper at the counter of an office of county level or above.

use crate::auth::StaffSession;
use crate::credentials::Draft;
use crate::holders::HolderSession;
use crate::records;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, Duration, Utc};
use exitentry_credentials::CredentialKind;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::office::{OfficeCode, Service};
use exitentry_domain::partners::regions_agree;
use exitentry_domain::staff::Permission;
use exitentry_domain::states::LinkageProofState;
use exitentry_domain::temporary_permit::{end_of_day, name_matches};
use exitentry_storage::documents::{self, StoredDocument};
use exitentry_storage::linkage_proofs::{self as store, ProofRecord};
use exitentry_storage::people::StoredPerson;
use exitentry_storage::{from_micros, temporary_permits};
use serde_json::json;

/// A proof as the holder or the clerk sees it.
#[derive(Debug, Clone)]
pub struct ProofView {
    pub id: String,
    pub payload: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub holder_name: String,
    pub travel_document_kind: String,
    pub travel_document_number: String,
    pub residence_permit_number: String,
    pub channel: String,
    pub office_code: Option<String>,
    pub status: LinkageProofState,
}

const TRAVEL_KINDS: [DocumentKind; 3] = [
    DocumentKind::Hrp,
    DocumentKind::HrpNonChinese,
    DocumentKind::Twp,
];

fn valid_now(app: &App, d: &StoredDocument) -> bool {
    app.document_status(&d.doc, app.today()) == DocumentStatus::Valid
}

fn number_of(app: &App, d: &StoredDocument) -> Result<DocumentNumber> {
    DocumentNumber::parse(d.doc.kind, &d.doc.number, app.today())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The holder's own proof: their newest valid travel permit and residence permit.
pub async fn issue_online(app: &App, holder: &HolderSession) -> Result<ProofView> {
    let mut conn = app.db.conn().await?;
    let person = records::person(&mut conn, holder.person_id).await?;
    let docs = documents::for_person(&mut conn, holder.person_id).await?;
    drop(conn);
    // `for_person` lists the newest first.
    let travel = docs
        .iter()
        .find(|d| TRAVEL_KINDS.contains(&d.doc.kind) && valid_now(app, d))
        .ok_or_else(|| {
            ServiceError::conflict(
                ErrorCode::NoValidTravelDocument,
                "no valid home return permit or Taiwan residents' permit",
            )
        })?;
    let rp = docs
        .iter()
        .find(|d| d.doc.kind == DocumentKind::ResidencePermit && valid_now(app, d))
        .ok_or_else(|| {
            ServiceError::conflict(
                ErrorCode::NoValidResidencePermit,
                "no valid residence permit",
            )
        })?;
    if !regions_agree(&number_of(app, travel)?, &number_of(app, rp)?) {
        return Err(ServiceError::conflict(
            ErrorCode::RegionMismatch,
            "the residence permit's region does not match the travel permit",
        ));
    }
    issue(app, &person, travel, rp, "online", None, &holder.actor()).await
}

/// What the clerk types from the documents the holder presents.
#[derive(Debug, Clone)]
pub struct PaperRequest {
    pub travel_document_kind: String,
    pub travel_document_number: String,
    pub residence_permit_number: String,
    pub name: String,
}

/// A paper proof printed at the counter: only at public-security offices of county level or
/// above that offer the service (a self-service point or a CTS centre in Hong Kong prints
/// none).
pub async fn issue_paper(app: &App, who: &StaffSession, q: &PaperRequest) -> Result<ProofView> {
    who.require(Permission::PrintLinkageProofs)?;
    let code = who.office_code.as_deref().ok_or_else(|| {
        ServiceError::conflict(
            ErrorCode::NoOffice,
            "your account is not attached to an office",
        )
    })?;
    let code = OfficeCode::parse(code).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut conn = app.db.conn().await?;
    let office = records::office(&mut conn, &code).await?;
    if !office.level.county_or_above() {
        return Err(ServiceError::conflict(
            ErrorCode::OfficeLevelTooLow,
            "paper linkage proofs are printed at offices of county level or above",
        ));
    }
    if !office.services.contains(&Service::LinkageProofPaper) {
        return Err(ServiceError::conflict(
            ErrorCode::ServiceNotOffered,
            "this office does not print paper linkage proofs",
        ));
    }
    let kind = DocumentKind::parse(&q.travel_document_kind).at_field("travel_document_kind")?;
    if !TRAVEL_KINDS.contains(&kind) {
        return Err(ServiceError::bad_input(
            "travel_document_kind",
            ErrorCode::KindNotLinkable,
            "linkage is between an HRP or TWP and a residence permit",
        ));
    }
    let travel = DocumentNumber::parse(kind, &q.travel_document_number, app.today())
        .at_field("travel_document_number")?;
    let rp = DocumentNumber::parse(
        DocumentKind::ResidencePermit,
        &q.residence_permit_number,
        app.today(),
    )
    .at_field("residence_permit_number")?;
    let pick = |rows: Vec<(StoredDocument, StoredPerson)>, kind: DocumentKind| {
        rows.into_iter()
            .filter(|(d, p)| d.doc.kind == kind && name_matches(&q.name, &p.person.names))
            .max_by_key(|(d, _)| (d.doc.issued_on, d.doc.issue_count))
    };
    let t = pick(
        documents::by_number(&mut conn, travel.as_str()).await?,
        kind,
    );
    let r = pick(
        documents::by_number(&mut conn, rp.as_str()).await?,
        DocumentKind::ResidencePermit,
    );
    drop(conn);
    let (Some((t, person)), Some((r, rp_holder))) = (t, r) else {
        return Err(ServiceError::conflict(
            ErrorCode::NoMatch,
            "no documents with these numbers for this name",
        ));
    };
    if person.id != rp_holder.id {
        return Err(ServiceError::conflict(
            ErrorCode::DifferentHolders,
            "the two documents belong to different people",
        ));
    }
    if !regions_agree(&travel, &rp) {
        return Err(ServiceError::conflict(
            ErrorCode::RegionMismatch,
            "the residence permit's region does not match the travel permit",
        ));
    }
    if !valid_now(app, &t) {
        return Err(ServiceError::conflict(
            ErrorCode::TravelDocumentNotValid,
            "the travel permit is not valid",
        ));
    }
    if !valid_now(app, &r) {
        return Err(ServiceError::conflict(
            ErrorCode::ResidencePermitNotValid,
            "the residence permit is not valid",
        ));
    }
    issue(
        app,
        &person,
        &t,
        &r,
        "paper",
        Some(office.code.as_str().to_string()),
        &who.actor(),
    )
    .await
}

async fn issue(
    app: &App,
    person: &StoredPerson,
    travel: &StoredDocument,
    rp: &StoredDocument,
    channel: &str,
    office_code: Option<String>,
    actor: &str,
) -> Result<ProofView> {
    let signer = crate::credentials::current_signer(app)?;
    let now = app.now();
    let until = (now + Duration::days(app.config.credentials.linkage_proof_days))
        .min(end_of_day(travel.doc.expires_on, now))
        .min(end_of_day(rp.doc.expires_on, now));
    let id = format!("LP-{}", &crate::tokens::random_token()[..20]);
    let mut tx = app.db.begin().await?;
    let index = temporary_permits::next_status_index(&mut tx).await?;
    let payload = Draft::new(app, CredentialKind::LinkageProof, &id, person, travel)
        .valid(now, until)
        .status_index(index)?
        .linked_to(&rp.doc.number)
        .sign(app, &signer)?;
    let record = ProofRecord {
        id: id.clone(),
        person_id: person.id,
        travel_document_id: travel.id,
        residence_document_id: rp.id,
        channel: channel.into(),
        office_code: office_code.clone(),
        issued_by: actor.into(),
        status_index: index,
        valid_from: now.timestamp_micros(),
        valid_until: until.timestamp_micros(),
        status: LinkageProofState::Valid,
        payload,
    };
    store::insert(&mut tx, &record, now.timestamp_micros()).await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "linkage_proof.issue",
        &format!("linkage_proof:{id}"),
        json!({"channel": channel, "office": office_code, "status_index": index}),
    )
    .await?;
    tx.commit().await?;
    Ok(view(app, record, person, travel, rp))
}

fn view(
    app: &App,
    r: ProofRecord,
    person: &StoredPerson,
    travel: &StoredDocument,
    rp: &StoredDocument,
) -> ProofView {
    // Anything but a valid proof reads as revoked; a valid one past its end as expired.
    let status = match r.status {
        LinkageProofState::Valid => r.status.on(r.valid_until, app.now_micros()),
        _ => LinkageProofState::Revoked,
    };
    ProofView {
        id: r.id,
        payload: r.payload,
        valid_from: from_micros(r.valid_from),
        valid_until: from_micros(r.valid_until),
        holder_name: match &person.person.names.zh {
            Some(zh) => format!("{zh} {}", person.person.names.latin),
            None => person.person.names.latin.clone(),
        },
        travel_document_kind: travel.doc.kind.code().into(),
        travel_document_number: travel.doc.number.clone(),
        residence_permit_number: rp.doc.number.clone(),
        channel: r.channel,
        office_code: r.office_code,
        status,
    }
}

/// The holder's proofs, newest first.
pub async fn holder_proofs(app: &App, holder: &HolderSession) -> Result<Vec<ProofView>> {
    let mut conn = app.db.conn().await?;
    let person = records::person(&mut conn, holder.person_id).await?;
    let mut out = Vec::new();
    for r in store::for_person(&mut conn, holder.person_id).await? {
        let (Some(t), Some(rp)) = (
            documents::get(&mut conn, r.travel_document_id).await?,
            documents::get(&mut conn, r.residence_document_id).await?,
        ) else {
            continue;
        };
        out.push(view(app, r, &person, &t, &rp));
    }
    Ok(out)
}

/// One proof for printing: its holder, or staff who may print proofs.
pub async fn for_print(
    app: &App,
    id: &str,
    holder: Option<&HolderSession>,
    staff: Option<&StaffSession>,
) -> Result<ProofView> {
    // A role without the permission is refused as such, before any lookup.
    if let Some(s) = staff {
        s.require(Permission::PrintLinkageProofs)?;
    }
    let mut conn = app.db.conn().await?;
    let r = store::get(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("linkage_proof"))?;
    let allowed = holder.is_some_and(|h| h.person_id == r.person_id)
        || staff.is_some_and(|s| s.role.can(Permission::PrintLinkageProofs));
    if !allowed {
        return Err(ServiceError::NotFound("linkage_proof"));
    }
    let person = records::person(&mut conn, r.person_id).await?;
    let t = records::document(&mut conn, r.travel_document_id).await?;
    let rp = records::document(&mut conn, r.residence_document_id).await?;
    Ok(view(app, r, &person, &t, &rp))
}
