//! `open_trust_list()` and `open_status_list()` on arbitrary documents.
#![no_main]

use exitentry_credentials::{TrustStore, open_status_list, open_trust_list};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static TRUST: LazyLock<TrustStore> = LazyLock::new(|| {
    let mut trust = TrustStore::new();
    trust
        .add_cert_pem(include_str!(
            "../../crates/credentials/tests/vectors/signer-es256.pem"
        ))
        .unwrap();
    trust
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = open_trust_list(&text, None);
    let _ = open_status_list(&text, &TRUST, 1_767_232_800, 86_400);
});
