//! Applicants' own sign-up, on both backends: registry match without probing, the SMS code
//! (wrong, expired, used up, used twice), then a working sign-in.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::Duration;
use exitentry_services::holders::{self, SignupInput, SignupStep};
use exitentry_services::{App, ManualClock, ServiceError};
use exitentry_storage::jobs;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{TINY_PNG as PNG, app_with_keys, refusing_faces, seed_registry};
use exitentry_test_support::{assert_refused, backend_tests};
use std::sync::Arc;

async fn seeded(t: &TestDb) -> (App, Arc<ManualClock>, tempfile::TempDir) {
    let (app, clock, dir) = app_with_keys(t);
    seed_registry(&app, 20, false).await;
    (app, clock, dir)
}

fn li_hua(name: &str) -> SignupInput {
    SignupInput {
        id_kind: "prc_resident_id".into(),
        id_number: "11010519491231002x".into(),
        name: name.into(),
        mobile: "13700137000".into(),
        password: "a long holder password".into(),
        lang: Default::default(),
    }
}

/// Li Hua signing up from another phone with another password.
fn li_hua_on(mobile: &str, password: &str) -> SignupInput {
    SignupInput {
        mobile: mobile.into(),
        password: password.into(),
        ..li_hua("李华")
    }
}

/// Starts a sign-up through `via` and confirms it with the code `app` sent by SMS.
async fn confirmed_signup(app: &App, via: &App, input: &SignupInput) -> (String, String) {
    let (id, b) = holders::start_signup(via, input).await.unwrap();
    let code = sent_code_to(app, &input.mobile).await;
    holders::confirm_signup(via, &id, &b, &code).await.unwrap();
    (id, b)
}

/// Li Hua signed up on the usual phone, face check passed: the session token and session.
async fn li_hua_signed_up(app: &App) -> (String, holders::HolderSession) {
    let (id, b) = confirmed_signup(app, app, &li_hua("李华")).await;
    let (token, session, _) = holders::submit_signup_face(app, &id, &b, PNG)
        .await
        .unwrap();
    (token, session)
}

async fn sent_code(app: &App) -> String {
    sent_code_to(app, "13700137000").await
}

async fn sent_code_to(app: &App, mobile: &str) -> String {
    exitentry_services::jobs::run_due(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let sms = jobs::outbox(&mut c, 1).await.unwrap().remove(0);
    assert_eq!(sms.recipient, mobile);
    sms.body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

async fn applicants_sign_up_with_an_sms_code(t: &TestDb) {
    let (app, clock, _k) = seeded(t).await;
    // A wrong name and an unknown number get the same answer.
    let e = holders::start_signup(&app, &li_hua("WANG WU"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "no_matching_person");
    let mut unknown = li_hua("李华");
    unknown.id_number =
        exitentry_domain::ids::make_prc_resident_id("440106", "1990-01-01".parse().unwrap(), 7);
    assert_refused!(holders::start_signup(&app, &unknown), "no_matching_person");
    let mut weak = li_hua("李华");
    weak.password = "short".into();
    assert!(matches!(
        holders::start_signup(&app, &weak).await,
        Err(ServiceError::Invalid {
            field: "password",
            ..
        })
    ));

    // The Chinese name, any case and spacing of the Latin one, both match.
    let (id, b) = holders::start_signup(&app, &li_hua("li  hua"))
        .await
        .unwrap();
    let code = sent_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_refused!(holders::confirm_signup(&app, &id, &b, wrong), "wrong_code");
    // Only the browser that started the sign-up can continue it.
    let stranger = "00".repeat(32);
    assert!(matches!(
        holders::confirm_signup(&app, &id, &stranger, &code).await,
        Err(ServiceError::NotFound(_))
    ));
    holders::confirm_signup(&app, &id, &b, &code).await.unwrap();
    assert!(matches!(
        holders::submit_signup_face(&app, &id, &stranger, PNG).await,
        Err(ServiceError::NotFound(_))
    ));
    assert_refused!(
        holders::confirm_signup(&app, &id, &b, &code),
        "already_done"
    );
    // The phone is proved, the person is not: no sign-in exists yet.
    assert_eq!(
        holders::signup_step(&app, &id, &b).await.unwrap(),
        SignupStep::Face
    );
    assert!(matches!(
        holders::login(&app, "13700137000", "a long holder password").await,
        Err(ServiceError::BadCredentials)
    ));
    let (_, session, device) = holders::submit_signup_face(&app, &id, &b, PNG)
        .await
        .unwrap();
    assert_eq!(session.mobile, "13700137000");
    assert!(device.is_some());
    assert_eq!(
        holders::signup_step(&app, &id, &b).await.unwrap(),
        SignupStep::Done
    );
    assert_refused!(
        holders::submit_signup_face(&app, &id, &b, PNG),
        "already_done"
    );
    holders::login(&app, "13700137000", "a long holder password")
        .await
        .unwrap();

    // Codes expire after five minutes and allow five tries.
    let (id, b) = holders::start_signup(&app, &li_hua("李华")).await.unwrap();
    let code = sent_code(&app).await;
    for _ in 0..5 {
        let e = holders::confirm_signup(
            &app,
            &id,
            &b,
            if code == "000000" { "111111" } else { "000000" },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "wrong_code");
    }
    assert_refused!(
        holders::confirm_signup(&app, &id, &b, &code),
        "too_many_tries"
    );
    let (id, b) = holders::start_signup(&app, &li_hua("李华")).await.unwrap();
    let code = sent_code(&app).await;
    clock.advance(Duration::minutes(6));
    assert_refused!(
        holders::confirm_signup(&app, &id, &b, &code),
        "code_expired"
    );
}

/// Someone with the victim's identity number and name and their own phone gets the SMS
/// code, but no sign-in: the face check refuses, and nothing is bound or visible. The
/// victim's own sign-in is untouched.
async fn a_phone_alone_never_binds_a_sign_in_to_a_person(t: &TestDb) {
    let (app, _clock, _k) = seeded(t).await;
    let (victim_token, _) = li_hua_signed_up(&app).await;

    let refuse = refusing_faces(&app);
    let attacker = li_hua_on("13900139000", "the attacker's password");
    let (id, b) = confirmed_signup(&app, &refuse, &attacker).await;
    for _ in 0..holders::SIGNUP_MAX_FACE_TRIES {
        assert_refused!(
            holders::submit_signup_face(&refuse, &id, &b, PNG),
            "face_mismatch"
        );
    }
    assert_refused!(
        holders::submit_signup_face(&app, &id, &b, PNG),
        "too_many_face_checks"
    );
    assert!(matches!(
        holders::login(&app, "13900139000", "the attacker's password").await,
        Err(ServiceError::BadCredentials)
    ));
    let still = holders::session(&app, &victim_token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.mobile, "13700137000");
    // The officer sees the failed attempt on the person.
    let (history, actions) = history_as_officer(&app, still.person_id).await;
    assert!(
        actions.iter().any(|a| a == "holder.signup_face_mismatch"),
        "{actions:?}"
    );
    assert_eq!(history.mobile_masked.as_deref(), Some("137****7000"));
}

/// The person's record as an officer (signed in for it) sees it, and the actions on it.
async fn history_as_officer(app: &App, person_id: i64) -> (holders::AccountHistory, Vec<String>) {
    exitentry_services::auth::create_staff(
        app,
        "cli",
        "officer.he",
        "an officer password",
        "reviewer",
        None,
    )
    .await
    .unwrap();
    let (_, officer) = exitentry_services::auth::login(app, "officer.he", "an officer password")
        .await
        .unwrap();
    let history = holders::history_for_person(app, &officer, person_id)
        .await
        .unwrap();
    let actions = history
        .events
        .iter()
        .map(|e| e.entry.action.clone())
        .collect();
    (history, actions)
}

/// One person, one sign-in: a second sign-up (after its face check) replaces the first,
/// ends its sessions, tells the old number and is on the person's record.
async fn a_second_sign_up_replaces_the_first_and_tells_the_old_number(t: &TestDb) {
    let (app, _clock, _k) = seeded(t).await;
    let (old_token, first) = li_hua_signed_up(&app).await;

    let again = li_hua_on("13900139000", "a new long password");
    let (id, b) = confirmed_signup(&app, &app, &again).await;
    // Until the face check the first sign-in is untouched.
    assert!(holders::session(&app, &old_token).await.unwrap().is_some());
    let (_, second, _) = holders::submit_signup_face(&app, &id, &b, PNG)
        .await
        .unwrap();
    assert_eq!(first.account_id, second.account_id);
    assert!(holders::session(&app, &old_token).await.unwrap().is_none());
    assert!(
        holders::login(&app, "13700137000", "a long holder password")
            .await
            .is_err()
    );
    holders::login(&app, "13900139000", "a new long password")
        .await
        .unwrap();

    exitentry_services::jobs::run_due(&app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let told = jobs::outbox(&mut c, 10)
        .await
        .unwrap()
        .into_iter()
        .any(|m| m.recipient == "13700137000" && m.body.contains("139****9000"));
    assert!(told, "the old number is told of the replacement");
    drop(c);
    let (history, actions) = history_as_officer(&app, second.person_id).await;
    for a in [
        "holder.bound",
        "holder.sign_in_replaced",
        "holder.new_device",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    assert_eq!(history.mobile_masked.as_deref(), Some("139****9000"));
}

/// SMS to one number are limited whatever asks for them (here: sign-ups), across nodes.
async fn sms_to_one_number_are_limited(t: &TestDb) {
    let (app, _clock, _k) = seeded(t).await;
    for _ in 0..exitentry_services::limits::SMS_PER_MOBILE.max {
        holders::start_signup(&app, &li_hua("李华")).await.unwrap();
    }
    let e = holders::start_signup(&app, &li_hua("李华"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "message_limit_reached");
    assert!(e.available_from().is_some());
}

backend_tests!(
    applicants_sign_up_with_an_sms_code,
    a_phone_alone_never_binds_a_sign_in_to_a_person,
    a_second_sign_up_replaces_the_first_and_tells_the_old_number,
    sms_to_one_number_are_limited,
);
