//! Linkage proofs: a signed credential (kind `linkage_proof`) stating that a travel permit
//! (HRP or TWP) and a residence permit belong to the same holder. Online for a signed-in
//! holder; on paper at the counter of an office of county level or above.

use crate::auth::StaffSession;
use crate::holders::HolderSession;
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Duration, Utc};
use exitentry_credentials::{Claims, CredentialBody, CredentialKind};
use exitentry_domain::Invalid;
use exitentry_domain::document::{DocumentStatus, effective_status};
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::office::{OfficeCode, Service};
use exitentry_domain::partners::regions_agree;
use exitentry_domain::staff::Permission;
use exitentry_domain::temporary_permit::{end_of_day, name_matches};
use exitentry_storage::documents::{self, StoredDocument};
use exitentry_storage::linkage_proofs::{self as store, ProofRecord};
use exitentry_storage::people::StoredPerson;
use exitentry_storage::{from_micros, offices, temporary_permits};
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
    pub status: &'static str,
}

fn conflict(code: &'static str, message: &str) -> ServiceError {
    ServiceError::Conflict {
        code,
        message: message.into(),
    }
}

const TRAVEL_KINDS: [DocumentKind; 3] = [
    DocumentKind::Hrp,
    DocumentKind::HrpNonChinese,
    DocumentKind::Twp,
];

fn valid_now(app: &App, d: &StoredDocument) -> bool {
    effective_status(
        &app.policy,
        d.doc.kind,
        d.doc.status,
        d.doc.expires_on,
        app.today(),
    ) == DocumentStatus::Valid
}

fn number_of(app: &App, d: &StoredDocument) -> Result<DocumentNumber> {
    DocumentNumber::parse(d.doc.kind, &d.doc.number, app.today())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The holder's own proof: their newest valid travel permit and residence permit.
pub async fn issue_online(app: &App, holder: &HolderSession) -> Result<ProofView> {
    let mut conn = app.db.conn().await?;
    let person = exitentry_storage::people::get(&mut conn, holder.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    let docs = documents::for_person(&mut conn, holder.person_id).await?;
    drop(conn);
    // `for_person` lists the newest first.
    let travel = docs
        .iter()
        .find(|d| TRAVEL_KINDS.contains(&d.doc.kind) && valid_now(app, d))
        .ok_or_else(|| {
            conflict(
                "no_valid_travel_document",
                "no valid home return permit or Taiwan residents' permit",
            )
        })?;
    let rp = docs
        .iter()
        .find(|d| d.doc.kind == DocumentKind::ResidencePermit && valid_now(app, d))
        .ok_or_else(|| conflict("no_valid_residence_permit", "no valid residence permit"))?;
    if !regions_agree(&number_of(app, travel)?, &number_of(app, rp)?) {
        return Err(conflict(
            "region_mismatch",
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
    let code = who
        .office_code
        .as_deref()
        .ok_or_else(|| conflict("no_office", "your account is not attached to an office"))?;
    let code = OfficeCode::parse(code).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut conn = app.db.conn().await?;
    let office = offices::get(&mut conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    if !office.level.county_or_above() {
        return Err(conflict(
            "office_level_too_low",
            "paper linkage proofs are printed at offices of county level or above",
        ));
    }
    if !office.services.contains(&Service::LinkageProofPaper) {
        return Err(conflict(
            "service_not_offered",
            "this office does not print paper linkage proofs",
        ));
    }
    let kind = DocumentKind::parse(&q.travel_document_kind)
        .map_err(|e| ServiceError::invalid("travel_document_kind", e))?;
    if !TRAVEL_KINDS.contains(&kind) {
        return Err(ServiceError::invalid(
            "travel_document_kind",
            Invalid::new(
                "kind_not_linkable",
                "linkage is between an HRP or TWP and a residence permit",
            ),
        ));
    }
    let travel = DocumentNumber::parse(kind, &q.travel_document_number, app.today())
        .map_err(|e| ServiceError::invalid("travel_document_number", e))?;
    let rp = DocumentNumber::parse(
        DocumentKind::ResidencePermit,
        &q.residence_permit_number,
        app.today(),
    )
    .map_err(|e| ServiceError::invalid("residence_permit_number", e))?;
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
        return Err(conflict(
            "no_match",
            "no documents with these numbers for this name",
        ));
    };
    if person.id != rp_holder.id {
        return Err(conflict(
            "different_holders",
            "the two documents belong to different people",
        ));
    }
    if !regions_agree(&travel, &rp) {
        return Err(conflict(
            "region_mismatch",
            "the residence permit's region does not match the travel permit",
        ));
    }
    if !valid_now(app, &t) {
        return Err(conflict(
            "travel_document_not_valid",
            "the travel permit is not valid",
        ));
    }
    if !valid_now(app, &r) {
        return Err(conflict(
            "residence_permit_not_valid",
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
    let keys = app.keys.as_deref().ok_or(ServiceError::Unavailable {
        code: "keys_not_initialised",
        message: "signing keys are not set up".into(),
    })?;
    let signer = keys.current()?;
    let now = app.now();
    let until = (now + Duration::days(app.config.credentials.linkage_proof_days))
        .min(end_of_day(travel.doc.expires_on, now))
        .min(end_of_day(rp.doc.expires_on, now));
    let id = format!("LP-{}", &crate::tokens::random_token()[..20]);
    let mut tx = app.db.begin().await?;
    let index = temporary_permits::next_status_index(&mut tx).await?;
    let claims = Claims {
        iss: app.config.credentials.issuer.clone(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: until.timestamp(),
        cti: id.as_bytes().to_vec(),
        body: Some(CredentialBody {
            kind: CredentialKind::LinkageProof,
            holder_name_zh: person.person.names.zh.clone(),
            holder_name_latin: person.person.names.latin.clone(),
            date_of_birth: person.person.date_of_birth.to_string(),
            sex: person.person.sex.code().to_string(),
            document_kind: travel.doc.kind.code().to_string(),
            document_number: travel.doc.number.clone(),
            permitted_uses: Vec::new(),
            status_index: u64::try_from(index)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            linked_document_number: Some(rp.doc.number.clone()),
        }),
    };
    let payload = exitentry_credentials::issue(&signer, &claims, &app.config.credentials.prefix)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
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
        status: "valid".into(),
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
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(view(app, record, person, travel, rp))
}

fn view(
    app: &App,
    r: ProofRecord,
    person: &StoredPerson,
    travel: &StoredDocument,
    rp: &StoredDocument,
) -> ProofView {
    let status = if r.status != "valid" {
        "revoked"
    } else if r.valid_until <= app.now_micros() {
        "expired"
    } else {
        "valid"
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
    let person = exitentry_storage::people::get(&mut conn, holder.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
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
    let person = exitentry_storage::people::get(&mut conn, r.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    let t = documents::get(&mut conn, r.travel_document_id)
        .await?
        .ok_or(ServiceError::NotFound("document"))?;
    let rp = documents::get(&mut conn, r.residence_document_id)
        .await?
        .ok_or(ServiceError::NotFound("document"))?;
    Ok(view(app, r, &person, &t, &rp))
}
