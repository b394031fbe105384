//! The temporary e-permit journey and its rules, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::{DateTime, Duration, Utc};
use exitentry_credentials::{TrustStore, VerifyOptions, verify};
use exitentry_domain::states::TemporaryPermitState;
use exitentry_services::App;
use exitentry_services::providers::Providers;
use exitentry_services::temporary_permits::{self as tp, ApplyInput, Lang};
use exitentry_storage::jobs;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{TINY_PNG as PNG, chan_expiry, refusing_faces, seeded};
use exitentry_test_support::{
    assert_locks_out, assert_refused, audited, backend_tests, error_code,
};

/// 陳大文's current home return permit (showcase data: issued two years ago, 10 years).
async fn chan(app: &App) -> ApplyInput {
    ApplyInput {
        document_kind: "hrp".into(),
        document_number: "h12345678".into(),
        name: "chan tai man".into(),
        document_expiry: chan_expiry(app).await,
        sex: "M".into(),
        mobile: "13800138000".into(),
        password: "a long holder password".into(),
        lang: Lang::ZhHant,
    }
}

/// SMS queued so far.
async fn sms_count(app: &App) -> usize {
    exitentry_services::jobs::run_due(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    exitentry_storage::jobs::outbox(&mut c, 1000)
        .await
        .unwrap()
        .len()
}

/// Runs the job queue and reads the code from the SMS the development provider delivered.
async fn last_code(app: &App) -> String {
    last_sms(app)
        .await
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

/// Runs the job queue; the text of the last SMS delivered.
async fn last_sms(app: &App) -> String {
    exitentry_services::jobs::run_due(app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    let sms = jobs::outbox(&mut c, 1).await.unwrap().remove(0);
    assert_eq!(sms.recipient, "13800138000");
    sms.body
}

async fn the_code_comes_in_the_language_the_person_chose(t: &TestDb) {
    let (app, _clock, _keys) = seeded(t, 0).await;
    applied(&app).await;
    let text = last_sms(&app).await;
    assert!(text.contains("驗證碼"), "Traditional, as chosen: {text}");
    assert!(
        !text.contains("验证码") && !text.contains("Verification"),
        "{text}"
    );
}

/// 陳大文 applies: the application's id (its SMS code is on its way).
async fn applied(app: &App) -> String {
    tp::apply(app, &chan(app).await).await.unwrap()
}

/// `input` applied for and its SMS code confirmed: the face check comes next.
async fn confirmed(app: &App, input: &ApplyInput) -> String {
    let id = tp::apply(app, input).await.unwrap();
    tp::confirm_sms_code(app, &id, &last_code(app).await)
        .await
        .unwrap();
    id
}

/// [`chan`] with the card's expiry as the registry holds it after [`set_card`].
async fn chan_expiring(app: &App, expires_on: chrono::NaiveDate) -> ApplyInput {
    ApplyInput {
        document_expiry: expires_on.to_string(),
        ..chan(app).await
    }
}

pub(crate) async fn full_journey(
    app: &App,
) -> Result<tp::IssuedPermit, exitentry_services::ServiceError> {
    let id = tp::apply(app, &chan(app).await).await?;
    let code = last_code(app).await;
    tp::confirm_sms_code(app, &id, &code).await?;
    tp::submit_face(app, &id, PNG).await
}

/// What the live check answers for a credential, with no use asked about.
async fn live_reason(app: &App, payload: &str) -> &'static str {
    let live = exitentry_services::credentials::check_live(app, payload, None)
        .await
        .unwrap();
    live.reason.code()
}

fn trust(app: &App) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_cert_der(app.keys.get().unwrap().current().unwrap().cert_der())
        .unwrap();
    t
}

async fn the_journey_issues_a_verifiable_seven_day_permit(t: &TestDb) {
    let (app, _, _keys) = seeded(t, 0).await;
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
    let (app, clock, _keys) = seeded(t, 0).await;
    // 30 November, Beijing time.
    clock.set(
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc),
    );
    // An application started while the month still had room...
    let early = applied(&app).await;
    let early_code = last_code(&app).await;
    full_journey(&app).await.unwrap();
    full_journey(&app).await.unwrap();
    // ...a third is told at the first step, before any SMS or photo...
    let sms_before = sms_count(&app).await;
    let third = tp::apply(&app, &chan(&app).await).await.unwrap_err();
    assert_eq!(third.code(), "monthly_limit_reached");
    assert_eq!(
        sms_count(&app).await,
        sms_before,
        "no SMS for a refused application"
    );
    // ...and the limit still holds at issuance for the one already under way.
    tp::confirm_sms_code(&app, &early, &early_code)
        .await
        .unwrap();
    let third = tp::submit_face(&app, &early, PNG).await.unwrap_err();
    assert_eq!(
        third.available_from(),
        Some(
            DateTime::parse_from_rfc3339("2026-12-01T00:00:00+08:00")
                .unwrap()
                .with_timezone(&Utc)
        ),
        "the answer says when the next one is possible"
    );
    // Midnight in Beijing is 16:00 UTC: the count resets on the 1st, local time.
    clock.set(
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc),
    );
    full_journey(&app).await.unwrap();
}

/// Sets 陳大文's current card to `status`, expiring on `expires_on`.
async fn set_card(app: &App, status: &str, expires_on: chrono::NaiveDate) {
    let mut c = app.db.conn().await.unwrap();
    sqlx::query(
        "UPDATE documents SET status = $1, expires_on = $2 WHERE number = 'H12345678' AND issue_count = 3",
    )
    .bind(status.to_string())
    .bind(expires_on.to_string())
    .execute(&mut *c)
    .await
    .unwrap();
}

/// Every registry state of the permit, expired or not, gets one clear answer at the first
/// step, and the registry changing before the face check gets the same answer there: never
/// a server error.
async fn every_registry_state_gets_a_clear_answer(t: &TestDb) {
    let (app, clock, _keys) = seeded(t, 0).await;
    let today = app.today();
    let past = today - Duration::days(1);
    let future = today + Duration::days(300);
    for (status, when_valid) in [
        ("valid", None),
        ("reported_lost", None),
        ("damaged", None),
        ("expired", Some("permit_expired")),
        ("cancelled", Some("permit_not_valid")),
        ("surrendered", Some("permit_not_valid")),
    ] {
        for (expires_on, want) in [
            (future, when_valid),
            (past, when_valid.or(Some("permit_expired"))),
        ] {
            set_card(&app, status, expires_on).await;
            let input = chan_expiring(&app, expires_on).await;
            let got = tp::apply(&app, &input).await.err().map(|e| e.code());
            assert_eq!(got, want, "{status}, expiring {expires_on}");
        }
    }
    // A lost card that expires tonight: applied for at 23:50, face checked after midnight.
    clock.set(
        today
            .and_hms_opt(23, 50, 0)
            .unwrap()
            .and_local_timezone(chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .unwrap()
            .with_timezone(&Utc),
    );
    set_card(&app, "reported_lost", today).await;
    let id = confirmed(&app, &chan_expiring(&app, today).await).await;
    clock.advance(Duration::minutes(20));
    assert_refused!(tp::submit_face(&app, &id, PNG), "permit_expired");
    // Cancelled between the steps: refused with its reason.
    set_card(&app, "valid", future).await;
    let id = confirmed(&app, &chan_expiring(&app, future).await).await;
    set_card(&app, "cancelled", future).await;
    assert_refused!(tp::submit_face(&app, &id, PNG), "permit_not_valid");
}

async fn sms_codes_expire_and_allow_five_tries(t: &TestDb) {
    let (app, clock, _keys) = seeded(t, 0).await;
    let id = applied(&app).await;
    let code = last_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_refused!(tp::confirm_sms_code(&app, &id, wrong), "sms_code_invalid");
    for _ in 0..4 {
        let _ = tp::confirm_sms_code(&app, &id, wrong).await;
    }
    assert_refused!(tp::confirm_sms_code(&app, &id, &code), "too_many_attempts");

    let id = applied(&app).await;
    let code = last_code(&app).await;
    clock.advance(Duration::minutes(6));
    assert_refused!(tp::confirm_sms_code(&app, &id, &code), "sms_code_expired");
    assert_eq!(
        error_code(tp::submit_face(&app, &id, PNG)).await,
        "wrong_step",
        "no face check before the code"
    );
}

async fn a_failed_face_check_issues_nothing(t: &TestDb) {
    let (app, _, _keys) = seeded(t, 0).await;
    let id = confirmed(&app, &chan(&app).await).await;
    let refuse = refusing_faces(&app);
    assert_refused!(tp::submit_face(&refuse, &id, PNG), "face_mismatch");
    assert_refused!(tp::submit_face(&refuse, &id, b"GIF89a"), "bad_image");
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
    assert!(tp::submit_face(&app, &id, PNG).await.is_ok());

    // Face checks are counted per application: a few, then start again.
    let id = confirmed(&app, &chan(&app).await).await;
    for _ in 0..tp::MAX_FACE_TRIES {
        assert_refused!(tp::submit_face(&refuse, &id, PNG), "face_mismatch");
    }
    assert_refused!(tp::submit_face(&app, &id, PNG), "too_many_face_checks");
}

async fn details_must_match_a_usable_permit(t: &TestDb) {
    let (app, _, _keys) = seeded(t, 0).await;
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
        assert_eq!(error_code(tp::apply(&app, &input)).await, code, "{input:?}");
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
    assert_refused!(tp::apply(&app, &input), "no_matching_permit");
}

async fn a_new_code_at_most_once_a_minute_and_the_old_one_stops_working(t: &TestDb) {
    let (app, clock, _keys) = seeded(t, 0).await;
    let id = applied(&app).await;
    let first = last_code(&app).await;
    let too_soon = tp::resend_sms_code(&app, &id, Lang::ZhHant)
        .await
        .unwrap_err();
    assert_eq!(too_soon.code(), "resend_too_soon");
    assert_eq!(
        too_soon.available_from(),
        Some(app.now() + Duration::seconds(60))
    );
    clock.advance(Duration::seconds(59));
    assert!(
        tp::resend_sms_code(&app, &id, Lang::ZhHant).await.is_err(),
        "59 s is too soon"
    );
    clock.advance(Duration::seconds(1));
    tp::resend_sms_code(&app, &id, Lang::En).await.unwrap();
    let second = last_code(&app).await;
    // Each code in the language the person is using at that moment.
    assert!(
        last_sms(&app)
            .await
            .contains("Your temporary e-permit code is")
    );
    if first != second {
        assert_eq!(
            error_code(tp::confirm_sms_code(&app, &id, &first)).await,
            "sms_code_invalid",
            "the replaced code no longer works"
        );
    }
    tp::confirm_sms_code(&app, &id, &second).await.unwrap();
    assert_refused!(tp::resend_sms_code(&app, &id, Lang::ZhHant), "wrong_step");

    // Five codes per application, then start again.
    let id = applied(&app).await;
    for _ in 0..4 {
        clock.advance(Duration::seconds(61));
        tp::resend_sms_code(&app, &id, Lang::ZhHant).await.unwrap();
    }
    clock.advance(Duration::seconds(61));
    assert_refused!(
        tp::resend_sms_code(&app, &id, Lang::ZhHant),
        "too_many_codes"
    );
}

async fn concurrent_resends_send_one_code(t: &TestDb) {
    let (app, clock, _keys) = seeded(t, 0).await;
    let id = applied(&app).await;
    clock.advance(Duration::seconds(61));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { tp::resend_sms_code(&app, &id, Lang::ZhHant).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 1);
    exitentry_services::jobs::run_due(&app).await.unwrap();
    let mut c = app.db.conn().await.unwrap();
    assert_eq!(
        jobs::outbox(&mut c, 50).await.unwrap().len(),
        2,
        "first code + one resend"
    );
}

async fn holders_sign_in_see_their_permits_and_cancel_them(t: &TestDb) {
    use exitentry_services::{credentials, holders};
    let (app, _, _keys) = seeded(t, 0).await;
    let issued = full_journey(&app).await.unwrap();
    assert_refused!(
        holders::login(&app, "13800138000", "wrong password!!"),
        "bad_credentials"
    );
    let (token, holder) = holders::login(&app, "138 0013 8000", "a long holder password")
        .await
        .unwrap();
    assert_eq!(
        holders::session(&app, &token).await.unwrap(),
        Some(holder.clone())
    );
    let mine = tp::holder_permits(&app, &holder).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, TemporaryPermitState::Valid);
    assert_eq!(mine[0].payload.as_deref(), Some(issued.payload.as_str()));

    let live = credentials::check_live(&app, &issued.payload, Some("domestic_flight"))
        .await
        .unwrap();
    assert!(live.valid, "{:?}", live.reason);

    // Someone else's session cannot touch it.
    let stranger = holders::HolderSession {
        account_id: holder.account_id + 100,
        person_id: holder.person_id + 1,
        mobile: "13900139000".into(),
        csrf_token: String::new(),
    };
    assert_refused!(tp::cancel(&app, &stranger, &issued.permit_id), "not_found");

    tp::cancel(&app, &holder, &issued.permit_id).await.unwrap();
    let mine = tp::holder_permits(&app, &holder).await.unwrap();
    assert_eq!(mine[0].status, TemporaryPermitState::Cancelled);
    assert_eq!(mine[0].payload, None, "no QR for an ended permit");
    assert_refused!(
        tp::cancel(&app, &holder, &issued.permit_id),
        "permit_not_valid"
    );
    // The live check refuses it at once, and the published list marks it.
    let live = credentials::check_live(&app, &issued.payload, Some("domestic_flight"))
        .await
        .unwrap();
    assert_eq!(live.reason.code(), "revoked");
    let list = credentials::status_list(&app).await.unwrap();
    let opened =
        exitentry_credentials::open_status_list(&list, &trust(&app), app.now().timestamp(), 60)
            .unwrap();
    let mut opts = VerifyOptions::at(app.now().timestamp());
    opts.status = Some(&opened);
    assert_eq!(
        verify(&issued.payload, &trust(&app), &opts).reason.code(),
        "revoked"
    );

    // Applying again with the same number takes the new password but keeps the holder
    // signed in (it is their own number, proved again with the face).
    full_journey(&app).await.unwrap();
    assert!(holders::session(&app, &token).await.unwrap().is_some());
    assert!(audited(&app, "holder.password_changed").await > 0);

    holders::logout(&app, &token).await.unwrap();
    assert_eq!(holders::session(&app, &token).await.unwrap(), None);
}

async fn holder_accounts_lock_after_five_wrong_passwords(t: &TestDb) {
    use exitentry_services::holders;
    let (app, _, _keys) = seeded(t, 0).await;
    full_journey(&app).await.unwrap();
    // Even the right password waits out the lock.
    let login = |pw| holders::login(&app, "13800138000", pw);
    assert_locks_out(&app, login, "a long holder password").await;
}

async fn officers_list_filter_and_revoke_with_a_reason(t: &TestDb) {
    use exitentry_domain::staff::Role;
    use exitentry_services::auth::StaffSession;
    let (app, clock, _keys) = seeded(t, 0).await;
    let officer = |role: Role| StaffSession {
        user_id: 1,
        username: format!("{}1", role.code()),
        role,
        office_code: None,
        csrf_token: String::new(),
    };
    let first = full_journey(&app).await.unwrap();
    clock.advance(Duration::days(1));
    let second = full_journey(&app).await.unwrap();
    let approver = officer(Role::Approver);
    let all = tp::list(&app, &approver, &tp::ListQuery::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        [second.permit_id.clone(), first.permit_id.clone()],
        "newest first"
    );
    let on_first_day = tp::ListQuery {
        date: Some("2026-11-22".into()),
        ..Default::default()
    };
    let day = tp::list(&app, &approver, &on_first_day).await.unwrap();
    assert_eq!(day.len(), 1);
    assert_eq!(day[0].id, first.permit_id);
    let by_number = tp::ListQuery {
        document_number: Some(" h12345678 ".into()),
        ..Default::default()
    };
    assert_eq!(
        tp::list(&app, &approver, &by_number).await.unwrap().len(),
        2
    );
    let nobody = tp::ListQuery {
        document_number: Some("H00000000".into()),
        ..Default::default()
    };
    assert!(tp::list(&app, &approver, &nobody).await.unwrap().is_empty());
    let bad = tp::ListQuery {
        status: Some("lost".into()),
        ..Default::default()
    };
    assert_refused!(tp::list(&app, &approver, &bad), "bad_status");
    assert_eq!(
        error_code(tp::list(
            &app,
            &officer(Role::CounterClerk),
            &Default::default()
        ))
        .await,
        "forbidden"
    );

    assert_eq!(
        error_code(tp::revoke(
            &app,
            &officer(Role::Reviewer),
            &first.permit_id,
            "fraud"
        ))
        .await,
        "forbidden"
    );
    assert_refused!(
        tp::revoke(&app, &approver, &first.permit_id, "  "),
        "bad_reason"
    );
    tp::revoke(&app, &approver, &first.permit_id, "reported stolen phone")
        .await
        .unwrap();
    let revoked = tp::ListQuery {
        status: Some("revoked".into()),
        ..Default::default()
    };
    let r = tp::list(&app, &approver, &revoked).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].reason.as_deref(), Some("reported stolen phone"));
    let valid = tp::ListQuery {
        status: Some("valid".into()),
        ..Default::default()
    };
    assert_eq!(
        tp::list(&app, &approver, &valid).await.unwrap()[0].id,
        second.permit_id
    );

    let (view, trail) = tp::detail(&app, &approver, &first.permit_id).await.unwrap();
    assert_eq!(view.status, TemporaryPermitState::Revoked);
    assert_eq!(view.payload, None, "officers never see the credential");
    let actions: Vec<_> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["temporary_permit.issue", "temporary_permit.revoke"]
    );
    assert_eq!(trail[1].entry.actor, "staff:approver1");
    assert_eq!(live_reason(&app, &first.payload).await, "revoked");
    // Past its end, a permit is listed as expired (and verification says so first).
    clock.advance(Duration::days(8));
    let expired = tp::ListQuery {
        status: Some("expired".into()),
        ..Default::default()
    };
    assert_eq!(tp::list(&app, &approver, &expired).await.unwrap().len(), 1);
    assert_eq!(live_reason(&app, &second.payload).await, "expired");
    assert_refused!(
        tp::revoke(&app, &approver, &second.permit_id, "too late"),
        "permit_not_valid"
    );
}

async fn without_an_sms_gateway_nobody_can_start(t: &TestDb) {
    let (app, _, _keys) = seeded(t, 0).await;
    let app = app.with_providers(Providers::default());
    assert_refused!(
        tp::apply(&app, &chan(&app).await),
        "sms_gateway_not_configured"
    );
}

backend_tests!(
    every_registry_state_gets_a_clear_answer,
    the_journey_issues_a_verifiable_seven_day_permit,
    a_third_permit_in_a_month_is_refused_until_the_first,
    sms_codes_expire_and_allow_five_tries,
    a_failed_face_check_issues_nothing,
    details_must_match_a_usable_permit,
    a_new_code_at_most_once_a_minute_and_the_old_one_stops_working,
    the_code_comes_in_the_language_the_person_chose,
    concurrent_resends_send_one_code,
    holders_sign_in_see_their_permits_and_cancel_them,
    holder_accounts_lock_after_five_wrong_passwords,
    officers_list_filter_and_revoke_with_a_reason,
    without_an_sms_gateway_nobody_can_start,
);
