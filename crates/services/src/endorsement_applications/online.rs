//! Online endorsement applications: the choices a holder has, apply, pay, cancel.

use super::*;
use crate::OnConflict;
use crate::holders::HolderSession;
use crate::online_payments::{self, OrderRow};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use exitentry_domain::endorsements::{
    self as rules, Circumstances, Destination, EndorsementType, Trips,
};
use exitentry_domain::products::Money;
use exitentry_domain::states::EndorsementApplicationState as E;
use exitentry_storage::AnyConnection;
use exitentry_storage::endorsement_applications::{self as store, ApplicationRow};
use serde::Serialize;
use serde_json::json;

/// One choice the applicant can make.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Choice {
    pub destination: String,
    pub kind: String,
    pub validity_months: u32,
    pub trips: String,
    pub stay_days: u32,
    pub fee_cents: i64,
}

/// What the holder may apply for online today: G and L to Hong Kong and Macao, under the
/// rules (card, not first-time, not state personnel, G only for scheme cities, 20 days).
pub async fn choices(app: &App, person_id: i64) -> Result<Vec<Choice>> {
    let mut conn = app.db.conn().await?;
    let h = holder(app, &mut conn, person_id).await?;
    let today = app.today();
    let mut out = Vec::new();
    for kind in [EndorsementType::G, EndorsementType::L] {
        if rules::check_self_service(&h.applicant, kind).is_err() {
            continue;
        }
        for dest in Destination::ALL {
            for v in rules::variants(
                kind,
                dest,
                today,
                Circumstances::default(),
                &app.policy.endorsements,
            ) {
                let Some(until) = rules::valid_until(today, v.validity_months) else {
                    continue;
                };
                if !h.card_outlasts(app, until) {
                    continue;
                }
                out.push(Choice {
                    destination: dest.code().into(),
                    kind: kind.code().into(),
                    validity_months: v.validity_months,
                    trips: v.trips.code(),
                    stay_days: v.stay_days,
                    fee_cents: app
                        .policy
                        .endorsements
                        .fee_cents(v.trips, v.validity_months, today),
                });
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    pub destination: String,
    pub kind: String,
    pub validity_months: u32,
    pub trips: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApplicationView {
    pub id: String,
    pub reference: String,
    pub destination: String,
    pub kind: String,
    pub validity_months: i64,
    pub trips: String,
    pub stay_days: i64,
    pub fee_cents: i64,
    pub status: E,
    pub channel: String,
    /// Counter applications: the first day the kiosk prints it.
    pub ready_on: Option<String>,
    /// Family visits: the relative declared, and the reviewer's note on a decision.
    pub relation: Option<String>,
    pub review_note: Option<String>,
    /// Stay (D) endorsements end with the Hong Kong / Macao approval.
    pub fixed_until: Option<String>,
    /// Refunded instead of printed: the code of the rule that stopped it.
    pub refund_reason: Option<String>,
}

pub(crate) fn view(a: &ApplicationRow) -> ApplicationView {
    ApplicationView {
        id: a.id.clone(),
        reference: a.reference.clone(),
        destination: a.destination.clone(),
        kind: a.kind.clone(),
        validity_months: a.validity_months,
        trips: a
            .trips_allowed
            .map(|n| n.to_string())
            .unwrap_or_else(|| "multiple".into()),
        stay_days: a.stay_days,
        fee_cents: a.fee.cents,
        status: a.status,
        channel: a.channel.clone(),
        ready_on: a.counter.ready_on.clone(),
        relation: a.counter.relation.clone(),
        review_note: a.counter.review_note.clone(),
        fixed_until: a.counter.fixed_until.clone(),
        refund_reason: a.refund_reason.clone(),
    }
}

/// Applies for a repeat endorsement for `person_id` (online or at a kiosk).
pub async fn apply(
    app: &App,
    person_id: i64,
    channel: &str,
    actor: &str,
    req: &ApplyRequest,
) -> Result<ApplicationView> {
    let destination = Destination::parse(&req.destination).at_field("destination")?;
    let kind = EndorsementType::parse(&req.kind).at_field("kind")?;
    let trips = Trips::parse(&req.trips).at_field("trips")?;
    let today = app.today();
    let mut tx = app.db.begin().await?;
    let h = holder(app, &mut tx, person_id).await?;
    rules::check_self_service(&h.applicant, kind).map_err(ServiceError::refused)?;
    let offered = rules::variants(
        kind,
        destination,
        today,
        Circumstances::default(),
        &app.policy.endorsements,
    );
    let variant =
        rules::variant_with(offered, req.validity_months, trips).at_field("validity_months")?;
    let until = super::valid_until(today, variant.validity_months)?;
    h.require_card_outlasts(app, until)?;
    let waiting = || {
        ServiceError::conflict(
            ErrorCode::ApplicationOpen,
            "there is already an endorsement application for this destination waiting",
        )
    };
    if store::open_for(&mut tx, h.card_id, destination.code()).await? > 0 {
        return Err(waiting());
    }
    let row = new_row(app, &h, &variant, channel, Default::default());
    store::insert(&mut tx, &row).await.on_conflict(waiting)?;
    audit::record(app, &mut tx, actor, "endorsement.apply", &subject(&row.id), json!({"kind": row.kind, "destination": row.destination, "fee_cents": row.fee.cents, "channel": channel}))
        .await?;
    tx.commit().await?;
    let _ = h.id_number;
    Ok(view(&row))
}

/// A new application for the holder's card, awaiting payment, with the fee of today.
pub(crate) fn new_row(
    app: &App,
    h: &Holder,
    variant: &rules::Variant,
    channel: &str,
    counter: exitentry_storage::endorsement_applications::CounterDetails,
) -> ApplicationRow {
    let today = app.today();
    ApplicationRow {
        id: crate::tokens::random_token()[..24].to_string(),
        reference: format!("E{:011}", rand::random::<u64>() % 100_000_000_000),
        person_id: h.person_id,
        document_id: h.card_id,
        destination: variant.destination.code().into(),
        kind: variant.kind.code().into(),
        trips_allowed: match variant.trips {
            Trips::Count(n) => Some(i64::from(n)),
            Trips::Multiple => None,
        },
        validity_months: i64::from(variant.validity_months),
        stay_days: i64::from(variant.stay_days),
        fee: Money::cny(app.policy.endorsements.fee_cents(
            variant.trips,
            variant.validity_months,
            today,
        )),
        channel: channel.into(),
        status: E::AwaitingPayment,
        endorsement_id: None,
        created_at: app.now_micros(),
        paid_at: None,
        printed_at: None,
        counter,
        refund_reason: None,
    }
}

pub(crate) fn subject(id: &str) -> String {
    format!("endorsement_application:{id}")
}

/// The payment hook: an application awaiting payment becomes ready to print, or goes to a
/// reviewer first when its type needs one (the declared relative of a family visit).
pub fn on_paid<'a>(
    app: &'a App,
    conn: &'a mut AnyConnection,
    subject: &'a str,
) -> crate::BoxFuture<'a, Result<bool>> {
    Box::pin(async move {
        let Some(id) = subject.strip_prefix("endorsement_application:") else {
            return Ok(false);
        };
        let Some(a) = store::get(conn, id).await? else {
            return Ok(false);
        };
        let review = EndorsementType::parse(&a.kind).is_ok_and(rules::needs_review);
        let to = if review {
            E::UnderReview
        } else {
            E::ReadyToPrint
        };
        Ok(store::transition(conn, id, E::AwaitingPayment, to, app.now_micros()).await?)
    })
}

pub(super) async fn own(app: &App, person_id: i64, id: &str) -> Result<ApplicationRow> {
    let mut conn = app.db.conn().await?;
    store::get(&mut conn, id)
        .await?
        .filter(|a| a.person_id == person_id)
        .ok_or(ServiceError::NotFound("application"))
}

/// Starts the online payment of the holder's application.
pub async fn pay_online(
    app: &App,
    h: &HolderSession,
    id: &str,
    provider: &str,
) -> Result<(OrderRow, online_payments::Checkout)> {
    let a = own(app, h.person_id, id).await?;
    if a.status != E::AwaitingPayment {
        return Err(ServiceError::conflict(
            ErrorCode::NotAwaitingPayment,
            format!("this application is {}", a.status),
        ));
    }
    online_payments::start(app, &subject(&a.id), provider, a.fee.cents, &h.actor()).await
}

pub async fn mine(app: &App, person_id: i64) -> Result<Vec<ApplicationView>> {
    let mut conn = app.db.conn().await?;
    Ok(store::for_person(&mut conn, person_id)
        .await?
        .iter()
        .map(view)
        .collect())
}

pub async fn get(app: &App, person_id: i64, id: &str) -> Result<ApplicationView> {
    Ok(view(&own(app, person_id, id).await?))
}

/// Cancels an application not yet printed; a paid one is refunded.
pub async fn cancel(app: &App, person_id: i64, id: &str, actor: &str) -> Result<ApplicationView> {
    let a = own(app, person_id, id).await?;
    let mut tx = app.db.begin().await?;
    let now = app.now_micros();
    let done = store::transition(&mut tx, &a.id, E::AwaitingPayment, E::Cancelled, now).await?
        || store::transition(&mut tx, &a.id, E::UnderReview, E::Refunded, now).await?
        || store::transition(&mut tx, &a.id, E::ReadyToPrint, E::Refunded, now).await?;
    if !done {
        return Err(ServiceError::conflict(
            ErrorCode::CannotCancel,
            format!("this application is {}", a.status),
        ));
    }
    let back = online_payments::refund(app, &mut tx, &subject(&a.id), "cancelled").await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "endorsement.cancel",
        &subject(&a.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    online_payments::give_back(app, back).await;
    Ok(view(&own(app, person_id, id).await?))
}
