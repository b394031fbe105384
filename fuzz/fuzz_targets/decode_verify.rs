//! `decode()` and `verify()` on arbitrary input. The first byte picks the layer the rest
//! lands in, so the fuzzer reaches every parser: 0 = the payload text as is, 1 = bytes
//! behind a correct prefix and base45, 2 = bytes behind correct prefix, base45 and zlib
//! (what the COSE and CBOR parsers see).
#![no_main]

use exitentry_credentials::{
    StatusList, TrustStore, VerifyOptions, decode, encode_envelope, open_status_list, verify,
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

mod vectors;

const AT: i64 = 1_767_232_800;

/// The test-vector signers, so seeds from the vectors get through signature checking to
/// the time, status and use rules.
static TRUST: LazyLock<(TrustStore, StatusList)> = LazyLock::new(|| {
    let mut trust = vectors::es256_trust();
    trust
        .add_cert_pem(include_str!(
            "../../crates/credentials/tests/vectors/signer-eddsa.pem"
        ))
        .unwrap();
    trust
        .add_spki(include_bytes!(
            "../../crates/credentials/tests/vectors/ps256-hcert.spki.pem"
        ))
        .unwrap();
    let status_doc = include_str!("../../crates/credentials/tests/vectors/status-list.json");
    let status = open_status_list(status_doc, &trust, AT, 86_400).unwrap();
    (trust, status)
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("EE1:{}", base45::encode(rest)),
        _ => encode_envelope(rest, "EE1:"),
    };
    let _ = decode(&text, "EE1:");
    let (trust, status) = &*TRUST;
    let options = VerifyOptions {
        required_use: Some("domestic_flight"),
        status: Some(status),
        ..VerifyOptions::at(AT)
    };
    let verdict = verify(&text, trust, &options);
    // The verdict is always consistent with itself.
    assert_eq!(
        verdict.valid,
        verdict.reason == exitentry_credentials::Reason::Valid
    );
});
