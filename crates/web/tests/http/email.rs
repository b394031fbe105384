//! Email as staff and developers see it: failed jobs on the administrators' page with the
//! retry button, and the development outbox page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::Duration;
use exitentry_config::EmailTls;
use exitentry_services::email::{self, Email, Lang};
use exitentry_services::jobs::{self, MAX_ATTEMPTS};
use exitentry_test_support::{Backend, TestApp, backend_tests, csrf_field, flash_error};
use reqwest::StatusCode;

async fn queue(t: &TestApp, to: &str, lang: Lang, e: &Email) -> i64 {
    let mut tx = t.app.db.begin().await.unwrap();
    let id = email::enqueue(&t.app, &mut tx, to, lang, e).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn text(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Runs the queue until the job is given up (every attempt fails).
async fn fail_every_attempt(t: &TestApp) {
    for _ in 0..MAX_ATTEMPTS {
        assert_eq!(jobs::run_due(&t.app).await.unwrap(), 1);
        t.clock.advance(Duration::hours(1));
    }
    assert_eq!(jobs::run_due(&t.app).await.unwrap(), 0);
}

async fn failed_email_shows_for_admins_and_is_retried(backend: Backend) {
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let t = TestApp::spawn_configured(backend, |c| {
        c.server.dev_providers = false;
        c.email.smtp_host = "127.0.0.1".into();
        c.email.smtp_port = port;
        c.email.tls = EmailTls::None;
        c.email.timeout_seconds = 5;
    })
    .await;
    t.seed(3).await;
    let id = queue(
        &t,
        "applicant@example.cn",
        Lang::En,
        &Email::Rejected {
            reference: "PA-9".into(),
            reason: "r".into(),
        },
    )
    .await;
    fail_every_attempt(&t).await;

    let clerk = t.staff("reviewer").await;
    let (status, _) = text(&clerk, t.url("/staff/admin/jobs")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "administrators only");

    let admin = t.staff("admin").await;
    let (status, body) = text(&admin, t.url("/staff/admin/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("href=\"/staff/admin/jobs\""),
        "in the admin nav"
    );
    assert!(body.contains("id=\"failed-jobs\""));
    assert!(body.contains("applicant@example.cn"));
    assert!(body.contains("<code>email</code>"));
    assert!(body.contains("SMTP"), "the last error is shown");
    assert!(body.contains(&format!("<td>{MAX_ATTEMPTS}</td>")));
    assert!(!body.contains("PA-9"), "no message bodies on the page");

    // The retry button: CSRF first, then the job is queued again, once.
    let csrf = csrf_field(&body);
    let id_field = id.to_string();
    let retry = async |c: &reqwest::Client, csrf: &str| {
        let form = [("csrf", csrf), ("id", id_field.as_str())];
        t.post_form(c, "/staff/admin/jobs/retry", &form).await
    };
    let r = retry(&admin, "wrong").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = retry(&clerk, &csrf).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "not for reviewers");
    let r = retry(&admin, &csrf).await;
    let body = t.shown(&admin, r).await;
    assert!(body.contains(&format!("任务 {id} 已重新排队")), "{body}");
    assert!(body.contains("id=\"no-failed-jobs\""));
    let r = retry(&admin, &csrf).await;
    assert!(!flash_error(&r).is_empty(), "a second click does nothing");
    // Queued again with fresh attempts: it runs now, and is not given up after one more.
    assert_eq!(jobs::run_due(&t.app).await.unwrap(), 1);
    assert!(jobs::failed(&t.app, 10).await.unwrap().is_empty());
    let audit = text(&admin, t.url("/staff/admin/audit")).await.1;
    assert!(audit.contains("job.retry"));
    t.stop().await;
}

async fn the_dev_outbox_page_shows_messages_with_links(backend: Backend) {
    let t = TestApp::spawn_with_keys(backend).await;
    let c = t.client();
    let (status, body) = text(&c, t.url("/dev/outbox")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"outbox-empty\""));
    queue(
        &t,
        "applicant@example.cn",
        Lang::ZhHans,
        &Email::SupplementRequested {
            reference: "PA-7".into(),
            items: vec!["<script>alert(1)</script>".into()],
            note: None,
            link: "https://ee.example.org/pre/PA-7?t=a&b=c".into(),
        },
    )
    .await;
    assert_eq!(jobs::run_due(&t.app).await.unwrap(), 1);
    let (_, body) = text(&c, t.url("/dev/outbox")).await;
    assert!(body.contains("申请 PA-7：需要补充材料"), "the subject");
    assert!(body.contains("applicant@example.cn"));
    assert!(
        body.contains(
            "<a href=\"https://ee.example.org/pre/PA-7?t=a&#38;b=c\" rel=\"noreferrer\">"
        ),
        "links are clickable: {body}"
    );
    assert!(
        !body.contains("<script>alert"),
        "everything else is escaped"
    );
    assert!(
        body.contains("script&#62;alert(1)&#60;/script"),
        "shown, escaped"
    );
    t.stop().await;

    // Outside development the page does not exist.
    let t = TestApp::spawn(backend).await;
    let (status, _) = text(&t.client(), t.url("/dev/outbox")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.stop().await;
}

backend_tests!(
    failed_email_shows_for_admins_and_is_retried,
    the_dev_outbox_page_shows_messages_with_links,
);
