//! The CTS service centres in Hong Kong and the levels of the office network, on both
//! backends: the seed network (every office at its real level, the three CTS centres the
//! only ones taking the non-Chinese permit), the permit's journey at a Hong Kong centre
//! (HKD, EPS, Hong Kong's holidays and working days), mainland halls that no longer queue
//! or accept it, paper linkage proofs only where offered at county level or above, and what
//! the demo seeds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use super::pre_applications::{
    accept_request, applicant, approve, first_permit, form, photo_and_call, submitted,
    walk_in_called,
};
use chrono::{NaiveDate, TimeZone, Utc};
use exitentry_domain::centre::add_working_days;
use exitentry_domain::hrp::Form;
use exitentry_domain::office::{HolidayCalendar, Office, OfficeLevel, Service};
use exitentry_domain::staff::Role;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest, DayScope};
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{self, Desk};
use exitentry_services::counter_terminal::{
    Charge, ChargeOutcome, CounterPayments, SandboxPayments,
};
use exitentry_services::import::ImportKind;
use exitentry_services::pre_applications::ApplicantSession;
use exitentry_services::{App, ManualClock};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{app, app_with_keys, import, problems, staff_session};
use exitentry_test_support::{assert_refused, backend_tests, error_code};

/// The demo's office network, as shipped.
const SEED: &str = include_str!("../../../cli/seed/offices.csv");

const CTS_CENTRES: [&str; 3] = ["HK-HKI-001", "HK-KLN-001", "HK-NT-001"];

fn staff(role: Role, office: Option<&str>) -> StaffSession {
    staff_session(role, &format!("{}1", role.code()), office)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn seed_offices(app: &App) {
    let s = import(app, ImportKind::Offices, SEED, false).await;
    assert!(s.problems.is_empty(), "{:?}", problems(&s));
}

async fn all_offices(app: &App) -> Vec<Office> {
    let mut c = app.db.conn().await.unwrap();
    exitentry_storage::offices::list(
        &mut c,
        &exitentry_storage::offices::OfficeFilter {
            limit: 10_000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .0
}

fn codes(offices: &[Office]) -> Vec<String> {
    let mut v: Vec<String> = offices
        .iter()
        .map(|o| o.code.as_str().to_string())
        .collect();
    v.sort();
    v
}

/// Every seed office at its real level: 24-hour and other self-service points are points,
/// district bureaus' halls county, the city bureau's prefecture, the province's province;
/// the three CTS centres in Hong Kong follow Hong Kong's holidays and are the only offices
/// taking the non-Chinese permit; paper linkage proofs exactly at the public-security
/// offices of county level or above.
async fn the_seed_network_has_real_levels_and_the_cts_centres(t: &TestDb) {
    let (app, _) = app(t);
    seed_offices(&app).await;
    let all = all_offices(&app).await;
    assert_eq!(all.len(), 182);
    // Every office's address in the pages' three languages: Simplified and Traditional
    // Chinese, and English in Latin letters naming the city.
    let cjk = |s: &str| s.chars().any(|c| ('\u{3400}'..='\u{9fff}').contains(&c));
    for o in &all {
        let c = o.code.as_str();
        assert!(cjk(&o.address) && cjk(&o.address_zh_hant), "{c}");
        assert!(!cjk(&o.address_en) && !o.address_en.is_empty(), "{c}");
        let city = o.city.replace("HongKong", "Hong Kong");
        assert!(o.address_en.contains(&city), "{c}: {}", o.address_en);
    }
    let yuexiu = all.iter().find(|o| o.code.as_str() == "GZ-YX-002").unwrap();
    assert_eq!(yuexiu.address_zh_hant, "廣州市越秀區解放南路155號");
    assert_eq!(
        yuexiu.address_en,
        "No. 155 Jiefang South Road, Yuexiu District, Guangzhou"
    );

    let cts: Vec<Office> = all
        .iter()
        .filter(|o| o.level == OfficeLevel::CtsCentre)
        .cloned()
        .collect();
    assert_eq!(codes(&cts), CTS_CENTRES);
    for o in &cts {
        let c = o.code.as_str();
        assert_eq!(o.calendar, HolidayCalendar::HongKong, "{c}");
        assert_eq!(o.city, "HongKong", "{c}");
        assert!(
            o.name_zh_hans
                .starts_with("中国旅行社入境证件服务香港有限公司"),
            "{c}"
        );
        assert!(
            o.name_zh_hant
                .starts_with("中國旅行社入境證件服務香港有限公司"),
            "{c}"
        );
        assert!(
            o.name_en
                .starts_with("China Travel Service Entry Permit Service"),
            "{c}"
        );
        assert!(o.address.starts_with("香港"), "{c}");
        assert!(!o.open_24h && o.self_service_devices > 0, "{c}");
        exitentry_domain::centre::template_from_hours(&o.opening_hours, 30, 1).unwrap();
        for s in [Service::Hrp, Service::HrpNonChinese, Service::Collection] {
            assert!(o.services.contains(&s), "{c} {s:?}");
        }
        assert!(!o.services.contains(&Service::LinkageProofPaper), "{c}");
        assert!(!o.services.contains(&Service::EepApplication), "{c}");
    }
    let taking = exitentry_services::offices::offering(&app, Some(Service::HrpNonChinese))
        .await
        .unwrap();
    assert_eq!(
        codes(&taking),
        CTS_CENTRES,
        "mainland halls no longer take it"
    );

    let gz: Vec<&Office> = all.iter().filter(|o| o.city == "Guangzhou").collect();
    assert_eq!(gz.len(), 165);
    assert_eq!(gz.iter().filter(|o| o.open_24h).count(), 106);
    for o in all.iter().filter(|o| o.level != OfficeLevel::CtsCentre) {
        let (c, name) = (o.code.as_str(), o.name_zh_hans.as_str());
        assert_eq!(o.calendar, HolidayCalendar::Mainland, "{c}");
        let want = if name.contains("自助") {
            OfficeLevel::Point
        } else if name.contains("省公安厅") {
            OfficeLevel::Province
        } else if name.contains("市公安局出入境管理支队") {
            OfficeLevel::Prefecture
        } else {
            OfficeLevel::County
        };
        assert_eq!(o.level, want, "{c} {name}");
        assert!(!o.open_24h || o.level == OfficeLevel::Point, "{c}");
        assert_eq!(
            o.services.contains(&Service::LinkageProofPaper),
            o.level.county_or_above(),
            "{c} {name}"
        );
    }
    let points = gz.iter().filter(|o| o.level == OfficeLevel::Point).count();
    assert_eq!(
        points, 142,
        "of 165 Guangzhou sites, 142 are self-service points"
    );
}

/// Registers `email`, follows the emailed link, fills in the form, uploads, submits; a
/// reviewer approves.
async fn approved(app: &App, email: &str) -> ApplicantSession {
    let me = applicant(app, email, "en").await;
    let f = Form {
        passport_expiry: "2031-01-01".into(),
        address: "1 Queen's Road Central, Hong Kong".into(),
        ..form()
    };
    let id = submitted(app, &me, &f).await;
    approve(app, &staff(Role::Reviewer, None), &id).await;
    me
}

async fn with_uploads(t: &TestDb) -> (App, std::sync::Arc<ManualClock>, [tempfile::TempDir; 2]) {
    let (mut app, clock, keys) = app_with_keys(t);
    let uploads = tempfile::tempdir().unwrap();
    std::sync::Arc::make_mut(&mut app.config).uploads.dir =
        uploads.path().to_string_lossy().into_owned();
    (app, clock, [keys, uploads])
}

/// The non-Chinese permit at the CTS Kowloon centre: booked there after approval, accepted
/// at HK$260, paid by EPS (Alipay is no Hong Kong means), collection 20 working days later
/// counted with Hong Kong's holidays, not the mainland's; slots skip Hong Kong's holidays.
async fn the_non_chinese_permit_at_a_cts_centre_counts_hong_kong_working_days(t: &TestDb) {
    let (app, clock, _dirs) = with_uploads(t).await;
    seed_offices(&app).await;
    // Monday 2026-12-07, 09:00 in Hong Kong (and Beijing).
    clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap());
    let admin = staff(Role::Admin, None);
    for (d, calendar, name) in [
        ("2026-12-21", "mainland", "mainland test day 1"),
        ("2026-12-22", "mainland", "mainland test day 2"),
        ("2027-01-01", "mainland", "元旦"),
        ("2026-12-25", "hong_kong", "Christmas Day"),
        (
            "2026-12-26",
            "hong_kong",
            "The first weekday after Christmas Day",
        ),
        ("2027-01-01", "hong_kong", "The first day of January"),
    ] {
        ap::put_day(
            &app,
            &admin,
            d,
            DayScope::Calendar(calendar),
            "holiday",
            name,
        )
        .await
        .unwrap();
    }
    assert_eq!(
        error_code(ap::put_day(
            &app,
            &admin,
            "2026-12-24",
            DayScope::Calendar("macao"),
            "holiday",
            "x"
        ))
        .await,
        "bad_calendar"
    );
    assert_eq!(
        error_code(ap::put_day(
            &app,
            &admin,
            "2026-12-24",
            DayScope::Office("HK-KLN-001"),
            "holiday",
            "x"
        ))
        .await,
        "bad_day_kind"
    );
    // Slots: open on the mainland's holidays, closed on Hong Kong's; Saturday mornings.
    ap::open_slots(
        &app,
        "test",
        "HK-KLN-001",
        "hrp_non_chinese",
        day("2026-12-07"),
        28,
        None,
    )
    .await
    .unwrap();
    let open: std::collections::BTreeSet<NaiveDate> = ap::slots(
        &app,
        "HK-KLN-001",
        "hrp_non_chinese",
        day("2026-12-07"),
        day("2027-01-03"),
    )
    .await
    .unwrap()
    .iter()
    .map(|s| s.start.date_naive())
    .collect();
    for d in ["2026-12-21", "2026-12-22", "2026-12-19", "2026-12-24"] {
        assert!(open.contains(&day(d)), "open on {d}");
    }
    for d in ["2026-12-25", "2026-12-26", "2026-12-20", "2027-01-01"] {
        assert!(!open.contains(&day(d)), "closed on {d}");
    }
    // A holiday added later removes Hong Kong's free slots that day, not the mainland's.
    let (removed, _) = ap::put_day(
        &app,
        &admin,
        "2026-12-24",
        DayScope::Calendar("hong_kong"),
        "holiday",
        "test",
    )
    .await
    .unwrap();
    assert!(removed > 0);
    assert!(
        ap::slots(
            &app,
            "HK-KLN-001",
            "hrp_non_chinese",
            day("2026-12-24"),
            day("2026-12-24")
        )
        .await
        .unwrap()
        .is_empty()
    );
    ap::remove_day(&app, &admin, "2026-12-24", DayScope::Calendar("hong_kong"))
        .await
        .unwrap();
    // The mainland's hall does not take the permit.
    assert_eq!(
        error_code(ap::open_slots(
            &app,
            "test",
            "GZ-YX-002",
            "hrp_non_chinese",
            day("2026-12-07"),
            1,
            None
        ))
        .await,
        "service_not_offered"
    );

    let me = approved(&app, "john@example.org").await;
    let slot = ap::slots(
        &app,
        "HK-KLN-001",
        "hrp_non_chinese",
        day("2026-12-07"),
        day("2026-12-07"),
    )
    .await
    .unwrap()
    .into_iter()
    // The first a person may book: none inside the change cut-off.
    .find(|s| s.available > 0 && s.start >= ap::bookable_from(&app))
    .expect("a slot today");
    let booked = ap::book(
        &app,
        Booker::Applicant(&me),
        &BookingRequest {
            office_code: "HK-KLN-001".into(),
            service: "hrp_non_chinese".into(),
            slot_start: slot.start.to_rfc3339(),
            channel: "web".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    clock.set((booked.start - chrono::Duration::minutes(10)).with_timezone(&Utc));
    let clerk = staff(Role::CounterClerk, Some("HK-KLN-001"));
    let ticket = centre::check_in(&app, Desk::Staff(&clerk), &booked.reference)
        .await
        .unwrap();
    let (photo, called) = photo_and_call(&app, &clerk, "2").await;
    assert_eq!(called.id, ticket.id);
    let accepted = centre::accept(&app, &clerk, &first_permit(&called, &photo, "A123456(3)"))
        .await
        .unwrap();
    assert_eq!(accepted.office_code, "HK-KLN-001");
    assert_eq!(accepted.fee, "HKD 260.00");
    let mut methods = accepted.methods.clone();
    methods.sort();
    assert_eq!(methods, ["card", "cash", "eps", "octopus"]);
    assert_refused!(
        centre::pay(&app, &clerk, &accepted.id, "alipay"),
        "bad_method"
    );
    let paid = centre::pay(&app, &clerk, &accepted.id, "eps")
        .await
        .unwrap();
    let payment = paid.paid.clone().unwrap();
    assert_eq!(payment.method, "eps");
    assert!(
        payment.provider_ref.unwrap().starts_with("SBX-EPS-"),
        "through the sandbox terminal"
    );
    // 20 Hong Kong working days from Monday 2026-12-07, skipping Christmas (Fri 25) and
    // New Year's Day (Fri 1), not the mainland's 21 and 22 December: Wednesday 2027-01-06.
    assert_eq!(paid.collection_date.as_deref(), Some("2027-01-06"));
    // Counted with the mainland's calendar it would have been a day later.
    let mut c = app.db.conn().await.unwrap();
    let (h, w) = ap::working_calendar(&mut c, "GZ-YX-002", day("2026-12-07"), day("2027-03-01"))
        .await
        .unwrap();
    assert_eq!(
        add_working_days(day("2026-12-07"), 20, &h, &w),
        day("2027-01-07")
    );
}

/// A mainland hall without the non-Chinese permit neither queues it (walk-in, transfer)
/// nor accepts it, even for a ticket taken while it still did.
async fn mainland_halls_neither_queue_nor_accept_the_non_chinese_permit(t: &TestDb) {
    let (app, _clock, _dirs) = with_uploads(t).await;
    seed_offices(&app).await;
    let clerk = staff(Role::CounterClerk, Some("GZ-YX-002"));
    assert_eq!(
        error_code(centre::walk_in(
            &app,
            Desk::Staff(&clerk),
            "hrp_non_chinese",
            false
        ))
        .await,
        "service_not_offered"
    );
    centre::walk_in(&app, Desk::Staff(&clerk), "eep_application", false)
        .await
        .unwrap();
    let called = centre::call_next(&app, &clerk, "1", &[])
        .await
        .unwrap()
        .unwrap();
    assert_refused!(
        centre::transfer(&app, &clerk, called.id, "hrp_non_chinese"),
        "service_not_offered"
    );
    centre::transfer(&app, &clerk, called.id, "hrp")
        .await
        .unwrap();

    // A hall that took the permit stops: its waiting ticket is no longer accepted.
    let hall = |services: &str| {
        format!(
            "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,services\n\
             GZ-YX-009,越秀出入境大厅,越秀出入境大廳,Yuexiu Exit-Entry Hall,Guangzhou,Yuexiu,广州市越秀区1号,county,0,2,{services}\n"
        )
    };
    import(
        &app,
        ImportKind::Offices,
        &hall("hrp_non_chinese;collection"),
        false,
    )
    .await;
    let clerk9 = staff(Role::CounterClerk, Some("GZ-YX-009"));
    let (photo, called) = walk_in_called(&app, &clerk9, "hrp_non_chinese", "1").await;
    import(
        &app,
        ImportKind::Offices,
        &hall("eep_application;collection"),
        false,
    )
    .await;
    let accept = first_permit(&called, &photo, "A123456(3)");
    assert_refused!(
        centre::accept(&app, &clerk9, &accept),
        "service_not_offered"
    );
}

/// Paper linkage proofs: at a public-security office of county level or above that offers
/// them; not at a self-service point, not at a CTS centre, not at a county office without
/// the service; an import cannot give the service to an office below county level.
async fn paper_linkage_proofs_only_where_offered_at_county_level_or_above(t: &TestDb) {
    use exitentry_services::linkage_proofs::{self as lp, PaperRequest};
    let (app, _clock, _dirs) = with_uploads(t).await;
    seed_offices(&app).await;
    let dob = day("1985-03-15");
    let rp = exitentry_domain::ids::make_residence_permit_number(
        exitentry_domain::person::Region::HongKong,
        dob,
        1,
    );
    import(
        &app,
        ImportKind::People,
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number\n\
         P1,陳大文,CHAN TAI MAN,M,1985-03-15,hong_kong,CHN,hkid,A1234563\n",
        false,
    )
    .await;
    let s = import(
        &app,
        ImportKind::Documents,
        &format!(
            "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code\n\
             P1,hrp,H12345678,03,2024-03-10,2034-03-09,valid,HK-KLN-001\n\
             P1,residence_permit,{rp},,2024-03-10,2029-03-09,valid,GZ-TH-001\n"
        ),
        false,
    )
    .await;
    assert!(s.problems.is_empty(), "{:?}", problems(&s));
    let extra = import(
        &app,
        ImportKind::Offices,
        "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,services\n\
         GZ-TH-099,天河区某出入境窗口,天河區某出入境窗口,Tianhe Window,Guangzhou,Tianhe,广州市天河区1号,county,0,0,eep_application;collection\n",
        false,
    )
    .await;
    assert!(extra.problems.is_empty(), "{:?}", problems(&extra));
    let q = PaperRequest {
        travel_document_kind: "hrp".into(),
        travel_document_number: "H12345678".into(),
        residence_permit_number: rp.clone(),
        name: "CHAN TAI MAN".into(),
    };
    let at = |office: &'static str| staff(Role::CounterClerk, Some(office));
    let paper = lp::issue_paper(&app, &at("GZ-TH-001"), &q).await.unwrap();
    assert_eq!(paper.office_code.as_deref(), Some("GZ-TH-001"));
    for (office, want) in [
        ("GZ-TH-002", "office_level_too_low"),
        ("HK-KLN-001", "office_level_too_low"),
        ("GZ-TH-099", "service_not_offered"),
    ] {
        assert_eq!(
            error_code(lp::issue_paper(&app, &at(office), &q)).await,
            want,
            "{office}"
        );
    }

    // An import may not offer paper proofs below county level, nor at a CTS centre.
    let bad = import(
        &app,
        ImportKind::Offices,
        "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,services\n\
         GZ-TH-098,天河派出所窗口,天河派出所窗口,Tianhe Police Window,Guangzhou,Tianhe,广州市天河区2号,point,0,1,linkage_proof_paper;collection\n\
         HK-KLN-009,九龍中心,九龍中心,Kowloon Centre,HongKong,YauTsimMong,香港九龍,cts_centre,0,1,hrp_non_chinese;linkage_proof_paper\n\
         HK-KLN-010,九龍中心,九龍中心,Kowloon Centre,HongKong,YauTsimMong,香港九龍,cts_centre,0,1,\n",
        true,
    )
    .await;
    assert_eq!(
        problems(&bad),
        [
            (1, "services".into(), "service_not_at_level".into()),
            (2, "services".into(), "service_not_at_level".into()),
        ]
    );
    // A CTS centre listed without services gets its own: Hong Kong residents' permits.
    let mut c = app.db.conn().await.unwrap();
    let hk = exitentry_storage::offices::get(
        &mut c,
        &exitentry_domain::office::OfficeCode::parse("HK-KLN-010").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        hk.services,
        [Service::Hrp, Service::HrpNonChinese, Service::Collection]
    );
    assert_eq!(hk.calendar, HolidayCalendar::HongKong);
}

/// The demo: slots at the CTS centres (none on Hong Kong's holidays, while the Guangzhou
/// hall is open on Christmas Day), devices at the Kowloon centre, Hong Kong residents'
/// permits issued at the CTS centres, and the Guangzhou hall no longer takes the permit.
async fn the_demo_seeds_the_cts_centres(t: &TestDb) {
    let (app, clock, _dirs) = with_uploads(t).await;
    // Sunday 2026-12-20: two weeks ahead reach Christmas and New Year's Day.
    clock.set(Utc.with_ymd_and_hms(2026, 12, 20, 2, 0, 0).unwrap());
    seed_offices(&app).await;
    let codes = exitentry_demo::office_codes(SEED);
    let files = exitentry_demo::generate(7, 300, app.today(), &app.policy, &codes);
    for (kind, csv) in [
        (ImportKind::People, &files.people_csv),
        (ImportKind::Documents, &files.documents_csv),
    ] {
        let s = import(&app, kind, csv, false).await;
        assert!(s.problems.is_empty(), "{:?}", problems(&s));
    }
    let demo = exitentry_demo::seed_centres(&app, "GZ-YX-002", "HK-KLN-001")
        .await
        .unwrap();
    assert_eq!(demo.hk_office, "HK-KLN-001");
    assert!(demo.hk_slots > 0 && demo.slots > 0);
    assert!(demo.hk_holidays >= 3, "{}", demo.hk_holidays);
    assert_ne!(demo.hk_kiosk_token, demo.kiosk_token);
    let days = |office: &'static str, service: &'static str| {
        let app = app.clone();
        async move {
            ap::slots(&app, office, service, day("2026-12-20"), day("2027-01-03"))
                .await
                .unwrap()
                .iter()
                .map(|s| s.start.date_naive())
                .collect::<std::collections::BTreeSet<_>>()
        }
    };
    let hk = days("HK-KLN-001", "hrp_non_chinese").await;
    let gz = days("GZ-YX-002", "eep_application").await;
    for (days, on, open, why) in [
        (
            &hk,
            "2026-12-24",
            true,
            "Christmas Eve is open in Hong Kong",
        ),
        (&hk, "2026-12-25", false, "Christmas is Hong Kong's"),
        (&hk, "2026-12-26", false, "Boxing Day is Hong Kong's"),
        (&gz, "2026-12-25", true, "Christmas is no mainland holiday"),
        (&gz, "2027-01-01", false, "New Year's Day on the mainland"),
        (&hk, "2027-01-01", false, "New Year's Day in Hong Kong"),
    ] {
        assert_eq!(days.contains(&day(on)), open, "{on}: {why}");
    }
    assert!(
        exitentry_services::offices::offering(&app, Some(Service::HrpNonChinese))
            .await
            .unwrap()
            .iter()
            .all(|o| o.level == OfficeLevel::CtsCentre),
        "the demo's hall does not take the non-Chinese permit"
    );
    assert_eq!(
        centre::office_settings(&app, "HK-KLN-001").await.unwrap(),
        (8, false),
        "appointments only"
    );
    // Hong Kong residents' home return permits were issued in Hong Kong.
    let mut c = app.db.conn().await.unwrap();
    let issued_at: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT office_code FROM documents WHERE kind IN ('hrp', 'hrp_non_chinese') \
         AND (number LIKE 'H%') ORDER BY office_code",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap();
    assert!(!issued_at.is_empty());
    assert!(
        issued_at.iter().all(|o| o.starts_with("HK-")),
        "{issued_at:?}"
    );
}

/// The Chinese citizens' home return permit at a CTS centre: HK$390 for an adult, HK$260
/// under 18 (with a guardian), a new `H` number on first issue and the same number on
/// renewal, 12 Hong Kong working days; not for a non-Chinese national.
async fn the_home_return_permit_at_a_cts_centre(t: &TestDb) {
    let (app, clock, _dirs) = with_uploads(t).await;
    seed_offices(&app).await;
    clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap());
    import(
        &app,
        ImportKind::People,
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
C1,陳小明,CHAN SIU MING,M,1990-01-01,hong_kong,CHN,hkid,B1234566
C2,陳小美,CHAN SIU MEI,F,2012-06-01,hong_kong,CHN,hkid,C1234569
N1,,SMITH JOHN,M,1980-05-01,hong_kong,GBR,hkid,A1234563
",
        false,
    )
    .await;
    let clerk = staff(Role::CounterClerk, Some("HK-KLN-001"));
    let approver = staff(Role::Approver, None);
    let accept = |id: &'static str, product: &'static str, extra: &'static [&'static str]| {
        let (app, clerk) = (app.clone(), clerk.clone());
        async move {
            let (photo, called) = walk_in_called(&app, &clerk, "hrp", "3").await;
            let request = accept_request(&called, &photo, product, id, extra);
            centre::accept(&app, &clerk, &request).await
        }
    };
    assert_eq!(
        error_code(accept("A123456(3)", "hrp_first", &[])).await,
        "not_eligible",
        "a non-Chinese national gets the non-Chinese permit"
    );
    let adult = accept("B123456(6)", "hrp_first", &[]).await.unwrap();
    assert_eq!(adult.fee, "HKD 390.00");
    assert_refused!(
        accept("C123456(9)", "hrp_first", &[]),
        "checklist_incomplete"
    );
    let child = accept("C123456(9)", "hrp_first", &["guardian_present"])
        .await
        .unwrap();
    assert_eq!(child.fee, "HKD 260.00");
    let paid = centre::pay(&app, &clerk, &adult.id, "octopus")
        .await
        .unwrap();
    // 12 Hong Kong working days from Monday 2026-12-07: Wednesday 2026-12-23.
    assert_eq!(paid.collection_date.as_deref(), Some("2026-12-23"));
    let ready = centre::mark_ready(&app, &approver, &paid.id).await.unwrap();
    let number = ready.new_document.clone().unwrap();
    assert!(
        number.len() == 9
            && number.starts_with('H')
            && number[1..].bytes().all(|b| b.is_ascii_digit()),
        "{number}"
    );
}

backend_tests!(
    the_home_return_permit_at_a_cts_centre,
    the_seed_network_has_real_levels_and_the_cts_centres,
    the_non_chinese_permit_at_a_cts_centre_counts_hong_kong_working_days,
    mainland_halls_neither_queue_nor_accept_the_non_chinese_permit,
    paper_linkage_proofs_only_where_offered_at_county_level_or_above,
    the_demo_seeds_the_cts_centres,
);

/// The counter terminal's sandbox takes a currency's own means: EPS, Octopus and credit
/// cards in Hong Kong dollars, the mainland's wallets in yuan, and no cash (the till).
#[tokio::test]
async fn the_sandbox_terminal_takes_each_currencys_means() {
    let charge = |method: &str, currency: &str| Charge {
        payment_id: "p0123456789abcdef".into(),
        method: method.into(),
        amount_cents: 26_000,
        currency: currency.into(),
        description: "hrp_non_chinese_first R1".into(),
    };
    let paid = |o: ChargeOutcome| matches!(o, ChargeOutcome::Paid { .. });
    for (method, currency, want) in [
        ("eps", "HKD", true),
        ("octopus", "HKD", true),
        ("card", "HKD", true),
        ("alipay", "HKD", false),
        ("cash", "HKD", false),
        ("octopus", "CNY", false),
        ("eps", "CNY", false),
        ("alipay", "CNY", true),
        ("eps", "USD", false),
    ] {
        let o = SandboxPayments
            .charge(&charge(method, currency))
            .await
            .unwrap();
        assert_eq!(paid(o), want, "{method} {currency}");
    }
    let short = Charge {
        payment_id: "p1".into(),
        ..charge("eps", "HKD")
    };
    assert!(paid(SandboxPayments.charge(&short).await.unwrap()));
}
