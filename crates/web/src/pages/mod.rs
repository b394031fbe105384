//! Server-rendered pages (askama). Every page gets a [`Page`] with the language, the
//! current path (for the language switch) and the signed-in staff member, if any.

pub mod apply;
mod appointments;
mod centre;
mod centre_admin;
mod counter_endorsements;
pub mod endorsements;
mod holder;
mod jobs;
mod kiosk;
mod linkage;
mod partners;
mod pre_applications;
mod public;
mod signup;
mod staff;
mod staff_permits;

use crate::AppState;
use crate::i18n::Lang;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Offset;
use exitentry_domain::office::{Office, Service};
use exitentry_services::auth::StaffSession;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lang", get(switch_language))
        .merge(public::routes())
        .merge(holder::routes())
        .merge(appointments::routes())
        .merge(signup::routes())
        .merge(endorsements::routes())
        .merge(centre::routes())
        .merge(centre_admin::routes())
        .merge(counter_endorsements::routes())
        .merge(apply::routes())
        .merge(pre_applications::routes())
        .merge(kiosk::routes())
        .merge(staff_permits::routes())
        .merge(linkage::routes())
        .merge(partners::routes())
        .merge(staff::routes())
        .merge(jobs::routes())
}

/// What every template needs.
pub struct Page {
    pub lang: Lang,
    pub path: String,
    pub staff: Option<StaffSession>,
    pub title: String,
}

pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub active: bool,
}

impl Page {
    pub fn new(
        lang: Lang,
        uri: &OriginalUri,
        staff: Option<StaffSession>,
        title_key: &str,
    ) -> Self {
        let path = uri
            .0
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Page {
            lang,
            path,
            staff,
            title: lang.t(title_key),
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn langs(&self) -> Vec<LangLink> {
        let next = crate::error::urlencoding_min(&self.path);
        Lang::ALL
            .into_iter()
            .map(|l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: format!("/lang?set={}&next={next}", l.code()),
                active: l == self.lang,
            })
            .collect()
    }

    /// A district or city name in the reader's language (English names are the keys).
    pub fn place(&self, name: &str) -> String {
        self.lang
            .try_t(&format!("place-{name}"))
            .unwrap_or_else(|| name.to_string())
    }

    pub fn office_name(&self, o: &Office) -> String {
        match self.lang {
            Lang::ZhHans => o.name_zh_hans.clone(),
            Lang::ZhHant => o.name_zh_hant.clone(),
            Lang::En => o.name_en.clone(),
        }
    }

    pub fn service(&self, s: &Service) -> String {
        self.t(&format!("service-{}", s.code()))
    }

    pub fn code(&self, prefix: &str, code: &str) -> String {
        self.t(&format!("{prefix}-{code}"))
    }

    pub fn csrf(&self) -> &str {
        self.staff
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or("")
    }

    pub fn can_view_temporary_permits(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::ViewTemporaryPermits)
        })
    }

    pub fn can_print_linkage_proofs(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::PrintLinkageProofs)
        })
    }

    pub fn can_serve_counter(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::ServeCounter)
        })
    }

    pub fn can_review_pre_applications(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::ReviewPreApplications)
        })
    }

    pub fn can_review_endorsements(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::ReviewEndorsements)
        })
    }

    pub fn can_process(&self) -> bool {
        self.staff.as_ref().is_some_and(|s| {
            s.role
                .can(exitentry_domain::staff::Permission::ProcessApplications)
        })
    }

    pub fn is_admin(&self) -> bool {
        self.staff
            .as_ref()
            .is_some_and(|s| s.role.can(exitentry_domain::staff::Permission::ManageStaff))
    }
}

/// The message for a failed sign-in: a lock with the time it ends, wrong credentials in the
/// words of that kind of account (`bad_credentials` is its message key), anything else as
/// usual.
pub fn sign_in_error(
    e: &exitentry_services::ServiceError,
    lang: Lang,
    bad_credentials: &str,
) -> String {
    use exitentry_services::ServiceError;
    match e {
        ServiceError::Locked { until } => lang.t_args(
            "err-account_locked_until",
            &[("time", beijing(*until, "%H:%M"))],
        ),
        ServiceError::BadCredentials => lang.t(bad_credentials),
        other => crate::error::message_for(other, lang),
    }
}

/// A staff form's permission, and its CSRF token when given: both checked before anything
/// else, in every officer's page.
pub(crate) fn check(
    staff: &exitentry_services::auth::StaffSession,
    lang: Lang,
    path: &str,
    p: exitentry_domain::staff::Permission,
    csrf: Option<&str>,
) -> Result<(), crate::error::PageError> {
    use crate::error::PageError;
    staff.require(p).map_err(PageError::at(lang, path))?;
    if let Some(c) = csrf
        && !crate::session::csrf_ok(&staff.csrf_token, c)
    {
        return Err(PageError::at(lang, path)(
            exitentry_services::ServiceError::Forbidden,
        ));
    }
    Ok(())
}

/// Reads a face-photo form (multipart): the CSRF token and the photo; `Err` when the body
/// cannot be read (too large).
pub(crate) async fn read_photo_form(
    mut m: axum::extract::Multipart,
) -> Result<(String, Vec<u8>), ()> {
    let (mut csrf, mut photo) = (String::new(), Vec::new());
    while let Ok(Some(field)) = m.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| ())?,
            Some("photo") => photo = field.bytes().await.map_err(|_| ())?.to_vec(),
            _ => {}
        }
    }
    Ok((csrf, photo))
}

/// Adds `Retry-After` (whole seconds, at least one) to a page refused by a rate limit.
pub fn retry_after(mut res: Response, wait: std::time::Duration) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A form that only carries its CSRF token (sign-out, claim, and other one-button posts).
#[derive(Deserialize, Default)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `?next=` on a sign-in page: where to go afterwards.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Where to go after signing in: `next` when it is a path within `area`, else `home`. Never
/// another site (`//host`, backslashes), so sign-in cannot be used as an open redirect.
pub fn next_within(next: Option<&str>, area: &str, home: &str) -> String {
    next.filter(|n| is_local_path(n) && n.starts_with(area))
        .unwrap_or(home)
        .to_string()
}

/// A path on this site that every browser reads the same way: starts with one `/`, no `//`
/// anywhere, no backslash and no control character (browsers drop tabs and newlines, so
/// `/<TAB>/evil.com` would become `//evil.com`, another site).
pub fn is_local_path(n: &str) -> bool {
    n.starts_with('/') && !n.contains("//") && !n.chars().any(|c| c == '\\' || c.is_control())
}

/// A UTC instant shown in Beijing time (the offices' time zone).
pub fn beijing(t: chrono::DateTime<chrono::Utc>, fmt: &str) -> String {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Utc.fix());
    t.with_timezone(&cst).format(fmt).to_string()
}

/// A stored timestamp (microseconds) in Beijing time, to the second.
pub fn when_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| beijing(t, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_default()
}

/// A page's status and the error it shows: OK and none, or the failed action's status and
/// message.
pub fn status_and_error(error: Option<(StatusCode, String)>) -> (StatusCode, Option<String>) {
    match error {
        Some((st, m)) => (st, Some(m)),
        None => (StatusCode::OK, None),
    }
}

/// Renders a template, turning a rendering failure into a plain 500.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    message: String,
}

/// What an error page should say; [`render_error_pages`] renders it with the header of the
/// signed-in staff member (handlers that fail do not always know who that is).
#[derive(Clone)]
struct ErrorPageRequest {
    lang: Lang,
    path: String,
    message: String,
}

pub fn render_error_page(lang: Lang, path: &str, status: StatusCode, message: &str) -> Response {
    let mut res = status.into_response();
    res.extensions_mut().insert(ErrorPageRequest {
        lang,
        path: path.to_string(),
        message: message.to_string(),
    });
    res
}

/// Middleware that turns [`render_error_page`] markers into full pages.
pub async fn render_error_pages(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let token =
        crate::i18n::cookie_in(req.headers(), crate::session::SESSION_COOKIE).map(str::to_string);
    let lang = Lang::from_headers(req.headers());
    let path = req.uri().path().to_string();
    let res = crate::error::framework_rejection(next.run(req).await, lang, &path);
    let Some(e) = res.extensions().get::<ErrorPageRequest>().cloned() else {
        return res;
    };
    let staff = match token {
        Some(t) => exitentry_services::auth::session(&s.app, &t)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let status = res.status();
    let page = Page {
        lang: e.lang,
        title: e.lang.t("error-title"),
        path: e.path,
        staff,
    };
    let mut out = render(&ErrorPage {
        page,
        status: status.as_u16(),
        message: e.message,
    });
    *out.status_mut() = status;
    out
}

/// Unknown paths: JSON under `/api/`, a page elsewhere.
pub async fn not_found(lang: Lang, uri: OriginalUri) -> Response {
    let path = uri.0.path().to_string();
    if path.starts_with("/api/") {
        return crate::error::ApiError::new(
            exitentry_services::ServiceError::NotFound("endpoint"),
            lang,
        )
        .into_response();
    }
    render_error_page(lang, &path, StatusCode::NOT_FOUND, &lang.t("err-not_found"))
}

#[derive(Deserialize)]
struct LangQuery {
    set: String,
    next: Option<String>,
}

/// Stores the chosen language in a cookie and returns to the page.
async fn switch_language(Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::from_tag(&q.set).unwrap_or(Lang::ZhHans);
    // Only local paths: an open redirect would let others phish through our domain.
    let next = next_within(q.next.as_deref(), "/", "/");
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        crate::i18n::LANG_COOKIE,
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}
