//! Relying parties over HTTP: the signed trust and status lists, checks with a partner key
//! (scopes, batches, revocation, rate, usage), keys created on the partners page, and keys
//! bound to a client certificate.

use exitentry_test_support::{
    Backend, TestApp, backend_tests, csrf_field, error_code_of, get_json,
};
use reqwest::StatusCode;

async fn verifiers_get_signed_trust_and_status_lists(backend: Backend) {
    let bare = TestApp::spawn(backend).await;
    let r = bare.get(&bare.client(), "/api/v1/trust-list").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code_of(r).await, "keys_not_initialised");
    bare.stop().await;

    let t = TestApp::spawn_with_keys(backend).await;
    let c = t.client();
    let now = t.app.now().timestamp();
    let doc = t.text(&c, "/api/v1/trust-list").await;
    let keys = t.app.keys.get().unwrap();
    let (trust, info) =
        exitentry_credentials::open_trust_list(&doc, Some(&keys.root.cert_der)).unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(trust.kids(), vec![keys.current().unwrap().kid()]);
    let doc = t.text(&c, "/api/v1/status-list").await;
    let list = exitentry_credentials::open_status_list(&doc, &trust, now, 60).unwrap();
    assert_eq!(list.len(), t.app.config.credentials.status_list_size);
    t.stop().await;
}

backend_tests!(verifiers_get_signed_trust_and_status_lists);

async fn relying_parties_verify_with_their_key(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
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
    // An integrator's client names no language: the message is in English; asked for one,
    // it is in that.
    let message = |r: reqwest::Response| async move {
        let body: serde_json::Value = r.json().await.unwrap();
        body["error"]["message"].as_str().unwrap().to_string()
    };
    let english = message(r).await;
    assert!(english.is_ascii() && !english.is_empty(), "{english}");
    // A relying party is asked for its key, not to sign in.
    assert!(english.contains("partner key"), "{english}");
    let r = c
        .post(t.url("/api/v1/verify/permit"))
        .header("accept-language", "zh-TW")
        .json(&permit)
        .send()
        .await
        .unwrap();
    let traditional = message(r).await;
    assert!(!traditional.is_ascii(), "{traditional}");
    let r = call("/api/v1/verify/permit", Some("eek_123.456"), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let key = t.partner_key("China Southern", "verify_permit", None).await;
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
    let answer = async |body: &serde_json::Value| -> serde_json::Value {
        let r = call("/api/v1/verify/permit", Some(&key), body)
            .await
            .unwrap();
        r.json().await.unwrap()
    };
    let unknown = serde_json::json!({"document_kind": "hrp", "document_number": "H99999999",
        "name": "CHAN TAI MAN", "date_of_birth": dob});
    let a = answer(&unknown).await;
    assert_eq!(
        a["match"], false,
        "an unknown document is an answer, not an error"
    );
    // The issue count printed on the card names one card under a number kept for life.
    let handed_in = serde_json::json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "CHAN TAI MAN", "date_of_birth": dob, "issue_count": "02"});
    let a = answer(&handed_in).await;
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
    let slow = t.partner_key("Slow Rail", "verify_permit", Some(1)).await;
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
    let counted = t.partner_key("Counted Air", "verify_permit", None).await;
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
    let admin = t.staff("admin").await;
    let page = t.text(&admin, "/staff/admin/partners").await;
    assert!(page.contains("China Southern") && page.contains("Slow Rail"));
    // Scopes in words (the stored codes stay in the form's values only).
    assert!(page.contains("核验证件") && !page.contains(">verify_permit<"));
    assert!(!page.contains("verify_permit,") && !page.contains("<code>verify"));
    let csrf = csrf_field(&page);
    let r = admin
        .post(t.url("/staff/admin/partners"))
        .body(format!(
            "csrf={csrf}&name=Air+Macau&kind=airline&scopes=verify_permit&scopes=verify_credential&rate=&daily_quota=500"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    let created = t.shown(&admin, r).await;
    let marker = "id=\"new-key\" class=\"key\">";
    let start = created.find(marker).unwrap() + marker.len();
    let new_key = &created[start..start + 81];
    assert!(new_key.starts_with("eek_"), "{new_key}");
    let r = call("/api/v1/verify/permit", Some(new_key), &permit)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the key from the page works");
    let reviewer = t.staff("reviewer").await;
    let r = t.get(&reviewer, "/staff/admin/partners").await;
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

backend_tests!(relying_parties_verify_with_their_key);

async fn partners_bound_to_a_certificate_must_present_it(backend: Backend) {
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

backend_tests!(partners_bound_to_a_certificate_must_present_it);
