//! Issue, decode and verify a credential payload. Verification is a pure function of the
//! payload text, the trusted keys, the status list and the time.

use crate::claims::{claims_from_cbor, hex_bytes};
use crate::envelope::{self, encode_envelope, sig_structure};
use crate::{
    Alg, Claims, CredError, CredentialKind, DEFAULT_PREFIX, Reason, SigningKey, StatusList,
    TrustStore, claims_to_cbor,
};
use serde::{Deserialize, Serialize, Serializer};

/// Default tolerance between the issuer's and the verifier's clocks.
pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 300;

/// Full encode: CWT claims → COSE_Sign1 (alg and kid in the protected header) → zlib →
/// base45 → prefix.
pub fn issue(key: &SigningKey, claims: &Claims, prefix: &str) -> Result<String, CredError> {
    check_claims(claims)?;
    let payload = claims_to_cbor(claims)?;
    let cose = envelope::sign1(key, &payload, false)?;
    Ok(encode_envelope(&cose, prefix))
}

/// What an issuer must never put out, however it was called.
fn check_claims(claims: &Claims) -> Result<(), CredError> {
    let bad = |m: &str| Err(CredError::new("bad_claims", m.to_string()));
    if claims.exp <= claims.nbf {
        return bad("exp must be later than nbf");
    }
    if let Some(body) = &claims.body {
        if body.kind == CredentialKind::Unknown {
            return bad("a credential body must have a known kind");
        }
        if body.sex != "M" && body.sex != "F" {
            return bad("sex must be M or F");
        }
        if !is_iso_date(&body.date_of_birth) {
            return bad("date_of_birth must be YYYY-MM-DD");
        }
    }
    Ok(())
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let month = (b[5] - b'0') * 10 + (b[6] - b'0');
    let day = (b[8] - b'0') * 10 + (b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A payload taken apart without checking its signature (`exitentry credential decode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    pub claims: Claims,
    /// The kid, if it is 8 bytes; from the protected header if there is one there.
    #[serde(serialize_with = "kid_hex")]
    pub kid: Option<[u8; 8]>,
    pub kid_in_protected_header: bool,
    /// `None` when missing or not one we can verify.
    pub alg: Option<Alg>,
    /// Whether the COSE_Sign1 came wrapped in the CWT tag (61).
    pub cwt_tagged: bool,
    /// Whether the COSE_Sign1 tag (18) was present.
    pub cose_tagged: bool,
    #[serde(with = "hex_bytes")]
    pub protected_header: Vec<u8>,
    /// The CWT claims as CBOR, exactly as signed.
    #[serde(with = "hex_bytes")]
    pub payload: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

fn kid_hex<S: Serializer>(kid: &Option<[u8; 8]>, s: S) -> Result<S::Ok, S::Error> {
    match kid {
        Some(kid) => s.serialize_str(&hex::encode(kid)),
        None => s.serialize_none(),
    }
}

/// Strips the prefix, base45, zlib, parses COSE and the CWT claims; no signature check.
pub fn decode(payload: &str, prefix: &str) -> Result<Decoded, Reason> {
    let env = envelope::open(payload, prefix)?;
    let claims = claims_from_cbor(&env.payload).map_err(|()| Reason::BadClaims)?;
    Ok(Decoded {
        claims,
        kid: env.kid.as_deref().and_then(|k| k.try_into().ok()),
        kid_in_protected_header: env.kid_protected,
        alg: env.alg,
        cwt_tagged: env.cwt_tagged,
        cose_tagged: env.cose_tagged,
        protected_header: env.protected,
        payload: env.payload,
        signature: env.signature,
    })
}

/// How to verify: the prefix, the time, the use asked about, the status list.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    pub prefix: &'a str,
    /// Unix seconds.
    pub at: i64,
    /// E.g. `domestic_flight`; checked for our kinds only.
    pub required_use: Option<&'a str>,
    /// An opened (signature- and age-checked) status list; see [`crate::open_status_list`].
    pub status: Option<&'a StatusList>,
    pub clock_skew_secs: i64,
}

impl VerifyOptions<'static> {
    /// Defaults (prefix `EE1:`, 300 s skew, no use, no status list) at time `at`.
    pub fn at(at: i64) -> Self {
        Self {
            prefix: DEFAULT_PREFIX,
            at,
            required_use: None,
            status: None,
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
        }
    }
}

impl Default for VerifyOptions<'static> {
    fn default() -> Self {
        Self::at(0)
    }
}

/// The answer of [`verify`]. `claims` is present once the signature has verified (so also
/// for `expired`, `revoked`, …), never for unauthenticated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: bool,
    pub reason: Reason,
    pub kind: CredentialKind,
    pub claims: Option<Claims>,
    /// `exp` of the credential, when known.
    pub valid_until: Option<i64>,
}

impl Verdict {
    /// What an authentic credential of ours is for, e.g. `domestic_flight` (empty: not
    /// limited to uses, or not known to be authentic).
    pub fn permitted_uses(&self) -> &[String] {
        self.claims
            .as_ref()
            .and_then(|c| c.body.as_ref())
            .filter(|b| b.kind.is_ours())
            .map(|b| b.permitted_uses.as_slice())
            .unwrap_or(&[])
    }

    /// A credential limited to uses was checked without saying what for: the relying party
    /// must name its use, or a border post or a bank would accept a permit that is not for
    /// them.
    pub fn use_required(&self, asked: Option<&str>) -> bool {
        asked.is_none_or(|u| u.trim().is_empty()) && !self.permitted_uses().is_empty()
    }

    fn refused(reason: Reason) -> Self {
        Self {
            valid: false,
            reason,
            kind: CredentialKind::Unknown,
            claims: None,
            valid_until: None,
        }
    }
}

/// Verifies a payload. Never panics, whatever the input.
pub fn verify(payload: &str, trust: &TrustStore, opts: &VerifyOptions) -> Verdict {
    let env = match envelope::open(payload, opts.prefix) {
        Ok(env) => env,
        Err(reason) => return Verdict::refused(reason),
    };
    let Some(alg) = env.alg else {
        return Verdict::refused(Reason::BadCose);
    };
    let Ok(claims) = claims_from_cbor(&env.payload) else {
        return Verdict::refused(Reason::BadClaims);
    };
    let kid = env.kid.as_deref();
    if !trust.has_candidates(kid) {
        return Verdict::refused(Reason::UnknownSigner);
    }
    let tbs = sig_structure(&env.protected, &env.payload);
    if !trust.verify(kid, alg, &tbs, &env.signature) {
        return Verdict::refused(Reason::BadSignature);
    }
    let reason = judge(&claims, opts);
    Verdict {
        valid: reason == Reason::Valid,
        reason,
        kind: claims.kind(),
        valid_until: Some(claims.exp),
        claims: Some(claims),
    }
}

/// The checks on authentic claims: window, then revocation, then use.
fn judge(claims: &Claims, opts: &VerifyOptions) -> Reason {
    let skew = opts.clock_skew_secs.max(0);
    if opts.at.saturating_add(skew) < claims.nbf {
        return Reason::NotYetValid;
    }
    if opts.at.saturating_sub(skew) >= claims.exp {
        return Reason::Expired;
    }
    // Another issuer's body (HCERT family): signature and window are all we can judge.
    let Some(body) = claims.body.as_ref().filter(|b| b.kind.is_ours()) else {
        return Reason::Valid;
    };
    if opts.status.is_some_and(|s| s.is_set(body.status_index)) {
        return Reason::Revoked;
    }
    if let Some(wanted) = opts.required_use
        && !body.permitted_uses.iter().any(|u| u == wanted)
    {
        return Reason::WrongUse;
    }
    Reason::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_date_shape() {
        for (s, ok) in [
            ("1990-02-03", true),
            ("1990-2-03", false),
            ("1990-13-01", false),
            ("1990-12-00", false),
            ("199O-12-01", false),
            ("1990-12-01 ", false),
        ] {
            assert_eq!(is_iso_date(s), ok, "{s}");
        }
    }
}
