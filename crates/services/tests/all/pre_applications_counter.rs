//! The non-Chinese permit at the counter on both backends: renewal and replacement under
//! the number kept for life, expired permits, one application per approval whatever the
//! timing, minors with a guardian.

use super::pre_applications::*;
use exitentry_domain::hrp::Form;
use exitentry_domain::staff::Role;
use exitentry_domain::states::PreApplicationState;
use exitentry_services::auth::StaffSession;
use exitentry_services::centre;
use exitentry_services::import::ImportKind;
use exitentry_services::pre_applications::{self as hrp, ApplicantSession};
use exitentry_services::{App, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::import;
use exitentry_test_support::{assert_refused, backend_tests, error_code};

/// [`seeded_with_clock`] on Monday 2026-11-23, 09:30 in Beijing: the hall is open.
async fn monday_morning(t: &TestDb) -> Seeded {
    let (app, clock, keys, uploads) = seeded_with_clock(t).await;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 1, 30, 0).unwrap());
    (app, clock, keys, uploads)
}

/// SMITH JOHN (HKID A123456(3)) in the registry with one non-Chinese permit: `card` is
/// its number, issue count, issue and expiry dates and status as the documents file has them.
async fn john_holding(app: &App, card: &str) {
    import(
        app,
        ImportKind::People,
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
P1,,SMITH JOHN,M,1980-05-01,hong_kong,GBR,hkid,A1234563
",
        false,
    )
    .await;
    let documents = format!(
        "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code\n\
         P1,hrp_non_chinese,{card},\n"
    );
    import(app, ImportKind::Documents, &documents, false).await;
}

/// An approved pre-application of `f` for a new account at `email`, a minute after the last.
async fn approved(
    app: &App,
    clock: &exitentry_services::ManualClock,
    email: &str,
    f: &Form,
) -> (ApplicantSession, String) {
    clock.advance(chrono::Duration::minutes(1));
    let me = applicant(app, email, "en").await;
    let id = submitted(app, &me, f).await;
    approve(app, &staff(Role::Reviewer, "ann"), &id).await;
    (me, id)
}

/// A walk-in at the hall's counter for `product`, with its checklist (plus `extra` items)
/// and a photo.
async fn accept_walk_in(
    app: &App,
    clerk: &StaffSession,
    product: &str,
    extra: &[&str],
) -> Result<centre::ApplicationView, ServiceError> {
    let (photo, called) = walk_in_called(app, clerk, "hrp_non_chinese", "1").await;
    let accept = accept_request(&called, &photo, product, "A123456(3)", extra);
    let r = centre::accept(app, clerk, &accept).await;
    if r.is_err() {
        centre::finish(app, clerk, called.id, true).await.unwrap();
    }
    r
}

/// The holder's non-Chinese permits under `number`: (issue count, status), oldest first.
async fn cards(app: &App, number: &str) -> Vec<(Option<u8>, &'static str)> {
    let mut c = app.db.conn().await.unwrap();
    let mut v: Vec<_> = exitentry_storage::documents::by_number(&mut c, number)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _)| (d.doc.issue_count, d.doc.status.code()))
        .collect();
    v.reverse();
    v
}

/// The number is for life: a renewal and then a replacement (lost) reissue HA1234567 with
/// the next issue count; each needs its own approved pre-application for that purpose; the
/// old card is handed in at the kiosk before the new one comes out.
/// An expired permit is renewed under its number (docs/adr/0005): a first-permit
/// application is refused with the reason, the renewal reissues HA/MA with the next count.
async fn an_expired_permit_is_renewed_under_its_number(t: &TestDb) {
    let (app, clock, _k, _u) = monday_morning(t).await;
    // A card that expired three weeks ago (its dates as the registry holds them).
    john_holding(&app, "HA1234567,01,2024-07-10,2026-11-01,valid").await;
    let clerk = hall_clerk("clerk9");
    let mut f = form();
    f.name_latin = "SMITH JOHN".into();
    approved(&app, &clock, "john@example.org", &f).await;
    assert_refused!(
        accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &[]),
        "renew_expired_document"
    );
    f.purpose = "renewal".into();
    f.current_permit = "HA1234567".into();
    approved(&app, &clock, "john2@example.org", &f).await;
    let accepted = accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[])
        .await
        .unwrap();
    assert_eq!(accepted.old_document.as_deref(), Some("HA1234567"));
}

async fn renewal_and_replacement_keep_the_number_for_life(t: &TestDb) {
    let (app, clock, _k, _u) = monday_morning(t).await;
    // A holder whose first card was imported without its count (it counts as 01).
    john_holding(&app, "HA1234567,,2024-09-02,2029-09-01,valid").await;
    let clerk = hall_clerk("clerk9");
    let approver = approver();
    let (kiosk, _) = centre::create_device(&app, "admin", "GZ-YX-009", "yx9-kiosk", "kiosk")
        .await
        .unwrap();
    let mut f = form();
    f.name_latin = "SMITH JOHN".into();

    // A first-permit pre-application does not renew: the counter refuses it as a renewal,
    // and as a first permit because a valid one is held.
    let (_, first) = approved(&app, &clock, "john@example.org", &f).await;
    assert_refused!(
        accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[]),
        "pre_application_purpose"
    );
    assert_refused!(
        accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &[]),
        "holds_valid_document"
    );
    let john = hrp::login(&app, "john@example.org", "correct horse battery")
        .await
        .unwrap()
        .1;
    assert_eq!(
        hrp::get(&app, &john, &first).await.unwrap().status,
        PreApplicationState::Approved
    );
    // Starting again, the details come from the last form; the purpose is asked afresh.
    let again = hrp::start(&app, &john).await.unwrap();
    let draft = hrp::get(&app, &john, &again.id).await.unwrap();
    assert_eq!(
        (
            draft.form.permanent_id.as_str(),
            draft.form.purpose.as_str()
        ),
        ("A123456(3)", "")
    );
    assert!(draft.documents.is_empty());

    // A renewal naming another number is caught at the counter (the latest approval is
    // the one that counts).
    f.purpose = "renewal".into();
    f.current_permit = "HA7654321".into();
    approved(&app, &clock, "john2@example.org", &f).await;
    assert_refused!(
        accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[]),
        "current_permit_mismatch"
    );

    // The renewal: the reviewer sees the card on record; same number, count 02.
    f.current_permit = "ha1234567".into();
    let (me, renewal) = approved(&app, &clock, "john3@example.org", &f).await;
    let seen = hrp::staff_get(&app, &staff(Role::Reviewer, "ann"), &renewal)
        .await
        .unwrap();
    assert_eq!(seen.on_record.len(), 1);
    assert!(seen.on_record[0].same_holder);
    assert!(
        hrp::get(&app, &me, &renewal)
            .await
            .unwrap()
            .on_record
            .is_empty()
    );
    let accepted = accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[])
        .await
        .unwrap();
    assert_eq!(accepted.fee, "HKD 260.00");
    assert_eq!(
        hrp::get(&app, &me, &renewal).await.unwrap().status,
        PreApplicationState::Used
    );
    assert_eq!(
        error_code(accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[])).await,
        "pre_application_not_approved",
        "an approval is good for one application"
    );
    let paid = centre::pay(&app, &clerk, &accepted.id, "card")
        .await
        .unwrap();
    let ready = centre::mark_ready(&app, &approver, &paid.id).await.unwrap();
    assert_eq!(ready.new_document.as_deref(), Some("HA1234567"));
    // While the renewal runs, a replacement of the same card is refused (and declares
    // nothing): one open application per person and kind of document.
    let mut lost = f.clone();
    lost.purpose = "replacement_lost".into();
    approved(&app, &clock, "john5@example.org", &lost).await;
    assert_eq!(
        error_code(accept_walk_in(
            &app,
            &clerk,
            "hrp_non_chinese_replacement",
            &[]
        ))
        .await,
        "application_open"
    );
    // The old card goes into the slot first; nothing comes out without it.
    // The number alone is not enough: older cards share it, the issue count tells them apart.
    for (inserted, want) in [
        ("", "old_permit_required"),
        ("HA7654321 01", "old_permit_mismatch"),
        ("HA1234567", "old_permit_mismatch"),
    ] {
        assert_eq!(
            error_code(centre::collect(
                &app,
                &kiosk,
                &paid.reference,
                "A123456(3)",
                inserted
            ))
            .await,
            want
        );
    }
    assert_eq!(cards(&app, "HA1234567").await, [(None, "valid")]);
    let got = centre::collect(&app, &kiosk, &paid.reference, "A123456(3)", "HA1234567 01")
        .await
        .unwrap();
    assert_eq!(got.document_number, "HA1234567");
    assert_eq!(got.surrendered.as_deref(), Some("HA1234567"));
    assert_eq!(
        cards(&app, "HA1234567").await,
        [(None, "surrendered"), (Some(2), "valid")]
    );

    // Lost: the replacement's pre-application declares it; the counter records the loss,
    // the lost card stays reported lost, and the new one is 03.
    clock.advance(chrono::Duration::days(42));
    f.purpose = "replacement_lost".into();
    approved(&app, &clock, "john4@example.org", &f).await;
    let accepted = accept_walk_in(&app, &clerk, "hrp_non_chinese_replacement", &[])
        .await
        .unwrap();
    assert_eq!(
        cards(&app, "HA1234567").await,
        [(None, "surrendered"), (Some(2), "reported_lost")]
    );
    let paid = centre::pay(&app, &clerk, &accepted.id, "cash")
        .await
        .unwrap();
    centre::mark_ready(&app, &approver, &paid.id).await.unwrap();
    let got = centre::collect(&app, &kiosk, &paid.reference, "A123456(3)", "")
        .await
        .unwrap();
    assert_eq!(
        (got.document_number.as_str(), got.surrendered),
        ("HA1234567", None)
    );
    assert_eq!(
        cards(&app, "HA1234567").await,
        [
            (None, "surrendered"),
            (Some(2), "reported_lost"),
            (Some(3), "valid")
        ]
    );
    let mut c = app.db.conn().await.unwrap();
    let trail = exitentry_storage::audit::for_subject(&mut c, "document:HA1234567")
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.entry.action.as_str()).collect();
    assert!(actions.contains(&"document.surrender"), "{actions:?}");
    assert!(actions.contains(&"document.declared"), "{actions:?}");
}

/// Two counters accepting against the same approval at the same moment: one application.
async fn two_counters_never_share_one_approval(t: &TestDb) {
    let (app, clock, _k, _u) = monday_morning(t).await;
    approved(&app, &clock, "twice@example.org", &form()).await;
    let (a, b) = (hall_clerk("clerk-a"), hall_clerk("clerk-b"));
    let mut requests = Vec::new();
    for (c, counter) in [(&a, "1"), (&b, "2")] {
        let (photo, called) = walk_in_called(&app, c, "hrp_non_chinese", counter).await;
        requests.push(first_permit(&called, &photo, "A123456(3)"));
    }
    let (r1, r2) = tokio::join!(
        centre::accept(&app, &a, &requests[0]),
        centre::accept(&app, &b, &requests[1])
    );
    assert_eq!(
        [&r1, &r2].iter().filter(|r| r.is_ok()).count(),
        1,
        "{r1:?} {r2:?}"
    );
    // The other counter is told why, in words a clerk can act on.
    let lost = [r1, r2].into_iter().find_map(Result::err).unwrap();
    assert!(
        ["pre_application_not_approved", "application_open"].contains(&lost.code()),
        "{lost:?}"
    );
}

/// Under 18 a guardian accompanies: the counter ticks it or cannot accept.
async fn a_minor_is_accepted_with_a_guardian_present(t: &TestDb) {
    let (app, clock, _k, _u) = monday_morning(t).await;
    let f = Form {
        date_of_birth: "2011-03-04".into(),
        guardian_name: "SMITH, JANE".into(),
        guardian_relation: "mother".into(),
        guardian_id: "A123456(3)".into(),
        guardian_consent: true,
        ..form()
    };
    approved(&app, &clock, "jane@example.org", &f).await;
    let clerk = hall_clerk("clerk9");
    let e = accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), "checklist_incomplete");
    assert!(e.to_string().contains("guardian_present"), "{e}");
    let accepted = accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &["guardian_present"])
        .await
        .unwrap();
    assert_eq!(accepted.fee, "HKD 260.00");
}

backend_tests!(
    an_expired_permit_is_renewed_under_its_number,
    renewal_and_replacement_keep_the_number_for_life,
    a_minor_is_accepted_with_a_guardian_present,
    two_counters_never_share_one_approval,
);
