//! What a person's booking picker offers, on both backends: only the offices providing the
//! service, each with its earliest free time, the person's own city (from their household
//! registration) to start from; and no slot inside the change cut-off, refused before
//! booking rather than found unchangeable after.

use super::centre::{MONDAY, day, holder, open_hall, police, request};
use chrono::{TimeZone, Utc};
use exitentry_domain::office::Service;
use exitentry_services::App;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest, Picker};
use exitentry_services::import::ImportKind;
use exitentry_storage::people;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{LI_HUA_ID, backend_tests, error_code, import, seeded};

/// A hall in Beijing besides the Tianhe ones.
const BEIJING: &str = "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices
BJ-CY-001,朝阳区出入境接待大厅,朝陽區出入境接待大廳,Chaoyang Exit-Entry Hall,Beijing,Chaoyang,北京市朝阳区1号,county,0,4
";

async fn li_hua_lives_in(app: &App, area: &str) {
    let mut conn = app.db.conn().await.unwrap();
    let id = people::by_id_number(&mut conn, LI_HUA_ID).await.unwrap()[0].id;
    people::set_hukou_area(&mut conn, id, area, app.now_micros())
        .await
        .unwrap();
}

fn codes(p: &Picker) -> Vec<&str> {
    p.offices.iter().map(|o| o.office.code.as_str()).collect()
}

fn earliest(p: &Picker, code: &str) -> Option<String> {
    let o = p.offices.iter().find(|o| o.office.code.as_str() == code)?;
    o.earliest.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
}

async fn the_picker_starts_from_the_persons_city(t: &TestDb) {
    let (app, _clock, _k) = seeded(t, 20).await;
    import(&app, ImportKind::Offices, BEIJING, false).await;
    open_hall(&app, MONDAY, 5, None).await;
    ap::open_slots(
        &app,
        "test",
        "BJ-CY-001",
        "eep_application",
        day("2026-11-24"),
        3,
        None,
    )
    .await
    .unwrap();
    let li = holder(&app).await;
    let eep = Service::EepApplication;

    // The self-service point takes no applications: only the two halls, earliest first.
    let p = ap::picker(&app, Booker::Holder(&li), eep).await.unwrap();
    assert_eq!(codes(&p), ["GZ-TH-001", "BJ-CY-001"]);
    assert_eq!(earliest(&p, "GZ-TH-001").unwrap(), "2026-11-23 09:00");
    assert_eq!(earliest(&p, "BJ-CY-001").unwrap(), "2026-11-24 09:00");

    // Registered in Beijing: Beijing's hall first, though Guangzhou's is free earlier.
    li_hua_lives_in(&app, "110105").await;
    let p = ap::picker(&app, Booker::Holder(&li), eep).await.unwrap();
    assert_eq!(p.home_city.as_deref(), Some("Beijing"));
    assert_eq!(p.default_office().unwrap().code.as_str(), "BJ-CY-001");

    // In a city without an office for the service: the earliest free office anywhere.
    li_hua_lives_in(&app, "510107").await;
    let p = ap::picker(&app, Booker::Holder(&li), eep).await.unwrap();
    assert_eq!(p.home_city, None);
    assert_eq!(p.default_office().unwrap().code.as_str(), "GZ-TH-001");

    // A fully booked hall shows its next free time.
    let police = police(&app, "book_appointments").await;
    for n in 0..20 {
        let r = request(&super::centre::prc_id(n), "2026-11-23T09:00:00+08:00");
        if ap::book(&app, Booker::Partner(&police), &r).await.is_err() {
            break;
        }
    }
    let p = ap::picker(&app, Booker::Holder(&li), eep).await.unwrap();
    assert_ne!(earliest(&p, "GZ-TH-001").unwrap(), "2026-11-23 09:00");
}

async fn no_slot_inside_the_cutoff_for_the_person(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    open_hall(&app, MONDAY, 2, None).await;
    let li = holder(&app).await;
    // Monday 08:00 in Beijing: the 09:00 slot starts within the two-hour cut-off.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap());
    let at = |time: &str| BookingRequest {
        office_code: "GZ-TH-001".into(),
        service: "eep_application".into(),
        slot_start: format!("{MONDAY}T{time}:00+08:00"),
        channel: "web".into(),
        ..Default::default()
    };
    assert_eq!(
        error_code(ap::book(&app, Booker::Holder(&li), &at("09:00"))).await,
        "slot_inside_cutoff"
    );
    // The picker's earliest time is the first one that may be booked.
    let p = ap::picker(&app, Booker::Holder(&li), Service::EepApplication)
        .await
        .unwrap();
    assert_eq!(earliest(&p, "GZ-TH-001").unwrap(), "2026-11-23 10:00");
    let a = ap::book(&app, Booker::Holder(&li), &at("11:00"))
        .await
        .unwrap();
    // Nor can a booking be moved into the cut-off.
    let inside = format!("{MONDAY}T09:30:00+08:00");
    assert_eq!(
        error_code(ap::reschedule(
            &app,
            Booker::Holder(&li),
            &a.appointment_id,
            None,
            &inside,
            None,
        ))
        .await,
        "slot_inside_cutoff"
    );
    // A booking office (the city police's channel) still may, for someone in front of it.
    let police = police(&app, "book_appointments").await;
    let r = request(
        &super::centre::prc_id(7),
        &format!("{MONDAY}T09:00:00+08:00"),
    );
    ap::book(&app, Booker::Partner(&police), &r).await.unwrap();
}

backend_tests!(
    the_picker_starts_from_the_persons_city,
    no_slot_inside_the_cutoff_for_the_person,
);
