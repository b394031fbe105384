//! Pages for permit holders (mobile first): the temporary e-permit journey — permit
//! details, SMS code, face check, the QR — and "my temporary permits" after sign-in.
//!
//! The application in progress is kept in an HttpOnly cookie, not in the URL, so its id
//! (which unlocks the issued QR) never lands in logs or browser history.

use super::common::{
    Back, CsrfField, CsrfForm, CsrfMultipart, CsrfOnly, MultipartBack, NextQuery, Page, PermitCard,
    Refusal, Up, csrf_field, render,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::{HOLDER_COOKIE, Holder, MaybeHolder, anon_csrf, anon_csrf_cookie, set_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, OriginalUri, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_services::holders::{self, HolderSession};
use exitentry_services::temporary_permits::{self as tp, ApplyInput};
use serde::Deserialize;

const APPLICATION_COOKIE: &str = "ee_tpa";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/temporary-permit", get(start))
        .route("/temporary-permit/details", post(details))
        .route("/temporary-permit/apply", post(apply))
        .route("/temporary-permit/code", get(code_form).post(code))
        .route("/temporary-permit/code/resend", post(resend))
        .route(
            "/temporary-permit/face",
            get(face_form).post(face).layer(DefaultBodyLimit::max(
                exitentry_services::providers::MAX_IMAGE_BYTES + 64 * 1024,
            )),
        )
        .route("/temporary-permit/issued", get(issued))
        .route("/my/login", get(login_form).post(login))
        .route("/my/logout", post(logout))
        .route("/my/temporary-permits", get(my_permits))
        .route(
            "/my/temporary-permits/{id}/cancel",
            get(cancel_form).post(cancel),
        )
}

// ---- Step 1: permit type, number and name ------------------------------------------

#[derive(Default, Deserialize)]
struct StepOne {
    #[serde(default)]
    document_kind: String,
    #[serde(default)]
    document_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "holder/start.html")]
struct Start {
    page: Page,
    csrf: String,
    form: StepOne,
    error: Option<String>,
    /// A signed-in holder's permit still valid until then (Beijing time): said before a
    /// second application starts.
    already_valid: Option<String>,
}

fn with_csrf(csrf: &str, body: Response) -> Response {
    ([(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
}

async fn start(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    MaybeHolder(holder): MaybeHolder,
) -> Response {
    let csrf = anon_csrf(&headers);
    let page = Page::new(lang, &uri, None, "tp-title");
    let mut already_valid = None;
    if let Some(h) = holder {
        let permits = tp::holder_permits(&s.app, &h).await.unwrap_or_default();
        already_valid = permits
            .iter()
            .filter(|p| p.payload.is_some())
            .map(|p| p.valid_until)
            .max()
            .map(|t| super::common::beijing(t, "%Y-%m-%d %H:%M"));
    }
    let body = render(&Start {
        page,
        csrf: csrf.clone(),
        form: StepOne {
            document_kind: "hrp".into(),
            ..Default::default()
        },
        error: None,
        already_valid,
    });
    with_csrf(&csrf, body)
}

// ---- Step 2: expiry, sex, password, mobile --------------------------------------------

#[derive(Default, Deserialize)]
struct StepTwo {
    #[serde(default)]
    document_kind: String,
    #[serde(default)]
    document_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    document_expiry: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "holder/details.html")]
struct Details {
    page: Page,
    csrf: String,
    form: StepTwo,
    error: Option<String>,
}
/// Step 1 checks the shape of what was typed (the registry is asked only once, with
/// everything, so the form cannot be used to probe it field by field).
async fn details(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    CsrfForm(f, _): CsrfForm<StepOne, Up>,
) -> Response {
    let csrf = f.csrf.clone();
    let problem = tp::check_step_one(&s.app, &f.document_kind, &f.document_number, &f.name).err();
    if let Some(e) = problem {
        let page = Page::new(lang, &uri, None, "tp-title");
        let body = render(&Start {
            page,
            csrf,
            error: Some(message_for(&e, lang)),
            form: f,
            already_valid: None,
        });
        return (StatusCode::BAD_REQUEST, body).into_response();
    }
    let page = Page::new(lang, &uri, None, "tp-title");
    render(&Details {
        page,
        csrf,
        form: StepTwo {
            document_kind: f.document_kind,
            document_number: f.document_number,
            name: f.name,
            ..Default::default()
        },
        error: None,
    })
}

async fn apply(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    CsrfForm(mut f, _): CsrfForm<StepTwo, Up>,
) -> Response {
    let page = Page::new(lang, &uri, None, "tp-title");
    let again = |page: Page, f: StepTwo, status: StatusCode, msg: String| {
        let csrf = f.csrf.clone();
        (
            status,
            render(&Details {
                page,
                csrf,
                form: f,
                error: Some(msg),
            }),
        )
            .into_response()
    };
    if s.sms_throttle.check(ip).is_err() {
        f.password.clear();
        return again(
            page,
            f,
            StatusCode::TOO_MANY_REQUESTS,
            lang.t("err-rate_limited"),
        );
    }
    let input = ApplyInput {
        document_kind: f.document_kind.clone(),
        document_number: f.document_number.clone(),
        name: f.name.clone(),
        document_expiry: f.document_expiry.clone(),
        sex: f.sex.clone(),
        mobile: f.mobile.clone(),
        password: std::mem::take(&mut f.password),
    };
    match tp::apply(&s.app, &input).await {
        Ok(id) => (
            [(
                header::SET_COOKIE,
                set_cookie(
                    APPLICATION_COOKIE,
                    &id,
                    Some(3600),
                    s.app.config.server.secure_cookies,
                ),
            )],
            Redirect::to("/temporary-permit/code"),
        )
            .into_response(),
        Err(e) => again(page, f, status_for(&e), message_for(&e, lang)),
    }
}

// ---- Step 3: the SMS code -----------------------------------------------------------

fn application_id(headers: &HeaderMap) -> Option<String> {
    crate::i18n::cookie_in(headers, APPLICATION_COOKIE)
        .filter(|v| v.starts_with("TPA-") && v.len() < 64)
        .map(str::to_string)
}

/// No application in progress (cookie gone or expired): back to the start.
fn restart() -> Response {
    Redirect::to("/temporary-permit").into_response()
}

/// The application in progress (its id from the cookie), else back to the start.
struct InProgress(String);

impl<S: Send + Sync> FromRequestParts<S> for InProgress {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        application_id(&parts.headers)
            .map(InProgress)
            .ok_or_else(restart)
    }
}

csrf_field!(StepOne, StepTwo, CodeForm);

/// The face form: a photo the body limit cut off is answered with its own message, whatever
/// the token (nothing is done with it); otherwise a wrong token is the 403 page.
struct FacePost;

impl MultipartBack for FacePost {
    fn refused(form: &CsrfMultipart<Self>, r: Refusal) -> Response {
        if form.part_failed {
            return too_large(r.lang, &r.uri, anon_csrf(&r.headers));
        }
        r.forbidden()
    }
}

impl Back for FacePost {
    fn path(request_path: &str) -> String {
        request_path.to_string()
    }
}

fn too_large(lang: Lang, uri: &OriginalUri, csrf: String) -> Response {
    let msg = lang.t("err-image_too_large");
    (
        StatusCode::BAD_REQUEST,
        face_page(lang, uri, csrf, Some(msg)),
    )
        .into_response()
}

/// A sign-in with a wrong token: the form again, with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let body = render(&Login {
            page: Page::new(r.lang, &r.uri, None, "my-login-title"),
            csrf: self.csrf.clone(),
            next: local_next(self.next.as_deref()),
            mobile: self.mobile,
            error: Some(r.lang.t("err-csrf")),
        });
        (StatusCode::FORBIDDEN, body).into_response()
    }
}

#[derive(Template)]
#[template(path = "holder/code.html")]
struct Code {
    page: Page,
    csrf: String,
    mobile: String,
    resend_at: String,
    demo_outbox: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

async fn code_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    id: &str,
    csrf: String,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let view = match tp::application(&s.app, id).await {
        Ok(v) => v,
        Err(_) => return restart(),
    };
    match view.state.as_str() {
        "awaiting_face" => return Redirect::to("/temporary-permit/face").into_response(),
        "issued" => return Redirect::to("/temporary-permit/issued").into_response(),
        _ => {}
    }
    let page = Page::new(lang, uri, None, "tp-title");
    let (status, error) = super::common::status_and_error(error);
    let body = render(&Code {
        page,
        csrf: csrf.clone(),
        mobile: view.mobile_masked,
        resend_at: view
            .resend_at
            .map(|t| super::common::beijing(t, "%H:%M:%S"))
            .unwrap_or_default(),
        demo_outbox: s.app.config.server.dev_providers,
        notice,
        error,
    });
    (status, with_csrf(&csrf, body)).into_response()
}

async fn code_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    code_page(&s, lang, &uri, &id, anon_csrf(&headers), None, None).await
}

async fn code(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    InProgress(id): InProgress,
    CsrfForm(f, _): CsrfForm<CodeForm>,
) -> Response {
    match tp::confirm_sms_code(&s.app, &id, &f.code).await {
        Ok(()) => Redirect::to("/temporary-permit/face").into_response(),
        Err(e) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            code_page(&s, lang, &uri, &id, f.csrf, None, err).await
        }
    }
}

async fn resend(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    InProgress(id): InProgress,
    CsrfForm(f, _): CsrfForm<CodeForm, Up>,
) -> Response {
    let outcome = match s.sms_throttle.check(ip) {
        Err(_) => Err((StatusCode::TOO_MANY_REQUESTS, lang.t("err-rate_limited"))),
        Ok(()) => tp::resend_sms_code(&s.app, &id)
            .await
            .map_err(|e| (status_for(&e), message_for(&e, lang))),
    };
    match outcome {
        Ok(_) => {
            code_page(
                &s,
                lang,
                &uri,
                &id,
                f.csrf,
                Some(lang.t("tp-code-resent")),
                None,
            )
            .await
        }
        Err(err) => code_page(&s, lang, &uri, &id, f.csrf, None, Some(err)).await,
    }
}

// ---- Step 4: the face check ---------------------------------------------------------

#[derive(Template)]
#[template(path = "holder/face.html")]
struct Face {
    page: Page,
    csrf: String,
    max_mb: usize,
    error: Option<String>,
}

fn face_page(lang: Lang, uri: &OriginalUri, csrf: String, error: Option<String>) -> Response {
    let page = Page::new(lang, uri, None, "tp-title");
    let body = render(&Face {
        page,
        csrf: csrf.clone(),
        max_mb: exitentry_services::providers::MAX_IMAGE_BYTES / (1024 * 1024),
        error,
    });
    with_csrf(&csrf, body)
}

async fn face_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    match tp::application(&s.app, &id).await.map(|v| v.state) {
        Ok(state) if state == "awaiting_face" => face_page(lang, &uri, anon_csrf(&headers), None),
        Ok(state) if state == "issued" => Redirect::to("/temporary-permit/issued").into_response(),
        Ok(_) => Redirect::to("/temporary-permit/code").into_response(),
        Err(_) => restart(),
    }
}

async fn face(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    InProgress(id): InProgress,
    form: CsrfMultipart<FacePost>,
) -> Response {
    let csrf = anon_csrf(&headers);
    if form.part_failed {
        return too_large(lang, &uri, csrf);
    }
    match tp::submit_face(&s.app, &id, &form.bytes("photo")).await {
        Ok(_) => Redirect::to("/temporary-permit/issued").into_response(),
        Err(e) => (
            status_for(&e),
            face_page(lang, &uri, csrf, Some(message_for(&e, lang))),
        )
            .into_response(),
    }
}

// ---- Issued -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "holder/issued.html")]
struct Issued {
    page: Page,
    permit: PermitCard,
}

async fn issued(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    match tp::application(&s.app, &id).await {
        Ok(v) => match v.permit {
            Some(p) => render(&Issued {
                page: Page::new(lang, &uri, None, "tp-issued-title"),
                permit: p.into(),
            }),
            None => Redirect::to("/temporary-permit/code").into_response(),
        },
        Err(_) => restart(),
    }
}

// ---- My temporary permits -------------------------------------------------------------

/// Only the holders' own pages after sign-in (no open redirect).
fn local_next(next: Option<&str>) -> String {
    super::common::next_within(next, "/my", "/my")
}

#[derive(Template)]
#[template(path = "holder/login.html")]
struct Login {
    page: Page,
    csrf: String,
    next: String,
    mobile: String,
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
        page: Page::new(lang, &uri, None, "my-login-title"),
        csrf: csrf.clone(),
        next: local_next(q.next.as_deref()),
        mobile: String::new(),
        error: None,
    });
    with_csrf(&csrf, body)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let next = local_next(f.next.as_deref());
    let again = |status: StatusCode, msg: String| {
        let body = render(&Login {
            page: Page::new(lang, &uri, None, "my-login-title"),
            csrf: f.csrf.clone(),
            next: next.clone(),
            mobile: f.mobile.clone(),
            error: Some(msg),
        });
        (status, body).into_response()
    };
    if let Err(wait) = s.login_throttle.check(ip) {
        let res = again(StatusCode::TOO_MANY_REQUESTS, lang.t("err-rate_limited"));
        return super::common::retry_after(res, wait);
    }
    let device = crate::session::device_token(&headers, crate::session::HOLDER_DEVICE_COOKIE);
    match holders::login_from(&s.app, &f.mobile, &f.password, device).await {
        Ok((token, _, device)) => crate::session::signed_in(
            &s,
            HOLDER_COOKIE,
            &token,
            crate::session::HOLDER_DEVICE_COOKIE,
            device,
            &next,
        ),
        Err(e) => {
            let msg = super::common::sign_in_error(&e, lang, "err-bad_holder_credentials");
            again(status_for(&e), msg)
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Holder(_): Holder,
    _: CsrfForm<CsrfOnly, Up>,
) -> Response {
    if let Some(token) = crate::i18n::cookie_in(&headers, HOLDER_COOKIE) {
        let _ = holders::logout(&s.app, token).await;
    }
    (
        [(
            header::SET_COOKIE,
            set_cookie(HOLDER_COOKIE, "", Some(0), false),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "holder/permits.html")]
struct MyPermits {
    page: Page,
    holder: HolderSession,
    permits: Vec<PermitCard>,
    notice: Option<String>,
    error: Option<String>,
}

async fn my_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    holder: HolderSession,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "my-title");
    let permits = tp::holder_permits(&s.app, &holder)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&MyPermits {
            page,
            holder,
            permits: permits.into_iter().map(PermitCard::from).collect(),
            notice,
            error,
        }),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn my_permits(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let notice = (q.done == "cancelled").then(|| lang.t("my-cancelled"));
    my_page(&s, lang, &uri, h, notice, None).await
}

/// The confirmation before a permit is cancelled: whose permit, until when, and that a
/// cancelled permit cannot be used again.
async fn confirm_cancel(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    h: &HolderSession,
    id: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "tp-cancel-title");
    let permits = tp::holder_permits(&s.app, h)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let Some(p) = permits.into_iter().find(|p| p.id == id) else {
        return Err(PageError::at(lang, &page.path)(
            exitentry_services::ServiceError::NotFound("temporary_permit"),
        ));
    };
    let until = super::common::beijing(p.valid_until, "%Y-%m-%d %H:%M");
    Ok(super::common::Confirm {
        what: lang.t_args(
            "tp-cancel-what",
            &[("name", p.holder_name), ("until", until)],
        ),
        consequence: lang.t("tp-cancel-consequence"),
        action: format!("/my/temporary-permits/{id}/cancel"),
        button: lang.t("tp-cancel-confirm"),
        back: "/my/temporary-permits".into(),
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
    _: CsrfForm<CsrfOnly, Up>,
) -> Result<Response, PageError> {
    match tp::cancel(&s.app, &h, &id).await {
        Ok(()) => Ok(Redirect::to("/my/temporary-permits?done=cancelled").into_response()),
        Err(e @ exitentry_services::ServiceError::NotFound(_)) => {
            Err(PageError::at(lang, "/my/temporary-permits")(e))
        }
        Err(e) => confirm_cancel(&s, lang, &uri, &h, &id, Some(message_for(&e, lang))).await,
    }
}
