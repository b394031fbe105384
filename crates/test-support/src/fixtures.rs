//! Fixtures every test shares, with or without a server: the offices, the demo registry,
//! staff accounts, partners, signing keys, and an `App` over a fresh database with the
//! manual clock.

use chrono::{TimeZone, Utc};
use exitentry_config::Config;
use exitentry_demo as demo;
use exitentry_domain::staff::Role;
use exitentry_services::auth::StaffSession;
use exitentry_services::endorsement_applications::ApplicationView;
use exitentry_services::import::{self, ImportKind, ImportOptions, ImportSummary, NoProgress};
use exitentry_services::online_payments::{self as op, OrderRow};
use exitentry_services::partners::{self, NewPartner, PartnerContext};
use exitentry_services::providers::{DevFaceVerifier, Providers};
use exitentry_services::{App, Clock, ManualClock, ServiceError, auth};
use exitentry_storage::Db;
use exitentry_storage::testing::TestDb;
use std::future::Future;
use std::sync::Arc;

/// The two Tianhe offices: a hall and a 24-hour self-service point, with their addresses in
/// the three languages.
macro_rules! tianhe_offices {
    () => {
        "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,address_zh_hant,address_en
GZ-TH-001,天河区分局出入境接待大厅,天河區分局出入境接待大廳,Tianhe Exit-Entry Hall,Guangzhou,Tianhe,广州市天河区天河北路1号,county,0,4,廣州市天河區天河北路1號,\"No. 1 Tianhe North Road, Tianhe District, Guangzhou\"
GZ-TH-002,体育西24小时自助服务点,體育西24小時自助服務點,Tiyu Xi 24h Self-Service Point,Guangzhou,Tianhe,广州市天河区体育西路2号,point,1,2,廣州市天河區體育西路2號,\"No. 2 Tiyu West Road, Tianhe District, Guangzhou\"
"
    };
}

/// Offices for service tests: a hall and a 24-hour self-service point in Tianhe.
pub const OFFICES: &str = tianhe_offices!();

/// Offices for HTTP tests: [`OFFICES`] and a hall in Yuexiu whose address the registry
/// holds only in Simplified Chinese.
pub const OFFICES_CSV: &str = concat!(
    tianhe_offices!(),
    "GZ-YX-001,越秀区分局出入境接待大厅,越秀區分局出入境接待大廳,Yuexiu Exit-Entry Hall,Guangzhou,Yuexiu,广州市越秀区解放南路3号,prefecture,0,6,,
"
);

/// Password of every account [`seed_staff`] creates.
pub const PASSWORD: &str = "test-password-123";

/// A real 1×1 PNG (signature, IHDR, IDAT, IEND): a well-formed "photo" for face checks.
pub const TINY_PNG: &[u8] = include_bytes!("tiny.png");

/// 李华 of the showcase data: identity number.
pub const LI_HUA_ID: &str = "11010519491231002X";

/// The clock every test starts from: Sunday 2026-11-22, 10:00 in Beijing.
pub fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0)
            .single()
            .expect("date"),
    ))
}

/// An `App` over a database with the test clock, without a server; with signing keys, the
/// folder that holds them.
pub struct Services {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub keys_dir: Option<tempfile::TempDir>,
}

impl Services {
    /// With `with_keys`: freshly initialised signing keys (ES256) and the development
    /// providers (SMS to the outbox, a face check that accepts), before `configure` runs.
    pub fn new(db: Db, with_keys: bool, configure: impl FnOnce(&mut Config)) -> Services {
        let clock = test_clock();
        let mut config = Config::default();
        let keys_dir = with_keys.then(|| tempfile::tempdir().expect("keys dir"));
        if let Some(dir) = &keys_dir {
            config.server.dev_providers = true;
            config.credentials.keys_dir = dir.path().display().to_string();
            exitentry_services::keys::KeyStore::new(dir.path())
                .init(exitentry_credentials::Alg::Es256, clock.now().timestamp())
                .expect("keys");
        }
        configure(&mut config);
        let mut app = App::new(db, config, clock.clone());
        if keys_dir.is_some() {
            app = app.with_keys_from_config().expect("load keys");
        }
        Services {
            app,
            clock,
            keys_dir,
        }
    }
}

pub fn app(t: &TestDb) -> (App, Arc<ManualClock>) {
    app_with_config(t, Config::default())
}

pub fn app_with_config(t: &TestDb, config: Config) -> (App, Arc<ManualClock>) {
    let s = Services::new(t.db.clone(), false, |c| *c = config);
    (s.app, s.clock)
}

/// Like [`app`], with freshly initialised signing keys (kept alive by the returned folder)
/// and the development providers (SMS to the outbox, a face check that accepts).
pub fn app_with_keys(t: &TestDb) -> (App, Arc<ManualClock>, tempfile::TempDir) {
    let s = Services::new(t.db.clone(), true, |_| {});
    (s.app, s.clock, s.keys_dir.expect("keys"))
}

/// [`app_with_keys`] with [`OFFICES`], the demo registry's showcase people and `people`
/// random ones, and their documents.
pub async fn seeded(t: &TestDb, people: usize) -> (App, Arc<ManualClock>, tempfile::TempDir) {
    let (app, clock, dir) = app_with_keys(t);
    seed_registry(&app, people, true).await;
    (app, clock, dir)
}

/// Imports [`OFFICES`] and the demo registry (seed 3: the showcase people and `people`
/// random ones), and their documents when `documents` is set.
pub async fn seed_registry(app: &App, people: usize, documents: bool) {
    import(app, ImportKind::Offices, OFFICES, false).await;
    let files = demo::generate(3, people, app.today(), &app.policy, &[]);
    import(app, ImportKind::People, &files.people_csv, false).await;
    if documents {
        import(app, ImportKind::Documents, &files.documents_csv, false).await;
    }
}

pub async fn import(app: &App, kind: ImportKind, csv: &str, skip_invalid: bool) -> ImportSummary {
    import_as(app, "test", kind, csv, skip_invalid).await
}

async fn import_as(
    app: &App,
    actor: &str,
    kind: ImportKind,
    csv: &str,
    skip_invalid: bool,
) -> ImportSummary {
    let opts = ImportOptions {
        skip_invalid,
        actor: actor.into(),
    };
    let csv = std::io::Cursor::new(csv.to_owned());
    import::run(app, kind, csv, &opts, &NoProgress)
        .await
        .expect("import")
}

/// The code a service call is refused with; a call that succeeds fails the test.
pub async fn error_code<T: std::fmt::Debug>(
    call: impl Future<Output = Result<T, ServiceError>>,
) -> &'static str {
    call.await.expect_err("the call should be refused").code()
}

/// Asserts that a service call is refused with `code`; a failure names the test's own line.
#[macro_export]
macro_rules! assert_refused {
    ($call:expr, $code:expr $(,)?) => {
        assert_eq!($crate::error_code($call).await, $code)
    };
}

/// Signs in with a wrong password until the account locks (`max_failed_logins - 1` answers
/// of a wrong password, then the lock), and checks that the lock refuses the right
/// `password` too. `login` signs in to the one account with the password it is given.
pub async fn assert_locks_out<T: std::fmt::Debug, F>(
    app: &App,
    login: impl Fn(&'static str) -> F,
    password: &'static str,
) where
    F: Future<Output = Result<T, ServiceError>>,
{
    let max = app.config.security.max_failed_logins;
    for attempt in 1..max {
        let r = login("not the password").await;
        assert!(
            matches!(r, Err(ServiceError::BadCredentials)),
            "attempt {attempt}: {r:?}"
        );
    }
    let r = login("not the password").await;
    assert!(
        matches!(r, Err(ServiceError::Locked { .. })),
        "attempt {max}: {r:?}"
    );
    let r = login(password).await;
    assert!(
        matches!(r, Err(ServiceError::Locked { .. })),
        "the right password while locked: {r:?}"
    );
}

/// How many of the latest thousand audit entries record `action`.
pub async fn audited(app: &App, action: &str) -> usize {
    exitentry_services::audit::recent(app, 1000)
        .await
        .expect("audit entries")
        .iter()
        .filter(|e| e.entry.action == action)
        .count()
}

/// `(row, column, code)` of every problem, for exact comparisons.
pub fn problems(s: &ImportSummary) -> Vec<(u64, String, String)> {
    s.problems
        .iter()
        .map(|p| (p.row, p.column.clone(), p.code.clone()))
        .collect()
}

/// What the HTTP tests' server holds: [`OFFICES_CSV`], the demo registry (seed 5: the
/// showcase people plus `people` random ones in Tianhe and Yuexiu) and [`seed_staff`].
pub async fn seed_for_http(app: &App, people: usize) {
    let seed = async |kind, csv: &str| {
        let s = import_as(app, "test:seed", kind, csv, false).await;
        assert!(s.problems.is_empty(), "seed data invalid: {:?}", s.problems);
    };
    seed(ImportKind::Offices, OFFICES_CSV).await;
    let files = demo::generate(
        5,
        people,
        app.today(),
        &app.policy,
        &["GZ-TH-001".into(), "GZ-YX-001".into()],
    );
    seed(ImportKind::People, &files.people_csv).await;
    seed(ImportKind::Documents, &files.documents_csv).await;
    seed_staff(app).await;
}

/// One account per role at GZ-TH-001 (`admin`, `reviewer`, `approver`, `clerk`), each with
/// [`PASSWORD`].
pub async fn seed_staff(app: &App) {
    for (u, role) in [
        ("admin", "admin"),
        ("reviewer", "reviewer"),
        ("approver", "approver"),
        ("clerk", "counter_clerk"),
    ] {
        auth::create_staff(app, "test:seed", u, PASSWORD, role, Some("GZ-TH-001"))
            .await
            .expect("staff");
    }
}

/// A partner with default rate, quota and no certificate.
pub fn partner(name: &str, kind: &str, scopes: &str) -> NewPartner {
    NewPartner {
        name: name.into(),
        kind: kind.into(),
        scopes: scopes.into(),
        rate_per_second: None,
        daily_quota: None,
        client_cert_sha256: None,
    }
}

/// Creates the partner; returns its API key.
pub async fn partner_key(app: &App, p: &NewPartner) -> String {
    partners::create(app, "test", p).await.expect("partner").1
}

/// Creates the partner and authenticates its key, as a request with it would.
pub async fn partner_context(app: &App, p: &NewPartner) -> PartnerContext {
    let key = partner_key(app, p).await;
    partners::authenticate(app, &key).await.expect("key")
}

/// The registry's id of the person with this identity number.
pub async fn person_id(app: &App, id_number: &str) -> i64 {
    let mut c = app.db.conn().await.expect("conn");
    exitentry_storage::people::by_id_number(&mut c, id_number)
        .await
        .expect("people")[0]
        .id
}

/// A signed-in staff member as the services see one (user 1).
pub fn staff_session(role: Role, username: &str, office: Option<&str>) -> StaffSession {
    StaffSession {
        user_id: 1,
        username: username.into(),
        role,
        office_code: office.map(str::to_string),
        csrf_token: String::new(),
    }
}

/// The same app with a face check that refuses everyone.
pub fn refusing_faces(app: &App) -> App {
    app.clone().with_providers(Providers {
        sms: app.providers.sms.clone(),
        email: app.providers.email.clone(),
        face: Some(Arc::new(DevFaceVerifier { accept: false })),
        payments: None,
    })
}

/// The expiry date of 陳大文's current home return permit (showcase data: his third card).
pub async fn chan_expiry(app: &App) -> String {
    let mut c = app.db.conn().await.expect("conn");
    let docs = exitentry_storage::documents::by_number(&mut c, "H12345678")
        .await
        .expect("documents");
    let current = docs
        .iter()
        .find(|(d, _)| d.doc.issue_count == Some(3))
        .expect("the current card");
    current.0.doc.expires_on.to_string()
}

/// Starts the online payment of an endorsement application with `provider` and has the
/// sandbox provider take it: the order, and the callback it then sends (body, signature).
pub async fn paid_in_sandbox(
    app: &App,
    a: &ApplicationView,
    provider: &str,
) -> (OrderRow, (String, String)) {
    let subject = format!("endorsement_application:{}", a.id);
    let (order, _) = op::start(app, &subject, provider, a.fee_cents, "test")
        .await
        .expect("order");
    let secret = app.config.endorsements.sandbox_secret.expose();
    let sandbox = app.sandbox.clone().expect("the sandbox provider");
    let callback = sandbox.decide(secret, &order, op::Outcome::Paid);
    (order, callback)
}
