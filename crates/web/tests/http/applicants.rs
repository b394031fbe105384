//! Online applicants for the non-Chinese permit over HTTP: accounts by emailed link,
//! uploads refused or kept, nobody reading another applicant's records, the reviewers' queue.

use exitentry_test_support::{Backend, TINY_PNG, backend_tests, header};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

async fn applicants_see_only_their_own_pre_applications(backend: Backend) {
    let (t, _uploads) = super::app_with_uploads(backend, 30).await;
    let anon = t.client();
    let r = t.get(&anon, "/apply/applications").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(header(&r, LOCATION).starts_with("/apply/login"));

    let (john, csrf) = t.applicant("john@example.org").await;
    let r = t
        .post_form(&john, "/apply/applications", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = header(&r, LOCATION).to_string();
    let upload = |c: &reqwest::Client, csrf: &str, name: &'static str, bytes: Vec<u8>| {
        super::upload_document(&t, c, &at, csrf, "passport", name, bytes)
    };
    // A zip named like a photo, an empty file: refused with a clear message.
    let r = upload(&john, &csrf, "photo.jpg", b"PK\x03\x04zip".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let refused = header(&r, LOCATION).to_string();
    assert!(
        t.text_in(&john, &refused, "en")
            .await
            .contains("JPEG, PNG or PDF")
    );
    assert!(
        refused.ends_with("#documents") && !refused.contains("error="),
        "{refused}"
    );
    let r = upload(&john, &csrf, "empty.png", Vec::new()).await.unwrap();
    assert!(!header(&r, LOCATION).contains("error="));
    assert!(!exitentry_test_support::flash_error(&r).is_empty());
    let r = upload(&john, &csrf, "../../etc/passwd.png", TINY_PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = t.text(&john, &at).await;
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
    let r = t.get(&john, &doc).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), TINY_PNG);

    // Another applicant guessing the ids gets nothing, and cannot change anything.
    let (eve, eve_csrf) = t.applicant("eve@example.org").await;
    for path in [at.clone(), doc.clone()] {
        let r = t.get(&eve, &path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = upload(&eve, &eve_csrf, "x.png", TINY_PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Staff: a counter clerk cannot review; a reviewer reads the queue.
    let clerk = t.staff("clerk").await;
    let r = t.get(&clerk, "/staff/pre-applications").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let reviewer = t.staff("reviewer").await;
    let r = t.get(&reviewer, "/staff/pre-applications").await;
    assert_eq!(r.status(), StatusCode::OK);
    t.stop().await;
}

backend_tests!(applicants_see_only_their_own_pre_applications);
