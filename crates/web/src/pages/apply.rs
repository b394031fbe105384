//! The online pre-application for the non-Chinese home return permit (under `/apply`; the
//! accounts are in `apply_account`): the form saved as typed, documents uploaded,
//! submission, what a reviewer asked to supplement, the history, and booking the centre
//! once approved.

use super::common::{
    Back, CsrfForm, CsrfMultipart, CsrfOnly, Cx, SlotSearch, Up, conflict, csrf_field,
    file_response, invalid_or_conflict, office_choices, page_template, redirect_or_again,
    slot_search,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Applicant;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use exitentry_domain::hrp::Form as HrpForm;
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest};
use exitentry_services::pre_applications::{
    self as hrp, ApplicantSession, Detail, Reader, Summary,
};
use serde::Deserialize;

/// Uploads are refused above the uploads' own limits; this only stops absurd bodies early.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(start))
        .route("/apply/applications/{id}", get(show).post(save))
        .route(
            "/apply/applications/{id}/documents",
            post(upload).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/apply/applications/{id}/documents/{doc}", get(document))
        .route(
            "/apply/applications/{id}/documents/{doc}/remove",
            post(remove),
        )
        .route("/apply/applications/{id}/submit", post(submit))
        .route("/apply/applications/{id}/book", get(book_form).post(book))
        .route(
            "/apply/applications/{id}/book/cancel",
            get(cancel_form).post(cancel),
        )
}

/// An application's page, for forms on it (`/apply/applications/{id}/…`).
struct ApplicationPage;

impl Back for ApplicationPage {
    fn path(request_path: &str) -> String {
        request_path
            .split('/')
            .take(4)
            .collect::<Vec<_>>()
            .join("/")
    }
}

csrf_field!(SaveForm, BookForm);

// ---- applications ----

page_template! {
    List = "apply/list.html" {
        me: ApplicantSession,
        list: Vec<Summary>,
    }
}

const LIST: &str = "/apply/applications";

async fn list_page(cx: &Cx, me: ApplicantSession) -> PageResult {
    let list = hrp::mine(cx.app(), &me).await.map_err(cx.fail(LIST))?;
    Ok(cx.render(&List {
        page: cx.page(None, "apply-list-title"),
        me,
        list,
    }))
}

async fn list(cx: Cx, Applicant(a): Applicant) -> PageResult {
    list_page(&cx, a).await
}

async fn start(cx: Cx, Applicant(a): Applicant, _: CsrfForm<CsrfOnly>) -> PageResult {
    redirect_or_again(
        &cx,
        hrp::start(cx.app(), &a).await,
        |x| format!("{LIST}/{}", x.id),
        conflict,
        async |cx| list_page(cx, a).await,
        LIST,
    )
    .await
}

page_template! {
    Show = "apply/application.html" {
        me: ApplicantSession,
        d: Detail,
        editable: bool,
        purposes: Vec<&'static str>,
        /// The booking at the centre once approved and booked (Beijing time).
        booking: Option<String>,
    }
}

impl Show {
    fn has_document(&self, purpose: &str) -> bool {
        self.d.documents.iter().any(|x| x.purpose == purpose)
    }

    fn problem(&self, field: &str) -> Option<String> {
        self.d.problems.iter().find(|p| p.field == field).map(|p| {
            self.page
                .lang
                .try_t(&format!("err-{}", p.code))
                .unwrap_or_else(|| p.message.clone())
        })
    }
}

async fn show_page(cx: &Cx, me: ApplicantSession, id: &str) -> PageResult {
    let d = hrp::get(cx.app(), &me, id)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?;
    let editable = exitentry_domain::states::PreApplicationState::parse(&d.status)
        .is_ok_and(|s| s.is_editable());
    let mut purposes = d.required_documents.clone();
    purposes.push("other");
    let booking = ap::applicant_booking(cx.app(), &me)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?
        .map(|b| b.start.format("%Y-%m-%d %H:%M").to_string());
    Ok(cx.render(&Show {
        page: cx.page(None, "apply-application-title"),
        me,
        d,
        editable,
        purposes,
        booking,
    }))
}

async fn show(cx: Cx, Applicant(a): Applicant, Path(id): Path<String>) -> PageResult {
    show_page(&cx, a, &id).await
}

/// What an action on the application's page answers: back to the page (at `anchor`), or
/// the page again with an error it shows.
async fn on_application<T>(
    cx: &Cx,
    me: ApplicantSession,
    id: &str,
    done: Result<T, ServiceError>,
    anchor: &str,
    shown: fn(&ServiceError) -> bool,
) -> PageResult {
    let path = format!("{LIST}/{id}");
    redirect_or_again(
        cx,
        done,
        |_| format!("{path}{anchor}"),
        shown,
        async |cx| show_page(cx, me, id).await,
        &path,
    )
    .await
}

#[derive(Deserialize, Default)]
struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: HrpFormFields,
}

/// The form's fields as posted (the checkbox is absent when unticked).
#[derive(Deserialize, Default)]
struct HrpFormFields {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    current_permit: String,
    #[serde(default)]
    name_latin: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    permanent_id: String,
    #[serde(default)]
    passport_number: String,
    #[serde(default)]
    passport_expiry: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    guardian_name: String,
    #[serde(default)]
    guardian_relation: String,
    #[serde(default)]
    guardian_id: String,
    #[serde(default)]
    guardian_consent: Option<String>,
    #[serde(default)]
    child_holds_id_card: Option<String>,
}

impl From<HrpFormFields> for HrpForm {
    fn from(f: HrpFormFields) -> Self {
        HrpForm {
            purpose: f.purpose,
            current_permit: f.current_permit,
            name_latin: f.name_latin,
            name_zh: f.name_zh,
            sex: f.sex,
            date_of_birth: f.date_of_birth,
            nationality: f.nationality.trim().to_ascii_uppercase(),
            region: f.region,
            permanent_id: f.permanent_id,
            passport_number: f.passport_number,
            passport_expiry: f.passport_expiry,
            address: f.address,
            phone: f.phone,
            guardian_name: f.guardian_name,
            guardian_relation: f.guardian_relation,
            guardian_id: f.guardian_id,
            guardian_consent: f.guardian_consent.is_some(),
            child_holds_id_card: f.child_holds_id_card.is_some(),
        }
    }
}

async fn save(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<SaveForm>,
) -> PageResult {
    let done = hrp::save(cx.app(), &a, &id, &f.form.into()).await;
    on_application(&cx, a, &id, done, "#documents", invalid_or_conflict).await
}

async fn upload(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    form: CsrfMultipart<Up>,
) -> PageResult {
    let purpose = form.text("purpose");
    let (name, bytes) = match form.part("file") {
        Some(p) => (p.file_name.clone().unwrap_or_default(), p.bytes.clone()),
        None => (String::new(), Vec::new()),
    };
    let done = hrp::upload(cx.app(), &a, &id, &purpose, &name, &bytes).await;
    on_application(&cx, a, &id, done, "#documents", invalid_or_conflict).await
}

async fn document(
    cx: Cx,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
) -> PageResult {
    let (d, bytes) = hrp::document(cx.app(), Reader::Applicant(&a), &id, &doc)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?;
    Ok(file_response(&d.name, &d.content_type, bytes))
}

async fn remove(
    cx: Cx,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
    _: CsrfForm<CsrfOnly, ApplicationPage>,
) -> PageResult {
    let done = hrp::remove_document(cx.app(), &a, &id, &doc).await;
    on_application(&cx, a, &id, done, "#documents", conflict).await
}

async fn submit(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> PageResult {
    let done = hrp::submit(cx.app(), &a, &id).await;
    on_application(&cx, a, &id, done, "", invalid_or_conflict).await
}

// ---- booking, once approved ----

page_template! {
    Book = "apply/book.html" {
        me: ApplicantSession,
        d: Detail,
        offices: Vec<(String, String)>,
        office: String,
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
    let (office, address) = match exitentry_services::offices::get(cx.app(), &a.office_code).await {
        Ok(o) => (super::common::office_name(cx.lang, &o), o.address),
        Err(_) => (a.office_code.clone(), String::new()),
    };
    let map_url = format!(
        "https://www.openstreetmap.org/search?query={}",
        super::common::urlencoding_min(&address)
    );
    Booked {
        qr: super::common::qr_svg(&a.reference).unwrap_or_default(),
        changeable: cx.app().now() < a.changeable_until,
        a,
        office,
        address,
        map_url,
    }
}

#[derive(Deserialize, Default)]
struct BookQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    r#move: String,
}

async fn book_page(cx: &Cx, me: ApplicantSession, id: &str, q: BookQuery) -> PageResult {
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
    let offices = office_choices(cx, Service::HrpNonChinese)
        .await
        .map_err(cx.fail(&path))?;
    let (search, refusal) = slot_search(cx, &q.office, Service::HrpNonChinese, &q.date).await;
    let cx = cx.or_failed(refusal);
    Ok(cx.render(&Book {
        page: cx.page(None, "apply-book-title"),
        me,
        d,
        offices,
        office: q.office,
        search,
        booked,
        moving,
    }))
}

async fn book_form(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    Query(q): Query<BookQuery>,
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
        ..Default::default()
    };
    let q = BookQuery {
        office: f.office.clone(),
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
            )
            .await
        }
        Ok(None) => ap::book(cx.app(), Booker::Applicant(&a), &req).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(e) => {
            let err = cx.shown_or_fail(e, |e| !matches!(e, ServiceError::Internal(_)), &path);
            book_page(&cx.after(Err(err?)), a, &id, q).await
        }
    }
}

/// The confirmation before the booking is cancelled.
async fn confirm_cancel(
    cx: &Cx,
    me: &ApplicantSession,
    id: &str,
    error: Option<String>,
) -> PageResult {
    let page = cx.page(None, "appt-cancel-title");
    let back = format!("{LIST}/{id}/book");
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
    Ok(super::common::Confirm {
        what,
        consequence: cx.lang.t("appt-cancel-consequence"),
        action: format!("{back}/cancel"),
        button: cx.lang.t("appt-cancel-confirm"),
        back,
        csrf: me.csrf_token.clone(),
        error,
        page,
    }
    .respond())
}

async fn cancel_form(cx: Cx, Applicant(a): Applicant, Path(id): Path<String>) -> PageResult {
    confirm_cancel(&cx, &a, &id, None).await
}

async fn cancel(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> PageResult {
    let back = format!("{LIST}/{id}/book");
    let current = ap::applicant_booking(cx.app(), &a)
        .await
        .map_err(cx.fail(&back))?;
    let Some(current) = current else {
        return Ok(Redirect::to(&back).into_response());
    };
    match ap::cancel(cx.app(), Booker::Applicant(&a), &current.appointment_id).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            confirm_cancel(&cx, &a, &id, Some(cx.message(&e))).await
        }
        Err(e) => Err(cx.fail(&back)(e)),
    }
}
