//! Pages for permit holders (mobile first): the temporary e-permit journey — permit
//! details, SMS code, face check, the QR — and "my temporary permits" after sign-in.
//!
//! The application in progress is kept in an HttpOnly cookie, not in the URL, so its id
//! (which unlocks the issued QR) never lands in logs or browser history.

use super::common::{
    Back, Cancel, Confirm, CsrfField, CsrfForm, CsrfMultipart, CsrfOnly, Cx, Failed, MultipartBack,
    NextQuery, PermitCard, Refusal, SignIn, Up, beijing, cancel, cancel_form, csrf_field,
    form_fields, page_template, render, with_anon_csrf,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::{Holder, MaybeHolder, anon_csrf, set_cookie};
use crate::throttle::ClientIp;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::states::TemporaryPermitApplicationState as Step;
use exitentry_domain::states::TemporaryPermitState;
use exitentry_services::ServiceError;
use exitentry_services::holders::{self, HolderSession};
use exitentry_services::temporary_permits::{self as tp, ApplyInput};
use serde::Deserialize;

const APPLICATION_COOKIE: &str = "ee_tpa";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/temporary-permit", get(start))
        .route("/temporary-permit/details", get(details_form).post(details))
        .route("/temporary-permit/change", post(change))
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
            get(cancel_form::<CancelPermit>).post(cancel::<CancelPermit>),
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

page_template! {
    Start = "holder/start.html" {
        csrf: String,
        form: StepOne,
        /// A signed-in holder's permit still valid until then (Beijing time): said before a
        /// second application starts.
        already_valid: Option<String>,
    }
}

fn start_page(cx: &Cx, csrf: String, form: StepOne) -> Response {
    start_page_with(cx, csrf, form, None)
}

fn start_page_with(
    cx: &Cx,
    csrf: String,
    form: StepOne,
    already_valid: Option<String>,
) -> Response {
    cx.render(&Start {
        page: cx.page(None, "tp-title"),
        csrf,
        form,
        already_valid,
    })
}

async fn start(cx: Cx, headers: HeaderMap, MaybeHolder(holder): MaybeHolder) -> Response {
    let csrf = anon_csrf(&headers);
    // What was typed before (a refused step 1, or "change" on step 2), else a fresh form.
    let form = cx.kept::<StepOne>().unwrap_or_else(|| StepOne {
        document_kind: "hrp".into(),
        ..Default::default()
    });
    let mut already_valid = None;
    if let Some(h) = holder {
        let permits = tp::holder_permits(cx.app(), &h).await.unwrap_or_default();
        already_valid = permits
            .iter()
            .filter(|p| p.payload.is_some())
            .map(|p| p.valid_until)
            .max()
            .map(|t| beijing(t, "%Y-%m-%d %H:%M"));
    }
    with_anon_csrf(
        &csrf,
        start_page_with(&cx, csrf.clone(), form, already_valid),
    )
}

// ---- Step 2: expiry, sex, password, mobile --------------------------------------------

/// Step 2 carries step 1's answers (hidden fields) and adds its own.
#[derive(Default, Deserialize)]
struct StepTwo {
    #[serde(flatten)]
    one: StepOne,
    #[serde(default)]
    document_expiry: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    password: String,
}

impl CsrfField for StepTwo {
    fn csrf(&self) -> &str {
        &self.one.csrf
    }
}

page_template! {
    Details = "holder/details.html" {
        csrf: String,
        form: StepTwo,
    }
}

const START: &str = "/temporary-permit";
const DETAILS: &str = "/temporary-permit/details";

/// Step 2's form at its own address (what was typed kept; never the password).
fn details_page(cx: &Cx, form: StepTwo) -> Response {
    let cx = cx.at(DETAILS);
    cx.render(&Details {
        page: cx.page(None, "tp-title"),
        csrf: form.one.csrf.clone(),
        form,
    })
}

/// Step 2 after step 1 (or after a refusal): drawn from what was posted; with nothing
/// posted (opened later, or in another browser), step 1.
async fn details_form(cx: Cx, headers: HeaderMap) -> Response {
    let Some(mut form) = cx.kept::<StepTwo>() else {
        return restart();
    };
    let csrf = anon_csrf(&headers);
    form.one.csrf = csrf.clone();
    with_anon_csrf(&csrf, details_page(&cx, form))
}

/// Step 1 checks the shape of what was typed (the registry is asked only once, with
/// everything, so the form cannot be used to probe it field by field).
async fn details(cx: Cx, CsrfForm(f, _): CsrfForm<StepOne, Up>) -> Response {
    let problem = tp::check_step_one(cx.app(), &f.document_kind, &f.document_number, &f.name);
    if let Err(e) = problem {
        return start_page(&cx.at(START).after(Err(cx.shown(&e))), f.csrf.clone(), f);
    }
    let form = StepTwo {
        one: f,
        ..Default::default()
    };
    details_page(&cx, form)
}

/// "Change" on step 2: step 1 again with its answers (step 2's hidden fields).
async fn change(cx: Cx, CsrfForm(f, _): CsrfForm<StepTwo, Up>) -> Response {
    start_page(&cx.at(START), f.one.csrf.clone(), f.one)
}

async fn apply(
    cx: Cx,
    ClientIp(ip): ClientIp,
    CsrfForm(mut f, _): CsrfForm<StepTwo, Up>,
) -> Response {
    if cx.s.sms_throttle.check(ip).await.is_err() {
        f.password.clear();
        let limited = Failed::key(StatusCode::TOO_MANY_REQUESTS, "err-rate_limited");
        return details_page(&cx.after(Err(limited)), f);
    }
    let input = ApplyInput {
        document_kind: f.one.document_kind.clone(),
        document_number: f.one.document_number.clone(),
        name: f.one.name.clone(),
        document_expiry: f.document_expiry.clone(),
        sex: f.sex.clone(),
        mobile: f.mobile.clone(),
        password: std::mem::take(&mut f.password),
        lang: cx.lang.messages(),
    };
    match tp::apply(cx.app(), &input).await {
        Ok(id) => {
            let secure = cx.app().config.server.secure_cookies;
            let cookie = set_cookie(APPLICATION_COOKIE, &id, Some(3600), secure);
            let next = Redirect::to("/temporary-permit/code");
            ([(header::SET_COOKIE, cookie)], next).into_response()
        }
        Err(e) => {
            let mut failed = cx.shown(&e);
            // Type, number and name are step 1's: the message sits at step 2's "change"
            // button, which takes them back to step 1 with what was typed.
            if failed
                .field
                .as_deref()
                .is_some_and(|f| ["document_kind", "document_number", "name"].contains(&f))
            {
                failed.field = Some("change".into());
            }
            details_page(&cx.after(Err(failed)), f)
        }
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

csrf_field!(StepOne, CodeForm);

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
    let error = Failed::key(StatusCode::BAD_REQUEST, "err-image_too_large");
    face_page(&cx.after(Err(error)), csrf)
}

/// A sign-in with a wrong token: the form again, with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let next = SignIn::HOLDER.next(self.next.as_deref());
        login_page(&r.again(), self.csrf, next, self.mobile)
    }
}

page_template! {
    Code = "holder/code.html" {
        csrf: String,
        mobile: String,
        resend_at: String,
        demo_outbox: bool,
    }
}

form_fields!(CodeForm { code: String });

/// The code form, unless the application has moved on (or is gone).
async fn code_page(cx: &Cx, id: &str, csrf: String) -> Response {
    let view = match tp::application(cx.app(), id).await {
        Ok(v) => v,
        Err(_) => return restart(),
    };
    match view.state {
        Step::AwaitingFace => return Redirect::to("/temporary-permit/face").into_response(),
        Step::Issued => return Redirect::to("/temporary-permit/issued").into_response(),
        Step::AwaitingSms => {}
    }
    let page = Code {
        page: cx.page(None, "tp-title"),
        csrf: csrf.clone(),
        mobile: view.mobile_masked,
        resend_at: view
            .resend_at
            .map(|t| beijing(t, "%H:%M:%S"))
            .unwrap_or_default(),
        demo_outbox: cx.app().config.server.dev_providers,
    };
    with_anon_csrf(&csrf, cx.render(&page))
}

async fn code_form(cx: Cx, headers: HeaderMap) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    code_page(&cx, &id, anon_csrf(&headers)).await
}

async fn code(cx: Cx, InProgress(id): InProgress, CsrfForm(f, _): CsrfForm<CodeForm>) -> Response {
    match tp::confirm_sms_code(cx.app(), &id, &f.code).await {
        Ok(()) => Redirect::to("/temporary-permit/face").into_response(),
        Err(e) => code_page(&cx.after(Err(cx.shown(&e))), &id, f.csrf).await,
    }
}

async fn resend(
    cx: Cx,
    ClientIp(ip): ClientIp,
    InProgress(id): InProgress,
    CsrfForm(f, _): CsrfForm<CodeForm, Up>,
) -> Response {
    let outcome = match cx.s.sms_throttle.check(ip).await {
        Err(_) => Err(Failed::key(
            StatusCode::TOO_MANY_REQUESTS,
            "err-rate_limited",
        )),
        Ok(()) => match tp::resend_sms_code(cx.app(), &id, cx.lang.messages()).await {
            Ok(_) => Ok(cx.lang.t("tp-code-resent")),
            Err(e) => Err(cx.shown(&e)),
        },
    };
    code_page(&cx.at("/temporary-permit/code").after(outcome), &id, f.csrf).await
}

// ---- Step 4: the face check ---------------------------------------------------------

page_template! {
    Face = "holder/face.html" {
        csrf: String,
        max_mb: usize,
    }
}

fn face_page(cx: &Cx, csrf: String) -> Response {
    let page = Face {
        page: cx.page(None, "tp-title"),
        csrf: csrf.clone(),
        max_mb: exitentry_services::providers::MAX_IMAGE_BYTES / (1024 * 1024),
    };
    with_anon_csrf(&csrf, cx.render(&page))
}

async fn face_form(cx: Cx, headers: HeaderMap) -> Response {
    let Some(id) = application_id(&headers) else {
        return restart();
    };
    match tp::application(cx.app(), &id).await.map(|v| v.state) {
        Ok(Step::AwaitingFace) => face_page(&cx, anon_csrf(&headers)),
        Ok(Step::Issued) => Redirect::to("/temporary-permit/issued").into_response(),
        Ok(Step::AwaitingSms) => Redirect::to("/temporary-permit/code").into_response(),
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
        Err(e) => face_page(&cx.after(Err(cx.shown(&e))), csrf),
    }
}

// ---- Issued -------------------------------------------------------------------------

page_template! {
    Issued = "holder/issued.html" {
        permit: PermitCard,
    }
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

page_template! {
    Login = "holder/login.html" {
        csrf: String,
        next: String,
        mobile: String,
    }
}

fn login_page(cx: &Cx, csrf: String, next: String, mobile: String) -> Response {
    cx.render(&Login {
        page: cx.page(None, "my-login-title"),
        csrf,
        next,
        mobile,
    })
}

async fn login_form(cx: Cx, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    SignIn::HOLDER.form(&cx, &headers, q.next.as_deref(), "mobile", login_page)
}

form_fields!(LoginForm {
    mobile: String,
    password: String,
    next: Option<String>,
});

async fn login(
    cx: Cx,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let next = SignIn::HOLDER.next(f.next.as_deref());
    let again = |cx: &Cx| login_page(cx, f.csrf.clone(), next.clone(), f.mobile.clone());
    let device = SignIn::HOLDER.device(&headers);
    let login = holders::login_from(cx.app(), &f.mobile, &f.password, device);
    SignIn::HOLDER.run(&cx, ip, &next, login, again).await
}

async fn logout(
    cx: Cx,
    headers: HeaderMap,
    Holder(_): Holder,
    _: CsrfForm<CsrfOnly, Up>,
) -> Response {
    let end = async |token: &str| holders::logout(cx.app(), token).await;
    SignIn::HOLDER.sign_out(&headers, end, "/").await
}

page_template! {
    MyPermits = "holder/permits.html" {
        holder: HolderSession,
        permits: Vec<PermitCard>,
    }
}

async fn my_page(cx: &Cx, holder: HolderSession) -> PageResult {
    let page = cx.page(None, "my-title");
    let permits = tp::holder_permits(cx.app(), &holder)
        .await
        .map_err(cx.fail(&page.path))?;
    Ok(cx.render(&MyPermits {
        page,
        holder,
        permits: permits.into_iter().map(PermitCard::from).collect(),
    }))
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn my_permits(cx: Cx, Holder(h): Holder, Query(q): Query<DoneQuery>) -> PageResult {
    if q.done == "cancelled" {
        return my_page(&cx.after(Ok(cx.lang.t("my-cancelled"))), h).await;
    }
    my_page(&cx, h).await
}

/// Cancelling a permit, after a confirmation: whose permit, until when, and that a cancelled
/// permit cannot be used again.
struct CancelPermit;

impl Cancel for CancelPermit {
    type Owner = Holder;
    type Form = CsrfOnly;
    type Back = Up;

    async fn confirm(cx: &Cx, Holder(h): &Holder, id: &str) -> PageResult {
        let page = cx.page(None, "tp-cancel-title");
        let permits = tp::holder_permits(cx.app(), h)
            .await
            .map_err(cx.fail(&page.path))?;
        let Some(p) = permits.into_iter().find(|p| p.id == id) else {
            return Err(cx.fail(&page.path)(ServiceError::NotFound(
                "temporary_permit",
            )));
        };
        let until = beijing(p.valid_until, "%Y-%m-%d %H:%M");
        let what = cx.lang.t_args(
            "tp-cancel-what",
            &[("name", p.holder_name), ("until", until)],
        );
        let to = [
            format!("/my/temporary-permits/{id}/cancel"),
            "/my/temporary-permits".into(),
        ];
        Confirm::cancel(cx, page, "tp-cancel", what, to, &h.csrf_token)
    }

    async fn cancel(cx: &Cx, Holder(h): &Holder, id: &str) -> Result<String, ServiceError> {
        tp::cancel(cx.app(), h, id).await?;
        Ok("/my/temporary-permits?done=cancelled".into())
    }

    fn fails_at(_: &str) -> String {
        "/my/temporary-permits".into()
    }

    /// Any refusal but a permit that is not the holder's.
    fn shown(e: &ServiceError) -> bool {
        !matches!(e, ServiceError::NotFound(_))
    }
}
