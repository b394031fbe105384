//! The access matrix: every route of the web crate (read from the router's source, so a new
//! route without an entry here fails) × every kind of caller — anonymous, each staff role,
//! a permit holder, an online applicant, a hall device, partners of each scope. Each entry
//! says who may pass; everyone else must be turned away (401, 403, or sent to sign in), and
//! nobody ever gets a 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_domain::staff::{Permission, Role};
use exitentry_services::partners::{self, NewPartner};
use exitentry_services::{auth, centre, holders, jobs, pre_applications as hrp};
use exitentry_test_support::{Backend, PASSWORD, TestApp, backend_tests, get_json};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeSet;

/// Who may pass a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Everyone (public pages, anonymous forms, health, published lists).
    Public,
    /// Signed-in staff whose role has any of these permissions (none listed: any role).
    Staff(&'static [Permission]),
    /// A signed-in permit holder.
    Holder,
    /// A signed-in online applicant (/apply).
    Applicant,
    /// A paired hall device of this kind (`kiosk`, `ticket_printer`); empty: any kind.
    Device(&'static str),
    /// A partner key with any of these scopes (none listed: any partner).
    Partner(&'static [&'static str]),
    /// A holder's session or a partner key with this scope.
    HolderOrPartner(&'static str),
    /// A provider's signed callback: nobody without the signature.
    Signed,
    /// Development outbox and sandbox: only on a server with development providers (this
    /// one has them), for anyone.
    Dev,
    /// Prometheus: loopback or the bearer token.
    Metrics,
}

use Access::*;
use Permission as P;

/// Every route and method with its decision.
const MATRIX: &[(&str, &str, Access)] = &[
    // Public pages and operations
    ("GET", "/", Public),
    ("GET", "/offices", Public),
    ("GET", "/offices/{code}", Public),
    ("GET", "/lang", Public),
    ("GET", "/assets/{file}", Public),
    ("GET", "/assets/vendor/{file}", Public),
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/metrics", Metrics),
    ("GET", "/display/{office}", Public),
    ("GET", "/display/{office}/board", Public),
    ("GET", "/verifier", Public),
    ("GET", "/verifier/manifest.webmanifest", Public),
    ("GET", "/verifier/sw.js", Public),
    // Anonymous journeys (their forms need the anonymous CSRF token)
    ("GET", "/temporary-permit", Public),
    ("GET", "/temporary-permit/details", Public),
    ("POST", "/temporary-permit/details", Public),
    ("POST", "/temporary-permit/change", Public),
    ("POST", "/temporary-permit/apply", Public),
    ("GET", "/temporary-permit/code", Public),
    ("POST", "/temporary-permit/code", Public),
    ("POST", "/temporary-permit/code/resend", Public),
    ("GET", "/temporary-permit/face", Public),
    ("POST", "/temporary-permit/face", Public),
    ("GET", "/temporary-permit/issued", Public),
    ("GET", "/my/login", Public),
    ("POST", "/my/login", Public),
    ("GET", "/my/signup", Public),
    ("POST", "/my/signup", Public),
    ("GET", "/my/signup/{id}", Public),
    ("POST", "/my/signup/{id}", Public),
    ("GET", "/my/signup/{id}/face", Public),
    ("POST", "/my/signup/{id}/face", Public),
    ("GET", "/staff/login", Public),
    ("POST", "/staff/login", Public),
    ("GET", "/apply", Public),
    ("GET", "/apply/register", Public),
    ("POST", "/apply/register", Public),
    ("GET", "/apply/verify", Public),
    ("POST", "/apply/verify", Public),
    ("GET", "/apply/login", Public),
    ("POST", "/apply/login", Public),
    // Holders
    ("GET", "/my", Holder),
    ("GET", "/my/temporary-permits", Holder),
    ("POST", "/my/logout", Holder),
    ("GET", "/my/temporary-permits/{id}/cancel", Holder),
    ("POST", "/my/temporary-permits/{id}/cancel", Holder),
    ("GET", "/my/appointments", Holder),
    ("POST", "/my/appointments", Holder),
    ("GET", "/my/appointments/new", Holder),
    ("GET", "/my/appointments/{id}", Holder),
    ("GET", "/my/appointments/{id}/cancel", Holder),
    ("POST", "/my/appointments/{id}/cancel", Holder),
    ("POST", "/my/appointments/{id}/move", Holder),
    ("GET", "/my/endorsements", Holder),
    ("POST", "/my/endorsements", Holder),
    ("GET", "/my/endorsements/{id}/pay", Holder),
    ("GET", "/my/endorsements/{id}", Holder),
    ("POST", "/my/endorsements/{id}/pay", Holder),
    ("GET", "/my/endorsements/{id}/cancel", Holder),
    ("POST", "/my/endorsements/{id}/cancel", Holder),
    ("GET", "/my/linkage-proof", Holder),
    ("POST", "/my/linkage-proof", Holder),
    ("GET", "/my/linkage-proofs/{id}", Holder),
    // Applicants
    ("POST", "/apply/logout", Applicant),
    ("GET", "/apply/applications", Applicant),
    ("POST", "/apply/applications", Applicant),
    ("GET", "/apply/applications/{id}", Applicant),
    ("POST", "/apply/applications/{id}", Applicant),
    ("POST", "/apply/applications/{id}/documents", Applicant),
    ("GET", "/apply/applications/{id}/documents/{doc}", Applicant),
    (
        "POST",
        "/apply/applications/{id}/documents/{doc}/remove",
        Applicant,
    ),
    ("GET", "/apply/applications/{id}/check", Applicant),
    ("POST", "/apply/applications/{id}/submit", Applicant),
    ("GET", "/apply/applications/{id}/submitted", Applicant),
    ("GET", "/apply/applications/{id}/book", Applicant),
    ("POST", "/apply/applications/{id}/book", Applicant),
    ("GET", "/apply/applications/{id}/book/cancel", Applicant),
    ("POST", "/apply/applications/{id}/book/cancel", Applicant),
    // Staff
    ("POST", "/staff/logout", Staff(&[])),
    ("GET", "/staff", Staff(&[])),
    ("GET", "/staff/search", Staff(&[P::SearchRegistry])),
    ("GET", "/staff/people/{id}", Staff(&[P::SearchRegistry])),
    (
        "POST",
        "/staff/people/{id}/state-personnel",
        Staff(&[P::RegisterStatePersonnel]),
    ),
    ("POST", "/staff/people/{id}/hukou", Staff(&[P::RecordHukou])),
    ("GET", "/staff/admin/users", Staff(&[P::ManageStaff])),
    ("POST", "/staff/admin/users", Staff(&[P::ManageStaff])),
    (
        "POST",
        "/staff/admin/users/unlock",
        Staff(&[P::ManageStaff]),
    ),
    ("GET", "/staff/admin/audit", Staff(&[P::ViewAudit])),
    ("GET", "/staff/admin/jobs", Staff(&[P::ManageJobs])),
    ("POST", "/staff/admin/jobs/retry", Staff(&[P::ManageJobs])),
    ("GET", "/staff/admin/partners", Staff(&[P::ManageStaff])),
    ("POST", "/staff/admin/partners", Staff(&[P::ManageStaff])),
    (
        "POST",
        "/staff/admin/partners/revoke-key",
        Staff(&[P::ManageStaff]),
    ),
    (
        "POST",
        "/staff/admin/partners/disable",
        Staff(&[P::ManageStaff]),
    ),
    ("GET", "/staff/admin/centre", Staff(&[P::ManageCentre])),
    ("POST", "/staff/admin/centre", Staff(&[P::ManageCentre])),
    ("GET", "/staff/admin/payments", Staff(&[P::ManageCentre])),
    (
        "GET",
        "/staff/kiosks",
        Staff(&[P::ManageCentre, P::ServeCounter]),
    ),
    (
        "GET",
        "/staff/temporary-permits",
        Staff(&[P::ViewTemporaryPermits]),
    ),
    (
        "GET",
        "/staff/temporary-permits/{id}",
        Staff(&[P::ViewTemporaryPermits]),
    ),
    (
        "POST",
        "/staff/temporary-permits/{id}/revoke",
        Staff(&[P::RevokeTemporaryPermits]),
    ),
    (
        "GET",
        "/staff/linkage-proofs",
        Staff(&[P::PrintLinkageProofs]),
    ),
    (
        "POST",
        "/staff/linkage-proofs",
        Staff(&[P::PrintLinkageProofs]),
    ),
    (
        "GET",
        "/staff/linkage-proofs/{id}",
        Staff(&[P::PrintLinkageProofs]),
    ),
    // The hall's hub is the counter's; the back office works from the applications list.
    ("GET", "/staff/centre", Staff(&[P::ServeCounter])),
    ("GET", "/staff/centre/reception", Staff(&[P::ServeCounter])),
    ("POST", "/staff/centre/reception", Staff(&[P::ServeCounter])),
    ("GET", "/staff/centre/photo", Staff(&[P::ServeCounter])),
    ("POST", "/staff/centre/photo", Staff(&[P::ServeCounter])),
    (
        "GET",
        "/staff/centre/photos/{code}",
        Staff(&[P::ServeCounter]),
    ),
    (
        "GET",
        "/staff/centre/photos/{id}/image",
        Staff(&[P::ServeCounter]),
    ),
    ("GET", "/staff/centre/counter", Staff(&[P::ServeCounter])),
    (
        "POST",
        "/staff/centre/counter/action",
        Staff(&[P::ServeCounter]),
    ),
    ("POST", "/staff/centre/accept", Staff(&[P::ServeCounter])),
    (
        "GET",
        "/staff/centre/applications",
        Staff(&[P::ServeCounter, P::ProcessApplications]),
    ),
    (
        "GET",
        "/staff/centre/applications/{id}",
        Staff(&[P::ServeCounter, P::ProcessApplications]),
    ),
    (
        "POST",
        "/staff/centre/applications/{id}/pay",
        Staff(&[P::ServeCounter]),
    ),
    (
        "POST",
        "/staff/centre/applications/{id}/ready",
        Staff(&[P::ProcessApplications]),
    ),
    (
        "GET",
        "/staff/centre/applications/{id}/receipt",
        Staff(&[P::ServeCounter, P::ProcessApplications]),
    ),
    (
        "GET",
        "/staff/centre/endorsements",
        Staff(&[P::ServeCounter]),
    ),
    (
        "POST",
        "/staff/centre/endorsements",
        Staff(&[P::ServeCounter]),
    ),
    (
        "GET",
        "/staff/centre/endorsements/{id}",
        Staff(&[P::ServeCounter, P::ReviewEndorsements]),
    ),
    (
        "POST",
        "/staff/centre/endorsements/{id}/pay",
        Staff(&[P::ServeCounter]),
    ),
    (
        "GET",
        "/staff/endorsements/review",
        Staff(&[P::ReviewEndorsements]),
    ),
    (
        "POST",
        "/staff/endorsements/{id}/review",
        Staff(&[P::ReviewEndorsements]),
    ),
    (
        "GET",
        "/staff/pre-applications",
        Staff(&[P::ReviewPreApplications]),
    ),
    (
        "GET",
        "/staff/pre-applications/{id}",
        Staff(&[P::ReviewPreApplications, P::ServeCounter]),
    ),
    (
        "POST",
        "/staff/pre-applications/{id}/claim",
        Staff(&[P::ReviewPreApplications]),
    ),
    (
        "POST",
        "/staff/pre-applications/{id}/decide",
        Staff(&[P::ReviewPreApplications]),
    ),
    (
        "GET",
        "/staff/pre-applications/{id}/documents/{doc}",
        Staff(&[P::ReviewPreApplications, P::ServeCounter]),
    ),
    // Hall devices
    ("GET", "/kiosk", Public),
    ("POST", "/kiosk/pair", Public),
    ("POST", "/kiosk/unpair", Public),
    ("GET", "/kiosk/start", Public),
    ("GET", "/kiosk/collected", Device("kiosk")),
    ("GET", "/kiosk/endorsements", Device("kiosk")),
    ("POST", "/kiosk/ticket", Device("ticket_printer")),
    ("POST", "/kiosk/collect", Device("kiosk")),
    ("POST", "/kiosk/endorsements", Device("kiosk")),
    ("POST", "/api/v1/devices/status", Device("")),
    // Development
    ("GET", "/dev/outbox", Dev),
    ("GET", "/api/v1/dev/outbox", Dev),
    ("GET", "/dev/pay/{order}", Dev),
    ("POST", "/dev/pay/{order}", Dev),
    // The JSON API
    ("GET", "/api/openapi.json", Public),
    ("GET", "/api/v1/offices", Public),
    ("GET", "/api/v1/offices/{code}", Public),
    ("GET", "/api/v1/districts", Public),
    ("GET", "/api/v1/offices/{code}/slots", Public),
    ("GET", "/api/v1/trust-list", Public),
    ("GET", "/api/v1/status-list", Public),
    ("POST", "/api/v1/temporary-permits/applications", Public),
    ("GET", "/api/v1/temporary-permits/applications/{id}", Public),
    (
        "POST",
        "/api/v1/temporary-permits/applications/{id}/sms-code",
        Public,
    ),
    (
        "POST",
        "/api/v1/temporary-permits/applications/{id}/sms-code/resend",
        Public,
    ),
    (
        "POST",
        "/api/v1/temporary-permits/applications/{id}/face",
        Public,
    ),
    (
        "GET",
        "/api/v1/registry/search",
        Staff(&[P::SearchRegistry]),
    ),
    ("POST", "/api/v1/verify/permit", Partner(&["verify_permit"])),
    (
        "POST",
        "/api/v1/verify/linkage",
        Partner(&["verify_linkage"]),
    ),
    (
        "POST",
        "/api/v1/verify/credential",
        Partner(&["verify_credential"]),
    ),
    // A batch mixes kinds of checks; each line needs its own scope.
    (
        "POST",
        "/api/v1/verify/batch",
        Partner(&["verify_permit", "verify_linkage", "verify_credential"]),
    ),
    ("GET", "/api/v1/verify/usage", Partner(&[])),
    (
        "POST",
        "/api/v1/appointments",
        HolderOrPartner("book_appointments"),
    ),
    (
        "GET",
        "/api/v1/appointments/{id}",
        HolderOrPartner("book_appointments"),
    ),
    (
        "POST",
        "/api/v1/appointments/{id}/cancel",
        HolderOrPartner("book_appointments"),
    ),
    (
        "POST",
        "/api/v1/appointments/{id}/reschedule",
        HolderOrPartner("book_appointments"),
    ),
    ("POST", "/api/v1/border/crossings", Partner(&["border"])),
    ("POST", "/api/v1/payments/callbacks/{provider}", Signed),
    ("GET", "/api/v1/endorsements/choices", Holder),
    ("GET", "/api/v1/endorsements/applications", Holder),
    ("POST", "/api/v1/endorsements/applications", Holder),
    (
        "POST",
        "/api/v1/endorsements/applications/{id}/payments",
        Holder,
    ),
    (
        "POST",
        "/api/v1/endorsements/applications/{id}/cancel",
        Holder,
    ),
];

/// Routes as registered in the web crate's source: `.route("path" | CONST, get(..).post(..))`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files = vec![std::path::PathBuf::from(root)];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        let mut rest = src.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let arg = rest.trim_start();
            let path = if let Some(q) = arg.strip_prefix('"') {
                q[..q.find('"').unwrap()].to_string()
            } else {
                let ident: String = arg
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let decl = format!("const {ident}: &str = \"");
                let d = src
                    .find(&decl)
                    .unwrap_or_else(|| panic!("{ident} in {p:?}"));
                let v = &src[d + decl.len()..];
                v[..v.find('"').unwrap()].to_string()
            };
            // The method router: up to the matching parenthesis of `.route(`.
            let (mut depth, mut end) = (1, 0);
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let body = &rest[..end];
            for (m, name) in [("GET", "get("), ("POST", "post(")] {
                let found = body.match_indices(name).any(|(i, _)| {
                    i == 0 || !body[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if found {
                    out.insert((m.to_string(), path.clone()));
                }
            }
            assert!(
                !body.contains("put(") && !body.contains("delete(") && !body.contains("patch("),
                "{path}: add PUT/DELETE/PATCH to the matrix reader"
            );
        }
    }
    out
}

#[test]
fn every_route_has_an_access_decision() {
    let routes = routes_in_source();
    let decided: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&decided).collect();
    let stale: Vec<_> = decided.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes without an access decision: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "decisions for routes that do not exist: {stale:?}"
    );
}

/// A caller and how its requests are signed.
struct Caller {
    name: String,
    cookie: Option<String>,
    bearer: Option<String>,
    csrf: String,
    role: Option<Role>,
    holder: bool,
    applicant: bool,
    /// The kind of hall device this caller is.
    device: Option<&'static str>,
    scopes: Vec<&'static str>,
}

impl Caller {
    fn anonymous() -> Self {
        Caller {
            name: "anonymous".into(),
            cookie: None,
            bearer: None,
            csrf: String::new(),
            role: None,
            holder: false,
            applicant: false,
            device: None,
            scopes: Vec::new(),
        }
    }

    fn may(&self, access: Access) -> bool {
        match access {
            Public | Dev | Metrics => true,
            Staff(perms) => self
                .role
                .is_some_and(|r| perms.is_empty() || perms.iter().any(|p| r.can(*p))),
            Holder => self.holder,
            Applicant => self.applicant,
            Device(kind) => self.device.is_some_and(|d| kind.is_empty() || d == kind),
            Partner(any_of) => {
                !self.scopes.is_empty()
                    && (any_of.is_empty() || any_of.iter().any(|s| self.scopes.contains(s)))
            }
            HolderOrPartner(scope) => self.holder || self.scopes.contains(&scope),
            Signed => false,
        }
    }
}

async fn callers(t: &TestApp) -> Vec<Caller> {
    let app = &t.app;
    let mut out = vec![Caller::anonymous()];
    for (user, role) in [
        ("admin", Role::Admin),
        ("reviewer", Role::Reviewer),
        ("approver", Role::Approver),
        ("clerk", Role::CounterClerk),
    ] {
        let (token, s) = auth::login(app, user, PASSWORD).await.unwrap();
        out.push(Caller {
            name: user.into(),
            cookie: Some(format!("ee_session={token}")),
            csrf: s.csrf_token,
            role: Some(role),
            ..Caller::anonymous()
        });
    }
    holders::create_for_identity(app, "test", "11010519491231002X", "13800138000", PASSWORD)
        .await
        .unwrap();
    let (token, h) = holders::login(app, "13800138000", PASSWORD).await.unwrap();
    out.push(Caller {
        name: "holder".into(),
        cookie: Some(format!("ee_holder={token}")),
        csrf: h.csrf_token,
        holder: true,
        ..Caller::anonymous()
    });
    hrp::register(app, "ann@example.org", "en").await.unwrap();
    jobs::run_due(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let mail = exitentry_storage::jobs::outbox(&mut c, 5)
        .await
        .unwrap()
        .remove(0);
    drop(c);
    let link = mail.body.split("token=").nth(1).unwrap();
    let link: String = link.chars().take_while(char::is_ascii_hexdigit).collect();
    let (token, a) = hrp::verify_email(app, &link, PASSWORD).await.unwrap();
    out.push(Caller {
        name: "applicant".into(),
        cookie: Some(format!("ee_applicant={token}")),
        csrf: a.csrf_token,
        applicant: true,
        ..Caller::anonymous()
    });
    for kind in ["kiosk", "ticket_printer"] {
        let (_, device) =
            centre::create_device(app, "test", "GZ-TH-001", &format!("{kind}-1"), kind)
                .await
                .unwrap();
        // Hall devices post anonymous forms: the double-submit token in cookie and field.
        let csrf = "ab".repeat(32);
        out.push(Caller {
            name: format!("device:{kind}"),
            cookie: Some(format!("ee_device={device}; ee_login_csrf={csrf}")),
            bearer: Some(device),
            csrf,
            device: Some(kind),
            ..Caller::anonymous()
        });
    }
    for scope in [
        "verify_permit",
        "verify_linkage",
        "verify_credential",
        "book_appointments",
        "border",
    ] {
        let (_, key) = partners::create(
            app,
            "test",
            &NewPartner {
                name: format!("Partner {scope}"),
                kind: "other".into(),
                scopes: scope.into(),
                rate_per_second: None,
                daily_quota: None,
                client_cert_sha256: None,
            },
        )
        .await
        .unwrap();
        out.push(Caller {
            name: format!("partner:{scope}"),
            bearer: Some(key),
            scopes: vec![scope],
            ..Caller::anonymous()
        });
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{code}", "GZ-TH-001")
        .replace("{office}", "GZ-TH-001")
        .replace("{provider}", "alipay")
        .replace("{file}", "app.css")
        .replace("{order}", "missing-order")
        .replace("{id}", "1")
        .replace("{doc}", "1")
}

/// Turned away: not signed in (401, or sent to a sign-in page) or not allowed (403).
fn refused(status: StatusCode, location: Option<&str>) -> bool {
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || (status.is_redirection()
            && location.is_some_and(|l| {
                // A hall form without its device goes back to the pairing page.
                l == "/kiosk"
                    || ["/staff/login", "/my/login", "/apply/login"]
                        .iter()
                        .any(|p| l.starts_with(p))
            }))
}

async fn every_caller_gets_what_the_matrix_says(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 20).await;
    let callers = callers(&t).await;
    let c = t.client();
    let doc = get_json(&c, t.url("/api/openapi.json")).await;
    let mut wrong = Vec::new();
    // Signing out ends the caller's session: those routes go last.
    let mut matrix: Vec<_> = MATRIX.iter().collect();
    matrix.sort_by_key(|(_, path, _)| path.ends_with("/logout"));
    for (method, path, access) in matrix {
        for who in &callers {
            let url = t.url(&concrete(path));
            let mut req = if *method == "GET" {
                c.get(url)
            } else if path.starts_with("/api/") {
                c.post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .body("{}")
            } else {
                c.post(url).form(&[("csrf", who.csrf.as_str())])
            };
            if let Some(cookie) = &who.cookie {
                req = req.header(COOKIE, cookie);
            }
            if let Some(b) = &who.bearer
                && path.starts_with("/api/")
            {
                req = req.header(AUTHORIZATION, format!("Bearer {b}"));
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let location = r.headers().get(LOCATION).and_then(|v| v.to_str().ok());
            // A form answered with its page again (post/redirect/get) carries what it said
            // in the flash cookie; a refusal does not.
            let answered = r
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.starts_with("ee_flash=") && !v.starts_with("ee_flash=;"));
            let was_refused = refused(status, location) && !answered;
            let ok = if status.is_server_error() {
                false
            } else if matches!(access, Signed) {
                // A callback without the provider's signature changes nothing.
                status.is_client_error()
            } else if who.may(*access) {
                !was_refused || matches!(access, Public)
            } else {
                was_refused
            };
            // The API document lists every answer an operation gives.
            let op = &doc["paths"][*path][method.to_ascii_lowercase()];
            if path.starts_with("/api/v1/")
                && !path.starts_with("/api/v1/dev/")
                && op["responses"].get(status.as_str()).is_none()
            {
                wrong.push(format!(
                    "{method} {path} as {}: {status} is not in the API document",
                    who.name
                ));
            }
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {}: {status} {}",
                    who.name,
                    location.unwrap_or("")
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    t.stop().await;
}

backend_tests!(every_caller_gets_what_the_matrix_says);
