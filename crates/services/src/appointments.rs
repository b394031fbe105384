//! Appointments at service centres: opening slots from weekly templates and the calendar,
//! booking through the channels, cancelling and rescheduling before the cut-off, no-shows
//! and the booking block they lead to, and reminders the day before.

use crate::auth::StaffSession;
use crate::holders::HolderSession;
use crate::partners::PartnerContext;
use crate::providers::FaceSubject;
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use exitentry_domain::Invalid;
use exitentry_domain::centre::{
    self, Channel, NoShowRule, ROUND_THE_CLOCK_COUNTER_HOURS, TemplateLine,
};
use exitentry_domain::ids::{IdKind, IdentityNumber};
use exitentry_domain::office::{DEFAULT_OPENING_HOURS, HolidayCalendar, OfficeCode, Service};
use exitentry_domain::partners::Scope;
use exitentry_domain::temporary_permit::cst;
use exitentry_storage::appointments::{
    self as store, AppointmentRow, CalendarDay, SlotRow, TemplateRow,
};
use exitentry_storage::{AnyConnection, StorageError, from_micros, jobs, offices, people};
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;

/// Beijing local date and time → instant.
pub fn local_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    cst()
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_time(time).and_utc())
}

/// Start of a Beijing day as unix microseconds.
pub fn day_start_micros(date: NaiveDate) -> i64 {
    local_instant(date, NaiveTime::MIN).timestamp_micros()
}

fn bad(field: &'static str, code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

fn parse_service(s: &str) -> Result<Service> {
    let service = Service::parse(s).map_err(|e| ServiceError::invalid("service", e))?;
    if !service.bookable() {
        return Err(bad(
            "service",
            "not_bookable",
            "this service needs no appointment",
        ));
    }
    Ok(service)
}

async fn office_offering(
    conn: &mut AnyConnection,
    code: &str,
    service: Service,
) -> Result<exitentry_domain::office::Office> {
    let code = OfficeCode::parse(code).map_err(|e| ServiceError::invalid("office_code", e))?;
    let office = offices::get(conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    if !office.services.contains(&service) {
        return Err(bad(
            "service",
            "service_not_offered",
            format!("{} does not offer {}", office.code.as_str(), service.code()),
        ));
    }
    Ok(office)
}

/// The weekly template of a service at an office: the stored one, or one made from the
/// office's opening hours with slots as long as the service and one place per counter.
pub async fn template_for(
    conn: &mut AnyConnection,
    office: &exitentry_domain::office::Office,
    service: Service,
    capacity: Option<u32>,
) -> Result<Vec<TemplateLine>> {
    let stored = store::templates(conn, office.code.as_str(), Some(service.code())).await?;
    if !stored.is_empty() {
        return stored
            .iter()
            .map(|t| line_from_row(t, capacity))
            .collect::<Result<Vec<_>>>();
    }
    let counters = exitentry_storage::centre::office_settings(conn, office.code.as_str())
        .await?
        .map(|(c, _)| c)
        .unwrap_or(3);
    let hours = if office.open_24h {
        ROUND_THE_CLOCK_COUNTER_HOURS
    } else if office.opening_hours.trim().is_empty() {
        DEFAULT_OPENING_HOURS
    } else {
        office.opening_hours.as_str()
    };
    let capacity = capacity.unwrap_or(u32::try_from(counters).unwrap_or(3));
    centre::template_from_hours(hours, service.duration_minutes(), capacity)
        .map_err(|e| ServiceError::invalid("opening_hours", e))
}

fn line_from_row(t: &TemplateRow, capacity: Option<u32>) -> Result<TemplateLine> {
    let weekday = chrono::Weekday::try_from(u8::try_from(t.weekday - 1).unwrap_or(7))
        .map_err(|_| ServiceError::Internal(format!("stored weekday {}", t.weekday)))?;
    let time = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M")
            .map_err(|_| ServiceError::Internal(format!("stored time {s}")))
    };
    Ok(TemplateLine {
        weekday,
        opens: time(&t.opens)?,
        closes: time(&t.closes)?,
        slot_minutes: u32::try_from(t.slot_minutes).unwrap_or(15),
        capacity: capacity.unwrap_or(u32::try_from(t.capacity).unwrap_or(1)),
    })
}

/// Days without slots at an office: the public holidays of the calendar it follows and its
/// own closures (make-up working days are open).
async fn closed_days(
    conn: &mut AnyConnection,
    office: &exitentry_domain::office::Office,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashSet<NaiveDate>> {
    let days = store::calendar(
        conn,
        office.calendar.code(),
        Some(office.code.as_str()),
        &from.to_string(),
        &to.to_string(),
    )
    .await?;
    Ok(days
        .iter()
        .filter(|d| d.kind != "workday")
        .filter_map(|d| d.day.parse().ok())
        .collect())
}

/// The public holidays and make-up working days of the calendar an office follows (Hong
/// Kong's at a CTS centre), for counting working days there. An office missing from the
/// directory counts with the mainland's.
pub async fn working_calendar(
    conn: &mut AnyConnection,
    office_code: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(HashSet<NaiveDate>, HashSet<NaiveDate>)> {
    let calendar = match OfficeCode::parse(office_code) {
        Ok(code) => offices::get(conn, &code)
            .await?
            .map(|o| o.calendar)
            .unwrap_or(HolidayCalendar::Mainland),
        Err(_) => HolidayCalendar::Mainland,
    };
    let days = store::calendar(
        conn,
        calendar.code(),
        None,
        &from.to_string(),
        &to.to_string(),
    )
    .await?;
    let pick = |kind: &str| {
        days.iter()
            .filter(|d| d.kind == kind)
            .filter_map(|d| d.day.parse().ok())
            .collect()
    };
    Ok((pick("holiday"), pick("workday")))
}

#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    pub office_code: String,
    pub service: String,
    pub from: NaiveDate,
    pub days: u32,
    /// New slots (existing ones are left as they are).
    pub opened: u64,
}

/// Opens slots for `days` days from `from` from the office's template.
pub async fn open_slots(
    app: &App,
    actor: &str,
    office_code: &str,
    service: &str,
    from: NaiveDate,
    days: u32,
    capacity: Option<u32>,
) -> Result<Opened> {
    let service = Service::parse(service).map_err(|e| ServiceError::invalid("service", e))?;
    if !(1..=366).contains(&days) {
        return Err(bad("days", "bad_days", "open 1 to 366 days at a time"));
    }
    if capacity == Some(0) || capacity.is_some_and(|c| c > 500) {
        return Err(bad(
            "capacity",
            "bad_capacity",
            "capacity is 1 to 500 applicants per slot",
        ));
    }
    let mut tx = app.db.begin().await?;
    let office = office_offering(&mut tx, office_code, service).await?;
    let template = template_for(&mut tx, &office, service, capacity).await?;
    let to = from + Duration::days(i64::from(days));
    let closed = closed_days(&mut tx, &office, from, to).await?;
    let plan: Vec<(i64, i64, i64)> = centre::plan_slots(&template, from, days, &closed)
        .into_iter()
        .map(|p| {
            (
                local_instant(p.date, p.start).timestamp_micros(),
                local_instant(p.date, p.end).timestamp_micros(),
                i64::from(p.capacity),
            )
        })
        .collect();
    let opened = store::open_slots(&mut tx, office.code.as_str(), service.code(), &plan).await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "slots.open",
        &format!("office:{}", office.code.as_str()),
        json!({"service": service.code(), "from": from.to_string(), "days": days, "opened": opened}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Opened {
        office_code: office.code.as_str().to_string(),
        service: service.code().to_string(),
        from,
        days,
        opened,
    })
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlotView {
    pub start: DateTime<chrono::FixedOffset>,
    pub end: DateTime<chrono::FixedOffset>,
    pub capacity: i64,
    pub available: i64,
}

impl From<&SlotRow> for SlotView {
    fn from(s: &SlotRow) -> Self {
        SlotView {
            start: from_micros(s.starts_at).with_timezone(&cst()),
            end: from_micros(s.ends_at).with_timezone(&cst()),
            capacity: s.capacity,
            available: (s.capacity - s.booked).max(0),
        }
    }
}

/// Slots of a service at an office between two dates (inclusive), from now on.
pub async fn slots(
    app: &App,
    office_code: &str,
    service: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlotView>> {
    let service = parse_service(service)?;
    if to < from || (to - from).num_days() > 62 {
        return Err(bad(
            "to",
            "bad_range",
            "ask for at most 62 days, 'to' not before 'from'",
        ));
    }
    let mut conn = app.db.conn().await?;
    let office = office_offering(&mut conn, office_code, service).await?;
    let start = day_start_micros(from).max(app.now_micros());
    let end = day_start_micros(to + Duration::days(1));
    let rows = store::slots(&mut conn, office.code.as_str(), service.code(), start, end).await?;
    Ok(rows.iter().map(SlotView::from).collect())
}

/// Who is booking: the applicant themselves, a channel integration, or staff at a desk.
pub enum Booker<'a> {
    Holder(&'a HolderSession),
    Partner(&'a PartnerContext),
    Staff(&'a StaffSession),
    /// An online applicant for the non-Chinese permit, after approval.
    Applicant(&'a crate::hrp_applications::ApplicantSession),
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
    pub status: String,
    pub name: String,
    /// The identity number, masked.
    pub id_number: String,
    /// Until when it can still be cancelled or moved.
    pub changeable_until: DateTime<chrono::FixedOffset>,
}

fn mask(n: &str) -> String {
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

fn view(app: &App, a: &AppointmentRow) -> AppointmentView {
    let cutoff = Duration::minutes(app.config.centre.cancel_cutoff_minutes);
    AppointmentView {
        appointment_id: a.id.clone(),
        reference: a.reference.clone(),
        office_code: a.office_code.clone(),
        service: a.service.clone(),
        start: from_micros(a.starts_at).with_timezone(&cst()),
        end: from_micros(a.ends_at).with_timezone(&cst()),
        channel: a.channel.clone(),
        status: a.status.clone(),
        name: a.name.clone(),
        id_number: mask(&a.id_number),
        changeable_until: (from_micros(a.starts_at) - cutoff).with_timezone(&cst()),
    }
}

/// Booking references: 10 characters without look-alikes, easy to type at a kiosk.
fn new_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..10)
        .map(|_| ALPHABET[usize::from(rand::random::<u8>()) % ALPHABET.len()] as char)
        .collect()
}

fn parse_slot_start(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            bad(
                "slot_start",
                "bad_slot_start",
                "slot_start is a time such as 2026-11-23T09:00:00+08:00",
            )
        })
}

/// The applicant's identity and what the registry knows of them.
struct Who {
    id_kind: String,
    id_number: String,
    name: String,
    person_id: Option<i64>,
}

fn not_approved() -> ServiceError {
    ServiceError::Conflict {
        code: "pre_application_not_approved",
        message: "this service is booked after the online pre-application is approved".into(),
    }
}

async fn applicant_for(
    app: &App,
    conn: &mut AnyConnection,
    booker: &Booker<'_>,
    req: &BookingRequest,
) -> Result<Who> {
    if let Booker::Applicant(a) = booker {
        // The identity is the one the approved pre-application was for.
        let approved = exitentry_storage::hrp_applications::for_account(conn, a.account_id)
            .await?
            .into_iter()
            .find(|x| x.status == "approved")
            .ok_or_else(not_approved)?;
        // Only the identity's latest approval counts (as at the counter).
        let latest = crate::hrp_applications::approved_for(
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
        let p = people::get(conn, h.person_id)
            .await?
            .ok_or(ServiceError::NotFound("person"))?;
        return Ok(Who {
            id_kind: p.person.id_kind.code().to_string(),
            id_number: p.person.id_number.clone(),
            name: p.person.names.latin.clone(),
            person_id: Some(p.id),
        });
    }
    let a = req.applicant.as_ref().ok_or_else(|| {
        bad(
            "applicant",
            "applicant_required",
            "say who the appointment is for",
        )
    })?;
    let kind =
        IdKind::parse(&a.id_kind).map_err(|e| ServiceError::invalid("applicant.id_kind", e))?;
    let number = IdentityNumber::parse(kind, &a.id_number, app.today())
        .map_err(|e| ServiceError::invalid("applicant.id_number", e))?;
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad(
            "applicant.name",
            "bad_name",
            "a name of 1 to 100 characters",
        ));
    }
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

fn channel_for(booker: &Booker<'_>, requested: &str) -> Result<Channel> {
    let asked = if requested.trim().is_empty() {
        None
    } else {
        Some(Channel::parse(requested).map_err(|e| ServiceError::invalid("channel", e))?)
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
        Some(c) => Err(bad(
            "channel",
            "channel_not_allowed",
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
    let start = parse_slot_start(&req.slot_start)?;
    let now = app.now();
    if start <= now {
        return Err(bad(
            "slot_start",
            "slot_in_past",
            "this slot has already begun",
        ));
    }
    if start > now + Duration::days(app.config.centre.booking_horizon_days) {
        return Err(bad(
            "slot_start",
            "slot_too_far",
            "this slot is not open for booking yet",
        ));
    }
    let mobile = match (&req.mobile, &booker) {
        (Some(m), _) if !m.trim().is_empty() => Some(
            exitentry_domain::temporary_permit::MobileNumber::parse(m)
                .map_err(|e| ServiceError::invalid("mobile", e))?
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
            && crate::hrp_applications::approved_for(&mut conn, &who.id_kind, &who.id_number)
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
                bad(
                    "face_image",
                    "face_check_required",
                    "the mini program needs a face check first",
                )
            })?;
        let subject = FaceSubject {
            document_kind: who.id_kind.clone(),
            document_number: who.id_number.clone(),
        };
        if !app.providers.face()?.verify(&subject, image).await? {
            return Err(ServiceError::Conflict {
                code: "face_mismatch",
                message: "the face check did not match the photo on record".into(),
            });
        }
    }
    let mut tx = app.db.begin().await?;
    let office = office_offering(&mut tx, &req.office_code, service).await?;
    let slot = store::slot_at(
        &mut tx,
        office.code.as_str(),
        service.code(),
        start.timestamp_micros(),
    )
    .await?
    .ok_or_else(|| {
        bad(
            "slot_start",
            "no_such_slot",
            "there is no slot at this time",
        )
    })?;
    if store::active_for(&mut tx, &who.id_kind, &who.id_number, service.code())
        .await?
        .is_some()
    {
        return Err(already_booked());
    }
    if !store::take_place(&mut tx, slot.id).await? {
        return Err(ServiceError::Conflict {
            code: "slot_full",
            message: "this slot is fully booked".into(),
        });
    }
    let row = AppointmentRow {
        id: crate::auth::random_token()[..24].to_string(),
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
        status: "booked".into(),
        created_at: now.timestamp_micros(),
        checked_in_at: None,
    };
    match store::insert(&mut tx, &row).await {
        Err(StorageError::Conflict(_)) => return Err(already_booked()),
        other => other?,
    }
    schedule_reminder(app, &mut tx, &row).await?;
    audit::record(
        app,
        &mut tx,
        &booker.actor(),
        "appointment.book",
        &format!("appointment:{}", row.id),
        json!({"office": row.office_code, "service": row.service, "slot": row.starts_at, "channel": row.channel}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    metrics::counter!("exitentry_appointments_booked_total", "office" => row.office_code.clone(), "channel" => row.channel.clone())
        .increment(1);
    Ok(view(app, &row))
}

fn already_booked() -> ServiceError {
    ServiceError::Conflict {
        code: "already_booked",
        message: "there is already an active appointment for this service; cancel or move it"
            .into(),
    }
}

fn no_show_rule(app: &App) -> NoShowRule {
    NoShowRule {
        limit: app.config.centre.no_show_limit,
        window_days: app.config.centre.no_show_window_days,
        block_days: app.config.centre.no_show_block_days,
    }
}

/// Refuses online booking while repeated no-shows block it.
async fn check_block(
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
        return Err(ServiceError::LimitReached {
            code: "booking_blocked",
            until: local_instant(until, NaiveTime::MIN),
        });
    }
    Ok(())
}

/// The reminder goes out at the configured hour the day before, if that is still ahead.
async fn schedule_reminder(app: &App, conn: &mut AnyConnection, a: &AppointmentRow) -> Result<()> {
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
        &json!({"appointment_id": a.id}).to_string(),
        at.timestamp_micros(),
        app.now_micros(),
    )
    .await?;
    Ok(())
}

/// Runs a reminder job: an SMS if the booking still stands.
pub async fn send_reminder(app: &App, appointment_id: &str) -> Result<()> {
    let a = {
        let mut conn = app.db.conn().await?;
        store::get(&mut conn, appointment_id).await?
    };
    let Some(a) = a.filter(|a| a.status == "booked") else {
        return Ok(());
    };
    let Some(to) = a.mobile.as_deref() else {
        return Ok(());
    };
    let start = from_micros(a.starts_at).with_timezone(&cst());
    let text = format!(
        "【出入境】预约提醒：{} {} 在 {} 办理 {}，预约号 {}。Reminder: appointment {} at {} on {}.",
        start.format("%Y-%m-%d"),
        start.format("%H:%M"),
        a.office_code,
        a.service,
        a.reference,
        a.reference,
        a.office_code,
        start.format("%Y-%m-%d %H:%M"),
    );
    app.providers.sms()?.send(to, &text).await
}

/// Who may change a booking: its applicant (holder), the partner that made it, or staff.
async fn owned(
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

fn check_changeable(app: &App, a: &AppointmentRow) -> Result<()> {
    if a.status != "booked" {
        return Err(ServiceError::Conflict {
            code: "not_active",
            message: format!("this appointment is {}", a.status),
        });
    }
    let cutoff =
        from_micros(a.starts_at) - Duration::minutes(app.config.centre.cancel_cutoff_minutes);
    if app.now() >= cutoff {
        return Err(ServiceError::Conflict {
            code: "too_late_to_change",
            message: format!(
                "appointments can be changed until {} minutes before the slot",
                app.config.centre.cancel_cutoff_minutes
            ),
        });
    }
    Ok(())
}

pub async fn cancel(app: &App, booker: Booker<'_>, id: &str) -> Result<AppointmentView> {
    let mut tx = app.db.begin().await?;
    let mut a = owned(app, &mut tx, &booker, id).await?;
    check_changeable(app, &a)?;
    if !store::set_status(&mut tx, &a.id, "booked", "cancelled", app.now_micros()).await? {
        return Err(ServiceError::Conflict {
            code: "not_active",
            message: "this appointment is no longer active".into(),
        });
    }
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
    tx.commit().await.map_err(StorageError::from)?;
    a.status = "cancelled".into();
    Ok(view(app, &a))
}

/// Moves a booking to another slot of the same service (at the same or another office).
pub async fn reschedule(
    app: &App,
    booker: Booker<'_>,
    id: &str,
    office_code: Option<&str>,
    slot_start: &str,
) -> Result<AppointmentView> {
    let start = parse_slot_start(slot_start)?;
    if start <= app.now() {
        return Err(bad(
            "slot_start",
            "slot_in_past",
            "this slot has already begun",
        ));
    }
    let mut tx = app.db.begin().await?;
    let a = owned(app, &mut tx, &booker, id).await?;
    check_changeable(app, &a)?;
    let service = Service::parse(&a.service).map_err(|e| ServiceError::Internal(e.message))?;
    let office = office_offering(&mut tx, office_code.unwrap_or(&a.office_code), service).await?;
    let slot = store::slot_at(
        &mut tx,
        office.code.as_str(),
        &a.service,
        start.timestamp_micros(),
    )
    .await?
    .ok_or_else(|| {
        bad(
            "slot_start",
            "no_such_slot",
            "there is no slot at this time",
        )
    })?;
    if slot.id == a.slot_id {
        return Ok(view(app, &a));
    }
    if !store::take_place(&mut tx, slot.id).await? {
        return Err(ServiceError::Conflict {
            code: "slot_full",
            message: "this slot is fully booked".into(),
        });
    }
    // Moved first, conditionally: of two racing changes only one releases the old place.
    if !store::move_to(&mut tx, &a.id, a.slot_id, &slot, app.now_micros()).await? {
        return Err(ServiceError::Conflict {
            code: "not_active",
            message: "this appointment changed meanwhile".into(),
        });
    }
    store::release_place(&mut tx, a.slot_id).await?;
    let moved = store::get(&mut tx, &a.id)
        .await?
        .ok_or(ServiceError::NotFound("appointment"))?;
    schedule_reminder(app, &mut tx, &moved).await?;
    audit::record(
        app,
        &mut tx,
        &booker.actor(),
        "appointment.reschedule",
        &format!("appointment:{}", a.id),
        json!({"from": a.starts_at, "to": slot.starts_at, "office": slot.office_code}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
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
    tx.commit().await.map_err(StorageError::from)?;
    for a in &marked {
        metrics::counter!("exitentry_appointments_no_show_total", "office" => a.office_code.clone()).increment(1);
    }
    Ok(marked.len())
}

/// A holder's own bookings, newest first.
pub async fn mine(app: &App, h: &HolderSession) -> Result<Vec<AppointmentView>> {
    let mut conn = app.db.conn().await?;
    let p = people::get(&mut conn, h.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
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
    let p = people::get(&mut conn, h.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    match check_block(app, &mut conn, p.person.id_kind.code(), &p.person.id_number).await {
        Ok(()) => Ok(None),
        Err(e) => match e.available_from() {
            Some(until) => Ok(Some(until)),
            None => Err(e),
        },
    }
}

// ---- administration: templates and the calendar ----

/// Sets the weekly template of a service at an office from opening-hours text.
pub async fn set_template(
    app: &App,
    staff: &StaffSession,
    office_code: &str,
    service: &str,
    hours: &str,
    slot_minutes: u32,
    capacity: u32,
) -> Result<usize> {
    staff.require(exitentry_domain::staff::Permission::ManageCentre)?;
    let service = parse_service(service)?;
    let lines = centre::template_from_hours(hours, slot_minutes, capacity)
        .map_err(|e| ServiceError::invalid("hours", e))?;
    let mut tx = app.db.begin().await?;
    let office = office_offering(&mut tx, office_code, service).await?;
    let rows: Vec<TemplateRow> = lines
        .iter()
        .map(|l| TemplateRow {
            office_code: office.code.as_str().to_string(),
            service: service.code().to_string(),
            weekday: i64::from(l.weekday.number_from_monday()),
            opens: l.opens.format("%H:%M").to_string(),
            closes: l.closes.format("%H:%M").to_string(),
            slot_minutes: i64::from(l.slot_minutes),
            capacity: i64::from(l.capacity),
        })
        .collect();
    store::set_template(
        &mut tx,
        office.code.as_str(),
        service.code(),
        &rows,
        app.now_micros(),
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "slots.template",
        &format!("office:{}", office.code.as_str()),
        json!({"service": service.code(), "hours": hours, "slot_minutes": slot_minutes, "capacity": capacity}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(rows.len())
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    pub service: String,
    /// `stored` or `default` (from the opening hours).
    pub source: &'static str,
    pub lines: Vec<String>,
}

/// The templates of every bookable service an office offers.
pub async fn templates(app: &App, office_code: &str) -> Result<Vec<TemplateView>> {
    let mut conn = app.db.conn().await?;
    let code =
        OfficeCode::parse(office_code).map_err(|e| ServiceError::invalid("office_code", e))?;
    let office = offices::get(&mut conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    let mut out = Vec::new();
    for service in office.services.iter().copied().filter(|s| s.bookable()) {
        let stored = !store::templates(&mut conn, office.code.as_str(), Some(service.code()))
            .await?
            .is_empty();
        let lines = template_for(&mut conn, &office, service, None).await?;
        out.push(TemplateView {
            service: service.code().to_string(),
            source: if stored { "stored" } else { "default" },
            lines: lines
                .iter()
                .map(|l| {
                    format!(
                        "{} {}-{} · {} min · {}",
                        l.weekday,
                        l.opens.format("%H:%M"),
                        l.closes.format("%H:%M"),
                        l.slot_minutes,
                        l.capacity
                    )
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Where a calendar day applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayScope<'a> {
    /// A public holiday or make-up working day at every office following this holiday
    /// calendar (`mainland`, `hong_kong`).
    Calendar(&'a str),
    /// One office's own day (a closure), by office code.
    Office(&'a str),
}

impl DayScope<'_> {
    /// `(calendar, office_code)` as stored: exactly one of them is set.
    fn keys(&self) -> Result<(String, String)> {
        match self {
            DayScope::Calendar(c) => {
                let c =
                    HolidayCalendar::parse(c).map_err(|e| ServiceError::invalid("calendar", e))?;
                Ok((c.code().to_string(), String::new()))
            }
            DayScope::Office(o) => {
                let code =
                    OfficeCode::parse(o).map_err(|e| ServiceError::invalid("office_code", e))?;
                Ok((String::new(), code.as_str().to_string()))
            }
        }
    }
}

/// Adds a public holiday or make-up working day to a holiday calendar, or a closure to one
/// office; removes the unbooked slots of a closed day at the offices it closes. Returns
/// slots removed and booked slots left (whose applicants staff must contact).
pub async fn put_day(
    app: &App,
    staff: &StaffSession,
    day: &str,
    scope: DayScope<'_>,
    kind: &str,
    name: &str,
) -> Result<(u64, i64)> {
    staff.require(exitentry_domain::staff::Permission::ManageCentre)?;
    let date: NaiveDate = day
        .trim()
        .parse()
        .map_err(|_| bad("day", "bad_date", "a date is YYYY-MM-DD"))?;
    let ok = matches!(
        (kind, scope),
        ("holiday" | "workday", DayScope::Calendar(_)) | ("closure", DayScope::Office(_))
    );
    if !ok {
        return Err(bad(
            "kind",
            "bad_day_kind",
            "public holidays and make-up working days belong to a holiday calendar; a closure names an office",
        ));
    }
    let (calendar, office) = scope.keys()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad(
            "name",
            "bad_name",
            "give the day a name of 1 to 100 characters",
        ));
    }
    let mut tx = app.db.begin().await?;
    if !office.is_empty() {
        let code =
            OfficeCode::parse(&office).map_err(|e| ServiceError::invalid("office_code", e))?;
        offices::get(&mut tx, &code)
            .await?
            .ok_or(ServiceError::NotFound("office"))?;
    }
    store::put_day(
        &mut tx,
        &CalendarDay {
            day: date.to_string(),
            calendar: calendar.clone(),
            office_code: office.clone(),
            kind: kind.to_string(),
            name: name.to_string(),
        },
        app.now_micros(),
    )
    .await?;
    let (from, to) = (
        day_start_micros(date),
        day_start_micros(date + Duration::days(1)),
    );
    let result = match kind {
        "closure" => store::close_slots(&mut tx, &office, from, to).await?,
        "holiday" => store::close_slots_in_calendar(&mut tx, &calendar, from, to).await?,
        _ => (0, 0),
    };
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "calendar.put",
        &format!("calendar:{date}"),
        json!({"calendar": calendar, "office": office, "kind": kind, "name": name, "slots_removed": result.0}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(result)
}

pub async fn remove_day(
    app: &App,
    staff: &StaffSession,
    day: &str,
    scope: DayScope<'_>,
) -> Result<bool> {
    staff.require(exitentry_domain::staff::Permission::ManageCentre)?;
    let (calendar, office) = scope.keys()?;
    let mut tx = app.db.begin().await?;
    let removed = store::remove_day(&mut tx, day.trim(), &calendar, &office).await?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "calendar.remove",
        &format!("calendar:{}", day.trim()),
        json!({"calendar": calendar, "office": office}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(removed)
}

/// An office's calendar from today for the next `days` days: the days of the holiday
/// calendar it follows and its own. Also returns that calendar.
pub async fn calendar(
    app: &App,
    office_code: &str,
    days: i64,
) -> Result<(HolidayCalendar, Vec<CalendarDay>)> {
    let mut conn = app.db.conn().await?;
    let code =
        OfficeCode::parse(office_code).map_err(|e| ServiceError::invalid("office_code", e))?;
    let office = offices::get(&mut conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    let from = app.today();
    let to = from + Duration::days(days);
    let list = store::calendar(
        &mut conn,
        office.calendar.code(),
        Some(office.code.as_str()),
        &from.to_string(),
        &to.to_string(),
    )
    .await?;
    Ok((office.calendar, list))
}
