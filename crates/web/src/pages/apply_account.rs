//! The applicants' accounts for the online pre-application (under `/apply`): the landing
//! page, registration by email, the verification link that sets the password, sign-in and
//! sign-out.

use super::common::{CsrfField, CsrfForm, CsrfOnly, NextQuery, Page, Refusal, Up, render};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::{APPLICANT_COOKIE, Applicant, anon_csrf, anon_csrf_cookie, set_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_services::ServiceError;
use exitentry_services::pre_applications::{self as hrp, LANGS};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply", get(landing))
        .route("/apply/register", get(register_form).post(register))
        .route("/apply/verify", get(verify_form).post(verify))
        .route("/apply/login", get(login_form).post(login))
        .route("/apply/logout", post(logout))
}

/// Only the applicants' own pages after sign-in (no open redirect).
fn local_next(next: Option<&str>) -> String {
    super::common::next_within(next, "/apply/", "/apply/applications")
}

fn with_csrf(status: StatusCode, csrf: &str, body: Response) -> Response {
    (status, [(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
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
    CsrfForm(f, _): CsrfForm<RegisterForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let (status, error) = if s.login_throttle.check(ip).is_err() {
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
    register_page(lang, &uri, &csrf, f, status, error)
}

fn register_page(
    lang: Lang,
    uri: &OriginalUri,
    csrf: &str,
    f: RegisterForm,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let body = render(&Register {
        page: Page::new(lang, uri, None, "apply-register-title"),
        csrf: csrf.to_string(),
        email: f.email,
        lang_choice: f.lang,
        langs: LANGS,
        sent: error.is_none(),
        error,
    });
    with_csrf(status, csrf, body)
}

/// A wrong token: the form again with the error.
impl CsrfField for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let csrf = anon_csrf(&r.headers);
        let error = Some(r.lang.t("err-csrf"));
        register_page(r.lang, &r.uri, &csrf, self, StatusCode::FORBIDDEN, error)
    }
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
    CsrfForm(f, _): CsrfForm<VerifyForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    match hrp::verify_email(&s.app, &f.token, &f.password).await {
        Ok((token, _)) => (
            [(header::SET_COOKIE, session_cookie(&s, &token))],
            Redirect::to("/apply/applications"),
        )
            .into_response(),
        Err(e) => verify_failed(lang, &uri, &csrf, &f, e),
    }
}

/// The verification form again, with why it failed.
fn verify_failed(
    lang: Lang,
    uri: &OriginalUri,
    csrf: &str,
    f: &VerifyForm,
    e: ServiceError,
) -> Response {
    let body = render(&Verify {
        page: Page::new(lang, uri, None, "apply-verify-title"),
        csrf: csrf.to_string(),
        token: f
            .token
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(64)
            .collect(),
        valid: !matches!(e, ServiceError::Conflict { .. }),
        error: Some(message_for(&e, lang)),
    });
    with_csrf(status_for(&e), csrf, body)
}

/// A wrong token fails like any other refusal: the form again, 403.
impl CsrfField for VerifyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let csrf = anon_csrf(&r.headers);
        verify_failed(r.lang, &r.uri, &csrf, &self, ServiceError::Forbidden)
    }
}

/// A wrong token: the sign-in form again with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let csrf = anon_csrf(&r.headers);
        let body = render(&Login {
            page: Page::new(r.lang, &r.uri, None, "apply-login-title"),
            csrf: csrf.clone(),
            next: local_next(self.next.as_deref()),
            email: self.email,
            error: Some(r.lang.t("err-csrf")),
        });
        with_csrf(StatusCode::FORBIDDEN, &csrf, body)
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
    CsrfForm(f, _): CsrfForm<LoginForm>,
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
    if let Err(wait) = s.login_throttle.check(ip) {
        let res = again(StatusCode::TOO_MANY_REQUESTS, lang.t("err-rate_limited"));
        return super::common::retry_after(res, wait);
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
            let msg = super::common::sign_in_error(&e, lang, "err-bad_applicant_credentials");
            again(status_for(&e), msg)
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Applicant(_): Applicant,
    _: CsrfForm<CsrfOnly, Up>,
) -> Result<Response, PageError> {
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
