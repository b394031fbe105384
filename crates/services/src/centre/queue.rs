//! Tickets and the queue: check-in of a booking, walk-ins, calling the next ticket at a
//! counter, recall, skip, transfer, and the waiting-room board.

use super::*;
use crate::auth::StaffSession;
use crate::records;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, FixedOffset};
use exitentry_domain::centre::{self};
use exitentry_domain::document::age_on;
use exitentry_domain::office::{OfficeCode, Service};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::{AppointmentState, TicketState};
use exitentry_storage::appointments as appts;
use exitentry_storage::centre::{self as store, NewTicket, TicketRow};
use exitentry_storage::{AnyConnection, Tx, people};
use serde::Serialize;
use serde_json::json;

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

    /// The next ticket of `service` at this desk's office, handed out by it.
    async fn issue_ticket(
        &self,
        app: &App,
        conn: &mut AnyConnection,
        service: Service,
        who: TicketFor<'_>,
    ) -> Result<TicketRow> {
        let office = self.office()?;
        let day = app.today().to_string();
        let prefix = service.ticket_prefix().to_string();
        let n = store::next_number(conn, &office, &day, &prefix).await?;
        let label = centre::ticket_label(service.ticket_prefix(), n);
        let ticket = NewTicket {
            office_code: &office,
            day: &day,
            service: service.code(),
            label: &label,
            appointment_id: who.appointment_id,
            person_id: who.person_id,
            priority: who.priority,
            issued_by: &self.actor(),
        };
        Ok(store::insert_ticket(conn, &ticket, app.now_micros()).await?)
    }
}

pub(super) fn no_office() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::NoOffice,
        "this account is not assigned to an office",
    )
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

pub(super) async fn ticket_view(conn: &mut AnyConnection, t: &TicketRow) -> Result<TicketView> {
    let all = store::tickets_on(conn, &t.office_code, &t.day).await?;
    let waiting_before = all
        .iter()
        .filter(|o| o.status == TicketState::Waiting && o.service == t.service && o.id != t.id)
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
        status: t.status.code().to_string(),
        counter: t.counter.clone(),
        issued_at: local(t.issued_at),
        waiting_before,
        appointment_reference: appointment.map(|a| a.reference),
        applicant,
        person_id: t.person_id,
    })
}

/// Records `action` by `actor` on ticket `t` and answers the ticket as it then stands,
/// committed with the change.
async fn record_ticket(
    app: &App,
    mut tx: Tx,
    actor: &str,
    action: &str,
    t: &TicketRow,
    detail: serde_json::Value,
) -> Result<TicketView> {
    audit::record(
        app,
        &mut tx,
        actor,
        action,
        &format!("ticket:{}", t.id),
        detail,
    )
    .await?;
    let current = store::ticket_by_id(&mut tx, t.id)
        .await?
        .ok_or(ServiceError::NotFound("ticket"))?;
    let view = ticket_view(&mut tx, &current).await?;
    tx.commit().await?;
    Ok(view)
}

/// Who a new ticket is for and where it goes in the queue.
pub(super) struct TicketFor<'a> {
    pub(super) appointment_id: Option<&'a str>,
    pub(super) person_id: Option<i64>,
    pub(super) priority: i64,
}

pub(super) async fn is_elderly(
    app: &App,
    conn: &mut AnyConnection,
    person_id: Option<i64>,
) -> Result<bool> {
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
        return Err(ServiceError::conflict(
            ErrorCode::WrongOffice,
            format!("this appointment is at {}", a.office_code),
        ));
    }
    if a.status == AppointmentState::CheckedIn {
        let t = store::ticket_for_appointment(&mut tx, &a.id)
            .await?
            .ok_or(ServiceError::NotFound("ticket"))?;
        return ticket_view(&mut tx, &t).await;
    }
    if a.status != AppointmentState::Booked {
        return Err(ServiceError::conflict(
            ErrorCode::NotActive,
            format!("this appointment is {}", a.status),
        ));
    }
    let day = local(a.starts_at).date_naive();
    if day != app.today() {
        return Err(ServiceError::conflict(
            ErrorCode::WrongDay,
            format!("this appointment is on {day}"),
        ));
    }
    let service = Service::parse(&a.service).map_err(|e| ServiceError::Internal(e.message))?;
    let elderly = is_elderly(app, &mut tx, a.person_id).await?;
    let priority = centre::ticket_priority(app.config.centre.priority_for_appointments, elderly);
    // Two scans at once (desk and ticket printer): one ticket.
    crate::appointments::leave_booked(app, &mut tx, &a, AppointmentState::CheckedIn).await?;
    let for_booking = TicketFor {
        appointment_id: Some(&a.id),
        person_id: a.person_id,
        priority,
    };
    let t = desk
        .issue_ticket(app, &mut tx, service, for_booking)
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
    tx.commit().await?;
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
    let service = Service::parse(service).at_field("service")?;
    let mut tx = app.db.begin().await?;
    require_counter_for(&mut tx, &office, service).await?;
    let (_, walk_ins) = store::office_settings(&mut tx, &office)
        .await?
        .unwrap_or((0, false));
    if !walk_ins {
        return Err(ServiceError::conflict(
            ErrorCode::NoWalkIns,
            "this office serves appointments only; please book online",
        ));
    }
    let priority = centre::ticket_priority(
        false,
        elderly_or_disabled && app.config.centre.priority_age > 0,
    );
    let walk_in = TicketFor {
        appointment_id: None,
        person_id: None,
        priority,
    };
    let t = desk.issue_ticket(app, &mut tx, service, walk_in).await?;
    let detail = json!({"label": t.label, "priority": priority});
    record_ticket(app, tx, &desk.actor(), "ticket.walk_in", &t, detail).await
}

/// A ticket handed out at this desk's office (for showing it again after a redirect).
pub async fn ticket(app: &App, desk: Desk<'_>, id: i64) -> Result<TicketView> {
    let office = desk.office()?;
    let mut conn = app.db.conn().await?;
    let t = own_ticket(&mut conn, &office, id).await?;
    ticket_view(&mut conn, &t).await
}

pub(super) fn counter_staff(staff: &StaffSession) -> Result<String> {
    staff.require(Permission::ServeCounter)?;
    staff.office_code.clone().ok_or_else(no_office)
}

pub(super) fn parse_counter(counter: &str) -> Result<String> {
    let c = counter.trim();
    if c.is_empty() || c.len() > 8 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        return Err(ServiceError::bad_input(
            "counter",
            ErrorCode::BadCounter,
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
        Service::parse(s).at_field("service")?;
    }
    let day = app.today().to_string();
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    if let Some(current) = store::serving_at(&mut tx, &office, &day, &counter).await? {
        finish_in(app, &mut tx, staff, &current, TicketState::Done).await?;
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
        tx.commit().await?;
        return Ok(None);
    };
    let detail = json!({"label": t.label, "counter": counter});
    let view = record_ticket(app, tx, &staff.actor(), "ticket.call", &t, detail).await?;
    let wait = (now - t.issued_at) as f64 / 1e6;
    metrics::histogram!("exitentry_queue_wait_seconds", "office" => office).record(wait);
    Ok(Some(view))
}

pub(super) async fn finish_in(
    app: &App,
    conn: &mut AnyConnection,
    staff: &StaffSession,
    t: &TicketRow,
    status: TicketState,
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
pub(super) async fn require_counter_for(
    conn: &mut AnyConnection,
    office: &str,
    service: Service,
) -> Result<()> {
    let code = OfficeCode::parse(office).at_field("office")?;
    let o = records::office(conn, &code).await?;
    if !o.services.contains(&service) || !service.bookable() {
        return Err(ServiceError::bad_input(
            "service",
            ErrorCode::ServiceNotOffered,
            format!("{} has no counter for {}", o.code.as_str(), service.code()),
        ));
    }
    Ok(())
}

pub(super) async fn own_ticket(
    conn: &mut AnyConnection,
    office: &str,
    id: i64,
) -> Result<TicketRow> {
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
        return Err(ServiceError::conflict(
            ErrorCode::NotCalled,
            "only a called ticket can be recalled",
        ));
    }
    record_ticket(app, tx, &staff.actor(), "ticket.recall", &t, json!({})).await
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
        if skipped {
            TicketState::Skipped
        } else {
            TicketState::Done
        },
    )
    .await?
    {
        return Err(ServiceError::conflict(
            ErrorCode::NotCalled,
            "this ticket is not being served",
        ));
    }
    tx.commit().await?;
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
    let service = Service::parse(service).at_field("service")?;
    let mut tx = app.db.begin().await?;
    let t = own_ticket(&mut tx, &office, ticket_id).await?;
    require_counter_for(&mut tx, &office, service).await?;
    if !store::transfer_ticket(&mut tx, t.id, service.code()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::NotCalled,
            "only a called ticket can be transferred",
        ));
    }
    let detail = json!({"from": t.service, "to": service.code()});
    record_ticket(app, tx, &staff.actor(), "ticket.transfer", &t, detail).await
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
        .filter(|t| t.status == TicketState::Waiting)
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
    let code = OfficeCode::parse(office).at_field("office")?;
    let mut conn = app.db.conn().await?;
    records::office(&mut conn, &code).await?;
    let tickets = store::tickets_on(&mut conn, code.as_str(), &app.today().to_string()).await?;
    let mut called: Vec<(i64, &TicketRow)> = tickets
        .iter()
        .filter(|t| t.status == TicketState::Called)
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
    for t in tickets.iter().filter(|t| t.status == TicketState::Waiting) {
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
