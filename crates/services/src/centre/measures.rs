//! Office settings (counters, walk-ins) and the day's measures (waiting and service times).

use crate::auth::StaffSession;
use crate::records;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{Duration, NaiveDate};
use exitentry_domain::office::OfficeCode;
use exitentry_domain::staff::Permission;
use exitentry_domain::states::{AppointmentState, TicketState};
use exitentry_domain::time::day_start_micros;
use exitentry_storage::appointments as appts;
use exitentry_storage::centre::{self as store};
use serde::Serialize;
use serde_json::json;

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
        return Err(ServiceError::bad_input(
            "counters",
            ErrorCode::BadCounters,
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
    tx.commit().await?;
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
pub(super) fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub async fn measures(app: &App, office: &str, day: NaiveDate) -> Result<DayMeasures> {
    let code = OfficeCode::parse(office).at_field("office")?;
    let mut conn = app.db.conn().await?;
    records::office(&mut conn, &code).await?;
    let (from, to) = (
        day_start_micros(day),
        day_start_micros(day + Duration::days(1)),
    );
    let bookings = appts::at_office(&mut conn, code.as_str(), from, to).await?;
    let count = |s: AppointmentState| bookings.iter().filter(|a| a.status == s).count() as i64;
    let tickets = store::tickets_on(&mut conn, code.as_str(), &day.to_string()).await?;
    let mut waits: Vec<i64> = tickets
        .iter()
        .filter_map(|t| t.called_at.map(|c| (c - t.issued_at) / 1_000_000))
        .collect();
    let mut services: Vec<i64> = tickets
        .iter()
        .filter(|t| t.status == TicketState::Done)
        .filter_map(|t| Some((t.finished_at? - t.called_at?) / 1_000_000))
        .collect();
    waits.sort_unstable();
    services.sort_unstable();
    Ok(DayMeasures {
        office_code: code.as_str().to_string(),
        day,
        bookings: bookings
            .iter()
            .filter(|a| a.status != AppointmentState::Cancelled)
            .count() as i64,
        checked_in: count(AppointmentState::CheckedIn),
        no_shows: count(AppointmentState::NoShow),
        cancelled: count(AppointmentState::Cancelled),
        tickets: tickets.len() as i64,
        served: services.len() as i64,
        wait_median_seconds: quantile(&waits, 0.5),
        wait_p90_seconds: quantile(&waits, 0.9),
        service_median_seconds: quantile(&services, 0.5),
        service_p90_seconds: quantile(&services, 0.9),
    })
}
