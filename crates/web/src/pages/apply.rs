//! The online pre-application for the non-Chinese home return permit (under `/apply`; the
//! accounts are in `apply_account`): the form saved as typed, documents uploaded,
//! submission, what a reviewer asked to supplement, the history, and booking the centre
//! once approved.

use super::common::{
    Back, CsrfForm, CsrfMultipart, CsrfOnly, Page, Up, csrf_field, file_response,
    redirect_or_again, render, status_and_error,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::Applicant;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate};
use exitentry_domain::hrp::Form as HrpForm;
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest, SlotView};
use exitentry_services::pre_applications::{
    self as hrp, ApplicantSession, Detail, Reader, Summary,
};
use serde::Deserialize;

/// Uploads are refused above the uploads' own limits; this only stops absurd bodies early.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply/applications", get(list).post(start))
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

#[derive(Template)]
#[template(path = "apply/list.html")]
struct List {
    page: Page,
    me: ApplicantSession,
    list: Vec<Summary>,
    error: Option<String>,
}

async fn list_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    me: ApplicantSession,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let list = hrp::mine(&s.app, &me)
        .await
        .map_err(PageError::at(lang, "/apply/applications"))?;
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&List {
            page: Page::new(lang, uri, None, "apply-list-title"),
            me,
            list,
            error,
        }),
    )
        .into_response())
}

async fn list(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
) -> Result<Response, PageError> {
    list_page(&s, lang, &uri, a, None).await
}

async fn start(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    _: CsrfForm<CsrfOnly>,
) -> Result<Response, PageError> {
    redirect_or_again(
        hrp::start(&s.app, &a).await,
        |x| format!("/apply/applications/{}", x.id),
        |e| matches!(e, ServiceError::Conflict { .. }),
        |err| list_page(&s, lang, &uri, a, err),
        lang,
        "/apply/applications",
    )
    .await
}

#[derive(Template)]
#[template(path = "apply/application.html")]
struct Show {
    page: Page,
    me: ApplicantSession,
    d: Detail,
    editable: bool,
    purposes: Vec<&'static str>,
    /// The booking at the centre once approved and booked (Beijing time).
    booking: Option<String>,
    error: Option<String>,
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

async fn show_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    me: ApplicantSession,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    let d = hrp::get(&s.app, &me, id)
        .await
        .map_err(PageError::at(lang, &path))?;
    let editable = exitentry_domain::states::PreApplicationState::parse(&d.status)
        .is_ok_and(|s| s.is_editable());
    let mut purposes = d.required_documents.clone();
    purposes.push("other");
    let booking = ap::applicant_booking(&s.app, &me)
        .await
        .map_err(PageError::at(lang, &path))?
        .map(|b| b.start.format("%Y-%m-%d %H:%M").to_string());
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&Show {
            page: Page::new(lang, uri, None, "apply-application-title"),
            me,
            d,
            editable,
            purposes,
            booking,
            error,
        }),
    )
        .into_response())
}

async fn show(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_page(&s, lang, &uri, a, &id, None).await
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
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<SaveForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    redirect_or_again(
        hrp::save(&s.app, &a, &id, &f.form.into()).await,
        |_| format!("{path}#documents"),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Invalid { .. }
            )
        },
        |err| show_page(&s, lang, &uri, a, &id, err),
        lang,
        &path,
    )
    .await
}

async fn upload(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    form: CsrfMultipart<Up>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    let purpose = form.text("purpose");
    let (name, bytes) = match form.part("file") {
        Some(p) => (p.file_name.clone().unwrap_or_default(), p.bytes.clone()),
        None => (String::new(), Vec::new()),
    };
    redirect_or_again(
        hrp::upload(&s.app, &a, &id, &purpose, &name, &bytes).await,
        |_| format!("{path}#documents"),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Invalid { .. }
            )
        },
        |err| show_page(&s, lang, &uri, a, &id, err),
        lang,
        &path,
    )
    .await
}

async fn document(
    State(s): State<AppState>,
    lang: Lang,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    let (d, bytes) = hrp::document(&s.app, Reader::Applicant(&a), &id, &doc)
        .await
        .map_err(PageError::at(lang, &path))?;
    Ok(file_response(&d.name, &d.content_type, bytes))
}

async fn remove(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
    _: CsrfForm<CsrfOnly, ApplicationPage>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    redirect_or_again(
        hrp::remove_document(&s.app, &a, &id, &doc).await,
        |_| format!("{path}#documents"),
        |e| matches!(e, ServiceError::Conflict { .. }),
        |err| show_page(&s, lang, &uri, a, &id, err),
        lang,
        &path,
    )
    .await
}

async fn submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    redirect_or_again(
        hrp::submit(&s.app, &a, &id).await,
        |_| path.to_string(),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Invalid { .. }
            )
        },
        |err| show_page(&s, lang, &uri, a, &id, err),
        lang,
        &path,
    )
    .await
}

// ---- booking, once approved ----

#[derive(Template)]
#[template(path = "apply/book.html")]
struct Book {
    page: Page,
    me: ApplicantSession,
    d: Detail,
    offices: Vec<(String, String)>,
    office: String,
    date: String,
    min_date: String,
    max_date: String,
    slots: Vec<SlotView>,
    searched: bool,
    booked: Option<Booked>,
    /// Choosing a new time for the booking above.
    moving: bool,
    error: Option<String>,
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

#[derive(Deserialize, Default)]
struct BookQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    r#move: String,
}

async fn booked(s: &AppState, lang: Lang, a: ap::AppointmentView) -> Booked {
    let (office, address) = match exitentry_services::offices::get(&s.app, &a.office_code).await {
        Ok(o) => (
            match lang {
                Lang::ZhHans => o.name_zh_hans,
                Lang::ZhHant => o.name_zh_hant,
                Lang::En => o.name_en,
            },
            o.address,
        ),
        Err(_) => (a.office_code.clone(), String::new()),
    };
    let map_url = format!(
        "https://www.openstreetmap.org/search?query={}",
        super::common::urlencoding_min(&address)
    );
    Booked {
        qr: super::common::qr_svg(&a.reference).unwrap_or_default(),
        changeable: s.app.now() < a.changeable_until,
        a,
        office,
        address,
        map_url,
    }
}

#[allow(clippy::too_many_arguments)]
async fn book_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    me: ApplicantSession,
    id: &str,
    q: BookQuery,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}/book");
    let d = hrp::get(&s.app, &me, id)
        .await
        .map_err(PageError::at(lang, &path))?;
    let booked = match ap::applicant_booking(&s.app, &me)
        .await
        .map_err(PageError::at(lang, &path))?
    {
        Some(a) => Some(booked(s, lang, a).await),
        None => None,
    };
    let moving = booked.as_ref().is_some_and(|b| b.changeable) && q.r#move == "1";
    let offices = exitentry_services::offices::offering(&s.app, Some(Service::HrpNonChinese))
        .await
        .map_err(PageError::at(lang, &path))?
        .into_iter()
        .map(|o| {
            let name = match lang {
                Lang::ZhHans => o.name_zh_hans,
                Lang::ZhHant => o.name_zh_hant,
                Lang::En => o.name_en,
            };
            (o.code.as_str().to_string(), name)
        })
        .collect();
    let today = s.app.today();
    let date = q.date.parse::<NaiveDate>().ok();
    let searched = !q.office.is_empty() && date.is_some();
    let mut error = error;
    let slots = match (searched, date) {
        (true, Some(day)) => {
            match ap::slots(&s.app, &q.office, Service::HrpNonChinese.code(), day, day).await {
                Ok(list) => list.into_iter().filter(|s| s.available > 0).collect(),
                Err(e) => {
                    error = error.or(Some((status_for(&e), message_for(&e, lang))));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&Book {
            page: Page::new(lang, uri, None, "apply-book-title"),
            me,
            d,
            offices,
            office: q.office,
            date: date.unwrap_or(today + Duration::days(1)).to_string(),
            min_date: today.to_string(),
            max_date: (today + Duration::days(s.app.config.centre.booking_horizon_days))
                .to_string(),
            slots,
            searched,
            booked,
            moving,
            error,
        }),
    )
        .into_response())
}

async fn book_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    Query(q): Query<BookQuery>,
) -> Result<Response, PageError> {
    book_page(&s, lang, &uri, a, &id, q, None).await
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
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<BookForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}/book");
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
    let done = match ap::applicant_booking(&s.app, &a).await {
        Ok(Some(current)) => {
            let office = Some(f.office.as_str()).filter(|o| !o.is_empty());
            let slot = req.slot_start.as_str();
            ap::reschedule(
                &s.app,
                Booker::Applicant(&a),
                &current.appointment_id,
                office,
                slot,
            )
            .await
        }
        Ok(None) => ap::book(&s.app, Booker::Applicant(&a), &req).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(e) if !matches!(e, ServiceError::Internal(_)) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            book_page(&s, lang, &uri, a, &id, q, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

/// The confirmation before the booking is cancelled.
async fn confirm_cancel(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    me: &ApplicantSession,
    id: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "appt-cancel-title");
    let back = format!("/apply/applications/{id}/book");
    let Some(a) = ap::applicant_booking(&s.app, me)
        .await
        .map_err(PageError::at(lang, &page.path))?
    else {
        return Ok(Redirect::to(&back).into_response());
    };
    let b = booked(s, lang, a).await;
    let what = lang.t_args(
        "appt-cancel-what",
        &[
            ("service", lang.t(&format!("service-{}", b.a.service))),
            ("office", b.office),
            ("time", b.a.start.format("%Y-%m-%d %H:%M").to_string()),
        ],
    );
    Ok(super::common::Confirm {
        what,
        consequence: lang.t("appt-cancel-consequence"),
        action: format!("{back}/cancel"),
        button: lang.t("appt-cancel-confirm"),
        back,
        csrf: me.csrf_token.clone(),
        error,
        page,
    }
    .respond())
}

async fn cancel_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    confirm_cancel(&s, lang, &uri, &a, &id, None).await
}

async fn cancel(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> Result<Response, PageError> {
    let back = format!("/apply/applications/{id}/book");
    let current = ap::applicant_booking(&s.app, &a)
        .await
        .map_err(PageError::at(lang, &back))?;
    let Some(current) = current else {
        return Ok(Redirect::to(&back).into_response());
    };
    match ap::cancel(&s.app, Booker::Applicant(&a), &current.appointment_id).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            confirm_cancel(&s, lang, &uri, &a, &id, Some(message_for(&e, lang))).await
        }
        Err(e) => Err(PageError::at(lang, &back)(e)),
    }
}
