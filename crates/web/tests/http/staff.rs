//! Staff sign-in over HTTP: pages that need a login and the right role, CSRF on every
//! form, error pages that keep the signed-in header, and the sign-in rate limit.

use exitentry_test_support::{
    Backend, PASSWORD, TestApp, backend_tests, csrf_field, flash_error, get_json, header,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

async fn staff_pages_need_a_login_and_the_right_role(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let r = t.get(&c, "/staff/search?q=CA1234567").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/staff/login?next=/staff/search%3Fq%3DCA1234567"
    );
    let r = t.get(&c, "/api/v1/registry/search?q=CA1234567").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = t.login(&c, "clerk", "wrong password").await;
    assert_eq!(flash_error(&r), "Wrong username or password.");
    assert!(t.shown(&c, r).await.contains("error-summary"));
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = header(&r, "set-cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let body = t.text(&c, "/staff/search?q=ca%201234567").await;
    assert!(body.contains("LI HUA"));
    assert!(
        !body.contains("11010519491231002X"),
        "identity numbers are masked"
    );
    assert!(body.contains("11**************2X"));
    let hits: serde_json::Value = get_json(&c, t.url("/api/v1/registry/search?q=A123456(3)")).await;
    assert_eq!(hits[0]["name_latin"], "CHAN TAI MAN");
    let id = hits[0]["person_id"].as_i64().unwrap();
    let body = t.text(&c, &format!("/staff/people/{id}")).await;
    assert!(body.contains("H12345678") && body.contains("status-surrendered"));

    // A counter clerk may search but not manage accounts or read the audit log.
    for path in ["/staff/admin/users", "/staff/admin/audit"] {
        assert_eq!(t.status(&c, path).await, StatusCode::FORBIDDEN, "{path}");
    }

    let admin = t.staff("admin").await;
    let body = t.text(&admin, "/staff/admin/audit").await;
    assert!(body.contains("import.people"));
    assert_eq!(t.status(&admin, "/staff/admin/users").await, StatusCode::OK);
    t.stop().await;
}

backend_tests!(staff_pages_need_a_login_and_the_right_role);

async fn forms_refuse_requests_without_the_csrf_token(backend: Backend) {
    let newbie = |csrf| {
        [
            ("csrf", csrf),
            ("username", "newbie"),
            ("password", PASSWORD),
            ("role", "reviewer"),
            ("office", ""),
        ]
    };
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    t.get(&c, "/staff/login").await;
    let r = t
        .post_form(
            &c,
            "/staff/login",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("csrf", "forged"),
                ("next", "/staff"),
            ],
        )
        .await;
    assert_eq!(flash_error(&r), "The form expired. Please try again.");
    assert!(t.shown(&c, r).await.contains("error-summary"));

    t.login(&c, "admin", PASSWORD).await;
    let r = t
        .post_form(&c, "/staff/admin/users", &newbie("forged"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = t.text(&c, "/staff/admin/users").await;
    assert!(!page.contains("newbie"));
    let csrf = csrf_field(&page);
    let r = t
        .post_form(&c, "/staff/admin/users", &newbie(csrf.as_str()))
        .await;
    assert!(t.shown(&c, r).await.contains("newbie"));
    t.stop().await;
}

backend_tests!(forms_refuse_requests_without_the_csrf_token);

async fn error_pages_keep_the_signed_in_header(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.staff("clerk").await;
    for path in ["/staff/admin/users", "/offices/NOPE-1", "/nowhere"] {
        let body = t.text_in(&c, path, "en").await;
        assert!(body.contains("Sign out (clerk)"), "{path}");
    }
    t.stop().await;
}

backend_tests!(error_pages_keep_the_signed_in_header);

async fn sign_in_attempts_are_rate_limited_per_client(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let limit = t.app.config.security.login_attempts_per_minute;
    // Different unknown names: one name alone would lock (as a real account does).
    for i in 0..limit {
        let r = t.login(&c, &format!("nobody{i}"), "wrong password").await;
        assert_eq!(flash_error(&r), "Wrong username or password.");
    }
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert!(flash_error(&r).starts_with("Too many attempts"));
    let wait: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The limiter follows the application's clock (held still here): once the wait is over,
    // the next attempt goes through.
    t.clock.advance(chrono::Duration::seconds(wait as i64));
    let r = t.login(&c, "clerk", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    t.stop().await;
}

backend_tests!(sign_in_attempts_are_rate_limited_per_client);
