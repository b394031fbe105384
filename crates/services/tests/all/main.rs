//! Service tests, one binary: each module is one feature's tests against the `App` over a
//! fresh database of each backend (`backend_tests!`), with the shared fixtures of
//! `exitentry_test_support`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod auth;
mod booking_picker;
mod centre;
mod cluster;
mod collection;
mod counter_endorsements;
mod cts_centres;
mod email;
mod endorsements;
mod holder_records;
mod holders;
mod import;
mod keys;
mod pre_applications;
mod pre_applications_counter;
mod pre_applications_form;
mod providers;
mod temporary_permits;
mod uploads;
mod verification;
mod wechat_pay;

/// A kiosk called `name`, registered by the admin at the Tianhe hall.
async fn tianhe_kiosk(
    app: &exitentry_services::App,
    name: &str,
) -> exitentry_services::centre::DeviceSession {
    use exitentry_services::centre::create_device;
    let (kiosk, _) = create_device(app, "admin", "GZ-TH-001", name, "kiosk")
        .await
        .unwrap();
    kiosk
}
