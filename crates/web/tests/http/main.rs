//! HTTP behaviour through the real server, on both backends, one binary: one module per
//! area, every test built on `exitentry_test_support::TestApp` and its helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod access;
mod applicants;
mod apply_form;
mod appointments;
mod counter;
mod email;
mod holders;
mod offices;
mod payments;
mod prg;
mod public;
mod security;
mod staff;
mod verifier;
mod verify;

use exitentry_test_support::TestApp;

/// The password of every holder account the tests make.
const HOLDER_PASSWORD: &str = "a long holder password";

/// A holder account for the identity `id` with `mobile`, and `c` signed in to it (the answer
/// to the sign-in returned).
async fn holder_signed_in(
    t: &TestApp,
    c: &reqwest::Client,
    id: &str,
    mobile: &str,
) -> reqwest::Response {
    exitentry_services::holders::create_for_identity(&t.app, "test", id, mobile, HOLDER_PASSWORD)
        .await
        .unwrap();
    holder_sign_in(t, c, mobile).await
}

/// An app whose uploads go to a directory of their own (removed when the returned guard
/// is dropped), seeded with `people`.
async fn app_with_uploads(
    backend: exitentry_test_support::Backend,
    people: usize,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let t = TestApp::spawn_configured(backend, |c| {
        c.uploads.dir = dir.path().display().to_string();
    })
    .await;
    t.seed(people).await;
    (t, dir)
}

/// `c` uploads `bytes`, a file named `name`, as the document `purpose` of the application
/// at `at`, in English (the answer to come, owning all it needs).
fn upload_document(
    t: &TestApp,
    c: &reqwest::Client,
    at: &str,
    csrf: &str,
    purpose: &str,
    name: &'static str,
    bytes: Vec<u8>,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("purpose", purpose.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
    c.post(t.url(&format!("{at}/documents")))
        .header(reqwest::header::ACCEPT_LANGUAGE, "en")
        .multipart(form)
        .send()
}

/// `c` signs in as the holder with `mobile` (the answer to the sign-in returned).
async fn holder_sign_in(t: &TestApp, c: &reqwest::Client, mobile: &str) -> reqwest::Response {
    let login = [("mobile", mobile), ("password", HOLDER_PASSWORD)];
    t.sign_in(c, "/my/login", login).await
}
