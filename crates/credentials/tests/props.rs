//! Property tests: encode → decode round trip for arbitrary bodies; any single-character
//! change of a valid payload is refused; arbitrary and mutated input never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{DAY, Pki, T0};
use exitentry_credentials::{
    Alg, Claims, CredentialBody, CredentialKind, DEFAULT_PREFIX, SigningKey, TrustStore,
    VerifyOptions, decode, encode_envelope, issue, verify,
};
use proptest::prelude::*;
use std::io::Write;
use std::sync::LazyLock;

const BASE45: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

struct Fixture {
    es: SigningKey,
    ed: SigningKey,
    trust: TrustStore,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let pki = Pki::new();
    Fixture {
        es: pki.key(Alg::Es256),
        ed: pki.key(Alg::EdDsa),
        trust: pki.trust(),
    }
});

fn body() -> impl Strategy<Value = CredentialBody> {
    (
        prop_oneof![
            Just(CredentialKind::TemporaryPermit),
            Just(CredentialKind::LinkageProof)
        ],
        proptest::option::of("\\PC{0,12}"),
        "[A-Z][A-Z ,'-]{0,40}",
        (1900u32..2100, 1u32..=12, 1u32..=28),
        prop_oneof![Just("M"), Just("F")],
        "[a-z_]{1,16}",
        "[A-Z0-9]{1,12}",
        proptest::collection::vec("[a-z_]{1,20}", 0..4),
        any::<u64>(),
    )
        .prop_map(
            |(kind, zh, latin, (y, m, d), sex, doc_kind, number, uses, index)| CredentialBody {
                kind,
                holder_name_zh: zh,
                holder_name_latin: latin,
                date_of_birth: format!("{y:04}-{m:02}-{d:02}"),
                sex: sex.into(),
                document_kind: doc_kind,
                document_number: number,
                permitted_uses: uses,
                status_index: index,
                linked_document_number: None,
            },
        )
}

fn claims() -> impl Strategy<Value = Claims> {
    (
        "[ -~]{0,24}",
        0i64..4_000_000_000,
        1i64..400 * DAY,
        proptest::collection::vec(any::<u8>(), 0..24),
        proptest::option::weighted(0.9, body()),
    )
        .prop_map(|(iss, nbf, life, cti, body)| Claims {
            iss,
            iat: nbf,
            nbf,
            exp: nbf + life,
            cti,
            body,
        })
}

fn key(ed: bool) -> &'static SigningKey {
    if ed { &FIXTURE.ed } else { &FIXTURE.es }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(claims in claims(), ed in any::<bool>()) {
        let payload = issue(key(ed), &claims, DEFAULT_PREFIX).unwrap();
        let decoded = decode(&payload, DEFAULT_PREFIX).unwrap();
        prop_assert_eq!(&decoded.claims, &claims);
        let verdict = verify(&payload, &FIXTURE.trust, &VerifyOptions::at(claims.nbf));
        prop_assert!(verdict.valid, "{:?}", verdict);
        prop_assert_eq!(verdict.claims.as_ref(), Some(&claims));
        prop_assert_eq!(verdict.kind, claims.kind());
    }

    #[test]
    fn any_single_character_change_is_refused(
        claims in claims(),
        ed in any::<bool>(),
        position in any::<prop::sample::Index>(),
        replacement in prop_oneof![
            9 => prop::sample::select(BASE45.chars().collect::<Vec<_>>()),
            1 => any::<char>(),
        ],
    ) {
        let payload = issue(key(ed), &claims, DEFAULT_PREFIX).unwrap();
        let chars: Vec<char> = payload.chars().collect();
        let i = position.index(chars.len());
        prop_assume!(chars[i] != replacement);
        let mut changed = chars.clone();
        changed[i] = replacement;
        let changed: String = changed.into_iter().collect();
        let verdict = verify(&changed, &FIXTURE.trust, &VerifyOptions::at(claims.nbf));
        prop_assert!(!verdict.valid, "position {} {:?}→{:?} still valid", i, chars[i], replacement);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}", prefixed in any::<bool>()) {
        let text = if prefixed { format!("EE1:{text}") } else { text };
        let _ = decode(&text, DEFAULT_PREFIX);
        prop_assert!(!verify(&text, &FIXTURE.trust, &VerifyOptions::at(T0)).valid);
    }

    /// Random bytes behind a correct base45 layer, and behind correct zlib + base45 layers,
    /// so the CBOR and COSE parsers see them.
    #[test]
    fn arbitrary_bytes_in_each_layer_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let in_base45 = format!("EE1:{}", base45::encode(&bytes));
        let in_zlib = encode_envelope(&bytes, DEFAULT_PREFIX);
        for text in [in_base45, in_zlib] {
            let _ = decode(&text, DEFAULT_PREFIX);
            prop_assert!(!verify(&text, &FIXTURE.trust, &VerifyOptions::at(T0)).valid);
        }
    }

    /// Byte-level mutations of a valid COSE_Sign1 (flip, insert, delete, truncate), re-wrapped
    /// in valid zlib and base45: never a panic, never valid unless unchanged.
    #[test]
    fn mutated_cose_never_panics(
        claims in claims(),
        ed in any::<bool>(),
        edits in proptest::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let payload = issue(key(ed), &claims, DEFAULT_PREFIX).unwrap();
        let compressed = base45::decode(&payload[DEFAULT_PREFIX.len()..]).unwrap();
        let mut cose = Vec::new();
        flate2::write::ZlibDecoder::new(&mut cose).write_all(&compressed).unwrap();
        let original = cose.clone();
        for (op, at, byte) in edits {
            if cose.is_empty() { break; }
            let i = at.index(cose.len());
            match op {
                0 => cose[i] ^= byte.max(1),
                1 => cose.insert(i, byte),
                2 => { cose.remove(i); }
                _ => cose.truncate(i),
            }
        }
        let text = encode_envelope(&cose, DEFAULT_PREFIX);
        let _ = decode(&text, DEFAULT_PREFIX);
        let verdict = verify(&text, &FIXTURE.trust, &VerifyOptions::at(claims.nbf));
        prop_assert!(!verdict.valid || cose == original || only_unprotected_changed(&original, &cose));
    }
}

/// Changes confined to the (unsigned) unprotected header may legitimately still verify.
fn only_unprotected_changed(original: &[u8], changed: &[u8]) -> bool {
    let parse = |b: &[u8]| decode(&encode_envelope(b, DEFAULT_PREFIX), DEFAULT_PREFIX).ok();
    match (parse(original), parse(changed)) {
        (Some(a), Some(b)) => {
            a.protected_header == b.protected_header
                && a.payload == b.payload
                && a.signature == b.signature
        }
        _ => false,
    }
}

/// Not sampled but exhaustive: every position × every base45 character (and a few others)
/// for one payload of each algorithm.
#[test]
fn every_single_character_change_is_refused() {
    let mut claims = common::permit_claims();
    claims.exp = T0 + 7 * DAY;
    for ed in [false, true] {
        let payload = issue(key(ed), &claims, DEFAULT_PREFIX).unwrap();
        assert!(verify(&payload, &FIXTURE.trust, &VerifyOptions::at(T0)).valid);
        let chars: Vec<char> = payload.chars().collect();
        let mut tried = 0;
        for i in 0..chars.len() {
            for c in BASE45.chars().chain(['a', '\n', 'é', '\0']) {
                if c == chars[i] {
                    continue;
                }
                let mut changed = chars.clone();
                changed[i] = c;
                let changed: String = changed.into_iter().collect();
                let verdict = verify(&changed, &FIXTURE.trust, &VerifyOptions::at(T0));
                assert!(
                    !verdict.valid,
                    "ed={ed} position {i}: {:?} → {c:?}",
                    chars[i]
                );
                tried += 1;
            }
        }
        assert!(tried > 10_000, "{tried}");
    }
}
