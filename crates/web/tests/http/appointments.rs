//! Appointments over HTTP: slots, bookings by channel partners and applicants, the
//! building's staff pages by role, devices reporting their paper and ink.

use exitentry_test_support::{
    Backend, LI_HUA_ID, TestApp, backend_tests, csrf_field, error_code_of, get_json,
};
use reqwest::StatusCode;

/// The appointments API: slots, booking with a police portal's key (201, then 409 when the
/// slot is full), with an applicant's session, reading, moving and cancelling; the staff
/// pages of the building answer only with the right role.
async fn appointments_over_the_api(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let c = t.client();
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    exitentry_services::appointments::open_slots(
        &t.app,
        "test",
        "GZ-TH-001",
        "eep_application",
        monday,
        7,
        Some(1),
    )
    .await
    .unwrap();
    let slots = get_json(
        &c,
        t.url(
            "/api/v1/offices/GZ-TH-001/slots?service=eep_application&from=2026-11-23&to=2026-11-23",
        ),
    )
    .await;
    assert_eq!(slots.as_array().unwrap().len(), 32);
    assert_eq!(slots[0]["start"], "2026-11-23T09:00:00+08:00");
    assert_eq!(slots[0]["available"], 1);
    let r = t
        .get(
            &c,
            "/api/v1/offices/GZ-TH-001/slots?service=visa&from=2026-11-23&to=2026-11-23",
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code_of(r).await, "bad_service");

    let key = t.partner_key("gz-police", "book_appointments", None).await;
    let body = |id: &str| {
        serde_json::json!({"office_code": "GZ-TH-001", "service": "eep_application",
            "slot_start": "2026-11-23T09:00:00+08:00", "channel": "city_police",
            "applicant": {"id_kind": "prc_resident_id", "id_number": id, "name": "王小明"}})
    };
    let r = t
        .post_json(
            &c,
            "/api/v1/appointments",
            None,
            &body("440106199001010010"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .post_json(
            &c,
            "/api/v1/appointments",
            Some(&key),
            &body("44010619900101001X"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "wrong check character");
    let first = exitentry_domain::ids::make_prc_resident_id(
        "440106",
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        1,
    );
    let second = exitentry_domain::ids::make_prc_resident_id(
        "440106",
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        2,
    );
    let r = t
        .post_json(&c, "/api/v1/appointments", Some(&key), &body(&first))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let booked: serde_json::Value = r.json().await.unwrap();
    assert_eq!(booked["channel"], "city_police");
    let r = t
        .post_json(&c, "/api/v1/appointments", Some(&key), &body(&second))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(error_code_of(r).await, "slot_full");
    // Move it, then cancel it.
    let id = booked["appointment_id"].as_str().unwrap();
    let r = t
        .post_json(
            &c,
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&key),
            &serde_json::json!({"slot_start": "2026-11-23T09:15:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .post_json(&c, "/api/v1/appointments", Some(&key), &body(&second))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "the moved booking freed 09:00"
    );
    let r = c
        .post(t.url(&format!("/api/v1/appointments/{id}/cancel")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "cancelled"
    );
    // A key without the scope is refused.
    let other = t.partner_key("airline", "verify_permit", None).await;
    let r = t
        .post_json(&c, "/api/v1/appointments", Some(&other), &body(&second))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An applicant books with their session (the web channel by default).
    let holder = t.client();
    let r = super::holder_signed_in(&t, &holder, LI_HUA_ID, "13700137000").await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let r = t
        .post_json(
            &holder,
            "/api/v1/appointments",
            None,
            &serde_json::json!({"office_code": "GZ-TH-001", "service": "eep_application",
            "slot_start": "2026-11-23T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mine: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (mine["channel"].as_str(), mine["name"].as_str()),
        (Some("web"), Some("LI HUA"))
    );
    // The partner cannot read the applicant's own booking.
    let r = c
        .get(t.url(&format!(
            "/api/v1/appointments/{}",
            mine["appointment_id"].as_str().unwrap()
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let page = t.text(&holder, "/my/appointments").await;
    assert!(page.contains(mine["reference"].as_str().unwrap()));
    // The confirmation gives the office's address in the page's language.
    let shown = format!(
        "/my/appointments/{}",
        mine["appointment_id"].as_str().unwrap()
    );
    let (hans, hant) = ("广州市天河区天河北路1号", "廣州市天河區天河北路1號");
    for (lang, address, not) in [
        (
            "en",
            "No. 1 Tianhe North Road, Tianhe District, Guangzhou",
            "天河",
        ),
        ("zh-Hant", hant, hans),
        ("zh-Hans", hans, hant),
    ] {
        let html = t.text_in(&holder, &shown, lang).await;
        assert!(html.contains(address), "{lang}: {html}");
        assert!(!html.contains(not), "{lang}: {html}");
    }
    // Cancelling from the pages is confirmed first, on a page of its own.
    let path = format!(
        "/my/appointments/{}/cancel",
        mine["appointment_id"].as_str().unwrap()
    );
    let confirm = t.text_in(&holder, &path, "en").await;
    assert!(confirm.contains("This cannot be undone."), "{confirm}");
    assert!(confirm.contains("2026-11-23 10:00"));
    let csrf = csrf_field(&confirm);
    let r = t
        .post_form(&holder, &path, &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/my/appointments");
    // Cancelling again is refused on the confirmation's own GET address (post/redirect/get):
    // a reload or a language switch shows why, never an error of the browser's.
    let again = t
        .post_form(&holder, &path, &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()["location"], path.as_str());
    let why = exitentry_test_support::flash_error(&again);
    assert!(!why.is_empty());
    for _ in 0..2 {
        let shown = t.get_in(&holder, &path, "en").await;
        assert_eq!(shown.status(), StatusCode::OK);
        assert!(shown.text().await.unwrap().contains(&why));
    }

    // Building pages: clerks yes, reviewers no; the display is public.
    let clerk = t.staff("clerk").await;
    assert_eq!(
        t.status(&clerk, "/staff/centre/counter?counter=2").await,
        StatusCode::OK
    );
    let reviewer = t.staff("reviewer").await;
    for path in ["/staff/centre/counter", "/staff/admin/centre"] {
        let status = t.status(&reviewer, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let admin = t.staff("admin").await;
    let html = t.text(&admin, "/staff/admin/centre?office=GZ-TH-001").await;
    assert!(html.contains("eep_application") || html.contains("Exit-Entry"));
    let html = t.text(&admin, "/staff/admin/payments").await;
    // Channels in words, never their stored codes.
    assert!(html.contains("支付宝（窗口或自助机终端）"), "{html}");
    assert!(!html.contains("terminal:") && !html.contains(">alipay<"));
    assert_eq!(
        t.status(&reviewer, "/staff/admin/payments").await,
        StatusCode::FORBIDDEN
    );
    // A kiosk's agent reports its paper and ink with the device token; the fleet page shows it.
    let (_, token) = exitentry_services::centre::create_device(
        &t.app,
        "test",
        "GZ-TH-001",
        "th-kiosk-9",
        "kiosk",
    )
    .await
    .unwrap();
    let report = |auth: Option<&str>, paper: &str| {
        let mut r = c
            .post(t.url("/api/v1/devices/status"))
            .json(&serde_json::json!({"paper": paper, "ink": "low"}));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        r.send()
    };
    assert_eq!(
        report(None, "out").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        report(Some(&token), "empty").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        report(Some(&token), "out").await.unwrap().status(),
        StatusCode::OK
    );
    let fleet = t.text(&admin, "/staff/kiosks").await;
    assert!(
        fleet.contains("th-kiosk-9") && fleet.contains("level-out") && fleet.contains("level-low")
    );
    assert_eq!(t.status(&admin, "/staff/kiosks").await, StatusCode::OK);
    assert_eq!(
        t.status(&c, "/display/GZ-TH-001/board").await,
        StatusCode::OK
    );
    // The waiting room's screen speaks to everyone: all three languages whatever the browser's.
    let board = t.text(&c, "/display/GZ-TH-001").await;
    for words in ["Now calling", "正在叫号", "現正叫號"] {
        assert!(
            board.contains(words),
            "{words} missing from the call display"
        );
    }
    assert_eq!(t.status(&c, "/kiosk").await, StatusCode::OK);
    t.stop().await;
}

backend_tests!(appointments_over_the_api);
