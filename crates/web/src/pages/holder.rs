//! Pages for permit holders (mobile first): the temporary e-permit journey — permit
//! details, SMS code, face check, the QR — and "my temporary permits" after sign-in.
//!
//! The application in progress is kept in an HttpOnly cookie, not in the URL, so its id
//! (which unlocks the issued QR) never lands in logs or browser history.

use super::common::{
    Back, CsrfField, CsrfForm, CsrfMultipart, CsrfOnly, Cx, MultipartBack, NextQuery, Outcome,
    Page, PermitCard, Refusal, SignIn, Up, back, beijing, csrf_field, next_within,
    notice_and_error, outcome, render, render_anon, render_with, with_anon_csrf,
};
use crate::AppState;
use crate::error::{PageError, message_for};
use crate::session::{HOLDER_COOKIE, HOLDER_DEVICE_COOKIE, Holder, anon_csrf, set_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query};
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
        .route("/my", get(my_permits))
        .route("/my/temporary-permits/cancel", post(cancel))
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
}

fn start_page(
    cx: &Cx,
    csrf: String,
    form: StepOne,
    error: Option<(StatusCode, String)>,
) -> Response {
    render_with(error, |error| Start {
        page: cx.page(None, "tp-title"),
        csrf,
        form,
        error,
    })
}

async fn start(cx: Cx, headers: HeaderMap) -> Response {
    let csrf = anon_csrf(&headers);
    let form = StepOne {
        document_kind: "hrp".into(),
        ..Default::default()
    };
    let body = start_page(&cx, csrf.clone(), form, None);
    with_anon_csrf(&csrf, body)
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

/// Step 2's form (what was typed kept, the password only while it is still needed).
fn details_page(cx: &Cx, form: StepTwo, error: Option<(StatusCode, String)>) -> Response {
    render_with(error, |error| Details {
        page: cx.page(None, "tp-title"),
        csrf: form.csrf.clone(),
        form,
        error,
    })
}

/// Step 1 checks the shape of what was typed (the registry is asked only once, with
/// everything, so the form cannot be used to probe it field by field).
async fn details(cx: Cx, CsrfForm(f, _): CsrfForm<StepOne, Up>) -> Response {
    let problem = tp::check_step_one(cx.app(), &f.document_kind, &f.document_number, &f.name);
    if let Err(e) = problem {
        let error = (StatusCode::BAD_REQUEST, message_for(&e, cx.lang));
        return start_page(&cx, f.csrf.clone(), f, Some(error));
    }
    let form = StepTwo {
        document_kind: f.document_kind,
        document_number: f.document_number,
        name: f.name,
        csrf: f.csrf,
        ..Default::default()
    };
    details_page(&cx, form, None)
}

async fn apply(
    cx: Cx,
    ClientIp(ip): ClientIp,
    CsrfForm(mut f, _): CsrfForm<StepTwo, Up>,
) -> Response {
    if cx.s.sms_throttle.check(ip).is_err() {
        f.password.clear();
        let error = (StatusCode::TOO_MANY_REQUESTS, cx.lang.t("err-rate_limited"));
        return details_page(&cx, f, Some(error));
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
    match tp::apply(cx.app(), &input).await {
        Ok(id) => {
            let secure = cx.app().config.server.secure_cookies;
            let cookie = set_cookie(APPLICATION_COOKIE, &id, Some(3600), secure);
            let next = Redirect::to("/temporary-permit/code");
            ([(header::SET_COOKIE, cookie)], next).into_response()
        }
        Err(e) => details_page(&cx, f, Some(cx.shown(&e))),
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

back!(My = "/my");
csrf_field!(StepOne, StepTwo, CodeForm, CancelForm);

/// The face form: a photo the body limit cut off is answered with its own message, whatever
/// the token (nothing is done with it); otherwise a wrong token is the 403 page.
struct FacePost;

impl MultipartBack for FacePost {
    fn refused(form: &CsrfMultipart<Self>, r: Refusal) -> Response {
        if form.part_failed {
            return too_large(&r.cx, anon_csrf(&r.headers));
        }
        r.forbidden()
    }
}

impl Back for FacePost {
    fn path(request_path: &str) -> String {
        request_path.to_string()
    }
}

fn too_large(cx: &Cx, csrf: String) -> Response {
    let error = (StatusCode::BAD_REQUEST, cx.lang.t("err-image_too_large"));
    face_page(cx, csrf, Some(error))
}

/// A sign-in with a wrong token: the form again, with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let next = local_next(self.next.as_deref());
        let error = Some((StatusCode::FORBIDDEN, r.cx.lang.t("err-csrf")));
        login_page(&r.cx, self.csrf, next, self.mobile, error)
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

async fn code_page(cx: &Cx, id: &str, csrf: String, outcome: Option<Outcome>) -> Response {
    let view = match tp::application(cx.app(), id).await {
        Ok(v) => v,
        Err(_) => return restart(),
    };
    match view.state.as_str() {
        "awaiting_face" => return Redirect::to("/temporary-permit/face").into_response(),
        "issued" => return Redirect::to("/temporary-permit/issued").into_response(),
        _ => {}
    }
    let (notice, error) = notice_and_error(outcome);
    render_anon(&csrf, error, |error| Code {
        page: cx.page(None, "tp-title"),
        csrf: csrf.clone(),
        mobile: view.mobile_masked,
        resend_at: view
            .resend_at
            .map(|t| beijing(t, "%H:%M:%S"))
            .unwrap_or_default(),
        demo_outbox: cx.app().config.server.dev_providers,
        notice,
        error,
    })
}

async fn code_form(cx: Cx, headers: HeaderMap) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    code_page(&cx, &id, anon_csrf(&headers), None).await
}

async fn code(cx: Cx, InProgress(id): InProgress, CsrfForm(f, _): CsrfForm<CodeForm>) -> Response {
    match tp::confirm_sms_code(cx.app(), &id, &f.code).await {
        Ok(()) => Redirect::to("/temporary-permit/face").into_response(),
        Err(e) => code_page(&cx, &id, f.csrf, Some(Err(cx.shown(&e)))).await,
    }
}

async fn resend(
    cx: Cx,
    ClientIp(ip): ClientIp,
    InProgress(id): InProgress,
    CsrfForm(f, _): CsrfForm<CodeForm, Up>,
) -> Response {
    let outcome = match cx.s.sms_throttle.check(ip) {
        Err(_) => Err((StatusCode::TOO_MANY_REQUESTS, cx.lang.t("err-rate_limited"))),
        Ok(()) => match tp::resend_sms_code(cx.app(), &id).await {
            Ok(_) => Ok(cx.lang.t("tp-code-resent")),
            Err(e) => Err(cx.shown(&e)),
        },
    };
    code_page(&cx, &id, f.csrf, Some(outcome)).await
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

fn face_page(cx: &Cx, csrf: String, error: Option<(StatusCode, String)>) -> Response {
    render_anon(&csrf, error, |error| Face {
        page: cx.page(None, "tp-title"),
        csrf: csrf.clone(),
        max_mb: exitentry_services::providers::MAX_IMAGE_BYTES / (1024 * 1024),
        error,
    })
}

async fn face_form(cx: Cx, headers: HeaderMap) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    match tp::application(cx.app(), &id).await.map(|v| v.state) {
        Ok(state) if state == "awaiting_face" => face_page(&cx, anon_csrf(&headers), None),
        Ok(state) if state == "issued" => Redirect::to("/temporary-permit/issued").into_response(),
        Ok(_) => Redirect::to("/temporary-permit/code").into_response(),
        Err(_) => restart(),
    }
}

async fn face(
    cx: Cx,
    headers: HeaderMap,
    InProgress(id): InProgress,
    form: CsrfMultipart<FacePost>,
) -> Response {
    let csrf = anon_csrf(&headers);
    if form.part_failed {
        return too_large(&cx, csrf);
    }
    match tp::submit_face(cx.app(), &id, &form.bytes("photo")).await {
        Ok(_) => Redirect::to("/temporary-permit/issued").into_response(),
        Err(e) => face_page(&cx, csrf, Some(cx.shown(&e))),
    }
}

// ---- Issued -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "holder/issued.html")]
struct Issued {
    page: Page,
    permit: PermitCard,
}

async fn issued(cx: Cx, headers: HeaderMap) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    match tp::application(cx.app(), &id).await {
        Ok(v) => match v.permit {
            Some(p) => render(&Issued {
                page: cx.page(None, "tp-issued-title"),
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
    next_within(next, "/my", "/my")
}

const HOLDER: SignIn = SignIn {
    session_cookie: HOLDER_COOKIE,
    device_cookie: HOLDER_DEVICE_COOKIE,
    bad_credentials: "err-bad_holder_credentials",
};

#[derive(Template)]
#[template(path = "holder/login.html")]
struct Login {
    page: Page,
    csrf: String,
    next: String,
    mobile: String,
    error: Option<String>,
}

fn login_page(
    cx: &Cx,
    csrf: String,
    next: String,
    mobile: String,
    error: Option<(StatusCode, String)>,
) -> Response {
    render_with(error, |error| Login {
        page: cx.page(None, "my-login-title"),
        csrf,
        next,
        mobile,
        error,
    })
}

async fn login_form(cx: Cx, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let csrf = anon_csrf(&headers);
    let next = local_next(q.next.as_deref());
    let body = login_page(&cx, csrf.clone(), next, String::new(), None);
    with_anon_csrf(&csrf, body)
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
    cx: Cx,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let next = local_next(f.next.as_deref());
    let again = |status, msg| {
        let (csrf, mobile) = (f.csrf.clone(), f.mobile.clone());
        login_page(&cx, csrf, next.clone(), mobile, Some((status, msg)))
    };
    let login = holders::login_from(cx.app(), &f.mobile, &f.password, HOLDER.device(&headers));
    HOLDER.run(&cx, ip, &next, login, again).await
}

async fn logout(
    cx: Cx,
    headers: HeaderMap,
    Holder(_): Holder,
    _: CsrfForm<CsrfOnly, Up>,
) -> Response {
    if let Some(token) = HOLDER.token(&headers) {
        let _ = holders::logout(cx.app(), token).await;
    }
    HOLDER.signed_out("/")
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
    cx: &Cx,
    holder: HolderSession,
    outcome: Option<Outcome>,
) -> Result<Response, PageError> {
    let page = cx.page(None, "my-title");
    let permits = tp::holder_permits(cx.app(), &holder)
        .await
        .map_err(cx.fail(&page.path))?;
    let (notice, error) = notice_and_error(outcome);
    Ok(render_with(error, |error| MyPermits {
        page,
        holder,
        permits: permits.into_iter().map(PermitCard::from).collect(),
        notice,
        error,
    }))
}

async fn my_permits(cx: Cx, Holder(h): Holder) -> Result<Response, PageError> {
    my_page(&cx, h, None).await
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    permit_id: String,
    #[serde(default)]
    csrf: String,
}

async fn cancel(
    cx: Cx,
    Holder(h): Holder,
    CsrfForm(f, _): CsrfForm<CancelForm, My>,
) -> Result<Response, PageError> {
    let done = tp::cancel(cx.app(), &h, &f.permit_id).await;
    let outcome = outcome(&cx, done, |()| cx.lang.t("my-cancelled"), |_| true, "/my")?;
    my_page(&cx, h, Some(outcome)).await
}
