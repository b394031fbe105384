//! Post/redirect/get: a form's answer is a redirect to a page a GET shows again (reload,
//! language switch) with what was typed and the error kept, never a page at the POST's
//! address; the GOV.UK error summary links to the field in error.

use exitentry_test_support::{
    Backend, LI_HUA_ID, TestApp, backend_tests, chan_expiry, csrf_field, flash_error, header,
    person_id,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

/// `GET path` in `lang` twice (a reload): both 200, both the same page.
async fn shown_twice(t: &TestApp, c: &reqwest::Client, path: &str, lang: &str) -> String {
    let first = t.get_in(c, path, lang).await;
    assert_eq!(first.status(), StatusCode::OK, "{path}");
    let first = first.text().await.unwrap();
    let again = t.text_in(c, path, lang).await;
    assert_eq!(first, again, "a reload of {path} shows the same page");
    first
}

async fn the_temporary_permit_keeps_what_was_typed(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let c = t.client();
    let csrf = t.csrf(&c, "/temporary-permit").await;

    // Step 1 with a malformed number: 303 back to step 1, which shows it with the error.
    let bad = [
        ("csrf", csrf.as_str()),
        ("document_kind", "hrp"),
        ("document_number", "X12"),
        ("name", "陳大文"),
    ];
    let r = t.post_form(&c, "/temporary-permit/details", &bad).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, LOCATION), "/temporary-permit");
    let page = shown_twice(&t, &c, "/temporary-permit", "en").await;
    assert!(page.contains("<title>Error: "), "{page}");
    assert!(page.contains("class=\"error-summary\""));
    assert!(page.contains("href=\"#document_number\""));
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"document_number-error\""));
    assert!(page.contains("id=\"document_number-error\""));
    assert!(page.contains("value=\"X12\"") && page.contains("value=\"陳大文\""));
    assert!(page.contains("H12345678"), "the format is shown: {page}");
    // The language switch keeps it: the message in the new language, the input as typed.
    let r = t.get(&c, "/lang?set=zh-Hant&next=/temporary-permit").await;
    assert_eq!(header(&r, LOCATION), "/temporary-permit");
    let hant = t.text(&c, "/temporary-permit").await;
    assert!(
        hant.contains("<title>錯誤：") && hant.contains("value=\"X12\""),
        "{hant}"
    );
    // Another page forgets it.
    t.text(&c, "/offices").await;
    let fresh = t.text(&c, "/temporary-permit").await;
    assert!(!fresh.contains("error-summary") && !fresh.contains("X12"));

    // Step 1 with spaces and lower case is accepted; step 2 has its own address.
    let good = [
        ("csrf", csrf.as_str()),
        ("document_kind", "hrp"),
        ("document_number", "h1234 5678"),
        ("name", "陳大文"),
    ];
    let r = t.post_form(&c, "/temporary-permit/details", &good).await;
    assert_eq!(header(&r, LOCATION), "/temporary-permit/details");
    let two = shown_twice(&t, &c, "/temporary-permit/details", "en").await;
    assert!(two.contains("陳大文") && two.contains("id=\"document_expiry\""));
    let csrf2 = csrf_field(&two);

    // A wrong expiry date: no permit matches; step 2 says so at its "change" button, and
    // keeps what was typed (never the password).
    let wrong = [
        ("csrf", csrf2.as_str()),
        ("document_kind", "hrp"),
        ("document_number", "H12345678"),
        ("name", "陳大文"),
        ("document_expiry", "2030-01-01"),
        ("sex", "M"),
        ("mobile", "13900139000"),
        ("password", "a long holder password"),
    ];
    let r = t.post_form(&c, "/temporary-permit/apply", &wrong).await;
    assert_eq!(header(&r, LOCATION), "/temporary-permit/details");
    let two = shown_twice(&t, &c, "/temporary-permit/details", "en").await;
    assert!(two.contains("href=\"#change\"") && two.contains("id=\"change-error\""));
    assert!(two.contains("value=\"2030-01-01\"") && two.contains("value=\"13900139000\""));
    assert!(!two.contains("a long holder password"));
    // "Change" takes type, number and name back to step 1, filled in.
    let r = t.post_form(&c, "/temporary-permit/change", &wrong).await;
    assert_eq!(header(&r, LOCATION), "/temporary-permit");
    let one = shown_twice(&t, &c, "/temporary-permit", "en").await;
    assert!(one.contains("value=\"H12345678\"") && one.contains("value=\"陳大文\""));

    // The right details go on to the SMS code (the flash is gone after the redirect).
    let expiry = chan_expiry(&t.app).await;
    let mut right = wrong;
    right[4] = ("document_expiry", expiry.as_str());
    let r = t.post_form(&c, "/temporary-permit/apply", &right).await;
    assert_eq!(header(&r, LOCATION), "/temporary-permit/code");
    assert_eq!(t.status(&c, "/temporary-permit/code").await, StatusCode::OK);
    t.stop().await;
}
backend_tests!(the_temporary_permit_keeps_what_was_typed);

async fn a_forged_flash_is_ignored(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let c = t.client();
    let forged = "eyJwIjoiL3RlbXBvcmFyeS1wZXJtaXQiLCJlIjpbIngiLCJ5IiwieiJdfQ.AAAA";
    let r = c
        .get(t.url("/temporary-permit"))
        .header("cookie", format!("ee_flash={forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!r.text().await.unwrap().contains("error-summary"));
    t.stop().await;
}
backend_tests!(a_forged_flash_is_ignored);

async fn reception_names_an_unknown_reference(backend: Backend) {
    let t = TestApp::seeded(backend, 0).await;
    let clerk = t.staff("clerk").await;
    let page = "/staff/centre/reception";
    let csrf = t.csrf(&clerk, page).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("what", "check_in"),
        ("reference", "nosuchref1"),
    ];
    let r = t.post_form(&clerk, page, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, LOCATION), page);
    let body = shown_twice(&t, &clerk, page, "en").await;
    assert!(body.contains("No booking has this reference"), "{body}");
    assert!(body.contains("value=\"nosuchref1\"") && body.contains("href=\"#reference\""));
    t.stop().await;
}
backend_tests!(reception_names_an_unknown_reference);

/// A refused hukou area comes back to the person page next to its field through the flash
/// (never a code in the address), with what was typed; a reload shows it again.
async fn the_hukou_area_refusal_keeps_what_was_typed(backend: Backend) {
    let t = TestApp::seeded(backend, 0).await;
    let clerk = t.staff("clerk").await;
    let li = person_id(&t.app, LI_HUA_ID).await;
    let page = format!("/staff/people/{li}");
    let csrf = t.csrf(&clerk, &page).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("hukou_area", "12345"),
        ("reason", "Hukou booklet seen at the counter"),
    ];
    let r = t.post_form(&clerk, &format!("{page}/hukou"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, LOCATION), format!("{page}#hukou"));
    assert!(!flash_error(&r).is_empty());
    let body = shown_twice(&t, &clerk, &page, "en").await;
    assert!(body.contains("id=\"hukou-error\""), "{body}");
    assert!(body.contains(&flash_error(&r)), "{body}");
    assert!(body.contains("value=\"12345\""));
    assert!(body.contains("value=\"Hukou booklet seen at the counter\""));
    t.stop().await;
}
backend_tests!(the_hukou_area_refusal_keeps_what_was_typed);
