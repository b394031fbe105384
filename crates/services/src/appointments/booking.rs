//! Bookings through the channels: who may book, the one-active-booking rule, cancel and
//! reschedule before the cut-off, no-shows and the block they lead to, reminders.

use super::*;
use crate::OnConflict;
use crate::auth::StaffSession;
use crate::email::Lang;
use crate::holders::HolderSession;
use crate::input::RequiredText;
use crate::partners::PartnerContext;
use crate::providers::FaceSubject;
use crate::records;
use crate::sms::{self, Sms};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use exitentry_domain::centre::{Channel, NoShowRule};
use exitentry_domain::ids::{IdKind, IdentityNumber};
use exitentry_domain::office::Service;
use exitentry_domain::partners::Scope;
use exitentry_domain::states::{AppointmentState, PreApplicationState};
use exitentry_domain::time::cst;
use exitentry_storage::appointments::{self as store, AppointmentRow, SlotRow};
use exitentry_storage::{AnyConnection, from_micros, jobs, people};
use serde::Serialize;
use serde_json::json;

/// Who is booking: the applicant themselves, a channel integration, or staff at a desk.
pub enum Booker<'a> {
    Holder(&'a HolderSession),
    Partner(&'a PartnerContext),
    Staff(&'a StaffSession),
    /// An online applicant for the non-Chinese permit, after approval.
    Applicant(&'a crate::pre_applications::ApplicantSession),
}

impl Booker<'_> {
    fn actor(&self) -> String {
        match self {
            Booker::Holder(h) => h.actor(),
            Booker::Partner(p) => format!("partner:{}:{}", p.name, p.key_id),
            Booker::Staff(s) => s.actor(),
            Booker::Applicant(a) => a.actor(),
        }
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Applicant {
    pub id_kind: String,
    pub id_number: String,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct BookingRequest {
    pub office_code: String,
    pub service: String,
    /// RFC 3339, e.g. `2026-11-23T09:00:00+08:00`.
    pub slot_start: String,
    pub channel: String,
    /// Required for partners and staff; a holder books for themselves.
    pub applicant: Option<Applicant>,
    /// For the reminder (a holder's account number is used when absent).
    pub mobile: Option<String>,
    /// The live capture the mini program takes before booking.
    pub face_image: Option<Vec<u8>>,
    /// The language of the reminder (Simplified Chinese when not said).
    pub lang: Option<Lang>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppointmentView {
    pub appointment_id: String,
    pub reference: String,
    pub office_code: String,
    pub service: String,
    pub start: DateTime<chrono::FixedOffset>,
    pub end: DateTime<chrono::FixedOffset>,
    pub channel: String,
    pub status: AppointmentState,
    pub name: String,
    /// The identity number, masked.
    pub id_number: String,
    /// Until when it can still be cancelled or moved.
    pub changeable_until: DateTime<chrono::FixedOffset>,
}

pub(super) fn mask(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep = 2;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep || i >= chars.len() - keep {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

pub(super) fn view(app: &App, a: &AppointmentRow) -> AppointmentView {
    let cutoff = Duration::minutes(app.config.centre.cancel_cutoff_minutes);
    AppointmentView {
        appointment_id: a.id.clone(),
        reference: a.reference.clone(),
        office_code: a.office_code.clone(),
        service: a.service.clone(),
        start: from_micros(a.starts_at).with_timezone(&cst()),
        end: from_micros(a.ends_at).with_timezone(&cst()),
        channel: a.channel.clone(),
        status: a.status,
        name: a.name.clone(),
        id_number: mask(&a.id_number),
        changeable_until: (from_micros(a.starts_at) - cutoff).with_timezone(&cst()),
    }
}

/// Booking references: 10 characters without look-alikes, easy to type at a kiosk.
pub(super) fn new_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..10)
        .map(|_| ALPHABET[usize::from(rand::random::<u8>()) % ALPHABET.len()] as char)
        .collect()
}

pub(super) fn parse_slot_start(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ServiceError::bad_input(
                "slot_start",
                ErrorCode::BadSlotStart,
                "slot_start is a time such as 2026-11-23T09:00:00+08:00",
            )
        })
}

/// Moves a booked appointment on to `to` (checked in, cancelled), conditionally: of two
/// workers moving it at once, the second is told it has moved already.
pub(crate) async fn leave_booked(
    app: &App,
    conn: &mut AnyConnection,
    a: &AppointmentRow,
    to: AppointmentState,
) -> Result<()> {
    let from = AppointmentState::Booked;
    if store::set_status(conn, &a.id, from, to, app.now_micros()).await? {
        return Ok(());
    }
    Err(ServiceError::conflict(
        ErrorCode::NotActive,
        match to {
            AppointmentState::CheckedIn => "this appointment was just checked in",
            _ => "this appointment is no longer active",
        },
    ))
}

/// [`parse_slot_start`], for a slot that has not begun.
fn upcoming_slot_start(app: &App, s: &str) -> Result<DateTime<Utc>> {
    let start = parse_slot_start(s)?;
    if start <= app.now() {
        return Err(ServiceError::bad_input(
            "slot_start",
            ErrorCode::SlotInPast,
            "this slot has already begun",
        ));
    }
    Ok(start)
}

/// The first start a person may book or move to themselves: a slot inside the change cut-off
/// could be neither moved nor cancelled once booked, so it is not offered at all.
pub fn bookable_from(app: &App) -> DateTime<Utc> {
    app.now() + Duration::minutes(app.config.centre.cancel_cutoff_minutes)
}

/// Refuses, for a person booking or moving their own appointment, a slot inside the cut-off.
fn check_outside_cutoff(app: &App, booker: &Booker<'_>, start: DateTime<Utc>) -> Result<()> {
    let own = matches!(booker, Booker::Holder(_) | Booker::Applicant(_));
    if own && start < bookable_from(app) {
        return Err(ServiceError::bad_input(
            "slot_start",
            ErrorCode::SlotInsideCutoff,
            format!(
                "this slot starts within {} minutes and could not be changed; choose a later one",
                app.config.centre.cancel_cutoff_minutes
            ),
        ));
    }
    Ok(())
}

/// The slot of `service` starting at `start` at an office that offers the service.
async fn slot_offered(
    conn: &mut AnyConnection,
    office_code: &str,
    service: Service,
    start: DateTime<Utc>,
) -> Result<SlotRow> {
    let office = office_offering(conn, office_code, service).await?;
    store::slot_at(
        conn,
        office.code.as_str(),
        service.code(),
        start.timestamp_micros(),
    )
    .await?
    .ok_or_else(|| {
        ServiceError::bad_input(
            "slot_start",
            ErrorCode::NoSuchSlot,
            "there is no slot at this time",
        )
    })
}

/// The applicant's identity and what the registry knows of them.
pub(super) struct Who {
    pub(super) id_kind: String,
    pub(super) id_number: String,
    pub(super) name: String,
    pub(super) person_id: Option<i64>,
}

pub(super) fn not_approved() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::PreApplicationNotApproved,
        "this service is booked after the online pre-application is approved",
    )
}

/// The name of whom a partner or the staff book for.
const APPLICANT_NAME: RequiredText = RequiredText {
    field: "applicant.name",
    max: 100,
    code: ErrorCode::BadName,
    message: "a name of 1 to 100 characters",
};

pub(super) async fn applicant_for(
    app: &App,
    conn: &mut AnyConnection,
    booker: &Booker<'_>,
    req: &BookingRequest,
) -> Result<Who> {
    if let Booker::Applicant(a) = booker {
        // The identity is the one the approved pre-application was for.
        let approved = exitentry_storage::pre_applications::for_account(conn, a.account_id)
            .await?
            .into_iter()
            .find(|x| x.status == PreApplicationState::Approved)
            .ok_or_else(not_approved)?;
        // Only the identity's latest approval counts (as at the counter).
        let latest = crate::pre_applications::approved_for(
            conn,
            approved.id_kind.as_deref().unwrap_or_default(),
            approved.id_number.as_deref().unwrap_or_default(),
        )
        .await?;
        if latest.map(|x| x.id) != Some(approved.id.clone()) {
            return Err(not_approved());
        }
        let form: exitentry_domain::hrp::Form =
            serde_json::from_str(&approved.form).unwrap_or_default();
        return Ok(Who {
            id_kind: approved.id_kind.unwrap_or_default(),
            id_number: approved.id_number.unwrap_or_default(),
            name: form.name_latin,
            person_id: None,
        });
    }
    if let Booker::Holder(h) = booker {
        let p = records::person(conn, h.person_id).await?;
        return Ok(Who {
            id_kind: p.person.id_kind.code().to_string(),
            id_number: p.person.id_number.clone(),
            name: p.person.names.latin.clone(),
            person_id: Some(p.id),
        });
    }
    let a = req.applicant.as_ref().ok_or_else(|| {
        ServiceError::bad_input(
            "applicant",
            ErrorCode::ApplicantRequired,
            "say who the appointment is for",
        )
    })?;
    let kind = IdKind::parse(&a.id_kind).at_field("applicant.id_kind")?;
    let number =
        IdentityNumber::parse(kind, &a.id_number, app.today()).at_field("applicant.id_number")?;
    let name = APPLICANT_NAME.check(&a.name)?;
    let person_id = people::by_id_number(conn, number.as_str())
        .await?
        .into_iter()
        .find(|p| p.person.id_kind == kind)
        .map(|p| p.id);
    Ok(Who {
        id_kind: kind.code().to_string(),
        id_number: number.as_str().to_string(),
        name: name.to_string(),
        person_id,
    })
}

pub(super) fn channel_for(booker: &Booker<'_>, requested: &str) -> Result<Channel> {
    let asked = if requested.trim().is_empty() {
        None
    } else {
        Some(Channel::parse(requested).at_field("channel")?)
    };
    let allowed: &[Channel] = match booker {
        Booker::Holder(_) => &[Channel::Web, Channel::MiniProgram],
        Booker::Partner(_) => &[Channel::CityPolice],
        Booker::Staff(_) => &[Channel::Counter],
        Booker::Applicant(_) => &[Channel::Web],
    };
    match asked {
        None => Ok(allowed[0]),
        Some(c) if allowed.contains(&c) => Ok(c),
        Some(c) => Err(ServiceError::bad_input(
            "channel",
            ErrorCode::ChannelNotAllowed,
            format!("this caller cannot book through {}", c.code()),
        )),
    }
}

/// Books a slot. Rules: the office offers the service; the slot is open, ahead and within
/// the horizon; one active booking per person and service; no booking block from no-shows
/// on online channels; the mini program passes a face check first; never overbooked.
pub async fn book(app: &App, booker: Booker<'_>, req: &BookingRequest) -> Result<AppointmentView> {
    if let Booker::Partner(p) = &booker {
        p.require(Scope::BookAppointments)?;
    }
    let channel = channel_for(&booker, &req.channel)?;
    let service = parse_service(&req.service)?;
    let start = upcoming_slot_start(app, &req.slot_start)?;
    check_outside_cutoff(app, &booker, start)?;
    let now = app.now();
    if start > now + Duration::days(app.config.centre.booking_horizon_days) {
        return Err(ServiceError::bad_input(
            "slot_start",
            ErrorCode::SlotTooFar,
            "this slot is not open for booking yet",
        ));
    }
    let mobile = match (&req.mobile, &booker) {
        (Some(m), _) if !m.trim().is_empty() => Some(
            exitentry_domain::temporary_permit::MobileNumber::parse(m)
                .at_field("mobile")?
                .as_str()
                .to_string(),
        ),
        (_, Booker::Holder(h)) => Some(h.mobile.clone()),
        _ => None,
    };
    let who = {
        let mut conn = app.db.conn().await?;
        let who = applicant_for(app, &mut conn, &booker, req).await?;
        // The non-Chinese permit is booked only after its pre-application is approved.
        if service == Service::HrpNonChinese
            && crate::pre_applications::approved_for(&mut conn, &who.id_kind, &who.id_number)
                .await?
                .is_none()
        {
            return Err(not_approved());
        }
        if channel.is_online() {
            check_block(app, &mut conn, &who.id_kind, &who.id_number).await?;
        }
        who
    };
    if channel == Channel::MiniProgram {
        // Outside the transaction: the provider may be slow.
        let image = req
            .face_image
            .as_deref()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                ServiceError::bad_input(
                    "face_image",
                    ErrorCode::FaceCheckRequired,
                    "the mini program needs a face check first",
                )
            })?;
        let subject = FaceSubject {
            document_kind: who.id_kind.clone(),
            document_number: who.id_number.clone(),
        };
        if !app.providers.face()?.verify(&subject, image).await? {
            return Err(ServiceError::conflict(
                ErrorCode::FaceMismatch,
                "the face check did not match the photo on record",
            ));
        }
    }
    let mut tx = app.db.begin().await?;
    let slot = slot_offered(&mut tx, &req.office_code, service, start).await?;
    if store::active_for(&mut tx, &who.id_kind, &who.id_number, service.code())
        .await?
        .is_some()
    {
        return Err(already_booked());
    }
    if !store::take_place(&mut tx, slot.id).await? {
        return Err(ServiceError::conflict(
            ErrorCode::SlotFull,
            "this slot is fully booked",
        ));
    }
    let row = AppointmentRow {
        id: crate::tokens::random_token()[..24].to_string(),
        reference: new_reference(),
        slot_id: slot.id,
        office_code: slot.office_code.clone(),
        service: slot.service.clone(),
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        id_kind: who.id_kind,
        id_number: who.id_number,
        name: who.name,
        person_id: who.person_id,
        mobile,
        channel: channel.code().to_string(),
        booked_by: booker.actor(),
        status: AppointmentState::Booked,
        created_at: now.timestamp_micros(),
        checked_in_at: None,
    };
    store::insert(&mut tx, &row)
        .await
        .on_conflict(already_booked)?;
    schedule_reminder(app, &mut tx, &row, req.lang).await?;
    audit::record(
        app,
        &mut tx,
        &booker.actor(),
        "appointment.book",
        &format!("appointment:{}", row.id),
        json!({"office": row.office_code, "service": row.service, "slot": row.starts_at, "channel": row.channel}),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("exitentry_appointments_booked_total", "office" => row.office_code.clone(), "channel" => row.channel.clone())
        .increment(1);
    Ok(view(app, &row))
}

pub(super) fn already_booked() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::AlreadyBooked,
        "there is already an active appointment for this service; cancel or move it",
    )
}

pub(super) fn no_show_rule(app: &App) -> NoShowRule {
    NoShowRule {
        limit: app.config.centre.no_show_limit,
        window_days: app.config.centre.no_show_window_days,
        block_days: app.config.centre.no_show_block_days,
    }
}

/// Refuses online booking while repeated no-shows block it.
pub(super) async fn check_block(
    app: &App,
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<()> {
    let rule = no_show_rule(app);
    let today = app.today();
    let since = day_start_micros(today - Duration::days(rule.window_days));
    let dates: Vec<NaiveDate> = store::no_shows_since(conn, id_kind, id_number, since)
        .await?
        .into_iter()
        .map(|t| from_micros(t).with_timezone(&cst()).date_naive())
        .collect();
    if let Some(until) = rule.blocked_until(&dates, today) {
        return Err(ServiceError::limit_reached(
            ErrorCode::BookingBlocked,
            local_instant(until, NaiveTime::MIN),
        ));
    }
    Ok(())
}

/// The reminder goes out at the configured hour the day before, if that is still ahead.
pub(super) async fn schedule_reminder(
    app: &App,
    conn: &mut AnyConnection,
    a: &AppointmentRow,
    lang: Option<Lang>,
) -> Result<()> {
    if a.mobile.is_none() {
        return Ok(());
    }
    let day = from_micros(a.starts_at).with_timezone(&cst()).date_naive();
    let hour = NaiveTime::from_hms_opt(app.config.centre.reminder_hour.min(23), 0, 0)
        .unwrap_or(NaiveTime::MIN);
    let at = local_instant(day - Duration::days(1), hour);
    if at <= app.now() {
        return Ok(());
    }
    jobs::enqueue(
        conn,
        "appointment_reminder",
        &json!({"appointment_id": a.id, "lang": lang.unwrap_or(Lang::ZhHans).code()}).to_string(),
        at.timestamp_micros(),
        app.now_micros(),
    )
    .await?;
    Ok(())
}

/// Runs a reminder job: an SMS in the booker's language if the booking still stands.
pub async fn send_reminder(app: &App, appointment_id: &str, lang: Lang) -> Result<()> {
    let a = {
        let mut conn = app.db.conn().await?;
        store::get(&mut conn, appointment_id).await?
    };
    let Some(a) = a.filter(|a| a.status == AppointmentState::Booked) else {
        return Ok(());
    };
    let Some(to) = a.mobile.as_deref() else {
        return Ok(());
    };
    let start = from_micros(a.starts_at).with_timezone(&cst());
    let office = crate::offices::get(app, &a.office_code).await?;
    let text = sms::render(
        &Sms::Reminder {
            reference: &a.reference,
            office: &office,
            date: start.date_naive(),
            time: start.time(),
        },
        lang,
    );
    app.providers.sms()?.send(to, &text).await
}

/// Who may change a booking: its applicant (holder), the partner that made it, or staff.
pub(super) async fn owned(
    app: &App,
    conn: &mut AnyConnection,
    booker: &Booker<'_>,
    id: &str,
) -> Result<AppointmentRow> {
    let a = store::get(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("appointment"))?;
    let mine = match booker {
        Booker::Holder(h) => {
            let p = people::get(conn, h.person_id).await?;
            p.is_some_and(|p| {
                p.person.id_kind.code() == a.id_kind && p.person.id_number == a.id_number
            })
        }
        Booker::Partner(p) => {
            p.require(Scope::BookAppointments)?;
            a.booked_by.starts_with(&format!("partner:{}:", p.name))
        }
        Booker::Staff(_) => true,
        Booker::Applicant(x) => a.booked_by == x.actor(),
    };
    // Someone else's booking is "not found": ids are not to be probed.
    if !mine {
        return Err(ServiceError::NotFound("appointment"));
    }
    let _ = app;
    Ok(a)
}

pub(super) fn check_changeable(app: &App, a: &AppointmentRow) -> Result<()> {
    if a.status != AppointmentState::Booked {
        return Err(ServiceError::conflict(
            ErrorCode::NotActive,
            format!("this appointment is {}", a.status),
        ));
    }
    let cutoff =
        from_micros(a.starts_at) - Duration::minutes(app.config.centre.cancel_cutoff_minutes);
    if app.now() >= cutoff {
        return Err(ServiceError::conflict(
            ErrorCode::TooLateToChange,
            format!(
                "appointments can be changed until {} minutes before the slot",
                app.config.centre.cancel_cutoff_minutes
            ),
        ));
    }
    Ok(())
}

pub async fn cancel(app: &App, booker: Booker<'_>, id: &str) -> Result<AppointmentView> {
    let mut tx = app.db.begin().await?;
    let mut a = owned(app, &mut tx, &booker, id).await?;
    check_changeable(app, &a)?;
    leave_booked(app, &mut tx, &a, AppointmentState::Cancelled).await?;
    store::release_place(&mut tx, a.slot_id).await?;
    audit::record(
        app,
        &mut tx,
        &booker.actor(),
        "appointment.cancel",
        &format!("appointment:{}", a.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    a.status = AppointmentState::Cancelled;
    Ok(view(app, &a))
}

/// Moves a booking to another slot of the same service (at the same or another office).
pub async fn reschedule(
    app: &App,
    booker: Booker<'_>,
    id: &str,
    office_code: Option<&str>,
    slot_start: &str,
    lang: Option<Lang>,
) -> Result<AppointmentView> {
    let start = upcoming_slot_start(app, slot_start)?;
    let mut tx = app.db.begin().await?;
    let a = owned(app, &mut tx, &booker, id).await?;
    check_changeable(app, &a)?;
    check_outside_cutoff(app, &booker, start)?;
    let service = Service::parse(&a.service).map_err(|e| ServiceError::Internal(e.message))?;
    let office_code = office_code.unwrap_or(&a.office_code);
    let slot = slot_offered(&mut tx, office_code, service, start).await?;
    if slot.id == a.slot_id {
        return Ok(view(app, &a));
    }
    if !store::take_place(&mut tx, slot.id).await? {
        return Err(ServiceError::conflict(
            ErrorCode::SlotFull,
            "this slot is fully booked",
        ));
    }
    // Moved first, conditionally: of two racing changes only one releases the old place.
    if !store::move_to(&mut tx, &a.id, a.slot_id, &slot, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::NotActive,
            "this appointment changed meanwhile",
        ));
    }
    store::release_place(&mut tx, a.slot_id).await?;
    let moved = store::get(&mut tx, &a.id)
        .await?
        .ok_or(ServiceError::NotFound("appointment"))?;
    schedule_reminder(app, &mut tx, &moved, lang).await?;
    audit::record(
        app,
        &mut tx,
        &booker.actor(),
        "appointment.reschedule",
        &format!("appointment:{}", a.id),
        json!({"from": a.starts_at, "to": slot.starts_at, "office": slot.office_code}),
    )
    .await?;
    tx.commit().await?;
    Ok(view(app, &moved))
}

/// Marks bookings whose slot has ended without a check-in; returns how many.
pub async fn mark_no_shows(app: &App) -> Result<usize> {
    let mut tx = app.db.begin().await?;
    let marked = store::mark_no_shows(&mut tx, app.now_micros()).await?;
    for a in &marked {
        audit::record(
            app,
            &mut tx,
            "system",
            "appointment.no_show",
            &format!("appointment:{}", a.id),
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    for a in &marked {
        metrics::counter!("exitentry_appointments_no_show_total", "office" => a.office_code.clone()).increment(1);
    }
    Ok(marked.len())
}

/// A holder's own bookings, newest first.
pub async fn mine(app: &App, h: &HolderSession) -> Result<Vec<AppointmentView>> {
    let mut conn = app.db.conn().await?;
    let p = records::person(&mut conn, h.person_id).await?;
    let rows = store::for_identity(&mut conn, p.person.id_kind.code(), &p.person.id_number).await?;
    Ok(rows.iter().map(|a| view(app, a)).collect())
}

/// One booking, for its owner.
pub async fn get(app: &App, booker: Booker<'_>, id: &str) -> Result<AppointmentView> {
    let mut conn = app.db.conn().await?;
    let a = owned(app, &mut conn, &booker, id).await?;
    Ok(view(app, &a))
}

/// Whether online booking is blocked for the holder, and until when.
pub async fn holder_block(app: &App, h: &HolderSession) -> Result<Option<DateTime<Utc>>> {
    let mut conn = app.db.conn().await?;
    let p = records::person(&mut conn, h.person_id).await?;
    match check_block(app, &mut conn, p.person.id_kind.code(), &p.person.id_number).await {
        Ok(()) => Ok(None),
        Err(e) => match e.available_from() {
            Some(until) => Ok(Some(until)),
            None => Err(e),
        },
    }
}
