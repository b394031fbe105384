//! "My records": what a signed-in holder holds and has in progress, and what they may apply
//! for. The offers follow who the person is: a mainland resident (Exit-Entry Permit) books
//! appointments and applies for endorsements online; a Hong Kong, Macao or Taiwan resident
//! gets temporary e-permits, linkage proofs (only with a residence permit) and appointments.

use super::HolderSession;
use crate::appointments::{self, AppointmentView};
use crate::endorsement_applications::{self as endorsements, ApplicationView};
use crate::linkage_proofs::{self, ProofView};
use crate::registry::{DocumentView, document_view};
use crate::temporary_permits::{self as tp, PermitView};
use crate::{App, Result, ServiceError};
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::office::{Office, OfficeCode};
use exitentry_domain::person::Region;
use exitentry_domain::states::CentreApplicationState;
use exitentry_storage::{centre, documents, offices, people};

/// An application accepted at a service centre, as its applicant sees it.
#[derive(Debug, Clone)]
pub struct CentreApplicationView {
    pub reference: String,
    /// The product code (`eep_card_renewal`); pages show it in words.
    pub product: String,
    pub status: CentreApplicationState,
    pub office_code: String,
    /// The office itself, for its name in the reader's language and its address.
    pub office: Option<Office>,
    /// Beijing date (YYYY-MM-DD) once paid.
    pub collection_date: Option<String>,
}

/// What the holder may start from "my records".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offers {
    pub appointments: bool,
    pub endorsements: bool,
    pub temporary_permit: bool,
    pub linkage_proof: bool,
}

impl Offers {
    /// The rule, from the person's region and the documents valid today.
    pub fn for_person(region: Region, valid: &[DocumentKind]) -> Offers {
        let has = |k: DocumentKind| valid.contains(&k);
        let travel = has(DocumentKind::Hrp) || has(DocumentKind::Twp);
        let mainland = region == Region::Mainland;
        Offers {
            appointments: true,
            endorsements: mainland && (has(DocumentKind::EepCard) || has(DocumentKind::EepBooklet)),
            temporary_permit: !mainland && travel,
            linkage_proof: !mainland && travel && has(DocumentKind::ResidencePermit),
        }
    }
}

/// Everything the holder's own page shows.
#[derive(Debug, Clone)]
pub struct HolderRecords {
    pub region: Region,
    /// Newest first, each with its status effective today.
    pub documents: Vec<DocumentView>,
    pub centre_applications: Vec<CentreApplicationView>,
    pub endorsement_applications: Vec<ApplicationView>,
    pub appointments: Vec<AppointmentView>,
    pub temporary_permits: Vec<PermitView>,
    pub linkage_proofs: Vec<ProofView>,
    pub offers: Offers,
}

/// The signed-in holder's records and offers.
pub async fn records(app: &App, holder: &HolderSession) -> Result<HolderRecords> {
    let today = app.today();
    let mut conn = app.db.conn().await?;
    let person = people::get(&mut conn, holder.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    let docs: Vec<DocumentView> = documents::for_person(&mut conn, holder.person_id)
        .await?
        .iter()
        .map(|d| document_view(app, d, today))
        .collect();
    let mut centre_applications = Vec::new();
    let mut known: Vec<Office> = Vec::new();
    for a in centre::for_person(&mut conn, holder.person_id).await? {
        let office = match known.iter().find(|o| o.code.as_str() == a.office_code) {
            Some(o) => Some(o.clone()),
            None => match OfficeCode::parse(&a.office_code) {
                Ok(code) => offices::get(&mut conn, &code).await?,
                Err(_) => None,
            },
        };
        if let Some(o) = &office {
            known.push(o.clone());
        }
        centre_applications.push(CentreApplicationView {
            reference: a.reference,
            product: a.product,
            status: a.status,
            office_code: a.office_code,
            office,
            collection_date: a.collection_date,
        });
    }
    drop(conn);
    let valid: Vec<DocumentKind> = docs
        .iter()
        .filter(|d| d.status == DocumentStatus::Valid)
        .map(|d| d.kind)
        .collect();
    let region = person.person.region;
    Ok(HolderRecords {
        region,
        offers: Offers::for_person(region, &valid),
        documents: docs,
        centre_applications,
        endorsement_applications: endorsements::mine(app, holder.person_id).await?,
        appointments: appointments::mine(app, holder).await?,
        temporary_permits: tp::holder_permits(app, holder).await?,
        linkage_proofs: linkage_proofs::holder_proofs(app, holder).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use DocumentKind::*;

    #[test]
    fn offers_follow_the_person() {
        let mainland = Offers::for_person(Region::Mainland, &[EepCard]);
        assert!(mainland.appointments && mainland.endorsements);
        assert!(!mainland.temporary_permit && !mainland.linkage_proof);
        let hk = Offers::for_person(Region::HongKong, &[Hrp]);
        assert!(hk.appointments && hk.temporary_permit);
        assert!(!hk.endorsements && !hk.linkage_proof, "no residence permit");
        let hk_rp = Offers::for_person(Region::HongKong, &[Hrp, ResidencePermit]);
        assert!(hk_rp.linkage_proof);
        let tw = Offers::for_person(Region::Taiwan, &[Twp]);
        assert!(tw.temporary_permit);
        let lapsed = Offers::for_person(Region::Macao, &[]);
        assert!(!lapsed.temporary_permit && lapsed.appointments);
    }
}
