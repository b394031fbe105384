//! Endorsements imported from a file and counted at the border, on both backends: trips,
//! validity, stays, refusals, and two exits racing for the last trip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_domain::states::{
    EndorsementApplicationState as E, PaymentOrderState, PrintJobState,
};
use exitentry_services::border::{self, CrossingRequest};
use exitentry_services::centre::DeviceSession;
use exitentry_services::endorsement_applications as ea;
use exitentry_services::import::ImportKind;
use exitentry_services::online_payments as op;
use exitentry_services::partners::PartnerContext;
use exitentry_services::{App, ManualClock, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{
    LI_HUA_ID, audited, import, paid_in_sandbox, partner, partner_context, person_id, problems,
    seeded, staff_session,
};
use exitentry_test_support::{assert_refused, backend_tests, error_code};
use std::sync::Arc;

/// The sandbox's signature header.
fn signed(sig: &str) -> op::HeaderMap {
    let mut h = op::HeaderMap::new();
    h.insert("x-signature", sig.parse().unwrap());
    h
}

async fn border_partner(app: &App, scopes: &str) -> PartnerContext {
    let name = format!("border-{}", scopes.len());
    partner_context(app, &partner(&name, "government", scopes)).await
}

/// 李华's card CA1234567: a Hong Kong G endorsement with two trips, and a spent Macao one.
const FILE: &str = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,G,2,2026-11-01,2027-01-31,7
ca1234567,macao,L,1,2025-01-01,2025-03-31,7
";

fn cross(direction: &str, destination: &str, at: &str) -> CrossingRequest {
    CrossingRequest {
        document_number: "CA1234567".into(),
        destination: destination.into(),
        direction: direction.into(),
        at: at.into(),
    }
}

async fn endorsements_import_with_a_report(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    let bad = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,G,2,2026-11-01,2027-01-31,7
CW9999998,hong_kong,G,1,2026-11-01,2027-01-31,7
CA1234567,taipei,G,1,2026-11-01,2027-01-31,7
CA1234567,hong_kong,X,0,2026-11-01,2027-01-31,0
CA1234567,macao,S,multiple,2027-01-31,2026-11-01,14
CA1234567,macao,talent,multiple,2026-11-01,2099-01-01,30
CA1234567,hong_kong,G,2,2026-11-01,2027-01-31,7
";
    let s = import(&app, ImportKind::Endorsements, bad, false).await;
    assert_eq!(
        problems(&s),
        vec![
            (2, "document_number".into(), "unknown_permit".into()),
            (3, "destination".into(), "bad_destination".into()),
            (4, "stay_days".into(), "bad_stay_days".into()),
            (4, "trips".into(), "bad_trips".into()),
            (4, "type".into(), "bad_endorsement_type".into()),
            (5, "valid_until".into(), "ends_before_start".into()),
            (6, "valid_until".into(), "outside_permit_validity".into()),
            (7, "document_number".into(), "duplicate_in_file".into()),
        ]
    );
    assert_eq!(s.inserted, 0, "all or nothing");
    let s = import(&app, ImportKind::Endorsements, FILE, false).await;
    assert_eq!((s.inserted, s.problems.len()), (2, 0));
    let again = import(&app, ImportKind::Endorsements, FILE, false).await;
    assert_eq!(
        again.inserted, 0,
        "re-importing the same file changes nothing"
    );
}

async fn the_border_counts_trips_and_stays(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    import(&app, ImportKind::Endorsements, FILE, false).await;
    let p = border_partner(&app, "border").await;
    let go = |d: &str, dest: &str, at: &str| {
        let (app, p, r) = (app.clone(), p.clone(), cross(d, dest, at));
        async move { border::crossing(&app, &p, &r).await.unwrap() }
    };
    let a = go("exit", "hong_kong", "2026-12-01T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason, a.trips_left), (true, "ok", Some(1)));
    // Border control retries after a timeout: the same answer, no second trip taken.
    let again = go("exit", "hong_kong", "2026-12-01T08:00:00+08:00").await;
    assert_eq!(
        (again.allowed, again.reason, again.trips_left),
        (true, "ok", Some(1))
    );
    let a = go("entry", "hong_kong", "2026-12-07T20:00:00+08:00").await;
    assert_eq!(
        (a.allowed, a.reason),
        (true, "ok"),
        "7 days counted inclusively"
    );
    let a = go("exit", "hong_kong", "2026-12-20T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.trips_left), (true, Some(0)));
    let a = go("entry", "hong_kong", "2026-12-27T09:00:00+08:00").await;
    assert_eq!(
        (a.allowed, a.reason),
        (true, "overstay"),
        "8 days on a 7-day endorsement"
    );
    let a = go("exit", "hong_kong", "2027-01-10T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason), (false, "no_trips_left"));
    // Macao: the only endorsement expired in 2025.
    let a = go("exit", "macao", "2026-12-01T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason), (false, "endorsement_expired"));
    // An entry without an exit on record is recorded and said so.
    let a = go("entry", "macao", "2026-12-02T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason), (true, "no_exit_on_record"));
    // Someone with no endorsement at all; an unknown permit; after the permit's expiry.
    let mut unknown = cross("exit", "hong_kong", "2026-12-01T08:00:00+08:00");
    unknown.document_number = "CZ9999999".into();
    assert_eq!(
        border::crossing(&app, &p, &unknown).await.unwrap().reason,
        "unknown_permit"
    );
    let a = go("exit", "hong_kong", "2040-01-01T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason), (false, "permit_expired"));
    // Bad input and the wrong scope.
    let mut bad = cross("sideways", "hong_kong", "2026-12-01T08:00:00+08:00");
    assert!(matches!(
        border::crossing(&app, &p, &bad).await,
        Err(ServiceError::Invalid {
            field: "direction",
            ..
        })
    ));
    bad.direction = "exit".into();
    bad.at = "tomorrow".into();
    assert!(matches!(
        border::crossing(&app, &p, &bad).await,
        Err(ServiceError::Invalid { field: "at", .. })
    ));
    let airline = border_partner(&app, "verify_permit").await;
    assert!(matches!(
        border::crossing(
            &app,
            &airline,
            &cross("exit", "hong_kong", "2026-12-01T08:00:00+08:00")
        )
        .await,
        Err(ServiceError::Forbidden)
    ));
}

async fn two_exits_race_for_the_last_trip(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    let one_trip = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2026-11-01,2027-01-31,7
";
    import(&app, ImportKind::Endorsements, one_trip, false).await;
    let p = Arc::new(border_partner(&app, "border").await);
    let mut handles = Vec::new();
    for i in 0..6 {
        let (app, p) = (app.clone(), p.clone());
        handles.push(tokio::spawn(async move {
            // Six different crossings (not retries) at the same minute.
            let at = format!("2026-12-01T08:00:0{i}+08:00");
            border::crossing(&app, &p, &cross("exit", "hong_kong", &at))
                .await
                .unwrap()
        }));
    }
    let mut allowed = 0;
    for h in handles {
        let a = h.await.unwrap();
        if a.allowed {
            allowed += 1;
        } else {
            assert_eq!(a.reason, "no_trips_left");
        }
    }
    assert_eq!(allowed, 1);
}

/// 李华 had a Hong Kong L endorsement in 2024, so she is not a first-time applicant.
const PAST: &str = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2024-05-01,2024-07-31,7
";

pub(super) async fn li_hua(app: &App) -> i64 {
    person_id(app, LI_HUA_ID).await
}

/// A kiosk's printer that prints, and one that jams every time.
pub(super) const PRINTER: ea::DevPrinter = ea::DevPrinter { fail: false };
const JAM: ea::DevPrinter = ea::DevPrinter { fail: true };

fn g_hk() -> ea::ApplyRequest {
    ea::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "G".into(),
        validity_months: 3,
        trips: "1".into(),
    }
}

/// 李华 (with her 2024 endorsement on record, so not a first-time applicant) and kiosk-a
/// of the Tianhe hall.
async fn li_hua_at_kiosk(
    t: &TestDb,
) -> (App, Arc<ManualClock>, tempfile::TempDir, i64, DeviceSession) {
    let (app, clock, keys) = seeded(t, 20).await;
    import(&app, ImportKind::Endorsements, PAST, false).await;
    let li = li_hua(&app).await;
    let kiosk = crate::tianhe_kiosk(&app, "kiosk-a").await;
    (app, clock, keys, li, kiosk)
}

/// [`g_hk`] applied for at kiosk-a and paid there by `method`.
async fn paid_at_kiosk(
    app: &App,
    kiosk: &DeviceSession,
    li: i64,
    method: &str,
) -> ea::ApplicationView {
    let a = ea::apply(app, li, "kiosk", "device:kiosk-a", &g_hk())
        .await
        .unwrap();
    ea::pay_at_kiosk(app, kiosk, li, &a.id, method)
        .await
        .unwrap()
}

/// The states of the application's payment orders, oldest first.
pub(super) async fn order_states(app: &App, application: &str) -> Vec<PaymentOrderState> {
    let mut c = app.db.conn().await.unwrap();
    exitentry_storage::online_payments::orders_for(
        &mut c,
        &format!("endorsement_application:{application}"),
    )
    .await
    .unwrap()
    .iter()
    .map(|o| o.status)
    .collect()
}

async fn online_endorsements_are_paid_once_whatever_the_callbacks(t: &TestDb) {
    let (app, _, _k) = seeded(t, 20).await;
    import(&app, ImportKind::Endorsements, PAST, false).await;
    let li = li_hua(&app).await;
    let choices = ea::choices(&app, li).await.unwrap();
    assert!(
        choices
            .iter()
            .any(|c| c.kind == "G" && c.destination == "macao" && c.trips == "1")
    );
    assert!(
        !choices
            .iter()
            .any(|c| c.kind == "G" && c.destination == "macao" && c.trips == "2"),
        "Macao G is single-trip"
    );
    let a = ea::apply(&app, li, "online", "test", &g_hk())
        .await
        .unwrap();
    assert_eq!((a.status, a.fee_cents), (E::AwaitingPayment, 1500));
    assert_refused!(
        ea::apply(&app, li, "online", "test", &g_hk()),
        "application_open"
    );
    let subject = format!("endorsement_application:{}", a.id);
    let (order, checkout) = op::start(&app, &subject, "alipay", a.fee_cents, "test")
        .await
        .unwrap();
    assert_eq!(
        checkout,
        op::Checkout::Redirect(format!("/dev/pay/{}", order.id))
    );
    let secret = app.config.endorsements.sandbox_secret.expose().to_string();
    let sandbox = app.sandbox.clone().unwrap();
    let (body, sig) = sandbox.decide(&secret, &order, op::Outcome::Paid);
    // Another provider's callback cannot pay an alipay order: its signature (alipay's key)
    // fails there, and even one rightly signed by that provider is refused and audited.
    assert!(matches!(
        op::callback(&app, "unionpay", &body, &signed(&sig), ea::on_paid).await,
        Err(ServiceError::Forbidden)
    ));
    let unionpay_sig = op::sign(&op::sandbox_provider_secret(&secret, "unionpay"), &body);
    assert_eq!(
        error_code(op::callback(
            &app,
            "unionpay",
            &body,
            &signed(&unionpay_sig),
            ea::on_paid
        ))
        .await,
        "wrong_provider"
    );
    assert_eq!(
        op::order(&app, &order.id).await.unwrap().status,
        PaymentOrderState::Pending
    );
    assert!(
        audited(&app, "payment.wrong_provider").await > 0,
        "the attempt is audited"
    );
    // A forged signature is refused and changes nothing.
    assert!(matches!(
        op::callback(
            &app,
            "alipay",
            &body,
            &signed(&"00".repeat(32)),
            ea::on_paid
        )
        .await,
        Err(ServiceError::Forbidden)
    ));
    let tampered = body.replace("1500", "1");
    assert!(matches!(
        op::callback(&app, "alipay", &tampered, &signed(&sig), ea::on_paid).await,
        Err(ServiceError::Forbidden)
    ));
    // The same callback ten times credits once.
    let mut changed = 0;
    for _ in 0..10 {
        if op::callback(&app, "alipay", &body, &signed(&sig), ea::on_paid)
            .await
            .unwrap()
            .changed
        {
            changed += 1;
        }
    }
    assert_eq!(changed, 1);
    assert_eq!(
        ea::get(&app, li, &a.id).await.unwrap().status,
        E::ReadyToPrint
    );
    // A late "failed" for the same order does not undo the payment.
    let (fbody, fsig) = sandbox.decide(&secret, &order, op::Outcome::Failed);
    op::callback(&app, "alipay", &fbody, &signed(&fsig), ea::on_paid)
        .await
        .unwrap();
    // A second order paid for the same application is refunded.
    let (second, _) = op::start(&app, &subject, "alipay", a.fee_cents, "test")
        .await
        .unwrap();
    let (b2, s2) = sandbox.decide(&secret, &second, op::Outcome::Paid);
    assert!(
        op::callback(&app, "alipay", &b2, &signed(&s2), ea::on_paid)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(
        order_states(&app, &a.id).await,
        [PaymentOrderState::Paid, PaymentOrderState::Refunded]
    );
    let r = op::reconciliation(&app, "alipay", app.today())
        .await
        .unwrap();
    // As the provider's settlement file has it: two payments in, one refunded.
    assert_eq!(
        (r.orders, r.paid, r.paid_cents, r.refunded, r.refunded_cents),
        (2, 2, 3000, 1, 1500)
    );
}

async fn a_lost_callback_is_caught_by_asking_the_provider(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    import(&app, ImportKind::Endorsements, PAST, false).await;
    let li = li_hua(&app).await;
    let a = ea::apply(&app, li, "online", "test", &g_hk())
        .await
        .unwrap();
    // The applicant paid, but the callback never arrives.
    let (order, _) = paid_in_sandbox(&app, &a, "unionpay").await;
    assert_eq!(
        op::query_pending(&app, ea::on_paid).await.unwrap(),
        0,
        "too early to ask"
    );
    clock.advance(chrono::Duration::minutes(3));
    assert_eq!(op::query_pending(&app, ea::on_paid).await.unwrap(), 1);
    assert_eq!(
        ea::get(&app, li, &a.id).await.unwrap().status,
        E::ReadyToPrint
    );
    // Cancelling a paid application the next day refunds it; the reconciliation counts the
    // payment on the day it came in and the refund on the day it went out.
    let paid_day = app.today();
    clock.advance(chrono::Duration::days(1));
    let c = ea::cancel(&app, li, &a.id, "test").await.unwrap();
    assert_eq!(c.status, E::Refunded);
    let day1 = op::reconciliation(&app, "unionpay", paid_day)
        .await
        .unwrap();
    assert_eq!(
        (day1.orders, day1.paid, day1.paid_cents, day1.refunded),
        (1, 1, 1500, 0)
    );
    let day2 = op::reconciliation(&app, "unionpay", app.today())
        .await
        .unwrap();
    assert_eq!(
        (day2.orders, day2.paid, day2.refunded, day2.refunded_cents),
        (0, 0, 1, 1500)
    );
    let mut conn = app.db.conn().await.unwrap();
    let o = exitentry_storage::online_payments::order(&mut conn, &order.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.status, PaymentOrderState::Refunded);
}

async fn who_may_apply_online(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    let li = li_hua(&app).await;
    // No endorsement on record yet: a first endorsement is applied for at the counter.
    assert_refused!(
        ea::apply(&app, li, "online", "test", &g_hk()),
        "first_time_at_counter"
    );
    import(&app, ImportKind::Endorsements, PAST, false).await;
    let mut t_visit = g_hk();
    t_visit.kind = "T".into();
    assert_refused!(
        ea::apply(&app, li, "online", "test", &t_visit),
        "counter_only"
    );
    let mut two = g_hk();
    two.destination = "macao".into();
    two.trips = "2".into();
    assert_refused!(
        ea::apply(&app, li, "online", "test", &two),
        "no_such_variant"
    );
    // Outside the scheme cities: L yes, G no.
    let mut elsewhere = app.clone();
    std::sync::Arc::make_mut(&mut elsewhere.config)
        .endorsements
        .scheme_city_prefixes
        .clear();
    assert_refused!(
        ea::apply(&elsewhere, li, "online", "test", &g_hk()),
        "not_scheme_city"
    );
    assert!(
        ea::choices(&elsewhere, li)
            .await
            .unwrap()
            .iter()
            .all(|c| c.kind == "L")
    );
    // The scheme follows the household registration, not the identity number: 李华's number
    // starts 1101 (Beijing) but her hukou moves to Lhasa (5401, not in the scheme), then to
    // Guangzhou (4401, in it). Recorded by a counter clerk, audited; others may not.
    use exitentry_domain::staff::Role;
    let clerk = staff_session(Role::CounterClerk, "clerk", Some("GZ-TH-001"));
    let reviewer = staff_session(Role::Reviewer, "clerk", Some("GZ-TH-001"));
    use exitentry_services::registry;
    assert!(matches!(
        registry::set_hukou_area(&app, &reviewer, li, "540102", "moved").await,
        Err(ServiceError::Forbidden)
    ));
    assert_refused!(
        registry::set_hukou_area(&app, &clerk, li, "54010", "moved"),
        "bad_hukou_area"
    );
    registry::set_hukou_area(&app, &clerk, li, "540102", "hukou booklet seen")
        .await
        .unwrap();
    assert_refused!(
        ea::apply(&app, li, "online", "test", &g_hk()),
        "not_scheme_city"
    );
    registry::set_hukou_area(&app, &clerk, li, "440106", "moved to Guangzhou")
        .await
        .unwrap();
    assert!(
        ea::choices(&app, li)
            .await
            .unwrap()
            .iter()
            .any(|c| c.kind == "G")
    );
    assert_eq!(audited(&app, "person.hukou_area").await, 2);
    // State personnel apply through their unit.
    {
        let mut c = app.db.conn().await.unwrap();
        exitentry_storage::endorsement_applications::set_state_personnel(&mut c, li, true)
            .await
            .unwrap();
    }
    assert_refused!(
        ea::apply(&app, li, "online", "test", &g_hk()),
        "state_personnel"
    );
    {
        let mut c = app.db.conn().await.unwrap();
        exitentry_storage::endorsement_applications::set_state_personnel(&mut c, li, false)
            .await
            .unwrap();
    }
    // The 20-day rule near the card's expiry (2034-03-09): 3 months from 2033-12-01 end on
    // 2034-02-28, 9 days before; refused, unless the policy switch is off for cards.
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2033, 12, 1, 2, 0, 0).unwrap());
    assert_refused!(
        ea::apply(&app, li, "online", "test", &g_hk()),
        "permit_expires_too_soon"
    );
    let mut lenient = app.clone();
    std::sync::Arc::make_mut(&mut lenient.config)
        .endorsements
        .twenty_day_rule_for_cards = false;
    ea::apply(&lenient, li, "online", "test", &g_hk())
        .await
        .unwrap();
}

async fn the_kiosk_takes_the_fee_and_prints_once(t: &TestDb) {
    let (app, _, _k, li, kiosk) = li_hua_at_kiosk(t).await;
    let other = crate::tianhe_kiosk(&app, "kiosk-b").await;
    // The card's machine-readable line works as well as its number.
    assert_eq!(
        ea::identify(
            &app,
            &kiosk,
            "CSCA12345674<<2710104<3401091<<",
            "11010519491231002X"
        )
        .await
        .unwrap(),
        li
    );
    assert_eq!(
        error_code(ea::identify(
            &app,
            &kiosk,
            "CA1234567",
            "440106199001010010"
        ))
        .await,
        "card_or_identity_mismatch"
    );
    let a = paid_at_kiosk(&app, &kiosk, li, "yang_cheng_tong").await;
    assert_eq!(a.status, E::ReadyToPrint);
    // Two kiosks press print at once: one prints, the other is refused.
    let (r1, r2) = tokio::join!(
        ea::print(&app, &kiosk, &PRINTER, li, &a.id),
        ea::print(&app, &other, &PRINTER, li, &a.id)
    );
    let outcomes = [r1.map(|p| p.job_status), r2.map(|p| p.job_status)];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(PrintJobState::Printed)))
            .count(),
        1
    );
    assert!(outcomes.iter().any(|o| matches!(o, Err(e) if e.code() == "already_printing" || e.code() == "not_ready_to_print")));
    // The printed endorsement is used at the border.
    let p = border_partner(&app, "border").await;
    let on = app.today();
    let exit = border::crossing(
        &app,
        &p,
        &CrossingRequest {
            document_number: "CA1234567".into(),
            destination: "hong_kong".into(),
            direction: "exit".into(),
            at: format!("{on}T10:00:00+08:00"),
        },
    )
    .await
    .unwrap();
    assert_eq!((exit.allowed, exit.trips_left), (true, Some(0)));
}

async fn a_print_that_keeps_failing_is_refunded(t: &TestDb) {
    let (app, _, _k, li, kiosk) = li_hua_at_kiosk(t).await;
    let a = paid_at_kiosk(&app, &kiosk, li, "unionpay").await;
    for attempt in 1..=3 {
        let p = ea::print(&app, &kiosk, &JAM, li, &a.id).await.unwrap();
        assert_eq!((p.job_status, p.attempts), (PrintJobState::Failed, attempt));
    }
    assert_eq!(ea::get(&app, li, &a.id).await.unwrap().status, E::Refunded);
    // (Refunded after the third failure, as configured.)
    assert_eq!(
        order_states(&app, &a.id).await,
        [PaymentOrderState::Refunded]
    );
    assert_refused!(
        ea::print(&app, &kiosk, &JAM, li, &a.id),
        "not_ready_to_print"
    );
}

/// Paid in time, printed too late: on the print day the card no longer outlasts the
/// endorsement by more than 20 days, so nothing is printed, the fee comes back, and the
/// applicant is told why. With the rule off for cards, the printed validity still stops at
/// the card's expiry.
async fn the_twenty_day_rule_holds_on_the_print_day(t: &TestDb) {
    let (app, clock, _k, li, kiosk) = li_hua_at_kiosk(t).await;
    // The card expires 2034-03-09. Paid on 2033-11-15: 3 months end 2034-02-14, 23 days before.
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2033, 11, 15, 2, 0, 0).unwrap());
    let a = paid_at_kiosk(&app, &kiosk, li, "unionpay").await;
    // Printed a week later: 3 months would end 2034-02-21, only 16 days before.
    clock.advance(chrono::Duration::days(7));
    assert_refused!(
        ea::print(&app, &kiosk, &PRINTER, li, &a.id),
        "permit_expires_too_soon"
    );
    let v = ea::get(&app, li, &a.id).await.unwrap();
    assert_eq!(v.status, E::Refunded);
    assert_eq!(v.refund_reason.as_deref(), Some("permit_expires_too_soon"));
    assert_eq!(
        order_states(&app, &a.id).await,
        [PaymentOrderState::Refunded]
    );

    // Without the rule for cards, the endorsement is printed but never runs past the card.
    let mut lenient = app.clone();
    std::sync::Arc::make_mut(&mut lenient.config)
        .endorsements
        .twenty_day_rule_for_cards = false;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2034, 1, 20, 2, 0, 0).unwrap());
    let a = paid_at_kiosk(&lenient, &kiosk, li, "unionpay").await;
    let printed = ea::print(&lenient, &kiosk, &PRINTER, li, &a.id)
        .await
        .unwrap();
    assert_eq!(printed.valid_until, "2034-03-09");
}

/// A kiosk that stops mid-print leaves the job `printing`; five minutes later the next attempt
/// takes it as failed and prints.
async fn an_interrupted_print_is_released(t: &TestDb) {
    let (app, clock, _k, li, kiosk) = li_hua_at_kiosk(t).await;
    let a = paid_at_kiosk(&app, &kiosk, li, "unionpay").await;
    {
        // What a crash between the claim and the record leaves behind.
        let mut c = app.db.conn().await.unwrap();
        let now = app.now_micros();
        let job =
            exitentry_storage::endorsement_applications::queue_print(&mut c, &a.id, "kiosk-a", now)
                .await
                .unwrap();
        exitentry_storage::endorsement_applications::job_transition(
            &mut c,
            job,
            PrintJobState::Queued,
            PrintJobState::Printing,
            None,
            now,
        )
        .await
        .unwrap();
        exitentry_storage::endorsement_applications::transition(
            &mut c,
            &a.id,
            E::ReadyToPrint,
            E::Printing,
            now,
        )
        .await
        .unwrap();
    }
    assert_refused!(
        ea::print(&app, &kiosk, &PRINTER, li, &a.id),
        "not_ready_to_print"
    );
    clock.advance(chrono::Duration::minutes(6));
    let p = ea::print(&app, &kiosk, &PRINTER, li, &a.id).await.unwrap();
    assert_eq!(p.job_status, PrintJobState::Printed);
}

/// A card that has expired is told as such at the kiosk (not as a mismatch of numbers),
/// and both numbers may be typed with spaces and in lower case.
async fn the_kiosk_tells_a_card_that_is_no_longer_valid(t: &TestDb) {
    let (app, clock, _k, li, kiosk) = li_hua_at_kiosk(t).await;
    let typed = ea::identify(&app, &kiosk, "csca 1234 567", "110105 19491231 002x").await;
    assert_eq!(typed.unwrap(), li);
    clock.advance(chrono::Duration::days(20 * 366));
    assert_eq!(
        error_code(ea::identify(
            &app,
            &kiosk,
            "CA1234567",
            "11010519491231002X"
        ))
        .await,
        "card_no_longer_valid"
    );
}

backend_tests!(
    the_kiosk_tells_a_card_that_is_no_longer_valid,
    the_twenty_day_rule_holds_on_the_print_day,
    an_interrupted_print_is_released,
    endorsements_import_with_a_report,
    the_border_counts_trips_and_stays,
    two_exits_race_for_the_last_trip,
    online_endorsements_are_paid_once_whatever_the_callbacks,
    a_lost_callback_is_caught_by_asking_the_provider,
    who_may_apply_online,
    the_kiosk_takes_the_fee_and_prints_once,
    a_print_that_keeps_failing_is_refunded,
);
