//! Fixed test vectors in `tests/vectors/`: each `NAME.expected.json` names a payload text,
//! the keys to trust (a signer certificate PEM, or a trust list with a pinned root), an
//! optional status list, the options (`at`, `prefix`, `use`) and the exact verdict.
//!
//! The ES256/EdDSA vectors were made by `generate_vectors` below (it writes to tests/vectors
//! only with `EXITENTRY_REGENERATE_VECTORS=1`, otherwise to a temporary folder); the PS256 and ES384 vectors by `gen_independent.py` with
//! Python `cryptography`, an implementation independent of ours.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{DAY, Pki, T0, permit_body, permit_claims};
use exitentry_credentials::{
    CredentialKind, Reason, StatusList, TrustStore, VerifyOptions, issue, open_status_list,
    open_trust_list, sign_status_list, sign_trust_list, verify,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(name: &str) -> String {
    read_in(&dir(), name)
}

fn read_in(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.trim().as_bytes()).unwrap().1
}

/// Runs one vector and returns the verdict as JSON.
fn run(spec: &Value) -> Value {
    run_in(&dir(), spec)
}

/// Runs one vector whose files are in `dir`.
fn run_in(dir: &Path, spec: &Value) -> Value {
    let read = |name: &str| read_in(dir, name);
    let at = spec["at"].as_i64().unwrap();
    let mut trust = TrustStore::new();
    if let Some(cert) = spec["cert"].as_str() {
        trust.add_cert_pem(&read(cert)).unwrap();
    }
    if let Some(list) = spec["trust_list"].as_str() {
        let pinned = spec["pinned_root"].as_str().map(|p| pem_to_der(&read(p)));
        trust = open_trust_list(&read(list), pinned.as_deref()).unwrap().0;
    }
    let status = spec["status_list"].as_str().map(|s| {
        open_status_list(
            &read(s),
            &trust,
            at,
            spec["status_max_age"].as_i64().unwrap(),
        )
        .unwrap()
    });
    let payload = read(spec["payload"].as_str().unwrap());
    let options = VerifyOptions {
        prefix: spec["prefix"].as_str().unwrap(),
        at,
        required_use: spec["use"].as_str(),
        status: status.as_ref(),
        clock_skew_secs: 300,
    };
    serde_json::to_value(verify(payload.trim_end(), &trust, &options)).unwrap()
}

#[test]
fn fixed_vectors_give_their_verdicts() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".expected.json"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "vectors missing: {names:?}");
    let mut reasons = std::collections::BTreeSet::new();
    for name in &names {
        let spec: Value = serde_json::from_str(&read(name)).unwrap();
        let got = run(&spec);
        assert_eq!(got, spec["verdict"], "{name}");
        reasons.insert(got["reason"].as_str().unwrap().to_string());
    }
    for r in ["valid", "expired", "revoked", "wrong_use", "not_yet_valid"] {
        assert!(reasons.contains(r), "no vector for {r}: {reasons:?}");
    }
}

/// The independent PS256 and ES384 keys also work given as a bare SPKI or JWK (and the ES384
/// certificate as DER), and a changed payload fails.
#[test]
fn independent_vectors_with_bare_keys() {
    for (stem, alg) in [
        ("ps256-hcert", exitentry_credentials::Alg::Ps256),
        ("es384-hcert", exitentry_credentials::Alg::Es384),
    ] {
        independent_vector(stem, alg);
    }
}

fn independent_vector(stem: &str, alg: exitentry_credentials::Alg) {
    let file = |ext: &str| format!("{stem}.{ext}");
    let spec: Value = serde_json::from_str(&read(&file("expected.json"))).unwrap();
    let payload = read(&file("payload.txt"));
    let options = VerifyOptions {
        prefix: "HC1:",
        ..VerifyOptions::at(spec["at"].as_i64().unwrap())
    };
    let mut spki = TrustStore::new();
    spki.add_spki(read(&file("spki.pem")).as_bytes()).unwrap();
    let mut jwk = TrustStore::new();
    jwk.add_jwk(&read(&file("jwk.json"))).unwrap();
    let mut stores = vec![spki, jwk];
    if let Ok(der) = std::fs::read(dir().join(file("cert.der"))) {
        let mut from_der = TrustStore::new();
        from_der.add_cert_der(&der).unwrap();
        stores.push(from_der);
    }
    for trust in &stores {
        let verdict = verify(&payload, trust, &options);
        assert!(verdict.valid, "{stem}: {verdict:?}");
        assert_eq!(verdict.kind, CredentialKind::Unknown);
    }
    let mut cert = TrustStore::new();
    cert.add_cert_pem(&read(&file("cert.pem"))).unwrap();
    let decoded = exitentry_credentials::decode(&payload, "HC1:").unwrap();
    assert_eq!(decoded.alg, Some(alg));
    assert_eq!(
        cert.kids(),
        vec![decoded.kid.unwrap()],
        "kid = SHA-256(cert)[..8] on both sides"
    );

    // Change one signature byte inside the COSE structure and re-encode.
    let mut cose = decoded.clone();
    cose.signature[0] ^= 0x01;
    let bytes = common::sign1_bytes(cose.protected_header, cose.payload, cose.signature);
    let changed = exitentry_credentials::encode_envelope(&bytes, "HC1:");
    assert_eq!(
        verify(&changed, &cert, &options).reason,
        Reason::BadSignature
    );
}

/// Builds the ES256/EdDSA vectors with fresh keys and checks every expected verdict. It
/// writes into a temporary folder (or `EXITENTRY_VECTORS_OUT`); `EXITENTRY_REGENERATE_VECTORS=1 cargo test -p
/// exitentry-credentials --test vectors generate` rewrites tests/vectors (review, commit).
#[test]
fn generate_vectors() {
    let temp = tempfile::tempdir().unwrap();
    // EXITENTRY_VECTORS_OUT keeps a fresh set for other verifiers (the browser's node test).
    let out = if std::env::var("EXITENTRY_REGENERATE_VECTORS").as_deref() == Ok("1") {
        dir()
    } else if let Ok(keep) = std::env::var("EXITENTRY_VECTORS_OUT") {
        std::fs::create_dir_all(&keep).unwrap();
        PathBuf::from(keep)
    } else {
        temp.path().to_path_buf()
    };
    let write = |name: &str, content: &str| std::fs::write(out.join(name), content).unwrap();
    let pki = Pki::new();
    let es = pki.key(exitentry_credentials::Alg::Es256);
    let ed = pki.key(exitentry_credentials::Alg::EdDsa);
    write("root.pem", &pki.root.cert_pem());
    write("signer-es256.pem", &pki.es256.cert_pem());
    write("signer-eddsa.pem", &pki.eddsa.cert_pem());
    let trust_list = sign_trust_list(
        1,
        T0,
        &[pki.es256.cert_der.clone(), pki.eddsa.cert_der.clone()],
        &pki.root.to_signing_key().unwrap(),
    )
    .unwrap();
    write("trust-list.json", &(trust_list + "\n"));
    let mut status = StatusList::new(1024);
    status.issued_at = T0 + 3600;
    status.set(7).unwrap();
    write(
        "status-list.json",
        &(sign_status_list(&status, &es).unwrap() + "\n"),
    );

    let permit = issue(&es, &permit_claims(), "EE1:").unwrap();
    write("es256-permit.payload.txt", &(permit + "\n"));
    let mut linkage = permit_claims();
    linkage.cti = b"LP-2026-000001".to_vec();
    linkage.exp = T0 + 30 * DAY;
    linkage.body = Some(exitentry_credentials::CredentialBody {
        kind: CredentialKind::LinkageProof,
        holder_name_zh: None,
        holder_name_latin: "WONG SIU MING".into(),
        permitted_uses: vec!["document_linkage".into()],
        status_index: 8,
        linked_document_number: None,
        ..permit_body()
    });
    write(
        "eddsa-linkage.payload.txt",
        &(issue(&ed, &linkage, "EE1:").unwrap() + "\n"),
    );
    let mut revoked = permit_claims();
    revoked.cti = b"TP-2026-000007".to_vec();
    revoked.body.as_mut().unwrap().status_index = 7;
    write(
        "es256-revoked.payload.txt",
        &(issue(&es, &revoked, "EE1:").unwrap() + "\n"),
    );
    let mut foreign = permit_claims();
    foreign.body = None;
    foreign.iss = "XX".into();
    write(
        "es256-no-body.payload.txt",
        &(issue(&es, &foreign, "EE1:").unwrap() + "\n"),
    );

    let h = 3600;
    let cases = [
        (
            "es256-permit",
            "es256-permit.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 + 2 * h,
            Some("domestic_flight"),
            "valid",
        ),
        (
            "es256-permit-expired",
            "es256-permit.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 + 8 * DAY,
            None,
            "expired",
        ),
        (
            "es256-permit-not-yet-valid",
            "es256-permit.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 - h,
            None,
            "not_yet_valid",
        ),
        (
            "es256-permit-border",
            "es256-permit.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 + 2 * h,
            Some("border"),
            "wrong_use",
        ),
        (
            "es256-permit-trust-list",
            "es256-permit.payload.txt",
            json!({"trust_list": "trust-list.json", "pinned_root": "root.pem", "status_list": "status-list.json", "status_max_age": DAY}),
            T0 + 2 * h,
            Some("domestic_rail"),
            "valid",
        ),
        (
            "es256-revoked",
            "es256-revoked.payload.txt",
            json!({"trust_list": "trust-list.json", "pinned_root": "root.pem", "status_list": "status-list.json", "status_max_age": DAY}),
            T0 + 2 * h,
            Some("domestic_flight"),
            "revoked",
        ),
        (
            "eddsa-linkage",
            "eddsa-linkage.payload.txt",
            json!({"cert": "signer-eddsa.pem"}),
            T0 + 2 * h,
            None,
            "valid",
        ),
        (
            "eddsa-linkage-wrong-cert",
            "eddsa-linkage.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 + 2 * h,
            None,
            "unknown_signer",
        ),
        (
            "es256-no-body",
            "es256-no-body.payload.txt",
            json!({"cert": "signer-es256.pem"}),
            T0 + 2 * h,
            Some("domestic_flight"),
            "valid",
        ),
    ];
    for (name, payload, keys, at, use_, want) in cases {
        let mut spec = json!({"payload": payload, "prefix": "EE1:", "at": at, "use": use_});
        for (k, v) in keys.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let verdict = run_in(&out, &spec);
        assert_eq!(verdict["reason"], want, "{name}: {verdict}");
        spec["verdict"] = verdict;
        write(
            &format!("{name}.expected.json"),
            &(serde_json::to_string_pretty(&spec).unwrap() + "\n"),
        );
    }
}
