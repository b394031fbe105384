//! Shared set-up for service tests: an App over a fresh database with a manual clock.

#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::{TimeZone, Utc};
use exitentry_config::Config;
use exitentry_services::import::{self, ImportKind, ImportOptions, ImportSummary, NoProgress};
use exitentry_services::{App, ManualClock};
use exitentry_storage::testing::TestDb;
use std::sync::Arc;

pub const OFFICES: &str = "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices
GZ-TH-001,天河区分局出入境接待大厅,天河區分局出入境接待大廳,Tianhe Exit-Entry Hall,Guangzhou,Tianhe,广州市天河区天河北路1号,county,0,4
GZ-TH-002,体育西24小时自助服务点,體育西24小時自助服務點,Tiyu Xi 24h Self-Service Point,Guangzhou,Tianhe,广州市天河区体育西路2号,point,1,2
";

pub fn app(t: &TestDb) -> (App, Arc<ManualClock>) {
    app_with_config(t, Config::default())
}

pub fn app_with_config(t: &TestDb, config: Config) -> (App, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
    ));
    (App::new(t.db.clone(), config, clock.clone()), clock)
}

/// Like [`app`], with freshly initialised signing keys (kept alive by the returned folder)
/// and the development providers (SMS to the outbox, a face check that accepts).
pub fn app_with_keys(t: &TestDb) -> (App, Arc<ManualClock>, tempfile::TempDir) {
    let mut config = Config::default();
    config.server.dev_providers = true;
    let (app, clock) = app_with_config(t, config);
    let dir = tempfile::tempdir().unwrap();
    let store = exitentry_services::keys::KeyStore::new(dir.path());
    store
        .init(exitentry_credentials::Alg::Es256, app.now().timestamp())
        .unwrap();
    let mut app = app;
    app.keys = Some(Arc::new(store.load().unwrap()));
    (app, clock, dir)
}

pub async fn import(app: &App, kind: ImportKind, csv: &str, skip_invalid: bool) -> ImportSummary {
    let opts = ImportOptions {
        skip_invalid,
        actor: "test".into(),
    };
    import::run(app, kind, csv.as_bytes(), &opts, &NoProgress)
        .await
        .unwrap()
}

/// `(row, column, code)` of every problem, for exact comparisons.
pub fn problems(s: &ImportSummary) -> Vec<(u64, String, String)> {
    s.problems
        .iter()
        .map(|p| (p.row, p.column.clone(), p.code.clone()))
        .collect()
}
