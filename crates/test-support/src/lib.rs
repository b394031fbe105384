//! `TestApp::spawn`: the real server on port 0 over a fresh database of either backend,
//! with a manual clock, for HTTP tests that read like a user's session.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::{TimeZone, Utc};
use exitentry_config::Config;
use exitentry_demo as demo;
use exitentry_services::import::{self, ImportKind, ImportOptions, NoProgress};
use exitentry_services::{App, Clock, ManualClock, auth};
use exitentry_storage::Backend;
use exitentry_storage::testing::TestDb;
use std::sync::Arc;

pub mod smtp;

#[doc(hidden)]
pub use exitentry_storage as storage;
pub use exitentry_storage::backend_tests;

/// One HTTP test per backend, each with its own server and database: `http_tests!(name, …)`
/// for `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! http_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                if !$crate::storage::testing::enabled($crate::storage::Backend::Sqlite) { return; }
                super::$name($crate::storage::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                if !$crate::storage::testing::enabled($crate::storage::Backend::Postgres) { return; }
                super::$name($crate::storage::Backend::Postgres).await;
            }
        }
    )*};
}

/// Offices for tests: a hall and a 24-hour self-service point in Tianhe, one in Yuexiu.
pub const OFFICES_CSV: &str = "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices
GZ-TH-001,天河区分局出入境接待大厅,天河區分局出入境接待大廳,Tianhe Exit-Entry Hall,Guangzhou,Tianhe,广州市天河区天河北路1号,county,0,4
GZ-TH-002,体育西24小时自助服务点,體育西24小時自助服務點,Tiyu Xi 24h Self-Service Point,Guangzhou,Tianhe,广州市天河区体育西路2号,point,1,2
GZ-YX-001,越秀区分局出入境接待大厅,越秀區分局出入境接待大廳,Yuexiu Exit-Entry Hall,Guangzhou,Yuexiu,广州市越秀区解放南路3号,prefecture,0,6
";

/// Password of every account `seed` creates.
pub const PASSWORD: &str = "test-password-123";

/// A real 1×1 PNG (signature, IHDR, IDAT, IEND): a well-formed "photo" for face checks.
pub const TINY_PNG: &[u8] = include_bytes!("tiny.png");

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

    /// Like [`TestApp::spawn`], with freshly initialised signing keys (ES256).
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

    async fn start(
        backend: Backend,
        with_keys: bool,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0)
                .single()
                .expect("date"),
        ));
        let mut config = Config::default();
        let keys_dir = with_keys.then(|| tempfile::tempdir().expect("keys dir"));
        if let Some(dir) = &keys_dir {
            // The full stack for journeys: keys plus the development SMS and face providers.
            config.server.dev_providers = true;
            config.credentials.keys_dir = dir.path().display().to_string();
            exitentry_services::keys::KeyStore::new(dir.path())
                .init(exitentry_credentials::Alg::Es256, clock.now().timestamp())
                .expect("keys");
        }
        configure(&mut config);
        let app = App::new(db.db.clone(), config, clock.clone())
            .with_keys_from_config()
            .expect("load keys");
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
        let opts = ImportOptions {
            skip_invalid: false,
            actor: "test:seed".into(),
        };
        let run = |kind, csv: String| {
            let app = self.app.clone();
            let opts = opts.clone();
            async move {
                let s = import::run(&app, kind, csv.as_bytes(), &opts, &NoProgress)
                    .await
                    .expect("import");
                assert!(s.problems.is_empty(), "seed data invalid: {:?}", s.problems);
            }
        };
        run(ImportKind::Offices, OFFICES_CSV.to_string()).await;
        let files = demo::generate(
            5,
            people,
            self.app.today(),
            &self.app.policy,
            &["GZ-TH-001".into(), "GZ-YX-001".into()],
        );
        run(ImportKind::People, files.people_csv).await;
        run(ImportKind::Documents, files.documents_csv).await;
        for (u, role) in [
            ("admin", "admin"),
            ("reviewer", "reviewer"),
            ("approver", "approver"),
            ("clerk", "counter_clerk"),
        ] {
            auth::create_staff(&self.app, "test:seed", u, PASSWORD, role, Some("GZ-TH-001"))
                .await
                .expect("staff");
        }
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

    /// Signs `client` in through the login form (CSRF cookie and field included).
    pub async fn login(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = client
            .get(self.url("/staff/login"))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("body");
        let csrf = hidden_field(&page, "csrf").expect("csrf field");
        client
            .post(self.url("/staff/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf", csrf.as_str()),
                ("next", "/staff"),
            ])
            .send()
            .await
            .expect("login post")
    }

    pub async fn stop(mut self) {
        self.server.abort();
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}
