//! Damaged and re-packed variants of the fixed vectors, each with the verdict this crate
//! gives, for other verifiers to compare against: with `EXITENTRY_VECTORS_OUT` set the cases
//! are written there as `mutations.json` (the browser verifier's node test reads them; see
//! scripts/test). Payloads: characters changed, the COSE bytes changed and packed again,
//! compressed packing with flipped bits. Lists: characters of the trust and status list
//! documents changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_credentials::{
    TrustStore, VerifyOptions, encode_envelope, open_status_list, open_trust_list, verify,
};
use flate2::Compression;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.trim().as_bytes()).unwrap().1
}

/// The trust a vector names (a certificate, or the trust list with the pinned root) and its
/// opened status list.
fn keys(spec: &Value) -> (TrustStore, Option<exitentry_credentials::StatusList>) {
    let mut trust = TrustStore::new();
    if let Some(cert) = spec["cert"].as_str() {
        trust.add_cert_pem(&read(cert)).unwrap();
    }
    if let Some(list) = spec["trust_list"].as_str() {
        let pinned = pem_to_der(&read(spec["pinned_root"].as_str().unwrap()));
        trust = open_trust_list(&read(list), Some(&pinned)).unwrap().0;
    }
    let status = spec["status_list"].as_str().map(|s| {
        let max_age = spec["status_max_age"].as_i64().unwrap();
        open_status_list(&read(s), &trust, spec["at"].as_i64().unwrap(), max_age).unwrap()
    });
    (trust, status)
}

/// A small deterministic generator: the same cases on every run.
struct Lcg(u32);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (self.0 >> 8) as usize % n.max(1)
    }
}

const BASE45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The variants of one payload, named.
fn payload_cases(payload: &str, prefix: &str, rng: &mut Lcg) -> Vec<(String, String)> {
    let body = &payload[prefix.len()..];
    let mut cases = vec![
        ("as issued".to_string(), payload.to_string()),
        ("padded".into(), format!(" \t{payload}\r\n")),
        (
            "lower case".into(),
            format!("{prefix}{}", body.to_lowercase()),
        ),
        ("other prefix".into(), format!("XX1:{body}")),
        ("prefix only".into(), prefix.to_string()),
        (
            "one character short".into(),
            payload[..payload.len() - 1].to_string(),
        ),
        (
            "three characters short".into(),
            payload[..payload.len() - 3].to_string(),
        ),
    ];
    for _ in 0..24 {
        let mut text = body.as_bytes().to_vec();
        let at = rng.below(text.len());
        text[at] = BASE45[rng.below(45)];
        let text = String::from_utf8(text).unwrap();
        cases.push((format!("character {at} changed"), format!("{prefix}{text}")));
    }
    let compressed = base45::decode(body).unwrap();
    let mut cose = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut cose)
        .unwrap();
    for _ in 0..60 {
        let mut bytes = cose.clone();
        let at = rng.below(bytes.len());
        bytes[at] ^= [0x01, 0x02, 0x20, 0x40, 0x80, 0xff][rng.below(6)];
        cases.push((
            format!("COSE byte {at} changed"),
            encode_envelope(&bytes, prefix),
        ));
    }
    for _ in 0..10 {
        let mut bytes = cose.clone();
        let at = rng.below(bytes.len());
        bytes.insert(at, [0x00, 0x40, 0xa0, 0xf6, 0x18][rng.below(5)]);
        cases.push((
            format!("COSE byte added at {at}"),
            encode_envelope(&bytes, prefix),
        ));
        let mut bytes = cose.clone();
        let at = rng.below(bytes.len());
        bytes.remove(at);
        cases.push((
            format!("COSE byte {at} removed"),
            encode_envelope(&bytes, prefix),
        ));
    }
    let mut extra = cose.clone();
    extra.push(0x00);
    cases.push((
        "COSE with a trailing byte".into(),
        encode_envelope(&extra, prefix),
    ));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&cose).unwrap();
    let deflated = z.finish().unwrap();
    let pack = |bytes: &[u8]| format!("{prefix}{}", base45::encode(bytes));
    cases.push(("compressed".into(), pack(&deflated)));
    for _ in 0..20 {
        let mut bytes = deflated.clone();
        let at = rng.below(bytes.len());
        bytes[at] ^= 1 << rng.below(8);
        cases.push((format!("compressed bit flipped in byte {at}"), pack(&bytes)));
    }
    // The padding bits of the last deflate byte: ignored by a decoder, refused by us.
    for bit in 0..8 {
        let mut bytes = deflated.clone();
        let last = bytes.len() - 5;
        bytes[last] |= 0x80 >> bit;
        if bytes != deflated {
            cases.push((format!("compressed, padding bit {bit} set"), pack(&bytes)));
        }
    }
    let mut trailing = deflated.clone();
    trailing.push(0);
    cases.push(("compressed with a trailing byte".into(), pack(&trailing)));
    cases
}

/// The variants of one list document: characters changed (the JSON may break, or not).
fn document_cases(doc: &str, rng: &mut Lcg) -> Vec<(String, String)> {
    let compact = serde_json::to_string(&serde_json::from_str::<Value>(doc).unwrap()).unwrap();
    let mut cases = vec![
        ("as published".to_string(), doc.to_string()),
        ("compact".into(), compact),
    ];
    for _ in 0..40 {
        let mut text = doc.as_bytes().to_vec();
        let at = rng.below(text.len());
        let alphabet = b"0123456789abcdefABCDEF+/=\" ,:{}[]";
        text[at] = alphabet[rng.below(alphabet.len())];
        if let Ok(text) = String::from_utf8(text) {
            cases.push((format!("character {at} changed"), text));
        }
    }
    cases
}

fn outcome<T>(r: Result<T, exitentry_credentials::Reason>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(reason) => reason.code().into(),
    }
}

#[test]
fn mutations_for_other_verifiers() {
    let mut rng = Lcg(20_261_206);
    let mut payloads = Vec::new();
    for name in [
        "es256-permit-trust-list",
        "es256-revoked",
        "eddsa-linkage",
        "ps256-hcert",
    ] {
        let spec_name = format!("{name}.expected.json");
        let spec: Value = serde_json::from_str(&read(&spec_name)).unwrap();
        let (trust, status) = keys(&spec);
        let prefix = spec["prefix"].as_str().unwrap();
        let options = VerifyOptions {
            prefix,
            at: spec["at"].as_i64().unwrap(),
            required_use: spec["use"].as_str(),
            status: status.as_ref(),
            clock_skew_secs: 300,
        };
        let payload = read(spec["payload"].as_str().unwrap());
        for (case, text) in payload_cases(payload.trim_end(), prefix, &mut rng) {
            let verdict = serde_json::to_value(verify(&text, &trust, &options)).unwrap();
            if case == "as issued" || case == "padded" {
                assert_eq!(verdict, spec["verdict"], "{name} {case}");
            }
            payloads.push(
                json!({"spec": spec_name, "case": case, "payload": text, "verdict": verdict}),
            );
        }
    }
    let reasons: std::collections::BTreeSet<&str> = payloads
        .iter()
        .map(|c| c["verdict"]["reason"].as_str().unwrap())
        .collect();
    for r in [
        "bad_prefix",
        "bad_base45",
        "bad_compression",
        "bad_cose",
        "bad_signature",
    ] {
        assert!(
            reasons.contains(r),
            "no damaged case gives {r}: {reasons:?}"
        );
    }

    let pinned = pem_to_der(&read("root.pem"));
    let (trust, _) = open_trust_list(&read("trust-list.json"), Some(&pinned)).unwrap();
    let spec: Value = serde_json::from_str(&read("es256-revoked.expected.json")).unwrap();
    let (at, max_age) = (
        spec["at"].as_i64().unwrap(),
        spec["status_max_age"].as_i64().unwrap(),
    );
    let mut lists = Vec::new();
    for (case, doc) in document_cases(&read("trust-list.json"), &mut rng) {
        let result = outcome(open_trust_list(&doc, Some(&pinned)));
        lists.push(json!({"list": "trust", "case": case, "doc": doc, "result": result}));
    }
    for (case, doc) in document_cases(&read("status-list.json"), &mut rng) {
        let result = outcome(open_status_list(&doc, &trust, at, max_age));
        lists.push(json!({"list": "status", "case": case, "doc": doc, "at": at, "max_age": max_age, "result": result}));
    }
    let stale = outcome(open_status_list(
        &read("status-list.json"),
        &trust,
        at + max_age + 1,
        max_age,
    ));
    assert_eq!(stale, "stale_status_list");
    lists.push(json!({"list": "status", "case": "stale", "doc": read("status-list.json"), "at": at + max_age + 1, "max_age": max_age, "result": stale}));

    if let Ok(out) = std::env::var("EXITENTRY_VECTORS_OUT") {
        std::fs::create_dir_all(&out).unwrap();
        let all = json!({"payloads": payloads, "lists": lists});
        std::fs::write(Path::new(&out).join("mutations.json"), all.to_string()).unwrap();
    }
}
