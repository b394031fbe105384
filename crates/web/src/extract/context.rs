//! What every page handler works with, taken as one extractor: the application, the
//! reader's language and the address asked for (the page's language switch and its error
//! page need it). A page drawn again after an action also carries what the action did
//! (`Cx::after`), so page helpers take only `&Cx` and what the page is about.

use super::flash::{DrawnAt, Flash, Said};
use crate::AppState;
use crate::error::{ApiError, PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::render::{Failed, Outcome, Page, path_and_query, render};
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
    /// Whether the request is a POST (its page is answered with a redirect to `here`).
    posted: bool,
    /// What a failed form left for this page (its input, see `kept`).
    flash: Option<std::sync::Arc<Flash>>,
    /// What the action made, for the page it redirects to (see `showing`).
    made: Option<serde_json::Value>,
    /// Whether the page was placed at another address than the one asked for (`at`).
    moved: bool,
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
        let lang = match uri.0.path().starts_with("/api/") {
            true => Lang::for_api(&parts.headers),
            false => Lang::from_headers(&parts.headers),
        };
        let posted = parts.method == axum::http::Method::POST;
        let flash = match posted {
            true => None,
            false => Flash::for_request(&parts.headers, &path_and_query(&uri), s),
        };
        // The page a form was redirected to shows what the form said (answered 200: the
        // page itself is fine, a reload must not look like a failure).
        let outcome = flash.as_ref().and_then(|f| match (&f.error, &f.notice) {
            (Some(said), _) => Some(Err(Failed {
                status: StatusCode::OK,
                said: said.clone(),
                field: f.field.clone(),
            })),
            (None, Some(n)) => Some(Ok(n.clone())),
            (None, None) => None,
        });
        Cx {
            s: s.clone(),
            lang,
            uri,
            outcome,
            posted,
            flash: flash.map(std::sync::Arc::new),
            made: None,
            moved: false,
        }
    }

    /// The same request drawn at `path` unless a handler already placed it (a form's page
    /// drawn again goes out at its own GET address).
    pub fn at_unless_moved(&self, path: &str) -> Cx {
        match self.moved {
            true => self.clone(),
            false => self.at(path),
        }
    }

    /// The same request carrying what its action made to the page it redirects to (read
    /// there with `made`).
    pub fn showing<T: serde::Serialize>(&self, made: &T) -> Cx {
        Cx {
            made: serde_json::to_value(made).ok(),
            ..self.clone()
        }
    }

    /// What the action that redirected here made (see `showing`).
    pub fn made<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        let data = self.flash.as_ref()?.data.clone()?;
        serde_json::from_value(data).ok()
    }

    /// The form a failed POST left for this page, read as `T` (none on a plain visit).
    pub fn kept<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.flash.as_ref().and_then(|f| f.form())
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
            Some(Err(f)) => {
                page.error = Some(f.said.text(self.lang).to_string());
                page.error_field = f.field.clone();
            }
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
    pub fn or_failed(&self, error: Option<Failed>) -> Cx {
        match (&self.outcome, error) {
            (None, Some(e)) => self.after(Err(e)),
            _ => self.clone(),
        }
    }

    /// Renders the page, answered with the failed action's status (else 200). Drawn in
    /// answer to a POST, it goes out as a redirect to its own address (`here`), with what
    /// the action said (see `flash::post_redirect_get`).
    pub fn render(&self, t: &impl Template) -> Response {
        let status = match &self.outcome {
            Some(Err(f)) => f.status,
            _ => StatusCode::OK,
        };
        let mut res = (status, render(t)).into_response();
        if self.posted {
            let (notice, error, field) = match &self.outcome {
                Some(Ok(n)) => (Some(n.clone()), None, None),
                Some(Err(f)) => (None, Some(f.said.clone()), f.field.clone()),
                None => (None, None, None),
            };
            res.extensions_mut().insert(DrawnAt(Flash {
                path: self.here(),
                notice,
                error,
                field,
                kept: Vec::new(),
                data: self.made.clone(),
            }));
        }
        res
    }

    /// A POST's answer when the page that shows why it failed is another one: a redirect to
    /// `to` (its GET address, `#anchor` allowed), carrying the error, what the action made
    /// (`showing`) and what was typed in the flash cookie, as a page drawn there would
    /// (see `flash::post_redirect_get`); nothing is drawn here.
    pub fn failed_to(&self, to: &str, failed: Failed) -> Response {
        let mut res = axum::response::Redirect::to(to).into_response();
        if self.posted {
            let path = to.split('#').next().unwrap_or(to).to_string();
            res.extensions_mut().insert(DrawnAt(Flash {
                path,
                notice: None,
                error: Some(failed.said),
                field: failed.field,
                kept: Vec::new(),
                data: self.made.clone(),
            }));
        }
        res
    }

    /// For `map_err`: a service error as the API answers it.
    pub fn api_err(&self) -> impl Fn(ServiceError) -> ApiError + use<> {
        let lang = self.lang;
        move |e| ApiError::new(e, lang)
    }

    /// For `map_err`: a service error as the API answers a relying party.
    pub fn partner_err(&self) -> impl Fn(ServiceError) -> ApiError + use<> {
        let lang = self.lang;
        move |e| ApiError::for_partner(e, lang)
    }

    /// For `map_err`: a service error on the page at `path`.
    pub fn fail<'a>(&self, path: &'a str) -> impl Fn(ServiceError) -> PageError + 'a {
        PageError::at(self.lang, path)
    }

    /// A failed action's message in the reader's language.
    pub fn message(&self, e: &ServiceError) -> String {
        message_for(e, self.lang)
    }

    /// A failed action's status, message and field, for the page that shows it.
    pub fn shown(&self, e: &ServiceError) -> Failed {
        let field = match e {
            ServiceError::Invalid { field, .. } => Some(field.to_string()),
            _ => None,
        };
        Failed {
            status: status_for(e),
            said: Said::with(|l| message_for(e, l)),
            field,
        }
    }

    /// A failed action's error for the form it came from: its status and message when
    /// `shown` says the form shows it, else the error page for `path`.
    pub fn shown_or_fail(
        &self,
        e: ServiceError,
        shown: impl FnOnce(&ServiceError) -> bool,
        path: &str,
    ) -> Result<Failed, PageError> {
        if shown(&e) {
            Ok(self.shown(&e))
        } else {
            Err(self.fail(path)(e))
        }
    }

    /// The same request answered as the page at `path` (an action's answer drawn as the
    /// list it acts on).
    pub fn at(&self, path: &str) -> Cx {
        let uri = axum::http::Uri::try_from(path).unwrap_or_else(|_| self.uri.0.clone());
        Cx {
            uri: OriginalUri(uri),
            moved: true,
            ..self.clone()
        }
    }
}
