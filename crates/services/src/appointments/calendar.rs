//! Administration: weekly templates, public holidays, make-up days and office closures.

use super::*;
use crate::auth::StaffSession;
use crate::input::RequiredText;
use crate::records;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{Duration, NaiveDate};
use exitentry_domain::centre::{self};
use exitentry_domain::office::{HolidayCalendar, OfficeCode};
use exitentry_storage::appointments::{self as store, CalendarDay, TemplateRow};
use serde::Serialize;
use serde_json::json;

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
    let lines = centre::template_from_hours(hours, slot_minutes, capacity).at_field("hours")?;
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
    tx.commit().await?;
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
    let code = OfficeCode::parse(office_code).at_field("office_code")?;
    let office = records::office(&mut conn, &code).await?;
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
                let c = HolidayCalendar::parse(c).at_field("calendar")?;
                Ok((c.code().to_string(), String::new()))
            }
            DayScope::Office(o) => {
                let code = OfficeCode::parse(o).at_field("office_code")?;
                Ok((String::new(), code.as_str().to_string()))
            }
        }
    }
}

/// The name a holiday, a make-up day or a closure is shown with.
const DAY_NAME: RequiredText = RequiredText {
    field: "name",
    max: 100,
    code: ErrorCode::BadName,
    message: "give the day a name of 1 to 100 characters",
};

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
        .map_err(|_| ServiceError::bad_input("day", ErrorCode::BadDate, "a date is YYYY-MM-DD"))?;
    let ok = matches!(
        (kind, scope),
        ("holiday" | "workday", DayScope::Calendar(_)) | ("closure", DayScope::Office(_))
    );
    if !ok {
        return Err(ServiceError::bad_input(
            "kind",
            ErrorCode::BadDayKind,
            "public holidays and make-up working days belong to a holiday calendar; a closure names an office",
        ));
    }
    let (calendar, office) = scope.keys()?;
    let name = DAY_NAME.check(name)?;
    let mut tx = app.db.begin().await?;
    if !office.is_empty() {
        let code = OfficeCode::parse(&office).at_field("office_code")?;
        records::office(&mut tx, &code).await?;
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
    tx.commit().await?;
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
    tx.commit().await?;
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
    let code = OfficeCode::parse(office_code).at_field("office_code")?;
    let office = records::office(&mut conn, &code).await?;
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
