//! Repeat endorsements: a card holder applies online (or at a kiosk), pays, and a kiosk
//! prints the endorsement onto the back of the card. Print jobs go queued → printing →
//! printed or failed; a final failure refunds the payment. One live print job per
//! application, so two kiosks can never print the same endorsement.

use crate::centre::DeviceSession;
use crate::holders::HolderSession;
use crate::online_payments::{self, OrderRow};
use crate::{App, Result, ServiceError, audit};
use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::{DocumentStatus, effective_status};
use exitentry_domain::endorsements::{
    self as rules, Applicant, Circumstances, Destination, EndorsementType, Trips,
};
use exitentry_domain::numbers::DocumentKind;
use exitentry_storage::endorsement_applications::{self as store, ApplicationRow};
use exitentry_storage::endorsements::{self as endorsements_store, EndorsementRow};
use exitentry_storage::{AnyConnection, StorageError, documents, people};
use serde::Serialize;
use serde_json::json;

fn bad(field: &'static str, code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

fn refused(e: Invalid) -> ServiceError {
    ServiceError::Conflict {
        code: e.code,
        message: e.message,
    }
}

/// The holder's current card and whether they may apply online.
pub(crate) struct Holder {
    pub person_id: i64,
    pub id_number: String,
    pub card_id: i64,
    pub card_expires: NaiveDate,
    pub applicant: Applicant,
}

pub(crate) async fn holder(app: &App, conn: &mut AnyConnection, person_id: i64) -> Result<Holder> {
    let person = people::get(conn, person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    let today = app.today();
    let docs = documents::for_person(conn, person_id).await?;
    let card = docs
        .iter()
        .filter(|d| d.doc.kind == DocumentKind::EepCard)
        .filter(|d| {
            effective_status(
                &app.policy,
                d.doc.kind,
                d.doc.status,
                d.doc.expires_on,
                today,
            ) == DocumentStatus::Valid
        })
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
        return Err(refused(Invalid::new(
            "card_required",
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
                if app.config.endorsements.twenty_day_rule_for_cards
                    && !rules::permit_outlasts(h.card_expires, until)
                {
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
    pub status: String,
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
        fee_cents: a.fee_cents,
        status: a.status.clone(),
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
    let destination = Destination::parse(&req.destination)
        .map_err(|e| ServiceError::invalid("destination", e))?;
    let kind = EndorsementType::parse(&req.kind).map_err(|e| ServiceError::invalid("kind", e))?;
    let trips = Trips::parse(&req.trips).map_err(|e| ServiceError::invalid("trips", e))?;
    let today = app.today();
    let mut tx = app.db.begin().await?;
    let h = holder(app, &mut tx, person_id).await?;
    rules::check_self_service(&h.applicant, kind).map_err(refused)?;
    let variant = rules::variants(
        kind,
        destination,
        today,
        Circumstances::default(),
        &app.policy.endorsements,
    )
    .into_iter()
    .find(|v| v.validity_months == req.validity_months && v.trips == trips)
    .ok_or_else(|| {
        bad(
            "validity_months",
            "no_such_variant",
            "this endorsement is not issued with this validity and trips",
        )
    })?;
    let until = rules::valid_until(today, variant.validity_months)
        .ok_or_else(|| bad("validity_months", "bad_date", "date out of range"))?;
    if app.config.endorsements.twenty_day_rule_for_cards
        && !rules::permit_outlasts(h.card_expires, until)
    {
        return Err(refused(Invalid::new(
            "permit_expires_too_soon",
            "the permit must stay valid more than 20 days after the endorsement; renew the card first",
        )));
    }
    if store::open_for(&mut tx, h.card_id, destination.code()).await? > 0 {
        return Err(ServiceError::Conflict {
            code: "application_open",
            message: "there is already an endorsement application for this destination waiting"
                .into(),
        });
    }
    let row = new_row(app, &h, &variant, channel, Default::default());
    match store::insert(&mut tx, &row).await {
        Err(StorageError::Conflict(_)) => {
            return Err(ServiceError::Conflict {
                code: "application_open",
                message: "there is already an endorsement application for this destination waiting"
                    .into(),
            });
        }
        other => other?,
    }
    audit::record(app, &mut tx, actor, "endorsement.apply", &subject(&row.id), json!({"kind": row.kind, "destination": row.destination, "fee_cents": row.fee_cents, "channel": channel}))
        .await?;
    tx.commit().await.map_err(StorageError::from)?;
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
        id: crate::auth::random_token()[..24].to_string(),
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
        fee_cents: app
            .policy
            .endorsements
            .fee_cents(variant.trips, variant.validity_months, today),
        channel: channel.into(),
        status: "awaiting_payment".into(),
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
) -> crate::providers::BoxFuture<'a, Result<bool>> {
    Box::pin(async move {
        let Some(id) = subject.strip_prefix("endorsement_application:") else {
            return Ok(false);
        };
        let Some(a) = store::get(conn, id).await? else {
            return Ok(false);
        };
        let review = EndorsementType::parse(&a.kind).is_ok_and(rules::needs_review);
        let to = if review {
            "under_review"
        } else {
            "ready_to_print"
        };
        Ok(store::transition(conn, id, "awaiting_payment", to, app.now_micros()).await?)
    })
}

async fn own(app: &App, person_id: i64, id: &str) -> Result<ApplicationRow> {
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
    if a.status != "awaiting_payment" {
        return Err(ServiceError::Conflict {
            code: "not_awaiting_payment",
            message: format!("this application is {}", a.status),
        });
    }
    online_payments::start(app, &subject(&a.id), provider, a.fee_cents, &h.actor()).await
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
    let done = store::transition(&mut tx, &a.id, "awaiting_payment", "cancelled", now).await?
        || store::transition(&mut tx, &a.id, "under_review", "refunded", now).await?
        || store::transition(&mut tx, &a.id, "ready_to_print", "refunded", now).await?;
    if !done {
        return Err(ServiceError::Conflict {
            code: "cannot_cancel",
            message: format!("this application is {}", a.status),
        });
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
    tx.commit().await.map_err(StorageError::from)?;
    online_payments::give_back(app, back).await;
    Ok(view(&own(app, person_id, id).await?))
}

// ---- the kiosk ----

/// The card holder at a kiosk: the card's number (or its machine-readable line) and the
/// identity number must belong together.
pub async fn identify(
    app: &App,
    device: &DeviceSession,
    card: &str,
    id_number: &str,
) -> Result<i64> {
    if device.kind != "kiosk" {
        return Err(ServiceError::Forbidden);
    }
    let number = card_number(card);
    let mut conn = app.db.conn().await?;
    let found = documents::by_number(&mut conn, &number)
        .await?
        .into_iter()
        .find(|(d, p)| {
            // Only a card valid today: a card reported lost or expired identifies nobody.
            d.doc.kind == DocumentKind::EepCard
                && effective_status(
                    &app.policy,
                    d.doc.kind,
                    d.doc.status,
                    d.doc.expires_on,
                    app.today(),
                ) == DocumentStatus::Valid
                && crate::auth::constant_time_eq(
                    &p.person.id_number,
                    &id_number.trim().to_ascii_uppercase(),
                )
        });
    found
        .map(|(d, _)| d.doc.person_id)
        .ok_or(ServiceError::Conflict {
            code: "card_or_identity_mismatch",
            message: "the card and the identity number do not match".into(),
        })
}

/// The card number from what was typed or scanned: the number itself, or the first
/// `C…` token of nine characters in a machine-readable line.
pub fn card_number(input: &str) -> String {
    let up = input.trim().to_ascii_uppercase();
    up.split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|t| (0..t.len().saturating_sub(8)).map(move |i| &t[i..i + 9]))
        .find(|t| {
            t.starts_with('C')
                && t[1..2]
                    .chars()
                    .all(|c| c.is_ascii_uppercase() && c != 'I' && c != 'O')
                && t[2..].chars().all(|c| c.is_ascii_digit())
        })
        .map(str::to_string)
        .unwrap_or(up)
}

/// Takes the fee at the kiosk through its terminal.
pub async fn pay_at_kiosk(
    app: &App,
    device: &DeviceSession,
    person_id: i64,
    id: &str,
    method: &str,
) -> Result<ApplicationView> {
    let a = own(app, person_id, id).await?;
    if !["unionpay", "yang_cheng_tong", "alipay", "wechat_pay"].contains(&method) {
        return Err(bad(
            "method",
            "bad_method",
            "the kiosk takes UnionPay, Yang Cheng Tong, Alipay and WeChat Pay",
        ));
    }
    take_fee(app, &device.actor(), &a, method).await?;
    Ok(view(&own(app, person_id, id).await?))
}

/// Takes an application's fee through the terminal (or as cash at a counter till): the
/// order is recorded first, the charge made outside any transaction, then credited once; a
/// charge that loses a race (paid meanwhile, cancelled) is given back at once.
pub(crate) async fn take_fee(
    app: &App,
    actor: &str,
    a: &ApplicationRow,
    method: &str,
) -> Result<()> {
    if a.status != "awaiting_payment" {
        return Err(ServiceError::Conflict {
            code: "not_awaiting_payment",
            message: format!("this application is {}", a.status),
        });
    }
    let order =
        online_payments::start_terminal(app, &subject(&a.id), method, a.fee_cents, actor).await?;
    let outcome = if method == "cash" {
        crate::payments::ChargeOutcome::Paid {
            provider_ref: format!("CASH-{}", &order.id[..8]),
        }
    } else {
        let charge = crate::payments::Charge {
            payment_id: order.id.clone(),
            method: method.into(),
            amount_cents: a.fee_cents,
            currency: "CNY".into(),
            description: format!("endorsement {}", a.reference),
        };
        let charged = match app.providers.payments() {
            Ok(terminal) => terminal.charge(&charge).await,
            Err(e) => Err(e),
        };
        match charged {
            Ok(o) => o,
            Err(e) => {
                let mut conn = app.db.conn().await?;
                exitentry_storage::payments::mark_failed(&mut conn, &order.id, app.now_micros())
                    .await?;
                return Err(e);
            }
        }
    };
    match outcome {
        crate::payments::ChargeOutcome::Paid { provider_ref } => {
            let mut tx = app.db.begin().await?;
            let now = app.now_micros();
            // Paid online meanwhile, or another kiosk was quicker: this charge goes back.
            let credited =
                exitentry_storage::payments::mark_paid(&mut tx, &order.id, &provider_ref, now)
                    .await?
                    && on_paid(app, &mut tx, &subject(&a.id)).await?;
            if !credited {
                drop(tx);
                let mut conn = app.db.conn().await?;
                exitentry_storage::payments::refund_second_payment(
                    &mut conn,
                    &order.id,
                    &provider_ref,
                    now,
                )
                .await?;
                if method != "cash" {
                    app.providers
                        .payments()?
                        .refund(&order.id, a.fee_cents)
                        .await?;
                }
                audit::record(
                    app,
                    &mut conn,
                    actor,
                    "payment.refund",
                    &subject(&a.id),
                    json!({"order": order.id, "why": "no longer awaiting payment"}),
                )
                .await?;
                return Err(ServiceError::Conflict {
                    code: "not_awaiting_payment",
                    message:
                        "this application was paid or changed meanwhile; the charge is refunded"
                            .into(),
                });
            }
            audit::record(
                app,
                &mut tx,
                actor,
                "payment.paid",
                &subject(&a.id),
                json!({"order": order.id, "method": method}),
            )
            .await?;
            tx.commit().await.map_err(StorageError::from)?;
            Ok(())
        }
        crate::payments::ChargeOutcome::Declined { reason } => {
            let mut conn = app.db.conn().await?;
            exitentry_storage::payments::mark_failed(&mut conn, &order.id, app.now_micros())
                .await?;
            Err(ServiceError::Conflict {
                code: "payment_declined",
                message: format!("the payment was declined: {reason}"),
            })
        }
    }
}

/// The printer of a kiosk, behind a trait: the development double prints at once, or fails
/// when asked to (to try the retry and refund paths).
pub trait EndorsementPrinter: Send + Sync {
    fn print<'a>(
        &'a self,
        device: &'a str,
        text: &'a str,
    ) -> crate::providers::BoxFuture<'a, std::result::Result<(), String>>;
}

pub struct DevPrinter {
    pub fail: bool,
}

impl EndorsementPrinter for DevPrinter {
    fn print<'a>(
        &'a self,
        _device: &'a str,
        _text: &'a str,
    ) -> crate::providers::BoxFuture<'a, std::result::Result<(), String>> {
        Box::pin(async move {
            if self.fail {
                Err("paper jam".into())
            } else {
                Ok(())
            }
        })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Printed {
    pub application: ApplicationView,
    pub valid_from: String,
    pub valid_until: String,
    /// `printed`, or `failed` (try again; after the last attempt the fee is refunded).
    pub job_status: String,
    pub attempts: i64,
}

/// Prints a paid endorsement onto the card at this kiosk. The job is claimed first (one live
/// job per application), printed outside any transaction, then recorded: on success the
/// endorsement enters the registry; after the last failed attempt the fee is refunded.
pub async fn print(
    app: &App,
    device: &DeviceSession,
    printer: &dyn EndorsementPrinter,
    person_id: i64,
    id: &str,
) -> Result<Printed> {
    if device.kind != "kiosk" {
        return Err(ServiceError::Forbidden);
    }
    // A print interrupted more than five minutes ago (a crash mid-print) counts as failed.
    if own(app, person_id, id).await?.status == "printing" {
        let mut tx = app.db.begin().await?;
        let now = app.now_micros();
        store::release_interrupted(&mut tx, id, now - 300_000_000, now).await?;
        tx.commit().await.map_err(StorageError::from)?;
    }
    let a = own(app, person_id, id).await?;
    if a.status != "ready_to_print" {
        return Err(ServiceError::Conflict {
            code: "not_ready_to_print",
            message: format!("this application is {}", a.status),
        });
    }
    let today = app.today();
    if let Some(ready_on) = a.counter.ready_on.as_deref()
        && ready_on > today.to_string().as_str()
    {
        return Err(ServiceError::Conflict {
            code: "not_ready_yet",
            message: format!("this endorsement can be printed from {ready_on}"),
        });
    }
    // A stay (D) endorsement ends with its approval; the others run from the print day.
    let until = match a
        .counter
        .fixed_until
        .as_deref()
        .map(str::parse::<NaiveDate>)
    {
        Some(Ok(fixed)) => fixed,
        _ => rules::valid_until(today, u32::try_from(a.validity_months).unwrap_or(3))
            .unwrap_or(today),
    };
    // Days may have passed since the application (a payment waited, a counter application
    // prints days later): the card's rules are checked again on the print day, and what can
    // no longer be printed is refunded with its reason.
    let until = match print_day_check(app, &a, today, until).await? {
        Ok(until) => until,
        Err(refusal) => return Err(refuse_at_print(app, device, &a, refusal).await?),
    };
    let now = app.now_micros();
    // Reuse this application's failed job (a retry) or queue a new one.
    let job_id = {
        let mut tx = app.db.begin().await?;
        let id = match store::queue_print(&mut tx, &a.id, &device.name, now).await {
            Ok(j) => j,
            Err(StorageError::Conflict(_)) => {
                return Err(ServiceError::Conflict {
                    code: "already_printing",
                    message: "this endorsement is being printed or has been printed".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        store::job_transition(&mut tx, id, "queued", "printing", None, now).await?;
        // The application is printing now: it cannot be cancelled and refunded meanwhile.
        if !store::transition(&mut tx, &a.id, "ready_to_print", "printing", now).await? {
            return Err(ServiceError::Conflict {
                code: "not_ready_to_print",
                message: "this application changed meanwhile".into(),
            });
        }
        tx.commit().await.map_err(StorageError::from)?;
        id
    };
    let text = format!(
        "{} {} {} {}–{}",
        a.destination,
        a.kind,
        a.trips_allowed
            .map(|n| n.to_string())
            .unwrap_or_else(|| "multiple".into()),
        today,
        until
    );
    let outcome = printer.print(&device.name, &text).await;
    let mut tx = app.db.begin().await?;
    let previous_failures = store::failed_attempts(&mut tx, &a.id).await?;
    let mut back = None;
    let status = match outcome {
        Ok(()) => {
            store::job_transition(
                &mut tx,
                job_id,
                "printing",
                "printed",
                None,
                app.now_micros(),
            )
            .await?;
            let e = EndorsementRow {
                id: 0,
                document_id: a.document_id,
                destination: a.destination.clone(),
                kind: a.kind.clone(),
                trips_allowed: a.trips_allowed,
                trips_used: 0,
                valid_from: today.to_string(),
                valid_until: until.to_string(),
                stay_days: a.stay_days,
                status: "valid".into(),
                source: a.channel.clone(),
            };
            match endorsements_store::insert_one(&mut tx, &e, app.now_micros()).await? {
                Some(endorsement_id) => {
                    store::set_endorsement(&mut tx, &a.id, endorsement_id).await?;
                    store::transition(&mut tx, &a.id, "printing", "printed", app.now_micros())
                        .await?;
                }
                None => {
                    // The same endorsement is already on the card from today: give the fee back.
                    store::transition(&mut tx, &a.id, "printing", "refunded", app.now_micros())
                        .await?;
                    back = online_payments::refund(
                        app,
                        &mut tx,
                        &subject(&a.id),
                        "already on the card",
                    )
                    .await?;
                }
            }
            audit::record(
                app,
                &mut tx,
                &device.actor(),
                "endorsement.print",
                &subject(&a.id),
                json!({"valid_until": until.to_string()}),
            )
            .await?;
            "printed"
        }
        Err(err) => {
            store::job_transition(
                &mut tx,
                job_id,
                "printing",
                "failed",
                Some(&err),
                app.now_micros(),
            )
            .await?;
            audit::record(
                app,
                &mut tx,
                &device.actor(),
                "endorsement.print_failed",
                &subject(&a.id),
                json!({"error": err}),
            )
            .await?;
            if previous_failures + 1 >= app.config.endorsements.print_max_attempts {
                if store::transition(&mut tx, &a.id, "printing", "refunded", app.now_micros())
                    .await?
                {
                    back = online_payments::refund(app, &mut tx, &subject(&a.id), "print failed")
                        .await?;
                }
            } else {
                store::transition(
                    &mut tx,
                    &a.id,
                    "printing",
                    "ready_to_print",
                    app.now_micros(),
                )
                .await?;
            }
            "failed"
        }
    };
    tx.commit().await.map_err(StorageError::from)?;
    online_payments::give_back(app, back).await;
    Ok(Printed {
        application: view(&own(app, person_id, id).await?),
        valid_from: today.to_string(),
        valid_until: until.to_string(),
        job_status: status.into(),
        attempts: previous_failures + 1,
    })
}

/// The card's rules on the print day: still valid, outlasting the endorsement by more than
/// 20 days (when the rule applies to cards), and the endorsement never running past the
/// card. `Ok(until)` to print with, or the refusal.
async fn print_day_check(
    app: &App,
    a: &ApplicationRow,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<std::result::Result<NaiveDate, Invalid>> {
    let mut conn = app.db.conn().await?;
    let card = documents::get(&mut conn, a.document_id)
        .await?
        .ok_or(ServiceError::NotFound("document"))?;
    let status = effective_status(
        &app.policy,
        card.doc.kind,
        card.doc.status,
        card.doc.expires_on,
        today,
    );
    if status != DocumentStatus::Valid {
        return Ok(Err(Invalid::new(
            "card_not_valid",
            "the card is no longer valid; the fee is refunded",
        )));
    }
    if app.config.endorsements.twenty_day_rule_for_cards
        && !rules::permit_outlasts(card.doc.expires_on, until)
    {
        return Ok(Err(Invalid::new(
            "permit_expires_too_soon",
            "the permit must stay valid more than 20 days after the endorsement; the fee is refunded, renew the card first",
        )));
    }
    Ok(Ok(until.min(card.doc.expires_on)))
}

/// Refunds an application the print day's rules refuse, records why (the applicant sees
/// it), and returns the error the kiosk shows.
async fn refuse_at_print(
    app: &App,
    device: &DeviceSession,
    a: &ApplicationRow,
    refusal: Invalid,
) -> Result<ServiceError> {
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    if !store::transition(&mut tx, &a.id, "ready_to_print", "refunded", now).await? {
        return Ok(ServiceError::Conflict {
            code: "not_ready_to_print",
            message: "this application changed meanwhile".into(),
        });
    }
    store::set_refund_reason(&mut tx, &a.id, refusal.code).await?;
    let back = online_payments::refund(app, &mut tx, &subject(&a.id), refusal.code).await?;
    audit::record(
        app,
        &mut tx,
        &device.actor(),
        "endorsement.refused_at_print",
        &subject(&a.id),
        json!({"reason": refusal.code}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    online_payments::give_back(app, back).await;
    Ok(ServiceError::Conflict {
        code: refusal.code,
        message: refusal.message,
    })
}

/// Prints with the configured printer driver.
pub async fn print_here(
    app: &App,
    device: &DeviceSession,
    person_id: i64,
    id: &str,
) -> Result<Printed> {
    let printer = app.printer.clone().ok_or(ServiceError::Unavailable {
        code: "printer_not_configured",
        message: "no endorsement printer driver is configured for kiosks".into(),
    })?;
    print(app, device, printer.as_ref(), person_id, id).await
}

/// The kiosk fleet: every device with when it was last seen and its last print job.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KioskStatus {
    pub name: String,
    pub office_code: String,
    pub kind: String,
    pub disabled: bool,
    pub last_seen_at: Option<i64>,
    pub last_job: Option<String>,
    pub last_error: Option<String>,
    pub open_24h: bool,
    /// What the device last reported: `ok`, `low` or `out`.
    pub paper: String,
    pub ink: String,
}

pub async fn fleet(app: &App) -> Result<Vec<KioskStatus>> {
    let mut conn = app.db.conn().await?;
    let devices = exitentry_storage::centre::devices(&mut conn, None).await?;
    let jobs = store::latest_jobs(&mut conn).await?;
    let consumables = exitentry_storage::centre::device_consumables(&mut conn).await?;
    // One query for the offices, not one per device.
    let round_the_clock: std::collections::HashSet<String> = exitentry_storage::offices::list(
        &mut conn,
        &exitentry_storage::offices::OfficeFilter {
            open_24h: true,
            limit: 100_000,
            ..Default::default()
        },
    )
    .await?
    .0
    .into_iter()
    .map(|o| o.code.as_str().to_string())
    .collect();
    let mut out = Vec::new();
    for d in devices {
        let job = jobs.iter().find(|j| j.device == d.name);
        let levels = consumables.iter().find(|c| c.0 == d.name);
        let open_24h = round_the_clock.contains(&d.office_code);
        out.push(KioskStatus {
            name: d.name,
            office_code: d.office_code,
            kind: d.kind,
            disabled: d.disabled,
            last_seen_at: d.last_seen_at,
            last_job: job.map(|j| j.status.clone()),
            last_error: job.and_then(|j| j.error.clone()),
            open_24h,
            paper: levels.map(|c| c.1.clone()).unwrap_or_default(),
            ink: levels.map(|c| c.2.clone()).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Marks (or unmarks) the person with this identity number as registered state personnel,
/// who apply for endorsements through their unit, not online.
pub async fn set_state_personnel(app: &App, actor: &str, id_number: &str, yes: bool) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let found = people::by_id_number(&mut tx, &id_number.trim().to_ascii_uppercase()).await?;
    let [person] = found.as_slice() else {
        return Err(ServiceError::NotFound("person"));
    };
    store::set_state_personnel(&mut tx, person.id, yes).await?;
    audit::record(
        app,
        &mut tx,
        actor,
        if yes {
            "person.state_personnel"
        } else {
            "person.not_state_personnel"
        },
        &format!("person:{}", person.person.external_id),
        json!({}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}
