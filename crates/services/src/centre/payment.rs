//! Taking the fee at the counter (cash or the terminal), the collection date, and the
//! office's list of applications.

use super::*;
use crate::ErrorCode;
use crate::OnConflict;
use crate::appointments::working_calendar;
use crate::auth::StaffSession;
use crate::counter_terminal::{Charge, ChargeOutcome};
use crate::tokens::random_token;
use crate::{App, Result, ServiceError, audit};
use chrono::Duration;
use exitentry_domain::centre::add_working_days;
use exitentry_domain::products;
use exitentry_domain::staff::Permission;
use exitentry_domain::states::{CentreApplicationState, CounterPaymentState};
use exitentry_storage::centre::{self as store, ApplicationRow, PaymentRow};
use serde_json::json;

/// Takes the fee: cash at the till, anything else through the payment terminal. Sets the
/// collection date: processing time in working days from today.
pub async fn pay(
    app: &App,
    staff: &StaffSession,
    id: &str,
    method: &str,
) -> Result<ApplicationView> {
    counter_staff(staff)?;
    let a = {
        let mut conn = app.db.conn().await?;
        application_for_staff(&mut conn, staff, id).await?
    };
    if a.status != CentreApplicationState::Accepted {
        return Err(ServiceError::conflict(
            ErrorCode::AlreadyPaid,
            format!("this application is {}", a.status),
        ));
    }
    let currency = a.fee.currency;
    if !currency.methods().contains(&method) {
        return Err(ServiceError::bad_input(
            "method",
            ErrorCode::BadMethod,
            format!(
                "for {} take one of: {}",
                currency.code(),
                currency.methods().join(", ")
            ),
        ));
    }
    let payment_id = random_token()[..24].to_string();
    let outcome = if method == "cash" {
        ChargeOutcome::Paid {
            provider_ref: format!("CASH-{}", &payment_id[..8]),
        }
    } else {
        let charge = Charge {
            payment_id: payment_id.clone(),
            method: method.to_string(),
            amount_cents: a.fee.cents,
            currency: currency.code().to_string(),
            description: format!("{} {}", a.product, a.reference),
        };
        // Outside the transaction: the terminal may take a while.
        app.providers.payments()?.charge(&charge).await?
    };
    let (status, provider_ref, declined) = match outcome {
        ChargeOutcome::Paid { provider_ref } => {
            (CounterPaymentState::Paid, Some(provider_ref), None)
        }
        ChargeOutcome::Declined { reason } => (CounterPaymentState::Declined, None, Some(reason)),
    };
    let recorded = record_payment(
        app,
        staff,
        &a,
        &payment_id,
        method,
        status,
        provider_ref.clone(),
        declined.is_some(),
    )
    .await;
    if let Err(e) = recorded {
        // Charged, but another clerk was quicker (or the record failed): give the charge back.
        if status == CounterPaymentState::Paid
            && method != "cash"
            && let Err(r) = app
                .providers
                .payments()?
                .refund(&payment_id, a.fee.cents)
                .await
        {
            tracing::error!(payment = %payment_id, error = %r, "voiding a counter charge failed; refund by hand");
        }
        return Err(e);
    }
    if let Some(reason) = declined {
        return Err(ServiceError::conflict(
            ErrorCode::PaymentDeclined,
            format!("the payment was declined: {reason}"),
        ));
    }
    let mut conn = app.db.conn().await?;
    let a = store::application(&mut conn, &a.id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    application_view(&mut conn, &a).await
}

/// Records a counter payment and, when paid, the collection date, in one transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn record_payment(
    app: &App,
    staff: &StaffSession,
    a: &ApplicationRow,
    payment_id: &str,
    method: &str,
    status: CounterPaymentState,
    provider_ref: Option<String>,
    declined: bool,
) -> Result<()> {
    let now = app.now_micros();
    let product = products::product(&a.product).map_err(|e| ServiceError::Internal(e.message))?;
    let today = app.today();
    let mut tx = app.db.begin().await?;
    let (holidays, workdays) =
        working_calendar(&mut tx, &a.office_code, today, today + Duration::days(120)).await?;
    let collection = add_working_days(today, product.processing_working_days, &holidays, &workdays);
    store::insert_payment(
        &mut tx,
        &PaymentRow {
            id: payment_id.to_string(),
            application_id: a.id.clone(),
            method: method.to_string(),
            amount: a.fee,
            status,
            provider_ref: provider_ref.clone(),
            taken_by: staff.actor(),
            created_at: now,
            paid_at: (status == CounterPaymentState::Paid).then_some(now),
        },
    )
    .await
    .on_conflict(|| {
        ServiceError::conflict(ErrorCode::AlreadyPaid, "this application is already paid")
    })?;
    if status == CounterPaymentState::Paid
        && !store::mark_paid(&mut tx, &a.id, &collection.to_string(), now).await?
    {
        return Err(ServiceError::conflict(
            ErrorCode::AlreadyPaid,
            "this application is already paid",
        ));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        if declined { "payment.declined" } else { "payment.paid" },
        &format!("application:{}", a.id),
        json!({"payment": payment_id, "method": method, "amount_cents": a.fee.cents, "currency": a.fee.currency.code(), "ref": provider_ref}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn application(app: &App, staff: &StaffSession, id: &str) -> Result<ApplicationView> {
    if !(staff.role.can(Permission::ServeCounter)
        || staff.role.can(Permission::ProcessApplications))
    {
        return Err(ServiceError::Forbidden);
    }
    let mut conn = app.db.conn().await?;
    let a = application_for_staff(&mut conn, staff, id).await?;
    application_view(&mut conn, &a).await
}

/// The states staff list applications in, each a tab of the list.
pub const LISTED: [CentreApplicationState; 4] = {
    use CentreApplicationState::*;
    [Accepted, Paid, Ready, Collected]
};

/// Applications of the staff member's office (or all, for those without one) in a status.
pub async fn applications(
    app: &App,
    staff: &StaffSession,
    status: &str,
) -> Result<Vec<ApplicationView>> {
    if !(staff.role.can(Permission::ServeCounter)
        || staff.role.can(Permission::ProcessApplications))
    {
        return Err(ServiceError::Forbidden);
    }
    let Some(status) = LISTED.into_iter().find(|s| s.code() == status) else {
        return Err(ServiceError::bad_input(
            "status",
            ErrorCode::BadStatus,
            "status is accepted, paid, ready or collected",
        ));
    };
    applications_in(app, staff, status).await
}

/// [`applications`] in a state the caller names as such.
pub(super) async fn applications_in(
    app: &App,
    staff: &StaffSession,
    status: CentreApplicationState,
) -> Result<Vec<ApplicationView>> {
    let mut conn = app.db.conn().await?;
    let rows = store::applications_at(&mut conn, staff.office_code.as_deref(), status, 500).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in &rows {
        out.push(application_view(&mut conn, a).await?);
    }
    Ok(out)
}
