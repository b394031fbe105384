//! The applicant's appointments (mobile first): pick an office, a service and a day, choose a
//! slot, get a confirmation with the reference as a QR code; cancel or move it before the
//! cut-off. Works without JavaScript.

use super::common::{
    BookingQuery, Cancel, Confirm, CsrfForm, Cx, OfficePicker, SlotSearch, back, beijing, bookable,
    booking_form, cancel, cancel_form, csrf_field, form_fields, office_address, office_name,
    page_template, qr_svg, render, urlencoding_min,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Holder;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::office::Service;
use exitentry_domain::states::AppointmentState;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, AppointmentView, Booker, BookingRequest};
use exitentry_services::holders::HolderSession;
use exitentry_services::offices;

back!(MyAppointments = LIST);
csrf_field!(BookForm, MoveForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(book))
        .route("/my/appointments/new", get(new))
        .route("/my/appointments/{id}", get(show))
        .route(
            "/my/appointments/{id}/cancel",
            get(cancel_form::<CancelBooking>).post(cancel::<CancelBooking>),
        )
        .route("/my/appointments/{id}/move", post(move_to))
}

page_template! {
    List = "holder/appointments.html" {
        holder: HolderSession,
        /// Each booking with its office's name.
        appointments: Vec<(AppointmentView, String)>,
        blocked_until: Option<String>,
    }
}

const LIST: &str = "/my/appointments";

async fn list_page(cx: &Cx, holder: HolderSession) -> PageResult {
    let page = cx.page(None, "appt-title");
    let mut appointments = Vec::new();
    for a in ap::mine(cx.app(), &holder)
        .await
        .map_err(cx.fail(&page.path))?
    {
        let name = office_label(cx, &a.office_code).await.0;
        appointments.push((a, name));
    }
    let blocked_until = ap::holder_block(cx.app(), &holder)
        .await
        .map_err(cx.fail(&page.path))?
        .map(|t| beijing(t, "%Y-%m-%d"));
    Ok(cx.render(&List {
        page,
        holder,
        appointments,
        blocked_until,
    }))
}

async fn list(cx: Cx, Holder(h): Holder) -> PageResult {
    list_page(&cx, h).await
}

page_template! {
    New = "holder/appointment_new.html" {
        holder: HolderSession,
        picker: OfficePicker,
        services: Vec<Service>,
        service: String,
        moving: String,
        search: SlotSearch,
    }
}

async fn new(cx: Cx, Holder(h): Holder, Query(q): Query<BookingQuery>) -> PageResult {
    // The office list follows the chosen service (the first bookable one by default).
    let service = Service::parse(&q.service)
        .ok()
        .filter(|s| s.bookable())
        .unwrap_or(Service::EepApplication);
    // Only offices offering it, the holder's city first, one selected with its earliest day.
    let (cx, picker, search) = booking_form(&cx, Booker::Holder(&h), service, &q)
        .await
        .map_err(cx.fail(&cx.here()))?;
    Ok(cx.render(&New {
        page: cx.page(None, "appt-new-title"),
        holder: h,
        picker,
        services: bookable(),
        service: service.code().to_string(),
        moving: q.r#move,
        search,
    }))
}

form_fields!(BookForm {
    office: String,
    service: String,
    slot_start: String,
    /// The day the times were listed for, to list them again after a refusal.
    date: String,
});

/// Back to the times the person chose from, with why the choice failed (post, redirect,
/// get: a reload shows the same page); `moving` is the booking being moved, if any.
fn chosen_again(cx: &Cx, f: &BookForm, moving: &str, e: &ServiceError) -> Response {
    let again = format!(
        "/my/appointments/new?service={}&office={}&date={}&move={}",
        urlencoding_min(&f.service),
        urlencoding_min(&f.office),
        urlencoding_min(&f.date),
        urlencoding_min(moving)
    );
    cx.failed_to(&again, cx.shown(e))
}

/// Errors of a booking shown on the list (anything but a failure of ours or a lost session).
fn shown(e: &ServiceError) -> bool {
    !matches!(e, ServiceError::Internal(_) | ServiceError::Unauthenticated)
}

async fn book(
    cx: Cx,
    Holder(h): Holder,
    CsrfForm(f, _): CsrfForm<BookForm, MyAppointments>,
) -> PageResult {
    let req = BookingRequest {
        office_code: f.office.clone(),
        service: f.service.clone(),
        slot_start: f.slot_start.clone(),
        channel: "web".into(),
        lang: Some(cx.lang.messages()),
        ..Default::default()
    };
    match ap::book(cx.app(), Booker::Holder(&h), &req).await {
        Ok(a) => Ok(Redirect::to(&format!("{LIST}/{}", a.appointment_id)).into_response()),
        Err(e) if shown(&e) => Ok(chosen_again(&cx, &f, "", &e)),
        Err(e) => Err(cx.fail(LIST)(e)),
    }
}

page_template! {
    Show = "holder/appointment.html" {
        a: AppointmentView,
        office: String,
        address: String,
        qr: String,
        changeable: bool,
    }
}

/// An office's name in the reader's language and its address ("" when unknown).
async fn office_label(cx: &Cx, code: &str) -> (String, String) {
    match offices::get(cx.app(), code).await {
        Ok(o) => (office_name(cx.lang, &o), office_address(cx.lang, &o)),
        Err(_) => (code.to_string(), String::new()),
    }
}

async fn show(cx: Cx, Holder(h): Holder, Path(id): Path<String>) -> PageResult {
    let page = cx.page(None, "appt-confirmation");
    let a = ap::get(cx.app(), Booker::Holder(&h), &id)
        .await
        .map_err(cx.fail(&page.path))?;
    let changeable = a.status == AppointmentState::Booked && cx.app().now() < a.changeable_until;
    let (office, address) = office_label(&cx, &a.office_code).await;
    Ok(render(&Show {
        qr: qr_svg(&a.reference).unwrap_or_default(),
        page,
        a,
        office,
        address,
        changeable,
    }))
}

form_fields!(MoveForm {
    slot_start: String,
    office: String,
    service: String,
    date: String,
});

/// Cancelling a booking, after a confirmation: which one, and that its time goes to someone
/// else.
struct CancelBooking;

impl Cancel for CancelBooking {
    type Owner = Holder;
    type Form = MoveForm;
    type Back = MyAppointments;

    async fn confirm(cx: &Cx, Holder(h): &Holder, id: &str) -> PageResult {
        let page = cx.page(None, "appt-cancel-title");
        let a = ap::get(cx.app(), Booker::Holder(h), id)
            .await
            .map_err(cx.fail(&page.path))?;
        let (office, _) = office_label(cx, &a.office_code).await;
        let what = cx.lang.t_args(
            "appt-cancel-what",
            &[
                ("service", cx.lang.t(&format!("service-{}", a.service))),
                ("office", office),
                ("time", a.start.format("%Y-%m-%d %H:%M").to_string()),
            ],
        );
        let to = [format!("{LIST}/{id}/cancel"), format!("{LIST}/{id}")];
        Confirm::cancel(cx, page, "appt-cancel", what, to, &h.csrf_token)
    }

    async fn cancel(cx: &Cx, Holder(h): &Holder, id: &str) -> Result<String, ServiceError> {
        ap::cancel(cx.app(), Booker::Holder(h), id).await?;
        Ok(LIST.to_string())
    }

    fn fails_at(_: &str) -> String {
        LIST.to_string()
    }
}

async fn move_to(
    cx: Cx,
    Holder(h): Holder,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<MoveForm, MyAppointments>,
) -> PageResult {
    let office = Some(f.office.as_str()).filter(|o| !o.is_empty());
    let lang = Some(cx.lang.messages());
    match ap::reschedule(
        cx.app(),
        Booker::Holder(&h),
        &id,
        office,
        &f.slot_start,
        lang,
    )
    .await
    {
        Ok(a) => Ok(Redirect::to(&format!("{LIST}/{}", a.appointment_id)).into_response()),
        Err(e) if shown(&e) => {
            let chosen = BookForm {
                office: f.office,
                service: f.service,
                date: f.date,
                ..Default::default()
            };
            Ok(chosen_again(&cx, &chosen, &id, &e))
        }
        Err(e) => Err(cx.fail(LIST)(e)),
    }
}
