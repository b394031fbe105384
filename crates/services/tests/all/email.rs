//! Email through a real SMTP conversation with a local sink: the job queue renders, sends,
//! authenticates, upgrades with STARTTLS, retries and gives up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::Duration;
use exitentry_config::{Config, EmailTls};
use exitentry_services::App;
use exitentry_services::email::{self, Email, Lang};
use exitentry_services::jobs::{self, MAX_ATTEMPTS};
use exitentry_services::providers::{EmailSender, SmtpEmail};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;
use exitentry_test_support::smtp::{SinkOptions, SmtpSink, self_signed_tls};

const FROM: &str = "出入境管理 <no-reply@ee.example.org>";

fn smtp_config(port: u16) -> Config {
    let mut c = Config::default();
    c.email.from = FROM.into();
    c.email.smtp_host = "127.0.0.1".into();
    c.email.smtp_port = port;
    c.email.tls = EmailTls::None;
    c.email.timeout_seconds = 5;
    c
}

fn supplement() -> Email {
    Email::SupplementRequested {
        reference: "PA-2026-000123".into(),
        items: vec!["近期免冠彩色照片".into(), "户口簿首页复印件".into()],
        note: Some("照片背景须为白色".into()),
        link: "https://ee.example.org/pre-applications/PA-2026-000123?t=tok3n".into(),
    }
}

/// Queues [`supplement`] to `to` in `lang`, in a transaction of its own.
async fn queued(app: &App, to: &str, lang: Lang) {
    let mut tx = app.db.begin().await.unwrap();
    email::enqueue(app, &mut tx, to, lang, &supplement())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A free port with nobody listening.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// The supplement request in simplified Chinese reaches the relay once, authenticated,
/// with the subject decoded intact and the items and link in the body.
async fn a_queued_email_reaches_the_relay_in_the_recipients_language(t: &TestDb) {
    let sink = SmtpSink::start_with(SinkOptions {
        credentials: Some(("mailer".into(), "relay-pass".into())),
        ..Default::default()
    })
    .await;
    let mut config = smtp_config(sink.port());
    config.email.username = "mailer".into();
    config.email.password.0 = "relay-pass".into();
    let (app, _clock) = exitentry_test_support::app_with_config(t, config);

    queued(&app, " applicant@example.cn ", Lang::ZhHans).await;
    assert!(
        sink.messages().is_empty(),
        "sent by the worker, not at once"
    );

    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    assert_eq!(jobs::run_due(&app).await.unwrap(), 0, "sent once");
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.to, vec!["applicant@example.cn".to_string()]);
    assert_eq!(m.from, "no-reply@ee.example.org");
    assert_eq!(m.auth, Some(("mailer".into(), "relay-pass".into())));
    assert_eq!(
        m.header("Subject").unwrap(),
        "申请 PA-2026-000123：需要补充材料"
    );
    assert_eq!(m.header("From").unwrap(), FROM);
    assert_eq!(m.header("To").unwrap(), "applicant@example.cn");
    let body = m.body();
    for part in [
        "- 近期免冠彩色照片\n",
        "- 户口簿首页复印件\n",
        "照片背景须为白色",
        "https://ee.example.org/pre-applications/PA-2026-000123?t=tok3n",
        "请勿回复",
    ] {
        assert!(body.contains(part), "{part} missing from:\n{body}");
    }
    assert!(jobs::failed(&app, 10).await.unwrap().is_empty());

    // Wrong credentials: the relay refuses, the job is kept for a retry.
    let mut config = smtp_config(sink.port());
    config.email.username = "mailer".into();
    config.email.password.0 = "wrong".into();
    let (app, _clock) = exitentry_test_support::app_with_config(t, config);
    queued(&app, "b@example.cn", Lang::En).await;
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    assert_eq!(sink.messages().len(), 1, "nothing more delivered");
}

backend_tests!(a_queued_email_reaches_the_relay_in_the_recipients_language);

/// A relay that cannot be reached: retried with back-off, then given up with its error.
async fn an_unreachable_relay_is_retried_then_given_up(t: &TestDb) {
    let (app, clock) = exitentry_test_support::app_with_config(t, smtp_config(closed_port().await));
    queued(&app, "c@example.cn", Lang::ZhHant).await;
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    assert_eq!(
        jobs::run_due(&app).await.unwrap(),
        0,
        "not again before the back-off"
    );
    clock.advance(Duration::seconds(29));
    assert_eq!(jobs::run_due(&app).await.unwrap(), 0, "30 s first");
    clock.advance(Duration::seconds(1));
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    for _ in 3..MAX_ATTEMPTS {
        clock.advance(Duration::hours(1));
        assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    }
    assert!(jobs::failed(&app, 10).await.unwrap().is_empty(), "not yet");
    clock.advance(Duration::hours(1));
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1, "the last attempt");
    clock.advance(Duration::hours(1));
    assert_eq!(jobs::run_due(&app).await.unwrap(), 0, "given up");
    let failed = jobs::failed(&app, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0.kind, "email");
    assert_eq!(failed[0].0.attempts, MAX_ATTEMPTS);
    assert!(failed[0].1.contains("SMTP"), "{}", failed[0].1);
}

backend_tests!(an_unreachable_relay_is_retried_then_given_up);

/// Without SMTP settings email is refused as not configured (and so retried, then shown),
/// and a malformed address is refused before anything is queued.
async fn no_relay_and_bad_addresses(t: &TestDb) {
    let (app, _clock) = exitentry_test_support::app(t);
    let mut tx = app.db.begin().await.unwrap();
    let e = email::enqueue(&app, &mut tx, "not an address", Lang::En, &supplement())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_email");
    email::enqueue(&app, &mut tx, "d@example.cn", Lang::En, &supplement())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        app.providers.email().err().map(|e| e.code()),
        Some("email_not_configured")
    );
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
}

backend_tests!(no_relay_and_bad_addresses);

/// The development double delivers to the outbox with the subject.
async fn the_development_double_writes_to_the_outbox(t: &TestDb) {
    let mut config = Config::default();
    config.server.dev_providers = true;
    let (app, _clock) = exitentry_test_support::app_with_config(t, config);
    queued(&app, "e@example.cn", Lang::En).await;
    assert_eq!(jobs::run_due(&app).await.unwrap(), 1);
    let out = jobs::outbox(&app, 10).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].channel.as_str(), out[0].recipient.as_str()),
        ("email", "e@example.cn")
    );
    assert_eq!(
        out[0].subject.as_deref(),
        Some("Application PA-2026-000123: more documents needed")
    );
    assert!(out[0].body.contains("?t=tok3n"));
}

backend_tests!(the_development_double_writes_to_the_outbox);

/// STARTTLS against a relay whose certificate comes from a CA we were told to trust: the
/// message travels encrypted, credentials only after the upgrade.
#[tokio::test]
async fn starttls_with_a_trusted_private_ca() {
    let (tls, ca_pem) = self_signed_tls();
    let sink = SmtpSink::start_with(SinkOptions {
        tls: Some(tls),
        credentials: Some(("mailer".into(), "pw".into())),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("relay-ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let mut c = smtp_config(sink.port()).email;
    c.smtp_host = "localhost".into();
    c.tls = EmailTls::Starttls;
    c.username = "mailer".into();
    c.password.0 = "pw".into();

    // Without the private CA the certificate is refused: nothing is sent.
    let untrusting = SmtpEmail::new(&c).unwrap();
    let e = untrusting.send("f@example.cn", "s", "b").await.unwrap_err();
    assert_eq!(e.code(), "email_unavailable");
    assert!(sink.messages().is_empty());

    c.ca_file = ca.display().to_string();
    let mailer = SmtpEmail::new(&c).unwrap();
    mailer
        .send("f@example.cn", "加密 test", "body over TLS")
        .await
        .unwrap();
    let m = &sink.messages()[0];
    assert!(m.tls, "sent after STARTTLS");
    assert_eq!(m.auth, Some(("mailer".into(), "pw".into())));
    assert_eq!(m.header("Subject").unwrap(), "加密 test");
    assert_eq!(m.body().trim_end(), "body over TLS");

    // A relay that offers no STARTTLS is not used in clear text (no downgrade).
    let plain = SmtpSink::start().await;
    c.smtp_port = plain.port();
    let e = SmtpEmail::new(&c)
        .unwrap()
        .send("f@example.cn", "s", "b")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "email_unavailable");
    assert!(plain.messages().is_empty());
}

/// Settings the config check refuses are refused by the adapter too, and a broken CA file
/// stops it at set-up.
#[test]
fn the_adapter_refuses_bad_settings() {
    let mut c = smtp_config(25).email;
    c.smtp_host = "smtp.example.org".into();
    assert!(SmtpEmail::new(&c).is_err(), "plain text to another host");
    c.tls = EmailTls::Starttls;
    assert!(SmtpEmail::new(&c).is_ok());
    c.from = "no address".into();
    assert!(SmtpEmail::new(&c).is_err());
    c.from = FROM.into();
    c.ca_file = "/nonexistent/ca.pem".into();
    assert!(SmtpEmail::new(&c).is_err());
}

/// Errors name the recipient's domain only: relays echo addresses in refusals, and the
/// error is logged and shown to staff.
#[tokio::test]
async fn errors_do_not_carry_the_full_address() {
    let sink = SmtpSink::start_with(SinkOptions {
        reject_recipients: true,
        ..Default::default()
    })
    .await;
    let c = smtp_config(sink.port()).email;
    let e = SmtpEmail::new(&c)
        .unwrap()
        .send("secret.person@example.cn", "s", "b")
        .await
        .unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("550"), "{shown}");
    assert!(shown.contains("***@example.cn"), "{shown}");
    assert!(!shown.contains("secret.person"), "{shown}");
    assert!(sink.messages().is_empty());
}
