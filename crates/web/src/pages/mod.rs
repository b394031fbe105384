//! Server-rendered pages (askama). Every page gets a `Page` (in `crate::render`) with the
//! language, the current path (for the language switch) and the signed-in staff member, if
//! any. Page modules share helpers through `common` and never import from each other.

pub mod apply;
mod apply_account;
mod apply_booking;
mod appointments;
mod centre;
mod centre_admin;
mod common;
mod counter_endorsements;
pub mod endorsements;
mod holder;
mod jobs;
mod kiosk;
mod linkage;
mod my_records;
mod partners;
mod pre_applications;
mod public;
mod signup;
mod staff;
mod staff_permits;
mod verifier;

use crate::AppState;
use crate::i18n::Lang;
use crate::render::{ErrorPageRequest, Page, page_template, render, render_error_page};
use axum::Router;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use common::next_within;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lang", get(switch_language))
        .merge(public::routes())
        .merge(holder::routes())
        .merge(my_records::routes())
        .merge(appointments::routes())
        .merge(signup::routes())
        .merge(endorsements::routes())
        .merge(centre::routes())
        .merge(centre_admin::routes())
        .merge(counter_endorsements::routes())
        .merge(apply::routes())
        .merge(apply_booking::routes())
        .merge(apply_account::routes())
        .merge(pre_applications::routes())
        .merge(kiosk::routes())
        .merge(staff_permits::routes())
        .merge(linkage::routes())
        .merge(partners::routes())
        .merge(staff::routes())
        .merge(jobs::routes())
        .merge(verifier::routes())
}

page_template! {
    ErrorPage = "error.html" {
        status: u16,
        message: String,
    }
}

/// Middleware that turns `render_error_page` markers into full pages.
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
        notice: None,
        error: None,
        error_field: None,
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
