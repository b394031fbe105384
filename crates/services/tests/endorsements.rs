//! Endorsements imported from a file and counted at the border, on both backends: trips,
//! validity, stays, refusals, and two exits racing for the last trip.

mod common;

use common::{OFFICES, app_with_keys, import, problems};
use exitentry_services::border::{self, CrossingRequest};
use exitentry_services::import::ImportKind;
use exitentry_services::partners::{self, NewPartner, PartnerContext};
use exitentry_services::{App, ServiceError};
use exitentry_storage::backend_tests;
use exitentry_storage::testing::TestDb;
use std::sync::Arc;

async fn seeded(t: &TestDb) -> (App, Arc<exitentry_services::ManualClock>, tempfile::TempDir) {
    let (app, clock, dir) = app_with_keys(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = exitentry_services::demo::generate(3, 20, app.today(), &app.policy, &[]);
    import(&app, ImportKind::People, &files.people_csv, false).await;
    import(&app, ImportKind::Documents, &files.documents_csv, false).await;
    (app, clock, dir)
}

async fn border_partner(app: &App, scopes: &str) -> PartnerContext {
    let (_, key) = partners::create(
        app,
        "test",
        &NewPartner {
            name: format!("border-{}", scopes.len()),
            kind: "government".into(),
            scopes: scopes.into(),
            rate_per_second: None,
            daily_quota: None,
            client_cert_sha256: None,
        },
    )
    .await
    .unwrap();
    partners::authenticate(app, &key).await.unwrap()
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
    let (app, _, _k) = seeded(t).await;
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
    let (app, _, _k) = seeded(t).await;
    import(&app, ImportKind::Endorsements, FILE, false).await;
    let p = border_partner(&app, "border").await;
    let go = |d: &str, dest: &str, at: &str| {
        let (app, p, r) = (app.clone(), p.clone(), cross(d, dest, at));
        async move { border::crossing(&app, &p, &r).await.unwrap() }
    };
    let a = go("exit", "hong_kong", "2026-12-01T08:00:00+08:00").await;
    assert_eq!((a.allowed, a.reason, a.trips_left), (true, "ok", Some(1)));
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
    let (app, _, _k) = seeded(t).await;
    let one_trip = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2026-11-01,2027-01-31,7
";
    import(&app, ImportKind::Endorsements, one_trip, false).await;
    let p = Arc::new(border_partner(&app, "border").await);
    let mut handles = Vec::new();
    for _ in 0..6 {
        let (app, p) = (app.clone(), p.clone());
        handles.push(tokio::spawn(async move {
            border::crossing(
                &app,
                &p,
                &cross("exit", "hong_kong", "2026-12-01T08:00:00+08:00"),
            )
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

backend_tests!(
    endorsements_import_with_a_report,
    the_border_counts_trips_and_stays,
    two_exits_race_for_the_last_trip,
);
