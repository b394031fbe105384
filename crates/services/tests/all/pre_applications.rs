//! The non-Chinese permit's pre-application on both backends: an account verified by an
//! emailed link, the form and documents, submission, the review loop with supplements by
//! email in the applicant's language, approval, and booking only after approval; nobody
//! reads another applicant's application or files, whatever ids they guess.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_domain::hrp::Form;
use exitentry_domain::staff::Role;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest};
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{self, AcceptRequest, Desk};
use exitentry_services::import::ImportKind;
use exitentry_services::pre_applications::{self as hrp, ApplicantSession, Decision, Reader};
use exitentry_services::{App, ServiceError, jobs};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;
use exitentry_test_support::{OFFICES, app_with_keys, import, staff_session};

fn staff(role: Role, name: &str) -> StaffSession {
    staff_session(role, name, Some("GZ-TH-001"))
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code()
}

/// The newest message the development email provider delivered to `to`.
async fn last_email(app: &App, to: &str) -> (String, String) {
    jobs::run_due(app).await.unwrap();
    let m = jobs::outbox(app, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.channel == "email" && m.recipient == to)
        .expect("an email");
    (m.subject.unwrap_or_default(), m.body)
}

fn token_in(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .expect("a verification link")
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

/// Registers, follows the emailed link, and is signed in.
async fn applicant(app: &App, email: &str, lang: &str) -> ApplicantSession {
    hrp::register(app, email, lang).await.unwrap();
    let (_, body) = last_email(app, email).await;
    hrp::verify_email(app, &token_in(&body), "correct horse battery")
        .await
        .unwrap()
        .1
}

fn form() -> Form {
    Form {
        name_latin: "SMITH, JOHN".into(),
        sex: "M".into(),
        date_of_birth: "1980-05-01".into(),
        nationality: "GBR".into(),
        region: "hong_kong".into(),
        permanent_id: "A123456(3)".into(),
        passport_number: "123456789".into(),
        passport_expiry: "2030-01-01".into(),
        address: "1 Queen's Road, Central".into(),
        phone: "+852 9123 4567".into(),
        ..Default::default()
    }
}

/// A passport-sized photo's PNG header (the photo station reads the dimensions).
fn portrait_png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    v.extend(390u32.to_be_bytes());
    v.extend(567u32.to_be_bytes());
    v.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    v.extend(std::iter::repeat_n(0u8, 64));
    v
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

async fn seeded(t: &TestDb) -> (App, tempfile::TempDir, tempfile::TempDir) {
    let (app, _clock, keys, uploads) = seeded_with_clock(t).await;
    (app, keys, uploads)
}

async fn seeded_with_clock(
    t: &TestDb,
) -> (
    App,
    std::sync::Arc<exitentry_services::ManualClock>,
    tempfile::TempDir,
    tempfile::TempDir,
) {
    let (mut app, clock, keys) = app_with_keys(t);
    let uploads = tempfile::tempdir().unwrap();
    std::sync::Arc::make_mut(&mut app.config).uploads.dir =
        uploads.path().to_string_lossy().into_owned();
    import(&app, ImportKind::Offices, OFFICES, false).await;
    // A hall designated for the non-Chinese permit.
    import(
        &app,
        ImportKind::Offices,
        "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices,services
GZ-YX-009,越秀出入境大厅,越秀出入境大廳,Yuexiu Exit-Entry Hall,Guangzhou,Yuexiu,广州市越秀区1号,county,0,2,hrp_non_chinese;collection
",
        false,
    )
    .await;
    (app, clock, keys, uploads)
}

async fn accounts_are_verified_by_an_emailed_link(t: &TestDb) {
    let (app, _k, _u) = seeded(t).await;
    assert_eq!(
        code(hrp::register(&app, "not an address", "en").await),
        "bad_email"
    );
    // Whoever registers an address, only its mailbox chooses the password.
    hrp::register(&app, " Ann@Example.org ", "zh-Hant")
        .await
        .unwrap();
    assert!(matches!(
        hrp::login(&app, "ann@example.org", "").await,
        Err(ServiceError::BadCredentials)
    ));
    let (_, body) = last_email(&app, "ann@example.org").await;
    let token = token_in(&body);
    assert!(hrp::link_valid(&app, &token).await.unwrap());
    assert_eq!(
        code(hrp::verify_email(&app, &"0".repeat(64), "correct horse battery").await),
        "link_expired"
    );
    assert_eq!(
        code(hrp::verify_email(&app, &token, "short").await),
        "weak_password"
    );
    let (_, s) = hrp::verify_email(&app, &token, "correct horse battery")
        .await
        .unwrap();
    assert_eq!(
        (s.email.as_str(), s.lang.as_str()),
        ("ann@example.org", "zh-Hant")
    );
    assert_eq!(
        code(hrp::verify_email(&app, &token, "correct horse battery").await),
        "link_expired",
        "a link works once"
    );
    assert!(matches!(
        hrp::login(&app, "ann@example.org", "wrong password!").await,
        Err(ServiceError::BadCredentials)
    ));
    hrp::login(&app, "ANN@example.org", "correct horse battery")
        .await
        .unwrap();
    // Registering again (a forgotten password) sends a new link; the new password replaces
    // the old one and ends the account's sessions.
    hrp::register(&app, "ann@example.org", "en").await.unwrap();
    let (_, body) = last_email(&app, "ann@example.org").await;
    let again = token_in(&body);
    assert_ne!(again, token);
    hrp::verify_email(&app, &again, "a brand new password")
        .await
        .unwrap();
    assert!(matches!(
        hrp::login(&app, "ann@example.org", "correct horse battery").await,
        Err(ServiceError::BadCredentials)
    ));
    hrp::login(&app, "ann@example.org", "a brand new password")
        .await
        .unwrap();
}

/// Wrong passwords lock an applicant's account for a while, the right one included; the
/// lock ends with time and a success clears the count.
async fn repeated_wrong_passwords_lock_the_account(t: &TestDb) {
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    applicant(&app, "max@example.org", "en").await;
    let max = app.config.security.max_failed_logins;
    for _ in 1..max {
        assert!(matches!(
            hrp::login(&app, "max@example.org", "not the password").await,
            Err(ServiceError::BadCredentials)
        ));
    }
    assert!(matches!(
        hrp::login(&app, "max@example.org", "not the password").await,
        Err(ServiceError::Locked { .. })
    ));
    assert!(matches!(
        hrp::login(&app, "max@example.org", "correct horse battery").await,
        Err(ServiceError::Locked { .. })
    ));
    clock.advance(chrono::Duration::minutes(
        app.config.security.lockout_minutes + 1,
    ));
    hrp::login(&app, "max@example.org", "correct horse battery")
        .await
        .unwrap();
    assert!(matches!(
        hrp::login(&app, "max@example.org", "not the password").await,
        Err(ServiceError::BadCredentials)
    ));
}

async fn the_review_loop_until_approval_then_booking(t: &TestDb) {
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    let me = applicant(&app, "john@example.org", "zh-Hant").await;
    let a = hrp::start(&app, &me).await.unwrap();
    assert_eq!(code(hrp::start(&app, &me).await), "application_in_progress");

    // Save and continue later: a half-filled form is kept with what is missing.
    let mut half = form();
    half.passport_expiry = String::new();
    half.address = String::new();
    let d = hrp::save(&app, &me, &a.id, &half).await.unwrap();
    assert_eq!(d.form.name_latin, "SMITH, JOHN");
    assert!(d.problems.iter().any(|p| p.field == "address"));
    assert_eq!(code(hrp::submit(&app, &me, &a.id).await), "required");
    // A passport with less than six months left is refused at once.
    let mut soon = form();
    let today = app.today();
    soon.passport_expiry = today
        .checked_add_months(chrono::Months::new(5))
        .unwrap()
        .to_string();
    let d = hrp::save(&app, &me, &a.id, &soon).await.unwrap();
    assert!(
        d.problems
            .iter()
            .any(|p| p.code == "passport_expires_too_soon")
    );
    let d = hrp::save(&app, &me, &a.id, &form()).await.unwrap();
    assert_eq!(
        d.problems.iter().map(|p| p.code).collect::<Vec<_>>(),
        ["document_missing"; 3]
    );
    let png = exitentry_test_support::TINY_PNG;
    hrp::upload(&app, &me, &a.id, "id_card_front", "front.png", png)
        .await
        .unwrap();
    hrp::upload(&app, &me, &a.id, "id_card_back", "back.png", png)
        .await
        .unwrap();
    let d = hrp::upload(&app, &me, &a.id, "passport", "../../passport.pdf", PDF)
        .await
        .unwrap();
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(
        code(hrp::upload(&app, &me, &a.id, "passport", "x.jpg", b"PK\x03\x04zip").await),
        "bad_file_type"
    );
    // Until it is submitted the draft and its passport scan are the applicant's alone.
    let passport = d
        .documents
        .iter()
        .find(|x| x.purpose == "passport")
        .unwrap()
        .id
        .clone();
    for role in [Role::Reviewer, Role::CounterClerk, Role::Admin] {
        let s = staff(role, "peek");
        assert!(matches!(
            hrp::staff_get(&app, &s, &a.id).await,
            Err(ServiceError::NotFound(_)) | Err(ServiceError::Forbidden)
        ));
        assert!(matches!(
            hrp::document(&app, Reader::Staff(&s), &a.id, &passport).await,
            Err(ServiceError::NotFound(_)) | Err(ServiceError::Forbidden)
        ));
    }
    let d = hrp::submit(&app, &me, &a.id).await.unwrap();
    assert_eq!((d.status.as_str(), d.round), ("submitted", 1));
    assert_eq!(
        code(hrp::save(&app, &me, &a.id, &form()).await),
        "not_editable"
    );
    // Once submitted, the reviewer reads it and its documents.
    let reviewer = staff(Role::Reviewer, "peek");
    hrp::staff_get(&app, &reviewer, &a.id).await.unwrap();
    hrp::document(&app, Reader::Staff(&reviewer), &a.id, &passport)
        .await
        .unwrap();

    // Someone else guessing ids sees nothing.
    let other = applicant(&app, "eve@example.org", "en").await;
    assert!(matches!(
        hrp::get(&app, &other, &a.id).await,
        Err(ServiceError::NotFound(_))
    ));
    let doc = d
        .documents
        .iter()
        .find(|x| x.purpose == "id_card_front")
        .unwrap()
        .id
        .clone();
    assert!(matches!(
        hrp::document(&app, Reader::Applicant(&other), &a.id, &doc).await,
        Err(ServiceError::NotFound(_))
    ));
    let (_, bytes) = hrp::document(&app, Reader::Applicant(&me), &a.id, &doc)
        .await
        .unwrap();
    assert_eq!(bytes, png);
    let other_app = hrp::start(&app, &other).await.unwrap();
    assert!(matches!(
        hrp::document(&app, Reader::Applicant(&other), &other_app.id, &doc).await,
        Err(ServiceError::NotFound(_))
    ));

    // Booking the service before approval is impossible.
    ap::open_slots(
        &app,
        "test",
        "GZ-YX-009",
        "hrp_non_chinese",
        today,
        14,
        None,
    )
    .await
    .unwrap();
    let slot = ap::slots(
        &app,
        "GZ-YX-009",
        "hrp_non_chinese",
        today + chrono::Duration::days(1),
        today + chrono::Duration::days(14),
    )
    .await
    .unwrap()
    .into_iter()
    .find(|s| s.available > 0)
    .expect("a free slot");
    let booking = BookingRequest {
        office_code: "GZ-YX-009".into(),
        service: "hrp_non_chinese".into(),
        slot_start: slot.start.to_rfc3339(),
        channel: "web".into(),
        ..Default::default()
    };
    assert_eq!(
        code(ap::book(&app, Booker::Applicant(&me), &booking).await),
        "pre_application_not_approved"
    );

    // Review: counters cannot; two reviewers claim at once and one gets it.
    assert!(matches!(
        hrp::queue(&app, &staff(Role::CounterClerk, "clerk1")).await,
        Err(ServiceError::Forbidden)
    ));
    let (ann, bob) = (staff(Role::Reviewer, "ann"), staff(Role::Reviewer, "bob"));
    let (waiting, _) = hrp::queue(&app, &ann).await.unwrap();
    assert_eq!(waiting.len(), 1);
    let (c1, c2) = tokio::join!(hrp::claim(&app, &ann, &a.id), hrp::claim(&app, &bob, &a.id));
    assert_eq!([&c1, &c2].iter().filter(|r| r.is_ok()).count(), 1);
    let (holder, other_reviewer) = if c1.is_ok() {
        (&ann, &bob)
    } else {
        (&bob, &ann)
    };
    let ask = Decision::RequestSupplements {
        items: vec!["passport".into()],
        note: "The data page is cut off at the bottom.".into(),
    };
    assert_eq!(
        code(hrp::decide(&app, other_reviewer, &a.id, &ask).await),
        "not_claimed_by_you"
    );
    assert_eq!(
        code(
            hrp::decide(
                &app,
                holder,
                &a.id,
                &Decision::RequestSupplements {
                    items: vec![],
                    note: " ".into()
                }
            )
            .await
        ),
        "supplement_empty"
    );
    hrp::decide(&app, holder, &a.id, &ask).await.unwrap();
    // The email is in the applicant's language and lists what to add.
    let (subject, body) = last_email(&app, "john@example.org").await;
    assert!(!subject.is_empty());
    assert!(body.contains("護照"), "{body}");
    assert!(body.contains("cut off at the bottom"), "{body}");
    assert!(
        body.contains(&format!("/apply/applications/{}", a.id)),
        "{body}"
    );
    let d = hrp::get(&app, &me, &a.id).await.unwrap();
    assert_eq!(d.status, "supplement_requested");
    assert_eq!(d.requested.as_ref().unwrap().items, ["passport"]);
    hrp::upload(&app, &me, &a.id, "passport", "passport-full.pdf", PDF)
        .await
        .unwrap();
    let d = hrp::submit(&app, &me, &a.id).await.unwrap();
    assert_eq!((d.status.as_str(), d.round), ("submitted", 2));

    // Second round: approved, with the booking link by email; now the booking works.
    hrp::claim(&app, &ann, &a.id).await.unwrap();
    hrp::decide(&app, &ann, &a.id, &Decision::Approve)
        .await
        .unwrap();
    let (_, body) = last_email(&app, "john@example.org").await;
    assert!(
        body.contains(&format!("/apply/applications/{}/book", a.id)),
        "{body}"
    );
    let booked = ap::book(&app, Booker::Applicant(&me), &booking)
        .await
        .unwrap();
    assert_eq!(booked.service, "hrp_non_chinese");

    // At the centre: accepted against the approved pre-application (the registry entry is
    // made from it), HK$260, issued as HA + 7 digits, collected at the kiosk.
    clock.set((booked.start - chrono::Duration::minutes(10)).with_timezone(&chrono::Utc));
    let clerk = StaffSession {
        office_code: Some("GZ-YX-009".into()),
        ..staff(Role::CounterClerk, "clerk9")
    };
    let ticket = centre::check_in(&app, Desk::Staff(&clerk), &booked.reference)
        .await
        .unwrap();
    let photo = centre::take_photo(&app, &clerk, &portrait_png())
        .await
        .unwrap();
    let called = centre::call_next(&app, &clerk, "1", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.id, ticket.id);
    let mut accept = AcceptRequest {
        ticket_id: called.id,
        product: "hrp_non_chinese_first".into(),
        checklist: vec![
            "permanent_id_card".into(),
            "passport".into(),
            "pre_application".into(),
        ],
        photo_receipt: photo.receipt_code.clone(),
        id_number: Some(exitentry_domain::ids::make_hkid("C", 123_456)),
    };
    assert_eq!(
        centre::accept(&app, &clerk, &accept)
            .await
            .unwrap_err()
            .code(),
        "pre_application_not_approved",
        "nobody is accepted without an approved pre-application"
    );
    accept.id_number = Some("a123456(3)".into());
    let accepted = centre::accept(&app, &clerk, &accept).await.unwrap();
    assert_eq!(accepted.fee, "HKD 260.00");
    let paid = centre::pay(&app, &clerk, &accepted.id, "octopus")
        .await
        .unwrap();
    let approver = StaffSession {
        office_code: None,
        ..staff(Role::Approver, "approver1")
    };
    let ready = centre::mark_ready(&app, &approver, &paid.id).await.unwrap();
    let number = ready.new_document.clone().unwrap();
    assert!(number.starts_with("HA") && number.len() == 9, "{number}");
    // Not collected: a reminder by email a month before the 12 months run out.
    let collection: chrono::NaiveDate = paid.collection_date.clone().unwrap().parse().unwrap();
    let remind_on = collection
        .checked_add_months(chrono::Months::new(11))
        .unwrap()
        + chrono::Duration::days(1);
    clock.set(chrono::TimeZone::from_utc_datetime(
        &chrono::Utc,
        &remind_on.and_hms_opt(2, 0, 0).unwrap(),
    ));
    assert_eq!(centre::sweep_uncollected(&app).await.unwrap(), (1, 0));
    let (_, body) = last_email(&app, "john@example.org").await;
    assert!(body.contains(&paid.reference), "{body}");
    let (kiosk, _) = centre::create_device(&app, "admin", "GZ-YX-009", "yx9-kiosk", "kiosk")
        .await
        .unwrap();
    let got = centre::collect(&app, &kiosk, &paid.reference, "A123456(3)", "")
        .await
        .unwrap();
    assert_eq!(got.document_number, number);
    assert_eq!(
        got.expires_on,
        app.today()
            .checked_add_months(chrono::Months::new(60))
            .unwrap()
            .pred_opt()
            .unwrap()
    );

    let history: Vec<String> = hrp::get(&app, &me, &a.id)
        .await
        .unwrap()
        .history
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        history,
        [
            "submitted",
            "claimed",
            "supplement_requested",
            "resubmitted",
            "claimed",
            "approved"
        ]
    );
    // A rejection needs a reason.
    let third = applicant(&app, "zoe@example.org", "en").await;
    let z = hrp::start(&app, &third).await.unwrap();
    let mut f = form();
    f.permanent_id = exitentry_domain::ids::make_hkid("B", 987_654);
    hrp::save(&app, &third, &z.id, &f).await.unwrap();
    for p in ["id_card_front", "id_card_back"] {
        hrp::upload(&app, &third, &z.id, p, "x.png", png)
            .await
            .unwrap();
    }
    hrp::upload(&app, &third, &z.id, "passport", "p.pdf", PDF)
        .await
        .unwrap();
    hrp::submit(&app, &third, &z.id).await.unwrap();
    {
        hrp::claim(&app, &ann, &z.id).await.unwrap();
        assert_eq!(
            code(hrp::decide(&app, &ann, &z.id, &Decision::Reject { reason: "".into() }).await),
            "reason_required"
        );
        let d = hrp::decide(
            &app,
            &ann,
            &z.id,
            &Decision::Reject {
                reason: "Not a permanent resident".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(d.status, "rejected");
    }
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
    let a = hrp::start(app, &me).await.unwrap();
    hrp::save(app, &me, &a.id, f).await.unwrap();
    for p in ["id_card_front", "id_card_back"] {
        hrp::upload(
            app,
            &me,
            &a.id,
            p,
            "x.png",
            exitentry_test_support::TINY_PNG,
        )
        .await
        .unwrap();
    }
    hrp::upload(app, &me, &a.id, "passport", "p.pdf", PDF)
        .await
        .unwrap();
    hrp::submit(app, &me, &a.id).await.unwrap();
    let ann = staff(Role::Reviewer, "ann");
    hrp::claim(app, &ann, &a.id).await.unwrap();
    hrp::decide(app, &ann, &a.id, &Decision::Approve)
        .await
        .unwrap();
    (me, a.id)
}

/// A walk-in at the hall's counter for `product`, with its checklist (plus `extra` items)
/// and a photo.
async fn accept_walk_in(
    app: &App,
    clerk: &StaffSession,
    product: &str,
    extra: &[&str],
) -> Result<centre::ApplicationView, ServiceError> {
    centre::walk_in(app, Desk::Staff(clerk), "hrp_non_chinese", false)
        .await
        .unwrap();
    let photo = centre::take_photo(app, clerk, &portrait_png())
        .await
        .unwrap();
    let called = centre::call_next(app, clerk, "1", &[])
        .await
        .unwrap()
        .unwrap();
    let checklist = exitentry_domain::products::product(product)
        .unwrap()
        .checklist
        .iter()
        .chain(extra)
        .map(|c| c.to_string())
        .collect();
    let r = centre::accept(
        app,
        clerk,
        &AcceptRequest {
            ticket_id: called.id,
            product: product.into(),
            checklist,
            photo_receipt: photo.receipt_code.clone(),
            id_number: Some("A123456(3)".into()),
        },
    )
    .await;
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
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 1, 30, 0).unwrap());
    import(
        &app,
        ImportKind::People,
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
P1,,SMITH JOHN,M,1980-05-01,hong_kong,GBR,hkid,A1234563
",
        false,
    )
    .await;
    // A card that expired three weeks ago (its dates as the registry holds them).
    import(
        &app,
        ImportKind::Documents,
        "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code
P1,hrp_non_chinese,HA1234567,01,2024-07-10,2026-11-01,valid,
",
        false,
    )
    .await;
    let clerk = StaffSession {
        office_code: Some("GZ-YX-009".into()),
        ..staff(Role::CounterClerk, "clerk9")
    };
    let mut f = form();
    f.name_latin = "SMITH JOHN".into();
    approved(&app, &clock, "john@example.org", &f).await;
    assert_eq!(
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &[]).await),
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
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 1, 30, 0).unwrap());
    // A holder whose first card was imported without its count (it counts as 01).
    import(
        &app,
        ImportKind::People,
        "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
P1,,SMITH JOHN,M,1980-05-01,hong_kong,GBR,hkid,A1234563
",
        false,
    )
    .await;
    import(
        &app,
        ImportKind::Documents,
        "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code
P1,hrp_non_chinese,HA1234567,,2024-09-02,2029-09-01,valid,
",
        false,
    )
    .await;
    let clerk = StaffSession {
        office_code: Some("GZ-YX-009".into()),
        ..staff(Role::CounterClerk, "clerk9")
    };
    let approver = StaffSession {
        office_code: None,
        ..staff(Role::Approver, "approver1")
    };
    let (kiosk, _) = centre::create_device(&app, "admin", "GZ-YX-009", "yx9-kiosk", "kiosk")
        .await
        .unwrap();
    let mut f = form();
    f.name_latin = "SMITH JOHN".into();

    // A first-permit pre-application does not renew: the counter refuses it as a renewal,
    // and as a first permit because a valid one is held.
    let (_, first) = approved(&app, &clock, "john@example.org", &f).await;
    assert_eq!(
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[]).await),
        "pre_application_purpose"
    );
    assert_eq!(
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_first", &[]).await),
        "holds_valid_document"
    );
    let john = hrp::login(&app, "john@example.org", "correct horse battery")
        .await
        .unwrap()
        .1;
    assert_eq!(
        hrp::get(&app, &john, &first).await.unwrap().status,
        "approved"
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
    assert_eq!(
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[]).await),
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
    assert_eq!(hrp::get(&app, &me, &renewal).await.unwrap().status, "used");
    assert_eq!(
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_renewal", &[]).await),
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
        code(accept_walk_in(&app, &clerk, "hrp_non_chinese_replacement", &[]).await),
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
            code(centre::collect(&app, &kiosk, &paid.reference, "A123456(3)", inserted).await),
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
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 1, 30, 0).unwrap());
    approved(&app, &clock, "twice@example.org", &form()).await;
    let clerk = |name: &str| StaffSession {
        office_code: Some("GZ-YX-009".into()),
        ..staff(Role::CounterClerk, name)
    };
    let (a, b) = (clerk("clerk-a"), clerk("clerk-b"));
    let mut requests = Vec::new();
    for (c, counter) in [(&a, "1"), (&b, "2")] {
        centre::walk_in(&app, Desk::Staff(c), "hrp_non_chinese", false)
            .await
            .unwrap();
        let photo = centre::take_photo(&app, c, &portrait_png()).await.unwrap();
        let called = centre::call_next(&app, c, counter, &[])
            .await
            .unwrap()
            .unwrap();
        requests.push(AcceptRequest {
            ticket_id: called.id,
            product: "hrp_non_chinese_first".into(),
            checklist: vec![
                "permanent_id_card".into(),
                "passport".into(),
                "pre_application".into(),
            ],
            photo_receipt: photo.receipt_code,
            id_number: Some("A123456(3)".into()),
        });
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
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 1, 30, 0).unwrap());
    let f = Form {
        date_of_birth: "2011-03-04".into(),
        guardian_name: "SMITH, JANE".into(),
        guardian_relation: "mother".into(),
        guardian_id: "A123456(3)".into(),
        guardian_consent: true,
        ..form()
    };
    approved(&app, &clock, "jane@example.org", &f).await;
    let clerk = StaffSession {
        office_code: Some("GZ-YX-009".into()),
        ..staff(Role::CounterClerk, "clerk9")
    };
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
    accounts_are_verified_by_an_emailed_link,
    repeated_wrong_passwords_lock_the_account,
    the_review_loop_until_approval_then_booking,
    renewal_and_replacement_keep_the_number_for_life,
    a_minor_is_accepted_with_a_guardian_present,
    two_counters_never_share_one_approval,
);
