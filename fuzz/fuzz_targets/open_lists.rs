//! `open_trust_list()` and `open_status_list()` on arbitrary documents.
#![no_main]

use exitentry_credentials::{TrustStore, open_status_list, open_trust_list};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

mod vectors;

static TRUST: LazyLock<TrustStore> = LazyLock::new(vectors::es256_trust);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = open_trust_list(&text, None);
    let _ = open_status_list(&text, &TRUST, 1_767_232_800, 86_400);
});
