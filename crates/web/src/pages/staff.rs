//! Officer pages: sign-in, the desk, registry search, a person's page, administration.

use super::common::{
    CsrfField, CsrfForm, CsrfOnly, Page, Refusal, StaffWith, Up, csrf_field, need, render,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::extract::PageQuery;
use crate::i18n::{Lang, cookie_in};
use crate::session::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, Staff, set_cookie};
use crate::throttle::ClientIp;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::staff::{Permission, Role};
use exitentry_services::audit::{StoredAudit, Verdict};
use exitentry_services::auth::{self, StaffSummary};
use exitentry_services::registry::{self, DocumentView, PersonView, SearchHit};
use exitentry_services::{ServiceError, audit};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_form).post(login))
        .route("/staff/logout", axum::routing::post(logout))
        .route("/staff", get(desk))
        .route("/staff/search", get(search))
        .route("/staff/people/{id}", get(person))
        .route("/staff/people/{id}/hukou", post(record_hukou))
        .route("/staff/admin/users", get(users).post(create_user))
        .route("/staff/admin/users/unlock", post(unlock_user))
        .route("/staff/admin/audit", get(audit_page))
}

/// Only same-site paths after login (no open redirect).
fn local_next(next: Option<&str>) -> String {
    super::common::next_within(next, "/staff", "/staff")
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct Login {
    page: Page,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let csrf = crate::session::anon_csrf(&headers);
    let page = Page::new(lang, &uri, None, "login-title");
    let body = render(&Login {
        page,
        csrf: csrf.clone(),
        next: local_next(q.next.as_deref()),
        username: String::new(),
        error: None,
    });
    (
        [(header::SET_COOKIE, crate::session::anon_csrf_cookie(&csrf))],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// A sign-in with a wrong token: the form again, with the error.
impl CsrfField for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn refused(self, r: Refusal) -> Response {
        let body = render(&Login {
            page: Page::new(r.lang, &r.uri, None, "login-title"),
            csrf: cookie_in(&r.headers, LOGIN_CSRF_COOKIE)
                .unwrap_or("")
                .to_string(),
            next: local_next(self.next.as_deref()),
            username: self.username,
            error: Some(r.lang.t("err-csrf")),
        });
        (StatusCode::FORBIDDEN, body).into_response()
    }
}

async fn login(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let expected = cookie_in(&headers, LOGIN_CSRF_COOKIE)
        .unwrap_or("")
        .to_string();
    let next = local_next(f.next.as_deref());
    let page = Page::new(lang, &uri, None, "login-title");
    let again = |page: Page, status: StatusCode, msg: String| {
        let body = render(&Login {
            page,
            csrf: expected.clone(),
            next: next.clone(),
            username: f.username.clone(),
            error: Some(msg),
        });
        (status, body).into_response()
    };
    if let Err(wait) = s.login_throttle.check(ip) {
        let res = again(
            page,
            StatusCode::TOO_MANY_REQUESTS,
            lang.t("err-rate_limited"),
        );
        return super::common::retry_after(res, wait);
    }
    let device = crate::session::device_token(&headers, crate::session::STAFF_DEVICE_COOKIE);
    match auth::login_from(&s.app, &f.username, &f.password, device).await {
        Ok((token, _, device)) => crate::session::signed_in(
            &s,
            SESSION_COOKIE,
            &token,
            crate::session::STAFF_DEVICE_COOKIE,
            device,
            &next,
        ),
        Err(e) => {
            let msg = super::common::sign_in_error(&e, lang, "err-bad_credentials");
            again(page, status_for(&e), msg)
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    Staff(_): Staff,
    _: CsrfForm<CsrfOnly>,
) -> Response {
    if let Some(token) = cookie_in(&headers, SESSION_COOKIE) {
        let _ = auth::logout(&s.app, token).await;
    }
    (
        [(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", Some(0), false),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

csrf_field!(NewUser, HukouForm, UnlockForm);

#[derive(Template)]
#[template(path = "staff/desk.html")]
struct Desk {
    page: Page,
    people: i64,
    documents: i64,
}

async fn desk(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
) -> Result<Response, PageError> {
    let page = Page::new(lang, &uri, Some(staff), "desk-title");
    let (people, documents) = registry::totals(&s.app)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    Ok(render(&Desk {
        page,
        people,
        documents,
    }))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "staff/search.html")]
struct Search {
    page: Page,
    q: String,
    hits: Vec<SearchHit>,
    error: Option<String>,
}

async fn search(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    PageQuery(q): PageQuery<SearchQuery>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = Page::new(lang, &uri, Some(staff), "search-title");
    match registry::search(&s.app, &who, &q.q).await {
        Ok(hits) => Ok(render(&Search {
            page,
            q: q.q,
            hits,
            error: None,
        })),
        Err(e @ ServiceError::Invalid { .. }) => {
            let msg = message_for(&e, lang);
            Ok((
                StatusCode::BAD_REQUEST,
                render(&Search {
                    page,
                    q: q.q,
                    hits: vec![],
                    error: Some(msg),
                }),
            )
                .into_response())
        }
        Err(err) => Err(PageError {
            err,
            lang,
            path: page.path,
        }),
    }
}

#[derive(Template)]
#[template(path = "staff/person.html")]
struct PersonPage {
    page: Page,
    person: PersonView,
    documents: Vec<DocumentView>,
    state_personnel: bool,
    can_mark_state_personnel: bool,
    csrf: String,
    /// The person's sign-in (masked mobile) and its history: when, what, by whom.
    account_mobile: Option<String>,
    account_events: Vec<(String, String, String)>,
    can_record_hukou: bool,
    /// The last attempt to record the hukou area was refused: why.
    hukou_error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PersonQuery {
    hukou_error: Option<String>,
}

async fn person(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<PersonQuery>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let mut page = Page::new(lang, &uri, Some(staff), "person-title");
    let id = id.parse::<i64>().map_err(|_| PageError {
        err: ServiceError::NotFound("person"),
        lang,
        path: page.path.clone(),
    })?;
    let (person, documents) = registry::person(&s.app, &who, id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let state_personnel =
        exitentry_services::counter_endorsements::is_state_personnel(&s.app, &who, id)
            .await
            .map_err(PageError::at(lang, &page.path))?;
    let history = exitentry_services::holders::history_for_person(&s.app, &who, id)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let account_events = history
        .events
        .iter()
        .rev()
        .map(|e| {
            let key = format!("acct-ev-{}", e.entry.action.trim_start_matches("holder."));
            let what = lang.try_t(&key).unwrap_or_else(|| e.entry.action.clone());
            (
                super::common::when_micros(e.at),
                what,
                e.entry.actor.clone(),
            )
        })
        .collect();
    page.title = person
        .name_zh
        .clone()
        .unwrap_or_else(|| person.name_latin.clone());
    Ok(render(&PersonPage {
        account_mobile: history.mobile_masked,
        account_events,
        can_record_hukou: who.role.can(Permission::RecordHukou),
        // Only our own codes come back here; anything else shows nothing.
        hukou_error: q
            .hukou_error
            .filter(|c| c.len() <= 40 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .and_then(|c| lang.try_t(&format!("err-{c}"))),
        page,
        person,
        documents,
        state_personnel,
        can_mark_state_personnel: who
            .role
            .can(exitentry_domain::staff::Permission::RegisterStatePersonnel),
        csrf: who.csrf_token.clone(),
    }))
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct Users {
    page: Page,
    users: Vec<StaffSummary>,
    roles: Vec<&'static str>,
    message: Option<String>,
    error: Option<String>,
}

async fn users_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: auth::StaffSession,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = Page::new(lang, uri, Some(staff), "users-title");
    let users = auth::list_staff(&s.app, &who)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let roles = Role::ALL.iter().map(|r| r.code()).collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&Users {
            page,
            users,
            roles,
            message,
            error,
        }),
    )
        .into_response())
}

async fn users(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
) -> Result<Response, PageError> {
    users_page(&s, lang, &uri, staff, None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewUser {
    csrf: String,
    username: String,
    password: String,
    role: String,
    office: String,
}

async fn create_user(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<NewUser>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    let office = Some(f.office.as_str()).filter(|o| !o.trim().is_empty());
    match auth::create_staff(
        &s.app,
        &staff.actor(),
        &f.username,
        &f.password,
        &f.role,
        office,
    )
    .await
    {
        Ok(_) => {
            let msg = lang.t_args(
                "users-created",
                &[("username", f.username.trim().to_ascii_lowercase())],
            );
            users_page(&s, lang, &uri, staff, Some(msg), None).await
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let msg = message_for(&e, lang);
            users_page(&s, lang, &uri, staff, None, Some(msg)).await
        }
        Err(err) => Err(PageError { err, lang, path }),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HukouForm {
    csrf: String,
    hukou_area: String,
    reason: String,
}

/// An officer records where the person's household registration is now (from the hukou
/// booklet); a refusal comes back to the person page next to the field.
async fn record_hukou(
    State(s): State<AppState>,
    lang: Lang,
    StaffWith(staff, _): StaffWith<need::RecordHukou, Up>,
    Path(id): Path<i64>,
    CsrfForm(f, _): CsrfForm<HukouForm, Up>,
) -> Result<Response, PageError> {
    let path = format!("/staff/people/{id}");
    match registry::set_hukou_area(&s.app, &staff, id, &f.hukou_area, &f.reason).await {
        Ok(()) => Ok(Redirect::to(&format!("{path}#hukou")).into_response()),
        Err(ServiceError::Invalid { error, .. }) => {
            Ok(Redirect::to(&format!("{path}?hukou_error={}#hukou", error.code)).into_response())
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UnlockForm {
    csrf: String,
    username: String,
}

/// An administrator lifts a lock strangers' failures put on an account.
async fn unlock_user(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<UnlockForm>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    auth::unlock_by_admin(&s.app, &staff, &f.username)
        .await
        .map_err(PageError::at(lang, &path))?;
    // Post, redirect, get: a reload shows the list, not a second unlock.
    Ok(Redirect::to("/staff/admin/users").into_response())
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    page: Page,
    verdict: Verdict,
    entries: Vec<StoredAudit>,
}

impl AuditPage {
    fn when(&self, micros: &i64) -> String {
        super::common::when_micros(*micros)
    }
}

async fn audit_page(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    staff
        .require(Permission::ViewAudit)
        .map_err(PageError::at(lang, &path))?;
    let page = Page::new(lang, &uri, Some(staff), "audit-title");
    let fail = PageError::at(lang, &path);
    let verdict = audit::verify(&s.app).await.map_err(&fail)?;
    let entries = audit::recent(&s.app, 100).await.map_err(&fail)?;
    Ok(render(&AuditPage {
        page,
        verdict,
        entries,
    }))
}
