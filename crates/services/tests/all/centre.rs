//! Service centres on both backends: slots across holidays, booking rules, the overbooking
//! race, no-shows, reminders, and the whole day from booking to collection at a kiosk.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use exitentry_domain::ids::make_prc_resident_id;
use exitentry_domain::staff::Role;
use exitentry_domain::states::{AppointmentState, CentreApplicationState};
use exitentry_services::appointments::{
    self as ap, Applicant, Booker, BookingRequest, DayScope, Opened, SlotView,
};
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{self, AcceptRequest, Desk};
use exitentry_services::partners::PartnerContext;
use exitentry_services::{App, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_storage::{documents, jobs};
use exitentry_test_support::{assert_refused, backend_tests, error_code};
use exitentry_test_support::{partner, partner_context, seeded, staff_session};
use std::sync::Arc;

/// 2026-11-23 is a Monday; the test clock starts on Sunday 2026-11-22, 10:00 in Beijing.
pub(super) const MONDAY: &str = "2026-11-23";

pub(super) fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(super) fn staff(role: Role, office: Option<&str>) -> StaffSession {
    staff_session(role, &format!("{}1", role.code()), office)
}

pub(super) async fn police(app: &App, scopes: &str) -> PartnerContext {
    let name = format!("gz-police-{}", scopes.len());
    partner_context(app, &partner(&name, "government", scopes)).await
}

/// A valid mainland identity number (not in the registry unless `n` collides).
pub(super) fn prc_id(n: u16) -> String {
    make_prc_resident_id(
        "440106",
        day("1990-01-01") + Duration::days(i64::from(n)),
        n % 999 + 1,
    )
}

pub(super) fn request(id_number: &str, start: &str) -> BookingRequest {
    BookingRequest {
        office_code: "GZ-TH-001".into(),
        service: "eep_application".into(),
        slot_start: start.into(),
        channel: "city_police".into(),
        applicant: Some(Applicant {
            id_kind: "prc_resident_id".into(),
            id_number: id_number.into(),
            name: "测试".into(),
        }),
        ..Default::default()
    }
}

/// The city police (`p`) book `id_number` into the Tianhe hall's EEP slot at `start`.
pub(super) async fn police_book(
    app: &App,
    p: &PartnerContext,
    id_number: &str,
    start: &str,
) -> Result<ap::AppointmentView, ServiceError> {
    ap::book(app, Booker::Partner(p), &request(id_number, start)).await
}

/// 李华 (76, a valid EEP card CA1234567) signed in.
pub(super) async fn holder(app: &App) -> exitentry_services::holders::HolderSession {
    use exitentry_services::holders;
    holders::create_for_identity(
        app,
        "test",
        "11010519491231002X",
        "13900139000",
        "a long holder password",
    )
    .await
    .unwrap();
    holders::login(app, "13900139000", "a long holder password")
        .await
        .unwrap()
        .1
}

/// Opens the Tianhe hall's EEP slots for `days` days from `from` (capacity from the template
/// unless given).
pub(super) async fn open_hall(app: &App, from: &str, days: u32, capacity: Option<u32>) -> Opened {
    ap::open_slots(
        app,
        "test",
        "GZ-TH-001",
        "eep_application",
        day(from),
        days,
        capacity,
    )
    .await
    .unwrap()
}

/// The Tianhe hall's EEP slots from `from` to `to`.
pub(super) async fn hall_slots(app: &App, from: &str, to: &str) -> Vec<SlotView> {
    ap::slots(app, "GZ-TH-001", "eep_application", day(from), day(to))
        .await
        .unwrap()
}

pub(super) async fn open_week(app: &App) {
    assert!(open_hall(app, MONDAY, 7, None).await.opened > 0);
}

async fn slots_follow_hours_and_skip_holidays(t: &TestDb) {
    let (app, _, _k) = seeded(t, 50).await;
    let admin = staff(Role::Admin, None);
    ap::put_day(
        &app,
        &admin,
        "2026-11-25",
        DayScope::Calendar("mainland"),
        "holiday",
        "Test holiday",
    )
    .await
    .unwrap();
    let o = open_hall(&app, MONDAY, 14, None).await;
    let slots = hall_slots(&app, MONDAY, "2026-12-06").await;
    assert_eq!(slots.len() as u64, o.opened);
    let days: std::collections::BTreeSet<NaiveDate> =
        slots.iter().map(|s| s.start.date_naive()).collect();
    for (on, open, why) in [
        ("2026-11-25", false, "no slot on the holiday"),
        ("2026-11-29", false, "Sunday is closed (default hours)"),
        ("2026-11-28", true, "Saturday morning is open"),
    ] {
        assert_eq!(days.contains(&day(on)), open, "{on}: {why}");
    }
    // Default hours Mon-Fri 09:00-17:00 in 15-minute slots: 32 per weekday, 12 on Saturday,
    // one place per counter (3 by default).
    let monday: Vec<_> = slots
        .iter()
        .filter(|s| s.start.date_naive() == day(MONDAY))
        .collect();
    assert_eq!(monday.len(), 32);
    assert_eq!(monday[0].start.format("%H:%M").to_string(), "09:00");
    assert!(monday.iter().all(|s| s.capacity == 3 && s.available == 3));
    // Opening again adds nothing; a closure removes that office's empty slots.
    let again = open_hall(&app, MONDAY, 14, None).await;
    assert_eq!(again.opened, 0);
    let (removed, left) = ap::put_day(
        &app,
        &admin,
        "2026-11-26",
        DayScope::Office("GZ-TH-001"),
        "closure",
        "Training",
    )
    .await
    .unwrap();
    assert_eq!((removed, left), (32, 0));
    // A stored template wins over the opening hours.
    ap::set_template(
        &app,
        &admin,
        "GZ-TH-001",
        "eep_application",
        "Mon-Fri 09:00-10:00",
        30,
        5,
    )
    .await
    .unwrap();
    let o = open_hall(&app, "2026-12-07", 1, None).await;
    assert_eq!(o.opened, 2);
    // Reviewers do not manage slots.
    assert!(matches!(
        ap::put_day(
            &app,
            &staff(Role::Reviewer, None),
            "2026-12-01",
            DayScope::Calendar("mainland"),
            "holiday",
            "x"
        )
        .await,
        Err(ServiceError::Forbidden)
    ));
}

async fn booking_rules(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    open_week(&app).await;
    let p = police(&app, "book_appointments").await;
    let start = "2026-11-23T09:00:00+08:00";
    let a = police_book(&app, &p, &prc_id(1), start).await.unwrap();
    assert_eq!(a.channel, "city_police");
    assert_eq!(a.reference.len(), 10);
    // Refused: a second active booking for the person and service; a partner booking other
    // than as the city police, or without the scope; a wrong check digit, no such slot, a
    // past slot.
    let mut web = request(&prc_id(2), start);
    web.channel = "web".into();
    let verifier = police(&app, "verify_permit").await;
    for (who, req, want) in [
        (
            &p,
            request(&prc_id(1), "2026-11-24T09:00:00+08:00"),
            "already_booked",
        ),
        (&p, web, "channel_not_allowed"),
        (&verifier, request(&prc_id(2), start), "forbidden"),
        (
            &p,
            request(&prc_id(2), "2026-11-23T09:07:00+08:00"),
            "no_such_slot",
        ),
        (
            &p,
            request(&prc_id(2), "2026-11-21T09:00:00+08:00"),
            "slot_in_past",
        ),
    ] {
        let refused = error_code(ap::book(&app, Booker::Partner(who), &req)).await;
        assert_eq!(refused, want, "{req:?}");
    }
    let mut bad = request("440106199001010010", start);
    bad.applicant
        .as_mut()
        .unwrap()
        .id_number
        .replace_range(17.., "9");
    assert!(matches!(
        ap::book(&app, Booker::Partner(&p), &bad).await,
        Err(ServiceError::Invalid {
            field: "applicant.id_number",
            ..
        })
    ));
    // Any office in the country: an applicant with a Beijing identity number books in Guangzhou.
    let beijing = make_prc_resident_id("110105", day("1980-05-05"), 12);
    police_book(&app, &p, &beijing, start).await.unwrap();
    // Reschedule frees the old place and takes the new one.
    let moved = ap::reschedule(
        &app,
        Booker::Partner(&p),
        &a.appointment_id,
        None,
        "2026-11-24T10:00:00+08:00",
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        moved.start.format("%Y-%m-%d %H:%M").to_string(),
        "2026-11-24 10:00"
    );
    let mon = hall_slots(&app, MONDAY, MONDAY).await;
    assert_eq!(
        mon[0].available, 2,
        "one left for the Beijing applicant, one freed"
    );
    // Cancel until two hours before; not after.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 0, 30, 0).unwrap()); // 08:30 Beijing
    assert_refused!(
        ap::cancel(&app, Booker::Partner(&p), &a.appointment_id),
        "too_late_to_change"
    );
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap());
    let c = ap::cancel(&app, Booker::Partner(&p), &a.appointment_id)
        .await
        .unwrap();
    assert_eq!(c.status, AppointmentState::Cancelled);
    // Another partner cannot see or cancel it.
    let other = police(&app, "book_appointments,verify_permit").await;
    assert!(matches!(
        ap::cancel(&app, Booker::Partner(&other), &a.appointment_id).await,
        Err(ServiceError::NotFound(_))
    ));
    // After cancelling, the person may book the service again.
    police_book(&app, &p, &prc_id(1), "2026-11-25T09:00:00+08:00")
        .await
        .unwrap();
}

async fn mini_program_needs_a_face_check(t: &TestDb) {
    let (app, _, _k) = seeded(t, 50).await;
    open_week(&app).await;
    let li = holder(&app).await;
    let mut req = request("", "2026-11-23T09:00:00+08:00");
    req.applicant = None;
    req.channel = "mini_program".into();
    assert_refused!(
        ap::book(&app, Booker::Holder(&li), &req),
        "face_check_required"
    );
    req.face_image = Some(b"\x89PNG\r\n\x1a\nimage".to_vec());
    let a = ap::book(&app, Booker::Holder(&li), &req).await.unwrap();
    assert_eq!(a.channel, "mini_program");
    assert_eq!(a.name, "LI HUA");
    // The holder sees it among their own, masked.
    let mine = ap::mine(&app, &li).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!(mine[0].id_number.contains('*'));
    // A holder cannot book as the city police.
    req.channel = "city_police".into();
    assert_refused!(
        ap::book(&app, Booker::Holder(&li), &req),
        "channel_not_allowed"
    );
}

async fn no_shows_block_online_booking(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    let p = police(&app, "book_appointments").await;
    open_hall(&app, MONDAY, 60, None).await;
    let who = prc_id(7);
    for d in ["2026-11-23", "2026-11-30", "2026-12-07"] {
        police_book(&app, &p, &who, &format!("{d}T09:00:00+08:00"))
            .await
            .unwrap();
        clock.set(
            Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap().min(
                chrono::DateTime::parse_from_rfc3339(&format!("{d}T12:00:00+08:00"))
                    .unwrap()
                    .with_timezone(&Utc),
            ),
        );
        assert_eq!(ap::mark_no_shows(&app).await.unwrap(), 1);
    }
    let e = police_book(&app, &p, &who, "2026-12-14T09:00:00+08:00")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "booking_blocked");
    // Blocked for 30 days after the last no-show (2026-12-07): from 2027-01-06.
    assert_eq!(
        e.available_from().unwrap(),
        Utc.with_ymd_and_hms(2027, 1, 5, 16, 0, 0).unwrap()
    );
    // Someone else is not blocked; the block ends after 30 days.
    police_book(&app, &p, &prc_id(8), "2026-12-14T09:00:00+08:00")
        .await
        .unwrap();
    clock.set(Utc.with_ymd_and_hms(2027, 1, 6, 1, 0, 0).unwrap());
    open_hall(&app, "2027-01-07", 7, None).await;
    police_book(&app, &p, &who, "2027-01-07T09:00:00+08:00")
        .await
        .unwrap();
}

async fn two_hundred_requests_for_five_places_give_five_bookings(t: &TestDb) {
    let (app, _, _k) = seeded(t, 50).await;
    open_hall(&app, MONDAY, 1, Some(5)).await;
    let p = Arc::new(police(&app, "book_appointments").await);
    let mut handles = Vec::new();
    for i in 0..200u16 {
        let (app, p) = (app.clone(), p.clone());
        handles.push(tokio::spawn(async move {
            police_book(&app, &p, &prc_id(100 + i), "2026-11-23T09:00:00+08:00").await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "slot_full", "{e}"),
        }
    }
    assert_eq!(ok, 5);
    let s = hall_slots(&app, MONDAY, MONDAY).await;
    assert_eq!((s[0].capacity, s[0].available), (5, 0));
}

async fn the_same_person_racing_gets_one_booking(t: &TestDb) {
    let (app, _, _k) = seeded(t, 50).await;
    open_week(&app).await;
    let p = Arc::new(police(&app, "book_appointments").await);
    let mut handles = Vec::new();
    for h in 0..10 {
        let (app, p) = (app.clone(), p.clone());
        handles.push(tokio::spawn(async move {
            let start = format!("2026-11-2{}T{:02}:00:00+08:00", 3 + h % 4, 9 + h / 4);
            police_book(&app, &p, &prc_id(5), &start).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        if h.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 1,
        "one active booking per person and service, whatever the timing"
    );
}

async fn reminders_go_out_the_day_before(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    open_hall(&app, MONDAY, 7, None).await;
    let p = police(&app, "book_appointments").await;
    let mut r = request(&prc_id(3), "2026-11-25T10:00:00+08:00");
    r.mobile = Some("13700137000".into());
    r.lang = Some(exitentry_services::email::Lang::En);
    let a = ap::book(&app, Booker::Partner(&p), &r).await.unwrap();
    assert_eq!(
        exitentry_services::jobs::run_due(&app).await.unwrap(),
        0,
        "not yet"
    );
    // 18:00 Beijing on the day before.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap());
    assert_eq!(exitentry_services::jobs::run_due(&app).await.unwrap(), 1);
    let mut c = app.db.conn().await.unwrap();
    let sms = jobs::outbox(&mut c, 1).await.unwrap().remove(0);
    assert_eq!(sms.recipient, "13700137000");
    assert!(sms.body.contains(&a.reference), "{}", sms.body);
    // In the booker's language, with the office's name rather than its code.
    assert!(
        sms.body.contains("10:00 Beijing time") && !sms.body.contains("GZ-TH-001"),
        "{}",
        sms.body
    );
    assert!(
        !sms.body
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{}",
        sms.body
    );
}

/// The whole day at the service level: book → check in → photo → called → accepted → paid
/// → processing done → collected at the kiosk with the old card surrendered.
async fn the_whole_day(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    open_week(&app).await;
    let li = holder(&app).await;
    let booking = ap::book(
        &app,
        Booker::Holder(&li),
        &BookingRequest {
            office_code: "GZ-TH-001".into(),
            service: "eep_application".into(),
            slot_start: "2026-11-23T10:00:00+08:00".into(),
            channel: "web".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 1, 50, 0).unwrap()); // 09:50 Monday
    let (printer, _) =
        centre::create_device(&app, "admin", "GZ-TH-001", "th-tickets-1", "ticket_printer")
            .await
            .unwrap();
    let kiosk = crate::tianhe_kiosk(&app, "th-kiosk-1").await;
    // A walk-in came first; the appointment (and 李华 is 76) still goes first.
    let walk = centre::walk_in(&app, Desk::Device(&printer), "eep_application", false)
        .await
        .unwrap();
    assert_eq!(walk.label, "A001");
    let ticket = centre::check_in(
        &app,
        Desk::Device(&printer),
        &booking.reference.to_lowercase(),
    )
    .await
    .unwrap();
    assert_eq!(ticket.label, "A002");
    assert_eq!(ticket.waiting_before, 0);
    // Checking in twice gives the same ticket; another office refuses.
    assert_eq!(
        centre::check_in(&app, Desk::Device(&printer), &booking.reference)
            .await
            .unwrap()
            .id,
        ticket.id
    );
    let clerk = staff(Role::CounterClerk, Some("GZ-TH-001"));
    let elsewhere = staff(Role::CounterClerk, Some("GZ-TH-002"));
    assert_eq!(
        error_code(centre::check_in(
            &app,
            Desk::Staff(&elsewhere),
            &booking.reference
        ))
        .await,
        "wrong_office"
    );
    // Photo station.
    assert_refused!(
        centre::take_photo(&app, &clerk, b"GIF89a...."),
        "photo_format"
    );
    assert_refused!(
        centre::take_photo(&app, &clerk, &png(100, 100)),
        "photo_too_small"
    );
    let photo = centre::take_photo(&app, &clerk, &png(390, 567))
        .await
        .unwrap();
    // The counter calls: the appointment first, shown on the board.
    clock.advance(Duration::minutes(4));
    let called = centre::call_next(&app, &clerk, "3", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.label, "A002");
    let board = centre::board(&app, "GZ-TH-001").await.unwrap();
    assert_eq!(
        (
            board.calls[0].label.as_str(),
            board.calls[0].counter.as_str()
        ),
        ("A002", "3")
    );
    // Acceptance: checklist complete and the photo receipt.
    let mut req = AcceptRequest {
        ticket_id: called.id,
        product: "eep_card_renewal".into(),
        checklist: vec!["identity_card".into(), "hukou_booklet".into()],
        photo_receipt: photo.receipt_code.clone(),
        id_number: None,
    };
    assert_refused!(centre::accept(&app, &clerk, &req), "checklist_incomplete");
    req.checklist.push("application_form".into());
    req.product = "eep_card_first".into();
    assert_refused!(centre::accept(&app, &clerk, &req), "holds_valid_document");
    req.product = "eep_card_renewal".into();
    req.checklist.push("old_permit".into());
    clock.advance(Duration::minutes(6));
    let accepted = centre::accept(&app, &clerk, &req).await.unwrap();
    assert_eq!(accepted.fee, "CNY 60.00");
    assert_eq!(accepted.old_document.as_deref(), Some("CA1234567"));
    // Payment: the method must fit the currency; the sandbox terminal takes Yang Cheng Tong.
    assert_refused!(
        centre::pay(&app, &clerk, &accepted.id, "octopus"),
        "bad_method"
    );
    let paid = centre::pay(&app, &clerk, &accepted.id, "yang_cheng_tong")
        .await
        .unwrap();
    assert_eq!(paid.status, CentreApplicationState::Paid);
    assert!(
        paid.paid
            .as_ref()
            .unwrap()
            .provider_ref
            .as_ref()
            .unwrap()
            .starts_with("SBX-")
    );
    // Seven working days from Monday 2026-11-23: Wednesday 2026-12-02.
    assert_eq!(paid.collection_date.as_deref(), Some("2026-12-02"));
    // The counter's terminal payment is in the provider's daily reconciliation, next to the
    // online orders it settles with.
    let r = exitentry_services::online_payments::reconciliation(
        &app,
        "terminal:yang_cheng_tong",
        app.today(),
    )
    .await
    .unwrap();
    assert_eq!((r.paid, r.paid_cents), (1, 6000));
    let online =
        exitentry_services::online_payments::reconciliation(&app, "yang_cheng_tong", app.today())
            .await
            .unwrap();
    assert_eq!(online.paid, 0, "not counted twice");
    assert_refused!(
        centre::pay(&app, &clerk, &accepted.id, "cash"),
        "already_paid"
    );
    // Not ready yet at the kiosk.
    assert_eq!(
        refused(&app, &kiosk, &paid.reference, LI_HUA, HER_CARD).await,
        "not_ready"
    );
    // Processing: approvers mark it done; clerks cannot.
    assert!(matches!(
        centre::mark_ready(&app, &clerk, &paid.id).await,
        Err(ServiceError::Forbidden)
    ));
    let ready = centre::mark_ready(&app, &staff(Role::Approver, None), &paid.id)
        .await
        .unwrap();
    let number = ready.new_document.clone().unwrap();
    assert!(number.starts_with('C') && number.len() == 9);
    assert_eq!(centre::uncollected(&app, &clerk).await.unwrap().len(), 1);
    // Collection: the identity number must match; then the old card is surrendered.
    clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap());
    assert_eq!(
        refused(
            &app,
            &kiosk,
            &paid.reference,
            "440106199001010010",
            HER_CARD
        )
        .await,
        "receipt_or_identity_mismatch"
    );
    assert!(matches!(
        centre::collect(&app, &printer, &paid.reference, LI_HUA, HER_CARD).await,
        Err(ServiceError::Forbidden)
    ));
    // Nothing is released before the old card is in the slot, and only that card will do.
    for (inserted, code) in [
        ("", "old_permit_required"),
        ("CB7654321", "old_permit_mismatch"),
    ] {
        assert_eq!(
            refused(&app, &kiosk, &paid.reference, LI_HUA, inserted).await,
            code
        );
    }
    let got = centre::collect(
        &app,
        &kiosk,
        &paid.reference,
        "11010519491231002x",
        "ca1234567",
    )
    .await
    .unwrap();
    assert_eq!(got.document_number, number);
    assert_eq!(got.surrendered.as_deref(), Some("CA1234567"));
    assert_eq!(
        refused(&app, &kiosk, &paid.reference, LI_HUA, HER_CARD).await,
        "already_collected"
    );
    let mut c = app.db.conn().await.unwrap();
    let docs = documents::by_number(&mut c, "CA1234567").await.unwrap();
    assert_eq!(docs[0].0.doc.status.code(), "surrendered");
    let new = documents::by_number(&mut c, &number).await.unwrap();
    assert_eq!(new[0].0.doc.status.code(), "valid");
    // 李华 was 76 on the application date: a 10-year card.
    assert_eq!(new[0].0.doc.expires_on, day("2036-12-01"));
    assert!(centre::uncollected(&app, &clerk).await.unwrap().is_empty());
    // The day's measures: one booking checked in, waits of 4 and (walk-in, not called) none.
    let m = centre::measures(&app, "GZ-TH-001", day(MONDAY))
        .await
        .unwrap();
    assert_eq!(
        (m.bookings, m.checked_in, m.no_shows, m.tickets),
        (1, 1, 0, 2)
    );
    assert_eq!(m.wait_median_seconds, Some(240));
    let trail = exitentry_storage::audit::for_subject(&mut c, &format!("application:{}", paid.id))
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "application.accept",
            "payment.paid",
            "application.ready",
            "collection.refused",
            "application.collect"
        ],
        "the refused attempt with a wrong identity number is on record too"
    );
    assert_eq!(trail[4].entry.actor, "device:th-kiosk-1");
}

/// The demo holder's identity number and the card her renewal replaces.
pub(super) use exitentry_test_support::LI_HUA_ID as LI_HUA;
pub(super) const HER_CARD: &str = "CA1234567";

/// Why the kiosk refuses to release the document.
pub(super) async fn refused(
    app: &App,
    kiosk: &centre::DeviceSession,
    reference: &str,
    id_number: &str,
    old_permit: &str,
) -> &'static str {
    error_code(centre::collect(
        app, kiosk, reference, id_number, old_permit,
    ))
    .await
}

/// A PNG header claiming `w`×`h` pixels (the station reads dimensions from the header).
pub(super) fn png(w: u32, h: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    v.extend(w.to_be_bytes());
    v.extend(h.to_be_bytes());
    v.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    v.extend(std::iter::repeat_n(0u8, 64));
    v
}

backend_tests!(
    slots_follow_hours_and_skip_holidays,
    booking_rules,
    mini_program_needs_a_face_check,
    no_shows_block_online_booking,
    two_hundred_requests_for_five_places_give_five_bookings,
    the_same_person_racing_gets_one_booking,
    reminders_go_out_the_day_before,
    the_whole_day,
);
