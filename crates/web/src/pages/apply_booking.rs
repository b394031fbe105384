//! Booking the service centre from /apply once the pre-application is approved: the offices
//! that take the permit grouped by city (the applicant's own first, each with its earliest
//! free time), the booking with its office, address, map and check-in QR, and moving or
//! cancelling it before the cut-off.

use super::common::{
    BookingQuery, Cancel, Confirm, CsrfForm, CsrfOnly, Cx, OfficePicker, SlotSearch, Up,
    booking_form, cancel, cancel_form, csrf_field, office_address, office_name, page_template,
    qr_svg, urlencoding_min,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Applicant;
use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest};
use exitentry_services::pre_applications::{self as hrp, ApplicantSession, Detail};
use serde::Deserialize;

const LIST: &str = "/apply/applications";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply/applications/{id}/book", get(book_form).post(book))
        .route(
            "/apply/applications/{id}/book/cancel",
            get(cancel_form::<CancelBooking>).post(cancel::<CancelBooking>),
        )
}

csrf_field!(BookForm);

page_template! {
    Book = "apply/book.html" {
        me: ApplicantSession,
        d: Detail,
        picker: OfficePicker,
        search: SlotSearch,
        booked: Option<Booked>,
        /// Choosing a new time for the booking above.
        moving: bool,
    }
}

/// The applicant's booking as /apply shows it: where (name, address, a map), when, and the
/// check-in QR with the reference as its text.
struct Booked {
    a: ap::AppointmentView,
    office: String,
    address: String,
    map_url: String,
    qr: String,
    changeable: bool,
}

async fn booked(cx: &Cx, a: ap::AppointmentView) -> Booked {
    let (office, address, on_map) =
        match exitentry_services::offices::get(cx.app(), &a.office_code).await {
            // The map is searched with the registry's own (Chinese) address.
            Ok(o) => (
                office_name(cx.lang, &o),
                office_address(cx.lang, &o),
                o.address,
            ),
            Err(_) => (a.office_code.clone(), String::new(), String::new()),
        };
    let map_url = format!(
        "https://www.openstreetmap.org/search?query={}",
        urlencoding_min(&on_map)
    );
    Booked {
        qr: qr_svg(&a.reference).unwrap_or_default(),
        changeable: cx.app().now() < a.changeable_until,
        a,
        office,
        address,
        map_url,
    }
}

async fn book_page(cx: &Cx, me: ApplicantSession, id: &str, q: BookingQuery) -> PageResult {
    let path = format!("{LIST}/{id}/book");
    let d = hrp::get(cx.app(), &me, id).await.map_err(cx.fail(&path))?;
    let booked = match ap::applicant_booking(cx.app(), &me)
        .await
        .map_err(cx.fail(&path))?
    {
        Some(a) => Some(booked(cx, a).await),
        None => None,
    };
    let moving = booked.as_ref().is_some_and(|b| b.changeable) && q.r#move == "1";
    let service = Service::HrpNonChinese;
    let (cx, picker, search) = booking_form(cx, Booker::Applicant(&me), service, &q)
        .await
        .map_err(cx.fail(&path))?;
    Ok(cx.render(&Book {
        page: cx.page(None, "apply-book-title"),
        me,
        d,
        picker,
        search,
        booked,
        moving,
    }))
}

async fn book_form(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    Query(q): Query<BookingQuery>,
) -> PageResult {
    book_page(&cx, a, &id, q).await
}

#[derive(Deserialize, Default)]
struct BookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    slot_start: String,
    /// The day the times were listed for, to list them again after a refusal.
    #[serde(default)]
    date: String,
    #[serde(default)]
    r#move: String,
}

async fn book(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<BookForm>,
) -> PageResult {
    let path = format!("{LIST}/{id}/book");
    let req = BookingRequest {
        office_code: f.office.clone(),
        service: Service::HrpNonChinese.code().into(),
        slot_start: f.slot_start,
        channel: "web".into(),
        lang: Some(cx.lang.messages()),
        ..Default::default()
    };
    // With a booking already, the chosen time moves it; otherwise it books.
    let done = match ap::applicant_booking(cx.app(), &a).await {
        Ok(Some(current)) => {
            let office = Some(f.office.as_str()).filter(|o| !o.is_empty());
            let booker = Booker::Applicant(&a);
            ap::reschedule(
                cx.app(),
                booker,
                &current.appointment_id,
                office,
                &req.slot_start,
                req.lang,
            )
            .await
        }
        Ok(None) => ap::book(cx.app(), Booker::Applicant(&a), &req).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        // Back to the times of that day with why (post, redirect, get: a reload shows it).
        Err(e) if !matches!(e, ServiceError::Internal(_) | ServiceError::Unauthenticated) => {
            let again = format!(
                "{path}?office={}&date={}&move={}",
                urlencoding_min(&f.office),
                urlencoding_min(&f.date),
                urlencoding_min(&f.r#move)
            );
            Ok(cx.failed_to(&again, cx.shown(&e)))
        }
        Err(e) => Err(cx.fail(&path)(e)),
    }
}

/// Cancelling the booking of an approved pre-application, after a confirmation.
struct CancelBooking;

impl Cancel for CancelBooking {
    type Owner = Applicant;
    type Form = CsrfOnly;
    type Back = Up;

    async fn confirm(cx: &Cx, Applicant(me): &Applicant, id: &str) -> PageResult {
        let page = cx.page(None, "appt-cancel-title");
        let back = Self::fails_at(id);
        let Some(a) = ap::applicant_booking(cx.app(), me)
            .await
            .map_err(cx.fail(&page.path))?
        else {
            return Ok(Redirect::to(&back).into_response());
        };
        let b = booked(cx, a).await;
        let what = cx.lang.t_args(
            "appt-cancel-what",
            &[
                ("service", cx.lang.t(&format!("service-{}", b.a.service))),
                ("office", b.office),
                ("time", b.a.start.format("%Y-%m-%d %H:%M").to_string()),
            ],
        );
        let to = [format!("{back}/cancel"), back];
        Confirm::cancel(cx, page, "appt-cancel", what, to, &me.csrf_token)
    }

    /// Cancels the applicant's booking, if there still is one.
    async fn cancel(cx: &Cx, Applicant(a): &Applicant, id: &str) -> Result<String, ServiceError> {
        if let Some(current) = ap::applicant_booking(cx.app(), a).await? {
            ap::cancel(cx.app(), Booker::Applicant(a), &current.appointment_id).await?;
        }
        Ok(Self::fails_at(id))
    }

    fn fails_at(id: &str) -> String {
        format!("{LIST}/{id}/book")
    }
}
