//! Permit holders over HTTP: the temporary e-permit journey through the app's JSON API, the
//! holder's pages with the QR, officers' list, detail and revocation, and the published
//! status list.

use exitentry_test_support::{
    Backend, TINY_PNG, TestApp, backend_tests, chan_expiry, csrf_field, error_code_of, get_json,
    get_text, header,
};
use reqwest::StatusCode;

/// The first step of the app's journey for 陳大文, with his card's details.
async fn apply_for_chan(t: &TestApp, c: &reqwest::Client) -> reqwest::Response {
    let body = serde_json::json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "陳大文", "document_expiry": chan_expiry(&t.app).await, "sex": "M",
        "mobile": "13900139000", "password": "a long holder password"});
    t.post_json(c, "/api/v1/temporary-permits/applications", None, &body)
        .await
}

/// The app's journey through the JSON API; returns the application id and the answer of
/// the face step.
async fn issue_via_api(t: &TestApp, c: &reqwest::Client) -> (String, reqwest::Response) {
    use base64::Engine;
    let r = apply_for_chan(t, c).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["application_id"]
        .as_str()
        .unwrap()
        .to_string();
    let at = format!("/api/v1/temporary-permits/applications/{id}");
    let state: serde_json::Value = get_json(c, t.url(&at)).await;
    assert_eq!(state["state"], "awaiting_sms");
    assert_eq!(state["mobile"], "139****9000");

    // A new code only after a minute: 429 with Retry-After and the time in the answer.
    let r = c
        .post(t.url(&format!("{at}/sms-code/resend")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "resend_too_soon");
    assert!(e["error"]["available_from"].is_string());

    exitentry_services::jobs::run_due(&t.app).await.unwrap();
    let outbox: serde_json::Value = get_json(c, t.url("/api/v1/dev/outbox")).await;
    assert_eq!(outbox[0]["recipient"], "13900139000");
    let code: String = outbox[0]["body"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let code = serde_json::json!({"code": code});
    let r = t.post_json(c, &format!("{at}/sms-code"), None, &code).await;
    assert_eq!(r.status(), StatusCode::OK);
    let png = base64::engine::general_purpose::STANDARD.encode(TINY_PNG);
    let face = serde_json::json!({"image": png});
    let r = t.post_json(c, &format!("{at}/face"), None, &face).await;
    (id, r)
}

async fn the_app_walks_the_temporary_permit_journey(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let c = t.client();

    let bad = c
        .post(t.url("/api/v1/temporary-permits/applications"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code_of(bad).await, "bad_json");

    let (id, r) = issue_via_api(&t, &c).await;
    assert_eq!(r.status(), StatusCode::OK);
    let permit: serde_json::Value = r.json().await.unwrap();
    let payload = permit["payload"].as_str().unwrap().to_string();
    assert!(payload.starts_with("EE1:"));
    let state: serde_json::Value = get_json(
        &c,
        t.url(&format!("/api/v1/temporary-permits/applications/{id}")),
    )
    .await;
    assert_eq!(state["state"], "issued");
    assert_eq!(state["permit"]["payload"], payload.as_str());
    assert_eq!(state["permit"]["status"], "valid");

    // Verified offline against the trust list the server publishes.
    let doc = t.text(&c, "/api/v1/trust-list").await;
    let (trust, _) = exitentry_credentials::open_trust_list(&doc, None).unwrap();
    let mut opts = exitentry_credentials::VerifyOptions::at(t.app.now().timestamp());
    opts.required_use = Some("domestic_flight");
    assert!(exitentry_credentials::verify(&payload, &trust, &opts).valid);

    // A second one this month, then the limit.
    let (_, r) = issue_via_api(&t, &c).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The third is refused at the first step, before any SMS is sent.
    let r = apply_for_chan(&t, &c).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "monthly_limit_reached");
    assert!(e["error"]["available_from"].is_string());
    t.stop().await;
}

backend_tests!(the_app_walks_the_temporary_permit_journey);

async fn holders_and_officers_use_the_pages(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let api = t.client();
    let (_, r) = issue_via_api(&t, &api).await;
    let payload = r.json::<serde_json::Value>().await.unwrap()["payload"]
        .as_str()
        .unwrap()
        .to_string();

    // The holder signs in with mobile number and password and sees the QR.
    let holder = t.client();
    let anonymous = t.get(&holder, "/my").await;
    assert_eq!(anonymous.headers()["location"], "/my/login?next=/my");
    let r = super::holder_sign_in(&t, &holder, "13900139000").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let my = t.text(&holder, "/my/temporary-permits").await;
    assert!(my.contains("<svg"), "the QR is drawn");
    assert!(my.contains(&payload), "the payload is on the page");
    let permit_id = cancel_link(&my).unwrap();

    // An officer of the right role lists it, opens it and revokes it with a reason.
    let clerk = t.staff("clerk").await;
    let r = t.get(&clerk, "/staff/temporary-permits").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let officer = t.staff("approver").await;
    let list = t
        .text(
            &officer,
            "/staff/temporary-permits?status=valid&number=H12345678",
        )
        .await;
    assert!(list.contains(&permit_id));
    let detail_url = t.url(&format!("/staff/temporary-permits/{permit_id}"));
    let detail = get_text(&officer, detail_url.clone()).await;
    assert!(detail.contains("temporary_permit.issue"));
    assert!(
        !detail.contains(&payload),
        "officers never see the credential"
    );
    let csrf = csrf_field(&detail);
    let r = officer
        .post(format!("{detail_url}/revoke"))
        .form(&[("reason", "phone reported stolen"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    let detail = t.shown(&officer, r).await;
    assert!(detail.contains("temporary_permit.revoke"));
    assert!(detail.contains("phone reported stolen"));

    // The published status list marks it at once.
    let doc = t.text(&api, "/api/v1/trust-list").await;
    let (trust, _) = exitentry_credentials::open_trust_list(&doc, None).unwrap();
    let now = t.app.now().timestamp();
    let list = t.text(&api, "/api/v1/status-list").await;
    let list = exitentry_credentials::open_status_list(&list, &trust, now, 60).unwrap();
    let mut opts = exitentry_credentials::VerifyOptions::at(now);
    opts.status = Some(&list);
    assert_eq!(
        exitentry_credentials::verify(&payload, &trust, &opts)
            .reason
            .code(),
        "revoked"
    );
    // The holder sees it revoked, without a QR, and cannot cancel it any more.
    let my = t.text(&holder, "/my/temporary-permits").await;
    assert!(!my.contains("<svg"));
    assert!(cancel_link(&my).is_none());
    t.stop().await;
}

backend_tests!(holders_and_officers_use_the_pages);

/// The permit id in the page's link to cancel it (present only while it is valid).
fn cancel_link(html: &str) -> Option<String> {
    let start = html.find("href=\"/my/temporary-permits/")? + "href=\"/my/temporary-permits/".len();
    let rest = &html[start..];
    let id = &rest[..rest.find('/')?];
    rest[id.len()..]
        .starts_with("/cancel\"")
        .then(|| id.to_string())
}

async fn a_holder_confirms_before_cancelling_a_permit(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let api = t.client();
    issue_via_api(&t, &api).await;
    let holder = t.client();
    super::holder_sign_in(&t, &holder, "13900139000").await;
    let my = t.text_in(&holder, "/my/temporary-permits", "en").await;
    let id = cancel_link(&my).expect("a valid permit can be cancelled");
    // A second application while this one is valid says so on its first page.
    let start = t.text_in(&holder, "/temporary-permit", "en").await;
    assert!(start.contains("id=\"already-valid\""), "{start}");
    assert!(start.contains("You already have a valid temporary permit until"));
    let fresh = t.text_in(&t.client(), "/temporary-permit", "en").await;
    assert!(!fresh.contains("already-valid"));

    // Cancelling asks first, on its own page, and says what cannot be undone.
    let path = format!("/my/temporary-permits/{id}/cancel");
    let confirm = t.text_in(&holder, &path, "en").await;
    assert!(confirm.contains("This cannot be undone."), "{confirm}");
    assert!(confirm.contains("陳大文"));
    assert!(confirm.contains("href=\"/my/temporary-permits\" id=\"keep\""));
    let r = t
        .post_form(&holder, &path, &[("csrf", csrf_field(&confirm).as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/my/temporary-permits?done=cancelled"
    );
    let my = t
        .text_in(&holder, "/my/temporary-permits?done=cancelled", "en")
        .await;
    assert!(my.contains("The permit is cancelled"));
    assert!(cancel_link(&my).is_none());
    // Again: the confirmation says it is no longer valid, with nothing done, at its own GET
    // address (post/redirect/get: a reload shows it again, never 405 or 409).
    let again = t
        .post_form(&holder, &path, &[("csrf", csrf_field(&confirm).as_str())])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()["location"], path.as_str());
    let why = exitentry_test_support::flash_error(&again);
    assert!(!why.is_empty());
    for lang in ["en", "en", "zh-Hant"] {
        let shown = t.get_in(&holder, &path, lang).await;
        assert_eq!(shown.status(), StatusCode::OK, "{lang}");
        let shown = shown.text().await.unwrap();
        assert!(shown.contains("class=\"error-summary\""), "{lang}: {shown}");
    }
    assert!(t.text_in(&holder, &path, "en").await.contains(&why));
    // Another holder's permit is not found.
    let r = t.get(&t.client(), &path).await;
    assert!(r.status().is_redirection());
    t.stop().await;
}

backend_tests!(a_holder_confirms_before_cancelling_a_permit);

async fn the_dev_outbox_does_not_exist_outside_development(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let r = t.get(&t.client(), "/api/v1/dev/outbox").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

backend_tests!(the_dev_outbox_does_not_exist_outside_development);

async fn my_records_show_what_the_person_holds_and_may_apply_for(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let (mainland, hk) = (t.client(), t.client());
    for (id, mobile, c) in [
        (exitentry_test_support::LI_HUA_ID, "13700137000", &mainland),
        ("A1234563", "13900139000", &hk),
    ] {
        let r = super::holder_signed_in(&t, c, id, mobile).await;
        assert_eq!(r.headers()["location"], "/my");
    }
    // The mainland resident: his card in words, endorsements and appointments on offer.
    let page = t.text_in(&mainland, "/my", "en").await;
    assert!(page.contains("Documents you hold"), "{page}");
    assert!(page.contains("Exit-Entry Permit (card)"));
    assert!(page.contains("id=\"offer-endorsements\""));
    assert!(page.contains("id=\"offer-appointments\""));
    assert!(!page.contains("id=\"offer-temporary-permit\""));
    assert!(!page.contains("id=\"offer-linkage-proof\""));
    assert!(!page.contains("eep_card"), "no raw codes");
    // The Hong Kong resident: temporary permits and linkage proofs, no endorsements.
    let page = t.text_in(&hk, "/my", "zh-Hant").await;
    assert!(page.contains("我的證件和申請"));
    assert!(page.contains("id=\"offer-temporary-permit\""));
    assert!(page.contains("id=\"offer-linkage-proof\""));
    assert!(page.contains("id=\"offer-appointments\""));
    assert!(!page.contains("id=\"offer-endorsements\""));
    // His temporary permits keep their own page.
    let r = t.get(&hk, "/my/temporary-permits").await;
    assert_eq!(r.status(), StatusCode::OK);
    t.stop().await;
}

backend_tests!(my_records_show_what_the_person_holds_and_may_apply_for);

async fn an_endorsement_application_is_cancelled_after_a_confirmation(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    // 李华 has travelled before (an online endorsement is for repeat applicants).
    let past = "document_number,destination,type,trips,valid_from,valid_until,stay_days\n\
                CA1234567,hong_kong,L,1,2024-05-01,2024-07-31,7\n";
    let kind = exitentry_services::import::ImportKind::Endorsements;
    exitentry_test_support::import(&t.app, kind, past, false).await;
    let c = t.client();
    super::holder_signed_in(&t, &c, exitentry_test_support::LI_HUA_ID, "13700137000").await;
    let list = t.text_in(&c, "/my/endorsements", "en").await;
    let marker = "name=\"choice\" value=\"";
    let at = list.find(marker).expect("a choice") + marker.len();
    let choice = &list[at..at + list[at..].find('"').unwrap()];
    let r = t
        .post_form(
            &c,
            "/my/endorsements",
            &[("csrf", csrf_field(&list).as_str()), ("choice", choice)],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{choice} {}",
        r.text().await.unwrap()
    );
    let show = r.headers()["location"].to_str().unwrap().to_string();
    let page = t.text_in(&c, &show, "en").await;
    assert!(page.contains(&format!("href=\"{show}/cancel\"")), "{page}");
    let confirm = t.text_in(&c, &format!("{show}/cancel"), "en").await;
    assert!(confirm.contains("This cannot be undone."), "{confirm}");
    assert!(confirm.contains("Cancel this endorsement application?"));
    let r = t
        .post_form(
            &c,
            &format!("{show}/cancel"),
            &[("csrf", csrf_field(&confirm).as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], show.as_str());
    let page = t.text_in(&c, &show, "en").await;
    assert!(page.contains("Cancelled"));
    // On /my it is listed with its status in words.
    let my = t.text_in(&c, "/my", "en").await;
    assert!(my.contains(&format!("href=\"{show}\"")));
    t.stop().await;
}

backend_tests!(an_endorsement_application_is_cancelled_after_a_confirmation);
