//! Why a credential (or a trust or status list) was accepted or refused: one stable code
//! per failure stage, in the order the stages run.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Valid,
    /// The text does not start with the expected context prefix.
    BadPrefix,
    /// Not base45 (or not canonical base45), empty, or too long.
    BadBase45,
    /// Not a complete, canonical zlib stream, or inflates past the size limit.
    BadCompression,
    /// Not a COSE_Sign1 (optionally in the CWT tag), or an algorithm we cannot verify.
    BadCose,
    /// The CWT claims are malformed (missing exp/iat, bad types, unreadable body).
    BadClaims,
    /// No trusted key for the kid (and no bare key to try).
    UnknownSigner,
    BadSignature,
    NotYetValid,
    Expired,
    /// The credential's bit is set in the status list.
    Revoked,
    /// Valid, but not for the use asked about.
    WrongUse,
    /// The status list is older than the verifier accepts.
    StaleStatusList,
    BadStatusList,
    BadTrustList,
}

impl Reason {
    pub const ALL: [Reason; 15] = [
        Reason::Valid,
        Reason::BadPrefix,
        Reason::BadBase45,
        Reason::BadCompression,
        Reason::BadCose,
        Reason::BadClaims,
        Reason::UnknownSigner,
        Reason::BadSignature,
        Reason::NotYetValid,
        Reason::Expired,
        Reason::Revoked,
        Reason::WrongUse,
        Reason::StaleStatusList,
        Reason::BadStatusList,
        Reason::BadTrustList,
    ];

    /// Stable snake_case code, e.g. `bad_prefix`. Never renamed once published.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Valid => "valid",
            Reason::BadPrefix => "bad_prefix",
            Reason::BadBase45 => "bad_base45",
            Reason::BadCompression => "bad_compression",
            Reason::BadCose => "bad_cose",
            Reason::BadClaims => "bad_claims",
            Reason::UnknownSigner => "unknown_signer",
            Reason::BadSignature => "bad_signature",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::WrongUse => "wrong_use",
            Reason::StaleStatusList => "stale_status_list",
            Reason::BadStatusList => "bad_status_list",
            Reason::BadTrustList => "bad_trust_list",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Reason::ALL.into_iter().find(|r| r.code() == code.trim())
    }

    /// One English sentence for operators and CLI output.
    pub fn message(self) -> &'static str {
        match self {
            Reason::Valid => "the credential is valid",
            Reason::BadPrefix => "the payload does not start with the expected prefix",
            Reason::BadBase45 => "the payload is not valid base45",
            Reason::BadCompression => "the payload is not a valid zlib stream",
            Reason::BadCose => "the payload is not a COSE_Sign1 with a supported algorithm",
            Reason::BadClaims => "the credential's claims are malformed",
            Reason::UnknownSigner => "the signer is not in the trust list",
            Reason::BadSignature => "the signature does not verify",
            Reason::NotYetValid => "the credential is not valid yet",
            Reason::Expired => "the credential has expired",
            Reason::Revoked => "the credential has been revoked",
            Reason::WrongUse => "the credential is not valid for this use",
            Reason::StaleStatusList => "the status list is older than allowed",
            Reason::BadStatusList => {
                "the status list is malformed or its signature does not verify"
            }
            Reason::BadTrustList => "the trust list is malformed or its signature does not verify",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_serde_names_and_parse_back() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.code()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
        assert_eq!(Reason::parse("nope"), None);
    }
}
