//! Trust list and status list: sign, open, and every tampering refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{DAY, Pki, T0, permit_claims};
use exitentry_credentials::{
    Alg, DEFAULT_PREFIX, Reason, STATUS_LIST_FORMAT, StatusList, TRUST_LIST_FORMAT, TrustStore,
    VerifyOptions, generate_root, generate_signer, issue, open_status_list, open_trust_list,
    sign_status_list, sign_trust_list, verify,
};
use serde_json::Value;

/// Applies `f` to the parsed document and serializes it back (the signature untouched).
fn tamper(doc: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(doc).unwrap();
    f(&mut v);
    serde_json::to_string(&v).unwrap()
}

#[test]
fn trust_list_round_trip_for_es256_and_ed25519_roots() {
    for root_alg in [Alg::Es256, Alg::EdDsa] {
        let root = generate_root("Root", root_alg, T0 - DAY, T0 + 3650 * DAY).unwrap();
        let s1 = generate_signer(&root, "DS 1", Alg::Es256, T0 - DAY, T0 + 365 * DAY).unwrap();
        let s2 = generate_signer(&root, "DS 2", Alg::EdDsa, T0 - DAY, T0 + 365 * DAY).unwrap();
        let root_key = root.to_signing_key().unwrap();
        let doc = sign_trust_list(
            7,
            T0,
            &[s1.cert_der.clone(), s2.cert_der.clone()],
            &root_key,
        )
        .unwrap();

        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["format"], TRUST_LIST_FORMAT);
        assert_eq!(v["signers"][0]["kid"], hex::encode(s1.kid()));

        for pin in [None, Some(root.cert_der.as_slice())] {
            let (store, info) = open_trust_list(&doc, pin).unwrap();
            assert_eq!(info.version, 7);
            assert_eq!(info.issued_at, T0);
            assert_eq!(
                info.signer_kids,
                vec![hex::encode(s1.kid()), hex::encode(s2.kid())]
            );
            assert_eq!(info.root_fingerprint.len(), 64);
            let mut kids = vec![s1.kid(), s2.kid()];
            kids.sort();
            assert_eq!(store.kids(), kids, "the root itself is not a signer");
            for signer in [&s1, &s2] {
                let payload = issue(
                    &signer.to_signing_key().unwrap(),
                    &permit_claims(),
                    DEFAULT_PREFIX,
                )
                .unwrap();
                assert!(
                    verify(&payload, &store, &VerifyOptions::at(T0)).valid,
                    "{root_alg}"
                );
            }
            // A credential signed by the root key itself is not trusted.
            let by_root = issue(&root_key, &permit_claims(), DEFAULT_PREFIX).unwrap();
            assert_eq!(
                verify(&by_root, &store, &VerifyOptions::at(T0)).reason,
                Reason::UnknownSigner
            );
        }
    }
}

#[test]
fn trust_list_tampering_is_refused() {
    let pki = Pki::new();
    let root_key = pki.root.to_signing_key().unwrap();
    let signers = [pki.es256.cert_der.clone(), pki.eddsa.cert_der.clone()];
    let doc = sign_trust_list(3, T0, &signers, &root_key).unwrap();
    let other_root = generate_root("Other Root", Alg::Es256, T0 - DAY, T0 + 3650 * DAY).unwrap();
    let foreign = generate_signer(
        &other_root,
        "Foreign DS",
        Alg::Es256,
        T0 - DAY,
        T0 + 365 * DAY,
    )
    .unwrap();
    let foreign_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&foreign.cert_der)
    };
    // A list made by another root: consistent in itself, so only a pin can refuse it.
    let impostor = sign_trust_list(
        4,
        T0,
        std::slice::from_ref(&foreign.cert_der),
        &other_root.to_signing_key().unwrap(),
    )
    .unwrap();

    let pin = Some(pki.root.cert_der.as_slice());
    let cases: Vec<(&str, String, Option<&[u8]>)> = vec![
        (
            "version raised",
            tamper(&doc, |v| v["version"] = 4.into()),
            None,
        ),
        (
            "issued_at moved",
            tamper(&doc, |v| v["issued_at"] = (T0 + 1).into()),
            None,
        ),
        (
            "signer removed",
            tamper(&doc, |v| {
                v["signers"].as_array_mut().unwrap().pop();
            }),
            None,
        ),
        (
            "foreign signer added",
            tamper(&doc, |v| {
                v["signers"].as_array_mut().unwrap().push(
                    serde_json::json!({"kid": hex::encode(foreign.kid()), "cert": foreign_b64}),
                )
            }),
            None,
        ),
        (
            "kid changed",
            tamper(&doc, |v| {
                v["signers"][0]["kid"] = hex::encode([0u8; 8]).into()
            }),
            None,
        ),
        (
            "format changed",
            tamper(&doc, |v| v["format"] = "exitentry-trust-list/2".into()),
            None,
        ),
        (
            "signature dropped",
            tamper(&doc, |v| {
                v.as_object_mut().unwrap().remove("signature");
            }),
            None,
        ),
        (
            "signature garbage",
            tamper(&doc, |v| v["signature"] = "AAAA".into()),
            None,
        ),
        (
            "root swapped",
            tamper(&doc, |v| v["root_cert"] = impostor_root(&impostor)),
            None,
        ),
        ("impostor list, pinned", impostor.clone(), pin),
        (
            "pinned root differs",
            doc.clone(),
            Some(other_root.cert_der.as_slice()),
        ),
        ("not json", "{".into(), None),
        ("empty", String::new(), None),
    ];
    for (name, text, pin) in cases {
        assert_eq!(
            open_trust_list(&text, pin).err(),
            Some(Reason::BadTrustList),
            "{name}"
        );
    }
    assert!(
        open_trust_list(&impostor, None).is_ok(),
        "unpinned: self-consistent list opens"
    );
    assert!(open_trust_list(&doc, pin).is_ok());

    // The issuer refuses to publish a signer of another root.
    let err =
        sign_trust_list(5, T0, std::slice::from_ref(&foreign.cert_der), &root_key).unwrap_err();
    assert_eq!(err.code, "bad_certificate");
    // And a signer key cannot pose as the root (its certificate is not self-signed).
    let err = sign_trust_list(5, T0, &signers, &pki.key(Alg::Es256)).unwrap_err();
    assert_eq!(err.code, "bad_certificate");
}

fn impostor_root(impostor: &str) -> Value {
    let v: Value = serde_json::from_str(impostor).unwrap();
    v["root_cert"].clone()
}

#[test]
fn status_list_round_trip_and_revocation() {
    let pki = Pki::new();
    let trust = pki.trust();
    for (_, key) in pki.signers() {
        let mut list = StatusList::new(100_000);
        list.issued_at = T0;
        list.set(42).unwrap();
        list.set(99_999).unwrap();
        let doc = sign_status_list(&list, &key).unwrap();
        assert!(doc.len() < 2_000, "compressed: {} bytes", doc.len());
        let v: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["format"], STATUS_LIST_FORMAT);
        assert_eq!(v["kid"], hex::encode(key.kid()));

        let opened = open_status_list(&doc, &trust, T0 + 60, 3600).unwrap();
        assert_eq!(opened, list);
        assert!(opened.is_set(42) && opened.is_set(99_999) && !opened.is_set(43));

        let payload = issue(&pki.key(Alg::Es256), &permit_claims(), DEFAULT_PREFIX).unwrap();
        let verdict = verify(
            &payload,
            &trust,
            &VerifyOptions {
                status: Some(&opened),
                ..VerifyOptions::at(T0)
            },
        );
        assert_eq!(verdict.reason, Reason::Revoked);
    }
}

#[test]
fn status_list_refusals() {
    let pki = Pki::new();
    let trust = pki.trust();
    let mut list = StatusList::new(64);
    list.issued_at = T0;
    list.set(3).unwrap();
    let doc = sign_status_list(&list, &pki.key(Alg::Es256)).unwrap();
    let mut only_eddsa = TrustStore::new();
    only_eddsa.add_cert_der(&pki.eddsa.cert_der).unwrap();
    let other_bits = {
        let mut other = list.clone();
        other.clear(3);
        let other_doc = sign_status_list(&other, &pki.key(Alg::Es256)).unwrap();
        let v: Value = serde_json::from_str(&other_doc).unwrap();
        v["bits"].clone()
    };

    assert_eq!(
        open_status_list(&doc, &trust, T0 + 3600, 3600).unwrap(),
        list,
        "at the limit"
    );
    let cases: Vec<(&str, String, &TrustStore, i64, Reason)> = vec![
        (
            "too old",
            doc.clone(),
            &trust,
            T0 + 3601,
            Reason::StaleStatusList,
        ),
        (
            "signer not trusted",
            doc.clone(),
            &only_eddsa,
            T0,
            Reason::BadStatusList,
        ),
        (
            "bits replaced (un-revoked)",
            tamper(&doc, |v| v["bits"] = other_bits.clone()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        (
            "issued_at refreshed",
            tamper(&doc, |v| v["issued_at"] = (T0 + 10 * DAY).into()),
            &trust,
            T0 + 10 * DAY,
            Reason::BadStatusList,
        ),
        (
            "size shrunk",
            tamper(&doc, |v| v["size"] = 2.into()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        (
            "kid changed",
            tamper(&doc, |v| v["kid"] = "00".into()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        (
            "signature garbage",
            tamper(&doc, |v| v["signature"] = "!!".into()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        (
            "format",
            tamper(&doc, |v| v["format"] = "x".into()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        (
            "huge size",
            tamper(&doc, |v| v["size"] = u64::MAX.into()),
            &trust,
            T0,
            Reason::BadStatusList,
        ),
        ("not json", "nope".into(), &trust, T0, Reason::BadStatusList),
    ];
    for (name, text, trust, at, expected) in cases {
        assert_eq!(
            open_status_list(&text, trust, at, 3600).err(),
            Some(expected),
            "{name}"
        );
    }
}
