//! Slots: which services an office offers, weekly templates, the working calendar, opening
//! slots and the free places a booking channel sees.

use super::*;
use crate::records;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime};
use exitentry_domain::centre::{self, ROUND_THE_CLOCK_COUNTER_HOURS, TemplateLine};
use exitentry_domain::office::{DEFAULT_OPENING_HOURS, HolidayCalendar, OfficeCode, Service};
use exitentry_domain::time::cst;
use exitentry_storage::appointments::{self as store, SlotRow, TemplateRow};
use exitentry_storage::{AnyConnection, from_micros, offices};
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;

pub(super) async fn office_offering(
    conn: &mut AnyConnection,
    code: &str,
    service: Service,
) -> Result<exitentry_domain::office::Office> {
    let code = OfficeCode::parse(code).at_field("office_code")?;
    let office = records::office(conn, &code).await?;
    if !office.services.contains(&service) {
        return Err(ServiceError::bad_input(
            "service",
            ErrorCode::ServiceNotOffered,
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
        .at_field("opening_hours")
}

pub(super) fn line_from_row(t: &TemplateRow, capacity: Option<u32>) -> Result<TemplateLine> {
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
pub(super) async fn closed_days(
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
    let service = Service::parse(service).at_field("service")?;
    if !(1..=366).contains(&days) {
        return Err(ServiceError::bad_input(
            "days",
            ErrorCode::BadDays,
            "open 1 to 366 days at a time",
        ));
    }
    if capacity == Some(0) || capacity.is_some_and(|c| c > 500) {
        return Err(ServiceError::bad_input(
            "capacity",
            ErrorCode::BadCapacity,
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
    tx.commit().await?;
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
        return Err(ServiceError::bad_input(
            "to",
            ErrorCode::BadRange,
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
