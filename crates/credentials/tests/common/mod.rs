//! Shared fixtures: a root, a signer of each algorithm we sign with, a typical e-permit.
#![allow(dead_code)] // each test binary uses a different part

use exitentry_credentials::{
    Alg, Claims, CredentialBody, CredentialKind, GeneratedKey, SigningKey, TrustStore,
    generate_root, generate_signer,
};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600;
pub const DAY: i64 = 86_400;

pub struct Pki {
    pub root: GeneratedKey,
    pub es256: GeneratedKey,
    pub es384: GeneratedKey,
    pub eddsa: GeneratedKey,
}

impl Pki {
    pub fn new() -> Self {
        let root = generate_root(
            "Exit-Entry Test Root",
            Alg::Es256,
            T0 - DAY,
            T0 + 3650 * DAY,
        )
        .unwrap();
        let es256 = generate_signer(
            &root,
            "Exit-Entry DS ES256",
            Alg::Es256,
            T0 - DAY,
            T0 + 365 * DAY,
        )
        .unwrap();
        let signer =
            |name: &str, alg| generate_signer(&root, name, alg, T0 - DAY, T0 + 365 * DAY).unwrap();
        let es384 = signer("Exit-Entry DS ES384", Alg::Es384);
        let eddsa = signer("Exit-Entry DS EdDSA", Alg::EdDsa);
        Self {
            es256,
            es384,
            eddsa,
            root,
        }
    }

    pub fn key(&self, alg: Alg) -> SigningKey {
        match alg {
            Alg::Es256 => self.es256.to_signing_key().unwrap(),
            Alg::Es384 => self.es384.to_signing_key().unwrap(),
            Alg::EdDsa => self.eddsa.to_signing_key().unwrap(),
            Alg::Ps256 => panic!("no PS256 signer"),
        }
    }

    /// Every signer's algorithm and key.
    pub fn signers(&self) -> [(Alg, SigningKey); 3] {
        [Alg::Es256, Alg::Es384, Alg::EdDsa].map(|alg| (alg, self.key(alg)))
    }

    pub fn trust(&self) -> TrustStore {
        let mut trust = TrustStore::new();
        for signer in [&self.es256, &self.es384, &self.eddsa] {
            trust.add_cert_der(&signer.cert_der).unwrap();
        }
        trust
    }
}

pub fn permit_body() -> CredentialBody {
    CredentialBody {
        kind: CredentialKind::TemporaryPermit,
        holder_name_zh: Some("陳大文".into()),
        holder_name_latin: "CHAN TAI MAN".into(),
        date_of_birth: "1990-02-03".into(),
        sex: "M".into(),
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
        permitted_uses: vec!["domestic_flight".into(), "domestic_rail".into()],
        status_index: 42,
        linked_document_number: None,
    }
}

/// A temporary permit valid from T0 for 7 days.
pub fn permit_claims() -> Claims {
    Claims {
        iss: "CN-EXITENTRY".into(),
        iat: T0,
        nbf: T0,
        exp: T0 + 7 * DAY,
        cti: b"TP-2026-000042".to_vec(),
        body: Some(permit_body()),
    }
}

/// A tagged COSE_Sign1 from its parts (the protected header as raw bytes).
pub fn sign1_bytes(protected: Vec<u8>, payload: Vec<u8>, signature: Vec<u8>) -> Vec<u8> {
    use coset::TaggedCborSerializable;
    coset::CoseSign1 {
        protected: coset::ProtectedHeader {
            original_data: Some(protected),
            header: Default::default(),
        },
        unprotected: Default::default(),
        payload: Some(payload),
        signature,
    }
    .to_tagged_vec()
    .unwrap()
}
