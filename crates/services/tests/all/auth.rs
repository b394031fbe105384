//! Staff login, lock-out, sessions and role checks; registry search. Both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::Duration;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use exitentry_services::import::ImportKind;
use exitentry_services::{App, ServiceError, auth, registry};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{OFFICES, app, import};
use exitentry_test_support::{
    assert_locks_out, assert_refused, audited, backend_tests, error_code,
};

const PW: &str = "correct horse battery";

/// Creates `username` with `role` and [`PW`], at no office.
async fn created(app: &App, username: &str, role: &str) {
    auth::create_staff(app, "cli", username, PW, role, None)
        .await
        .unwrap();
}

/// [`created`] and signed in.
async fn signed_in(app: &App, username: &str, role: &str) -> auth::StaffSession {
    created(app, username, role).await;
    auth::login(app, username, PW).await.unwrap().1
}

async fn login_locks_after_repeated_failures_and_unlocks_later(t: &TestDb) {
    let (app, clock) = app(t);
    created(&app, "Clerk.Wu", "counter_clerk").await;
    let (token, s) = auth::login(&app, "clerk.wu", PW).await.unwrap();
    assert_eq!(s.username, "clerk.wu");
    assert!(auth::session(&app, &token).await.unwrap().is_some());

    // Locked: even the right password is refused until the lock ends.
    assert_locks_out(&app, |pw| auth::login(&app, "clerk.wu", pw), PW).await;
    clock.advance(Duration::minutes(16));
    assert!(auth::login(&app, "clerk.wu", PW).await.is_ok());
    // Unknown users get the same answer as a wrong password.
    assert!(matches!(
        auth::login(&app, "nobody", PW).await,
        Err(ServiceError::BadCredentials)
    ));
}

async fn sessions_end_when_idle_and_at_logout(t: &TestDb) {
    let (app, clock) = app(t);
    created(&app, "officer", "reviewer").await;
    let (token, _) = auth::login(&app, "officer", PW).await.unwrap();
    clock.advance(Duration::minutes(29));
    assert!(
        auth::session(&app, &token).await.unwrap().is_some(),
        "29 idle minutes keep the session"
    );
    clock.advance(Duration::minutes(29));
    assert!(
        auth::session(&app, &token).await.unwrap().is_some(),
        "activity refreshed it"
    );
    clock.advance(Duration::minutes(31));
    assert!(
        auth::session(&app, &token).await.unwrap().is_none(),
        "31 idle minutes end it"
    );

    let (token, _) = auth::login(&app, "officer", PW).await.unwrap();
    auth::logout(&app, &token).await.unwrap();
    assert!(auth::session(&app, &token).await.unwrap().is_none());
    assert!(auth::session(&app, "forged").await.unwrap().is_none());
}

async fn account_creation_validates_and_roles_limit_access(t: &TestDb) {
    let (app, _) = app(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    for (username, password, role, office, want) in [
        ("x", PW, "admin", None, "bad_username"),
        ("admin", "short", "admin", None, "weak_password"),
        ("admin", PW, "root", None, "bad_role"),
        ("admin", PW, "admin", Some("GZ-NO-000"), "unknown_office"),
    ] {
        let create = auth::create_staff(&app, "cli", username, password, role, office);
        assert_eq!(
            error_code(create).await,
            want,
            "{username} {role} {office:?}"
        );
    }
    auth::create_staff(&app, "cli", "admin", PW, "admin", Some("gz-th-001"))
        .await
        .unwrap();
    assert_refused!(
        auth::create_staff(&app, "cli", "admin", PW, "admin", None),
        "username_taken"
    );
    let clerk = signed_in(&app, "clerk", "counter_clerk").await;

    let (_, admin) = auth::login(&app, "admin", PW).await.unwrap();
    assert_eq!(admin.office_code.as_deref(), Some("GZ-TH-001"));
    assert_eq!(auth::list_staff(&app, &admin).await.unwrap().len(), 2);
    assert!(matches!(
        auth::list_staff(&app, &clerk).await,
        Err(ServiceError::Forbidden)
    ));
}

async fn officers_find_people_by_document_or_identity_number(t: &TestDb) {
    let (app, _) = app(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = exitentry_demo::generate(1, 50, app.today(), &app.policy, &["GZ-TH-001".into()]);
    import(&app, ImportKind::People, &files.people_csv, false).await;
    import(&app, ImportKind::Documents, &files.documents_csv, false).await;
    let clerk = signed_in(&app, "clerk", "counter_clerk").await;

    for q in ["CA1234567", "ca 123 4567", "11010519491231002x"] {
        let hits = registry::search(&app, &clerk, q).await.unwrap();
        assert_eq!(hits.len(), 1, "{q}");
        assert_eq!(hits[0].person.name_latin, "LI HUA");
        assert_eq!(
            hits[0].person.id_masked, "11**************2X",
            "identity numbers are masked"
        );
    }
    let hits = registry::search(&app, &clerk, "A123456(3)").await.unwrap();
    assert_eq!(hits[0].person.name_latin, "CHAN TAI MAN");
    assert_eq!(hits[0].matched, "identity");
    assert!(
        registry::search(&app, &clerk, "C99999999")
            .await
            .unwrap()
            .is_empty()
    );
    assert_refused!(registry::search(&app, &clerk, "  "), "bad_query");

    let (person, docs) = registry::person(&app, &clerk, hits[0].person.id)
        .await
        .unwrap();
    assert_eq!(person.name_zh.as_deref(), Some("陳大文"));
    let hrp: Vec<_> = docs
        .iter()
        .filter(|d| d.kind == DocumentKind::Hrp)
        .collect();
    assert_eq!(hrp.len(), 2, "both cards under the life-long number");
    assert_eq!(hrp[0].issue_count, Some(3), "newest first");
    assert_eq!(hrp[0].status, DocumentStatus::Valid);
    assert_eq!(hrp[1].status, DocumentStatus::Surrendered);
    assert!(matches!(
        registry::person(&app, &clerk, 999_999).await,
        Err(ServiceError::NotFound(_))
    ));
}

async fn expired_documents_read_as_expired_without_any_job(t: &TestDb) {
    let (app, clock) = app(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = exitentry_demo::generate(1, 0, app.today(), &app.policy, &[]);
    import(&app, ImportKind::People, &files.people_csv, false).await;
    import(&app, ImportKind::Documents, &files.documents_csv, false).await;
    let clerk = signed_in(&app, "clerk", "counter_clerk").await;
    let hit = registry::search(&app, &clerk, "12345678")
        .await
        .unwrap()
        .remove(0);
    let (_, docs) = registry::person(&app, &clerk, hit.person.id).await.unwrap();
    assert_eq!(docs[0].status, DocumentStatus::Valid);
    clock.set(chrono::DateTime::from_naive_utc_and_offset(
        docs[0]
            .expires_on
            .succ_opt()
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        chrono::Utc,
    ));
    let (_, clerk) = auth::login(&app, "clerk", PW).await.unwrap();
    let (_, docs) = registry::person(&app, &clerk, hit.person.id).await.unwrap();
    assert_eq!(docs[0].status, DocumentStatus::Expired);
}

/// Thirty wrong passwords at once: exactly `max_failed_logins` are checked (four answer
/// "wrong password", the fifth sets the lock, the rest are refused unchecked), on a pool of
/// two connections that a sign-in holding one across the hash would starve. An unknown
/// name answers the same; the owner's known device is counted apart and still signs in.
async fn concurrent_guesses_get_at_most_the_limit_of_password_checks(t: &TestDb) {
    let db = exitentry_storage::Db::open(&t.url, 2).await.unwrap();
    let clock = std::sync::Arc::new(exitentry_services::ManualClock::new(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, 2, 0, 0).unwrap(),
    ));
    let app = exitentry_services::App::new(db, Default::default(), clock.clone());
    let max = app.config.security.max_failed_logins;
    created(&app, "admin.li", "admin").await;
    // The owner signed in before from this device.
    let (_, _, device) = auth::login_from(&app, "admin.li", PW, None).await.unwrap();
    let device = device.expect("a new device gets a token");

    for name in ["admin.li", "ghost.user"] {
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                auth::login(&app, name, "wrong password").await
            }));
        }
        let (mut wrong, mut locked) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Err(ServiceError::BadCredentials) => wrong += 1,
                Err(ServiceError::Locked { .. }) => locked += 1,
                other => panic!("{name}: unexpected answer {other:?}"),
            }
        }
        assert_eq!((wrong, locked), (max - 1, 30 - (max - 1)), "{name}");
    }
    // A stranger with the right password is refused while the lock lasts...
    assert!(matches!(
        auth::login(&app, "admin.li", PW).await,
        Err(ServiceError::Locked { .. })
    ));
    // ...the owner's device is not locked out, and gets no new token...
    let (_, s, again) = auth::login_from(&app, "admin.li", PW, Some(&device))
        .await
        .unwrap();
    assert_eq!((s.username.as_str(), again), ("admin.li", None));
    // ...though guesses from a stolen device cookie are limited the same way.
    for _ in 0..max {
        assert!(
            auth::login_from(&app, "admin.li", "wrong", Some(&device))
                .await
                .is_err()
        );
    }
    assert!(matches!(
        auth::login_from(&app, "admin.li", PW, Some(&device)).await,
        Err(ServiceError::Locked { .. })
    ));
    // An administrator (or the operator) lifts the lock at once, audited.
    auth::unlock_staff(&app, "cli", "admin.li").await.unwrap();
    auth::login(&app, "admin.li", PW).await.unwrap();
    assert!(matches!(
        auth::unlock_staff(&app, "cli", "ghost.user").await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(audited(&app, "staff.unlocked").await > 0);
    // Otherwise the lock ends with its window.
    for _ in 0..max {
        let _ = auth::login(&app, "admin.li", "wrong").await;
    }
    assert!(auth::login(&app, "admin.li", PW).await.is_err());
    clock.advance(Duration::minutes(app.config.security.lockout_minutes + 1));
    auth::login(&app, "admin.li", PW).await.unwrap();
    app.db.close().await;
}

backend_tests!(
    concurrent_guesses_get_at_most_the_limit_of_password_checks,
    login_locks_after_repeated_failures_and_unlocks_later,
    sessions_end_when_idle_and_at_logout,
    account_creation_validates_and_roles_limit_access,
    officers_find_people_by_document_or_identity_number,
    expired_documents_read_as_expired_without_any_job,
);
