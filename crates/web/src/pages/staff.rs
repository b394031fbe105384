//! Officer pages: sign-in, the desk, registry search, a person's page, administration.

use super::common::{
    CsrfField, CsrfForm, CsrfOnly, Cx, Failed, NextQuery, OfficeNames, Refusal, SignIn, StaffWith,
    Up, csrf_field, form_fields, invalid, invalid_or_conflict, need, outcome, page_template,
    render, when_micros,
};
use crate::AppState;
use crate::error::PageResult;
use crate::extract::PageQuery;
use crate::i18n::cookie_in;
use crate::session::{LOGIN_CSRF_COOKIE, Staff};
use crate::throttle::ClientIp;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::staff::{Permission, Role};
use exitentry_services::audit::{StoredAudit, Verdict};
use exitentry_services::auth::{self, StaffSession, StaffSummary};
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

page_template! {
    Login = "staff/login.html" {
        csrf: String,
        next: String,
        username: String,
    }
}

fn login_page(cx: &Cx, csrf: String, next: String, username: String) -> Response {
    cx.render(&Login {
        page: cx.page(None, "login-title"),
        csrf,
        next,
        username,
    })
}

/// The token the sign-in form echoes: the anonymous cookie's (set by the form's page).
fn login_csrf(headers: &HeaderMap) -> String {
    cookie_in(headers, LOGIN_CSRF_COOKIE)
        .unwrap_or("")
        .to_string()
}

async fn login_form(cx: Cx, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    SignIn::STAFF.form(&cx, &headers, q.next.as_deref(), "username", login_page)
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
        let next = SignIn::STAFF.next(self.next.as_deref());
        login_page(&r.again(), login_csrf(&r.headers), next, self.username)
    }
}

async fn login(
    cx: Cx,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<LoginForm>,
) -> Response {
    let expected = login_csrf(&headers);
    let next = SignIn::STAFF.next(f.next.as_deref());
    let again = |cx: &Cx| login_page(cx, expected.clone(), next.clone(), f.username.clone());
    let device = SignIn::STAFF.device(&headers);
    let login = auth::login_from(cx.app(), &f.username, &f.password, device);
    SignIn::STAFF.run(&cx, ip, &next, login, again).await
}

async fn logout(cx: Cx, headers: HeaderMap, Staff(_): Staff, _: CsrfForm<CsrfOnly>) -> Response {
    let end = async |token: &str| auth::logout(cx.app(), token).await;
    SignIn::STAFF.sign_out(&headers, end, "/").await
}

csrf_field!(NewUser, HukouForm, UnlockForm);

page_template! {
    Desk = "staff/desk.html" {
        people: i64,
        documents: i64,
    }
}

async fn desk(cx: Cx, Staff(staff): Staff) -> PageResult {
    let page = cx.page(Some(staff), "desk-title");
    let (people, documents) = registry::totals(cx.app())
        .await
        .map_err(cx.fail(&page.path))?;
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

page_template! {
    Search = "staff/search.html" {
        q: String,
        hits: Vec<SearchHit>,
    }
}

async fn search(cx: Cx, Staff(staff): Staff, PageQuery(q): PageQuery<SearchQuery>) -> PageResult {
    let (hits, error) = match registry::search(cx.app(), &staff, &q.q).await {
        Ok(hits) => (hits, None),
        Err(e) => (vec![], Some(cx.shown_or_fail(e, invalid, &cx.here())?)),
    };
    let cx = cx.or_failed(error);
    Ok(cx.render(&Search {
        page: cx.page(Some(staff), "search-title"),
        q: q.q,
        hits,
    }))
}

page_template! {
    PersonPage = "staff/person.html" {
        person: PersonView,
        documents: Vec<DocumentView>,
        /// The documents' offices by name.
        offices: OfficeNames,
        state_personnel: bool,
        can_mark_state_personnel: bool,
        csrf: String,
        /// The person's sign-in (masked mobile) and its history: when, what, by whom.
        account_mobile: Option<String>,
        account_events: Vec<(String, String, String)>,
        can_record_hukou: bool,
        /// The last attempt to record the hukou area was refused: why.
        hukou_error: Option<String>,
        /// What that attempt typed (area, reason), to correct rather than type again.
        hukou_kept: (String, String),
    }
}

async fn person(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    let (who, lang) = (staff.clone(), cx.lang);
    let mut page = cx.page(Some(staff), "person-title");
    let path = page.path.clone();
    let fail = cx.fail(&path);
    let id = id
        .parse::<i64>()
        .map_err(|_| fail(ServiceError::NotFound("person")))?;
    let (person, documents) = registry::person(cx.app(), &who, id).await.map_err(&fail)?;
    let state_personnel =
        exitentry_services::counter_endorsements::is_state_personnel(cx.app(), &who, id)
            .await
            .map_err(&fail)?;
    let history = exitentry_services::holders::history_for_person(cx.app(), &who, id)
        .await
        .map_err(&fail)?;
    let account_events = history
        .events
        .iter()
        .rev()
        .map(|e| {
            let key = format!("acct-ev-{}", e.entry.action.trim_start_matches("holder."));
            let what = lang.try_t(&key).unwrap_or_else(|| e.entry.action.clone());
            (when_micros(e.at), what, e.entry.actor.clone())
        })
        .collect();
    page.title = person
        .name_zh
        .clone()
        .unwrap_or_else(|| person.name_latin.clone());
    let codes = documents.iter().filter_map(|d| d.office_code.as_deref());
    let offices = OfficeNames::of(&cx, codes).await;
    Ok(render(&PersonPage {
        offices,
        account_mobile: history.mobile_masked,
        account_events,
        can_record_hukou: who.role.can(Permission::RecordHukou),
        // A refused attempt comes back through the flash, next to the field.
        hukou_error: match &cx.outcome {
            Some(Err(f)) => Some(f.said.text(lang).to_string()),
            _ => None,
        },
        hukou_kept: cx
            .kept::<HukouForm>()
            .map(|f| (f.hukou_area, f.reason))
            .unwrap_or_default(),
        page,
        person,
        documents,
        state_personnel,
        can_mark_state_personnel: who.role.can(Permission::RegisterStatePersonnel),
        csrf: who.csrf_token.clone(),
    }))
}

page_template! {
    Users = "staff/users.html" {
        users: Vec<StaffSummary>,
        offices: OfficeNames,
        roles: Vec<&'static str>,
        /// The new account's form as posted, after a refusal (never the password).
        form: NewUser,
    }
}

/// The staff list with what the last action did.
async fn users_page(cx: &Cx, staff: StaffSession) -> PageResult {
    let who = staff.clone();
    let page = cx.page(Some(staff), "users-title");
    let users = auth::list_staff(cx.app(), &who)
        .await
        .map_err(cx.fail(&page.path))?;
    let offices = OfficeNames::of(cx, users.iter().filter_map(|u| u.office_code.as_deref())).await;
    Ok(cx.render(&Users {
        page,
        offices,
        users,
        roles: Role::ALL.iter().map(|r| r.code()).collect(),
        form: cx.kept().unwrap_or_default(),
    }))
}

async fn users(cx: Cx, Staff(staff): Staff) -> PageResult {
    users_page(&cx, staff).await
}

form_fields!(NewUser {
    username: String,
    password: String,
    role: String,
    office: String,
});

async fn create_user(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<NewUser>,
) -> PageResult {
    let office = Some(f.office.as_str()).filter(|o| !o.trim().is_empty());
    let done = auth::create_staff(
        cx.app(),
        &staff.actor(),
        &f.username,
        &f.password,
        &f.role,
        office,
    )
    .await;
    let name = [("username", f.username.trim().to_ascii_lowercase())];
    let created = |_| cx.lang.t_args("users-created", &name);
    let outcome = outcome(&cx, done, created, invalid_or_conflict, cx.path())?;
    // A refusal on the list is answered 400, whatever its kind.
    let outcome = outcome.map_err(|f| Failed {
        status: StatusCode::BAD_REQUEST,
        ..f
    });
    users_page(&cx.after(outcome), staff).await
}

form_fields!(HukouForm {
    hukou_area: String,
    reason: String,
});

/// An officer records where the person's household registration is now (from the hukou
/// booklet); a refusal comes back to the person page next to the field.
async fn record_hukou(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::RecordHukou, Up>,
    Path(id): Path<i64>,
    CsrfForm(f, _): CsrfForm<HukouForm, Up>,
) -> PageResult {
    let path = format!("/staff/people/{id}");
    match registry::set_hukou_area(cx.app(), &staff, id, &f.hukou_area, &f.reason).await {
        Ok(()) => Ok(Redirect::to(&format!("{path}#hukou")).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            Ok(cx.failed_to(&format!("{path}#hukou"), cx.shown(&e)))
        }
        Err(e) => Err(cx.fail(&path)(e)),
    }
}

form_fields!(UnlockForm { username: String });

/// An administrator lifts a lock strangers' failures put on an account.
async fn unlock_user(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ManageStaff>,
    CsrfForm(f, _): CsrfForm<UnlockForm>,
) -> PageResult {
    auth::unlock_by_admin(cx.app(), &staff, &f.username)
        .await
        .map_err(cx.fail(cx.path()))?;
    // Post, redirect, get: a reload shows the list, not a second unlock.
    Ok(Redirect::to("/staff/admin/users").into_response())
}

page_template! {
    AuditPage = "staff/audit.html" {
        verdict: Verdict,
        entries: Vec<StoredAudit>,
    }
}

impl AuditPage {
    fn when(&self, micros: &i64) -> String {
        when_micros(*micros)
    }
}

async fn audit_page(cx: Cx, StaffWith(staff, _): StaffWith<need::ViewAudit>) -> PageResult {
    let fail = cx.fail(cx.path());
    let verdict = audit::verify(cx.app()).await.map_err(&fail)?;
    let entries = audit::recent(cx.app(), 100).await.map_err(&fail)?;
    Ok(render(&AuditPage {
        page: cx.page(Some(staff), "audit-title"),
        verdict,
        entries,
    }))
}
