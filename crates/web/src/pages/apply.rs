//! The online pre-application for the non-Chinese home return permit (under `/apply`):
//! an account by email (verified by a link), the form saved as typed, documents uploaded,
//! submission, what a reviewer asked to supplement, the history, and booking the centre
//! once approved.

use super::{CsrfForm, NextQuery, Page, render, status_and_error};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::{
    APPLICANT_COOKIE, Applicant, anon_csrf, anon_csrf_cookie, anon_csrf_ok, csrf_ok, set_cookie,
};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate};
use exitentry_domain::hrp::{Form as HrpForm, SUPPLEMENT_ITEMS};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest, SlotView};
use exitentry_services::pre_applications::{
    self as hrp, ApplicantSession, Detail, LANGS, Reader, Summary,
};
use serde::Deserialize;

/// Uploads are refused above the uploads' own limits; this only stops absurd bodies early.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply", get(landing))
        .route("/apply/register", get(register_form).post(register))
        .route("/apply/verify", get(verify_form).post(verify))
        .route("/apply/login", get(login_form).post(login))
        .route("/apply/logout", post(logout))
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
}

/// Only the applicants' own pages after sign-in (no open redirect).
fn local_next(next: Option<&str>) -> String {
    super::next_within(next, "/apply/", "/apply/applications")
}

fn with_csrf(status: StatusCode, csrf: &str, body: Response) -> Response {
    (status, [(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
}

fn forbidden(lang: Lang, path: &str) -> PageError {
    PageError::at(lang, path)(ServiceError::Forbidden)
}

fn session_cookie(s: &AppState, token: &str) -> String {
    set_cookie(
        APPLICANT_COOKIE,
        token,
        Some(s.app.config.security.session_max_hours * 3600),
        s.app.config.server.secure_cookies,
    )
}

// ---- account ----

#[derive(Template)]
#[template(path = "apply/landing.html")]
struct Landing {
    page: Page,
}

async fn landing(lang: Lang, uri: OriginalUri) -> Response {
    render(&Landing {
        page: Page::new(lang, &uri, None, "apply-title"),
    })
}

#[derive(Template)]
#[template(path = "apply/register.html")]
struct Register {
    page: Page,
    csrf: String,
    email: String,
    lang_choice: String,
    langs: [&'static str; 3],
    sent: bool,
    error: Option<String>,
}

async fn register_form(lang: Lang, uri: OriginalUri, headers: HeaderMap) -> Response {
    let csrf = anon_csrf(&headers);
    let body = render(&Register {
        page: Page::new(lang, &uri, None, "apply-register-title"),
        csrf: csrf.clone(),
        email: String::new(),
        lang_choice: lang.code().to_string(),
        langs: LANGS,
        sent: false,
        error: None,
    });
    with_csrf(StatusCode::OK, &csrf, body)
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    lang: String,
}

async fn register(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let (status, error) = if !anon_csrf_ok(&headers, &f.csrf) {
        (StatusCode::FORBIDDEN, Some(lang.t("err-csrf")))
    } else if s.login_throttle.check(ip).is_err() {
        // Registering sends email: limited per client like signing in.
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some(lang.t("err-rate_limited")),
        )
    } else {
        match hrp::register(&s.app, &f.email, &f.lang).await {
            Ok(()) => (StatusCode::OK, None),
            Err(e) => (status_for(&e), Some(message_for(&e, lang))),
        }
    };
    let body = render(&Register {
        page: Page::new(lang, &uri, None, "apply-register-title"),
        csrf: csrf.clone(),
        email: f.email,
        lang_choice: f.lang,
        langs: LANGS,
        sent: error.is_none(),
        error,
    });
    with_csrf(status, &csrf, body)
}

#[derive(Deserialize, Default)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "apply/verify.html")]
struct Verify {
    page: Page,
    csrf: String,
    token: String,
    valid: bool,
    error: Option<String>,
}

/// The emailed link: choose the password (the link proves the mailbox is yours).
async fn verify_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let valid = hrp::link_valid(&s.app, &q.token)
        .await
        .map_err(PageError::at(lang, "/apply"))?;
    let csrf = anon_csrf(&headers);
    let body = render(&Verify {
        page: Page::new(lang, &uri, None, "apply-verify-title"),
        csrf: csrf.clone(),
        token: q
            .token
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(64)
            .collect(),
        valid,
        error: None,
    });
    Ok(with_csrf(StatusCode::OK, &csrf, body))
}

#[derive(Deserialize, Default)]
struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn verify(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Form(f): Form<VerifyForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let result = if anon_csrf_ok(&headers, &f.csrf) {
        hrp::verify_email(&s.app, &f.token, &f.password).await
    } else {
        Err(ServiceError::Forbidden)
    };
    match result {
        Ok((token, _)) => (
            [(header::SET_COOKIE, session_cookie(&s, &token))],
            Redirect::to("/apply/applications"),
        )
            .into_response(),
        Err(e) => {
            let body = render(&Verify {
                page: Page::new(lang, &uri, None, "apply-verify-title"),
                csrf: csrf.clone(),
                token: f
                    .token
                    .chars()
                    .filter(char::is_ascii_hexdigit)
                    .take(64)
                    .collect(),
                valid: !matches!(e, ServiceError::Conflict { .. }),
                error: Some(message_for(&e, lang)),
            });
            with_csrf(status_for(&e), &csrf, body)
        }
    }
}

#[derive(Template)]
#[template(path = "apply/login.html")]
struct Login {
    page: Page,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

async fn login_form(
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let body = render(&Login {
        page: Page::new(lang, &uri, None, "apply-login-title"),
        csrf: csrf.clone(),
        next: local_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    });
    with_csrf(StatusCode::OK, &csrf, body)
}

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_next(f.next.as_deref());
    let csrf = anon_csrf(&headers);
    let again = |status: StatusCode, msg: String| {
        let body = render(&Login {
            page: Page::new(lang, &uri, None, "apply-login-title"),
            csrf: csrf.clone(),
            next: next.clone(),
            email: f.email.clone(),
            error: Some(msg),
        });
        with_csrf(status, &csrf, body)
    };
    if !anon_csrf_ok(&headers, &f.csrf) {
        return again(StatusCode::FORBIDDEN, lang.t("err-csrf"));
    }
    if let Err(wait) = s.login_throttle.check(ip) {
        let res = again(StatusCode::TOO_MANY_REQUESTS, lang.t("err-rate_limited"));
        return super::retry_after(res, wait);
    }
    let device = crate::session::device_token(&headers, crate::session::APPLICANT_DEVICE_COOKIE);
    match hrp::login_from(&s.app, &f.email, &f.password, device).await {
        Ok((token, _, device)) => crate::session::signed_in(
            &s,
            APPLICANT_COOKIE,
            &token,
            crate::session::APPLICANT_DEVICE_COOKIE,
            device,
            &next,
        ),
        Err(e) => {
            let msg = super::sign_in_error(&e, lang, "err-bad_applicant_credentials");
            again(status_for(&e), msg)
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Applicant(a): Applicant,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, "/apply"));
    }
    if let Some(token) = crate::i18n::cookie_in(&headers, APPLICANT_COOKIE) {
        let _ = hrp::logout(&s.app, token).await;
    }
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(APPLICANT_COOKIE, "", Some(0), false),
        )],
        Redirect::to("/apply"),
    )
        .into_response())
}

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
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, "/apply/applications"));
    }
    match hrp::start(&s.app, &a).await {
        Ok(x) => Ok(Redirect::to(&format!("/apply/applications/{}", x.id)).into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            list_page(&s, lang, &uri, a, err).await
        }
        Err(e) => Err(PageError::at(lang, "/apply/applications")(e)),
    }
}

#[derive(Template)]
#[template(path = "apply/application.html")]
struct Show {
    page: Page,
    me: ApplicantSession,
    d: Detail,
    editable: bool,
    purposes: Vec<&'static str>,
    error: Option<String>,
}

/// A stored time for the templates (they pass fields by reference).
pub fn at(micros: &i64) -> String {
    super::when_micros(*micros)
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
    let editable = matches!(d.status.as_str(), "draft" | "supplement_requested");
    let mut purposes = d.required_documents.clone();
    purposes.push("other");
    let (status, error) = status_and_error(error);
    Ok((
        status,
        render(&Show {
            page: Page::new(lang, uri, None, "apply-application-title"),
            me,
            d,
            editable,
            purposes,
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
    Form(f): Form<SaveForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, &path));
    }
    match hrp::save(&s.app, &a, &id, &f.form.into()).await {
        Ok(_) => Ok(Redirect::to(&format!("{path}#documents")).into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Invalid { .. })) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            show_page(&s, lang, &uri, a, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

async fn upload(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    let (mut csrf, mut purpose, mut name, mut bytes) =
        (String::new(), String::new(), String::new(), Vec::new());
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "purpose" => purpose = field.text().await.unwrap_or_default(),
            "file" => {
                name = field.file_name().unwrap_or_default().to_string();
                bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            }
            _ => {}
        }
    }
    if !csrf_ok(&a.csrf_token, &csrf) {
        return Err(forbidden(lang, &path));
    }
    match hrp::upload(&s.app, &a, &id, &purpose, &name, &bytes).await {
        Ok(_) => Ok(Redirect::to(&format!("{path}#documents")).into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Invalid { .. })) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            show_page(&s, lang, &uri, a, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

/// A document's bytes, for its owner only, never sniffed or cached by the browser.
pub fn file_response(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let inline = content_type.starts_with("image/") || content_type == "application/pdf";
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "{}; filename=\"{}\"",
                    if inline { "inline" } else { "attachment" },
                    if safe.is_empty() { "document" } else { &safe }
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".to_string(),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
                    .to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
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
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, &path));
    }
    match hrp::remove_document(&s.app, &a, &id, &doc).await {
        Ok(_) => Ok(Redirect::to(&format!("{path}#documents")).into_response()),
        Err(e @ ServiceError::Conflict { .. }) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            show_page(&s, lang, &uri, a, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

async fn submit(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}");
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, &path));
    }
    match hrp::submit(&s.app, &a, &id).await {
        Ok(_) => Ok(Redirect::to(&path).into_response()),
        Err(e @ (ServiceError::Conflict { .. } | ServiceError::Invalid { .. })) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            show_page(&s, lang, &uri, a, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
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
    booked: Option<ap::AppointmentView>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct BookQuery {
    #[serde(default)]
    office: String,
    #[serde(default)]
    date: String,
}

#[allow(clippy::too_many_arguments)]
async fn book_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    me: ApplicantSession,
    id: &str,
    q: BookQuery,
    booked: Option<ap::AppointmentView>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}/book");
    let d = hrp::get(&s.app, &me, id)
        .await
        .map_err(PageError::at(lang, &path))?;
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
    book_page(&s, lang, &uri, a, &id, q, None, None).await
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
    Form(f): Form<BookForm>,
) -> Result<Response, PageError> {
    let path = format!("/apply/applications/{id}/book");
    if !csrf_ok(&a.csrf_token, &f.csrf) {
        return Err(forbidden(lang, &path));
    }
    let req = BookingRequest {
        office_code: f.office.clone(),
        service: Service::HrpNonChinese.code().into(),
        slot_start: f.slot_start,
        channel: "web".into(),
        ..Default::default()
    };
    let q = BookQuery {
        office: f.office,
        date: String::new(),
    };
    match ap::book(&s.app, Booker::Applicant(&a), &req).await {
        Ok(v) => book_page(&s, lang, &uri, a, &id, q, Some(v), None).await,
        Err(e) if !matches!(e, ServiceError::Internal(_)) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            book_page(&s, lang, &uri, a, &id, q, None, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

/// Supplement items in the reader's language (the reviewer's checklist).
pub fn item_label(page: &Page, item: &str) -> String {
    page.t(&format!("supplement-{item}"))
}

/// Every supplement item, for the reviewer's checklist.
pub fn supplement_items() -> [&'static str; 7] {
    SUPPLEMENT_ITEMS
}
