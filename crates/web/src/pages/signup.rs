//! Applicants create their own sign-in: identity number and name as in the registry, a
//! mainland mobile number proved by an SMS code, a password, then a face check against the
//! registry: only that binds the sign-in to the person. Then they can book.

use super::common::{
    Back, CsrfField, CsrfForm, CsrfMultipart, Cx, Failed, MultipartBack, Refusal, SignIn,
    form_fields, page_template, with_anon_csrf,
};
use crate::AppState;
use crate::session::anon_csrf;
use crate::throttle::ClientIp;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exitentry_services::ServiceError;
use exitentry_services::holders::{self, SignupInput, SignupStep};
use exitentry_services::providers::MAX_IMAGE_BYTES;

/// The cookie that ties a sign-up to the browser that started it.
const SIGNUP_COOKIE: &str = "ee_signup";

fn browser(headers: &HeaderMap) -> &str {
    crate::i18n::cookie_in(headers, SIGNUP_COOKIE).unwrap_or("")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/signup", get(form).post(start))
        .route("/my/signup/{id}", get(code_form).post(confirm))
        .route(
            "/my/signup/{id}/face",
            get(face_form)
                .post(face)
                .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES + 64 * 1024)),
        )
}

form_fields!(SignupForm {
    id_kind: String,
    id_number: String,
    name: String,
    mobile: String,
    password: String,
});

page_template! {
    Signup = "holder/signup.html" {
        /// "Step n of 3".
        step: String,
        csrf: String,
        form: SignupForm,
    }
}

page_template! {
    Code = "holder/signup_code.html" {
        /// "Step n of 3".
        step: String,
        csrf: String,
        id: String,
    }
}

/// "Step n of 3".
fn step(cx: &Cx, n: &str) -> String {
    cx.lang.t_args("signup-step", &[("n", n.into())])
}

/// Step 1: what was typed kept, never the password.
fn signup_page(cx: &Cx, csrf: &str, form: SignupForm) -> Response {
    let page = Signup {
        page: cx.page(None, "signup-title"),
        step: step(cx, "1"),
        csrf: csrf.to_string(),
        form: SignupForm {
            password: String::new(),
            ..form
        },
    };
    with_anon_csrf(csrf, cx.render(&page))
}

/// Step 2: the SMS code.
fn code_page(cx: &Cx, csrf: &str, id: &str) -> Response {
    let page = Code {
        page: cx.page(None, "signup-title"),
        step: step(cx, "2"),
        csrf: csrf.to_string(),
        id: id.to_string(),
    };
    with_anon_csrf(csrf, cx.render(&page))
}

/// A wrong token: the form again with the error (what was typed kept, not the password).
impl CsrfField for SignupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        signup_page(&r.again(), &anon_csrf(&r.headers), self)
    }
}

impl CsrfField for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        code_page(&r.again(), &anon_csrf(&r.headers), r.param("id"))
    }
}

/// The face form: a photo the body limit cut off is answered with its own message, whatever
/// the token; a wrong token redraws the form with the error.
struct FacePost;

impl Back for FacePost {
    fn path(request_path: &str) -> String {
        request_path.to_string()
    }
}

impl MultipartBack for FacePost {
    fn refused(form: &CsrfMultipart<Self>, r: Refusal) -> Response {
        let cx = if form.part_failed {
            too_large(&r.cx)
        } else {
            r.again()
        };
        face_page(&cx, &anon_csrf(&r.headers), r.param("id"))
    }
}

/// A photo over the body limit, refused before anything is read.
fn too_large(cx: &Cx) -> Cx {
    cx.after(Err(Failed::key(
        StatusCode::BAD_REQUEST,
        "err-image_too_large",
    )))
}

async fn form(cx: Cx, headers: HeaderMap) -> Response {
    // A refused sign-up comes back with what was typed (never the password).
    let form = cx.kept().unwrap_or_else(|| SignupForm {
        id_kind: "prc_resident_id".into(),
        ..Default::default()
    });
    signup_page(&cx, &anon_csrf(&headers), form)
}

async fn start(
    cx: Cx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(mut f, _): CsrfForm<SignupForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    // Each attempt may send an SMS: limited per client like the other SMS requests.
    if cx.s.sms_throttle.check(ip).await.is_err() {
        let limited = Failed::key(StatusCode::TOO_MANY_REQUESTS, "err-rate_limited");
        return signup_page(&cx.after(Err(limited)), &csrf, f);
    }
    let input = SignupInput {
        id_kind: f.id_kind.clone(),
        id_number: f.id_number.clone(),
        name: f.name.clone(),
        mobile: f.mobile.clone(),
        password: std::mem::take(&mut f.password),
        lang: cx.lang.messages(),
    };
    match holders::start_signup(cx.app(), &input).await {
        // Only this browser may continue the sign-up: its token rides in a cookie.
        Ok((id, browser)) => (
            [(
                header::SET_COOKIE,
                crate::session::set_cookie(SIGNUP_COOKIE, &browser, Some(1800), false),
            )],
            Redirect::to(&format!("/my/signup/{id}")),
        )
            .into_response(),
        Err(e) => signup_page(&cx.after(Err(cx.shown(&e))), &csrf, f),
    }
}

/// Where a sign-up in another step than `here` continues (or starts again).
fn elsewhere(
    id: &str,
    step: Result<SignupStep, ServiceError>,
    here: SignupStep,
) -> Option<Response> {
    let to = match step {
        Ok(s) if s == here => return None,
        Ok(SignupStep::Code) => format!("/my/signup/{id}"),
        Ok(SignupStep::Face) => format!("/my/signup/{id}/face"),
        Ok(SignupStep::Done) => "/my/login".to_string(),
        Err(_) => "/my/signup".to_string(),
    };
    Some(Redirect::to(&to).into_response())
}

async fn code_form(cx: Cx, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let step = holders::signup_step(cx.app(), &id, browser(&headers)).await;
    if let Some(other) = elsewhere(&id, step, SignupStep::Code) {
        return other;
    }
    code_page(&cx, &anon_csrf(&headers), &id)
}

form_fields!(CodeForm { code: String });

async fn confirm(
    cx: Cx,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<CodeForm>,
) -> Response {
    match holders::confirm_signup(cx.app(), &id, browser(&headers), &f.code).await {
        Ok(()) => Redirect::to(&format!("/my/signup/{id}/face")).into_response(),
        Err(e) => code_page(&cx.after(Err(cx.shown(&e))), &anon_csrf(&headers), &id),
    }
}

// ---- The face check: proof of the person, before anything is bound -------------------

page_template! {
    Face = "holder/signup_face.html" {
        /// "Step n of 3".
        step: String,
        csrf: String,
        id: String,
        max_mb: usize,
        /// The development double accepts any photo: the page says so.
        dev_face: bool,
    }
}

fn face_page(cx: &Cx, csrf: &str, id: &str) -> Response {
    let config = &cx.app().config;
    let page = Face {
        page: cx.page(None, "signup-title"),
        step: step(cx, "3"),
        csrf: csrf.to_string(),
        id: id.to_string(),
        max_mb: MAX_IMAGE_BYTES / (1024 * 1024),
        dev_face: config.server.dev_providers && config.providers.dev_face_accept,
    };
    with_anon_csrf(csrf, cx.render(&page))
}

async fn face_form(cx: Cx, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let step = holders::signup_step(cx.app(), &id, browser(&headers)).await;
    if let Some(other) = elsewhere(&id, step, SignupStep::Face) {
        return other;
    }
    face_page(&cx, &anon_csrf(&headers), &id)
}

async fn face(
    cx: Cx,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: CsrfMultipart<FacePost>,
) -> Response {
    let csrf = anon_csrf(&headers);
    if form.part_failed {
        return face_page(&too_large(&cx), &csrf, &id);
    }
    let photo = form.bytes("photo");
    match holders::submit_signup_face(cx.app(), &id, browser(&headers), &photo).await {
        Ok((token, _, device)) => SignIn::HOLDER.signed_in(&cx, &token, device, "/my/appointments"),
        Err(e) => face_page(&cx.after(Err(cx.shown(&e))), &csrf, &id),
    }
}
