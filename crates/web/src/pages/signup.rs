//! Applicants create their own sign-in: identity number and name as in the registry, a
//! mainland mobile number proved by an SMS code, a password, then a face check against the
//! registry: only that binds the sign-in to the person. Then they can book.

use super::common::{
    Back, CsrfField, CsrfForm, CsrfMultipart, MultipartBack, Page, Refusal, render,
};
use crate::AppState;
use crate::error::{message_for, status_for};
use crate::i18n::Lang;
use crate::session::{HOLDER_COOKIE, anon_csrf, anon_csrf_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exitentry_services::holders::{self, SignupInput, SignupStep};
use exitentry_services::providers::MAX_IMAGE_BYTES;
use serde::Deserialize;

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

#[derive(Deserialize, Default)]
struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id_kind: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "holder/signup.html")]
struct Signup {
    page: Page,
    /// "Step n of 3".
    step: String,
    csrf: String,
    form: SignupForm,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "holder/signup_code.html")]
struct Code {
    page: Page,
    /// "Step n of 3".
    step: String,
    csrf: String,
    id: String,
    error: Option<String>,
}

fn respond(status: StatusCode, csrf: &str, body: Response) -> Response {
    (status, [(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
}

/// A wrong token: the form again with the error (what was typed kept, not the password).
impl CsrfField for SignupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let csrf = anon_csrf(&r.headers);
        let body = render(&Signup {
            page: Page::new(r.lang, &r.uri, None, "signup-title"),
            step: r.lang.t_args("signup-step", &[("n", "1".into())]),
            csrf: csrf.clone(),
            form: SignupForm {
                password: String::new(),
                ..self
            },
            error: Some(r.lang.t("err-csrf")),
        });
        respond(StatusCode::FORBIDDEN, &csrf, body)
    }
}

impl CsrfField for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let csrf = anon_csrf(&r.headers);
        let body = render(&Code {
            page: Page::new(r.lang, &r.uri, None, "signup-title"),
            step: r.lang.t_args("signup-step", &[("n", "2".into())]),
            csrf: csrf.clone(),
            id: r.param("id").to_string(),
            error: Some(r.lang.t("err-csrf")),
        });
        respond(StatusCode::FORBIDDEN, &csrf, body)
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
        let (status, msg) = if form.part_failed {
            (StatusCode::BAD_REQUEST, r.lang.t("err-image_too_large"))
        } else {
            (StatusCode::FORBIDDEN, r.lang.t("err-csrf"))
        };
        let csrf = anon_csrf(&r.headers);
        face_page(
            &r.state,
            r.lang,
            &r.uri,
            &csrf,
            r.param("id"),
            Some((status, msg)),
        )
    }
}

async fn form(lang: Lang, uri: OriginalUri, headers: HeaderMap) -> Response {
    let csrf = anon_csrf(&headers);
    let body = render(&Signup {
        page: Page::new(lang, &uri, None, "signup-title"),
        step: lang.t_args("signup-step", &[("n", "1".into())]),
        csrf: csrf.clone(),
        form: SignupForm {
            id_kind: "prc_resident_id".into(),
            ..Default::default()
        },
        error: None,
    });
    respond(StatusCode::OK, &csrf, body)
}

async fn start(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(mut f, _): CsrfForm<SignupForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let again = |status: StatusCode, msg: String, f: SignupForm| {
        let body = render(&Signup {
            page: Page::new(lang, &uri, None, "signup-title"),
            step: lang.t_args("signup-step", &[("n", "1".into())]),
            csrf: csrf.clone(),
            form: SignupForm {
                password: String::new(),
                ..f
            },
            error: Some(msg),
        });
        respond(status, &csrf, body)
    };
    // Each attempt may send an SMS: limited per client like the other SMS requests.
    if s.sms_throttle.check(ip).is_err() {
        return again(StatusCode::TOO_MANY_REQUESTS, lang.t("err-rate_limited"), f);
    }
    let input = SignupInput {
        id_kind: f.id_kind.clone(),
        id_number: f.id_number.clone(),
        name: f.name.clone(),
        mobile: f.mobile.clone(),
        password: std::mem::take(&mut f.password),
    };
    match holders::start_signup(&s.app, &input).await {
        // Only this browser may continue the sign-up: its token rides in a cookie.
        Ok((id, browser)) => (
            [(
                header::SET_COOKIE,
                crate::session::set_cookie(SIGNUP_COOKIE, &browser, Some(1800), false),
            )],
            Redirect::to(&format!("/my/signup/{id}")),
        )
            .into_response(),
        Err(e) => again(status_for(&e), message_for(&e, lang), f),
    }
}

async fn code_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match holders::signup_step(&s.app, &id, browser(&headers)).await {
        Ok(SignupStep::Code) => {}
        Ok(SignupStep::Face) => {
            return Redirect::to(&format!("/my/signup/{id}/face")).into_response();
        }
        Ok(SignupStep::Done) => return Redirect::to("/my/login").into_response(),
        Err(_) => return Redirect::to("/my/signup").into_response(),
    }
    let csrf = anon_csrf(&headers);
    let body = render(&Code {
        page: Page::new(lang, &uri, None, "signup-title"),
        step: lang.t_args("signup-step", &[("n", "2".into())]),
        csrf: csrf.clone(),
        id,
        error: None,
    });
    respond(StatusCode::OK, &csrf, body)
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn confirm(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<CodeForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let again = |status: StatusCode, msg: String| {
        let body = render(&Code {
            page: Page::new(lang, &uri, None, "signup-title"),
            step: lang.t_args("signup-step", &[("n", "2".into())]),
            csrf: csrf.clone(),
            id: id.clone(),
            error: Some(msg),
        });
        respond(status, &csrf, body)
    };
    match holders::confirm_signup(&s.app, &id, browser(&headers), &f.code).await {
        Ok(()) => Redirect::to(&format!("/my/signup/{id}/face")).into_response(),
        Err(e) => again(status_for(&e), message_for(&e, lang)),
    }
}

// ---- The face check: proof of the person, before anything is bound -------------------

#[derive(Template)]
#[template(path = "holder/signup_face.html")]
struct Face {
    page: Page,
    /// "Step n of 3".
    step: String,
    csrf: String,
    id: String,
    max_mb: usize,
    /// The development double accepts any photo: the page says so.
    dev_face: bool,
    error: Option<String>,
}

fn face_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    csrf: &str,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (status, error) = super::common::status_and_error(error);
    let body = render(&Face {
        page: Page::new(lang, uri, None, "signup-title"),
        step: lang.t_args("signup-step", &[("n", "3".into())]),
        csrf: csrf.to_string(),
        id: id.to_string(),
        max_mb: MAX_IMAGE_BYTES / (1024 * 1024),
        dev_face: s.app.config.server.dev_providers && s.app.config.providers.dev_face_accept,
        error,
    });
    respond(status, csrf, body)
}

async fn face_form(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match holders::signup_step(&s.app, &id, browser(&headers)).await {
        Ok(SignupStep::Face) => face_page(&s, lang, &uri, &anon_csrf(&headers), &id, None),
        Ok(SignupStep::Code) => Redirect::to(&format!("/my/signup/{id}")).into_response(),
        Ok(SignupStep::Done) => Redirect::to("/my/login").into_response(),
        Err(_) => Redirect::to("/my/signup").into_response(),
    }
}

async fn face(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: CsrfMultipart<FacePost>,
) -> Response {
    let csrf = anon_csrf(&headers);
    if form.part_failed {
        let msg = lang.t("err-image_too_large");
        return face_page(
            &s,
            lang,
            &uri,
            &csrf,
            &id,
            Some((StatusCode::BAD_REQUEST, msg)),
        );
    }
    match holders::submit_signup_face(&s.app, &id, browser(&headers), &form.bytes("photo")).await {
        Ok((token, _, device)) => crate::session::signed_in(
            &s,
            HOLDER_COOKIE,
            &token,
            crate::session::HOLDER_DEVICE_COOKIE,
            device,
            "/my/appointments",
        ),
        Err(e) => {
            let err = (status_for(&e), message_for(&e, lang));
            face_page(&s, lang, &uri, &csrf, &id, Some(err))
        }
    }
}
