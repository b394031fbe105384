//! The applicants' accounts for the online pre-application (under `/apply`): the landing
//! page, registration by email, the verification link that sets the password, sign-in and
//! sign-out.

use super::common::{
    CsrfField, CsrfForm, CsrfOnly, Cx, Failed, NextQuery, Refusal, SignIn, Up, form_fields,
    page_template, render, with_anon_csrf,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::{APPLICANT_COOKIE, Applicant, anon_csrf, set_cookie};
use crate::throttle::ClientIp;
use axum::Router;
use axum::extract::Query;
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

// ---- account ----

page_template! {
    Landing = "apply/landing.html" {}
}

async fn landing(cx: Cx) -> Response {
    render(&Landing {
        page: cx.page(None, "apply-title"),
    })
}

page_template! {
    Register = "apply/register.html" {
        csrf: String,
        email: String,
        lang_choice: String,
        langs: [&'static str; 3],
        sent: bool,
    }
}

/// The registration form; once sent without an error, it says to check the mailbox.
fn register_page(cx: &Cx, csrf: &str, f: RegisterForm) -> Response {
    let page = Register {
        page: cx.page(None, "apply-register-title"),
        csrf: csrf.to_string(),
        email: f.email,
        lang_choice: f.lang,
        langs: LANGS,
        sent: matches!(cx.outcome, Some(Ok(_))),
    };
    with_anon_csrf(csrf, cx.render(&page))
}

async fn register_form(cx: Cx, headers: HeaderMap) -> Response {
    let f = RegisterForm {
        lang: cx.lang.code().to_string(),
        ..Default::default()
    };
    register_page(&cx, &anon_csrf(&headers), f)
}

form_fields!(RegisterForm {
    email: String,
    lang: String,
});

async fn register(
    cx: Cx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<RegisterForm>,
) -> Response {
    let outcome = if cx.s.login_throttle.check(ip).await.is_err() {
        // Registering sends email: limited per client like signing in.
        Err(Failed::key(
            StatusCode::TOO_MANY_REQUESTS,
            "err-rate_limited",
        ))
    } else {
        match hrp::register(cx.app(), &f.email, &f.lang).await {
            Ok(()) => Ok(String::new()),
            Err(e) => Err(cx.shown(&e)),
        }
    };
    register_page(&cx.after(outcome), &anon_csrf(&headers), f)
}

/// A wrong token: the form again with the error.
impl CsrfField for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        register_page(&r.again(), &anon_csrf(&r.headers), self)
    }
}

#[derive(Deserialize, Default)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

page_template! {
    Verify = "apply/verify.html" {
        csrf: String,
        token: String,
        valid: bool,
    }
}

/// The verification form: the link's token (only what a token can hold) and whether it
/// still works.
fn verify_page(cx: &Cx, csrf: &str, token: &str, valid: bool) -> Response {
    let page = Verify {
        page: cx.page(None, "apply-verify-title"),
        csrf: csrf.to_string(),
        token: token
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(64)
            .collect(),
        valid,
    };
    with_anon_csrf(csrf, cx.render(&page))
}

/// The emailed link: choose the password (the link proves the mailbox is yours).
async fn verify_form(cx: Cx, headers: HeaderMap, Query(q): Query<TokenQuery>) -> PageResult {
    let valid = hrp::link_valid(cx.app(), &q.token)
        .await
        .map_err(cx.fail("/apply"))?;
    Ok(verify_page(&cx, &anon_csrf(&headers), &q.token, valid))
}

form_fields!(VerifyForm {
    token: String,
    password: String,
});

async fn verify(cx: Cx, headers: HeaderMap, CsrfForm(f, _): CsrfForm<VerifyForm>) -> Response {
    match hrp::verify_email(cx.app(), &f.token, &f.password).await {
        Ok((token, _)) => (
            [(header::SET_COOKIE, session_cookie(&cx, &token))],
            Redirect::to("/apply/applications"),
        )
            .into_response(),
        Err(e) => verify_failed(&cx, &anon_csrf(&headers), &f, e),
    }
}

fn session_cookie(cx: &Cx, token: &str) -> String {
    let config = &cx.app().config;
    set_cookie(
        APPLICANT_COOKIE,
        token,
        Some(config.security.session_max_hours * 3600),
        config.server.secure_cookies,
    )
}

/// The verification form again, with why it failed (a used or expired link cannot be
/// tried again).
fn verify_failed(cx: &Cx, csrf: &str, f: &VerifyForm, e: ServiceError) -> Response {
    let valid = !matches!(e, ServiceError::Conflict { .. });
    verify_page(&cx.after(Err(cx.shown(&e))), csrf, &f.token, valid)
}

/// A wrong token fails like any other refusal: the form again, 403.
impl CsrfField for VerifyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        verify_failed(
            &r.cx,
            &anon_csrf(&r.headers),
            &self,
            ServiceError::Forbidden,
        )
    }
}

/// A wrong token: the sign-in form again with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let next = SignIn::APPLICANT.next(self.next.as_deref());
        login_page(&r.again(), &anon_csrf(&r.headers), next, self.email)
    }
}

page_template! {
    Login = "apply/login.html" {
        csrf: String,
        next: String,
        email: String,
    }
}

fn login_page(cx: &Cx, csrf: &str, next: String, email: String) -> Response {
    let page = Login {
        page: cx.page(None, "apply-login-title"),
        csrf: csrf.to_string(),
        next,
        email,
    };
    with_anon_csrf(csrf, cx.render(&page))
}

async fn login_form(cx: Cx, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = SignIn::APPLICANT.next(q.next.as_deref());
    login_page(&cx, &anon_csrf(&headers), next, String::new())
}

form_fields!(LoginForm {
    email: String,
    password: String,
    next: Option<String>,
});

async fn login(
    cx: Cx,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let next = SignIn::APPLICANT.next(f.next.as_deref());
    let csrf = anon_csrf(&headers);
    let again = |cx: &Cx| login_page(cx, &csrf, next.clone(), f.email.clone());
    let device = SignIn::APPLICANT.device(&headers);
    let login = hrp::login_from(cx.app(), &f.email, &f.password, device);
    SignIn::APPLICANT.run(&cx, ip, &next, login, again).await
}

async fn logout(
    cx: Cx,
    headers: HeaderMap,
    Applicant(_): Applicant,
    _: CsrfForm<CsrfOnly, Up>,
) -> Response {
    let end = async |token: &str| hrp::logout(cx.app(), token).await;
    SignIn::APPLICANT.sign_out(&headers, end, "/apply").await
}
