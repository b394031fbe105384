//! The non-Chinese permit's pre-application on both backends: an account verified by an
//! emailed link, the form and documents, submission, the review loop with supplements by
//! email in the applicant's language, approval, and booking only after approval; nobody
//! reads another applicant's application or files, whatever ids they guess.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_domain::hrp::Form;
use exitentry_domain::staff::Role;
use exitentry_domain::states::PreApplicationState;
use exitentry_services::appointments::{self as ap, Booker, BookingRequest};
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{self, AcceptRequest, Desk, PhotoView, TicketView};
use exitentry_services::import::ImportKind;
use exitentry_services::pre_applications::{self as hrp, ApplicantSession, Decision, Reader};
use exitentry_services::{App, ServiceError, jobs};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{OFFICES, app_with_keys, assert_locks_out, import, staff_session};
use exitentry_test_support::{assert_refused, backend_tests, error_code};

pub(super) fn staff(role: Role, name: &str) -> StaffSession {
    staff_session(role, name, Some("GZ-TH-001"))
}

/// A counter clerk at the hall designated for the non-Chinese permit (GZ-YX-009).
pub(super) fn hall_clerk(name: &str) -> StaffSession {
    staff_session(Role::CounterClerk, name, Some("GZ-YX-009"))
}

/// An approver, who is not tied to an office.
pub(super) fn approver() -> StaffSession {
    staff_session(Role::Approver, "approver1", None)
}

/// The newest message the development email provider delivered to `to`.
pub(super) async fn last_email(app: &App, to: &str) -> (String, String) {
    jobs::run_due(app).await.unwrap();
    let m = jobs::outbox(app, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.channel == "email" && m.recipient == to)
        .expect("an email");
    (m.subject.unwrap_or_default(), m.body)
}

pub(super) fn token_in(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .expect("a verification link")
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

/// Registers, follows the emailed link, and is signed in.
pub(super) async fn applicant(app: &App, email: &str, lang: &str) -> ApplicantSession {
    hrp::register(app, email, lang).await.unwrap();
    let (_, body) = last_email(app, email).await;
    hrp::verify_email(app, &token_in(&body), "correct horse battery")
        .await
        .unwrap()
        .1
}

/// The id of the uploaded document for `purpose`.
fn document_id(documents: &[hrp::Document], purpose: &str) -> String {
    let found = documents.iter().find(|x| x.purpose == purpose);
    found.unwrap().id.clone()
}

/// Whether signing in with this address and password is refused as bad credentials.
async fn login_refused(app: &App, email: &str, password: &str) -> bool {
    matches!(
        hrp::login(app, email, password).await,
        Err(ServiceError::BadCredentials)
    )
}

pub(super) use exitentry_domain::hrp::example_form as form;

/// A passport-sized photo's PNG header (the photo station reads the dimensions).
pub(super) fn portrait_png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    v.extend(390u32.to_be_bytes());
    v.extend(567u32.to_be_bytes());
    v.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    v.extend(std::iter::repeat_n(0u8, 64));
    v
}

pub(super) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// Starts `me`'s application, fills in `f`, uploads both sides of the ID card and the
/// passport, and submits it; returns its id.
pub(super) async fn submitted(app: &App, me: &ApplicantSession, f: &Form) -> String {
    let a = hrp::start(app, me).await.unwrap();
    hrp::save(app, me, &a.id, f).await.unwrap();
    let png = exitentry_test_support::TINY_PNG;
    for p in ["id_card_front", "id_card_back"] {
        hrp::upload(app, me, &a.id, p, "x.png", png).await.unwrap();
    }
    hrp::upload(app, me, &a.id, "passport", "p.pdf", PDF)
        .await
        .unwrap();
    hrp::submit(app, me, &a.id).await.unwrap();
    a.id
}

/// `reviewer` claims the application and approves it.
pub(super) async fn approve(app: &App, reviewer: &StaffSession, id: &str) {
    hrp::claim(app, reviewer, id).await.unwrap();
    hrp::decide(app, reviewer, id, &Decision::Approve)
        .await
        .unwrap();
}

/// At `clerk`'s counter: the photo station takes a portrait, then the next ticket is called.
pub(super) async fn photo_and_call(
    app: &App,
    clerk: &StaffSession,
    counter: &str,
) -> (PhotoView, TicketView) {
    let photo = centre::take_photo(app, clerk, &portrait_png())
        .await
        .unwrap();
    let called = centre::call_next(app, clerk, counter, &[])
        .await
        .unwrap()
        .expect("a ticket waiting");
    (photo, called)
}

/// `product` for the holder of `id_number` on the called ticket, with the product's
/// checklist ticked and `extra` items besides.
pub(super) fn accept_request(
    called: &TicketView,
    photo: &PhotoView,
    product: &str,
    id_number: &str,
    extra: &[&str],
) -> AcceptRequest {
    let checklist = exitentry_domain::products::product(product)
        .expect("a product")
        .checklist
        .iter()
        .chain(extra)
        .map(|c| c.to_string())
        .collect();
    AcceptRequest {
        ticket_id: called.id,
        product: product.into(),
        checklist,
        photo_receipt: photo.receipt_code.clone(),
        id_number: Some(id_number.into()),
    }
}

/// A first non-Chinese permit for the holder of `id_number`.
pub(super) fn first_permit(
    called: &TicketView,
    photo: &PhotoView,
    id_number: &str,
) -> AcceptRequest {
    accept_request(called, photo, "hrp_non_chinese_first", id_number, &[])
}

/// A walk-in for `service` at `clerk`'s `counter`: photographed and called.
pub(super) async fn walk_in_called(
    app: &App,
    clerk: &StaffSession,
    service: &str,
    counter: &str,
) -> (PhotoView, TicketView) {
    centre::walk_in(app, Desk::Staff(clerk), service, false)
        .await
        .unwrap();
    photo_and_call(app, clerk, counter).await
}

async fn seeded(t: &TestDb) -> (App, tempfile::TempDir, tempfile::TempDir) {
    let (app, _clock, keys, uploads) = seeded_with_clock(t).await;
    (app, keys, uploads)
}

/// The app, its clock, and the directories of its keys and uploads (kept while in use).
pub(super) type Seeded = (
    App,
    std::sync::Arc<exitentry_services::ManualClock>,
    tempfile::TempDir,
    tempfile::TempDir,
);

pub(super) async fn seeded_with_clock(t: &TestDb) -> Seeded {
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
    assert_refused!(hrp::register(&app, "not an address", "en"), "bad_email");
    // Whoever registers an address, only its mailbox chooses the password.
    hrp::register(&app, " Ann@Example.org ", "zh-Hant")
        .await
        .unwrap();
    assert!(login_refused(&app, "ann@example.org", "").await);
    let (_, body) = last_email(&app, "ann@example.org").await;
    let token = token_in(&body);
    assert!(hrp::link_valid(&app, &token).await.unwrap());
    assert_eq!(
        error_code(hrp::verify_email(
            &app,
            &"0".repeat(64),
            "correct horse battery"
        ))
        .await,
        "link_expired"
    );
    assert_refused!(hrp::verify_email(&app, &token, "short"), "weak_password");
    let (_, s) = hrp::verify_email(&app, &token, "correct horse battery")
        .await
        .unwrap();
    assert_eq!(
        (s.email.as_str(), s.lang.as_str()),
        ("ann@example.org", "zh-Hant")
    );
    assert_eq!(
        error_code(hrp::verify_email(&app, &token, "correct horse battery")).await,
        "link_expired",
        "a link works once"
    );
    assert!(login_refused(&app, "ann@example.org", "wrong password!").await);
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
    assert!(login_refused(&app, "ann@example.org", "correct horse battery").await);
    hrp::login(&app, "ann@example.org", "a brand new password")
        .await
        .unwrap();
}

/// Wrong passwords lock an applicant's account for a while, the right one included; the
/// lock ends with time and a success clears the count.
async fn repeated_wrong_passwords_lock_the_account(t: &TestDb) {
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    applicant(&app, "max@example.org", "en").await;
    let login = |pw| hrp::login(&app, "max@example.org", pw);
    assert_locks_out(&app, login, "correct horse battery").await;
    clock.advance(chrono::Duration::minutes(
        app.config.security.lockout_minutes + 1,
    ));
    hrp::login(&app, "max@example.org", "correct horse battery")
        .await
        .unwrap();
    assert!(login_refused(&app, "max@example.org", "not the password").await);
}

async fn the_review_loop_until_approval_then_booking(t: &TestDb) {
    let (app, clock, _k, _u) = seeded_with_clock(t).await;
    let me = applicant(&app, "john@example.org", "zh-Hant").await;
    let a = hrp::start(&app, &me).await.unwrap();
    assert_refused!(hrp::start(&app, &me), "application_in_progress");

    // Save and continue later: a half-filled form is kept with what is missing.
    let mut half = form();
    half.passport_expiry = String::new();
    half.address = String::new();
    let d = hrp::save(&app, &me, &a.id, &half).await.unwrap();
    assert_eq!(d.form.name_latin, "SMITH, JOHN");
    assert!(d.problems.iter().any(|p| p.field == "address"));
    assert_refused!(hrp::submit(&app, &me, &a.id), "required");
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
        error_code(hrp::upload(
            &app,
            &me,
            &a.id,
            "passport",
            "x.jpg",
            b"PK\x03\x04zip"
        ))
        .await,
        "bad_file_type"
    );
    // Until it is submitted the draft and its passport scan are the applicant's alone.
    let passport = document_id(&d.documents, "passport");
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
    assert_eq!((d.status, d.round), (PreApplicationState::Submitted, 1));
    assert_refused!(hrp::save(&app, &me, &a.id, &form()), "not_editable");
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
    let doc = document_id(&d.documents, "id_card_front");
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
    assert_refused!(
        ap::book(&app, Booker::Applicant(&me), &booking),
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
    assert_refused!(
        hrp::decide(&app, other_reviewer, &a.id, &ask),
        "not_claimed_by_you"
    );
    assert_eq!(
        error_code(hrp::decide(
            &app,
            holder,
            &a.id,
            &Decision::RequestSupplements {
                items: vec![],
                note: " ".into()
            }
        ))
        .await,
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
    assert_eq!(d.status, PreApplicationState::SupplementRequested);
    assert_eq!(d.requested.as_ref().unwrap().items, ["passport"]);
    hrp::upload(&app, &me, &a.id, "passport", "passport-full.pdf", PDF)
        .await
        .unwrap();
    let d = hrp::submit(&app, &me, &a.id).await.unwrap();
    assert_eq!((d.status, d.round), (PreApplicationState::Submitted, 2));

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
    assert_eq!(ap::applicant_booking(&app, &me).await.unwrap(), None);
    let booked = ap::book(&app, Booker::Applicant(&me), &booking)
        .await
        .unwrap();
    assert_eq!(booked.service, "hrp_non_chinese");
    // /apply finds the booking again by the approved identity.
    assert_eq!(
        ap::applicant_booking(&app, &me).await.unwrap(),
        Some(booked.clone())
    );

    // At the centre: accepted against the approved pre-application (the registry entry is
    // made from it), HK$260, issued as HA + 7 digits, collected at the kiosk.
    clock.set((booked.start - chrono::Duration::minutes(10)).with_timezone(&chrono::Utc));
    let clerk = hall_clerk("clerk9");
    let ticket = centre::check_in(&app, Desk::Staff(&clerk), &booked.reference)
        .await
        .unwrap();
    let (photo, called) = photo_and_call(&app, &clerk, "1").await;
    assert_eq!(called.id, ticket.id);
    let stranger = exitentry_domain::ids::make_hkid("C", 123_456);
    let mut accept = first_permit(&called, &photo, &stranger);
    assert_eq!(
        error_code(centre::accept(&app, &clerk, &accept)).await,
        "pre_application_not_approved",
        "nobody is accepted without an approved pre-application"
    );
    accept.id_number = Some("a123456(3)".into());
    let accepted = centre::accept(&app, &clerk, &accept).await.unwrap();
    assert_eq!(accepted.fee, "HKD 260.00");
    let paid = centre::pay(&app, &clerk, &accepted.id, "octopus")
        .await
        .unwrap();
    let ready = centre::mark_ready(&app, &approver(), &paid.id)
        .await
        .unwrap();
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
    let mut f = form();
    f.permanent_id = exitentry_domain::ids::make_hkid("B", 987_654);
    let z = submitted(&app, &third, &f).await;
    {
        hrp::claim(&app, &ann, &z).await.unwrap();
        assert_eq!(
            error_code(hrp::decide(
                &app,
                &ann,
                &z,
                &Decision::Reject { reason: "".into() }
            ))
            .await,
            "reason_required"
        );
        let d = hrp::decide(
            &app,
            &ann,
            &z,
            &Decision::Reject {
                reason: "Not a permanent resident".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(d.status, PreApplicationState::Rejected);
    }
}

backend_tests!(
    accounts_are_verified_by_an_emailed_link,
    repeated_wrong_passwords_lock_the_account,
    the_review_loop_until_approval_then_booking,
);
