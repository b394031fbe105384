//! The online applicant's own booking (non-Chinese permit, after approval): found by the
//! identity their approval is for, so /apply can show, move and cancel it.

use super::booking::{AppointmentView, Booker, BookingRequest, applicant_for, view};
use crate::pre_applications::ApplicantSession;
use crate::{App, ErrorCode, Result, ServiceError};
use exitentry_domain::office::Service;
use exitentry_storage::appointments as store;

/// The applicant's active booking for the non-Chinese permit, if any (none before approval).
pub async fn applicant_booking(app: &App, a: &ApplicantSession) -> Result<Option<AppointmentView>> {
    let mut conn = app.db.conn().await?;
    let booker = Booker::Applicant(a);
    let who = match applicant_for(app, &mut conn, &booker, &BookingRequest::default()).await {
        Ok(who) => who,
        Err(ServiceError::Conflict {
            code: ErrorCode::PreApplicationNotApproved,
            ..
        }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let row = store::active_for(
        &mut conn,
        &who.id_kind,
        &who.id_number,
        Service::HrpNonChinese.code(),
    )
    .await?;
    Ok(row
        .filter(|r| r.booked_by == a.actor())
        .map(|r| view(app, &r)))
}
