//! The applicant's appointments (mobile first): pick an office, a service and a day, choose a
//! slot, get a confirmation with the reference as a QR code; cancel or move it before the
//! cut-off. Works without JavaScript.

use super::common::{CsrfForm, Page, back, csrf_field, qr_svg, render};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::Holder;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{
    self as ap, AppointmentView, Booker, BookingRequest, SlotView,
};
use exitentry_services::holders::HolderSession;
use exitentry_services::offices;
use serde::Deserialize;

back!(MyAppointments = "/my/appointments");
csrf_field!(BookForm, MoveForm);

/// An office in the picker: code and name in the reader's language.
struct OfficeChoice {
    code: String,
    name: String,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/appointments", get(list).post(book))
        .route("/my/appointments/new", get(new))
        .route("/my/appointments/{id}", get(show))
        .route(
            "/my/appointments/{id}/cancel",
            get(cancel_form).post(cancel),
        )
        .route("/my/appointments/{id}/move", post(move_to))
}

#[derive(Template)]
#[template(path = "holder/appointments.html")]
struct List {
    page: Page,
    holder: HolderSession,
    /// Each booking with its office's name.
    appointments: Vec<(AppointmentView, String)>,
    blocked_until: Option<String>,
    error: Option<String>,
}

async fn list_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    holder: HolderSession,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "appt-title");
    let mut appointments = Vec::new();
    for a in ap::mine(&s.app, &holder)
        .await
        .map_err(PageError::at(lang, &page.path))?
    {
        let name = office_label(s, lang, &a.office_code).await.0;
        appointments.push((a, name));
    }
    let blocked_until = ap::holder_block(&s.app, &holder)
        .await
        .map_err(PageError::at(lang, &page.path))?
        .map(|t| super::common::beijing(t, "%Y-%m-%d"));
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&List {
            page,
            holder,
            appointments,
            blocked_until,
            error,
        }),
    )
        .into_response())
}

async fn list(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
) -> Result<Response, PageError> {
    list_page(&s, lang, &uri, h, None).await
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    /// Moving an existing booking instead of making a new one.
    #[serde(default)]
    r#move: String,
}

#[derive(Template)]
#[template(path = "holder/appointment_new.html")]
struct New {
    page: Page,
    holder: HolderSession,
    offices: Vec<OfficeChoice>,
    services: Vec<Service>,
    office: String,
    service: String,
    date: String,
    min_date: String,
    max_date: String,
    moving: String,
    slots: Vec<SlotView>,
    searched: bool,
    error: Option<String>,
}

/// Offices offering a service, for the picker.
async fn office_choices(
    s: &AppState,
    lang: Lang,
    service: Option<Service>,
) -> Result<Vec<OfficeChoice>, ServiceError> {
    Ok(offices::offering(&s.app, service)
        .await?
        .into_iter()
        .map(|o| OfficeChoice {
            code: o.code.as_str().to_string(),
            name: match lang {
                Lang::ZhHans => o.name_zh_hans,
                Lang::ZhHant => o.name_zh_hant,
                Lang::En => o.name_en,
            },
        })
        .collect())
}

async fn new(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, &uri, None, "appt-new-title");
    let today = s.app.today();
    // The office list follows the chosen service (the first bookable one by default).
    let service = Service::parse(&q.service)
        .ok()
        .filter(|s| s.bookable())
        .unwrap_or(Service::EepApplication);
    let offices = office_choices(&s, lang, Some(service))
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let date = q.date.parse::<NaiveDate>().ok();
    let searched = !q.office.is_empty() && date.is_some();
    let (slots, error, status) = match (searched, date) {
        (true, Some(d)) => match ap::slots(&s.app, &q.office, service.code(), d, d).await {
            Ok(list) => (
                list.into_iter().filter(|s| s.available > 0).collect(),
                None,
                StatusCode::OK,
            ),
            Err(e) => (Vec::new(), Some(message_for(&e, lang)), status_for(&e)),
        },
        _ => (Vec::new(), None, StatusCode::OK),
    };
    Ok((
        status,
        render(&New {
            page,
            holder: h,
            offices,
            services: Service::ALL.into_iter().filter(|s| s.bookable()).collect(),
            office: q.office,
            service: service.code().to_string(),
            date: date.unwrap_or(today + Duration::days(1)).to_string(),
            min_date: today.to_string(),
            max_date: (today + Duration::days(s.app.config.centre.booking_horizon_days))
                .to_string(),
            moving: q.r#move,
            slots,
            searched,
            error,
        }),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
struct BookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    slot_start: String,
}

async fn book(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    CsrfForm(f, _): CsrfForm<BookForm, MyAppointments>,
) -> Result<Response, PageError> {
    let req = BookingRequest {
        office_code: f.office,
        service: f.service,
        slot_start: f.slot_start,
        channel: "web".into(),
        ..Default::default()
    };
    match ap::book(&s.app, Booker::Holder(&h), &req).await {
        Ok(a) => {
            Ok(Redirect::to(&format!("/my/appointments/{}", a.appointment_id)).into_response())
        }
        Err(e) if !matches!(e, ServiceError::Internal(_) | ServiceError::Unauthenticated) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            list_page(&s, lang, &uri, h, err).await
        }
        Err(e) => Err(PageError::at(lang, "/my/appointments")(e)),
    }
}

#[derive(Template)]
#[template(path = "holder/appointment.html")]
struct Show {
    page: Page,
    a: AppointmentView,
    office: String,
    address: String,
    qr: String,
    changeable: bool,
}

/// An office's name in the reader's language and its address ("" when unknown).
async fn office_label(s: &AppState, lang: Lang, code: &str) -> (String, String) {
    match offices::get(&s.app, code).await {
        Ok(o) => (
            match lang {
                Lang::ZhHans => o.name_zh_hans,
                Lang::ZhHant => o.name_zh_hant,
                Lang::En => o.name_en,
            },
            o.address,
        ),
        Err(_) => (code.to_string(), String::new()),
    }
}

async fn show(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, &uri, None, "appt-confirmation");
    let a = ap::get(&s.app, Booker::Holder(&h), &id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let changeable = a.status == exitentry_domain::states::AppointmentState::Booked.code()
        && s.app.now() < a.changeable_until;
    let (office, address) = office_label(&s, lang, &a.office_code).await;
    Ok(render(&Show {
        qr: qr_svg(&a.reference).unwrap_or_default(),
        page,
        a,
        office,
        address,
        changeable,
    }))
}

#[derive(Deserialize, Default)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slot_start: String,
    #[serde(default)]
    office: String,
}

/// The confirmation before a booking is cancelled: which one, and that its time goes to
/// someone else.
async fn confirm_cancel(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    h: &HolderSession,
    id: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "appt-cancel-title");
    let a = ap::get(&s.app, Booker::Holder(h), id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let (office, _) = office_label(s, lang, &a.office_code).await;
    let what = lang.t_args(
        "appt-cancel-what",
        &[
            ("service", lang.t(&format!("service-{}", a.service))),
            ("office", office),
            ("time", a.start.format("%Y-%m-%d %H:%M").to_string()),
        ],
    );
    Ok(super::common::Confirm {
        what,
        consequence: lang.t("appt-cancel-consequence"),
        action: format!("/my/appointments/{id}/cancel"),
        button: lang.t("appt-cancel-confirm"),
        back: format!("/my/appointments/{id}"),
        csrf: h.csrf_token.clone(),
        error,
        page,
    }
    .respond())
}

async fn cancel_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    confirm_cancel(&s, lang, &uri, &h, &id, None).await
}

async fn cancel(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
    _: CsrfForm<MoveForm, MyAppointments>,
) -> Result<Response, PageError> {
    match ap::cancel(&s.app, Booker::Holder(&h), &id).await {
        Ok(_) => Ok(Redirect::to("/my/appointments").into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            confirm_cancel(&s, lang, &uri, &h, &id, Some(message_for(&e, lang))).await
        }
        Err(e) => Err(PageError::at(lang, "/my/appointments")(e)),
    }
}

async fn move_to(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<MoveForm, MyAppointments>,
) -> Result<Response, PageError> {
    let office = Some(f.office.as_str()).filter(|o| !o.is_empty());
    match ap::reschedule(&s.app, Booker::Holder(&h), &id, office, &f.slot_start).await {
        Ok(a) => {
            Ok(Redirect::to(&format!("/my/appointments/{}", a.appointment_id)).into_response())
        }
        Err(e) if !matches!(e, ServiceError::Internal(_) | ServiceError::Unauthenticated) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            list_page(&s, lang, &uri, h, err).await
        }
        Err(e) => Err(PageError::at(lang, "/my/appointments")(e)),
    }
}
