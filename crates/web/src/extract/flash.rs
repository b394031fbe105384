//! Post/redirect/get for every form. A page drawn in answer to a POST is never sent as
//! the answer: `post_redirect_get` turns it into a 303 to the page's own GET address, with
//! what the action said and what was typed (minus passwords and codes) in a signed cookie.
//! The GET reads it back (`Cx::kept`) and draws the same page, so a reload or a language
//! switch shows the page again with the input kept instead of "HTTP ERROR 405".
//!
//! The cookie lives until the person opens another page or a form succeeds (a redirect),
//! so reloading and switching language keep it.

use crate::AppState;
use crate::i18n::{Lang, cookie_in};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const FLASH_COOKIE: &str = "ee_flash";

/// Fields never written to the cookie: the person types them again.
const SECRET_FIELDS: [&str; 7] = [
    "csrf",
    "password",
    "new_password",
    "current_password",
    "code",
    "token",
    "photo",
];

/// Browsers keep cookies up to 4096 bytes; what does not fit is typed again.
const MAX_COOKIE: usize = 3800;

/// A message in the three languages, so that a language switch shows it in the new one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Said([String; 3]);

impl Said {
    /// The message as `text` gives it in each language.
    pub fn with(text: impl Fn(Lang) -> String) -> Said {
        Said([text(Lang::En), text(Lang::ZhHans), text(Lang::ZhHant)])
    }

    /// The translation of `key`.
    pub fn key(key: &str) -> Said {
        Said::with(|l| l.t(key))
    }

    pub fn text(&self, lang: Lang) -> &str {
        let i = match lang {
            Lang::En => 0,
            Lang::ZhHans => 1,
            Lang::ZhHant => 2,
        };
        &self.0[i]
    }
}

/// What a form's action left for the page that shows it next.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flash {
    /// The page (path and query) it is for.
    #[serde(rename = "p")]
    pub path: String,
    #[serde(rename = "n", default)]
    pub notice: Option<String>,
    #[serde(rename = "e", default)]
    pub error: Option<Said>,
    /// The field the error is about (the error summary links to it).
    #[serde(rename = "f", default)]
    pub field: Option<String>,
    /// The form as it was posted.
    #[serde(rename = "k", default)]
    pub kept: Vec<(String, String)>,
    /// What the action made, shown by the page it leads to (what a kiosk handed out).
    #[serde(rename = "d", default)]
    pub data: Option<serde_json::Value>,
}

/// What `Cx::render` tells the middleware about a page drawn in answer to a POST.
#[derive(Clone)]
pub struct DrawnAt(pub Flash);

fn key(s: &AppState) -> ring::hmac::Key {
    // A key of its own, derived from the configured secret (the log hashes use the secret).
    let root = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        s.app.config.security.log_hash_secret.expose().as_bytes(),
    );
    let derived = ring::hmac::sign(&root, b"exitentry flash cookie");
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Flash {
    /// The cookie value: the JSON and its MAC, both base64url.
    fn seal(&self, s: &AppState) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let tag = ring::hmac::sign(&key(s), &json);
        format!("{}.{}", b64().encode(&json), b64().encode(tag.as_ref()))
    }

    fn open(value: &str, s: &AppState) -> Option<Flash> {
        let (body, tag) = value.split_once('.')?;
        let json = b64().decode(body).ok()?;
        let tag = b64().decode(tag).ok()?;
        ring::hmac::verify(&key(s), &json, &tag).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The flash the request carries for its own address (none for other pages).
    pub fn for_request(headers: &axum::http::HeaderMap, here: &str, s: &AppState) -> Option<Flash> {
        let value = cookie_in(headers, FLASH_COOKIE)?;
        Flash::open(value, s).filter(|f| f.path == here)
    }

    /// The kept form read as `T` (the form's own struct).
    pub fn form<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        let encoded = serde_urlencoded::to_string(&self.kept).ok()?;
        serde_urlencoded::from_str(&encoded).ok()
    }
}

fn cookie(value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// Pages only: the API, the assets and the payment sandbox answer as they always did.
fn is_page(path: &str) -> bool {
    !["/api/", "/assets/", "/dev/"]
        .iter()
        .any(|p| path.starts_with(p))
        && !matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// A form's fields, minus the secret ones.
fn keepable(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()))
        .collect()
}

/// The middleware: POSTs drawn as pages become redirects to their GET address; other pages
/// clear a flash meant for another page.
pub async fn post_redirect_get(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let secure = s.app.config.server.secure_cookies;
    let path = req.uri().path().to_string();
    if !is_page(&path) {
        return next.run(req).await;
    }
    if req.method() == Method::POST {
        let urlencoded = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let (req, fields) = if urlencoded {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, 2 * 1024 * 1024).await else {
                return StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let fields = keepable(&bytes);
            (Request::from_parts(parts, Body::from(bytes)), fields)
        } else {
            (req, Vec::new())
        };
        let res = next.run(req).await;
        let Some(DrawnAt(mut flash)) = res.extensions().get::<DrawnAt>().cloned() else {
            return forget_on_success(res, secure);
        };
        flash.kept = fields;
        return redirect_with(res, &flash, &s, secure);
    }
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let stale = req.method() == Method::GET
        && path != "/lang"
        && cookie_in(req.headers(), FLASH_COOKIE)
            .and_then(|v| Flash::open(v, &s))
            .is_some_and(|f| f.path != here);
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if stale
        && html
        && let Some(c) = cookie("", 0, secure)
    {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// A form that succeeded (it redirects) leaves nothing of an earlier failure behind.
fn forget_on_success(mut res: Response, secure: bool) -> Response {
    if res.status().is_redirection()
        && let Some(c) = cookie("", 0, secure)
    {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The 303 to the flash's page, keeping the cookies the page set.
fn redirect_with(drawn: Response, flash: &Flash, s: &AppState, secure: bool) -> Response {
    let mut flash = flash.clone();
    let mut value = flash.seal(s);
    // Longest values go first when the cookie would not fit (a long free text is typed
    // again; the short fields and the error stay).
    while value.len() > MAX_COOKIE && !flash.kept.is_empty() {
        if let Some(i) = (0..flash.kept.len()).max_by_key(|&i| flash.kept[i].1.len()) {
            flash.kept.remove(i);
        }
        value = flash.seal(s);
    }
    // The page's own redirect keeps its `#anchor` (the flash is for the address without it).
    let to = drawn
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .filter(|l| l.split('#').next() == Some(flash.path.as_str()))
        .unwrap_or(&flash.path)
        .to_string();
    let mut res = axum::response::Redirect::to(&to).into_response();
    for c in drawn.headers().get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    // A rate limit's wait is still told to clients that read it.
    if let Some(wait) = drawn.headers().get(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, wait.clone());
    }
    if let Some(c) = cookie(&value, 600, secure) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_kept() {
        let kept = keepable(b"csrf=x&name=Li+Lei&password=hunter2&code=123456&mobile=13800");
        assert_eq!(
            kept,
            vec![
                ("name".to_string(), "Li Lei".to_string()),
                ("mobile".to_string(), "13800".to_string())
            ]
        );
    }

    #[test]
    fn a_message_is_kept_in_every_language() {
        let said = Said::key("err-csrf");
        assert_eq!(said.text(Lang::En), Lang::En.t("err-csrf"));
        assert_eq!(said.text(Lang::ZhHant), Lang::ZhHant.t("err-csrf"));
    }
}
