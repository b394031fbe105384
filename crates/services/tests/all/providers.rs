//! The real provider adapters against a local fake of each service: signed requests,
//! score thresholds, failures, and how the job queue retries and gives up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use exitentry_config::Config;
use exitentry_services::providers::{
    FaceSubject, FaceVerifier, HttpFaceVerifier, HttpSmsGateway, SmsSender, signature,
};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{assert_refused, backend_tests};
use std::sync::{Arc, Mutex};

const SECRET: &str = "shared provider secret";

#[derive(Default)]
struct Fake {
    /// (timestamp, signature, body) of every request.
    seen: Vec<(String, String, String)>,
    status: u16,
    score: f64,
}

type Shared = Arc<Mutex<Fake>>;

async fn record(State(f): State<Shared>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut f = f.lock().unwrap();
    f.seen
        .push((h("x-exitentry-timestamp"), h("x-exitentry-signature"), body));
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::OK);
    (status, format!("{{\"score\": {}}}", f.score))
}

/// Starts the fake on a free port; returns its base URL and its state.
async fn fake(status: u16, score: f64) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(Fake {
        status,
        score,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/sms", post(record))
        .route("/face", post(record))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

fn timeout() -> std::time::Duration {
    std::time::Duration::from_secs(5)
}

#[tokio::test]
async fn the_sms_gateway_gets_a_signed_request_it_can_check() {
    let (url, state) = fake(200, 0.0).await;
    let gw = HttpSmsGateway::new(&format!("{url}/sms"), SECRET, timeout()).unwrap();
    gw.send("13800138000", "code 123456").await.unwrap();
    let f = state.lock().unwrap();
    let (ts, sig, body) = &f.seen[0];
    let body_json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body_json["to"], "13800138000");
    assert_eq!(body_json["text"], "code 123456");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    assert_eq!(*sig, signature(&key, ts.parse().unwrap(), body));
    let other = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"another secret");
    assert_ne!(*sig, signature(&other, ts.parse().unwrap(), body));
}

#[tokio::test]
async fn a_failing_gateway_is_an_error_not_a_silent_success() {
    let (url, _) = fake(500, 0.0).await;
    let gw = HttpSmsGateway::new(&format!("{url}/sms"), SECRET, timeout()).unwrap();
    let e = gw.send("13800138000", "x").await.unwrap_err();
    assert_eq!(e.code(), "provider_unavailable");
    // Nobody listening at all.
    let gw = HttpSmsGateway::new("http://127.0.0.1:9/sms", SECRET, timeout()).unwrap();
    assert_refused!(gw.send("13800138000", "x"), "provider_unavailable");
}

#[tokio::test]
async fn the_face_service_score_is_held_to_the_threshold() {
    let subject = FaceSubject {
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
    };
    for (score, expected) in [
        (0.93, Some(true)),
        (0.8, Some(true)),
        (0.79, Some(false)),
        (1.5, None),
    ] {
        let (url, state) = fake(200, score).await;
        let face = HttpFaceVerifier::new(&format!("{url}/face"), SECRET, 0.8, timeout()).unwrap();
        let got = face.verify(&subject, b"jpeg bytes").await;
        match expected {
            Some(m) => assert_eq!(got.unwrap(), m, "score {score}"),
            None => assert_eq!(got.unwrap_err().code(), "provider_unavailable"),
        }
        let body: serde_json::Value =
            serde_json::from_str(&state.lock().unwrap().seen[0].2).unwrap();
        assert_eq!(body["document_number"], "H12345678");
        assert_eq!(
            body["image"], "anBlZyBieXRlcw==",
            "the image travels as base64"
        );
    }
}

/// An SMS job whose gateway fails is retried with growing delays, then given up and
/// listed for staff; nothing is lost on the way.
async fn failed_sms_jobs_are_retried_then_given_up(t: &TestDb) {
    let (url, state) = fake(503, 0.0).await;
    let mut config = Config::default();
    config.providers.sms_gateway_url = format!("{url}/sms");
    config.providers.sms_gateway_secret.0 = SECRET.into();
    let (app, clock) = exitentry_test_support::app_with_config(t, config);
    let mut tx = app.db.begin().await.unwrap();
    exitentry_storage::jobs::enqueue(
        &mut tx,
        "sms",
        r#"{"to":"13800138000","text":"hello"}"#,
        app.now_micros(),
        app.now_micros(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(exitentry_services::jobs::run_due(&app).await.unwrap(), 1);
    assert_eq!(
        exitentry_services::jobs::run_due(&app).await.unwrap(),
        0,
        "not again before the back-off"
    );
    for _ in 1..exitentry_services::jobs::MAX_ATTEMPTS {
        clock.advance(Duration::hours(1));
        assert_eq!(exitentry_services::jobs::run_due(&app).await.unwrap(), 1);
    }
    clock.advance(Duration::hours(1));
    assert_eq!(
        exitentry_services::jobs::run_due(&app).await.unwrap(),
        0,
        "given up"
    );
    let failed = exitentry_services::jobs::failed(&app, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].1.contains("503"), "{}", failed[0].1);
    assert_eq!(
        state.lock().unwrap().seen.len() as i64,
        exitentry_services::jobs::MAX_ATTEMPTS
    );
}

backend_tests!(failed_sms_jobs_are_retried_then_given_up);
