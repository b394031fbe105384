//! At the kiosk: identifying the holder by card, payment, printing onto the card under
//! the print-day rule, and the kiosk fleet.

use super::*;
use crate::ErrorCode;
use crate::OnConflict;
use crate::centre::DeviceSession;
use crate::online_payments::{self};
use crate::records;
use crate::{App, Result, ServiceError, audit};
use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::endorsements::{self as rules};
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::states::{EndorsementApplicationState as E, EndorsementState, PrintJobState};
use exitentry_storage::endorsement_applications::{self as store, ApplicationRow};
use exitentry_storage::endorsements::{self as endorsements_store, EndorsementRow};
use exitentry_storage::{documents, people};
use serde::Serialize;
use serde_json::json;

/// The card holder at a kiosk: the card's number (or its machine-readable line) and the
/// identity number must belong together.
pub async fn identify(
    app: &App,
    device: &DeviceSession,
    card: &str,
    id_number: &str,
) -> Result<i64> {
    device.require_kiosk()?;
    let number = card_number(card);
    let id_number = exitentry_domain::ids::squeeze(id_number);
    let mut conn = app.db.conn().await?;
    let found = documents::by_number(&mut conn, &number)
        .await?
        .into_iter()
        .find(|(d, p)| {
            d.doc.kind == DocumentKind::EepCard
                && crate::tokens::constant_time_eq(&p.person.id_number, &id_number)
        });
    match found {
        // Only a card valid today identifies its holder; one surrendered, reported lost or
        // expired is told as such (the holder typed both numbers, nothing is revealed).
        Some((d, _)) if app.document_status(&d.doc, app.today()) != DocumentStatus::Valid => Err(
            ServiceError::conflict(ErrorCode::CardNoLongerValid, "this card is no longer valid"),
        ),
        Some((d, _)) => Ok(d.doc.person_id),
        None => Err(ServiceError::conflict(
            ErrorCode::CardOrIdentityMismatch,
            "the card and the identity number do not match",
        )),
    }
}

/// The card number from what was typed or scanned: the number itself, or the first
/// `C…` token of nine characters in a machine-readable line.
pub fn card_number(input: &str) -> String {
    let up = exitentry_domain::ids::squeeze(input);
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
        return Err(ServiceError::bad_input(
            "method",
            ErrorCode::BadMethod,
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
    if a.status != E::AwaitingPayment {
        return Err(ServiceError::conflict(
            ErrorCode::NotAwaitingPayment,
            format!("this application is {}", a.status),
        ));
    }
    let order =
        online_payments::start_terminal(app, &subject(&a.id), method, a.fee.cents, actor).await?;
    let outcome = if method == "cash" {
        crate::counter_terminal::ChargeOutcome::Paid {
            provider_ref: format!("CASH-{}", &order.id[..8]),
        }
    } else {
        let charge = crate::counter_terminal::Charge {
            payment_id: order.id.clone(),
            method: method.into(),
            amount_cents: a.fee.cents,
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
                exitentry_storage::online_payments::mark_failed(
                    &mut conn,
                    &order.id,
                    app.now_micros(),
                )
                .await?;
                return Err(e);
            }
        }
    };
    match outcome {
        crate::counter_terminal::ChargeOutcome::Paid { provider_ref } => {
            let mut tx = app.db.begin().await?;
            let now = app.now_micros();
            // Paid online meanwhile, or another kiosk was quicker: this charge goes back.
            let credited = exitentry_storage::online_payments::mark_paid(
                &mut tx,
                &order.id,
                &provider_ref,
                now,
            )
            .await?
                && on_paid(app, &mut tx, &subject(&a.id)).await?;
            if !credited {
                drop(tx);
                let mut conn = app.db.conn().await?;
                exitentry_storage::online_payments::refund_second_payment(
                    &mut conn,
                    &order.id,
                    &provider_ref,
                    now,
                )
                .await?;
                if method != "cash" {
                    app.providers
                        .payments()?
                        .refund(&order.id, a.fee.cents)
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
                return Err(ServiceError::conflict(
                    ErrorCode::NotAwaitingPayment,
                    "this application was paid or changed meanwhile; the charge is refunded",
                ));
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
            tx.commit().await?;
            Ok(())
        }
        crate::counter_terminal::ChargeOutcome::Declined { reason } => {
            let mut conn = app.db.conn().await?;
            exitentry_storage::online_payments::mark_failed(&mut conn, &order.id, app.now_micros())
                .await?;
            Err(ServiceError::conflict(
                ErrorCode::PaymentDeclined,
                format!("the payment was declined: {reason}"),
            ))
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
    ) -> crate::BoxFuture<'a, std::result::Result<(), String>>;
}

pub struct DevPrinter {
    pub fail: bool,
}

impl EndorsementPrinter for DevPrinter {
    fn print<'a>(
        &'a self,
        _device: &'a str,
        _text: &'a str,
    ) -> crate::BoxFuture<'a, std::result::Result<(), String>> {
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
    /// `Printed`, or `Failed` (try again; after the last attempt the fee is refunded).
    pub job_status: PrintJobState,
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
    device.require_kiosk()?;
    // A print interrupted more than five minutes ago (a crash mid-print) counts as failed.
    if own(app, person_id, id).await?.status == E::Printing {
        let mut tx = app.db.begin().await?;
        let now = app.now_micros();
        store::release_interrupted(&mut tx, id, now - 300_000_000, now).await?;
        tx.commit().await?;
    }
    let a = own(app, person_id, id).await?;
    if a.status != E::ReadyToPrint {
        return Err(ServiceError::conflict(
            ErrorCode::NotReadyToPrint,
            format!("this application is {}", a.status),
        ));
    }
    let today = app.today();
    if let Some(ready_on) = a.counter.ready_on.as_deref()
        && ready_on > today.to_string().as_str()
    {
        return Err(ServiceError::conflict(
            ErrorCode::NotReadyYet,
            format!("this endorsement can be printed from {ready_on}"),
        ));
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
        let id = store::queue_print(&mut tx, &a.id, &device.name, now)
            .await
            .on_conflict(|| {
                ServiceError::conflict(
                    ErrorCode::AlreadyPrinting,
                    "this endorsement is being printed or has been printed",
                )
            })?;
        store::job_transition(
            &mut tx,
            id,
            PrintJobState::Queued,
            PrintJobState::Printing,
            None,
            now,
        )
        .await?;
        // The application is printing now: it cannot be cancelled and refunded meanwhile.
        if !store::transition(&mut tx, &a.id, E::ReadyToPrint, E::Printing, now).await? {
            return Err(ServiceError::conflict(
                ErrorCode::NotReadyToPrint,
                "this application changed meanwhile",
            ));
        }
        tx.commit().await?;
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
                PrintJobState::Printing,
                PrintJobState::Printed,
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
                status: EndorsementState::Valid,
                source: a.channel.clone(),
            };
            match endorsements_store::insert_one(&mut tx, &e, app.now_micros()).await? {
                Some(endorsement_id) => {
                    store::set_endorsement(&mut tx, &a.id, endorsement_id).await?;
                    store::transition(&mut tx, &a.id, E::Printing, E::Printed, app.now_micros())
                        .await?;
                }
                None => {
                    // The same endorsement is already on the card from today: give the fee back.
                    store::transition(&mut tx, &a.id, E::Printing, E::Refunded, app.now_micros())
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
            PrintJobState::Printed
        }
        Err(err) => {
            store::job_transition(
                &mut tx,
                job_id,
                PrintJobState::Printing,
                PrintJobState::Failed,
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
                if store::transition(&mut tx, &a.id, E::Printing, E::Refunded, app.now_micros())
                    .await?
                {
                    back = online_payments::refund(app, &mut tx, &subject(&a.id), "print failed")
                        .await?;
                }
            } else {
                store::transition(
                    &mut tx,
                    &a.id,
                    E::Printing,
                    E::ReadyToPrint,
                    app.now_micros(),
                )
                .await?;
            }
            PrintJobState::Failed
        }
    };
    tx.commit().await?;
    online_payments::give_back(app, back).await;
    Ok(Printed {
        application: view(&own(app, person_id, id).await?),
        valid_from: today.to_string(),
        valid_until: until.to_string(),
        job_status: status,
        attempts: previous_failures + 1,
    })
}

/// The card's rules on the print day: still valid, outlasting the endorsement by more than
/// 20 days (when the rule applies to cards), and the endorsement never running past the
/// card. `Ok(until)` to print with, or the refusal.
pub(super) async fn print_day_check(
    app: &App,
    a: &ApplicationRow,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<std::result::Result<NaiveDate, Invalid>> {
    let mut conn = app.db.conn().await?;
    let card = records::document(&mut conn, a.document_id).await?;
    let status = app.document_status(&card.doc, today);
    if status != DocumentStatus::Valid {
        return Ok(Err(Invalid::new(
            ErrorCode::CardNotValid,
            "the card is no longer valid; the fee is refunded",
        )));
    }
    if app.config.endorsements.twenty_day_rule_for_cards
        && !rules::permit_outlasts(card.doc.expires_on, until)
    {
        return Ok(Err(Invalid::new(
            ErrorCode::PermitExpiresTooSoon,
            "the permit must stay valid more than 20 days after the endorsement; the fee is refunded, renew the card first",
        )));
    }
    Ok(Ok(until.min(card.doc.expires_on)))
}

/// Refunds an application the print day's rules refuse, records why (the applicant sees
/// it), and returns the error the kiosk shows.
pub(super) async fn refuse_at_print(
    app: &App,
    device: &DeviceSession,
    a: &ApplicationRow,
    refusal: Invalid,
) -> Result<ServiceError> {
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    if !store::transition(&mut tx, &a.id, E::ReadyToPrint, E::Refunded, now).await? {
        return Ok(ServiceError::conflict(
            ErrorCode::NotReadyToPrint,
            "this application changed meanwhile",
        ));
    }
    store::set_refund_reason(&mut tx, &a.id, refusal.code.code()).await?;
    let back = online_payments::refund(app, &mut tx, &subject(&a.id), refusal.code.code()).await?;
    audit::record(
        app,
        &mut tx,
        &device.actor(),
        "endorsement.refused_at_print",
        &subject(&a.id),
        json!({"reason": refusal.code}),
    )
    .await?;
    tx.commit().await?;
    online_payments::give_back(app, back).await;
    Ok(ServiceError::conflict(refusal.code, refusal.message))
}

/// Prints with the configured printer driver.
pub async fn print_here(
    app: &App,
    device: &DeviceSession,
    person_id: i64,
    id: &str,
) -> Result<Printed> {
    let printer = app.printer.clone().ok_or(ServiceError::unavailable(
        ErrorCode::PrinterNotConfigured,
        "no endorsement printer driver is configured for kiosks",
    ))?;
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
            last_job: job.map(|j| j.status.code().to_string()),
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
    tx.commit().await?;
    Ok(())
}
