//! `exitentry demo`: a fresh, realistic registry on SQLite, then the server.

use anyhow::{Context, Result, bail};
use chrono::{Datelike, Timelike};
use exitentry_config::{Config, Secret};
use exitentry_demo as demo;
use exitentry_services::import::{self, ImportKind, ImportOptions, NoProgress};
use exitentry_services::{App, auth};
use std::sync::Arc;

/// The Guangzhou network, a few offices elsewhere on the mainland, and the CTS service
/// centres in Hong Kong.
pub const OFFICES_CSV: &str = include_str!("../seed/offices.csv");

/// The Guangzhou hall of the service-centre walk-through.
const DEMO_HALL: &str = "GZ-YX-002";

/// The CTS centre in Hong Kong where the non-Chinese permit is walked through.
const DEMO_HK_CENTRE: &str = "HK-KLN-001";

/// One account per role (username, role, password, office); the passwords are for the demo
/// only. The second clerk serves at the CTS centre in Hong Kong; the approver processes the
/// applications of every office (the permits the CTS centres accept included).
pub const DEMO_STAFF: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin", "admin", "demo-admin-pass", Some(DEMO_HALL)),
    (
        "reviewer",
        "reviewer",
        "demo-reviewer-pass",
        Some(DEMO_HALL),
    ),
    ("approver", "approver", "demo-approver-pass", None),
    ("clerk", "counter_clerk", "demo-clerk-pass", Some(DEMO_HALL)),
    (
        "hkclerk",
        "counter_clerk",
        "demo-hkclerk-pass",
        Some(DEMO_HK_CENTRE),
    ),
];

const DEMO_DIR: &str = "./data/demo";

pub async fn prepare(
    mut config: Config,
    people: usize,
    clock: Arc<dyn exitentry_services::Clock>,
) -> Result<App> {
    std::fs::create_dir_all(DEMO_DIR).with_context(|| format!("cannot create {DEMO_DIR}"))?;
    for f in ["exitentry.db", "exitentry.db-wal", "exitentry.db-shm"] {
        let p = std::path::Path::new(DEMO_DIR).join(f);
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the old {}", p.display()))?;
        }
    }
    config.database.url = Secret(format!("sqlite://{DEMO_DIR}/exitentry.db"));
    // Fresh signing keys too, so the trust list and status list are served at once.
    let keys_dir = format!("{DEMO_DIR}/keys");
    if std::path::Path::new(&keys_dir).exists() {
        std::fs::remove_dir_all(&keys_dir).with_context(|| format!("cannot remove {keys_dir}"))?;
    }
    config.credentials.keys_dir = keys_dir.clone();
    config.server.dev_providers = true;
    let alg = exitentry_credentials::Alg::parse(&config.credentials.algorithm)
        .unwrap_or(exitentry_credentials::Alg::Es256);
    exitentry_services::keys::KeyStore::new(&keys_dir)
        .init(alg, chrono::Utc::now().timestamp())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = exitentry_services::open_database(&config).await?;
    let app = App::new(db, config, clock).with_keys_from_config()?;
    let started = std::time::Instant::now();
    let opts = ImportOptions {
        skip_invalid: false,
        actor: "demo:seed".into(),
    };

    let s = import::run(
        &app,
        ImportKind::Offices,
        OFFICES_CSV.as_bytes(),
        &opts,
        &NoProgress,
    )
    .await?;
    if !s.problems.is_empty() {
        bail!("seed offices are invalid: {:?}", s.problems);
    }
    let codes = demo::office_codes(OFFICES_CSV);
    let files = demo::generate(20_261_122, people, app.today(), &app.policy, &codes);
    for (kind, csv) in [
        (ImportKind::People, files.people_csv),
        (ImportKind::Documents, files.documents_csv),
    ] {
        let csv = std::io::Cursor::new(csv);
        let s = import::run(&app, kind, csv, &opts, &NoProgress).await?;
        if !s.problems.is_empty() {
            bail!(
                "generated {} are invalid: {:?}",
                kind.name(),
                &s.problems[..s.problems.len().min(5)]
            );
        }
    }
    for (username, role, password, office) in DEMO_STAFF {
        auth::create_staff(&app, "demo:seed", username, password, role, *office).await?;
    }
    let expiry = demo::showcase_permit_expiry(&app).await.ok().flatten();
    let residence = demo::showcase_residence_permit(&app).await.ok().flatten();
    let centres = demo::seed_centres(&app, DEMO_HALL, DEMO_HK_CENTRE).await?;
    if app
        .now()
        .signed_duration_since(chrono::Utc::now())
        .num_minutes()
        .abs()
        > 1
    {
        println!("(demo clock set to {})", app.now());
    }
    print_welcome(
        &app,
        expiry,
        residence,
        &centres,
        files.people,
        files.documents,
        started.elapsed().as_secs_f64(),
    );
    Ok(app)
}

fn print_welcome(
    app: &App,
    permit_expiry: Option<chrono::NaiveDate>,
    residence_permit: Option<String>,
    centres: &demo::CentreDemo,
    people: usize,
    documents: usize,
    secs: f64,
) {
    let base = format!("http://{}", app.config.server.listen);
    println!();
    println!(
        "exitentry demo — {people} people, {documents} documents, {} offices ({secs:.1} s)",
        OFFICES_CSV.lines().count() - 1
    );
    println!("  database   {DEMO_DIR}/exitentry.db (SQLite, recreated on every start)");
    println!();
    println!("  home       {base}/");
    println!("  offices    {base}/offices?district=Tianhe&open24=1");
    println!("  staff      {base}/staff/login");
    println!("  API        {base}/api/openapi.json  ·  {base}/api/v1/offices");
    println!("  ops        {base}/healthz  ·  {base}/readyz  ·  {base}/metrics");
    println!("  verifiers  {base}/api/v1/trust-list  ·  {base}/api/v1/status-list");
    println!(
        "  dev outbox {base}/dev/outbox  (SMS codes and emails land here in the demo; JSON at /api/v1/dev/outbox)"
    );
    println!();
    println!("  demo logins (username / password / role / office):");
    for (u, r, p, o) in DEMO_STAFF {
        println!("    {u:<9} {p:<20} {r:<14} {}", o.unwrap_or("every office"));
    }
    println!();
    println!("  try searching the registry for:");
    for (number, what) in demo::SHOWCASE {
        println!("    {number:<10} {what}");
    }
    println!();
    if let Some(exp) = permit_expiry {
        println!("  temporary e-permit (phone-sized window): {base}/temporary-permit");
        println!(
            "    home return permit H12345678 · name 陳大文 or CHAN TAI MAN · expires {exp} · male"
        );
        println!("    any mainland mobile (e.g. 13800138000); the SMS code is in the dev outbox");
        println!(
            "    then sign in at {base}/my; officers see it at {base}/staff/temporary-permits"
        );
        println!();
    }
    if let Some(rp) = residence_permit {
        println!(
            "  linkage proof: signed in at {base}/my → linkage proof; or at the counter as clerk:"
        );
        println!(
            "    {base}/staff/linkage-proofs with H12345678 + residence permit {rp} + CHAN TAI MAN"
        );
        println!();
    }
    println!(
        "  service centre: {} slots over two weeks at the Guangzhou halls",
        centres.slots
    );
    println!(
        "    book: sign in at {base}/my as {} / {} (李华, card CA1234567), then {base}/my/appointments",
        centres.holder_mobile, centres.holder_password
    );
    println!(
        "    in the building ({}): clerk → {base}/staff/centre · call display {base}/display/{}",
        centres.office, centres.office
    );
    println!(
        "    machines at {base}/kiosk — ticket printer token {}",
        centres.printer_token
    );
    println!(
        "                              collection kiosk token {}",
        centres.kiosk_token
    );
    println!("    processing done: approver → {base}/staff/centre/applications?status=paid");
    println!(
        "  endorsements: as 李华 at {base}/my/endorsements → apply (e.g. Hong Kong G) → pay in the sandbox → at the"
    );
    println!(
        "    collection kiosk ({base}/kiosk) card CA1234567 + 11010519491231002X → print; border control:"
    );
    println!(
        "    exitentry --database-url sqlite://{DEMO_DIR}/exitentry.db partners create --name border --kind government --scopes border"
    );
    println!(
        "    then POST {base}/api/v1/border/crossings {{document_number, destination, direction, at}} with the key"
    );
    println!(
        "    at the counter: clerk → {base}/staff/centre/endorsements (any type; family visits go to reviewer → {base}/staff/endorsements/review)"
    );
    println!(
        "  non-Chinese permit, issued in Hong Kong by China Travel Service Entry Permit Service Hong Kong Ltd:"
    );
    println!(
        "    {base}/apply → account (the link is in the dev outbox) → form and documents → submit;"
    );
    println!(
        "    reviewer → {base}/staff/pre-applications → approve or ask for supplements; then book {} (CTS Kowloon",
        centres.hk_office
    );
    println!(
        "    Service Centre; {} slots at the three CTS centres, {} Hong Kong public holidays in their calendar)",
        centres.hk_slots, centres.hk_holidays
    );
    println!(
        "    at the centre ({}): hkclerk → {base}/staff/centre · call display {base}/display/{} · HK$260 by cash,",
        centres.hk_office, centres.hk_office
    );
    println!(
        "    EPS, Octopus or credit card · collection 20 Hong Kong working days later at the centre's kiosk"
    );
    println!(
        "    {} ticket printer token {}",
        centres.hk_office, centres.hk_printer_token
    );
    println!(
        "    {} collection kiosk token {}",
        centres.hk_office, centres.hk_kiosk_token
    );
    println!(
        "    a renewal keeps the number: SMITH JOHN, HKID C668668(9), born 1978-11-02, GBR, holds HA1234567 (issue 01)"
    );
    // Check-in works on the booked day only: outside counter hours, suggest a clock start.
    let local = app.now().with_timezone(&exitentry_domain::time::BEIJING);
    if local.hour() >= 16 || local.hour() < 9 || local.weekday().number_from_monday() > 5 {
        let mut day = local.date_naive() + chrono::Duration::days(1);
        while day.weekday().number_from_monday() > 5 {
            day += chrono::Duration::days(1);
        }
        println!(
            "    counters are closed now; to walk a working day: cargo run --release -- demo --clock-start {day}T09:00:00+08:00"
        );
    }
    println!();
    println!("  languages: 简体中文 · 繁體中文 · English (switch at the top right)");
    println!("  press Ctrl-C to stop");
    println!();
}
