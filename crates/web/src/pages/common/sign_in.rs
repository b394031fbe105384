//! Signing in and out, the same for every kind of account: the client's rate, the session
//! and known-device cookies, where to go afterwards (never another site) and the words of a
//! refusal.

use crate::error::status_for;
use crate::extract::context::Cx;
use crate::extract::flash::Said;
use crate::extract::forms::Pairs;
use crate::i18n::{Lang, cookie_in};
use crate::render::{Failed, beijing, retry_after, urlencoding_min};
use crate::session::{self, APPLICANT_COOKIE, APPLICANT_DEVICE_COOKIE, HOLDER_COOKIE};
use crate::session::{HOLDER_DEVICE_COOKIE, SESSION_COOKIE, STAFF_DEVICE_COOKIE};
use crate::throttle::ClientIp;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use exitentry_services::ServiceError;

/// One kind of account's sign-in: its session and known-device cookies, the message key of
/// wrong credentials in that account's words, and its own pages (`area`, `home` the first).
pub struct SignIn {
    session_cookie: &'static str,
    device_cookie: &'static str,
    bad_credentials: &'static str,
    area: &'static str,
    home: &'static str,
}

impl SignIn {
    pub const STAFF: SignIn = SignIn {
        session_cookie: SESSION_COOKIE,
        device_cookie: STAFF_DEVICE_COOKIE,
        bad_credentials: "err-bad_credentials",
        area: "/staff",
        home: "/staff",
    };

    /// Permit holders (mobile number and password).
    pub const HOLDER: SignIn = SignIn {
        session_cookie: HOLDER_COOKIE,
        device_cookie: HOLDER_DEVICE_COOKIE,
        bad_credentials: "err-bad_holder_credentials",
        area: "/my",
        home: "/my",
    };

    /// Applicants for the non-Chinese permit (email and password).
    pub const APPLICANT: SignIn = SignIn {
        session_cookie: APPLICANT_COOKIE,
        device_cookie: APPLICANT_DEVICE_COOKIE,
        bad_credentials: "err-bad_applicant_credentials",
        area: "/apply/",
        home: "/apply/applications",
    };

    /// Where to go after signing in: `next` when it is one of this account's own pages.
    pub fn next(&self, next: Option<&str>) -> String {
        next_within(next, self.area, self.home)
    }

    /// The sign-in form with a fresh anonymous token; a refused sign-in comes back with
    /// `field` as typed (never the password).
    pub fn form(
        &self,
        cx: &Cx,
        headers: &HeaderMap,
        next: Option<&str>,
        field: &str,
        page: impl FnOnce(&Cx, String, String, String) -> Response,
    ) -> Response {
        let csrf = session::anon_csrf(headers);
        let typed = cx.kept::<Pairs>().map(|p| p.get(field)).unwrap_or_default();
        let shown = page(cx, csrf.clone(), self.next(next), typed);
        super::with_anon_csrf(&csrf, shown)
    }

    /// The known-device token this client presents for this kind of account.
    pub fn device<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        session::device_token(headers, self.device_cookie)
    }

    /// Signs in with `login` unless the client is over its rate (the form again, 429 with
    /// `Retry-After`): the cookies and the redirect to `next`, or the form again (`again`)
    /// with why not.
    pub async fn run<A>(
        &self,
        cx: &Cx,
        ClientIp(ip): ClientIp,
        next: &str,
        login: impl Future<Output = Result<(String, A, Option<String>), ServiceError>>,
        again: impl Fn(&Cx) -> Response,
    ) -> Response {
        // A refused sign-in is shown at the sign-in page's own address (with where to go).
        let area = self.area.trim_end_matches('/');
        let login_page = format!("{area}/login?next={}", urlencoding_min(next));
        let cx = &cx.at(&login_page);
        if let Err(wait) = cx.s.login_throttle.check(ip).await {
            let limited = Failed::key(StatusCode::TOO_MANY_REQUESTS, "err-rate_limited");
            return retry_after(again(&cx.after(Err(limited))), wait);
        }
        match login.await {
            Ok((token, _, device)) => self.signed_in(cx, &token, device, next),
            Err(e) => {
                let bad = self.bad_credentials;
                let refused = Failed {
                    status: status_for(&e),
                    said: Said::with(|l| sign_in_error(&e, l, bad)),
                    field: None,
                };
                again(&cx.after(Err(refused)))
            }
        }
    }

    /// The answer to a sign-in: the session cookie, the device cookie when this client is
    /// new to the account, and the redirect to `next`.
    pub fn signed_in(&self, cx: &Cx, token: &str, device: Option<String>, next: &str) -> Response {
        let (session, known) = (self.session_cookie, self.device_cookie);
        session::signed_in(&cx.s, session, token, known, device, next)
    }

    /// Ends the session in this client's cookie, if any (`end` given its token), clears the
    /// cookie and goes to `to`.
    pub async fn sign_out<T>(
        &self,
        headers: &HeaderMap,
        end: impl AsyncFnOnce(&str) -> T,
        to: &str,
    ) -> Response {
        if let Some(token) = cookie_in(headers, self.session_cookie) {
            end(token).await;
        }
        let gone = session::set_cookie(self.session_cookie, "", Some(0), false);
        ([(header::SET_COOKIE, gone)], Redirect::to(to)).into_response()
    }
}

/// The message for a failed sign-in: a lock with the time it ends, wrong credentials in the
/// words of that kind of account (`bad_credentials` is its message key), anything else as
/// usual.
pub fn sign_in_error(e: &ServiceError, lang: Lang, bad_credentials: &str) -> String {
    match e {
        ServiceError::Locked { until } => lang.t_args(
            "err-account_locked_until",
            &[("time", beijing(*until, "%H:%M"))],
        ),
        ServiceError::BadCredentials => lang.t(bad_credentials),
        other => crate::error::message_for(other, lang),
    }
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
