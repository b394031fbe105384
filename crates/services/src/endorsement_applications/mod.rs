//! Repeat endorsements: a card holder applies online (or at a kiosk), pays, and a kiosk
//! prints the endorsement onto the back of the card. Print jobs go queued → printing →
//! printed or failed; a final failure refunds the payment. One live print job per
//! application, so two kiosks can never print the same endorsement.

mod kiosk;
mod online;

pub use kiosk::*;
pub use online::*;

use crate::ErrorCode;
use crate::records;
use crate::{App, Result, ServiceError};
use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::endorsements::Applicant;
use exitentry_domain::numbers::DocumentKind;
use exitentry_storage::endorsements::{self as endorsements_store};
use exitentry_storage::{AnyConnection, documents};

/// The holder's current card and whether they may apply online.
pub(crate) struct Holder {
    pub person_id: i64,
    pub id_number: String,
    pub card_id: i64,
    pub card_expires: NaiveDate,
    pub applicant: Applicant,
}

impl Holder {
    /// The 20-day rule, when it applies to cards: the card must stay valid more than 20
    /// days after an endorsement valid `until`.
    pub(crate) fn card_outlasts(&self, app: &App, until: NaiveDate) -> bool {
        !app.config.endorsements.twenty_day_rule_for_cards
            || exitentry_domain::endorsements::permit_outlasts(self.card_expires, until)
    }

    /// [`Holder::card_outlasts`], or the refusal that asks for a new card first.
    pub(crate) fn require_card_outlasts(&self, app: &App, until: NaiveDate) -> Result<()> {
        if self.card_outlasts(app, until) {
            return Ok(());
        }
        Err(ServiceError::refused(Invalid::new(
            ErrorCode::PermitExpiresTooSoon,
            "the permit must stay valid more than 20 days after the endorsement; renew the card first",
        )))
    }
}

/// The last day of an endorsement valid `months` from today.
pub(crate) fn valid_until(today: NaiveDate, months: u32) -> Result<NaiveDate> {
    exitentry_domain::endorsements::valid_until(today, months).ok_or_else(|| {
        ServiceError::bad_input("validity_months", ErrorCode::BadDate, "date out of range")
    })
}

pub(crate) async fn holder(app: &App, conn: &mut AnyConnection, person_id: i64) -> Result<Holder> {
    let person = records::person(conn, person_id).await?;
    let today = app.today();
    let docs = documents::for_person(conn, person_id).await?;
    let card = docs
        .iter()
        .filter(|d| d.doc.kind == DocumentKind::EepCard)
        .filter(|d| app.document_status(&d.doc, today) == DocumentStatus::Valid)
        .max_by_key(|d| d.doc.issued_on);
    let mut had_endorsement = false;
    for d in docs
        .iter()
        .filter(|d| matches!(d.doc.kind, DocumentKind::EepCard | DocumentKind::EepBooklet))
    {
        if !endorsements_store::for_document(conn, d.id, None)
            .await?
            .is_empty()
        {
            had_endorsement = true;
            break;
        }
    }
    let state_personnel =
        exitentry_storage::endorsement_applications::is_state_personnel(conn, person_id).await?;
    // The scheme goes by where the household registration is now (the registry's hukou
    // area), not by the identity number, whose first digits never follow a move.
    let hukou_city = person
        .person
        .hukou_area
        .as_deref()
        .and_then(|a| exitentry_domain::person::HukouArea::parse(a).ok());
    let applicant = Applicant {
        holds_card: card.is_some(),
        had_endorsement,
        state_personnel,
        hukou_in_scheme_city: hukou_city.is_some_and(|h| {
            app.config
                .endorsements
                .scheme_city_prefixes
                .iter()
                .any(|c| c == h.city())
        }),
    };
    let Some(card) = card else {
        return Err(ServiceError::refused(Invalid::new(
            ErrorCode::CardRequired,
            "online endorsements are for holders of a valid EEP card",
        )));
    };
    Ok(Holder {
        person_id,
        id_number: person.person.id_number.clone(),
        card_id: card.id,
        card_expires: card.doc.expires_on,
        applicant,
    })
}
