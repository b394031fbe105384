//! Security through the real server, on both backends: nobody reaches someone else's
//! records with a phone alone, redirects stay on this site, answers with personal data are
//! not cached, metrics need their token, cookies are host-bound behind HTTPS, and malformed
//! requests get our own answers. docs/SECURITY.md lists what each test protects.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_services::jobs;
use exitentry_storage::jobs as job_store;
use exitentry_test_support::{
    Backend, LI_HUA_ID, TINY_PNG, TestApp, backend_tests, csrf_field, error_code_of, flash_error,
    header,
};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};

/// The last SMS to `mobile`, after the job queue has run.
async fn sms_to(t: &TestApp, mobile: &str) -> String {
    jobs::run_due(&t.app).await.unwrap();
    let mut c = t.app.db.conn().await.unwrap();
    job_store::outbox(&mut c, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == mobile)
        .map(|m| m.body)
        .expect("an SMS to the number")
}

fn code_in(sms: &str) -> String {
    sms.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// The sign-up through the pages up to the face step; returns the face page's path.
async fn sign_up_to_the_face_step(t: &TestApp, c: &reqwest::Client, mobile: &str) -> String {
    let page = t.text(c, "/my/signup").await;
    let csrf = csrf_field(&page);
    let r = t
        .post_form(
            c,
            "/my/signup",
            &[
                ("csrf", csrf.as_str()),
                ("id_kind", "prc_resident_id"),
                ("id_number", LI_HUA_ID),
                ("name", "李华"),
                ("mobile", mobile),
                ("password", "the attacker's password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let code_page = header(&r, LOCATION).to_string();
    let code = code_in(&sms_to(t, mobile).await);
    let r = t
        .post_form(
            c,
            &code_page,
            &[("csrf", csrf.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let face = header(&r, LOCATION).to_string();
    assert_eq!(face, format!("{code_page}/face"));
    face
}

/// The face step's form with a photo.
fn photo_form(csrf: String) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().text("csrf", csrf).part(
        "photo",
        reqwest::multipart::Part::bytes(TINY_PNG.to_vec())
            .file_name("me.png")
            .mime_str("image/png")
            .unwrap(),
    )
}

/// The takeover of the report: someone else's identity number and name plus one's own
/// mobile and its SMS code. Before (and without) a passed face check nothing of the person
/// is reachable: no session, no permits, no applications, no sign-in with that password.
async fn a_phone_alone_opens_nothing_of_the_person(backend: Backend) {
    let t = TestApp::spawn_configured(backend, |c| c.providers.dev_face_accept = false).await;
    t.seed(30).await;
    let c = t.client();
    let face = sign_up_to_the_face_step(&t, &c, "13900139000").await;

    let nothing_visible = |c: reqwest::Client| {
        let t = &t;
        async move {
            let r = t.get(&c, "/my").await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "/my needs a sign-in");
            assert!(header(&r, LOCATION).starts_with("/my/login"));
            for path in ["/my/linkage-proof", "/my/appointments"] {
                let r = t.get(&c, path).await;
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
            }
            let r = t.get(&c, "/api/v1/endorsements/applications").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
    };
    nothing_visible(c.clone()).await;

    // The sign-up's address alone (history, a log) is no way in: another browser is sent
    // back to the start, and its photo is not taken.
    let other = t.client();
    let r = t.get(&other, &face).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/my/signup");

    // The face check refuses: still nothing, and the password opens nothing either.
    let page = t.text(&c, &face).await;
    assert!(
        !page.contains("id=\"dev-face-note\""),
        "the refusing double is not the demo's"
    );
    let csrf = csrf_field(&page);
    let form = photo_form(csrf);
    let r = c.post(t.url(&face)).multipart(form).send().await.unwrap();
    assert!(t.shown(&c, r).await.contains("role=\"alert\""));
    nothing_visible(c.clone()).await;
    let r = t
        .sign_in(
            &c,
            "/my/login",
            [
                ("mobile", "13900139000"),
                ("password", "the attacker's password"),
            ],
        )
        .await;
    assert!(!flash_error(&r).is_empty(), "refused");
    t.stop().await;
}

/// With the demo's double (any photo passes, and the page says so) the same journey binds
/// the sign-in and opens the holder's pages.
async fn the_face_check_binds_the_sign_in(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 30).await;
    let c = t.client();
    let face = sign_up_to_the_face_step(&t, &c, "13900139000").await;
    let page = t.text(&c, &face).await;
    assert!(page.contains("id=\"dev-face-note\""));
    let csrf = csrf_field(&page);
    let form = photo_form(csrf);
    let r = c.post(t.url(&face)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<_> = r.headers().get_all(SET_COOKIE).iter().collect();
    assert!(
        cookies
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("ee_holder="))
    );
    assert!(
        cookies
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("ee_device_holder="))
    );
    let r = t.get(&c, "/my").await;
    assert_eq!(r.status(), StatusCode::OK);
    t.stop().await;
}

/// `/lang` (and every sign-in's `next`) follows only paths on this site.
async fn redirects_stay_on_this_site(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let c = t.client();
    let cases = [
        ("/%09/evil.com", "/"),
        ("/%0a", "/"),
        ("/%0d%0aSet-Cookie:x=1", "/"),
        ("//evil.com", "/"),
        ("/\\evil.com", "/"),
        ("/%5C%5Cevil.com", "/"),
        ("https://evil.com", "/"),
        ("/offices/..//evil.com", "/"),
        ("/offices?district=Tianhe", "/offices?district=Tianhe"),
    ];
    for (next, want) in cases {
        let r = c
            .get(t.url(&format!(
                "/lang?set=en&next={}",
                next.replace('?', "%3F").replace('=', "%3D")
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()[LOCATION], want, "{next}");
    }
    t.stop().await;
}

/// Personal data is never cached; static assets are.
async fn answers_with_personal_data_are_not_cached(backend: Backend) {
    let t = TestApp::seeded(backend, 10).await;
    let c = t.staff("clerk").await;
    for path in [
        "/my/login",
        "/staff",
        "/staff/search?q=CA1234567",
        "/api/v1/offices",
    ] {
        let r = t.get(&c, path).await;
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store", "{path}");
    }
    let css = t.get(&c, "/assets/app.css").await;
    assert!(header(&css, CACHE_CONTROL).starts_with("public"));
    t.stop().await;
}

/// Behind HTTPS: HSTS, and every cookie `Secure` with the `__Host-` prefix.
async fn behind_https_cookies_are_host_bound_and_hsts_is_sent(backend: Backend) {
    let t = TestApp::spawn_configured(backend, |c| {
        c.server.public_url = "https://exitentry.example.gov".into();
        c.server.secure_cookies = true;
    })
    .await;
    let c = t.client();
    let r = t.get(&c, "/my/login").await;
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let cookies: Vec<String> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
    }
    // The anonymous form's token comes back under the prefix and is accepted (no 403).
    let csrf = cookies[0]
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let plain = t.client();
    let sign_in_with = |cookie: String| {
        plain
            .post(t.url("/my/login"))
            .header("cookie", cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("mobile", "13900139000"),
                ("password", "x"),
            ])
            .send()
    };
    let r = sign_in_with(format!("__Host-ee_login_csrf={csrf}"))
        .await
        .unwrap();
    let refused = flash_error(&r);
    assert!(
        !refused.is_empty() && !refused.contains("form expired"),
        "{refused}"
    );
    // Without the prefix a cookie is not read (a sibling domain could have set it).
    let r = sign_in_with(format!("ee_login_csrf={csrf}")).await.unwrap();
    assert_eq!(flash_error(&r), "The form expired. Please try again.");
    t.stop().await;
}

/// `/metrics` names partners and offices: with a token configured, only Prometheus with
/// that bearer token reads it.
async fn metrics_need_the_bearer_token(backend: Backend) {
    let t = TestApp::spawn_configured(backend, |c| {
        c.server.metrics_token = exitentry_config::Secret("a long metrics token 123".into());
    })
    .await;
    let c = t.client();
    let r = t.get(&c, "/metrics").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for (token, want) in [
        ("a wrong token", StatusCode::UNAUTHORIZED),
        ("a long metrics token 123", StatusCode::OK),
    ] {
        let r = c.get(t.url("/metrics")).bearer_auth(token).send().await;
        assert_eq!(r.unwrap().status(), want, "{token}");
    }
    t.stop().await;
}

/// What the framework would answer in plain text gets our answer: a translated page for
/// pages, our JSON error with a stable code on the API.
async fn malformed_requests_get_our_own_answers(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let c = t.client();
    let r = c
        .post(t.url("/my/login"))
        .header("accept-language", "en")
        .header(CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(header(&r, CONTENT_TYPE).starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("not in a form we accept"));

    let r = c.put(t.url("/api/v1/offices")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code_of(r).await, "method_not_allowed");

    // Any number a visitor types is answered, however large.
    let r = t.get(&c, "/api/v1/offices?page=9223372036854775807").await;
    assert_eq!(r.status(), StatusCode::OK);

    let big = "x".repeat(3 * 1024 * 1024);
    let r = c
        .post(t.url("/api/v1/temporary-permits/applications"))
        .header(CONTENT_TYPE, "application/json")
        .body(format!("{{\"name\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code_of(r).await, "payload_too_large");
    t.stop().await;
}

/// The JSON API's SMS requests are limited per client like the web form.
async fn the_api_sends_no_sms_flood(backend: Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    let c = t.client();
    let limit = t.app.config.security.sms_requests_per_minute;
    let mut statuses = Vec::new();
    for _ in 0..limit + 1 {
        let r = t
            .post_json(
                &c,
                "/api/v1/temporary-permits/applications",
                None,
                &serde_json::json!({
                    "document_kind": "hrp", "document_number": "H12345678", "name": "x",
                    "document_expiry": "2030-01-01", "sex": "M", "mobile": "13900139000",
                    "password": "a long password 1"
                }),
            )
            .await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            assert_eq!(error_code_of(r).await, "rate_limited");
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(!statuses[..limit as usize].contains(&StatusCode::TOO_MANY_REQUESTS));
    t.stop().await;
}

backend_tests!(
    a_phone_alone_opens_nothing_of_the_person,
    the_face_check_binds_the_sign_in,
    redirects_stay_on_this_site,
    answers_with_personal_data_are_not_cached,
    behind_https_cookies_are_host_bound_and_hsts_is_sent,
    metrics_need_the_bearer_token,
    malformed_requests_get_our_own_answers,
    the_api_sends_no_sms_flood,
);
