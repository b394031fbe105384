//! The CWT claims of a credential (RFC 8392) and the credential body carried in a private
//! claim.
//!
//! Labels: `1` iss, `4` exp, `5` nbf, `6` iat, `7` cti, and [`BODY_CLAIM`] (-70000, in the
//! CWT private-use range below -65536) for the body, a CBOR map with the snake_case field
//! names of [`CredentialBody`].

use crate::CredError;
use ciborium::Value;
use coset::cwt::{ClaimName, ClaimsSet, Timestamp};
use coset::{AsCborValue, CborSerializable};
use serde::{Deserialize, Serialize};

/// The private CWT claim label that carries the [`CredentialBody`].
pub const BODY_CLAIM: i64 = -70_000;

const ISS: i128 = 1;
const EXP: i128 = 4;
const NBF: i128 = 5;
const IAT: i128 = 6;
const CTI: i128 = 7;

/// What a credential stands for. Anything we do not know (another issuer's body, or no body
/// at all) is `unknown`: the verifier still checks signature and validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    TemporaryPermit,
    LinkageProof,
    #[serde(other)]
    Unknown,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 3] = [
        CredentialKind::TemporaryPermit,
        CredentialKind::LinkageProof,
        CredentialKind::Unknown,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CredentialKind::TemporaryPermit => "temporary_permit",
            CredentialKind::LinkageProof => "linkage_proof",
            CredentialKind::Unknown => "unknown",
        }
    }

    /// Whether this is one of our own kinds (the ones with uses and a status index).
    pub fn is_ours(self) -> bool {
        !matches!(self, CredentialKind::Unknown)
    }
}

/// The credential body, as issued. Field names are the wire names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialBody {
    pub kind: CredentialKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_name_zh: Option<String>,
    pub holder_name_latin: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `M` or `F`.
    pub sex: String,
    /// The document the credential stands for, e.g. `hrp`.
    pub document_kind: String,
    pub document_number: String,
    /// E.g. `["domestic_flight", "domestic_rail"]`.
    #[serde(default)]
    pub permitted_uses: Vec<String>,
    /// Index of this credential's bit in the revocation status list.
    pub status_index: u64,
    /// Linkage proofs: the residence permit linked to `document_number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_document_number: Option<String>,
}

/// The claims of one credential. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Credential id (CWT `cti`); hex in JSON.
    #[serde(with = "hex_bytes")]
    pub cti: Vec<u8>,
    /// `None` when the private claim is absent (e.g. an HCERT-family payload).
    pub body: Option<CredentialBody>,
}

impl Claims {
    /// The kind of the body, `unknown` without one.
    pub fn kind(&self) -> CredentialKind {
        self.body
            .as_ref()
            .map_or(CredentialKind::Unknown, |body| body.kind)
    }
}

/// Serializes claims as a CWT claims map (untagged CBOR).
pub fn claims_to_cbor(claims: &Claims) -> Result<Vec<u8>, CredError> {
    let mut rest = Vec::new();
    if let Some(body) = &claims.body {
        let value = Value::serialized(body)
            .map_err(|e| CredError::new("encoding_failed", format!("credential body: {e}")))?;
        rest.push((ClaimName::PrivateUse(BODY_CLAIM), value));
    }
    let set = ClaimsSet {
        issuer: Some(claims.iss.clone()),
        expiration_time: Some(Timestamp::WholeSeconds(claims.exp)),
        not_before: Some(Timestamp::WholeSeconds(claims.nbf)),
        issued_at: Some(Timestamp::WholeSeconds(claims.iat)),
        cwt_id: Some(claims.cti.clone()),
        rest,
        ..ClaimsSet::default()
    };
    set.to_vec()
        .map_err(|e| CredError::new("encoding_failed", format!("claims: {e}")))
}

/// Parses a CWT claims map. Lenient where RFC 8392 says so (unknown claims are ignored, which
/// `coset::ClaimsSet` would refuse for unregistered labels), strict on the claims we use:
/// `exp` and `iat` are required, `nbf` defaults to `iat`, duplicates are refused.
pub(crate) fn claims_from_cbor(bytes: &[u8]) -> Result<Claims, ()> {
    let Value::Map(entries) = read_value(bytes)? else {
        return Err(());
    };
    let mut iss = None;
    let mut exp = None;
    let mut nbf = None;
    let mut iat = None;
    let mut cti = None;
    let mut body = None;
    for (label, value) in entries {
        // Text labels are never ours: ignored like any unknown claim.
        let Value::Integer(label) = label else {
            continue;
        };
        match i128::from(label) {
            ISS => set_once(&mut iss, value.into_text().map_err(drop)?)?,
            EXP => set_once(&mut exp, timestamp(value)?)?,
            NBF => set_once(&mut nbf, timestamp(value)?)?,
            IAT => set_once(&mut iat, timestamp(value)?)?,
            CTI => set_once(&mut cti, value.into_bytes().map_err(drop)?)?,
            l if l == i128::from(BODY_CLAIM) => set_once(&mut body, value)?,
            _ => {}
        }
    }
    let exp = exp.ok_or(())?;
    let iat = iat.or(nbf).ok_or(())?;
    let body = match body {
        None => None,
        // A body under our label that does not parse is damage, not interop: refuse it.
        Some(value) => Some(value.deserialized::<CredentialBody>().map_err(drop)?),
    };
    Ok(Claims {
        iss: iss.unwrap_or_default(),
        iat,
        nbf: nbf.unwrap_or(iat),
        exp,
        cti: cti.unwrap_or_default(),
        body,
    })
}

/// Reads exactly one CBOR item; trailing bytes are an error (they would be unsigned
/// malleability in the transport).
pub(crate) fn read_value(bytes: &[u8]) -> Result<Value, ()> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).map_err(drop)?;
    if rest.is_empty() { Ok(value) } else { Err(()) }
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

/// Integer seconds, or a finite float rounded down (CWT allows both).
fn timestamp(value: Value) -> Result<i64, ()> {
    match Timestamp::from_cbor_value(value).map_err(drop)? {
        Timestamp::WholeSeconds(s) => Ok(s),
        Timestamp::FractionalSeconds(f) if f.is_finite() => Ok(f.floor() as i64),
        Timestamp::FractionalSeconds(_) => Err(()),
    }
}

/// `Vec<u8>` as a lowercase hex string in JSON.
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> CredentialBody {
        CredentialBody {
            kind: CredentialKind::TemporaryPermit,
            holder_name_zh: Some("陈大文".into()),
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

    fn claims() -> Claims {
        Claims {
            iss: "CN".into(),
            iat: 1_760_000_000,
            nbf: 1_760_000_000,
            exp: 1_760_604_800,
            cti: vec![1, 2, 3, 4],
            body: Some(body()),
        }
    }

    #[test]
    fn round_trip() {
        let c = claims();
        assert_eq!(claims_from_cbor(&claims_to_cbor(&c).unwrap()), Ok(c));
        let mut no_body = claims();
        no_body.body = None;
        assert_eq!(
            claims_from_cbor(&claims_to_cbor(&no_body).unwrap()),
            Ok(no_body)
        );
    }

    #[test]
    fn unknown_kind_string_is_unknown() {
        let mut v = Value::serialized(&body()).unwrap();
        if let Value::Map(m) = &mut v {
            m[0].1 = Value::Text("vaccination".into());
        }
        let b: CredentialBody = v.deserialized().unwrap();
        assert_eq!(b.kind, CredentialKind::Unknown);
    }

    /// Hand-built maps: what is required, what is ignored, what is refused.
    #[test]
    fn lenient_and_strict_cases() {
        let int = |i: i64| Value::Integer(i.into());
        let enc = |entries: Vec<(Value, Value)>| {
            let mut out = Vec::new();
            ciborium::ser::into_writer(&Value::Map(entries), &mut out).unwrap();
            out
        };
        type Case = (&'static str, Vec<(Value, Value)>, bool);
        let cases: Vec<Case> = vec![
            (
                "minimal hcert-like",
                vec![(int(4), int(10)), (int(6), int(5))],
                true,
            ),
            (
                "unknown int and text claims ignored",
                vec![
                    (int(4), int(10)),
                    (int(6), int(5)),
                    (int(-260), Value::Map(vec![])),
                    (int(99), int(1)),
                    (Value::Text("x".into()), int(1)),
                ],
                true,
            ),
            (
                "float times",
                vec![(int(4), Value::Float(10.5)), (int(6), Value::Float(5.0))],
                true,
            ),
            ("missing exp", vec![(int(6), int(5))], false),
            ("missing iat and nbf", vec![(int(4), int(10))], false),
            (
                "duplicate exp",
                vec![(int(4), int(10)), (int(4), int(11)), (int(6), int(5))],
                false,
            ),
            (
                "nan time",
                vec![(int(4), Value::Float(f64::NAN)), (int(6), int(5))],
                false,
            ),
            (
                "iss not text",
                vec![(int(1), int(1)), (int(4), int(10)), (int(6), int(5))],
                false,
            ),
            (
                "garbage body",
                vec![
                    (int(4), int(10)),
                    (int(6), int(5)),
                    (int(BODY_CLAIM), int(3)),
                ],
                false,
            ),
        ];
        for (name, entries, ok) in cases {
            assert_eq!(claims_from_cbor(&enc(entries)).is_ok(), ok, "{name}");
        }
        assert!(claims_from_cbor(&[0xa0, 0x00]).is_err(), "trailing bytes");
    }
}
