//! What every page handler works with, taken as one extractor: the application, the
//! reader's language and the address asked for (the page's language switch and its error
//! page need it). A page drawn again after an action also carries what the action did
//! (`Cx::after`), so page helpers take only `&Cx` and what the page is about.

use crate::AppState;
use crate::error::{ApiError, PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::render::{Outcome, Page, path_and_query, render};
use askama::Template;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use exitentry_services::auth::StaffSession;
use exitentry_services::{App, ServiceError};

#[derive(Clone)]
pub struct Cx {
    pub s: AppState,
    pub lang: Lang,
    pub uri: OriginalUri,
    /// What the action that led to the page did (none on a plain visit).
    pub outcome: Option<Outcome>,
}

impl FromRequestParts<AppState> for Cx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Cx::of(parts, s))
    }
}

impl Cx {
    /// The request's context (the address as the router was asked for it).
    pub fn of(parts: &Parts, s: &AppState) -> Cx {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .cloned()
            .unwrap_or_else(|| OriginalUri(parts.uri.clone()));
        Cx {
            s: s.clone(),
            lang: Lang::from_headers(&parts.headers),
            uri,
            outcome: None,
        }
    }

    pub fn app(&self) -> &App {
        &self.s.app
    }

    /// The path asked for, without its query.
    pub fn path(&self) -> &str {
        self.uri.0.path()
    }

    /// The address asked for, with its query.
    pub fn here(&self) -> String {
        path_and_query(&self.uri)
    }

    /// The page as shown to `staff` (or to a visitor), titled by `title_key`, with what the
    /// action that led to it did.
    pub fn page(&self, staff: Option<StaffSession>, title_key: &str) -> Page {
        let mut page = Page::new(self.lang, &self.uri, staff, title_key);
        match &self.outcome {
            Some(Ok(notice)) => page.notice = Some(notice.clone()),
            Some(Err((_, error))) => page.error = Some(error.clone()),
            None => {}
        }
        page
    }

    /// The same request showing what an action did.
    pub fn after(&self, outcome: Outcome) -> Cx {
        Cx {
            outcome: Some(outcome),
            ..self.clone()
        }
    }

    /// The same request showing why an action failed, unless it already shows something.
    pub fn or_failed(&self, error: Option<(StatusCode, String)>) -> Cx {
        match (&self.outcome, error) {
            (None, Some(e)) => self.after(Err(e)),
            _ => self.clone(),
        }
    }

    /// Renders the page, answered with the failed action's status (else 200).
    pub fn render(&self, t: &impl Template) -> Response {
        let status = match &self.outcome {
            Some(Err((status, _))) => *status,
            _ => StatusCode::OK,
        };
        (status, render(t)).into_response()
    }

    /// For `map_err`: a service error as the API answers it.
    pub fn api_err(&self) -> impl Fn(ServiceError) -> ApiError + use<> {
        let lang = self.lang;
        move |e| ApiError::new(e, lang)
    }

    /// For `map_err`: a service error on the page at `path`.
    pub fn fail<'a>(&self, path: &'a str) -> impl Fn(ServiceError) -> PageError + 'a {
        PageError::at(self.lang, path)
    }

    /// A failed action's status and message, for the page that shows it.
    pub fn shown(&self, e: &ServiceError) -> (StatusCode, String) {
        (status_for(e), message_for(e, self.lang))
    }

    /// A failed action's error for the form it came from: its status and message when
    /// `shown` says the form shows it, else the error page for `path`.
    pub fn shown_or_fail(
        &self,
        e: ServiceError,
        shown: impl FnOnce(&ServiceError) -> bool,
        path: &str,
    ) -> Result<(StatusCode, String), PageError> {
        if shown(&e) {
            Ok(self.shown(&e))
        } else {
            Err(self.fail(path)(e))
        }
    }

    /// The same request answered as the page at `path` (an action's answer drawn as the
    /// list it acts on).
    pub fn at(&self, path: &'static str) -> Cx {
        Cx {
            uri: OriginalUri(axum::http::Uri::from_static(path)),
            ..self.clone()
        }
    }
}
