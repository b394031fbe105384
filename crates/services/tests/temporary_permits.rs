//! The temporary e-permit journey and its rules, on both backends.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{OFFICES, app_with_keys, import};
use exitentry_credentials::{TrustStore, VerifyOptions, verify};
use exitentry_services::App;
use exitentry_services::import::ImportKind;
use exitentry_services::temporary_permits::{self as tp, ApplyInput, DevFaceVerifier};
use exitentry_storage::testing::TestDb;
use exitentry_storage::{backend_tests, jobs};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

async fn seeded(
    t: &TestDb,
) -> (
    App,
    std::sync::Arc<exitentry_services::ManualClock>,
    tempfile::TempDir,
) {
    let (app, clock, dir) = app_with_keys(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = exitentry_services::demo::generate(3, 0, app.today(), &app.policy, &[]);
    import(&app, ImportKind::People, &files.people_csv, false).await;
    import(&app, ImportKind::Documents, &files.documents_csv, false).await;
    (app, clock, dir)
}

/// 陳大文's current home return permit (showcase data: issued two years ago, 10 years).
async fn chan(app: &App) -> ApplyInput {
    let mut c = app.db.conn().await.unwrap();
    let docs = exitentry_storage::documents::by_number(&mut c, "H12345678")
        .await
        .unwrap();
    let current = docs
        .iter()
        .find(|(d, _)| d.doc.issue_count == Some(3))
        .unwrap();
    ApplyInput {
        document_kind: "hrp".into(),
        document_number: "h12345678".into(),
        name: "chan tai man".into(),
        document_expiry: current.0.doc.expires_on.to_string(),
        sex: "M".into(),
        mobile: "13800138000".into(),
        password: "a long holder password".into(),
    }
}

/// Runs the job queue and reads the code from the SMS the development provider delivered.
async fn last_code(app: &App) -> String {
    tp::run_due_jobs(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let sms = jobs::outbox(&mut c, 1).await.unwrap().remove(0);
    assert_eq!(sms.recipient, "13800138000");
    sms.body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

async fn full_journey(app: &App) -> Result<tp::IssuedPermit, exitentry_services::ServiceError> {
    let id = tp::apply(app, &chan(app).await).await?;
    let code = last_code(app).await;
    tp::confirm_sms_code(app, &id, &code).await?;
    tp::submit_face(app, &id, PNG, &DevFaceVerifier { accept: true }).await
}

fn trust(app: &App) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_cert_der(app.keys.as_ref().unwrap().current().unwrap().cert_der())
        .unwrap();
    t
}

async fn the_journey_issues_a_verifiable_seven_day_permit(t: &TestDb) {
    let (app, _, _keys) = seeded(t).await;
    let issued = full_journey(&app).await.unwrap();
    assert_eq!(issued.valid_until - issued.valid_from, Duration::days(7));
    assert_eq!(issued.permitted_uses, ["domestic_flight", "domestic_rail"]);
    let trust = trust(&app);
    let mut opts = VerifyOptions::at(app.now().timestamp());
    opts.required_use = Some("domestic_rail");
    let v = verify(&issued.payload, &trust, &opts);
    assert!(v.valid, "{:?}", v.reason);
    assert_eq!(v.claims.unwrap().body.unwrap().document_number, "H12345678");
    opts.required_use = Some("border");
    assert_eq!(
        verify(&issued.payload, &trust, &opts).reason.code(),
        "wrong_use"
    );
    opts.required_use = None;
    opts.at = (issued.valid_until + Duration::minutes(10)).timestamp();
    assert_eq!(
        verify(&issued.payload, &trust, &opts).reason.code(),
        "expired"
    );
}

async fn a_third_permit_in_a_month_is_refused_until_the_first(t: &TestDb) {
    let (app, clock, _keys) = seeded(t).await;
    // 30 November, Beijing time.
    clock.set(
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc),
    );
    full_journey(&app).await.unwrap();
    full_journey(&app).await.unwrap();
    let third = full_journey(&app).await.unwrap_err();
    assert_eq!(third.code(), "monthly_limit_reached");
    assert!(third.to_string().contains("2026-12-01 00:00"), "{third}");
    // Midnight in Beijing is 16:00 UTC: the count resets on the 1st, local time.
    clock.set(
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc),
    );
    full_journey(&app).await.unwrap();
}

async fn sms_codes_expire_and_allow_five_tries(t: &TestDb) {
    let (app, clock, _keys) = seeded(t).await;
    let id = tp::apply(&app, &chan(&app).await).await.unwrap();
    let code = last_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        tp::confirm_sms_code(&app, &id, wrong)
            .await
            .unwrap_err()
            .code(),
        "sms_code_invalid"
    );
    for _ in 0..4 {
        let _ = tp::confirm_sms_code(&app, &id, wrong).await;
    }
    assert_eq!(
        tp::confirm_sms_code(&app, &id, &code)
            .await
            .unwrap_err()
            .code(),
        "too_many_attempts"
    );

    let id = tp::apply(&app, &chan(&app).await).await.unwrap();
    let code = last_code(&app).await;
    clock.advance(Duration::minutes(6));
    assert_eq!(
        tp::confirm_sms_code(&app, &id, &code)
            .await
            .unwrap_err()
            .code(),
        "sms_code_expired"
    );
    assert_eq!(
        tp::submit_face(&app, &id, PNG, &DevFaceVerifier { accept: true })
            .await
            .unwrap_err()
            .code(),
        "wrong_step",
        "no face check before the code"
    );
}

async fn a_failed_face_check_issues_nothing(t: &TestDb) {
    let (app, _, _keys) = seeded(t).await;
    let id = tp::apply(&app, &chan(&app).await).await.unwrap();
    let code = last_code(&app).await;
    tp::confirm_sms_code(&app, &id, &code).await.unwrap();
    let refuse = DevFaceVerifier { accept: false };
    assert_eq!(
        tp::submit_face(&app, &id, PNG, &refuse)
            .await
            .unwrap_err()
            .code(),
        "face_mismatch"
    );
    assert_eq!(
        tp::submit_face(&app, &id, b"GIF89a", &refuse)
            .await
            .unwrap_err()
            .code(),
        "bad_image"
    );
    let mut c = app.db.conn().await.unwrap();
    assert_eq!(
        exitentry_storage::temporary_permits::ended_indexes(&mut c)
            .await
            .unwrap()
            .len(),
        0
    );
    let person = exitentry_storage::documents::by_number(&mut c, "H12345678")
        .await
        .unwrap()[0]
        .1
        .id;
    assert!(
        exitentry_storage::temporary_permits::for_person(&mut c, person)
            .await
            .unwrap()
            .is_empty()
    );
    // The same application passes once the face matches.
    assert!(
        tp::submit_face(&app, &id, PNG, &DevFaceVerifier { accept: true })
            .await
            .is_ok()
    );
}

async fn details_must_match_a_usable_permit(t: &TestDb) {
    let (app, _, _keys) = seeded(t).await;
    let good = chan(&app).await;
    let cases: Vec<(ApplyInput, &str)> = vec![
        (
            ApplyInput {
                name: "CHAN TAI".into(),
                ..good.clone()
            },
            "no_matching_permit",
        ),
        (
            ApplyInput {
                document_expiry: "2040-01-01".into(),
                ..good.clone()
            },
            "no_matching_permit",
        ),
        (
            ApplyInput {
                sex: "F".into(),
                ..good.clone()
            },
            "no_matching_permit",
        ),
        (
            ApplyInput {
                document_number: "H99999999".into(),
                ..good.clone()
            },
            "no_matching_permit",
        ),
        (
            ApplyInput {
                document_number: "X1".into(),
                ..good.clone()
            },
            "bad_format",
        ),
        (
            ApplyInput {
                document_kind: "eep_card".into(),
                ..good.clone()
            },
            "kind_not_eligible",
        ),
        (
            ApplyInput {
                mobile: "23800138000".into(),
                ..good.clone()
            },
            "bad_mobile",
        ),
        (
            ApplyInput {
                password: "short".into(),
                ..good.clone()
            },
            "weak_password",
        ),
    ];
    for (input, code) in cases {
        assert_eq!(
            tp::apply(&app, &input).await.unwrap_err().code(),
            code,
            "{input:?}"
        );
    }
    // The surrendered card under the same number cannot be used: only the current one matches.
    let mut c = app.db.conn().await.unwrap();
    let old = exitentry_storage::documents::by_number(&mut c, "H12345678")
        .await
        .unwrap();
    let surrendered = old
        .iter()
        .find(|(d, _)| d.doc.issue_count == Some(2))
        .unwrap();
    let input = ApplyInput {
        document_expiry: surrendered.0.doc.expires_on.to_string(),
        ..good
    };
    assert_eq!(
        tp::apply(&app, &input).await.unwrap_err().code(),
        "no_matching_permit"
    );
}

backend_tests!(
    the_journey_issues_a_verifiable_seven_day_permit,
    a_third_permit_in_a_month_is_refused_until_the_first,
    sms_codes_expire_and_allow_five_tries,
    a_failed_face_check_issues_nothing,
    details_must_match_a_usable_permit,
);
