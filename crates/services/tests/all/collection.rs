//! Collection at the kiosk on both backends: the old card surrendered before the new one
//! comes out, one release whatever the timing, reminders and cancellation of documents
//! nobody collected, two counters never calling the same ticket.

use super::centre::*;
use chrono::{Duration, TimeZone, Utc};
use exitentry_domain::staff::Role;
use exitentry_services::App;
use exitentry_services::centre::{self, AcceptRequest, Desk};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;
use exitentry_test_support::seeded;

/// A walk-in's card renewal at GZ-TH-001 on Monday 2026-11-23, accepted, paid in cash and
/// processed: (the accepted application, the payment with its collection date).
pub(super) async fn ready_renewal(
    app: &App,
    clock: &exitentry_services::ManualClock,
) -> (
    exitentry_services::centre::ApplicationView,
    exitentry_services::centre::ApplicationView,
) {
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 1, 50, 0).unwrap());
    let (printer, _) =
        centre::create_device(app, "admin", "GZ-TH-001", "printer-1", "ticket_printer")
            .await
            .unwrap();
    let clerk = staff(Role::CounterClerk, Some("GZ-TH-001"));
    centre::walk_in(app, Desk::Device(&printer), "eep_application", false)
        .await
        .unwrap();
    let photo = centre::take_photo(app, &clerk, &png(390, 567))
        .await
        .unwrap();
    let t1 = centre::call_next(app, &clerk, "1", &[])
        .await
        .unwrap()
        .unwrap();
    let accepted = centre::accept(
        app,
        &clerk,
        &AcceptRequest {
            ticket_id: t1.id,
            product: "eep_card_renewal".into(),
            checklist: [
                "identity_card",
                "hukou_booklet",
                "application_form",
                "old_permit",
            ]
            .map(String::from)
            .to_vec(),
            photo_receipt: photo.receipt_code,
            id_number: Some("11010519491231002X".into()),
        },
    )
    .await
    .unwrap();
    let paid = centre::pay(app, &clerk, &accepted.id, "cash")
        .await
        .unwrap();
    centre::mark_ready(app, &staff(Role::Admin, None), &accepted.id)
        .await
        .unwrap();
    (accepted, paid)
}

async fn two_kiosks_release_a_document_once(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    let (accepted, _) = ready_renewal(&app, &clock).await;
    let mut kiosks = Vec::new();
    for i in 0..4 {
        kiosks.push(crate::tianhe_kiosk(&app, &format!("kiosk-{i}")).await);
    }
    let mut handles = Vec::new();
    for k in kiosks {
        let (app, r) = (app.clone(), accepted.reference.clone());
        handles.push(tokio::spawn(async move {
            centre::collect(&app, &k, &r, LI_HUA, HER_CARD).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "already_collected"),
        }
    }
    assert_eq!(ok, 1);
}

/// A finished document waits 12 months after its collection date: a reminder once, a month
/// before, then it is cancelled and the kiosk no longer releases it.
async fn uncollected_documents_are_reminded_then_cancelled(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    let (accepted, paid) = ready_renewal(&app, &clock).await;
    let collection: chrono::NaiveDate = paid.collection_date.clone().unwrap().parse().unwrap();
    let deadline = collection
        .checked_add_months(chrono::Months::new(12))
        .unwrap();
    let at = |d: chrono::NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(2, 0, 0).unwrap());
    clock.set(at(deadline - Duration::days(32)));
    assert_eq!(centre::sweep_uncollected(&app).await.unwrap(), (0, 0));
    clock.set(at(deadline - Duration::days(20)));
    assert_eq!(centre::sweep_uncollected(&app).await.unwrap(), (1, 0));
    assert_eq!(
        centre::sweep_uncollected(&app).await.unwrap(),
        (0, 0),
        "reminded once"
    );
    clock.set(at(deadline + Duration::days(1)));
    assert_eq!(centre::sweep_uncollected(&app).await.unwrap(), (0, 1));
    let kiosk = crate::tianhe_kiosk(&app, "kiosk-1").await;
    assert!(
        centre::collect(
            &app,
            &kiosk,
            &paid.reference,
            "11010519491231002X",
            "CA1234567"
        )
        .await
        .is_err()
    );
    let mut c = app.db.conn().await.unwrap();
    let trail =
        exitentry_storage::audit::for_subject(&mut c, &format!("application:{}", accepted.id))
            .await
            .unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.entry.action == "application.uncollected_cancelled")
    );
}

async fn two_counters_never_call_the_same_ticket(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 50).await;
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 1, 50, 0).unwrap());
    let (printer, _) =
        centre::create_device(&app, "admin", "GZ-TH-001", "printer-1", "ticket_printer")
            .await
            .unwrap();
    for _ in 0..6 {
        centre::walk_in(&app, Desk::Device(&printer), "eep_application", false)
            .await
            .unwrap();
    }
    let mut handles = Vec::new();
    for counter in 1..=8 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            let clerk = staff(Role::CounterClerk, Some("GZ-TH-001"));
            centre::call_next(&app, &clerk, &counter.to_string(), &[])
                .await
                .unwrap()
        }));
    }
    let mut labels = Vec::new();
    for h in handles {
        if let Some(t) = h.await.unwrap() {
            labels.push(t.label);
        }
    }
    labels.sort();
    assert_eq!(labels, ["A001", "A002", "A003", "A004", "A005", "A006"]);
}

backend_tests!(
    two_kiosks_release_a_document_once,
    uncollected_documents_are_reminded_then_cancelled,
    two_counters_never_call_the_same_ticket,
);
