//! Applicants' own sign-up, on both backends: registry match without probing, the SMS code
//! (wrong, expired, used up, used twice), then a working sign-in.

mod common;

use chrono::Duration;
use common::{OFFICES, app_with_keys, import};
use exitentry_services::holders::{self, SignupInput};
use exitentry_services::import::ImportKind;
use exitentry_services::{App, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_storage::{backend_tests, jobs};

async fn seeded(
    t: &TestDb,
) -> (
    App,
    std::sync::Arc<exitentry_services::ManualClock>,
    tempfile::TempDir,
) {
    let (app, clock, dir) = app_with_keys(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = exitentry_services::demo::generate(3, 20, app.today(), &app.policy, &[]);
    import(&app, ImportKind::People, &files.people_csv, false).await;
    (app, clock, dir)
}

fn li_hua(name: &str) -> SignupInput {
    SignupInput {
        id_kind: "prc_resident_id".into(),
        id_number: "11010519491231002x".into(),
        name: name.into(),
        mobile: "13700137000".into(),
        password: "a long holder password".into(),
    }
}

async fn sent_code(app: &App) -> String {
    exitentry_services::jobs::run_due(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let sms = jobs::outbox(&mut c, 1).await.unwrap().remove(0);
    assert_eq!(sms.recipient, "13700137000");
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
    assert_eq!(
        holders::start_signup(&app, &unknown)
            .await
            .unwrap_err()
            .code(),
        "no_matching_person"
    );
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
    let id = holders::start_signup(&app, &li_hua("li  hua"))
        .await
        .unwrap();
    let code = sent_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        holders::confirm_signup(&app, &id, wrong)
            .await
            .unwrap_err()
            .code(),
        "wrong_code"
    );
    let (_, session) = holders::confirm_signup(&app, &id, &code).await.unwrap();
    assert_eq!(session.mobile, "13700137000");
    assert_eq!(
        holders::confirm_signup(&app, &id, &code)
            .await
            .unwrap_err()
            .code(),
        "already_done"
    );
    holders::login(&app, "13700137000", "a long holder password")
        .await
        .unwrap();

    // Codes expire after five minutes and allow five tries.
    let id = holders::start_signup(&app, &li_hua("李华")).await.unwrap();
    let code = sent_code(&app).await;
    for _ in 0..5 {
        let e = holders::confirm_signup(
            &app,
            &id,
            if code == "000000" { "111111" } else { "000000" },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "wrong_code");
    }
    assert_eq!(
        holders::confirm_signup(&app, &id, &code)
            .await
            .unwrap_err()
            .code(),
        "too_many_tries"
    );
    let id = holders::start_signup(&app, &li_hua("李华")).await.unwrap();
    let code = sent_code(&app).await;
    clock.advance(Duration::minutes(6));
    assert_eq!(
        holders::confirm_signup(&app, &id, &code)
            .await
            .unwrap_err()
            .code(),
        "code_expired"
    );
}

backend_tests!(applicants_sign_up_with_an_sms_code);
