//! Administration of a service centre on one page: counters and walk-ins, the weekly slot
//! templates, opening slots, the holiday calendar and closures, the devices, and the day's
//! measures (bookings, no-shows, waiting and service times).

use super::common::{
    CsrfForm, Cx, OfficeNames, StaffWith, csrf_field, form_fields, need, outcome, page_template,
    render, urlencoding_min, when_micros,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use chrono::NaiveDate;
use exitentry_domain::staff::Permission;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, DayScope, TemplateView};
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{self, DayMeasures};
use serde::Deserialize;

csrf_field!(ActForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(ADMIN, get(page).post(act))
        .route("/staff/kiosks", get(fleet))
        .route("/staff/admin/payments", get(payments))
}

page_template! {
    Payments = "staff/payments.html" {
        day: String,
        rows: Vec<exitentry_services::online_payments::Reconciliation>,
    }
}

/// The day's payments per provider and terminal method, to compare with settlement files.
async fn payments(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageCentre>,
    Query(q): Query<CentreQuery>,
) -> PageResult {
    let day = q
        .day
        .parse::<NaiveDate>()
        .unwrap_or_else(|_| cx.app().today());
    let mut rows = Vec::new();
    for p in exitentry_services::online_payments::PROVIDERS {
        for name in [p.to_string(), format!("terminal:{p}")] {
            let r = exitentry_services::online_payments::reconciliation(cx.app(), &name, day)
                .await
                .map_err(cx.fail("/staff/admin/payments"))?;
            rows.push(r);
        }
    }
    Ok(render(&Payments {
        page: cx.page(Some(staff), "payments-title"),
        day: day.to_string(),
        rows,
    }))
}

page_template! {
    Fleet = "staff/kiosks.html" {
        devices: Vec<exitentry_services::endorsement_applications::KioskStatus>,
        offices: OfficeNames,
    }
}

impl Fleet {
    fn seen(&self, at: &Option<i64>) -> String {
        at.map(when_micros).unwrap_or_default()
    }
}

/// The kiosk fleet: every device, when it was last seen, its last print job and fault.
async fn fleet(cx: Cx, Staff(staff): Staff) -> PageResult {
    let fail = cx.fail("/staff/kiosks");
    if !(staff.role.can(Permission::ManageCentre) || staff.role.can(Permission::ServeCounter)) {
        return Err(fail(ServiceError::Forbidden));
    }
    let mut devices = exitentry_services::endorsement_applications::fleet(cx.app())
        .await
        .map_err(&fail)?;
    if let (Some(o), false) = (&staff.office_code, staff.role.can(Permission::ManageCentre)) {
        devices.retain(|d| &d.office_code == o);
    }
    let offices = OfficeNames::of(&cx, devices.iter().map(|d| d.office_code.as_str())).await;
    Ok(render(&Fleet {
        page: cx.page(Some(staff), "fleet-title"),
        devices,
        offices,
    }))
}

#[derive(Deserialize, Default)]
struct CentreQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    day: String,
}

pub struct DeviceLine {
    pub name: String,
    pub kind: String,
    pub disabled: bool,
    pub last_seen: String,
}

pub struct CalendarLine {
    pub day: String,
    /// The holiday calendar of a public holiday or make-up day; empty for the office's own.
    pub calendar: String,
    pub office: String,
    pub kind: String,
    pub name: String,
}

page_template! {
    Admin = "staff/centre_admin.html" {
        office: String,
        day: String,
        counters: i64,
        walk_ins: bool,
        templates: Vec<TemplateView>,
        /// The holiday calendar the office follows (`mainland`, `hong_kong`).
        holiday_calendar: String,
        calendar: Vec<CalendarLine>,
        devices: Vec<DeviceLine>,
        measures: Option<DayMeasures>,
    }
}

const ADMIN: &str = "/staff/admin/centre";

/// The office's page with what the last action did (a refusal is shown, but answered 200).
async fn render_page(cx: &Cx, staff: StaffSession, office: &str, day: &str) -> PageResult {
    let fail = cx.fail(ADMIN);
    let office = if office.trim().is_empty() {
        staff
            .office_code
            .clone()
            .unwrap_or_else(|| "GZ-TH-001".into())
    } else {
        office.trim().to_ascii_uppercase()
    };
    let day = day
        .parse::<NaiveDate>()
        .unwrap_or_else(|_| cx.app().today());
    let (counters, walk_ins) = match centre::office_settings(cx.app(), &office).await {
        Ok(v) => v,
        Err(ServiceError::NotFound(_)) => return Err(fail(ServiceError::NotFound("office"))),
        Err(e) => return Err(fail(e)),
    };
    let templates = ap::templates(cx.app(), &office).await.map_err(&fail)?;
    let (holiday_calendar, days) = ap::calendar(cx.app(), &office, 400).await.map_err(&fail)?;
    // An office's own closures by the office's name.
    let names = OfficeNames::of(cx, days.iter().map(|d| d.office_code.as_str())).await;
    let calendar = days
        .into_iter()
        .map(|d| CalendarLine {
            day: d.day,
            calendar: d.calendar,
            office: match d.office_code.is_empty() {
                true => String::new(),
                false => names.name(&d.office_code),
            },
            kind: d.kind,
            name: d.name,
        })
        .collect();
    let devices = centre::devices(cx.app(), Some(&office))
        .await
        .map_err(&fail)?
        .into_iter()
        .map(|d| DeviceLine {
            name: d.name,
            kind: d.kind,
            disabled: d.disabled,
            last_seen: d.last_seen_at.map(when_micros).unwrap_or_default(),
        })
        .collect();
    let measures = centre::measures(cx.app(), &office, day).await.ok();
    Ok(render(&Admin {
        page: cx.page(Some(staff), "centre-admin-title"),
        office,
        day: day.to_string(),
        counters,
        walk_ins,
        templates,
        holiday_calendar: holiday_calendar.code().to_string(),
        calendar,
        devices,
        measures,
    }))
}

async fn page(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageCentre>,
    Query(q): Query<CentreQuery>,
) -> PageResult {
    render_page(&cx, staff, &q.office, &q.day).await
}

form_fields!(ActForm {
    office: String,
    /// `settings`, `template`, `open`, `day`, `remove_day`, `device`, `disable_device`.
    what: String,
    counters: i64,
    walk_ins: Option<String>,
    service: String,
    hours: String,
    slot_minutes: u32,
    capacity: u32,
    from: String,
    days: u32,
    day: String,
    kind: String,
    name: String,
    nationwide: Option<String>,
    /// The holiday calendar a public holiday or make-up day belongs to (with `nationwide`).
    calendar: Option<String>,
});

async fn act(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageCentre>,
    CsrfForm(f, _): CsrfForm<ActForm>,
) -> PageResult {
    let (app, lang) = (cx.app(), cx.lang);
    let office = f.office.trim().to_ascii_uppercase();
    let done: Result<String, ServiceError> = match f.what.as_str() {
        "settings" => {
            centre::set_office_settings(app, &staff, &office, f.counters, f.walk_ins.is_some())
                .await
                .map(|_| lang.t("centre-admin-saved"))
        }
        "template" => ap::set_template(
            app,
            &staff,
            &office,
            &f.service,
            &f.hours,
            f.slot_minutes,
            f.capacity,
        )
        .await
        .map(|n| format!("{} ({n})", lang.t("centre-admin-saved"))),
        "open" => match f.from.parse::<NaiveDate>() {
            Ok(from) => {
                ap::open_slots(app, &staff.actor(), &office, &f.service, from, f.days, None)
                    .await
                    .map(|o| format!("{}: {}", lang.t("centre-admin-opened"), o.opened))
            }
            Err(_) => Err(bad_date()),
        },
        "day" => {
            let scope = day_scope(&f, &office);
            ap::put_day(app, &staff, &f.day, scope, &f.kind, &f.name)
                .await
                .map(|(removed, left)| {
                    format!("{}: {removed} / {left}", lang.t("centre-admin-day-added"))
                })
        }
        "remove_day" => {
            let scope = day_scope(&f, &office);
            ap::remove_day(app, &staff, &f.day, scope)
                .await
                .map(|_| lang.t("centre-admin-saved"))
        }
        "device" => centre::create_device(app, &staff.actor(), &office, &f.name, &f.kind)
            .await
            .map(|(_, token)| format!("{} {token}", lang.t("centre-admin-device-token"))),
        "disable_device" => centre::set_device_disabled(app, &staff.actor(), &f.name, true)
            .await
            .map(|_| lang.t("centre-admin-saved")),
        _ => Err(ServiceError::bad_input(
            "what",
            exitentry_domain::ErrorCode::BadAction,
            "unknown action",
        )),
    };
    let shown = |e: &ServiceError| !matches!(e, ServiceError::Internal(_));
    let outcome = outcome(&cx, done, |n| n, shown, ADMIN)?;
    let here = match office.is_empty() {
        true => ADMIN.to_string(),
        false => format!("{ADMIN}?office={}", urlencoding_min(&office)),
    };
    render_page(&cx.at(&here).after(outcome), staff, &office, "").await
}

/// A public holiday or make-up day of a holiday calendar (the form's calendar, the
/// mainland's if it names none), or the office's own day.
fn day_scope<'a>(f: &'a ActForm, office: &'a str) -> DayScope<'a> {
    if f.nationwide.is_some() {
        DayScope::Calendar(f.calendar.as_deref().unwrap_or("mainland"))
    } else {
        DayScope::Office(office)
    }
}

fn bad_date() -> ServiceError {
    ServiceError::bad_input(
        "from",
        exitentry_domain::ErrorCode::BadDate,
        "a date is YYYY-MM-DD",
    )
}
