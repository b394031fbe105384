//! What every page is made of, below the error mapping and the extractors: the [`Page`]
//! every template gets, rendering, and the formatting helpers templates call (times in
//! Beijing, yuan, QR codes). Page modules import these from `pages::common`.

use crate::extract::flash::Said;
use crate::i18n::Lang;
use askama::Template;
use axum::extract::OriginalUri;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use exitentry_domain::office::{Office, Service};
use exitentry_domain::staff::Permission;
use exitentry_services::auth::StaffSession;

/// A page's template: the struct askama renders from `path`, holding the [`Page`] every
/// template reads and the page's own fields:
/// `page_template! { Hub = "centre/hub.html" { office: String } }`.
macro_rules! page_template {
    ($(#[$attr:meta])* $name:ident = $path:tt {
        $($(#[$field_attr:meta])* $field:ident: $ty:ty),* $(,)?
    }) => {
        $(#[$attr])*
        #[derive(askama::Template)]
        #[template(path = $path)]
        struct $name {
            page: $crate::render::Page,
            $($(#[$field_attr])* $field: $ty,)*
        }
    };
}
pub(crate) use page_template;

/// What every template needs.
pub struct Page {
    pub lang: Lang,
    pub path: String,
    pub staff: Option<StaffSession>,
    pub title: String,
    /// What the action that led here did, when it worked.
    pub notice: Option<String>,
    /// Why the action that led here (or the page's own search) failed.
    pub error: Option<String>,
    /// The field that error is about: the error summary links to it, the field says it.
    pub error_field: Option<String>,
}

/// What the action that led to a page did, shown on it: a notice, or why it failed.
pub type Outcome = Result<String, Failed>;

/// Why an action failed: the status its page is answered with, the message (in every
/// language, for the page drawn again after a language switch) and the field it is about.
#[derive(Clone, Debug)]
pub struct Failed {
    pub status: StatusCode,
    pub said: Said,
    pub field: Option<String>,
}

impl Failed {
    /// A failure told by the message `key`.
    pub fn key(status: StatusCode, key: &str) -> Failed {
        Failed {
            status,
            said: Said::key(key),
            field: None,
        }
    }
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
        Page {
            lang,
            path: path_and_query(uri),
            staff,
            title: lang.t(title_key),
            notice: None,
            error: None,
            error_field: None,
        }
    }

    /// The message next to field `name` when the error is about it.
    pub fn field_message(&self, name: &str) -> Option<&str> {
        match (&self.error, &self.error_field) {
            (Some(e), Some(f)) if f == name => Some(e),
            _ => None,
        }
    }

    /// The attributes of field `name`'s input when the error is about it (`aria-invalid`,
    /// and `aria-describedby` naming the message next to it).
    pub fn invalid_attrs(&self, name: &str) -> String {
        match self.field_message(name) {
            Some(_) => format!(r#" aria-invalid="true" aria-describedby="{name}-error""#),
            None => String::new(),
        }
    }

    /// The page's title as the browser shows it: "Error: " first when the page shows one.
    pub fn full_title(&self) -> String {
        match self.error {
            Some(_) => format!("{}{}", self.t("title-error-prefix"), self.title),
            None => self.title.clone(),
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// A message in every language, the page's first, each with its language code: for
    /// screens everyone reads at once (the call display in a waiting room).
    pub fn t_every(&self, key: &str) -> Vec<(&'static str, String)> {
        let others = Lang::ALL.into_iter().filter(|l| *l != self.lang);
        std::iter::once(self.lang)
            .chain(others)
            .map(|l| (l.code(), l.t(key)))
            .collect()
    }

    /// What separates the items of a list in the reader's language ("、" only in Chinese).
    pub fn list_sep(&self) -> &'static str {
        match self.lang {
            Lang::En => ", ",
            Lang::ZhHans | Lang::ZhHant => "、",
        }
    }

    /// A message with one argument, from a template.
    pub fn t_args(&self, key: &str, name: &'static str, value: &str) -> String {
        self.lang.t_args(key, &[(name, value.to_string())])
    }

    /// Who did something, from a stored actor (`staff:clerk`, `applicant:12`, `system`), in
    /// words: the staff member's user name with their role in the reader's language.
    pub fn actor(&self, actor: &str) -> String {
        let (kind, who) = actor.split_once(':').unwrap_or((actor, ""));
        let args = [("who", who.to_string())];
        let key = format!("actor-{kind}");
        match self.lang.own_t_args(&key, &args) {
            Some(s) => s,
            None => self.lang.t_args("actor-other", &args),
        }
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn langs(&self) -> Vec<LangLink> {
        let next = urlencoding_min(&self.path);
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
        office_name(self.lang, o)
    }

    pub fn office_address(&self, o: &Office) -> String {
        office_address(self.lang, o)
    }

    pub fn service(&self, s: &Service) -> String {
        self.t(&format!("service-{}", s.code()))
    }

    /// A payment channel of the reconciliation (`alipay`, `terminal:alipay`) in words.
    pub fn payment_channel(&self, name: &str) -> String {
        match name.split_once(':') {
            Some(("terminal", method)) => {
                self.t_args("payments-terminal", "method", &self.code("method", method))
            }
            _ => self.code("method", name),
        }
    }

    /// A partner's scopes as stored (`verify_permit,border`) in words.
    pub fn scopes(&self, stored: &str) -> String {
        let names: Vec<String> = stored
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| self.code("scope", s.trim()))
            .collect();
        names.join(self.list_sep())
    }

    /// The words for a code (`page.code("end-status", a.status)`: a state, a kind, a method):
    /// the message `<prefix>-<code>`.
    pub fn code(&self, prefix: &str, code: impl std::fmt::Display) -> String {
        self.t(&format!("{prefix}-{code}"))
    }

    pub fn csrf(&self) -> &str {
        self.staff
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or("")
    }

    /// Whether the signed-in staff member's role has `p` (the header shows what it allows).
    pub fn can(&self, p: Permission) -> bool {
        self.staff.as_ref().is_some_and(|s| s.role.can(p))
    }
}

/// The address asked for, with its query (where the language switch comes back to).
pub fn path_and_query(uri: &OriginalUri) -> String {
    uri.0
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// An office's name in the reader's language.
pub fn office_name(lang: Lang, o: &Office) -> String {
    match lang {
        Lang::ZhHans => o.name_zh_hans.clone(),
        Lang::ZhHant => o.name_zh_hant.clone(),
        Lang::En => o.name_en.clone(),
    }
}

/// An office's address in the reader's language; where the registry has none in that
/// language, the nearest one it has (Simplified and Traditional Chinese for each other,
/// the registry's own Simplified address for English), never nothing it holds.
pub fn office_address(lang: Lang, o: &Office) -> String {
    let (hans, hant, en) = (&o.address, &o.address_zh_hant, &o.address_en);
    let order = match lang {
        Lang::ZhHans => [hans, hant, en],
        Lang::ZhHant => [hant, hans, en],
        Lang::En => [en, hans, hant],
    };
    order
        .into_iter()
        .find(|a| !a.trim().is_empty())
        .cloned()
        .unwrap_or_default()
}

/// Adds `Retry-After` (whole seconds, at least one) to a page refused by a rate limit.
pub fn retry_after(mut res: Response, wait: std::time::Duration) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A UTC instant shown in Beijing time (the offices' time zone).
pub fn beijing(t: chrono::DateTime<chrono::Utc>, fmt: &str) -> String {
    t.with_timezone(&exitentry_domain::time::BEIJING)
        .format(fmt)
        .to_string()
}

/// A stored timestamp (microseconds) in Beijing time, to the second.
pub fn when_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| beijing(t, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_default()
}

/// A stored time for the templates (they pass fields by reference).
pub fn at(micros: &i64) -> String {
    when_micros(*micros)
}

/// An amount in yuan with its currency sign, as `Money` prints it (templates pass fields
/// by reference).
pub fn yuan(cents: &i64) -> String {
    exitentry_domain::products::Money {
        cents: *cents,
        currency: exitentry_domain::products::Currency::Cny,
    }
    .to_string()
}

/// An amount in yuan as bare digits (`12.34`), for columns that add up.
pub fn yuan_digits(cents: &i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The payload as a QR code (inline SVG, medium error correction: survives a scratched
/// phone screen and still fits the ~200-character payload in a small symbol).
pub fn qr_svg(payload: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(260, 260)
            .quiet_zone(true)
            .build(),
    )
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

/// What an error page should say; the error-page middleware (`pages::render_error_pages`)
/// renders it with the header of the signed-in staff member (handlers that fail do not
/// always know who that is).
#[derive(Clone)]
pub struct ErrorPageRequest {
    pub lang: Lang,
    pub path: String,
    pub message: String,
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

/// Percent-encodes a path for a query parameter (the few characters that matter).
pub fn urlencoding_min(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
