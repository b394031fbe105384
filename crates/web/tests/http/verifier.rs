//! The offline verifier over HTTP: the page in three languages with the root it pins, its
//! service worker and manifest, and the files it keeps, all without signing in.

use exitentry_test_support::{Backend, TestApp, backend_tests, get_json};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};

/// The JSON the page hands its script.
fn config(html: &str) -> serde_json::Value {
    let start = html
        .find(r#"<script type="application/json" id="verifier-config">"#)
        .expect("the page carries its configuration");
    let rest = &html[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap()
}

async fn the_page_pins_the_root_of_the_published_trust_list(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 5).await;
    let c = t.client();
    let trust = get_json(&c, t.url("/api/v1/trust-list")).await;
    for (accept, title, code) in [
        ("en", "Credential verifier", "en"),
        ("zh-CN", "凭证核验", "zh-Hans"),
        ("zh-HK", "憑證核驗", "zh-Hant"),
    ] {
        let html = t.text_in(&c, "/verifier", accept).await;
        assert!(html.contains(title), "{accept}");
        let cfg = config(&html);
        assert_eq!(cfg["lang"], code);
        assert_eq!(
            cfg["root"], trust["root_cert"],
            "the pinned root is the list's root"
        );
        assert_eq!(cfg["prefix"], "EE1:");
        assert_eq!(cfg["status_fresh_secs"], 86_400);
        for key in ["vf-reason-revoked", "vf-use-border", "kind-hrp"] {
            let text = cfg["messages"][key].as_str().unwrap();
            assert!(!text.is_empty() && text != key, "{accept} {key}");
        }
    }
    // `?lang=` beats the cookie and Accept-Language, so each language can be kept offline.
    let html = t.text_in(&c, "/verifier?lang=zh-Hant", "en").await;
    assert!(html.contains("<html lang=\"zh-Hant\""));
    assert!(html.contains("href=\"/verifier?lang=en\""));
    let r = t.get(&c, "/verifier").await;
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    t.stop().await;
}

backend_tests!(the_page_pins_the_root_of_the_published_trust_list);

async fn the_service_worker_keeps_files_that_exist(backend: Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    let c = t.client();
    let r = t.get(&c, "/verifier/sw.js").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["service-worker-allowed"], "/verifier");
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let sw = r.text().await.unwrap();
    assert!(!sw.contains("__VERSION__"), "the version is filled in");
    // Every file the worker keeps is served.
    let mut kept = 0;
    for path in sw.split('\'').filter(|s| s.starts_with("/assets/")) {
        assert_eq!(t.status(&c, path).await, StatusCode::OK, "{path}");
        kept += 1;
    }
    assert!(kept >= 8, "{kept} files kept");
    let manifest = get_json(&c, t.url("/verifier/manifest.webmanifest?lang=en")).await;
    assert_eq!(manifest["start_url"], "/verifier?lang=en");
    assert_eq!(manifest["scope"], "/verifier");
    assert_eq!(manifest["display"], "standalone");
    t.stop().await;
}

backend_tests!(the_service_worker_keeps_files_that_exist);
