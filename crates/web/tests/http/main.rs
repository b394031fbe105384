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
