//! Applicants create their own sign-in: identity number and name as in the registry, a
//! mainland mobile number proved by an SMS code, a password. Then they can book.

use super::{Page, render};
use crate::AppState;
use crate::error::{message_for, status_for};
use crate::i18n::Lang;
use crate::session::{HOLDER_COOKIE, anon_csrf, anon_csrf_cookie, anon_csrf_ok, set_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{Form, OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exitentry_services::holders::{self, SignupInput};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/signup", get(form).post(start))
        .route("/my/signup/{id}", get(code_form).post(confirm))
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
    csrf: String,
    form: SignupForm,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "holder/signup_code.html")]
struct Code {
    page: Page,
    csrf: String,
    id: String,
    error: Option<String>,
}

fn respond(status: StatusCode, csrf: &str, body: Response) -> Response {
    (status, [(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
}

async fn form(lang: Lang, uri: OriginalUri, headers: HeaderMap) -> Response {
    let csrf = anon_csrf(&headers);
    let body = render(&Signup {
        page: Page::new(lang, &uri, None, "signup-title"),
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
    Form(mut f): Form<SignupForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let again = |status: StatusCode, msg: String, f: SignupForm| {
        let body = render(&Signup {
            page: Page::new(lang, &uri, None, "signup-title"),
            csrf: csrf.clone(),
            form: SignupForm {
                password: String::new(),
                ..f
            },
            error: Some(msg),
        });
        respond(status, &csrf, body)
    };
    if !anon_csrf_ok(&headers, &f.csrf) {
        return again(StatusCode::FORBIDDEN, lang.t("err-csrf"), f);
    }
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
        Ok(id) => Redirect::to(&format!("/my/signup/{id}")).into_response(),
        Err(e) => again(status_for(&e), message_for(&e, lang), f),
    }
}

async fn code_form(
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let body = render(&Code {
        page: Page::new(lang, &uri, None, "signup-title"),
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
    Form(f): Form<CodeForm>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let again = |status: StatusCode, msg: String| {
        let body = render(&Code {
            page: Page::new(lang, &uri, None, "signup-title"),
            csrf: csrf.clone(),
            id: id.clone(),
            error: Some(msg),
        });
        respond(status, &csrf, body)
    };
    if !anon_csrf_ok(&headers, &f.csrf) {
        return again(StatusCode::FORBIDDEN, lang.t("err-csrf"));
    }
    match holders::confirm_signup(&s.app, &id, &f.code).await {
        Ok((token, _)) => {
            let max_age = s.app.config.security.session_max_hours * 3600;
            let cookie = set_cookie(
                HOLDER_COOKIE,
                &token,
                Some(max_age),
                s.app.config.server.secure_cookies,
            );
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to("/my/appointments"),
            )
                .into_response()
        }
        Err(e) => again(status_for(&e), message_for(&e, lang)),
    }
}
