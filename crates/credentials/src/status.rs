//! The revocation status list: one bit per credential (by `status_index`), published as a
//! signed JSON document with the bitstring zlib-compressed and base64-encoded.
//!
//! Bit order: index `i` is bit `0x80 >> (i % 8)` of byte `i / 8` (most significant first, as
//! in the W3C status list). A set bit means revoked.

use crate::envelope::inflate_limited;
use crate::signed_json::{self, SignedDocument};
use crate::{CredError, Reason, SigningKey, TrustStore};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The `format` of a status list document.
pub const STATUS_LIST_FORMAT: &str = "exitentry-status-list/1";
/// Most credentials one list covers (8 MiB of bits).
pub const MAX_STATUS_LIST_LEN: u64 = 1 << 26;

/// A revocation bitstring and the time it was issued (unix seconds).
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    pub issued_at: i64,
    bits: Vec<u8>,
    len: u64,
}

impl StatusList {
    /// A list of `len` clear bits (at most [`MAX_STATUS_LIST_LEN`]), `issued_at` 0.
    pub fn new(len: u64) -> Self {
        let len = len.min(MAX_STATUS_LIST_LEN);
        Self {
            issued_at: 0,
            bits: vec![0; len.div_ceil(8) as usize],
            len,
        }
    }

    /// Number of bits covered.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks `index` revoked, growing the list if needed.
    pub fn set(&mut self, index: u64) -> Result<(), CredError> {
        if index >= MAX_STATUS_LIST_LEN {
            return Err(CredError::new(
                "status_index_out_of_range",
                format!("status index {index} is beyond the list maximum {MAX_STATUS_LIST_LEN}"),
            ));
        }
        if index >= self.len {
            self.len = index + 1;
            self.bits.resize(self.len.div_ceil(8) as usize, 0);
        }
        self.bits[(index / 8) as usize] |= mask(index);
        Ok(())
    }

    /// Clears `index` (a no-op beyond the list).
    pub fn clear(&mut self, index: u64) {
        if index < self.len {
            self.bits[(index / 8) as usize] &= !mask(index);
        }
    }

    /// Whether `index` is revoked; false beyond the list.
    pub fn is_set(&self, index: u64) -> bool {
        index < self.len && self.bits[(index / 8) as usize] & mask(index) != 0
    }

    /// Number of set bits.
    pub fn count_set(&self) -> u64 {
        self.bits.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// The raw bitstring (`len.div_ceil(8)` bytes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }
}

fn mask(index: u64) -> u8 {
    0x80 >> (index % 8)
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusList")
            .field("issued_at", &self.issued_at)
            .field("len", &self.len)
            .field("set", &self.count_set())
            .finish()
    }
}

/// The signed part, serialized compactly in this field order: that is the canonical payload.
#[derive(Serialize, Deserialize)]
struct Payload {
    format: String,
    issued_at: i64,
    /// Hex kid of the signer.
    kid: String,
    size: u64,
    /// base64(zlib(bitstring)).
    bits: String,
}

/// Publishes a status list as a signed JSON document (see `docs/CREDENTIALS.md`).
pub fn sign_status_list(list: &StatusList, key: &SigningKey) -> Result<String, CredError> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&list.bits)
        .map_err(|e| CredError::new("encoding_failed", e.to_string()))?;
    let compressed = z
        .finish()
        .map_err(|e| CredError::new("encoding_failed", e.to_string()))?;
    let payload = Payload {
        format: STATUS_LIST_FORMAT.into(),
        issued_at: list.issued_at,
        kid: hex::encode(key.kid()),
        size: list.len,
        bits: STANDARD.encode(compressed),
    };
    signed_json::sign(payload, key)
}

/// Opens a status list document: signature by a key in `trust`, then age: older than
/// `max_age_secs` at `at` → `stale_status_list`; anything else wrong → `bad_status_list`.
pub fn open_status_list(
    doc: &str,
    trust: &TrustStore,
    at: i64,
    max_age_secs: i64,
) -> Result<StatusList, Reason> {
    let bad = Reason::BadStatusList;
    let doc: SignedDocument<Payload> = serde_json::from_str(doc).map_err(|_| bad)?;
    if doc.payload.format != STATUS_LIST_FORMAT || doc.payload.size > MAX_STATUS_LIST_LEN {
        return Err(bad);
    }
    let s = doc.signed().ok_or(bad)?;
    if !trust.verify(s.kid.as_deref(), s.alg, &s.tbs, &s.signature) {
        return Err(bad);
    }
    let payload = doc.payload;
    if at.saturating_sub(payload.issued_at) > max_age_secs {
        return Err(Reason::StaleStatusList);
    }
    let byte_len = payload.size.div_ceil(8) as usize;
    let compressed = STANDARD.decode(payload.bits.as_bytes()).map_err(|_| bad)?;
    let bits = inflate_limited(&compressed, byte_len).map_err(|()| bad)?;
    if bits.len() != byte_len {
        return Err(bad);
    }
    Ok(StatusList {
        issued_at: payload.issued_at,
        bits,
        len: payload.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let mut list = StatusList::new(10);
        assert_eq!(list.as_bytes().len(), 2);
        for i in [0, 7, 9] {
            list.set(i).unwrap();
        }
        assert_eq!(list.as_bytes(), &[0x81, 0x40]);
        assert!(list.is_set(0) && list.is_set(7) && list.is_set(9));
        assert!(!list.is_set(1) && !list.is_set(10) && !list.is_set(u64::MAX));
        list.clear(7);
        list.clear(1_000); // beyond: no-op
        assert!(!list.is_set(7));
        list.set(20).unwrap(); // grows
        assert_eq!(list.len(), 21);
        assert!(list.is_set(20));
        assert_eq!(list.count_set(), 3);
        assert_eq!(
            list.set(MAX_STATUS_LIST_LEN).unwrap_err().code,
            "status_index_out_of_range"
        );
        assert_eq!(StatusList::new(u64::MAX).len(), MAX_STATUS_LIST_LEN);
    }
}
