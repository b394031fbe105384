//! Signature algorithms and their COSE identifiers (RFC 9053, IANA "COSE Algorithms").

use serde::{Deserialize, Serialize};

/// A signature algorithm. We sign with ES256 (default), ES384 or EdDSA; PS256 is accepted for
/// verification only (HCERT-family issuers use it; `ring` cannot generate RSA keys and we do not
/// want to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// ECDSA on P-256 with SHA-256, signature as fixed-size r‖s (COSE -7).
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384, signature as fixed-size r‖s (COSE -35).
    #[serde(rename = "ES384")]
    Es384,
    /// Ed25519 (COSE -8, also accepted as the fully-specified -19).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// RSASSA-PSS with SHA-256, salt length 32 (COSE -37). Verify only.
    #[serde(rename = "PS256")]
    Ps256,
}

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::Es256, Alg::Es384, Alg::EdDsa, Alg::Ps256];

    /// The JOSE/COSE name: `ES256`, `ES384`, `EdDSA`, `PS256`.
    pub fn code(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Ps256 => "PS256",
        }
    }

    /// Parses a name, ignoring case (`es256`, `EdDSA`, `ed25519`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "es256" => Some(Alg::Es256),
            "es384" => Some(Alg::Es384),
            "eddsa" | "ed25519" => Some(Alg::EdDsa),
            "ps256" => Some(Alg::Ps256),
            _ => None,
        }
    }

    /// The COSE algorithm identifier written in the protected header.
    pub fn cose_id(self) -> i64 {
        match self {
            Alg::Es256 => -7,
            Alg::Es384 => -35,
            Alg::EdDsa => -8,
            Alg::Ps256 => -37,
        }
    }

    /// Maps a COSE algorithm identifier; `None` for anything we cannot verify.
    pub fn from_cose_id(id: i64) -> Option<Self> {
        match id {
            -7 => Some(Alg::Es256),
            -35 => Some(Alg::Es384),
            // -19 is the fully-specified "Ed25519" of RFC 9864; same math as EdDSA with Ed25519.
            -8 | -19 => Some(Alg::EdDsa),
            -37 => Some(Alg::Ps256),
            _ => None,
        }
    }

    /// Whether this crate can sign with it (PS256 cannot).
    pub fn can_sign(self) -> bool {
        !matches!(self, Alg::Ps256)
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cose_ids_round_trip() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_cose_id(alg.cose_id()), Some(alg));
            assert_eq!(Alg::parse(alg.code()), Some(alg));
        }
        assert_eq!(Alg::from_cose_id(-19), Some(Alg::EdDsa));
        assert_eq!(Alg::from_cose_id(-35), Some(Alg::Es384));
        assert_eq!(Alg::from_cose_id(-36), None); // ES512: not supported
        assert_eq!(Alg::parse("HS256"), None);
    }
}
