//! Forms whose CSRF token is checked before the handler runs, so that no handler can forget
//! it: [`CsrfForm`] (urlencoded) and [`CsrfMultipart`] (uploads). This is the only place that
//! compares CSRF tokens; the permission a staff page needs is checked by `super::staff`.
//!
//! The token a form must echo is the signed-in session's: the session extractors
//! (`session::{Staff, Holder, Applicant}`, which run before any form is read) leave it in
//! the request as `ExpectedCsrf`. Forms of visitors who are not signed in echo the
//! anonymous double-submit cookie instead.
//!
//! A refused request gets a 403 error page for the page named by the handler's [`Back`]
//! (the page the form was on, so the language switch of the error page leads somewhere that
//! answers GET), or, for forms that redraw themselves (sign-in, registration), the form
//! again with the error ([`CsrfField::refused`]).

use super::context::Cx;
use crate::AppState;
use crate::i18n::cookie_in;
use crate::render::Failed;
use crate::session::{ExpectedCsrf, LOGIN_CSRF_COOKIE};
use axum::extract::{Form, FromRequest, FromRequestParts, Multipart, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use exitentry_services::ServiceError;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// Compares a submitted CSRF token with the expected one in constant time.
fn csrf_ok(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && exitentry_services::tokens::constant_time_eq(expected, submitted)
}

/// The token this request's form must echo: the session's, else the anonymous cookie's.
fn expected_csrf(parts: &Parts) -> String {
    match parts.extensions.get::<ExpectedCsrf>() {
        Some(ExpectedCsrf(t)) => t.clone(),
        None => cookie_in(&parts.headers, LOGIN_CSRF_COOKIE)
            .unwrap_or("")
            .to_string(),
    }
}

/// The page a refused request is answered for (its error page's language switch leads
/// there): given the request path.
pub trait Back {
    fn path(request_path: &str) -> String;
}

/// The page the request was for.
pub struct Here;

impl Back for Here {
    fn path(request_path: &str) -> String {
        request_path.to_string()
    }
}

/// The page one level up: `/a/{id}/pay` answers for `/a/{id}`.
pub struct Up;

impl Back for Up {
    fn path(request_path: &str) -> String {
        match request_path.rsplit_once('/') {
            Some((up, _)) if !up.is_empty() => up.to_string(),
            _ => "/".to_string(),
        }
    }
}

/// A [`Back`] that is always the same page: `back!(Appointments = "/my/appointments");`.
macro_rules! back {
    ($($name:ident = $path:expr),* $(,)?) => {
        $(
            pub struct $name;
            impl $crate::extract::forms::Back for $name {
                fn path(_: &str) -> String {
                    $path.to_string()
                }
            }
        )*
    };
}
pub(crate) use back;

/// What a refused form is answered with: the request and the page it answers for.
pub struct Refusal {
    pub cx: Cx,
    pub headers: HeaderMap,
    /// The page the refusal answers for (see [`Back`]).
    pub back: String,
    /// The path's parameters (`{id}`), decoded.
    pub params: Vec<(String, String)>,
}

impl Refusal {
    /// A path parameter, empty when absent.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The context for drawing the form again with the refusal (403).
    pub fn again(&self) -> Cx {
        let refused = Failed::key(StatusCode::FORBIDDEN, "err-csrf");
        self.cx.after(Err(refused))
    }

    /// The 403 error page.
    pub fn forbidden(&self) -> Response {
        self.cx.fail(&self.back)(ServiceError::Forbidden).into_response()
    }
}

/// A form with a CSRF token.
pub trait CsrfField {
    fn csrf(&self) -> &str;

    /// The answer when the token is wrong: the 403 error page, unless the form redraws
    /// itself.
    fn refused(self, r: Refusal) -> Response
    where
        Self: Sized,
    {
        r.forbidden()
    }
}

/// `CsrfField` for forms whose token is their `csrf` field: `csrf_field!(BookForm, …);`.
macro_rules! csrf_field {
    ($($t:ty),* $(,)?) => {
        $(
            impl $crate::extract::forms::CsrfField for $t {
                fn csrf(&self) -> &str {
                    &self.csrf
                }
            }
        )*
    };
}
pub(crate) use csrf_field;

/// A posted form: its `csrf` token and the fields listed, each its default when absent:
/// `form_fields!(KeyForm { key_id: String });`.
macro_rules! form_fields {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident: $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct $name {
            csrf: String,
            $($(#[$fm])* $field: $t,)*
        }
    };
}
pub(crate) use form_fields;

/// An urlencoded form whose CSRF token was checked before the handler runs; `B` names the
/// page a refusal answers for.
pub struct CsrfForm<T, B = Here>(pub T, pub PhantomData<B>);

impl<T, B> FromRequest<AppState> for CsrfForm<T, B>
where
    T: DeserializeOwned + CsrfField + Send,
    B: Back + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (req, expected, refusal) = refusal_for::<B>(req, state).await;
        let Form(f) = Form::<T>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if csrf_ok(&expected, f.csrf()) {
            Ok(CsrfForm(f, PhantomData))
        } else {
            Err(f.refused(refusal))
        }
    }
}

/// What a refused form is answered with, and the token it must echo, read before the body.
async fn refusal_for<B: Back>(req: Request, state: &AppState) -> (Request, String, Refusal) {
    let (mut parts, body) = req.into_parts();
    let params = match RawPathParams::from_request_parts(&mut parts, state).await {
        Ok(p) => p
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let cx = Cx::of(&parts, state);
    let refusal = Refusal {
        back: B::path(cx.path()),
        cx,
        headers: parts.headers.clone(),
        params,
    };
    let expected = expected_csrf(&parts);
    (Request::from_parts(parts, body), expected, refusal)
}

/// One part of a multipart form.
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// A multipart form (uploads) read whole, its `csrf` part checked before the handler runs.
pub struct CsrfMultipart<B = Here> {
    parts: Vec<Part>,
    /// A part could not be read (over the body limit): the parts before it are here.
    pub part_failed: bool,
    /// The form ended early (a malformed or cut body).
    pub stream_failed: bool,
    _back: PhantomData<B>,
}

impl<B> CsrfMultipart<B> {
    /// The last part of that name.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().rev().find(|p| p.name == name)
    }

    /// A text part, empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.part(name)
            .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
            .unwrap_or_default()
    }

    /// A file part's bytes, empty when absent.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        self.part(name).map(|p| p.bytes.clone()).unwrap_or_default()
    }
}

/// Why a multipart form was not handed to the handler.
pub enum MultipartRefused {
    /// The body is not a multipart form.
    NotMultipart(axum::extract::multipart::MultipartRejection),
    /// The CSRF token was wrong: the answer to give.
    Csrf(Response),
}

impl IntoResponse for MultipartRefused {
    fn into_response(self) -> Response {
        match self {
            MultipartRefused::NotMultipart(r) => r.into_response(),
            MultipartRefused::Csrf(r) => r,
        }
    }
}

/// How a multipart form with a wrong token is answered (the default: the 403 error page).
pub trait MultipartBack: Back {
    fn refused(form: &CsrfMultipart<Self>, r: Refusal) -> Response
    where
        Self: Sized,
    {
        let _ = form;
        r.forbidden()
    }
}

impl MultipartBack for Here {}
impl MultipartBack for Up {}

impl<B> FromRequest<AppState> for CsrfMultipart<B>
where
    B: MultipartBack + Send,
{
    type Rejection = MultipartRefused;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (req, expected, refusal) = refusal_for::<B>(req, state).await;
        let mut m = Multipart::from_request(req, state)
            .await
            .map_err(MultipartRefused::NotMultipart)?;
        let mut form = CsrfMultipart {
            parts: Vec::new(),
            part_failed: false,
            stream_failed: false,
            _back: PhantomData,
        };
        loop {
            match m.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let file_name = field.file_name().map(str::to_string);
                    match field.bytes().await {
                        Ok(b) => form.parts.push(Part {
                            name,
                            file_name,
                            bytes: b.to_vec(),
                        }),
                        Err(_) => {
                            // Kept without its bytes, as a handler reading it would see it.
                            form.parts.push(Part {
                                name,
                                file_name,
                                bytes: Vec::new(),
                            });
                            form.part_failed = true;
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    form.stream_failed = true;
                    break;
                }
            }
        }
        if csrf_ok(&expected, &form.text("csrf")) {
            Ok(form)
        } else {
            Err(MultipartRefused::Csrf(B::refused(&form, refusal)))
        }
    }
}

/// A form read as its name/value pairs in order (repeated names: checklists).
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    /// The first value of that name, empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of that name, in order (the ticked boxes of a checklist).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl CsrfField for Pairs {
    fn csrf(&self) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}
