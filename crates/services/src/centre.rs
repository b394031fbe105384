//! In the building: check-in and walk-in tickets, the photo station, the queue and the
//! call display, counter acceptance, payment, the receipt, processing, and collection at
//! a kiosk. Every step is audited with the clerk or device that did it.

use crate::appointments::{day_start_micros, working_calendar};
use crate::auth::{StaffSession, constant_time_eq, random_token, token_hash};
use crate::payments::{Charge, ChargeOutcome};
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use exitentry_domain::Invalid;
use exitentry_domain::centre::{self, add_working_days};
use exitentry_domain::document::{DocumentStatus, age_on, expiry_for_issue};
use exitentry_domain::office::{OfficeCode, Service};
use exitentry_domain::products::{self, Currency, IssueReason, Money, Product};
use exitentry_domain::staff::Permission;
use exitentry_domain::temporary_permit::cst;
use exitentry_storage::appointments as appts;
use exitentry_storage::centre::{
    self as store, ApplicationRow, NewTicket, PaymentRow, PhotoRow, TicketRow,
};
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::{AnyConnection, StorageError, from_micros, offices, people};
use serde::Serialize;
use serde_json::json;

fn bad(field: &'static str, code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Conflict {
        code,
        message: message.into(),
    }
}

fn local(t: i64) -> DateTime<FixedOffset> {
    from_micros(t).with_timezone(&cst())
}

// ---- devices ----

pub const DEVICE_KINDS: [&str; 2] = ["kiosk", "ticket_printer"];

/// A kiosk or ticket printer, signed in with its device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    pub id: i64,
    pub name: String,
    pub office_code: String,
    pub kind: String,
}

impl DeviceSession {
    pub fn actor(&self) -> String {
        format!("device:{}", self.name)
    }
}

/// Registers a device bound to an office; returns the token to enter on it (shown once).
pub async fn create_device(
    app: &App,
    actor: &str,
    office: &str,
    name: &str,
    kind: &str,
) -> Result<(DeviceSession, String)> {
    if !DEVICE_KINDS.contains(&kind) {
        return Err(bad(
            "kind",
            "bad_device_kind",
            "a device is a kiosk or a ticket_printer",
        ));
    }
    let name = exitentry_domain::staff::parse_username(name).map_err(|_| {
        bad(
            "name",
            "bad_device_name",
            "a device name is 3-32 letters, digits, '.', '_' or '-'",
        )
    })?;
    let code = OfficeCode::parse(office).map_err(|e| ServiceError::invalid("office", e))?;
    let token = random_token();
    let mut tx = app.db.begin().await?;
    offices::get(&mut tx, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    let id = match store::insert_device(
        &mut tx,
        &name,
        code.as_str(),
        kind,
        &token_hash(&token),
        app.now_micros(),
    )
    .await
    {
        Err(StorageError::Conflict(_)) => {
            return Err(conflict(
                "device_exists",
                format!("a device named {name} exists"),
            ));
        }
        other => other?,
    };
    audit::record(
        app,
        &mut tx,
        actor,
        "device.create",
        &format!("device:{name}"),
        json!({"office": code.as_str(), "kind": kind}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((
        DeviceSession {
            id,
            name,
            office_code: code.as_str().to_string(),
            kind: kind.to_string(),
        },
        token,
    ))
}

/// The device a token belongs to (enabled devices only).
pub async fn device_session(app: &App, token: &str) -> Result<Option<DeviceSession>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let mut conn = app.db.conn().await?;
    Ok(
        store::device_by_token(&mut conn, &token_hash(token), app.now_micros())
            .await?
            .map(|d| DeviceSession {
                id: d.id,
                name: d.name,
                office_code: d.office_code,
                kind: d.kind,
            }),
    )
}

pub async fn set_device_disabled(app: &App, actor: &str, name: &str, disabled: bool) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::set_device_disabled(&mut tx, name, disabled).await? {
        return Err(ServiceError::NotFound("device"));
    }
    audit::record(
        app,
        &mut tx,
        actor,
        if disabled {
            "device.disable"
        } else {
            "device.enable"
        },
        &format!("device:{name}"),
        json!({}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// A kiosk reports its paper and ink (`ok`, `low` or `out`); shown on the fleet page and
/// audited when something runs out.
pub async fn report_status(
    app: &App,
    device: &DeviceSession,
    paper: &str,
    ink: &str,
) -> Result<()> {
    const LEVELS: [&str; 3] = ["ok", "low", "out"];
    for (field, v) in [("paper", paper), ("ink", ink)] {
        if !LEVELS.contains(&v) {
            return Err(bad(field, "bad_level", "a level is ok, low or out"));
        }
    }
    let mut tx = app.db.begin().await?;
    store::set_device_status(&mut tx, device.id, paper, ink, app.now_micros()).await?;
    if paper == "out" || ink == "out" {
        audit::record(
            app,
            &mut tx,
            &device.actor(),
            "device.fault",
            &format!("device:{}", device.name),
            json!({"paper": paper, "ink": ink}),
        )
        .await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

pub async fn devices(app: &App, office: Option<&str>) -> Result<Vec<store::DeviceRow>> {
    let mut conn = app.db.conn().await?;
    Ok(store::devices(&mut conn, office).await?)
}

// ---- tickets ----

/// Who hands out tickets: a clerk at the enquiry desk or a ticket printer.
pub enum Desk<'a> {
    Staff(&'a StaffSession),
    Device(&'a DeviceSession),
}

impl Desk<'_> {
    fn office(&self) -> Result<String> {
        match self {
            Desk::Staff(s) => {
                s.require(Permission::ServeCounter)?;
                s.office_code.clone().ok_or_else(no_office)
            }
            Desk::Device(d) => Ok(d.office_code.clone()),
        }
    }

    fn actor(&self) -> String {
        match self {
            Desk::Staff(s) => s.actor(),
            Desk::Device(d) => d.actor(),
        }
    }
}

fn no_office() -> ServiceError {
    conflict("no_office", "this account is not assigned to an office")
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TicketView {
    pub id: i64,
    pub label: String,
    pub service: String,
    pub office_code: String,
    pub status: String,
    pub counter: Option<String>,
    pub issued_at: DateTime<FixedOffset>,
    pub waiting_before: i64,
    pub appointment_reference: Option<String>,
    /// The applicant, when known (appointment or acceptance): name and masked id.
    pub applicant: Option<String>,
    pub person_id: Option<i64>,
}

async fn ticket_view(conn: &mut AnyConnection, t: &TicketRow) -> Result<TicketView> {
    let all = store::tickets_on(conn, &t.office_code, &t.day).await?;
    let waiting_before = all
        .iter()
        .filter(|o| o.status == "waiting" && o.service == t.service && o.id != t.id)
        .filter(|o| (o.priority, -o.issued_at) > (t.priority, -t.issued_at))
        .count() as i64;
    let appointment = match &t.appointment_id {
        Some(id) => appts::get(conn, id).await?,
        None => None,
    };
    let applicant = appointment.as_ref().map(|a| a.name.clone());
    Ok(TicketView {
        id: t.id,
        label: t.label.clone(),
        service: t.service.clone(),
        office_code: t.office_code.clone(),
        status: t.status.clone(),
        counter: t.counter.clone(),
        issued_at: local(t.issued_at),
        waiting_before,
        appointment_reference: appointment.map(|a| a.reference),
        applicant,
        person_id: t.person_id,
    })
}

/// Who a new ticket is for and where it goes in the queue.
struct TicketFor<'a> {
    appointment_id: Option<&'a str>,
    person_id: Option<i64>,
    priority: i64,
}

async fn issue_ticket(
    app: &App,
    conn: &mut AnyConnection,
    office: &str,
    service: Service,
    who: TicketFor<'_>,
    by: &str,
) -> Result<TicketRow> {
    let day = app.today().to_string();
    let prefix = service.ticket_prefix().to_string();
    let n = store::next_number(conn, office, &day, &prefix).await?;
    let label = centre::ticket_label(service.ticket_prefix(), n);
    Ok(store::insert_ticket(
        conn,
        &NewTicket {
            office_code: office,
            day: &day,
            service: service.code(),
            label: &label,
            appointment_id: who.appointment_id,
            person_id: who.person_id,
            priority: who.priority,
            issued_by: by,
        },
        app.now_micros(),
    )
    .await?)
}

async fn is_elderly(app: &App, conn: &mut AnyConnection, person_id: Option<i64>) -> Result<bool> {
    let age = app.config.centre.priority_age;
    if age <= 0 {
        return Ok(false);
    }
    Ok(match person_id {
        Some(id) => people::get(conn, id)
            .await?
            .is_some_and(|p| age_on(p.person.date_of_birth, app.today()) >= age),
        None => false,
    })
}

/// Checks in a booking by its reference (scanned from the confirmation's QR or typed) and
/// hands out its queue ticket. Only on the booked day, at the booked office.
pub async fn check_in(app: &App, desk: Desk<'_>, reference: &str) -> Result<TicketView> {
    let office = desk.office()?;
    let reference = reference.trim().to_ascii_uppercase();
    let mut tx = app.db.begin().await?;
    let a = appts::by_reference(&mut tx, &reference)
        .await?
        .ok_or(ServiceError::NotFound("appointment"))?;
    if a.office_code != office {
        return Err(conflict(
            "wrong_office",
            format!("this appointment is at {}", a.office_code),
        ));
    }
    if a.status == "checked_in" {
        let t = store::ticket_for_appointment(&mut tx, &a.id)
            .await?
            .ok_or(ServiceError::NotFound("ticket"))?;
        return ticket_view(&mut tx, &t).await;
    }
    if a.status != "booked" {
        return Err(conflict(
            "not_active",
            format!("this appointment is {}", a.status),
        ));
    }
    let day = local(a.starts_at).date_naive();
    if day != app.today() {
        return Err(conflict(
            "wrong_day",
            format!("this appointment is on {day}"),
        ));
    }
    let service = Service::parse(&a.service).map_err(|e| ServiceError::Internal(e.message))?;
    let elderly = is_elderly(app, &mut tx, a.person_id).await?;
    let priority = centre::ticket_priority(app.config.centre.priority_for_appointments, elderly);
    // Two scans at once (desk and ticket printer): one ticket.
    if !appts::set_status(&mut tx, &a.id, "booked", "checked_in", app.now_micros()).await? {
        return Err(conflict(
            "not_active",
            "this appointment was just checked in",
        ));
    }
    let t = issue_ticket(
        app,
        &mut tx,
        &office,
        service,
        TicketFor {
            appointment_id: Some(&a.id),
            person_id: a.person_id,
            priority,
        },
        &desk.actor(),
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &desk.actor(),
        "appointment.check_in",
        &format!("appointment:{}", a.id),
        json!({"ticket": t.label}),
    )
    .await?;
    let view = ticket_view(&mut tx, &t).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

/// A ticket for someone without an appointment, when the office takes walk-ins.
pub async fn walk_in(
    app: &App,
    desk: Desk<'_>,
    service: &str,
    elderly_or_disabled: bool,
) -> Result<TicketView> {
    let office = desk.office()?;
    let service = Service::parse(service).map_err(|e| ServiceError::invalid("service", e))?;
    let mut tx = app.db.begin().await?;
    let code = OfficeCode::parse(&office).map_err(|e| ServiceError::invalid("office", e))?;
    let o = offices::get(&mut tx, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    if !o.services.contains(&service) || !service.bookable() {
        return Err(bad(
            "service",
            "service_not_offered",
            "this office has no counter for this service",
        ));
    }
    let (_, walk_ins) = store::office_settings(&mut tx, &office)
        .await?
        .unwrap_or((0, false));
    if !walk_ins {
        return Err(conflict(
            "no_walk_ins",
            "this office serves appointments only; please book online",
        ));
    }
    let priority = centre::ticket_priority(
        false,
        elderly_or_disabled && app.config.centre.priority_age > 0,
    );
    let t = issue_ticket(
        app,
        &mut tx,
        &office,
        service,
        TicketFor {
            appointment_id: None,
            person_id: None,
            priority,
        },
        &desk.actor(),
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &desk.actor(),
        "ticket.walk_in",
        &format!("ticket:{}", t.id),
        json!({"label": t.label, "priority": priority}),
    )
    .await?;
    let view = ticket_view(&mut tx, &t).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

/// A ticket handed out at this desk's office (for showing it again after a redirect).
pub async fn ticket(app: &App, desk: Desk<'_>, id: i64) -> Result<TicketView> {
    let office = desk.office()?;
    let mut conn = app.db.conn().await?;
    let t = own_ticket(&mut conn, &office, id).await?;
    ticket_view(&mut conn, &t).await
}

fn counter_staff(staff: &StaffSession) -> Result<String> {
    staff.require(Permission::ServeCounter)?;
    staff.office_code.clone().ok_or_else(no_office)
}

fn parse_counter(counter: &str) -> Result<String> {
    let c = counter.trim();
    if c.is_empty() || c.len() > 8 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        return Err(bad(
            "counter",
            "bad_counter",
            "a counter is 1-8 letters or digits, e.g. 3",
        ));
    }
    Ok(c.to_ascii_uppercase())
}

/// Finishes whatever the counter is serving, then calls the next ticket of `services`
/// (all services when empty). `None` when nobody is waiting.
pub async fn call_next(
    app: &App,
    staff: &StaffSession,
    counter: &str,
    services: &[String],
) -> Result<Option<TicketView>> {
    let office = counter_staff(staff)?;
    let counter = parse_counter(counter)?;
    for s in services {
        Service::parse(s).map_err(|e| ServiceError::invalid("service", e))?;
    }
    let day = app.today().to_string();
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    if let Some(current) = store::serving_at(&mut tx, &office, &day, &counter).await? {
        finish_in(app, &mut tx, staff, &current, "done").await?;
    }
    let next = store::call_next(
        &mut tx,
        app.db.backend(),
        &office,
        &day,
        services,
        &counter,
        &staff.actor(),
        now,
    )
    .await?;
    let Some(t) = next else {
        tx.commit().await.map_err(StorageError::from)?;
        return Ok(None);
    };
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "ticket.call",
        &format!("ticket:{}", t.id),
        json!({"label": t.label, "counter": counter}),
    )
    .await?;
    let view = ticket_view(&mut tx, &t).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let wait = (now - t.issued_at) as f64 / 1e6;
    metrics::histogram!("exitentry_queue_wait_seconds", "office" => office).record(wait);
    Ok(Some(view))
}

async fn finish_in(
    app: &App,
    conn: &mut AnyConnection,
    staff: &StaffSession,
    t: &TicketRow,
    status: &str,
) -> Result<bool> {
    let now = app.now_micros();
    let done = store::finish_ticket(conn, t.id, status, now).await?;
    if done {
        audit::record(
            app,
            conn,
            &staff.actor(),
            &format!("ticket.{status}"),
            &format!("ticket:{}", t.id),
            json!({"label": t.label}),
        )
        .await?;
        if let Some(called) = t.called_at {
            metrics::histogram!("exitentry_counter_service_seconds", "office" => t.office_code.clone())
                .record((now - called) as f64 / 1e6);
        }
    }
    Ok(done)
}

/// The office must have a counter for the service: a hall that does not take the
/// non-Chinese permit (only the CTS centres in Hong Kong do) neither queues nor accepts it.
async fn require_counter_for(
    conn: &mut AnyConnection,
    office: &str,
    service: Service,
) -> Result<()> {
    let code = OfficeCode::parse(office).map_err(|e| ServiceError::invalid("office", e))?;
    let o = offices::get(conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    if !o.services.contains(&service) || !service.bookable() {
        return Err(bad(
            "service",
            "service_not_offered",
            format!("{} has no counter for {}", o.code.as_str(), service.code()),
        ));
    }
    Ok(())
}

async fn own_ticket(conn: &mut AnyConnection, office: &str, id: i64) -> Result<TicketRow> {
    store::ticket_by_id(conn, id)
        .await?
        .filter(|t| t.office_code == office)
        .ok_or(ServiceError::NotFound("ticket"))
}

/// Shows the ticket on the display again (the applicant did not come).
pub async fn recall(app: &App, staff: &StaffSession, ticket_id: i64) -> Result<TicketView> {
    let office = counter_staff(staff)?;
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    if !store::recall_ticket(&mut tx, t.id, app.now_micros()).await? {
        return Err(conflict(
            "not_called",
            "only a called ticket can be recalled",
        ));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "ticket.recall",
        &format!("ticket:{}", t.id),
        json!({}),
    )
    .await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    let view = ticket_view(&mut tx, &t).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

/// Skips a called ticket (nobody came) or finishes it (`done`).
pub async fn finish(app: &App, staff: &StaffSession, ticket_id: i64, skipped: bool) -> Result<()> {
    let office = counter_staff(staff)?;
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    if !finish_in(
        app,
        &mut tx,
        staff,
        &t,
        if skipped { "skipped" } else { "done" },
    )
    .await?
    {
        return Err(conflict("not_called", "this ticket is not being served"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// Sends a called ticket to the queue of another service, keeping its place in time.
pub async fn transfer(
    app: &App,
    staff: &StaffSession,
    ticket_id: i64,
    service: &str,
) -> Result<TicketView> {
    let office = counter_staff(staff)?;
    let service = Service::parse(service).map_err(|e| ServiceError::invalid("service", e))?;
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    require_counter_for(&mut tx, &office, service).await?;
    if !store::transfer_ticket(&mut tx, t.id, service.code()).await? {
        return Err(conflict(
            "not_called",
            "only a called ticket can be transferred",
        ));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "ticket.transfer",
        &format!("ticket:{}", t.id),
        json!({"from": t.service, "to": service.code()}),
    )
    .await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    let view = ticket_view(&mut tx, &t).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

/// What one counter is doing: the ticket it serves and how many wait.
#[derive(Debug, Clone, Serialize)]
pub struct CounterState {
    pub office_code: String,
    pub counter: String,
    pub serving: Option<TicketView>,
    pub waiting: i64,
}

pub async fn counter_state(app: &App, staff: &StaffSession, counter: &str) -> Result<CounterState> {
    let office = counter_staff(staff)?;
    let counter = parse_counter(counter)?;
    let day = app.today().to_string();
    let mut conn = app.db.conn().await?;
    let serving = match store::serving_at(&mut conn, &office, &day, &counter).await? {
        Some(t) => Some(ticket_view(&mut conn, &t).await?),
        None => None,
    };
    let waiting = store::tickets_on(&mut conn, &office, &day)
        .await?
        .iter()
        .filter(|t| t.status == "waiting")
        .count() as i64;
    Ok(CounterState {
        office_code: office,
        counter,
        serving,
        waiting,
    })
}

/// The waiting-room screen: the latest calls (recalls count as new calls) and the queues.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub office_code: String,
    pub calls: Vec<BoardCall>,
    pub waiting: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardCall {
    pub label: String,
    pub counter: String,
    pub at: String,
}

pub async fn board(app: &App, office: &str) -> Result<Board> {
    let code = OfficeCode::parse(office).map_err(|e| ServiceError::invalid("office", e))?;
    let mut conn = app.db.conn().await?;
    offices::get(&mut conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    let tickets = store::tickets_on(&mut conn, code.as_str(), &app.today().to_string()).await?;
    let mut called: Vec<(i64, &TicketRow)> = tickets
        .iter()
        .filter(|t| t.status == "called")
        .filter_map(|t| t.recalled_at.or(t.called_at).map(|at| (at, t)))
        .collect();
    called.sort_by_key(|c| std::cmp::Reverse(c.0));
    let calls = called
        .iter()
        .take(8)
        .map(|(at, t)| BoardCall {
            label: t.label.clone(),
            counter: t.counter.clone().unwrap_or_default(),
            at: local(*at).format("%H:%M:%S").to_string(),
        })
        .collect();
    let mut waiting: Vec<(String, i64)> = Vec::new();
    for t in tickets.iter().filter(|t| t.status == "waiting") {
        match waiting.iter_mut().find(|(s, _)| *s == t.service) {
            Some((_, n)) => *n += 1,
            None => waiting.push((t.service.clone(), 1)),
        }
    }
    Ok(Board {
        office_code: code.as_str().to_string(),
        calls,
        waiting,
    })
}

// ---- photo station ----

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PhotoView {
    pub id: i64,
    pub receipt_code: String,
    pub office_code: String,
    pub width: i64,
    pub height: i64,
    pub taken_at: DateTime<FixedOffset>,
}

fn photo_view(p: &PhotoRow) -> PhotoView {
    PhotoView {
        id: p.id,
        receipt_code: p.receipt_code.clone(),
        office_code: p.office_code.clone(),
        width: p.width,
        height: p.height,
        taken_at: local(p.created_at),
    }
}

/// The real format from the bytes (as for uploads): JPEG or PNG only.
fn photo_format(bytes: &[u8]) -> Option<&'static str> {
    crate::uploads::sniff(bytes)
        .filter(|t| t.is_image())
        .map(|t| t.mime())
}

/// Takes a photo at the station: checks format, size and dimensions, stores it, and returns
/// the receipt whose barcode the counter scans.
pub async fn take_photo(app: &App, staff: &StaffSession, bytes: &[u8]) -> Result<PhotoView> {
    let office = counter_staff(staff)?;
    let c = &app.config.centre;
    if bytes.is_empty() {
        return Err(bad("photo", "photo_empty", "no photo was received"));
    }
    if bytes.len() > c.photo_max_bytes {
        return Err(bad(
            "photo",
            "photo_too_large",
            format!("a photo may have at most {} KB", c.photo_max_bytes / 1024),
        ));
    }
    let mime = photo_format(bytes)
        .ok_or_else(|| bad("photo", "photo_format", "a photo is a JPEG or PNG image"))?;
    let (width, height) = crate::uploads::image_size(bytes)
        .ok_or_else(|| bad("photo", "photo_unreadable", "this image cannot be read"))?;
    if width < c.photo_min_width as usize || height < c.photo_min_height as usize {
        return Err(bad(
            "photo",
            "photo_too_small",
            format!(
                "a photo needs at least {}×{} pixels",
                c.photo_min_width, c.photo_min_height
            ),
        ));
    }
    if height <= width {
        return Err(bad(
            "photo",
            "photo_orientation",
            "a document photo is taller than it is wide",
        ));
    }
    use sha2::Digest;
    let row = PhotoRow {
        id: 0,
        receipt_code: format!("P{:011}", rand::random::<u64>() % 100_000_000_000),
        office_code: office.clone(),
        ticket_id: None,
        mime: mime.to_string(),
        width: width as i64,
        height: height as i64,
        sha256: hex::encode(sha2::Sha256::digest(bytes)),
        taken_by: staff.actor(),
        created_at: app.now_micros(),
    };
    let mut tx = app.db.begin().await?;
    let stored = store::insert_photo(&mut tx, &row, bytes).await?;
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "photo.take",
        &format!("photo:{}", stored.receipt_code),
        json!({"sha256": stored.sha256, "width": stored.width, "height": stored.height}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(photo_view(&stored))
}

pub async fn photo_receipt(app: &App, staff: &StaffSession, code: &str) -> Result<PhotoView> {
    let office = counter_staff(staff)?;
    let mut conn = app.db.conn().await?;
    store::photo_by_receipt(&mut conn, code.trim())
        .await?
        .filter(|p| p.office_code == office)
        .map(|p| photo_view(&p))
        .ok_or(ServiceError::NotFound("photo"))
}

/// The image of a photo taken at the staff member's office.
pub async fn photo_image(app: &App, staff: &StaffSession, id: i64) -> Result<(String, Vec<u8>)> {
    staff.require(Permission::ServeCounter)?;
    let mut conn = app.db.conn().await?;
    let office = staff.office_code.clone();
    let allowed = match &office {
        Some(o) => {
            exitentry_storage::centre::photo_office(&mut conn, id)
                .await?
                .as_deref()
                == Some(o.as_str())
        }
        None => staff.role == exitentry_domain::staff::Role::Admin,
    };
    if !allowed {
        return Err(ServiceError::NotFound("photo"));
    }
    store::photo_bytes(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("photo"))
}

// ---- acceptance, payment, receipt ----

#[derive(Debug, Clone, Default)]
pub struct AcceptRequest {
    pub ticket_id: i64,
    pub product: String,
    pub checklist: Vec<String>,
    pub photo_receipt: String,
    /// For applicants without an appointment: their identity number, from the ID card.
    pub id_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApplicationView {
    pub id: String,
    pub reference: String,
    pub office_code: String,
    pub product: String,
    pub status: String,
    pub applicant: String,
    pub id_number_masked: String,
    pub fee: String,
    pub fee_cents: i64,
    pub currency: String,
    pub methods: Vec<String>,
    pub collection_date: Option<String>,
    pub accepted_at: DateTime<FixedOffset>,
    pub accepted_by: String,
    pub paid: Option<PaymentView>,
    pub old_document: Option<String>,
    pub new_document: Option<String>,
    pub photo_id: Option<i64>,
    pub ready_at: Option<DateTime<FixedOffset>>,
    pub collected_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PaymentView {
    pub id: String,
    pub method: String,
    pub amount: String,
    pub provider_ref: Option<String>,
    pub paid_at: Option<DateTime<FixedOffset>>,
    pub taken_by: String,
}

fn mask_id(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 3 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

async fn application_view(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<ApplicationView> {
    let person = people::get(conn, a.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    let currency = Currency::parse(&a.currency).map_err(|e| ServiceError::Internal(e.message))?;
    let paid = store::paid_payment(conn, &a.id)
        .await?
        .map(|p| PaymentView {
            amount: Money {
                cents: p.amount_cents,
                currency,
            }
            .to_string(),
            id: p.id,
            method: p.method,
            provider_ref: p.provider_ref,
            paid_at: p.paid_at.map(local),
            taken_by: p.taken_by,
        });
    let old_document = match a.old_document_id {
        Some(id) => documents::get(conn, id).await?.map(|d| d.doc.number),
        None => None,
    };
    let name = person
        .person
        .names
        .zh
        .clone()
        .map(|zh| format!("{zh} {}", person.person.names.latin))
        .unwrap_or_else(|| person.person.names.latin.clone());
    Ok(ApplicationView {
        id: a.id.clone(),
        reference: a.reference.clone(),
        office_code: a.office_code.clone(),
        product: a.product.clone(),
        status: a.status.clone(),
        applicant: name,
        id_number_masked: mask_id(&person.person.id_number),
        fee: Money {
            cents: a.fee_cents,
            currency,
        }
        .to_string(),
        fee_cents: a.fee_cents,
        currency: a.currency.clone(),
        methods: currency.methods().iter().map(|m| m.to_string()).collect(),
        collection_date: a.collection_date.clone(),
        accepted_at: local(a.accepted_at),
        accepted_by: a.accepted_by.clone(),
        paid,
        old_document,
        new_document: a.new_document_number.clone(),
        photo_id: a.photo_id,
        ready_at: a.ready_at.map(local),
        collected_at: a.collected_at.map(local),
    })
}

/// The person a ticket is for: its appointment's applicant, or the identity number the
/// clerk read from the ID card.
async fn person_for(
    conn: &mut AnyConnection,
    t: &TicketRow,
    id_number: Option<&str>,
) -> Result<i64> {
    if let Some(id) = t.person_id {
        return Ok(id);
    }
    let n = id_number
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            bad(
                "id_number",
                "id_number_required",
                "enter the applicant's identity number",
            )
        })?;
    // As typed from the card: `A123456(3)` is stored `A1234563`.
    let n: String = n
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let found = people::by_id_number(conn, &n).await?;
    match found.as_slice() {
        [p] => Ok(p.id),
        [] => Err(bad(
            "id_number",
            "person_not_found",
            "nobody with this identity number is in the registry",
        )),
        _ => Err(bad(
            "id_number",
            "ambiguous_id_number",
            "several people have this number; search the registry",
        )),
    }
}

/// The approved online pre-application a non-Chinese permit is accepted against.
struct PreApproved {
    person_id: i64,
    row: exitentry_storage::hrp_applications::ApplicationRow,
    applicant: exitentry_domain::hrp::Applicant,
}

/// The applicant for the non-Chinese permit: accepted only against an approved online
/// pre-application for this identity card; the registry entry is made from it the first
/// time (the applicant is not in the registry before).
async fn person_from_pre_application(
    app: &App,
    conn: &mut AnyConnection,
    t: &TicketRow,
    id_number: Option<&str>,
) -> Result<PreApproved> {
    use exitentry_domain::ids::{IdKind, IdentityNumber};
    let typed = match t.person_id {
        Some(id) => people::get(conn, id)
            .await?
            .map(|p| p.person.id_number)
            .unwrap_or_default(),
        None => id_number.unwrap_or_default().to_string(),
    };
    if typed.trim().is_empty() {
        return Err(bad(
            "id_number",
            "id_number_required",
            "enter the applicant's identity number",
        ));
    }
    let mut approved = None;
    for kind in [IdKind::Hkid, IdKind::MacaoId] {
        if let Ok(n) = IdentityNumber::parse(kind, &typed, app.today())
            && let Some(a) =
                crate::hrp_applications::approved_for(conn, kind.code(), n.as_str()).await?
        {
            approved = Some((kind, n, a));
            break;
        }
    }
    let Some((kind, number, pre)) = approved else {
        return Err(conflict(
            "pre_application_not_approved",
            "no approved online pre-application for this identity card",
        ));
    };
    let form: exitentry_domain::hrp::Form = serde_json::from_str(&pre.form).unwrap_or_default();
    let applicant = exitentry_domain::hrp::check(&form, app.today()).map_err(|_| {
        conflict(
            "pre_application_incomplete",
            "the approved pre-application no longer passes the checks (passport validity?)",
        )
    })?;
    let known = |found: Vec<people::StoredPerson>| {
        found
            .into_iter()
            .find(|p| p.person.id_kind == kind)
            .map(|p| p.id)
    };
    if let Some(person_id) = known(people::by_id_number(conn, number.as_str()).await?) {
        return Ok(PreApproved {
            person_id,
            row: pre,
            applicant,
        });
    }
    let record = exitentry_storage::people::PersonRecord {
        external_id: format!("hrpn-{}", pre.reference.to_ascii_lowercase()),
        names: applicant.names.clone(),
        sex: applicant.sex,
        date_of_birth: applicant.date_of_birth,
        region: if kind == IdKind::Hkid {
            exitentry_domain::person::Region::HongKong
        } else {
            exitentry_domain::person::Region::Macao
        },
        nationality: applicant.nationality.clone(),
        id_kind: kind,
        id_number: number.as_str().to_string(),
        hukou_area: None,
    };
    // Two counters accepting the same applicant at once: the second registry entry is
    // refused by the unique index, and that counter is told why.
    people::insert_new(conn, std::slice::from_ref(&record), app.now_micros())
        .await
        .map_err(|e| match e {
            StorageError::Conflict(_) => conflict(
                "application_open",
                "another counter is accepting this applicant right now",
            ),
            other => other.into(),
        })?;
    let person_id = known(people::by_id_number(conn, number.as_str()).await?)
        .ok_or(ServiceError::NotFound("person"))?;
    Ok(PreApproved {
        person_id,
        row: pre,
        applicant,
    })
}

/// A pre-application for a replacement declares the permit it names lost or damaged; the
/// counter records that on acceptance (audited), so the replacement rules see it.
async fn declare_for_replacement(
    app: &App,
    conn: &mut AnyConnection,
    staff: &StaffSession,
    person_id: i64,
    pre: &PreApproved,
) -> Result<()> {
    use exitentry_domain::hrp::Purpose;
    let to = match pre.applicant.purpose {
        Purpose::ReplacementLost => DocumentStatus::ReportedLost,
        Purpose::ReplacementDamaged => DocumentStatus::Damaged,
        Purpose::First | Purpose::Renewal => return Ok(()),
    };
    let Some(number) = &pre.applicant.current_permit else {
        return Ok(());
    };
    let current = documents::for_person(conn, person_id)
        .await?
        .into_iter()
        .filter(|d| d.doc.number == number.as_str() && d.doc.status == DocumentStatus::Valid)
        .max_by_key(|d| d.doc.issued_on);
    if let Some(d) = current
        && documents::change_status(conn, d.id, DocumentStatus::Valid, to, app.now_micros()).await?
    {
        audit::record(
            app,
            conn,
            &staff.actor(),
            "document.declared",
            &format!("document:{}", d.doc.number),
            json!({"status": to.code(), "pre_application": pre.row.reference}),
        )
        .await?;
    }
    Ok(())
}

/// Which document the application replaces, by its reason; refuses what the rules forbid.
async fn old_document_for(
    app: &App,
    conn: &mut AnyConnection,
    person_id: i64,
    product: &Product,
) -> Result<Option<i64>> {
    let docs = documents::for_person(conn, person_id).await?;
    let today = app.today();
    let of_kind: Vec<_> = docs
        .iter()
        .filter(|d| d.doc.kind == product.issues)
        .collect();
    // The newest card of the kind that reads as `status` today.
    let newest_in = |status: DocumentStatus| {
        of_kind
            .iter()
            .filter(|d| {
                exitentry_domain::document::effective_status(
                    &app.policy,
                    d.doc.kind,
                    d.doc.status,
                    d.doc.expires_on,
                    today,
                ) == status
            })
            .max_by_key(|d| d.doc.issued_on)
    };
    let valid = newest_in(DocumentStatus::Valid);
    // A number kept for life (the home return permits) stays the holder's after the card
    // expires: an expired card is renewed under its number, never replaced by a first one
    // (docs/adr/0005-expired-permits-keep-their-number.md).
    let expired_for_life = product
        .issues
        .has_issue_count()
        .then(|| newest_in(DocumentStatus::Expired))
        .flatten();
    match product.reason {
        IssueReason::First => match (valid, expired_for_life) {
            (Some(_), _) => Err(conflict(
                "holds_valid_document",
                "the applicant already holds a valid document of this kind; apply for a renewal",
            )),
            (None, Some(_)) => Err(conflict(
                "renew_expired_document",
                "the applicant's permit has expired; apply for a renewal: the number is kept for life",
            )),
            (None, None) => Ok(None),
        },
        IssueReason::Renewal => match valid.or(expired_for_life) {
            Some(d) => Ok(Some(d.id)),
            None => Err(conflict(
                "nothing_to_renew",
                "the applicant holds no valid document of this kind; apply for a first one",
            )),
        },
        IssueReason::Replacement => {
            let lost = of_kind
                .iter()
                .filter(|d| {
                    matches!(
                        d.doc.status,
                        DocumentStatus::ReportedLost | DocumentStatus::Damaged
                    )
                })
                .max_by_key(|d| d.doc.issued_on);
            match (lost, valid) {
                (Some(d), None) => Ok(Some(d.id)),
                (_, Some(_)) => Err(conflict(
                    "holds_valid_document",
                    "the current document is valid; report it lost or damaged first",
                )),
                (None, None) => Err(conflict(
                    "nothing_to_replace",
                    "no lost or damaged document of this kind is on record",
                )),
            }
        }
    }
}

/// Accepts the application of the ticket being served: checklist complete, photo receipt
/// scanned, the rules of the product met. Finishes the ticket.
pub async fn accept(
    app: &App,
    staff: &StaffSession,
    req: &AcceptRequest,
) -> Result<ApplicationView> {
    let office = counter_staff(staff)?;
    let product =
        products::product(&req.product).map_err(|e| ServiceError::invalid("product", e))?;
    let checklist = product
        .check_list(&req.checklist, false)
        .map_err(|e| ServiceError::invalid("checklist", e))?;
    let receipt = req.photo_receipt.trim().to_ascii_uppercase();
    if receipt.is_empty() {
        return Err(bad(
            "photo_receipt",
            "photo_required",
            "scan the photo receipt",
        ));
    }
    let today = app.today();
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, req.ticket_id).await?;
    if t.status != "called" {
        return Err(conflict(
            "not_called",
            "call the ticket to the counter first",
        ));
    }
    if t.service != product.service.code() {
        return Err(bad(
            "product",
            "wrong_queue",
            format!("this ticket is for {}; transfer it first", t.service),
        ));
    }
    require_counter_for(&mut tx, &office, product.service).await?;
    let pre = if product.issues == exitentry_domain::numbers::DocumentKind::HrpNonChinese {
        Some(person_from_pre_application(app, &mut tx, &t, req.id_number.as_deref()).await?)
    } else {
        None
    };
    let person_id = match &pre {
        Some(p) => p.person_id,
        None => person_for(&mut tx, &t, req.id_number.as_deref()).await?,
    };
    if let Some(p) = &pre
        && p.applicant.purpose.product() != product.code
    {
        return Err(bad(
            "product",
            "pre_application_purpose",
            format!(
                "the approved pre-application is for {}",
                p.applicant.purpose.product()
            ),
        ));
    }
    let person = people::get(&mut tx, person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    // Under 18 a guardian accompanies (where the product asks for one).
    let checklist = if age_on(person.person.date_of_birth, today) < 18 {
        product
            .check_list(&req.checklist, true)
            .map_err(|e| ServiceError::invalid("checklist", e))?
    } else {
        checklist
    };
    // The home return permit is for Chinese citizens; the others get the non-Chinese one
    // (whose nationality the pre-application's review has already seen).
    let nationality_fits = product.issues != exitentry_domain::numbers::DocumentKind::Hrp
        || person.person.nationality.is_chinese();
    if !nationality_fits
        || !product
            .issues
            .holder_regions()
            .contains(&person.person.region)
    {
        return Err(conflict(
            "not_eligible",
            "this applicant cannot hold this kind of document",
        ));
    }
    let photo = store::photo_by_receipt(&mut tx, &receipt)
        .await?
        .filter(|p| p.office_code == office)
        .ok_or_else(|| {
            bad(
                "photo_receipt",
                "photo_not_found",
                "no photo with this receipt was taken here",
            )
        })?;
    if local(photo.created_at).date_naive() != today {
        return Err(bad(
            "photo_receipt",
            "photo_expired",
            "this photo was not taken today; take a new one",
        ));
    }
    // One open application per person and kind of document: a renewal and a replacement
    // of the same card never run side by side.
    let mut open = 0;
    for p in products::PRODUCTS
        .iter()
        .filter(|p| p.issues == product.issues)
    {
        open += store::open_applications(&mut tx, person_id, p.code).await?;
    }
    if open > 0 {
        return Err(conflict(
            "application_open",
            "this applicant already has an open application of this kind",
        ));
    }
    if let Some(p) = &pre {
        declare_for_replacement(app, &mut tx, staff, person_id, p).await?;
    }
    let old = old_document_for(app, &mut tx, person_id, product).await?;
    // The permit renewed or replaced is the one the pre-application names (its number
    // goes on the new card).
    if let (Some(p), Some(old_id)) = (&pre, old) {
        let old_number = documents::get(&mut tx, old_id)
            .await?
            .map(|d| d.doc.number)
            .unwrap_or_default();
        if p.applicant.current_permit.as_ref().map(|n| n.as_str()) != Some(old_number.as_str()) {
            return Err(conflict(
                "current_permit_mismatch",
                format!(
                    "the registry's permit is {old_number}, not the one the pre-application names"
                ),
            ));
        }
    }
    // Some permits cost less for minors (the home return permit: HK$260 under 18).
    let age = u32::try_from(age_on(person.person.date_of_birth, today)).unwrap_or(0);
    let fee = app
        .policy
        .fee_for_age(product.issues, today, age)
        .map_err(|e| ServiceError::invalid("product", e))?;
    let row = ApplicationRow {
        id: random_token()[..24].to_string(),
        reference: format!("R{:011}", rand::random::<u64>() % 100_000_000_000),
        office_code: office.clone(),
        product: product.code.to_string(),
        person_id,
        ticket_id: Some(t.id),
        appointment_id: t.appointment_id.clone(),
        photo_id: Some(photo.id),
        checklist: checklist.join(","),
        fee_cents: fee.cents,
        currency: fee.currency.code().to_string(),
        status: "accepted".into(),
        old_document_id: old,
        new_document_id: None,
        new_document_number: None,
        collection_date: None,
        accepted_by: staff.actor(),
        accepted_at: app.now_micros(),
        paid_at: None,
        ready_at: None,
        collected_at: None,
        collected_by: None,
    };
    match store::insert_application(&mut tx, &row).await {
        Err(StorageError::Conflict(_)) => {
            return Err(bad(
                "photo_receipt",
                "photo_used",
                "this photo belongs to another application",
            ));
        }
        other => other?,
    }
    if let Some(p) = &pre {
        if !crate::hrp_applications::mark_used(&mut tx, &p.row.id, &row.id, app.now_micros())
            .await?
        {
            return Err(conflict(
                "pre_application_not_approved",
                "this pre-application was used meanwhile",
            ));
        }
        audit::record(
            app,
            &mut tx,
            &staff.actor(),
            "hrp_application.used",
            &format!("hrp_application:{}", p.row.id),
            json!({"application": row.reference}),
        )
        .await?;
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "application.accept",
        &format!("application:{}", row.id),
        json!({"product": row.product, "ticket": t.label, "photo": receipt, "checklist": row.checklist, "fee": fee.to_string()}),
    )
    .await?;
    let view = application_view(&mut tx, &row).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

async fn application_for_staff(
    conn: &mut AnyConnection,
    staff: &StaffSession,
    id: &str,
) -> Result<ApplicationRow> {
    let a = store::application(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    // Counter staff see their office's applications; admins and approvers see all.
    match &staff.office_code {
        Some(o)
            if staff.role == exitentry_domain::staff::Role::CounterClerk && *o != a.office_code =>
        {
            Err(ServiceError::NotFound("application"))
        }
        _ => Ok(a),
    }
}

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
    if a.status != "accepted" {
        return Err(conflict(
            "already_paid",
            format!("this application is {}", a.status),
        ));
    }
    let currency = Currency::parse(&a.currency).map_err(|e| ServiceError::Internal(e.message))?;
    if !currency.methods().contains(&method) {
        return Err(bad(
            "method",
            "bad_method",
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
            amount_cents: a.fee_cents,
            currency: a.currency.clone(),
            description: format!("{} {}", a.product, a.reference),
        };
        // Outside the transaction: the terminal may take a while.
        app.providers.payments()?.charge(&charge).await?
    };
    let (status, provider_ref, declined) = match outcome {
        ChargeOutcome::Paid { provider_ref } => ("paid", Some(provider_ref), None),
        ChargeOutcome::Declined { reason } => ("declined", None, Some(reason)),
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
        if status == "paid"
            && method != "cash"
            && let Err(r) = app
                .providers
                .payments()?
                .refund(&payment_id, a.fee_cents)
                .await
        {
            tracing::error!(payment = %payment_id, error = %r, "voiding a counter charge failed; refund by hand");
        }
        return Err(e);
    }
    if let Some(reason) = declined {
        return Err(conflict(
            "payment_declined",
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
async fn record_payment(
    app: &App,
    staff: &StaffSession,
    a: &ApplicationRow,
    payment_id: &str,
    method: &str,
    status: &str,
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
            amount_cents: a.fee_cents,
            currency: a.currency.clone(),
            status: status.to_string(),
            provider_ref: provider_ref.clone(),
            taken_by: staff.actor(),
            created_at: now,
            paid_at: (status == "paid").then_some(now),
        },
    )
    .await
    .map_err(|e| match e {
        StorageError::Conflict(_) => conflict("already_paid", "this application is already paid"),
        other => other.into(),
    })?;
    if status == "paid" && !store::mark_paid(&mut tx, &a.id, &collection.to_string(), now).await? {
        return Err(conflict("already_paid", "this application is already paid"));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        if declined { "payment.declined" } else { "payment.paid" },
        &format!("application:{}", a.id),
        json!({"payment": payment_id, "method": method, "amount_cents": a.fee_cents, "currency": a.currency, "ref": provider_ref}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
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
    if !["accepted", "paid", "ready", "collected"].contains(&status) {
        return Err(bad(
            "status",
            "bad_status",
            "status is accepted, paid, ready or collected",
        ));
    }
    let mut conn = app.db.conn().await?;
    let rows = store::applications_at(&mut conn, staff.office_code.as_deref(), status, 500).await?;
    let mut out = Vec::with_capacity(rows.len());
    for a in &rows {
        out.push(application_view(&mut conn, a).await?);
    }
    Ok(out)
}

/// Processing done: the document is produced with a new number and waits for collection.
pub async fn mark_ready(app: &App, staff: &StaffSession, id: &str) -> Result<ApplicationView> {
    staff.require(Permission::ProcessApplications)?;
    let mut tx = app.db.begin().await?;
    let a = application_for_staff(&mut tx, staff, id).await?;
    if a.status != "paid" {
        return Err(conflict(
            "not_paid",
            format!("this application is {}", a.status),
        ));
    }
    let product = products::product(&a.product).map_err(|e| ServiceError::Internal(e.message))?;
    let region = people::get(&mut tx, a.person_id)
        .await?
        .map(|p| p.person.region);
    // Renewals and replacements of a home return permit keep its number (for life).
    let number = match (product.keeps_number(), a.old_document_id) {
        (true, Some(old)) => {
            documents::get(&mut tx, old)
                .await?
                .ok_or(ServiceError::NotFound("document"))?
                .doc
                .number
        }
        _ => new_number(&mut tx, product, region).await?,
    };
    if !store::mark_ready(&mut tx, &a.id, &number, app.now_micros()).await? {
        return Err(conflict("not_paid", "this application changed meanwhile"));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "application.ready",
        &format!("application:{}", a.id),
        json!({"document_number": number}),
    )
    .await?;
    let a = store::application(&mut tx, &a.id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    let view = application_view(&mut tx, &a).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(view)
}

/// A document number never used before.
async fn new_number(
    conn: &mut AnyConnection,
    product: &Product,
    region: Option<exitentry_domain::person::Region>,
) -> Result<String> {
    for _ in 0..20 {
        let n = match product.issues {
            exitentry_domain::numbers::DocumentKind::EepCard => {
                products::eep_card_number(rand::random())
            }
            // `H` for Hong Kong, `M` for Macao residents.
            exitentry_domain::numbers::DocumentKind::Hrp => products::hrp_number(
                region == Some(exitentry_domain::person::Region::HongKong),
                rand::random(),
            ),
            // `HA` for Hong Kong, `MA` for Macao residents.
            exitentry_domain::numbers::DocumentKind::HrpNonChinese => {
                exitentry_domain::hrp::permit_number(
                    region == Some(exitentry_domain::person::Region::HongKong),
                    rand::random(),
                )
            }
            other => {
                return Err(ServiceError::Internal(format!(
                    "no number generator for {}",
                    other.code()
                )));
            }
        };
        if !documents::number_used(conn, &n).await? && !store::number_reserved(conn, &n).await? {
            return Ok(n);
        }
    }
    Err(ServiceError::Internal(
        "no free document number after 20 tries".into(),
    ))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Collected {
    pub reference: String,
    pub document_number: String,
    pub expires_on: NaiveDate,
    /// The old permit, recorded as surrendered before release.
    pub surrendered: Option<String>,
}

/// Collection at a kiosk: the receipt's reference and the identity number must both match
/// a ready document of this office; the old permit (renewal, damaged permit) is surrendered
/// first — `old_permit` is the number the card slot read from it, and nothing is released
/// until it matches — then the new one is released, once.
pub async fn collect(
    app: &App,
    device: &DeviceSession,
    reference: &str,
    id_number: &str,
    old_permit: &str,
) -> Result<Collected> {
    if device.kind != "kiosk" {
        return Err(ServiceError::Forbidden);
    }
    let reference = reference.trim().to_ascii_uppercase();
    let mut tx = app.db.begin().await?;
    let mismatch = || {
        conflict(
            "receipt_or_identity_mismatch",
            "the receipt and the identity number do not match a document waiting here",
        )
    };
    let Some(a) = store::application_by_reference(&mut tx, &reference).await? else {
        return Err(mismatch());
    };
    let person = people::get(&mut tx, a.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    // Typed as on the card (an HKID with its brackets, say): compared in canonical form.
    let typed =
        exitentry_domain::ids::IdentityNumber::parse(person.person.id_kind, id_number, app.today())
            .map(|n| n.as_str().to_string())
            .unwrap_or_else(|_| id_number.trim().to_ascii_uppercase());
    if !constant_time_eq(&person.person.id_number, &typed) {
        audit::record(
            app,
            &mut tx,
            &device.actor(),
            "collection.refused",
            &format!("application:{}", a.id),
            json!({"why": "identity"}),
        )
        .await?;
        tx.commit().await.map_err(StorageError::from)?;
        return Err(mismatch());
    }
    if a.office_code != device.office_code {
        return Err(conflict(
            "wrong_office",
            format!("this document waits at {}", a.office_code),
        ));
    }
    match a.status.as_str() {
        "ready" => {}
        "collected" => {
            return Err(conflict(
                "already_collected",
                "this document has already been collected",
            ));
        }
        _ => {
            return Err(conflict(
                "not_ready",
                match &a.collection_date {
                    Some(d) => format!("the document is not ready yet; expected from {d}"),
                    None => "the document is not ready yet".to_string(),
                },
            ));
        }
    }
    let product = products::product(&a.product).map_err(|e| ServiceError::Internal(e.message))?;
    let number = a
        .new_document_number
        .clone()
        .ok_or_else(|| ServiceError::Internal("ready without a number".into()))?;
    let now = app.now_micros();
    let today = app.today();
    // Claim the hand-over first: a second kiosk waits on this row and then finds it taken.
    if !store::mark_collected(&mut tx, &a.id, &device.actor(), now).await? {
        return Err(conflict(
            "already_collected",
            "this document has already been collected",
        ));
    }
    let applied_on = local(a.accepted_at).date_naive();
    let mut surrendered = None;
    if let Some(old_id) = a.old_document_id {
        let old = documents::get(&mut tx, old_id)
            .await?
            .ok_or(ServiceError::NotFound("document"))?;
        // A renewed permit and a damaged one are handed in; a lost one stays reported lost.
        let from = match product.reason {
            IssueReason::Renewal => Some(DocumentStatus::Valid),
            IssueReason::Replacement if old.doc.status == DocumentStatus::Damaged => {
                Some(DocumentStatus::Damaged)
            }
            _ => None,
        };
        if from.is_some() {
            if old_permit.trim().is_empty() {
                return Err(bad(
                    "old_permit",
                    "old_permit_required",
                    "insert the permit being replaced into the card slot first",
                ));
            }
            if !slot_holds(old_permit, &old.doc) {
                return Err(bad(
                    "old_permit",
                    "old_permit_mismatch",
                    "the permit in the card slot is not the one being replaced",
                ));
            }
        }
        if let Some(from) = from {
            // The old card changed since acceptance (reported lost, say): staff sort it out.
            if !documents::change_status(&mut tx, old_id, from, DocumentStatus::Surrendered, now)
                .await?
            {
                return Err(conflict(
                    "old_permit_changed",
                    "the permit being replaced has changed since the application; ask at the counter",
                ));
            }
            audit::record(
                app,
                &mut tx,
                &device.actor(),
                "document.surrender",
                &format!("document:{}", old.doc.number),
                json!({"application": a.reference}),
            )
            .await?;
            surrendered = Some(old.doc.number);
        }
    }
    let issue_count = if product.issues.has_issue_count() {
        Some(next_issue_count(&mut tx, product.issues, &number).await?)
    } else {
        None
    };
    let expires_on = expiry_for_issue(
        &app.policy,
        product.issues,
        person.person.date_of_birth,
        applied_on,
        today,
    )
    .map_err(|e| ServiceError::Internal(e.message))?;
    let doc_id = documents::insert_one(
        &mut tx,
        &DocumentRecord {
            person_id: a.person_id,
            kind: product.issues,
            number: number.clone(),
            issue_count,
            issued_on: today,
            expires_on,
            status: DocumentStatus::Valid,
            office_code: Some(a.office_code.clone()),
        },
        now,
    )
    .await?;
    store::set_new_document(&mut tx, &a.id, doc_id).await?;
    audit::record(
        app,
        &mut tx,
        &device.actor(),
        "application.collect",
        &format!("application:{}", a.id),
        json!({"document_number": number, "surrendered": surrendered}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Collected {
        reference: a.reference,
        document_number: number,
        expires_on,
        surrendered,
    })
}

/// Whether the card slot's reading is `doc`: its number, and for a number kept for life
/// also its issue count (`HA1234567 02`), since older cards share the number.
fn slot_holds(reading: &str, doc: &DocumentRecord) -> bool {
    let reading = reading.trim().to_ascii_uppercase();
    let mut parts = reading.split(|c: char| c.is_whitespace() || c == '-' || c == '/');
    let number = parts.next().unwrap_or_default();
    let count = parts.find(|p| !p.is_empty());
    if !constant_time_eq(number, &doc.number) {
        return false;
    }
    if !doc.kind.has_issue_count() {
        return count.is_none();
    }
    let want = doc.issue_count.unwrap_or(1);
    count.and_then(|c| {
        exitentry_domain::numbers::parse_issue_count(doc.kind, c)
            .ok()
            .flatten()
    }) == Some(want)
}

/// The issue count of the next card under a number kept for life: one more than the
/// highest so far (a card imported without its count counts as the first), 1 for a new number.
async fn next_issue_count(
    conn: &mut AnyConnection,
    kind: exitentry_domain::numbers::DocumentKind,
    number: &str,
) -> Result<u8> {
    let highest = documents::by_number(conn, number)
        .await?
        .into_iter()
        .filter(|(d, _)| d.doc.kind == kind)
        .map(|(d, _)| d.doc.issue_count.unwrap_or(1))
        .max();
    match highest {
        None => Ok(1),
        Some(n) => n.checked_add(1).filter(|n| *n <= 99).ok_or_else(|| {
            ServiceError::Internal(format!("{number} has reached the last issue count"))
        }),
    }
}

/// Months a finished document waits for its holder before it is cancelled.
pub const COLLECT_WITHIN_MONTHS: u32 = 12;

/// The daily sweep of uncollected documents: a reminder by email a month before the 12
/// months after the collection date run out (once), and cancellation after. Returns
/// (reminded, cancelled). Each step is a conditional update, so two workers never repeat one.
pub async fn sweep_uncollected(app: &App) -> Result<(usize, usize)> {
    let today = app.today();
    let rows = {
        let mut conn = app.db.conn().await?;
        store::applications_at(&mut conn, None, "ready", 10_000).await?
    };
    let (mut reminded, mut cancelled) = (0, 0);
    for a in rows {
        let Some(deadline) = a
            .collection_date
            .as_deref()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .and_then(|d| d.checked_add_months(chrono::Months::new(COLLECT_WITHIN_MONTHS)))
        else {
            continue;
        };
        let remind_from = deadline
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(deadline);
        let now = app.now_micros();
        let mut tx = app.db.begin().await?;
        let person = people::get(&mut tx, a.person_id).await?;
        let contact = match &person {
            Some(p) => {
                crate::hrp_applications::contact_for(
                    &mut tx,
                    p.person.id_kind.code(),
                    &p.person.id_number,
                )
                .await?
            }
            None => None,
        };
        let office = a.office_code.clone();
        if today > deadline {
            if store::cancel_uncollected(&mut tx, &a.id, now).await? {
                if let Some((to, lang)) = &contact {
                    crate::email::enqueue(
                        app,
                        &mut tx,
                        to,
                        *lang,
                        &crate::email::Email::PermitCancelled {
                            reference: a.reference.clone(),
                        },
                    )
                    .await?;
                }
                audit::record(
                    app,
                    &mut tx,
                    "system",
                    "application.uncollected_cancelled",
                    &format!("application:{}", a.id),
                    json!({"deadline": deadline.to_string()}),
                )
                .await?;
                cancelled += 1;
            }
        } else if today >= remind_from && store::mark_reminded(&mut tx, &a.id, now).await? {
            if let Some((to, lang)) = &contact {
                crate::email::enqueue(
                    app,
                    &mut tx,
                    to,
                    *lang,
                    &crate::email::Email::CollectionReminder {
                        reference: a.reference.clone(),
                        office,
                        deadline,
                    },
                )
                .await?;
            }
            audit::record(
                app,
                &mut tx,
                "system",
                "application.collection_reminder",
                &format!("application:{}", a.id),
                json!({"deadline": deadline.to_string(), "emailed": contact.is_some()}),
            )
            .await?;
            reminded += 1;
        }
        tx.commit().await.map_err(StorageError::from)?;
    }
    Ok((reminded, cancelled))
}

/// Documents waiting for collection, oldest first, with the days they have waited.
pub async fn uncollected(app: &App, staff: &StaffSession) -> Result<Vec<(ApplicationView, i64)>> {
    let list = applications(app, staff, "ready").await?;
    let now = app.now().with_timezone(&cst());
    Ok(list
        .into_iter()
        .map(|a| {
            let days = a.ready_at.map(|r| (now - r).num_days()).unwrap_or(0);
            (a, days)
        })
        .collect())
}

// ---- office settings ----

/// Counters (the default slot capacity) and whether walk-ins get tickets.
pub async fn office_settings(app: &App, office: &str) -> Result<(i64, bool)> {
    let mut conn = app.db.conn().await?;
    store::office_settings(&mut conn, &office.trim().to_ascii_uppercase())
        .await?
        .ok_or(ServiceError::NotFound("office"))
}

pub async fn set_office_settings(
    app: &App,
    staff: &StaffSession,
    office: &str,
    counters: i64,
    walk_ins: bool,
) -> Result<()> {
    staff.require(Permission::ManageCentre)?;
    if !(1..=200).contains(&counters) {
        return Err(bad(
            "counters",
            "bad_counters",
            "an office has 1 to 200 counters",
        ));
    }
    let office = office.trim().to_ascii_uppercase();
    let mut tx = app.db.begin().await?;
    if !store::set_office_settings(&mut tx, &office, counters, walk_ins).await? {
        return Err(ServiceError::NotFound("office"));
    }
    audit::record(
        app,
        &mut tx,
        &staff.actor(),
        "office.settings",
        &format!("office:{office}"),
        json!({"counters": counters, "walk_ins": walk_ins}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

// ---- measures ----

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DayMeasures {
    pub office_code: String,
    pub day: NaiveDate,
    pub bookings: i64,
    pub checked_in: i64,
    pub no_shows: i64,
    pub cancelled: i64,
    pub tickets: i64,
    pub served: i64,
    pub wait_median_seconds: Option<i64>,
    pub wait_p90_seconds: Option<i64>,
    pub service_median_seconds: Option<i64>,
    pub service_p90_seconds: Option<i64>,
}

/// The value below which `q` of the sorted samples lie (nearest rank).
fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub async fn measures(app: &App, office: &str, day: NaiveDate) -> Result<DayMeasures> {
    let code = OfficeCode::parse(office).map_err(|e| ServiceError::invalid("office", e))?;
    let mut conn = app.db.conn().await?;
    offices::get(&mut conn, &code)
        .await?
        .ok_or(ServiceError::NotFound("office"))?;
    let (from, to) = (
        day_start_micros(day),
        day_start_micros(day + Duration::days(1)),
    );
    let bookings = appts::at_office(&mut conn, code.as_str(), from, to).await?;
    let count = |s: &str| bookings.iter().filter(|a| a.status == s).count() as i64;
    let tickets = store::tickets_on(&mut conn, code.as_str(), &day.to_string()).await?;
    let mut waits: Vec<i64> = tickets
        .iter()
        .filter_map(|t| t.called_at.map(|c| (c - t.issued_at) / 1_000_000))
        .collect();
    let mut services: Vec<i64> = tickets
        .iter()
        .filter(|t| t.status == "done")
        .filter_map(|t| Some((t.finished_at? - t.called_at?) / 1_000_000))
        .collect();
    waits.sort_unstable();
    services.sort_unstable();
    Ok(DayMeasures {
        office_code: code.as_str().to_string(),
        day,
        bookings: bookings.iter().filter(|a| a.status != "cancelled").count() as i64,
        checked_in: count("checked_in"),
        no_shows: count("no_show"),
        cancelled: count("cancelled"),
        tickets: tickets.len() as i64,
        served: services.len() as i64,
        wait_median_seconds: quantile(&waits, 0.5),
        wait_p90_seconds: quantile(&waits, 0.9),
        service_median_seconds: quantile(&services, 0.5),
        service_p90_seconds: quantile(&services, 0.9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(quantile(&v, 0.5), Some(5));
        assert_eq!(quantile(&v, 0.9), Some(9));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7));
    }

    #[test]
    fn the_card_slot_must_hold_the_very_card() {
        use exitentry_domain::numbers::DocumentKind;
        let card = |kind, number: &str, issue_count| DocumentRecord {
            person_id: 1,
            kind,
            number: number.into(),
            issue_count,
            issued_on: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            expires_on: NaiveDate::from_ymd_opt(2029, 1, 1).unwrap(),
            status: DocumentStatus::Valid,
            office_code: None,
        };
        let eep = card(DocumentKind::EepCard, "CA1234567", None);
        assert!(slot_holds(" ca1234567 ", &eep));
        assert!(!slot_holds("CA1234567 01", &eep));
        assert!(!slot_holds("CB1234567", &eep));
        let third = card(DocumentKind::HrpNonChinese, "HA1234567", Some(3));
        for ok in ["HA1234567 03", "ha1234567-3", "HA1234567/03"] {
            assert!(slot_holds(ok, &third), "{ok}");
        }
        for wrong in ["HA1234567", "HA1234567 02", "HA1234567 x", "HA7654321 03"] {
            assert!(!slot_holds(wrong, &third), "{wrong}");
        }
        // A card stored without its count is the first.
        let imported = card(DocumentKind::HrpNonChinese, "HA1234567", None);
        assert!(slot_holds("HA1234567 01", &imported));
    }

    #[test]
    fn photo_formats_come_from_the_bytes() {
        assert_eq!(photo_format(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(photo_format(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(photo_format(b"GIF89a"), None);
        assert_eq!(photo_format(b"%PDF-1.7"), None);
    }
}
