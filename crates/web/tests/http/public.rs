//! Public pages and operations over HTTP: languages, the office directory (pages and API),
//! health, metrics and the OpenAPI document, and malformed input answered clearly.

use exitentry_test_support::{
    Backend, PASSWORD, TestApp, backend_tests, error_code_of, flash_error, get_json,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

async fn public_pages_speak_the_visitors_language(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let cases = [
        ("zh-TW", "辦理網點", "zh-Hant"),
        ("zh-HK,en;q=0.5", "辦理網點", "zh-Hant"),
        ("zh-CN", "办理网点", "zh-Hans"),
        ("en-GB", "Offices", "en"),
    ];
    for (accept, word, code) in cases {
        let body = t.text_in(&c, "/offices", accept).await;
        assert!(body.contains(word), "{accept}");
        assert!(body.contains(&format!("<html lang=\"{code}\"")), "{accept}");
    }
    // The switch stores a cookie that beats Accept-Language, and only redirects locally.
    let r = t.get(&c, "/lang?set=en&next=/offices").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/offices");
    let body = t.text_in(&c, "/offices", "zh-TW").await;
    assert!(body.contains("<html lang=\"en\""));
    let r = t.get(&c, "/lang?set=en&next=//evil.example").await;
    assert_eq!(r.headers()[LOCATION], "/");
    t.stop().await;
}

backend_tests!(public_pages_speak_the_visitors_language);

async fn the_directory_filters_by_district_and_hours(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let body = t
        .text_in(&c, "/offices?district=Tianhe&open24=1", "en")
        .await;
    assert!(body.contains("Tiyu Xi 24h Self-Service Point"));
    assert!(
        !body.contains("Tianhe Exit-Entry Hall"),
        "the hall is not open round the clock"
    );
    assert!(!body.contains("Yuexiu Exit-Entry Hall"));
    let r = t.get(&c, "/offices/gz-th-002").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(t.status(&c, "/offices/NOPE-1").await, StatusCode::NOT_FOUND);

    let json: serde_json::Value =
        get_json(&c, t.url("/api/v1/offices?district=Tianhe&open_24h=true")).await;
    assert_eq!(json["total"], 1);
    assert_eq!(json["offices"][0]["code"], "GZ-TH-002");
    assert_eq!(
        json["offices"][0]["services"],
        serde_json::json!(["self_service_endorsement", "collection"])
    );
    let r = t.get_in(&c, "/api/v1/offices/XX", "zh-CN").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert_eq!(err["error"]["message"], "找不到该页面或记录。");
    t.stop().await;
}

backend_tests!(the_directory_filters_by_district_and_hours);

async fn operations_endpoints_answer(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let r = t.get(&c, "/healthz").await;
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.text().await.unwrap(), "ok");
    let ready: serde_json::Value = get_json(&c, t.url("/readyz")).await;
    assert_eq!(ready["database"], backend.name());
    let metrics = t.text(&c, "/metrics").await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    let doc: serde_json::Value = get_json(&c, t.url("/api/openapi.json")).await;
    assert!(doc["paths"]["/api/v1/offices"].is_object());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let r = t.get(&c, "/api/v1/nothing-here").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code_of(r).await, "not_found");
    let css = t.get(&c, "/assets/vendor/htmx.min.js").await;
    assert_eq!(css.status(), StatusCode::OK);
    t.stop().await;
}

backend_tests!(operations_endpoints_answer);

async fn malformed_input_gets_a_clear_error_not_a_crash(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let c = t.client();
    let r = t.get_in(&c, "/api/v1/offices?page=abc", "en").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_query_string");
    assert_eq!(err["error"]["field"], "query");
    let r = t.get(&c, "/offices?page=abc").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("<html"));
    let r = t.login(&c, "clerk\u{0}", PASSWORD).await;
    assert_eq!(flash_error(&r), "Wrong username or password.");
    t.login(&c, "clerk", PASSWORD).await;
    for path in [
        "/staff/people/not-a-number",
        "/staff/people/99999999999999999999",
        "/staff/search?q=%00%01",
    ] {
        let r = t.get(&c, path).await;
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    let long = "9".repeat(5000);
    let r = t.get(&c, &format!("/staff/search?q={long}")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    t.stop().await;
}

backend_tests!(malformed_input_gets_a_clear_error_not_a_crash);
