//! The /apply form and booking pickers as a person meets them, over HTTP on both backends:
//! a fresh draft shows no errors; saving leads to the first problem in an error summary;
//! nationality is a country picked by name in the reader's language; upload errors and
//! missing documents name the document; check your answers, then what happens next and a
//! confirmation email; the holder's office picker grouped by city, with the earliest free
//! time, and no time inside the change cut-off.

use exitentry_test_support::{Backend, LI_HUA_ID, TINY_PNG, TestApp, backend_tests, header};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

async fn the_apply_form_from_draft_to_what_happens_next(backend: Backend) {
    let (t, _uploads) = super::app_with_uploads(backend, 10).await;
    let (me, csrf) = t.applicant("ana@example.org").await;
    let r = t
        .post_form(&me, "/apply/applications", &[("csrf", csrf.as_str())])
        .await;
    let at = header(&r, LOCATION).to_string();

    // A fresh draft: no errors, and the nationality is a country by its name.
    let page = t.text_in(&me, &at, "en").await;
    assert!(
        !page.contains("field-error") && !page.contains("error-summary"),
        "{page}"
    );
    assert!(!page.contains("3-letter") && !page.contains("ISO"));
    assert!(page.contains(r#"<option value="GBR">United Kingdom</option>"#));
    assert!(
        !page.contains(r#"value="HKG""#),
        "Hong Kong is no nationality"
    );
    let zh = t.text_in(&me, &at, "zh-Hant").await;
    assert!(zh.contains(r#"<option value="GBR">英國</option>"#));

    // Saving a half-filled form leads to its first problem, shown in an error summary.
    let half = [
        ("csrf", csrf.as_str()),
        ("name_latin", "SMITH, ANA"),
        ("nationality", "PRT"),
    ];
    let r = t.post_form(&me, &at, &half).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let problems = header(&r, LOCATION).to_string();
    assert_eq!(problems, format!("{at}?check=1#error-summary"));
    let page = t.text_in(&me, &problems, "en").await;
    assert!(page.contains("<title>Error: "), "the title says so");
    assert!(page.contains(r#"id="error-summary""#));
    assert!(page.contains(r##"<a href="#date_of_birth">Enter your date of birth</a>"##));
    assert!(page.contains(r#"aria-invalid="true" aria-describedby="sex-error""#));
    assert!(
        page.contains(r#"value="SMITH, ANA""#),
        "what was typed is kept"
    );
    assert!(page.contains(r#"<option value="PRT" selected>Portugal</option>"#));

    // The whole form: on to the documents; continuing names each missing one.
    let full = [
        ("csrf", csrf.as_str()),
        ("purpose", "first"),
        ("name_latin", "SMITH, ANA"),
        ("sex", "F"),
        ("date_of_birth", "1985-03-04"),
        ("nationality", "PRT"),
        ("region", "hong_kong"),
        ("permanent_id", "A123456(3)"),
        ("passport_number", "P1234567"),
        ("passport_expiry", "2031-01-01"),
        ("address", "1 Queen's Road Central"),
        ("phone", "+852 9123 4567"),
    ];
    let r = t.post_form(&me, &at, &full).await;
    assert_eq!(header(&r, LOCATION), format!("{at}#documents"));
    let r = t.get(&me, &format!("{at}/check")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, LOCATION), problems);
    let page = t.text_in(&me, &problems, "en").await;
    assert!(
        page.contains("Upload a copy of your passport&#39;s photo page"),
        "{page}"
    );

    // An upload refused names its document.
    let upload = |purpose: &'static str, name: &'static str, bytes: Vec<u8>| {
        super::upload_document(&t, &me, &at, &csrf, purpose, name, bytes)
    };
    let r = upload("passport", "p.jpg", b"PK\x03\x04zip".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let failed = header(&r, LOCATION).to_string();
    let page = t.text_in(&me, &failed, "en").await;
    assert!(page.contains("Passport data page: "), "{page}");
    assert!(page.contains("JPEG, PNG or PDF"));
    for (purpose, name, bytes) in [
        ("id_card_front", "front.png", TINY_PNG.to_vec()),
        ("id_card_back", "back.png", TINY_PNG.to_vec()),
        ("passport", "passport.pdf", PDF.to_vec()),
    ] {
        let r = upload(purpose, name, bytes).await.unwrap();
        assert_eq!(header(&r, LOCATION), format!("{at}#documents"));
    }

    // Check your answers, in words; then submit.
    let check = t.text_in(&me, &format!("{at}/check"), "en").await;
    assert!(check.contains("Check your answers"));
    assert!(check.contains(r#"<dd id="answer-nationality">Portugal</dd>"#));
    assert!(check.contains(&format!(r##"href="{at}#passport_number""##)));
    let r = t
        .post_form(&me, &format!("{at}/submit"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(header(&r, LOCATION), format!("{at}/submitted"));
    let next = t.text_in(&me, &format!("{at}/submitted"), "en").await;
    assert!(next.contains("What happens next"));
    assert!(next.contains("ana@example.org"));
    exitentry_services::jobs::run_due(&t.app).await.unwrap();
    let mails = exitentry_services::jobs::outbox(&t.app, 50).await.unwrap();
    let sent = mails
        .iter()
        .find(|m| m.recipient == "ana@example.org" && m.body.contains("received your application"))
        .expect("the confirmation");
    assert!(sent.body.contains(&at), "it links to the application");
    t.stop().await;
}

async fn the_holders_office_picker(backend: Backend) {
    let t = TestApp::seeded(backend, 0).await;
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    for office in ["GZ-TH-001", "GZ-YX-001"] {
        exitentry_services::appointments::open_slots(
            &t.app,
            "test",
            office,
            "eep_application",
            monday,
            3,
            None,
        )
        .await
        .unwrap();
    }
    // Monday 08:00 in Beijing: times before 10:00 are inside the change cut-off.
    let monday_8 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 0, 0, 0);
    t.clock.set(monday_8.unwrap());
    let holder = t.client();
    super::holder_signed_in(&t, &holder, LI_HUA_ID, "13700137000").await;
    let page = t
        .text_in(
            &holder,
            "/my/appointments/new?service=eep_application",
            "en",
        )
        .await;
    // Grouped by city, only offices offering it, each with its earliest free time that may
    // be booked; one selected, that day's times listed at once, none inside the cut-off,
    // and the page says why.
    assert!(page.contains(r#"<optgroup label="Guangzhou">"#), "{page}");
    assert!(
        !page.contains("GZ-TH-002"),
        "the self-service point takes no applications"
    );
    assert!(page.contains("earliest free 2026-11-23 10:00"));
    assert!(page.contains(r#" selected>"#));
    assert!(page.contains(r#"id="too-soon""#));
    assert!(!page.contains("2026-11-23T09:45:00+08:00"));
    assert!(page.contains(r#"name="slot_start" value="2026-11-23T10:00:00+08:00""#));
    // Posted anyway: refused before booking, back on the same day's times with why.
    let csrf = exitentry_test_support::csrf_field(&page);
    let form = [
        ("csrf", csrf.as_str()),
        ("office", "GZ-TH-001"),
        ("service", "eep_application"),
        ("date", "2026-11-23"),
        ("slot_start", "2026-11-23T09:00:00+08:00"),
    ];
    let r = t.post_form(&holder, "/my/appointments", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = header(&r, LOCATION).to_string();
    // Why is carried in the flash cookie like every form's error, never in the address.
    assert!(!back.contains("error="), "{back}");
    assert!(back.contains("date=2026-11-23"), "{back}");
    assert!(exitentry_test_support::flash_error(&r).contains("This time starts within 2 hours"));
    let page = t.text_in(&holder, &back, "en").await;
    assert!(page.contains("This time starts within 2 hours"));
    // A reload shows it again, and so does a language switch.
    let page = t.text_in(&holder, &back, "en").await;
    assert!(page.contains("This time starts within 2 hours"));
    let page = t.text_in(&holder, &back, "zh-Hans").await;
    assert!(page.contains("2 小时") || page.contains("2小时"), "{page}");
    t.stop().await;
}

backend_tests!(
    the_apply_form_from_draft_to_what_happens_next,
    the_holders_office_picker,
);
