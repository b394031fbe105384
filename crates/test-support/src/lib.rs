//! The one test harness. [`fixtures`]: what service and HTTP tests share (offices, the demo
//! registry, staff, partners, keys, an `App` with the manual clock). [`TestApp::spawn`]: the
//! real server on port 0 over a fresh database of either backend, for HTTP tests that read
//! like a user's session, with helpers for the steps they repeat (signing in, reading a
//! page, posting a form with its CSRF token). [`backend_tests!`] runs a test on each backend.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_config::Config;
use exitentry_services::App;
use exitentry_services::ManualClock;
use exitentry_storage::testing::TestDb;
use reqwest::StatusCode;
use std::sync::Arc;

pub mod fixtures;
pub mod smtp;

pub use exitentry_storage::{Backend, backend_tests};
pub use fixtures::{
    LI_HUA_ID, OFFICES, OFFICES_CSV, PASSWORD, TINY_PNG, app, app_with_config, app_with_keys,
    assert_locks_out, audited, chan_expiry, error_code, import, paid_in_sandbox, partner,
    partner_context, partner_key, person_id, problems, refusing_faces, seed_registry, seeded,
    staff_session,
};

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: Arc<ManualClock>,
    db: Option<TestDb>,
    server: tokio::task::JoinHandle<()>,
    _keys_dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// Starts the server on 127.0.0.1:0 over a fresh, migrated database.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::start(backend, false, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with freshly initialised signing keys (ES256) and the
    /// development SMS and face providers: the full stack for journeys.
    pub async fn spawn_with_keys(backend: Backend) -> TestApp {
        Self::start(backend, true, |_| {}).await
    }

    /// Like [`TestApp::spawn_with_keys`], with settings changed by `configure`.
    pub async fn spawn_configured(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        Self::start(backend, true, configure).await
    }

    /// [`TestApp::spawn`] and [`TestApp::seed`] with `people` random people.
    pub async fn seeded(backend: Backend, people: usize) -> TestApp {
        let t = Self::spawn(backend).await;
        t.seed(people).await;
        t
    }

    /// [`TestApp::spawn_with_keys`] and [`TestApp::seed`] with `people` random people.
    pub async fn seeded_with_keys(backend: Backend, people: usize) -> TestApp {
        let t = Self::spawn_with_keys(backend).await;
        t.seed(people).await;
        t
    }

    async fn start(
        backend: Backend,
        with_keys: bool,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let fixtures::Services {
            app,
            clock,
            keys_dir,
        } = fixtures::Services::new(db.db.clone(), with_keys, configure);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let service = exitentry_web::router(app.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, service).await;
        });
        TestApp {
            base,
            app,
            clock,
            db: Some(db),
            server,
            _keys_dir: keys_dir,
        }
    }

    /// Offices, the showcase people plus `people` random ones, and one account per role
    /// (`admin`, `reviewer`, `approver`, `clerk`) with [`PASSWORD`].
    pub async fn seed(&self, people: usize) {
        fixtures::seed_for_http(&self.app, people).await;
    }

    /// A client with its own cookie jar that does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        exitentry_services::providers::install_tls_provider();
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs `client` in through the staff login form (CSRF cookie and field included).
    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let account = [("username", username), ("password", password)];
        self.sign_in(client, "/staff/login", account).await
    }

    /// A new client signed in as the seeded staff member `username` (with [`PASSWORD`]).
    pub async fn staff(&self, username: &str) -> reqwest::Client {
        let c = self.client();
        self.login(&c, username, PASSWORD).await;
        c
    }

    /// Posts the sign-in form at `page` (`/staff/login`, `/my/login`) with the account's
    /// name and password fields and the form's CSRF token, to go on to the area's start.
    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        page: &str,
        [name, password]: [(&str, &str); 2],
    ) -> reqwest::Response {
        let csrf = self.csrf(client, page).await;
        let next = page.trim_end_matches("/login");
        let form = [name, password, ("csrf", csrf.as_str()), ("next", next)];
        self.post_form(client, page, &form).await
    }

    /// Registers an applicant through the pages and follows the emailed link; returns the
    /// signed-in client and its CSRF token.
    pub async fn applicant(&self, email: &str) -> (reqwest::Client, String) {
        let c = self.client();
        let csrf = self.csrf(&c, "/apply/register").await;
        let form = [("csrf", csrf.as_str()), ("email", email), ("lang", "en")];
        let r = self.post_form(&c, "/apply/register", &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        exitentry_services::jobs::run_due(&self.app)
            .await
            .expect("jobs");
        let mail = exitentry_services::jobs::outbox(&self.app, 50)
            .await
            .expect("outbox")
            .into_iter()
            .find(|m| m.recipient == email)
            .expect("the link's email");
        let token: String = mail
            .body
            .split("token=")
            .nth(1)
            .expect("a link")
            .chars()
            .take(64)
            .collect();
        let csrf = self.csrf(&c, &format!("/apply/verify?token={token}")).await;
        let form = [
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("password", "correct horse battery"),
        ];
        let r = self.post_form(&c, "/apply/verify", &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let csrf = self.csrf(&c, "/apply/applications").await;
        (c, csrf)
    }

    /// A partner of kind `airline` with these scopes and rate; returns its API key.
    pub async fn partner_key(&self, name: &str, scopes: &str, rate: Option<i64>) -> String {
        let mut p = partner(name, "airline", scopes);
        p.rate_per_second = rate;
        partner_key(&self.app, &p).await
    }

    /// `GET path` as `client`.
    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.expect("get")
    }

    /// Posts `form` (URL-encoded) to `path` as `client`.
    pub async fn post_form<F: serde::Serialize + ?Sized>(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &F,
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("post")
    }

    /// Posts `body` as JSON to `path` as `client`, with `key` as the bearer token if given.
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut r = client.post(self.url(path)).json(body);
        if let Some(key) = key {
            r = r.bearer_auth(key);
        }
        r.send().await.expect("post")
    }

    /// The page at `path` as `client` sees it.
    pub async fn text(&self, client: &reqwest::Client, path: &str) -> String {
        let r = self.get(client, path).await;
        r.text().await.expect("body")
    }

    /// `GET path` as `client`, asking for `lang` (`Accept-Language`).
    pub async fn get_in(
        &self,
        client: &reqwest::Client,
        path: &str,
        lang: &str,
    ) -> reqwest::Response {
        let r = client.get(self.url(path));
        let r = r.header(reqwest::header::ACCEPT_LANGUAGE, lang);
        r.send().await.expect("get")
    }

    /// The page at `path` as `client` sees it when asking for `lang`.
    pub async fn text_in(&self, client: &reqwest::Client, path: &str, lang: &str) -> String {
        let r = self.get_in(client, path, lang).await;
        r.text().await.expect("body")
    }

    /// The status `client` gets for `GET path`.
    pub async fn status(&self, client: &reqwest::Client, path: &str) -> StatusCode {
        self.get(client, path).await.status()
    }

    /// A form's answer drawn as a page (post, redirect, get): the 303 to the page's own
    /// address, and that page as `client` then gets it (200).
    pub async fn shown(&self, client: &reqwest::Client, r: reqwest::Response) -> String {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "post/redirect/get");
        let to = header(&r, reqwest::header::LOCATION).to_string();
        let page = self.get(client, &to).await;
        assert_eq!(page.status(), StatusCode::OK, "{to}");
        page.text().await.expect("body")
    }

    /// The CSRF token of the form on the page at `path`, as `client` gets it.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        csrf_field(&self.text(client, path).await)
    }

    pub async fn stop(mut self) {
        self.server.abort();
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

pub async fn get_text(c: &reqwest::Client, url: String) -> String {
    let r = c.get(url).send().await.expect("get");
    r.text().await.expect("body")
}

pub async fn get_json(c: &reqwest::Client, url: String) -> serde_json::Value {
    let r = c.get(url).send().await.expect("get");
    r.json().await.expect("json")
}

/// A response header's value as text.
pub fn header(r: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> &str {
    r.headers()
        .get(name)
        .expect("the header")
        .to_str()
        .expect("a text header")
}

/// The code of a JSON error answer (`{"error": {"code": …}}`).
pub async fn error_code_of(r: reqwest::Response) -> String {
    let body: serde_json::Value = r.json().await.expect("a JSON error");
    body["error"]["code"]
        .as_str()
        .expect("an error code")
        .to_string()
}

/// What a form's answer left for the page it redirects to (post/redirect/get): the flash
/// cookie's content (`e`: the error in English, Simplified and Traditional Chinese; `f`: its
/// field; `k`: the fields kept), or null.
pub fn flash_of(r: &reqwest::Response) -> serde_json::Value {
    use base64::Engine;
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("__Host-").unwrap_or(v))
        .filter_map(|v| v.strip_prefix("ee_flash="))
        .filter_map(|v| {
            v.split(';')
                .next()?
                .split_once('.')
                .map(|(b, _)| b.to_string())
        })
        .filter_map(|b| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b)
                .ok()
        })
        .find_map(|json| serde_json::from_slice(&json).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The English message of the error a form's answer left for its page ("" without one).
pub fn flash_error(r: &reqwest::Response) -> String {
    flash_of(r)["e"][0].as_str().unwrap_or("").to_string()
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// The CSRF token of the form in a page.
pub fn csrf_field(html: &str) -> String {
    hidden_field(html, "csrf").expect("csrf field")
}
