//! Full `verify()` of an ES256 temporary-permit payload versus the bare `ring` ES256 check of
//! the same Sig_structure with the same key, in one run.
//!
//! `cargo bench -p exitentry-credentials` prints criterion's estimates for both, then the
//! medians of an interleaved measurement (so both see the same machine state) and the
//! ratio full / bare. Target: ≤ 1.15 (it was ≤ 1.25 before ES384 joined the key types).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use criterion::{Criterion, criterion_group};
use exitentry_credentials::{
    Alg, DEFAULT_PREFIX, TrustStore, VerifyOptions, decode, issue, sig_structure, verify,
};
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use std::hint::black_box;
use std::time::Instant;

/// The test suite's root, signers and typical e-permit.
#[path = "../tests/common/mod.rs"]
mod common;
use common::{Pki, T0, permit_claims};

struct Setup {
    payload: String,
    trust: TrustStore,
    public_key: Vec<u8>,
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

fn setup() -> Setup {
    let pki = Pki::new();
    let key = pki.key(Alg::Es256);
    let claims = permit_claims();
    let payload = issue(&key, &claims, DEFAULT_PREFIX).unwrap();
    let mut trust = TrustStore::new();
    trust.add_cert_der(&pki.es256.cert_der).unwrap();
    let decoded = decode(&payload, DEFAULT_PREFIX).unwrap();
    Setup {
        tbs: sig_structure(&decoded.protected_header, &decoded.payload),
        signature: decoded.signature,
        public_key: key.public_key().to_vec(),
        payload,
        trust,
    }
}

fn full(s: &Setup, opts: &VerifyOptions) -> bool {
    verify(black_box(&s.payload), &s.trust, opts).valid
}

fn bare(s: &Setup) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&s.public_key))
        .verify(black_box(&s.tbs), black_box(&s.signature))
        .is_ok()
}

fn benches(c: &mut Criterion) {
    let s = setup();
    let opts = VerifyOptions {
        required_use: Some("domestic_flight"),
        ..VerifyOptions::at(T0 + 3600)
    };
    assert!(full(&s, &opts) && bare(&s));
    let mut group = c.benchmark_group("es256");
    group.bench_function("full_verify", |b| b.iter(|| full(&s, &opts)));
    group.bench_function("bare_ring_verify", |b| b.iter(|| bare(&s)));
    group.finish();
}

criterion_group!(group, benches);

/// Interleaved rounds: each round times a batch of full verifications, then a batch of bare
/// ones; the medians of the per-call times over the rounds are compared.
fn interleaved_ratio() {
    let s = setup();
    let opts = VerifyOptions {
        required_use: Some("domestic_flight"),
        ..VerifyOptions::at(T0 + 3600)
    };
    let (rounds, batch) = (60, 200);
    let (mut fulls, mut bares) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            assert!(full(&s, &opts));
        }
        fulls.push(t.elapsed().as_secs_f64() / batch as f64);
        let t = Instant::now();
        for _ in 0..batch {
            assert!(bare(&s));
        }
        bares.push(t.elapsed().as_secs_f64() / batch as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (f, b) = (median(&mut fulls), median(&mut bares));
    println!();
    println!("payload: {} characters", s.payload.len());
    println!("interleaved medians ({rounds} rounds x {batch} calls):");
    println!("  full verify():        {:8.2} µs", f * 1e6);
    println!("  bare ring ES256:      {:8.2} µs", b * 1e6);
    println!("  ratio full / bare:    {:8.3}  (target <= 1.15)", f / b);
}

/// Criterion's median for a benchmark, from its `estimates.json` (nanoseconds), if found.
fn criterion_median(name: &str) -> Option<f64> {
    let home = std::env::var("CRITERION_HOME").ok().or_else(|| {
        std::env::var("CARGO_TARGET_DIR")
            .ok()
            .map(|t| format!("{t}/criterion"))
    });
    let home = home.unwrap_or_else(|| "../../target/criterion".into());
    let text = std::fs::read_to_string(format!("{home}/es256/{name}/new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// `criterion_main!`, criterion's medians and their ratio, then the interleaved comparison.
fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    if let (Some(f), Some(b)) = (
        criterion_median("full_verify"),
        criterion_median("bare_ring_verify"),
    ) {
        println!();
        println!("criterion medians:");
        println!("  full verify():        {:8.2} µs", f / 1e3);
        println!("  bare ring ES256:      {:8.2} µs", b / 1e3);
        println!("  ratio full / bare:    {:8.3}  (target <= 1.15)", f / b);
    }
    interleaved_ratio();
}
