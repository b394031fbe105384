//! Endorsements at the counter, on both backends: every type, first endorsements, state
//! personnel, the review of a declared relative (approve, reject with refund, two reviewers
//! at once), the processing days before a kiosk prints, and stay (D) endorsements ending
//! with their approval.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use super::endorsements::{PRINTER, li_hua, order_states};
use chrono::TimeZone;
use exitentry_domain::staff::Role;
use exitentry_domain::states::{
    EndorsementApplicationState as E, PaymentOrderState, PrintJobState,
};
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::border::{self, CrossingRequest};
use exitentry_services::counter_endorsements::{self as counter, CounterRequest};
use exitentry_services::endorsement_applications as ea;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{assert_refused, backend_tests, error_code};
use exitentry_test_support::{partner, partner_context, seeded, staff_session};

use exitentry_test_support::LI_HUA_ID as LI_HUA;

fn staff(role: Role, name: &str) -> StaffSession {
    staff_session(role, name, Some("GZ-TH-001"))
}

fn clerk() -> StaffSession {
    staff(Role::CounterClerk, "clerk1")
}

fn reviewer(name: &str) -> StaffSession {
    staff(Role::Reviewer, name)
}

fn request(kind: &str, destination: &str, months: u32, trips: &str) -> CounterRequest {
    CounterRequest {
        id_number: LI_HUA.into(),
        destination: destination.into(),
        kind: kind.into(),
        validity_months: months,
        trips: trips.into(),
        checklist: exitentry_domain::endorsements::counter_checklist(
            exitentry_domain::endorsements::EndorsementType::parse(kind).unwrap(),
            false,
        )
        .into_iter()
        .map(String::from)
        .collect(),
        ..Default::default()
    }
}

fn family_visit(relation: &str, months: u32, trips: &str) -> CounterRequest {
    CounterRequest {
        relation: relation.into(),
        relative_name: "李明".into(),
        ..request("T", "hong_kong", months, trips)
    }
}

async fn a_first_family_visit_goes_through_review_and_processing(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    let li = li_hua(&app).await;
    // No endorsement yet: online is refused, the counter takes it.
    let mut online = ea::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "L".into(),
        validity_months: 3,
        trips: "1".into(),
    };
    assert_refused!(
        ea::apply(&app, li, "online", "test", &online),
        "first_time_at_counter"
    );
    let h = counter::lookup(&app, &clerk(), LI_HUA).await.unwrap();
    assert!(h.first_time);
    assert_eq!(h.card_number, "CA1234567");

    // The documents of the type must be checked; the relative must be declared and fit.
    let mut unchecked = family_visit("spouse", 3, "multiple");
    unchecked.checklist.retain(|c| c != "relation_proof");
    let mut nameless = family_visit("spouse", 3, "multiple");
    nameless.relative_name = " ".into();
    for (req, want, why) in [
        (
            unchecked,
            "checklist_incomplete",
            "the relation's proof unchecked",
        ),
        (
            family_visit("", 3, "multiple"),
            "bad_relation",
            "no relation",
        ),
        (
            family_visit("sibling", 3, "multiple"),
            "no_such_variant",
            "visiting a sibling is one trip",
        ),
        (nameless, "bad_relative_name", "the relative's name blank"),
        (
            family_visit("spouse", 12, "multiple"),
            "no_such_variant",
            "one year only for 60+ or a spouse with minor children",
        ),
    ] {
        assert_eq!(
            error_code(counter::apply(&app, &clerk(), &req)).await,
            want,
            "{why}"
        );
    }
    let a = counter::apply(&app, &clerk(), &family_visit("spouse", 3, "multiple"))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.fee_cents, a.stay_days, a.channel.as_str()),
        (E::AwaitingPayment, 8000, 90, "counter")
    );
    // 2026-11-22 is a Sunday: seven working days end on Tuesday 2026-12-01.
    assert_eq!(a.ready_on.as_deref(), Some("2026-12-01"));
    let again = family_visit("spouse", 3, "multiple");
    assert_refused!(counter::apply(&app, &clerk(), &again), "application_open");

    // A first endorsement to Macao too, at the same counter.
    let l = counter::apply(&app, &clerk(), &request("L", "macao", 3, "2"))
        .await
        .unwrap();
    counter::pay(&app, &clerk(), &l.id, "cash").await.unwrap();
    assert_eq!(
        ea::get(&app, li, &l.id).await.unwrap().status,
        E::ReadyToPrint,
        "group tours need no review"
    );

    // Paid: the family visit waits for a reviewer, and the counter cannot review it.
    let paid = counter::pay(&app, &clerk(), &a.id, "unionpay")
        .await
        .unwrap();
    assert_eq!(paid.application.status, E::UnderReview);
    assert!(matches!(
        counter::review(&app, &clerk(), &a.id, true, "").await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        counter::pay(&app, &reviewer("rev1"), &l.id, "cash").await,
        Err(ServiceError::Forbidden)
    ));
    let kiosk = crate::tianhe_kiosk(&app, "kiosk-a").await;
    assert_refused!(
        ea::print(&app, &kiosk, &PRINTER, li, &a.id),
        "not_ready_to_print"
    );
    let queue = counter::review_queue(&app, &reviewer("rev1"))
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].relative_name.as_deref(), Some("李明"));
    let ok = counter::review(
        &app,
        &reviewer("rev1"),
        &a.id,
        true,
        "marriage certificate seen",
    )
    .await
    .unwrap();
    assert_eq!(ok.application.status, E::ReadyToPrint);
    assert_eq!(ok.reviewed_by.as_deref(), Some("rev1"));

    // Processing days: the kiosk prints from the date on the receipt.
    assert_refused!(
        ea::print(&app, &kiosk, &PRINTER, li, &a.id),
        "not_ready_yet"
    );
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap());
    let printed = ea::print(&app, &kiosk, &PRINTER, li, &a.id).await.unwrap();
    assert_eq!(printed.job_status, PrintJobState::Printed);
    assert_eq!(printed.valid_until, "2027-02-28");

    // Multiple trips at the border, with the spouse's 90 days per stay.
    let p = partner_context(&app, &partner("border", "government", "border")).await;
    let cross = |direction: &str, at: &str| CrossingRequest {
        document_number: "CA1234567".into(),
        destination: "hong_kong".into(),
        direction: direction.into(),
        at: at.into(),
    };
    for (d, at) in [
        ("exit", "2026-12-02T08:00:00+08:00"),
        ("entry", "2027-01-30T08:00:00+08:00"),
        ("exit", "2027-02-01T08:00:00+08:00"),
    ] {
        let r = border::crossing(&app, &p, &cross(d, at)).await.unwrap();
        assert_eq!(
            (r.allowed, r.reason, r.trips_left),
            (true, "ok", None),
            "{d} {at}"
        );
    }
    // No longer a first-time applicant: individual tourism online works now.
    online.kind = "G".into();
    let g = ea::apply(&app, li, "online", "test", &online)
        .await
        .unwrap();
    assert_eq!(g.status, E::AwaitingPayment);
}

async fn a_rejected_relation_is_refunded_and_decided_once(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    let li = li_hua(&app).await;
    let a = counter::apply(&app, &clerk(), &family_visit("parent", 3, "multiple"))
        .await
        .unwrap();
    counter::pay(&app, &clerk(), &a.id, "wechat_pay")
        .await
        .unwrap();
    assert_refused!(
        counter::review(&app, &reviewer("rev1"), &a.id, false, "  "),
        "reason_required"
    );
    // Two reviewers decide at once: one decision counts.
    let (rev1, rev2) = (reviewer("rev1"), reviewer("rev2"));
    let (r1, r2) = tokio::join!(
        counter::review(&app, &rev1, &a.id, false, "no proof of the relation"),
        counter::review(&app, &rev2, &a.id, true, "")
    );
    let decided = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
    assert_eq!(decided, 1, "{r1:?} {r2:?}");
    assert!(
        [&r1, &r2]
            .iter()
            .any(|r| matches!(r, Err(e) if e.code() == "not_under_review"))
    );
    let status = ea::get(&app, li, &a.id).await.unwrap().status;
    let orders = order_states(&app, &a.id).await;
    if r1.is_ok() {
        assert_eq!(status, E::Rejected);
        assert_eq!(
            orders,
            [PaymentOrderState::Refunded],
            "a rejection gives the fee back"
        );
        assert_eq!(
            ea::get(&app, li, &a.id)
                .await
                .unwrap()
                .review_note
                .as_deref(),
            Some("no proof of the relation")
        );
    } else {
        assert_eq!(status, E::ReadyToPrint);
        assert_eq!(orders, [PaymentOrderState::Paid]);
    }
}

async fn business_other_stay_and_talent_at_the_counter(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    let li = li_hua(&app).await;
    // Business after 2024-05-06: 14 days per stay; not online.
    let business = ea::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "S".into(),
        validity_months: 3,
        trips: "1".into(),
    };
    assert_refused!(
        ea::apply(&app, li, "online", "test", &business),
        "first_time_at_counter"
    );
    let s = counter::apply(&app, &clerk(), &request("S", "hong_kong", 12, "multiple"))
        .await
        .unwrap();
    assert_eq!((s.stay_days, s.fee_cents), (14, 8000));
    // Stay (D): until the approval's end, with its days per stay.
    let mut d = request("D", "macao", 0, "");
    d.approved_until = "2027-08-31".into();
    d.stay_days = 180;
    let stay = counter::apply(&app, &clerk(), &d).await.unwrap();
    assert_eq!(
        (
            stay.fixed_until.as_deref(),
            stay.trips.as_str(),
            stay.stay_days
        ),
        (Some("2027-08-31"), "multiple", 180)
    );
    counter::pay(&app, &clerk(), &stay.id, "cash")
        .await
        .unwrap();
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap());
    let kiosk = crate::tianhe_kiosk(&app, "kiosk-a").await;
    let printed = ea::print(&app, &kiosk, &PRINTER, li, &stay.id)
        .await
        .unwrap();
    assert_eq!(printed.valid_until, "2027-08-31");
    let mut ended = request("D", "macao", 0, "");
    ended.approved_until = "2026-12-01".into();
    ended.stay_days = 30;
    assert_refused!(counter::apply(&app, &clerk(), &ended), "approval_ended");
    // Talent: five years, 240 CNY; the card (until 2034) outlasts it by more than 20 days.
    let talent = counter::apply(&app, &clerk(), &request("talent", "macao", 60, "multiple"))
        .await
        .unwrap();
    assert_eq!((talent.fee_cents, talent.stay_days), (24000, 30));
    // Other (Q): two trips.
    ea::cancel(&app, li, &talent.id, "test").await.unwrap();
    let q = counter::apply(&app, &clerk(), &request("Q", "macao", 3, "2"))
        .await
        .unwrap();
    assert_eq!((q.fee_cents, q.stay_days), (3000, 14));
}

async fn state_personnel_bring_their_units_approval(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    let li = li_hua(&app).await;
    {
        let mut c = app.db.conn().await.unwrap();
        exitentry_storage::endorsement_applications::set_state_personnel(&mut c, li, true)
            .await
            .unwrap();
    }
    let h = counter::lookup(&app, &clerk(), LI_HUA).await.unwrap();
    assert!(h.state_personnel);
    let mut r = request("L", "hong_kong", 3, "1");
    assert_refused!(counter::apply(&app, &clerk(), &r), "checklist_incomplete");
    r.checklist.push("unit_approval".into());
    counter::apply(&app, &clerk(), &r).await.unwrap();
    // Someone unknown, and a clerk without an office.
    assert!(matches!(
        counter::lookup(&app, &clerk(), "110101190001010000").await,
        Err(ServiceError::NotFound(_))
    ));
    let mut nowhere = clerk();
    nowhere.office_code = None;
    assert_refused!(counter::lookup(&app, &nowhere, LI_HUA), "no_office");
}

backend_tests!(
    a_first_family_visit_goes_through_review_and_processing,
    a_rejected_relation_is_refunded_and_decided_once,
    business_other_stay_and_talent_at_the_counter,
    state_personnel_bring_their_units_approval,
);
