//! Issue → verify round trips, one dedicated case per reason code, header rules (kid
//! placement, tags) and key inputs (certificate PEM/DER, SPKI, JWK).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ciborium::Value;
use common::{DAY, Pki, T0, permit_claims};
use coset::{
    CborSerializable, CoseSign1Builder, Header, HeaderBuilder, TaggedCborSerializable, iana,
};
use der::Encode;
use exitentry_credentials::{
    Alg, CredentialKind, DEFAULT_PREFIX, Reason, SigningKey, StatusList, TrustStore, VerifyOptions,
    claims_to_cbor, decode, encode_envelope, issue, verify,
};

fn opts(at: i64) -> VerifyOptions<'static> {
    VerifyOptions::at(at)
}

#[test]
fn round_trip_every_signing_algorithm() {
    let pki = Pki::new();
    let trust = pki.trust();
    for (alg, key) in pki.signers() {
        let claims = permit_claims();
        let payload = issue(&key, &claims, DEFAULT_PREFIX).unwrap();
        assert!(payload.starts_with("EE1:"), "{payload}");
        assert!(
            payload[4..]
                .bytes()
                .all(|c| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&c)),
            "QR alphanumeric only"
        );
        let verdict = verify(
            &payload,
            &trust,
            &VerifyOptions {
                required_use: Some("domestic_rail"),
                ..opts(T0 + 3600)
            },
        );
        assert!(verdict.valid, "{alg}: {verdict:?}");
        assert_eq!(verdict.reason, Reason::Valid);
        assert_eq!(verdict.kind, CredentialKind::TemporaryPermit);
        assert_eq!(verdict.claims.as_ref(), Some(&claims));
        assert_eq!(verdict.valid_until, Some(T0 + 7 * DAY));

        let decoded = decode(&payload, DEFAULT_PREFIX).unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.kid, Some(key.kid()));
        assert!(decoded.kid_in_protected_header);
        assert_eq!(decoded.alg, Some(alg));
        assert!(decoded.cose_tagged && !decoded.cwt_tagged);
        let json = serde_json::to_value(&decoded).unwrap();
        assert_eq!(json["kid"], hex::encode(key.kid()));
        assert_eq!(json["claims"]["cti"], hex::encode(b"TP-2026-000042"));
    }
}

#[test]
fn custom_prefix() {
    let pki = Pki::new();
    let payload = issue(&pki.key(Alg::Es256), &permit_claims(), "HC1:").unwrap();
    let trust = pki.trust();
    assert!(
        verify(
            &payload,
            &trust,
            &VerifyOptions {
                prefix: "HC1:",
                ..opts(T0)
            }
        )
        .valid
    );
    assert_eq!(
        verify(&payload, &trust, &opts(T0)).reason,
        Reason::BadPrefix
    );
}

/// Builds a COSE_Sign1 by hand so tests control headers and tags.
enum Wrap {
    Untagged,
    Cose,
    CwtAroundCose,
}

fn custom(
    key: &SigningKey,
    protected: Header,
    unprotected: Header,
    payload: Vec<u8>,
    wrap: Wrap,
) -> String {
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected)
        .payload(payload)
        .create_signature(b"", |tbs| key.sign(tbs).unwrap())
        .build();
    let bytes = match wrap {
        Wrap::Untagged => sign1.to_vec().unwrap(),
        Wrap::Cose => sign1.to_tagged_vec().unwrap(),
        Wrap::CwtAroundCose => {
            let inner: Value =
                ciborium::de::from_reader(sign1.to_tagged_vec().unwrap().as_slice()).unwrap();
            let mut out = Vec::new();
            ciborium::ser::into_writer(&Value::Tag(61, Box::new(inner)), &mut out).unwrap();
            out
        }
    };
    encode_envelope(&bytes, DEFAULT_PREFIX)
}

fn es256_header(kid: &[u8]) -> Header {
    HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.to_vec())
        .build()
}

fn claims_cbor() -> Vec<u8> {
    claims_to_cbor(&permit_claims()).unwrap()
}

/// One case per reason the credential verifier can give.
#[test]
fn each_reason_has_a_case() {
    let pki = Pki::new();
    let es = pki.key(Alg::Es256);
    let ed = pki.key(Alg::EdDsa);
    let trust = pki.trust();
    let good = issue(&es, &permit_claims(), DEFAULT_PREFIX).unwrap();
    let body = &good[DEFAULT_PREFIX.len()..];

    let mut revoked_list = StatusList::new(100);
    revoked_list.set(42).unwrap();
    let mut other_list = StatusList::new(100);
    other_list.set(41).unwrap();

    let mut no_body = permit_claims();
    no_body.body = None;
    let unknown_kind = issue(&es, &no_body, DEFAULT_PREFIX).unwrap();

    let mut only_eddsa = TrustStore::new();
    only_eddsa.add_cert_der(&pki.eddsa.cert_der).unwrap();

    // Signed by the EdDSA key, but claiming the ES256 signer's kid.
    let mut forged_header = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(es.kid().to_vec())
        .build();
    let forged = custom(
        &ed,
        forged_header.clone(),
        Header::default(),
        claims_cbor(),
        Wrap::Cose,
    );
    forged_header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES256));
    let forged_es = custom(
        &ed,
        forged_header,
        Header::default(),
        claims_cbor(),
        Wrap::Cose,
    );

    // The same COSE_Sign1 with one signature bit flipped.
    let sign1 = {
        let cose = decode(&good, DEFAULT_PREFIX).unwrap();
        let mut sig = cose.signature.clone();
        sig[10] ^= 1;
        encode_envelope(
            &common::sign1_bytes(cose.protected_header, cose.payload, sig),
            DEFAULT_PREFIX,
        )
    };

    let with_alg = |alg| {
        custom(
            &es,
            HeaderBuilder::new()
                .algorithm(alg)
                .key_id(es.kid().to_vec())
                .build(),
            Header::default(),
            claims_cbor(),
            Wrap::Cose,
        )
    };
    let es512 = with_alg(iana::Algorithm::ES512);
    // ES384 is known, but the P-256 key named by the kid cannot have made it.
    let es384_by_p256 = with_alg(iana::Algorithm::ES384);
    let not_claims = custom(
        &es,
        es256_header(&es.kid()),
        Header::default(),
        b"\x63abc".to_vec(),
        Wrap::Cose,
    );

    let empty = TrustStore::new();
    let mut dangling = body.to_string();
    while dangling.len() % 3 != 1 {
        dangling.push('0');
    }
    let mut lower = body.to_string();
    lower.replace_range(5..6, "a");
    let cases: Vec<(&str, String, VerifyOptions, &TrustStore, Reason)> = vec![
        ("valid", good.clone(), opts(T0), &trust, Reason::Valid),
        (
            "other prefix",
            format!("HC1:{body}"),
            opts(T0),
            &trust,
            Reason::BadPrefix,
        ),
        (
            "no prefix",
            body.to_string(),
            opts(T0),
            &trust,
            Reason::BadPrefix,
        ),
        (
            "lowercase char",
            format!("EE1:{lower}"),
            opts(T0),
            &trust,
            Reason::BadBase45,
        ),
        (
            "dangling char",
            format!("EE1:{dangling}"),
            opts(T0),
            &trust,
            Reason::BadBase45,
        ),
        ("empty", "EE1:".into(), opts(T0), &trust, Reason::BadBase45),
        (
            "not zlib",
            format!("EE1:{}", base45::encode(b"hello, world")),
            opts(T0),
            &trust,
            Reason::BadCompression,
        ),
        (
            "truncated zlib",
            format!(
                "EE1:{}",
                base45::encode(&base45::decode(body).unwrap()[..40])
            ),
            opts(T0),
            &trust,
            Reason::BadCompression,
        ),
        (
            "garbage cose",
            encode_envelope(b"\xa1\x01\x02", DEFAULT_PREFIX),
            opts(T0),
            &trust,
            Reason::BadCose,
        ),
        (
            "not cbor",
            encode_envelope(b"\xff\xff", DEFAULT_PREFIX),
            opts(T0),
            &trust,
            Reason::BadCose,
        ),
        ("unsupported alg", es512, opts(T0), &trust, Reason::BadCose),
        (
            "alg of another key type",
            es384_by_p256,
            opts(T0),
            &trust,
            Reason::BadSignature,
        ),
        (
            "payload not claims",
            not_claims,
            opts(T0),
            &trust,
            Reason::BadClaims,
        ),
        (
            "unknown kid",
            good.clone(),
            opts(T0),
            &only_eddsa,
            Reason::UnknownSigner,
        ),
        (
            "empty trust",
            good.clone(),
            opts(T0),
            &empty,
            Reason::UnknownSigner,
        ),
        (
            "another key's signature",
            forged,
            opts(T0),
            &trust,
            Reason::BadSignature,
        ),
        (
            "another key, alg rewritten",
            forged_es,
            opts(T0),
            &trust,
            Reason::BadSignature,
        ),
        (
            "flipped signature bit",
            sign1,
            opts(T0),
            &trust,
            Reason::BadSignature,
        ),
        (
            "nbf in the future",
            good.clone(),
            opts(T0 - 301),
            &trust,
            Reason::NotYetValid,
        ),
        (
            "nbf within skew",
            good.clone(),
            opts(T0 - 300),
            &trust,
            Reason::Valid,
        ),
        (
            "no skew",
            good.clone(),
            VerifyOptions {
                clock_skew_secs: 0,
                ..opts(T0 - 1)
            },
            &trust,
            Reason::NotYetValid,
        ),
        (
            "expired",
            good.clone(),
            opts(T0 + 7 * DAY + 300),
            &trust,
            Reason::Expired,
        ),
        (
            "exp within skew",
            good.clone(),
            opts(T0 + 7 * DAY + 299),
            &trust,
            Reason::Valid,
        ),
        (
            "revoked",
            good.clone(),
            VerifyOptions {
                status: Some(&revoked_list),
                ..opts(T0)
            },
            &trust,
            Reason::Revoked,
        ),
        (
            "other index revoked",
            good.clone(),
            VerifyOptions {
                status: Some(&other_list),
                ..opts(T0)
            },
            &trust,
            Reason::Valid,
        ),
        (
            "wrong use",
            good.clone(),
            VerifyOptions {
                required_use: Some("border"),
                ..opts(T0)
            },
            &trust,
            Reason::WrongUse,
        ),
        (
            "right use",
            good.clone(),
            VerifyOptions {
                required_use: Some("domestic_flight"),
                ..opts(T0)
            },
            &trust,
            Reason::Valid,
        ),
        (
            "revoked beats wrong use",
            good.clone(),
            VerifyOptions {
                required_use: Some("border"),
                status: Some(&revoked_list),
                ..opts(T0)
            },
            &trust,
            Reason::Revoked,
        ),
        (
            "unknown kind valid",
            unknown_kind.clone(),
            VerifyOptions {
                required_use: Some("border"),
                status: Some(&revoked_list),
                ..opts(T0)
            },
            &trust,
            Reason::Valid,
        ),
        (
            "unknown kind still expires",
            unknown_kind,
            opts(T0 + 8 * DAY),
            &trust,
            Reason::Expired,
        ),
    ];
    for (name, payload, options, trust, expected) in cases {
        let verdict = verify(&payload, trust, &options);
        assert_eq!(verdict.reason, expected, "{name}: {verdict:?}");
        assert_eq!(verdict.valid, expected == Reason::Valid, "{name}");
        // Claims only once the signature verified.
        let authentic = matches!(
            expected,
            Reason::Valid
                | Reason::NotYetValid
                | Reason::Expired
                | Reason::Revoked
                | Reason::WrongUse
        );
        assert_eq!(verdict.claims.is_some(), authentic, "{name}");
    }

    let unknown = verify(
        &issue(&es, &no_body, DEFAULT_PREFIX).unwrap(),
        &trust,
        &opts(T0),
    );
    assert_eq!(unknown.kind, CredentialKind::Unknown);
    let json = serde_json::to_value(&unknown).unwrap();
    assert_eq!(json["reason"], "valid");
    assert_eq!(json["kind"], "unknown");
    assert_eq!(json["claims"]["body"], serde_json::Value::Null);
}

#[test]
fn protected_kid_wins_over_unprotected() {
    let pki = Pki::new();
    let es = pki.key(Alg::Es256);
    let trust = pki.trust();
    let eddsa_kid = pki.eddsa.kid();
    let unknown_kid = [9u8; 8];
    let unprot = |kid: &[u8]| HeaderBuilder::new().key_id(kid.to_vec()).build();
    let alg_only = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .build();
    let cases = [
        (
            "protected right, unprotected unknown",
            es256_header(&es.kid()),
            unprot(&unknown_kid),
            Reason::Valid,
        ),
        (
            "protected unknown, unprotected right",
            es256_header(&unknown_kid),
            unprot(&es.kid()),
            Reason::UnknownSigner,
        ),
        (
            "protected other signer, unprotected right",
            es256_header(&eddsa_kid),
            unprot(&es.kid()),
            Reason::BadSignature,
        ),
        (
            "only unprotected (HCERT style)",
            alg_only,
            unprot(&es.kid()),
            Reason::Valid,
        ),
    ];
    for (name, protected, unprotected, expected) in cases {
        let payload = custom(&es, protected, unprotected, claims_cbor(), Wrap::Cose);
        assert_eq!(
            verify(&payload, &trust, &opts(T0)).reason,
            expected,
            "{name}"
        );
    }
    let payload = custom(
        &es,
        es256_header(&es.kid()),
        unprot(&unknown_kid),
        claims_cbor(),
        Wrap::Cose,
    );
    let decoded = decode(&payload, DEFAULT_PREFIX).unwrap();
    assert_eq!(decoded.kid, Some(es.kid()));
    assert!(decoded.kid_in_protected_header);
}

#[test]
fn cwt_tag_and_untagged_are_accepted() {
    let pki = Pki::new();
    let es = pki.key(Alg::Es256);
    let trust = pki.trust();
    for (name, wrap, cwt, cose) in [
        ("cwt around cose", Wrap::CwtAroundCose, true, true),
        ("cose tag", Wrap::Cose, false, true),
        ("untagged", Wrap::Untagged, false, false),
    ] {
        let payload = custom(
            &es,
            es256_header(&es.kid()),
            Header::default(),
            claims_cbor(),
            wrap,
        );
        let verdict = verify(&payload, &trust, &opts(T0));
        assert!(verdict.valid, "{name}: {verdict:?}");
        let decoded = decode(&payload, DEFAULT_PREFIX).unwrap();
        assert_eq!(
            (decoded.cwt_tagged, decoded.cose_tagged),
            (cwt, cose),
            "{name}"
        );
    }
}

/// HCERT issuers compress; the verifier takes compressed streams as well as our stored ones.
#[test]
fn compressed_payloads_are_accepted() {
    use std::io::Write;
    let pki = Pki::new();
    let es = pki.key(Alg::Es256);
    let ours = issue(&es, &permit_claims(), DEFAULT_PREFIX).unwrap();
    let decoded = decode(&ours, DEFAULT_PREFIX).unwrap();
    let cose = common::sign1_bytes(decoded.protected_header, decoded.payload, decoded.signature);
    for level in [1, 6, 9] {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        z.write_all(&cose).unwrap();
        let text = format!("EE1:{}", base45::encode(z.finish().unwrap()));
        assert!(text.len() < ours.len(), "level {level} is smaller");
        assert!(
            verify(&text, &pki.trust(), &opts(T0)).valid,
            "level {level}"
        );
    }
}

#[test]
fn issue_refuses_bad_claims() {
    let pki = Pki::new();
    let es = pki.key(Alg::Es256);
    let mut cases = Vec::new();
    let mut c = permit_claims();
    c.exp = c.nbf;
    cases.push(("exp not after nbf", c));
    let mut c = permit_claims();
    c.body.as_mut().unwrap().sex = "X".into();
    cases.push(("sex", c));
    let mut c = permit_claims();
    c.body.as_mut().unwrap().date_of_birth = "03/02/1990".into();
    cases.push(("date", c));
    let mut c = permit_claims();
    c.body.as_mut().unwrap().kind = CredentialKind::Unknown;
    cases.push(("unknown kind", c));
    for (name, claims) in cases {
        assert_eq!(
            issue(&es, &claims, DEFAULT_PREFIX).unwrap_err().code,
            "bad_claims",
            "{name}"
        );
    }
}

/// Certificates (DER and PEM), bare SPKI keys (DER and PEM, any kid) and JWKs.
#[test]
fn key_inputs() {
    let pki = Pki::new();
    for (alg, generated) in [
        (Alg::Es256, &pki.es256),
        (Alg::Es384, &pki.es384),
        (Alg::EdDsa, &pki.eddsa),
    ] {
        let key = pki.key(alg);
        let payload = issue(&key, &permit_claims(), DEFAULT_PREFIX).unwrap();
        let check = |trust: &TrustStore, expected: Reason, what: &str| {
            assert_eq!(
                verify(&payload, trust, &opts(T0)).reason,
                expected,
                "{alg} {what}"
            );
        };

        let mut t = TrustStore::new();
        assert_eq!(t.add_cert_pem(&generated.cert_pem()).unwrap(), key.kid());
        assert_eq!(t.kids(), vec![key.kid()]);
        assert_eq!(t.cert_der(&key.kid()), Some(generated.cert_der.as_slice()));
        check(&t, Reason::Valid, "cert pem");

        let spki_der = spki_of(&generated.cert_der);
        let mut t = TrustStore::new();
        t.add_spki(&spki_der).unwrap();
        check(&t, Reason::Valid, "spki der (kid ignored)");

        let pem = pem_of("PUBLIC KEY", &spki_der);
        let mut t = TrustStore::new();
        t.add_spki(pem.as_bytes()).unwrap();
        check(&t, Reason::Valid, "spki pem");

        let jwk = match alg {
            Alg::Es256 | Alg::Es384 => {
                let p = key.public_key();
                let (crv, size) = if alg == Alg::Es384 {
                    ("P-384", 48)
                } else {
                    ("P-256", 32)
                };
                serde_json::json!({"kty": "EC", "crv": crv, "x": URL_SAFE_NO_PAD.encode(&p[1..=size]), "y": URL_SAFE_NO_PAD.encode(&p[size + 1..])})
            }
            _ => {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.public_key())})
            }
        };
        let mut t = TrustStore::new();
        t.add_jwk(&jwk.to_string()).unwrap();
        check(&t, Reason::Valid, "jwk");

        // A bare key of the other signer is tried, and fails.
        let other = if alg == Alg::EdDsa {
            &pki.es256
        } else {
            &pki.eddsa
        };
        let other_spki = spki_of(&other.cert_der);
        let mut t = TrustStore::new();
        t.add_spki(&other_spki).unwrap();
        check(&t, Reason::BadSignature, "other bare key");
    }

    let mut t = TrustStore::new();
    let cases = [
        (
            "spki garbage",
            t.add_spki(b"garbage").unwrap_err().code,
            "bad_public_key",
        ),
        (
            "spki wrong pem label",
            t.add_spki(pki.root.cert_pem().as_bytes()).unwrap_err().code,
            "bad_pem",
        ),
        (
            "cert garbage",
            t.add_cert_der(b"garbage").unwrap_err().code,
            "bad_certificate",
        ),
        (
            "cert pem garbage",
            t.add_cert_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err()
                .code,
            "bad_certificate",
        ),
        ("jwk garbage", t.add_jwk("[]").unwrap_err().code, "bad_jwk"),
    ];
    for (name, got, want) in cases {
        assert_eq!(got, want, "{name}");
    }
    assert!(t.is_empty());
}

/// The SubjectPublicKeyInfo (DER) of a certificate: the signer's bare key.
fn spki_of(cert_der: &[u8]) -> Vec<u8> {
    <x509_cert::Certificate as der::Decode>::from_der(cert_der)
        .unwrap()
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

fn pem_of(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}
