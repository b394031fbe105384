//! HTTP behaviour through the real server, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_test_support::{PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, LOCATION};

async fn get_text(c: &reqwest::Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

async fn get_json(c: &reqwest::Client, url: String) -> serde_json::Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

use exitentry_test_support::http_tests;

async fn spawn(backend: exitentry_storage::Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.seed(30).await;
    app
}

async fn public_pages_speak_the_visitors_language(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let cases = [
        ("zh-TW", "辦理網點", "zh-Hant"),
        ("zh-HK,en;q=0.5", "辦理網點", "zh-Hant"),
        ("zh-CN", "办理网点", "zh-Hans"),
        ("en-GB", "Offices", "en"),
    ];
    for (accept, word, code) in cases {
        let body = c
            .get(t.url("/offices"))
            .header(ACCEPT_LANGUAGE, accept)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains(word), "{accept}");
        assert!(body.contains(&format!("<html lang=\"{code}\"")), "{accept}");
    }
    // The switch stores a cookie that beats Accept-Language, and only redirects locally.
    let r = c
        .get(t.url("/lang?set=en&next=/offices"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/offices");
    let body = c
        .get(t.url("/offices"))
        .header(ACCEPT_LANGUAGE, "zh-TW")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<html lang=\"en\""));
    let r = c
        .get(t.url("/lang?set=en&next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/");
    t.stop().await;
}

async fn the_directory_filters_by_district_and_hours(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let body = c
        .get(t.url("/offices?district=Tianhe&open24=1"))
        .header(ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Tiyu Xi 24h Self-Service Point"));
    assert!(
        !body.contains("Tianhe Exit-Entry Hall"),
        "the hall is not open round the clock"
    );
    assert!(!body.contains("Yuexiu Exit-Entry Hall"));
    let r = c.get(t.url("/offices/gz-th-002")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        c.get(t.url("/offices/NOPE-1"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    let json: serde_json::Value =
        get_json(&c, t.url("/api/v1/offices?district=Tianhe&open_24h=true")).await;
    assert_eq!(json["total"], 1);
    assert_eq!(json["offices"][0]["code"], "GZ-TH-002");
    assert_eq!(
        json["offices"][0]["services"],
        serde_json::json!(["self_service_endorsement", "collection"])
    );
    let r = c
        .get(t.url("/api/v1/offices/XX"))
        .header(ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(err["error"]["message"], "找不到该页面或记录。");
    t.stop().await;
}

async fn staff_pages_need_a_login_and_the_right_role(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let r = c
        .get(t.url("/staff/search?q=CA1234567"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/staff/login?next=/staff/search%3Fq%3DCA1234567"
    );
    let r = c
        .get(t.url("/api/v1/registry/search?q=CA1234567"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = t.login(&c, "clerk", "wrong password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let body = get_text(&c, t.url("/staff/search?q=ca%201234567")).await;
    assert!(body.contains("LI HUA"));
    assert!(
        !body.contains("11010519491231002X"),
        "identity numbers are masked"
    );
    assert!(body.contains("11**************2X"));
    let hits: serde_json::Value = get_json(&c, t.url("/api/v1/registry/search?q=A123456(3)")).await;
    assert_eq!(hits[0]["name_latin"], "CHAN TAI MAN");
    let id = hits[0]["person_id"].as_i64().unwrap();
    let body = get_text(&c, t.url(&format!("/staff/people/{id}"))).await;
    assert!(body.contains("H12345678") && body.contains("status-surrendered"));

    // A counter clerk may search but not manage accounts or read the audit log.
    assert_eq!(
        c.get(t.url("/staff/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get(t.url("/staff/admin/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    let admin = t.client();
    t.login(&admin, "admin", PASSWORD).await;
    let body = get_text(&admin, t.url("/staff/admin/audit")).await;
    assert!(body.contains("import.people"));
    assert_eq!(
        admin
            .get(t.url("/staff/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    t.stop().await;
}

async fn forms_refuse_requests_without_the_csrf_token(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    c.get(t.url("/staff/login")).send().await.unwrap();
    let r = c
        .post(t.url("/staff/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("csrf", "forged"),
            ("next", "/staff"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    t.login(&c, "admin", PASSWORD).await;
    let r = c
        .post(t.url("/staff/admin/users"))
        .form(&[
            ("csrf", "forged"),
            ("username", "newbie"),
            ("password", PASSWORD),
            ("role", "reviewer"),
            ("office", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = get_text(&c, t.url("/staff/admin/users")).await;
    assert!(!page.contains("newbie"));
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = c
        .post(t.url("/staff/admin/users"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "newbie"),
            ("password", PASSWORD),
            ("role", "reviewer"),
            ("office", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("newbie"));
    t.stop().await;
}

async fn operations_endpoints_answer(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let r = c.get(t.url("/healthz")).send().await.unwrap();
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.text().await.unwrap(), "ok");
    let ready: serde_json::Value = get_json(&c, t.url("/readyz")).await;
    assert_eq!(ready["database"], backend.name());
    let metrics = get_text(&c, t.url("/metrics")).await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    let doc: serde_json::Value = get_json(&c, t.url("/api/openapi.json")).await;
    assert!(doc["paths"]["/api/v1/offices"].is_object());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let r = c.get(t.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    let css = c.get(t.url("/assets/htmx.min.js")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    t.stop().await;
}

http_tests!(
    public_pages_speak_the_visitors_language,
    the_directory_filters_by_district_and_hours,
    staff_pages_need_a_login_and_the_right_role,
    forms_refuse_requests_without_the_csrf_token,
    operations_endpoints_answer,
);

async fn error_pages_keep_the_signed_in_header(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    t.login(&c, "clerk", PASSWORD).await;
    for path in ["/staff/admin/users", "/offices/NOPE-1", "/nowhere"] {
        let body = c
            .get(t.url(path))
            .header(ACCEPT_LANGUAGE, "en")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(body.contains("Sign out (clerk)"), "{path}");
    }
    t.stop().await;
}

async fn sign_in_attempts_are_rate_limited_per_client(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let limit = t.app.config.security.login_attempts_per_minute;
    // Different unknown names: one name alone would lock (as a real account does).
    for i in 0..limit {
        let r = t.login(&c, &format!("nobody{i}"), "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The limiter follows the application's clock (held still here): once the wait is over,
    // the next attempt goes through.
    t.clock.advance(chrono::Duration::seconds(wait as i64));
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    t.stop().await;
}

http_tests!(
    error_pages_keep_the_signed_in_header,
    sign_in_attempts_are_rate_limited_per_client
);

async fn malformed_input_gets_a_clear_error_not_a_crash(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let c = t.client();
    let r = c
        .get(t.url("/api/v1/offices?page=abc"))
        .header(ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_query_string");
    assert_eq!(err["error"]["field"], "query");
    let r = c.get(t.url("/offices?page=abc")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("<html"));
    let r = t.login(&c, "clerk\u{0}", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    t.login(&c, "clerk", PASSWORD).await;
    for path in [
        "/staff/people/not-a-number",
        "/staff/people/99999999999999999999",
        "/staff/search?q=%00%01",
    ] {
        let r = c.get(t.url(path)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    let long = "9".repeat(5000);
    let r = c
        .get(t.url(&format!("/staff/search?q={long}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    t.stop().await;
}

http_tests!(malformed_input_gets_a_clear_error_not_a_crash);

async fn verifiers_get_signed_trust_and_status_lists(backend: exitentry_storage::Backend) {
    let bare = TestApp::spawn(backend).await;
    let r = bare
        .client()
        .get(bare.url("/api/v1/trust-list"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "keys_not_initialised");
    bare.stop().await;

    let t = TestApp::spawn_with_keys(backend).await;
    let c = t.client();
    let now = t.app.now().timestamp();
    let doc = get_text(&c, t.url("/api/v1/trust-list")).await;
    let keys = t.app.keys.as_ref().unwrap();
    let (trust, info) =
        exitentry_credentials::open_trust_list(&doc, Some(&keys.root.cert_der)).unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(trust.kids(), vec![keys.current().unwrap().kid()]);
    let doc = get_text(&c, t.url("/api/v1/status-list")).await;
    let list = exitentry_credentials::open_status_list(&doc, &trust, now, 60).unwrap();
    assert_eq!(list.len(), t.app.config.credentials.status_list_size);
    t.stop().await;
}

http_tests!(verifiers_get_signed_trust_and_status_lists);

/// The current card of 陳大文 (showcase data) and its expiry date.
async fn chan_expiry(t: &TestApp) -> String {
    let mut conn = t.app.db.conn().await.unwrap();
    let docs = exitentry_storage::documents::by_number(&mut conn, "H12345678")
        .await
        .unwrap();
    let current = docs
        .iter()
        .find(|(d, _)| d.doc.issue_count == Some(3))
        .unwrap();
    current.0.doc.expires_on.to_string()
}

async fn post_json(c: &reqwest::Client, url: String, body: serde_json::Value) -> reqwest::Response {
    c.post(url).json(&body).send().await.unwrap()
}

/// The app's journey through the JSON API; returns the application id and the answer of
/// the face step.
async fn issue_via_api(t: &TestApp, c: &reqwest::Client) -> (String, reqwest::Response) {
    use base64::Engine;
    let r = post_json(
        c,
        t.url("/api/v1/temporary-permits/applications"),
        serde_json::json!({"document_kind": "hrp", "document_number": "H12345678", "name": "陳大文",
            "document_expiry": chan_expiry(t).await, "sex": "M", "mobile": "13900139000",
            "password": "a long holder password"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["application_id"]
        .as_str()
        .unwrap()
        .to_string();
    let app_url = t.url(&format!("/api/v1/temporary-permits/applications/{id}"));
    let state: serde_json::Value = get_json(c, app_url.clone()).await;
    assert_eq!(state["state"], "awaiting_sms");
    assert_eq!(state["mobile"], "139****9000");

    // A new code only after a minute: 429 with Retry-After and the time in the answer.
    let r = c
        .post(format!("{app_url}/sms-code/resend"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
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
    let r = post_json(
        c,
        format!("{app_url}/sms-code"),
        serde_json::json!({"code": code}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let png = base64::engine::general_purpose::STANDARD.encode(exitentry_test_support::TINY_PNG);
    let r = post_json(
        c,
        format!("{app_url}/face"),
        serde_json::json!({"image": png}),
    )
    .await;
    (id, r)
}

async fn the_app_walks_the_temporary_permit_journey(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    t.seed(0).await;
    let c = t.client();

    let bad = c
        .post(t.url("/api/v1/temporary-permits/applications"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_json"
    );

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
    let doc = get_text(&c, t.url("/api/v1/trust-list")).await;
    let (trust, _) = exitentry_credentials::open_trust_list(&doc, None).unwrap();
    let mut opts = exitentry_credentials::VerifyOptions::at(t.app.now().timestamp());
    opts.required_use = Some("domestic_flight");
    assert!(exitentry_credentials::verify(&payload, &trust, &opts).valid);

    // A second one this month, then the limit.
    let (_, r) = issue_via_api(&t, &c).await;
    assert_eq!(r.status(), StatusCode::OK);
    // The third is refused at the first step, before any SMS is sent.
    let r = post_json(
        &c,
        t.url("/api/v1/temporary-permits/applications"),
        serde_json::json!({"document_kind": "hrp", "document_number": "H12345678", "name": "陳大文",
            "document_expiry": chan_expiry(&t).await, "sex": "M", "mobile": "13900139000",
            "password": "a long holder password"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "monthly_limit_reached");
    assert!(e["error"]["available_from"].is_string());
    t.stop().await;
}

async fn holders_and_officers_use_the_pages(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    t.seed(0).await;
    let api = t.client();
    let (_, r) = issue_via_api(&t, &api).await;
    let payload = r.json::<serde_json::Value>().await.unwrap()["payload"]
        .as_str()
        .unwrap()
        .to_string();

    // The holder signs in with mobile number and password and sees the QR.
    let holder = t.client();
    let anonymous = holder.get(t.url("/my")).send().await.unwrap();
    assert_eq!(anonymous.headers()["location"], "/my/login?next=/my");
    let form = get_text(&holder, t.url("/my/login")).await;
    let csrf = exitentry_test_support::hidden_field(&form, "csrf").unwrap();
    let r = holder
        .post(t.url("/my/login"))
        .form(&[
            ("mobile", "13900139000"),
            ("password", "a long holder password"),
            ("csrf", &csrf),
            ("next", "/my"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let my = get_text(&holder, t.url("/my")).await;
    assert!(my.contains("<svg"), "the QR is drawn");
    assert!(my.contains(&payload), "the payload is on the page");
    let permit_id = exitentry_test_support::hidden_field(&my, "permit_id").unwrap();

    // An officer of the right role lists it, opens it and revokes it with a reason.
    let clerk = t.client();
    t.login(&clerk, "clerk", exitentry_test_support::PASSWORD)
        .await;
    let r = clerk
        .get(t.url("/staff/temporary-permits"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let officer = t.client();
    t.login(&officer, "approver", exitentry_test_support::PASSWORD)
        .await;
    let list = get_text(
        &officer,
        t.url("/staff/temporary-permits?status=valid&number=H12345678"),
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
    let csrf = exitentry_test_support::hidden_field(&detail, "csrf").unwrap();
    let r = officer
        .post(format!("{detail_url}/revoke"))
        .form(&[("reason", "phone reported stolen"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let detail = r.text().await.unwrap();
    assert!(detail.contains("temporary_permit.revoke"));
    assert!(detail.contains("phone reported stolen"));

    // The published status list marks it at once.
    let doc = get_text(&api, t.url("/api/v1/trust-list")).await;
    let (trust, _) = exitentry_credentials::open_trust_list(&doc, None).unwrap();
    let now = t.app.now().timestamp();
    let list = get_text(&api, t.url("/api/v1/status-list")).await;
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
    let my = get_text(&holder, t.url("/my")).await;
    assert!(!my.contains("<svg"));
    assert!(exitentry_test_support::hidden_field(&my, "permit_id").is_none());
    t.stop().await;
}

async fn the_dev_outbox_does_not_exist_outside_development(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let r = t
        .client()
        .get(t.url("/api/v1/dev/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

http_tests!(
    the_app_walks_the_temporary_permit_journey,
    holders_and_officers_use_the_pages,
    the_dev_outbox_does_not_exist_outside_development
);

/// A partner key for the test server, created through the service.
async fn partner_key(t: &TestApp, name: &str, scopes: &str, rate: Option<i64>) -> String {
    let p = exitentry_services::partners::NewPartner {
        name: name.into(),
        kind: "airline".into(),
        scopes: scopes.into(),
        rate_per_second: rate,
        daily_quota: None,
        client_cert_sha256: None,
    };
    exitentry_services::partners::create(&t.app, "test", &p)
        .await
        .unwrap()
        .1
}

async fn relying_parties_verify_with_their_key(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    t.seed(0).await;
    let c = t.client();
    let dob = {
        let mut conn = t.app.db.conn().await.unwrap();
        exitentry_storage::documents::by_number(&mut conn, "H12345678")
            .await
            .unwrap()[0]
            .1
            .person
            .date_of_birth
            .to_string()
    };
    let permit = serde_json::json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "CHAN TAI MAN", "date_of_birth": dob});
    let call = |path: &str, key: Option<&str>, body: &serde_json::Value| {
        let mut r = c.post(t.url(path)).json(body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };

    let r = call("/api/v1/verify/permit", None, &permit).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = call("/api/v1/verify/permit", Some("eek_123.456"), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let key = partner_key(&t, "China Southern", "verify_permit", None).await;
    let r = call("/api/v1/verify/permit", Some(&key), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["x-request-id"].len(),
        32,
        "every answer carries a request id"
    );
    let a: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        a,
        serde_json::json!({"match": true, "valid": true, "reason": "valid"})
    );
    let unknown = serde_json::json!({"document_kind": "hrp", "document_number": "H99999999",
        "name": "CHAN TAI MAN", "date_of_birth": dob});
    let a: serde_json::Value = call("/api/v1/verify/permit", Some(&key), &unknown)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        a["match"], false,
        "an unknown document is an answer, not an error"
    );
    // The issue count printed on the card names one card under a number kept for life.
    let handed_in = serde_json::json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "CHAN TAI MAN", "date_of_birth": dob, "issue_count": "02"});
    let a: serde_json::Value = call("/api/v1/verify/permit", Some(&key), &handed_in)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        a,
        serde_json::json!({"match": true, "valid": false, "reason": "surrendered"})
    );
    let bad = serde_json::json!({"document_kind": "hrp", "document_number": "H1",
        "name": "CHAN TAI MAN", "date_of_birth": dob});
    let r = call("/api/v1/verify/permit", Some(&key), &bad)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["field"],
        "document_number"
    );
    // Outside its scopes.
    let link = serde_json::json!({"travel_document_kind": "hrp", "travel_document_number": "H12345678",
        "residence_permit_number": "810000198503150012", "name": "CHAN TAI MAN"});
    let r = call("/api/v1/verify/linkage", Some(&key), &link)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Batch: NDJSON in and out, one answer per line, errors in place.
    let batch = format!(
        "{}\n{{\"check\": \"permit\"\n{}\n",
        serde_json::json!({"check": "permit", "document_kind": "hrp", "document_number": "H12345678",
            "name": "陳大文", "date_of_birth": dob}),
        serde_json::json!({"check": "credential", "payload": "EE1:x"})
    );
    let r = c
        .post(t.url("/api/v1/verify/batch"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body(batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let lines: Vec<serde_json::Value> = r
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        (lines[0]["line"].clone(), lines[0]["valid"].clone()),
        (1.into(), true.into())
    );
    assert_eq!(lines[1]["error"]["code"], "bad_json");
    assert_eq!(lines[2]["error"]["code"], "forbidden");

    // Revoking the key takes effect on the very next request.
    let key_id = key.split('.').next().unwrap();
    exitentry_services::partners::revoke_key(&t.app, "test", key_id)
        .await
        .unwrap();
    let r = call("/api/v1/verify/permit", Some(&key), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Per-key rate: one a second.
    let slow = partner_key(&t, "Slow Rail", "verify_permit", Some(1)).await;
    let first = call("/api/v1/verify/permit", Some(&slow), &permit)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = call("/api/v1/verify/permit", Some(&slow), &permit)
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key("retry-after"));

    // The partner sees its own usage; the admin sees everyone's on the partners page.
    let counted = partner_key(&t, "Counted Air", "verify_permit", None).await;
    for _ in 0..2 {
        call("/api/v1/verify/permit", Some(&counted), &permit)
            .await
            .unwrap();
    }
    let usage: serde_json::Value = c
        .get(t.url("/api/v1/verify/usage"))
        .bearer_auth(&counted)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage[0]["check"], "permit");
    assert_eq!(usage[0]["result"], "valid");
    assert_eq!(usage[0]["count"], 2, "only its own checks: {usage}");
    let admin = t.client();
    t.login(&admin, "admin", PASSWORD).await;
    let page = get_text(&admin, t.url("/staff/admin/partners")).await;
    assert!(page.contains("China Southern") && page.contains("Slow Rail"));
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = admin
        .post(t.url("/staff/admin/partners"))
        .body(format!(
            "csrf={csrf}&name=Air+Macau&kind=airline&scopes=verify_permit&scopes=verify_credential&rate=&daily_quota=500"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let created = r.text().await.unwrap();
    let marker = "id=\"new-key\" class=\"key\">";
    let start = created.find(marker).unwrap() + marker.len();
    let new_key = &created[start..start + 81];
    assert!(new_key.starts_with("eek_"), "{new_key}");
    let r = call("/api/v1/verify/permit", Some(new_key), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the key from the page works");
    let reviewer = t.client();
    t.login(&reviewer, "reviewer", PASSWORD).await;
    let r = reviewer
        .get(t.url("/staff/admin/partners"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let doc: serde_json::Value = get_json(&c, t.url("/api/openapi.json")).await;
    for p in ["permit", "linkage", "credential", "batch"] {
        assert!(
            doc["paths"][format!("/api/v1/verify/{p}")]["post"].is_object(),
            "{p}"
        );
    }
    t.stop().await;
}

http_tests!(relying_parties_verify_with_their_key);

async fn partners_bound_to_a_certificate_must_present_it(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_configured(backend, |c| {
        c.server.client_cert_header = "x-client-cert-sha256".into();
    })
    .await;
    t.seed(0).await;
    let fingerprint = "ab".repeat(32);
    let p = exitentry_services::partners::NewPartner {
        name: "Bound Bank".into(),
        kind: "bank".into(),
        scopes: "verify_permit".into(),
        rate_per_second: None,
        daily_quota: None,
        client_cert_sha256: Some(fingerprint.to_uppercase()),
    };
    let (_, key) = exitentry_services::partners::create(&t.app, "test", &p)
        .await
        .unwrap();
    let body = serde_json::json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "CHAN TAI MAN", "date_of_birth": "1985-03-15"});
    let c = t.client();
    let send = |cert: Option<String>| {
        let mut r = c
            .post(t.url("/api/v1/verify/permit"))
            .bearer_auth(&key)
            .json(&body);
        if let Some(v) = cert {
            r = r.header("x-client-cert-sha256", v);
        }
        r.send()
    };
    assert_eq!(send(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(Some("cd".repeat(32))).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // The terminator may write it with colons and in capitals.
    let with_colons = fingerprint
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(
        send(Some(with_colons)).await.unwrap().status(),
        StatusCode::OK
    );
    t.stop().await;
}

http_tests!(partners_bound_to_a_certificate_must_present_it);

/// The appointments API: slots, booking with a police portal's key (201, then 409 when the
/// slot is full), with an applicant's session, reading, moving and cancelling; the staff
/// pages of the building answer only with the right role.
async fn appointments_over_the_api(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    t.seed(0).await;
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
    let r = c
        .get(t.url("/api/v1/offices/GZ-TH-001/slots?service=visa&from=2026-11-23&to=2026-11-23"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_service"
    );

    let key = partner_key(&t, "gz-police", "book_appointments", None).await;
    let body = |id: &str| {
        serde_json::json!({"office_code": "GZ-TH-001", "service": "eep_application",
            "slot_start": "2026-11-23T09:00:00+08:00", "channel": "city_police",
            "applicant": {"id_kind": "prc_resident_id", "id_number": id, "name": "王小明"}})
    };
    let r = c
        .post(t.url("/api/v1/appointments"))
        .json(&body("440106199001010010"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(t.url("/api/v1/appointments"))
        .bearer_auth(&key)
        .json(&body("44010619900101001X"))
        .send()
        .await
        .unwrap();
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
    let r = c
        .post(t.url("/api/v1/appointments"))
        .bearer_auth(&key)
        .json(&body(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let booked: serde_json::Value = r.json().await.unwrap();
    assert_eq!(booked["channel"], "city_police");
    let r = c
        .post(t.url("/api/v1/appointments"))
        .bearer_auth(&key)
        .json(&body(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "slot_full"
    );
    // Move it, then cancel it.
    let id = booked["appointment_id"].as_str().unwrap();
    let r = c
        .post(t.url(&format!("/api/v1/appointments/{id}/reschedule")))
        .bearer_auth(&key)
        .json(&serde_json::json!({"slot_start": "2026-11-23T09:15:00+08:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(t.url("/api/v1/appointments"))
        .bearer_auth(&key)
        .json(&body(&second))
        .send()
        .await
        .unwrap();
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
    let other = partner_key(&t, "airline", "verify_permit", None).await;
    let r = c
        .post(t.url("/api/v1/appointments"))
        .bearer_auth(&other)
        .json(&body(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An applicant books with their session (the web channel by default).
    exitentry_services::holders::create_for_identity(
        &t.app,
        "test",
        "11010519491231002X",
        "13700137000",
        "a long holder password",
    )
    .await
    .unwrap();
    let holder = t.client();
    let r = holder.get(t.url("/my/login")).send().await.unwrap();
    let html = r.text().await.unwrap();
    let csrf = exitentry_test_support::hidden_field(&html, "csrf").unwrap();
    let r = holder
        .post(t.url("/my/login"))
        .form(&[
            ("mobile", "13700137000"),
            ("password", "a long holder password"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let r = holder
        .post(t.url("/api/v1/appointments"))
        .json(
            &serde_json::json!({"office_code": "GZ-TH-001", "service": "eep_application",
            "slot_start": "2026-11-23T10:00:00+08:00"}),
        )
        .send()
        .await
        .unwrap();
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
    let page = holder
        .get(t.url("/my/appointments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(mine["reference"].as_str().unwrap()));

    // Building pages: clerks yes, reviewers no; the display is public.
    let clerk = t.client();
    t.login(&clerk, "clerk", exitentry_test_support::PASSWORD)
        .await;
    assert_eq!(
        clerk
            .get(t.url("/staff/centre/counter?counter=2"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let reviewer = t.client();
    t.login(&reviewer, "reviewer", exitentry_test_support::PASSWORD)
        .await;
    assert_eq!(
        reviewer
            .get(t.url("/staff/centre/counter"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reviewer
            .get(t.url("/staff/admin/centre"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let admin = t.client();
    t.login(&admin, "admin", exitentry_test_support::PASSWORD)
        .await;
    let html = admin
        .get(t.url("/staff/admin/centre?office=GZ-TH-001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("eep_application") || html.contains("Exit-Entry"));
    let html = admin
        .get(t.url("/staff/admin/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("terminal:alipay"));
    assert_eq!(
        reviewer
            .get(t.url("/staff/admin/payments"))
            .send()
            .await
            .unwrap()
            .status(),
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
    let fleet = admin
        .get(t.url("/staff/kiosks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fleet.contains("th-kiosk-9") && fleet.contains("level-out") && fleet.contains("level-low")
    );
    assert_eq!(
        admin
            .get(t.url("/staff/kiosks"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(t.url("/display/GZ-TH-001/board"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(t.url("/kiosk")).send().await.unwrap().status(),
        StatusCode::OK
    );
    t.stop().await;
}

http_tests!(appointments_over_the_api);

async fn endorsements_at_the_counter_and_their_review(backend: exitentry_storage::Backend) {
    let t = spawn(backend).await;
    let clerk = t.client();
    t.login(&clerk, "clerk", PASSWORD).await;
    let page = get_text(
        &clerk,
        t.url("/staff/centre/endorsements?id_number=11010519491231002x&kind=T"),
    )
    .await;
    assert!(page.contains("CA1234567"), "the card is found");
    assert!(
        page.contains("value=\"relation_proof\""),
        "the family-visit checklist"
    );
    assert!(page.contains("name=\"relative_name\""));
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let form = |csrf: &str, proof: bool| {
        let mut f = vec![
            ("csrf", csrf.to_string()),
            ("id_number", "11010519491231002X".into()),
            ("kind", "T".into()),
            ("destination", "hong_kong".into()),
            ("variant", "3:multiple".into()),
            ("relation", "child".into()),
            ("relative_name", "李小明".into()),
            ("checklist", "identity_card".into()),
            ("checklist", "eep_card".into()),
            ("checklist", "application_form".into()),
        ];
        if proof {
            f.push(("checklist", "relation_proof".into()));
        }
        f
    };
    let r = clerk
        .post(t.url("/staff/centre/endorsements"))
        .form(&form("forged", true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A missing document: the form comes back with the error and what was typed.
    let r = clerk
        .post(t.url("/staff/centre/endorsements"))
        .form(&form(&csrf, false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("李小明") && body.contains("role=\"alert\""),
        "{body}"
    );
    let r = clerk
        .post(t.url("/staff/centre/endorsements"))
        .form(&form(&csrf, true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()[LOCATION].to_str().unwrap().to_string();
    let id = at.rsplit('/').next().unwrap().to_string();
    let r = clerk
        .post(t.url(&format!("{at}/pay")))
        .form(&[("csrf", csrf.as_str()), ("method", "cash")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let body = get_text(&clerk, t.url(&at)).await;
    assert!(body.contains("id=\"cend-status\""));
    // The counter cannot review; the reviewer sees the queue and confirms.
    assert_eq!(
        clerk
            .get(t.url("/staff/endorsements/review"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let reviewer = t.client();
    t.login(&reviewer, "reviewer", PASSWORD).await;
    let queue = get_text(&reviewer, t.url("/staff/endorsements/review")).await;
    assert!(queue.contains(&id) && queue.contains("李小明"));
    let page = get_text(&reviewer, t.url(&at)).await;
    let rcsrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = reviewer
        .post(t.url(&format!("/staff/endorsements/{id}/review")))
        .form(&[
            ("csrf", rcsrf.as_str()),
            ("decision", "approve"),
            ("note", "birth certificate"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let queue = get_text(&reviewer, t.url("/staff/endorsements/review")).await;
    assert!(!queue.contains(&id));
    let li = {
        let mut c = t.app.db.conn().await.unwrap();
        exitentry_storage::people::by_id_number(&mut c, "11010519491231002X")
            .await
            .unwrap()[0]
            .id
    };
    let a = exitentry_services::endorsement_applications::get(&t.app, li, &id)
        .await
        .unwrap();
    assert_eq!(a.status, "ready_to_print");

    // Admins register state personnel on the person page; the counter then asks for the
    // unit's approval. Clerks cannot register anyone.
    let r = clerk
        .post(t.url(&format!("/staff/people/{li}/state-personnel")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("registered", "1"),
            ("reason", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin = t.client();
    t.login(&admin, "admin", PASSWORD).await;
    let page = get_text(&admin, t.url(&format!("/staff/people/{li}"))).await;
    let acsrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = admin
        .post(t.url(&format!("/staff/people/{li}/state-personnel")))
        .form(&[
            ("csrf", acsrf.as_str()),
            ("registered", "1"),
            (
                "reason",
                "Register of the provincial personnel office, 2026-11",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get_text(
        &clerk,
        t.url("/staff/centre/endorsements?id_number=11010519491231002X&kind=L"),
    )
    .await;
    assert!(page.contains("id=\"state-personnel\"") && page.contains("value=\"unit_approval\""));
    let audit = get_text(&admin, t.url("/staff/admin/audit")).await;
    assert!(audit.contains("person.state_personnel") && audit.contains("endorsement.approve"));
    t.stop().await;
}

http_tests!(endorsements_at_the_counter_and_their_review);

/// Registers an applicant through the pages and follows the emailed link; returns the
/// signed-in client and its CSRF token.
async fn applicant_client(t: &TestApp, email: &str) -> (reqwest::Client, String) {
    let c = t.client();
    let page = get_text(&c, t.url("/apply/register")).await;
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = c
        .post(t.url("/apply/register"))
        .form(&[("csrf", csrf.as_str()), ("email", email), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    exitentry_services::jobs::run_due(&t.app).await.unwrap();
    let mail = exitentry_services::jobs::outbox(&t.app, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == email)
        .unwrap();
    let token: String = mail
        .body
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take(64)
        .collect();
    let page = get_text(&c, t.url(&format!("/apply/verify?token={token}"))).await;
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    let r = c
        .post(t.url("/apply/verify"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get_text(&c, t.url("/apply/applications")).await;
    let csrf = exitentry_test_support::hidden_field(&page, "csrf").unwrap();
    (c, csrf)
}

async fn applicants_see_only_their_own_pre_applications(backend: exitentry_storage::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let t = TestApp::spawn_configured(backend, |c| {
        c.uploads.dir = dir.path().display().to_string();
    })
    .await;
    t.seed(30).await;
    let anon = t.client();
    let r = anon.get(t.url("/apply/applications")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/apply/login")
    );

    let (john, csrf) = applicant_client(&t, "john@example.org").await;
    let r = john
        .post(t.url("/apply/applications"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()[LOCATION].to_str().unwrap().to_string();
    let upload = |c: &reqwest::Client, csrf: &str, name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("purpose", "passport")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
        c.post(t.url(&format!("{at}/documents")))
            .header(ACCEPT_LANGUAGE, "en")
            .multipart(form)
            .send()
    };
    // A zip named like a photo, an empty file: refused with a clear message.
    let r = upload(&john, &csrf, "photo.jpg", b"PK\x03\x04zip".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("JPEG, PNG or PDF"));
    let r = upload(&john, &csrf, "empty.png", Vec::new()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = upload(
        &john,
        &csrf,
        "../../etc/passwd.png",
        exitentry_test_support::TINY_PNG.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get_text(&john, t.url(&at)).await;
    assert!(
        !page.contains("../"),
        "the client's path is never shown or used"
    );
    let doc_link = page
        .split(&format!("href=\"{at}/documents/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let doc = format!("{at}/documents/{doc_link}");
    let r = john.get(t.url(&doc)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        exitentry_test_support::TINY_PNG
    );

    // Another applicant guessing the ids gets nothing, and cannot change anything.
    let (eve, eve_csrf) = applicant_client(&t, "eve@example.org").await;
    for path in [at.clone(), doc.clone()] {
        let r = eve.get(t.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = upload(
        &eve,
        &eve_csrf,
        "x.png",
        exitentry_test_support::TINY_PNG.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Staff: a counter clerk cannot review; a reviewer reads the queue.
    let clerk = t.client();
    t.login(&clerk, "clerk", PASSWORD).await;
    let r = clerk
        .get(t.url("/staff/pre-applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let reviewer = t.client();
    t.login(&reviewer, "reviewer", PASSWORD).await;
    let r = reviewer
        .get(t.url("/staff/pre-applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    t.stop().await;
}

http_tests!(applicants_see_only_their_own_pre_applications);

/// Payment callbacks over HTTP: a forged signature is refused with 403, a verified one is
/// acknowledged and applied once; border control needs the `border` scope.
async fn payment_callbacks_and_border_crossings(backend: exitentry_storage::Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    t.seed(0).await;
    let c = t.client();
    let past = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2024-05-01,2024-07-31,7
";
    let opts = exitentry_services::import::ImportOptions {
        skip_invalid: false,
        actor: "test".into(),
    };
    exitentry_services::import::run(
        &t.app,
        exitentry_services::import::ImportKind::Endorsements,
        past.as_bytes(),
        &opts,
        &exitentry_services::import::NoProgress,
    )
    .await
    .unwrap();
    let li = {
        let mut conn = t.app.db.conn().await.unwrap();
        exitentry_storage::people::by_id_number(&mut conn, "11010519491231002X")
            .await
            .unwrap()[0]
            .id
    };
    let req = exitentry_services::endorsement_applications::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "L".into(),
        validity_months: 3,
        trips: "1".into(),
    };
    let a = exitentry_services::endorsement_applications::apply(&t.app, li, "online", "test", &req)
        .await
        .unwrap();
    let (order, _) = exitentry_services::online_payments::start(
        &t.app,
        &format!("endorsement_application:{}", a.id),
        "wechat_pay",
        a.fee_cents,
        "test",
    )
    .await
    .unwrap();
    let sandbox = t.app.sandbox.clone().unwrap();
    let (body, sig) = sandbox.decide(
        t.app.config.endorsements.sandbox_secret.expose(),
        &order,
        exitentry_services::online_payments::Outcome::Paid,
    );
    let post = |sig: String| {
        c.post(t.url("/api/v1/payments/callbacks/wechat_pay"))
            .header("x-signature", sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(
        post("ab".repeat(32)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let first: serde_json::Value = post(sig.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first["changed"], true);
    let again: serde_json::Value = post(sig.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(
        (again["result"].as_str(), again["changed"].as_bool()),
        (Some("ok"), Some(false))
    );
    let status = exitentry_services::endorsement_applications::get(&t.app, li, &a.id)
        .await
        .unwrap()
        .status;
    assert_eq!(status, "ready_to_print");

    let key = partner_key(&t, "border-control", "border", None).await;
    let body = serde_json::json!({"document_number": "CA1234567", "destination": "hong_kong", "direction": "exit", "at": "2026-11-23T09:00:00+08:00"});
    let r = c
        .post(t.url("/api/v1/border/crossings"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    // Paid but not yet printed: only the 2024 endorsement is on the card.
    assert_eq!(
        (v["allowed"].as_bool(), v["reason"].as_str()),
        (Some(false), Some("endorsement_expired"))
    );
    let airline = partner_key(&t, "airline-x", "verify_permit", None).await;
    let r = c
        .post(t.url("/api/v1/border/crossings"))
        .bearer_auth(&airline)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    t.stop().await;
}

http_tests!(payment_callbacks_and_border_crossings);

/// WeChat Pay's XML notifications over HTTP: a correctly signed one is answered with
/// WeChat's XML SUCCESS (again for a repeat) and makes the application ready to print; a
/// forged one gets 403 and changes nothing.
async fn wechat_pay_notifications_over_http(backend: exitentry_storage::Backend) {
    use exitentry_services::online_payments::wechat;
    let key = "merchant api key of 32 characters";
    let t = TestApp::spawn_configured(backend, |c| {
        c.endorsements.online.wechat_pay = exitentry_config::OnlineAdapter::WechatNative;
        c.endorsements.wechat_pay.app_id = "wx2421b1c4370ec43b".into();
        c.endorsements.wechat_pay.mch_id = "10000100".into();
        c.endorsements.wechat_pay.api_key = exitentry_config::Secret(key.into());
    })
    .await;
    t.seed(0).await;
    let past = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2024-05-01,2024-07-31,7
";
    let opts = exitentry_services::import::ImportOptions {
        skip_invalid: false,
        actor: "test".into(),
    };
    exitentry_services::import::run(
        &t.app,
        exitentry_services::import::ImportKind::Endorsements,
        past.as_bytes(),
        &opts,
        &exitentry_services::import::NoProgress,
    )
    .await
    .unwrap();
    let li = {
        let mut conn = t.app.db.conn().await.unwrap();
        exitentry_storage::people::by_id_number(&mut conn, "11010519491231002X")
            .await
            .unwrap()[0]
            .id
    };
    let req = exitentry_services::endorsement_applications::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "L".into(),
        validity_months: 3,
        trips: "1".into(),
    };
    let a = exitentry_services::endorsement_applications::apply(&t.app, li, "online", "test", &req)
        .await
        .unwrap();
    // The order as checkout would have recorded it (WeChat itself is not called here).
    let order = exitentry_storage::payments::OrderRow {
        id: "0123456789abcdef0123456789abcdef".into(),
        subject: format!("endorsement_application:{}", a.id),
        provider: "wechat_pay".into(),
        amount_cents: a.fee_cents,
        currency: "CNY".into(),
        status: "pending".into(),
        provider_ref: None,
        created_at: t.app.now_micros(),
        paid_at: None,
        refunded_at: None,
    };
    {
        let mut conn = t.app.db.conn().await.unwrap();
        exitentry_storage::payments::insert_order(&mut conn, &order)
            .await
            .unwrap();
    }
    let notify = |key: &str| {
        let mut p: wechat::Params = [
            ("appid", "wx2421b1c4370ec43b"),
            ("mch_id", "10000100"),
            ("nonce_str", "5d2b6c2a8db53831f7eda20af46e531c"),
            ("out_trade_no", order.id.as_str()),
            ("result_code", "SUCCESS"),
            ("return_code", "SUCCESS"),
            ("total_fee", &a.fee_cents.to_string()),
            ("transaction_id", "4200000001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = wechat::sign(key, &p);
        p.insert("sign".into(), s);
        wechat::to_xml(&p)
    };
    let c = t.client();
    let post = |body: String| {
        c.post(t.url("/api/v1/payments/callbacks/wechat_pay"))
            .header("content-type", "text/xml")
            .body(body)
            .send()
    };
    assert_eq!(
        post(notify("not the key")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let status = || async {
        exitentry_services::endorsement_applications::get(&t.app, li, &a.id)
            .await
            .unwrap()
            .status
    };
    assert_eq!(status().await, "awaiting_payment");
    for _ in 0..2 {
        let r = post(notify(key)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/xml; charset=utf-8");
        assert_eq!(r.text().await.unwrap(), wechat::SUCCESS_ACK);
    }
    assert_eq!(status().await, "ready_to_print");
    t.stop().await;
}

http_tests!(wechat_pay_notifications_over_http);
