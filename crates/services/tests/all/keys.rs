//! Signing keys on disk: creation, rotation, permissions, published documents.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_credentials::{Alg, open_status_list, open_trust_list};
use exitentry_services::keys::KeyStore;

#[test]
fn init_creates_a_root_and_a_signer_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path().join("keys"));
    assert!(!store.exists());
    let kid = store.init(Alg::Es256, 1_800_000_000).unwrap();
    assert!(store.exists());
    let set = store.load().unwrap();
    assert_eq!(set.signers.len(), 1);
    assert_eq!(set.current().unwrap().kid(), kid);
    let again = store.init(Alg::Es256, 1_800_000_001).unwrap_err();
    assert_eq!(again.code(), "keys_exist");
}

#[cfg(unix)]
#[test]
fn private_keys_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    store.init(Alg::EdDsa, 1_800_000_000).unwrap();
    let mut keys = vec![dir.path().join("root.key")];
    for e in std::fs::read_dir(dir.path().join("signers")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "key") {
            keys.push(p);
        }
    }
    assert_eq!(keys.len(), 2);
    for k in keys {
        let mode = std::fs::metadata(&k).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", k.display());
    }
    // Debug output never carries key material.
    let shown = format!("{:?}", store.load().unwrap());
    assert!(!shown.to_lowercase().contains("pkcs8_der: ["), "{shown}");
}

#[test]
fn rotation_adds_a_signer_and_the_trust_list_carries_both() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let first = store.init(Alg::Es256, 1_800_000_000).unwrap();
    let second = store.rotate(Alg::Es256, 1_800_000_100).unwrap();
    assert_ne!(first, second);
    let set = store.load().unwrap();
    assert_eq!(
        set.current().unwrap().kid(),
        second,
        "the newest signer signs"
    );
    let certs: Vec<Vec<u8>> = set.signers.iter().map(|s| s.cert_der.clone()).collect();
    let doc =
        exitentry_credentials::sign_trust_list(2, 1_800_000_200, &certs, &set.root_key().unwrap())
            .unwrap();
    let (trust, info) = open_trust_list(&doc, Some(&set.root.cert_der)).unwrap();
    assert_eq!(info.version, 2);
    let kids = trust.kids();
    assert!(kids.contains(&first) && kids.contains(&second));

    let mut list = exitentry_credentials::StatusList::new(64);
    list.issued_at = 1_800_000_200;
    let doc = exitentry_credentials::sign_status_list(&list, &set.current().unwrap()).unwrap();
    let opened = open_status_list(&doc, &trust, 1_800_000_300, 3600).unwrap();
    assert_eq!(opened.len(), 64);
    assert_eq!(opened.count_set(), 0);
}
