//! Keys already met in an import file, kept compactly so that a file of millions of rows can
//! be checked for duplicates exactly without holding its rows.

use hashbrown::HashTable;
use std::hash::{BuildHasher, RandomState};

/// A set of keys, each with the row it was first met on. Keys and rows live end to end in
/// pages (row and key length as LEB128 varints, then the key); the hash table holds only
/// their places: about 30 bytes a key in all, where a map of strings takes over 80. Pages are
/// never moved once written: one growing buffer was copied whole at every doubling, old and
/// new copy alive together at the import's peak of memory.
#[derive(Default)]
pub(super) struct Seen {
    pages: Vec<Vec<u8>>,
    /// Places as `page << 32 | offset`.
    table: HashTable<u64>,
    hasher: RandomState,
}

/// Bytes a page holds (one key longer than that gets a page of its own size).
const PAGE: usize = 1 << 20;

impl Seen {
    /// The row `key` was first met on; `None` when it is new, and it is then recorded as
    /// met on `row`.
    pub(super) fn first_or_insert(&mut self, key: &[u8], row: u64) -> Option<u64> {
        let hash = self.hasher.hash_one(key);
        let pages = &self.pages;
        if let Some(&at) = self.table.find(hash, |&at| entry(pages, at).1 == key) {
            return Some(entry(pages, at).0);
        }
        // Two varints of at most 10 bytes each, then the key.
        let need = 20 + key.len();
        let fits = self
            .pages
            .last()
            .is_some_and(|p| p.capacity() - p.len() >= need);
        if !fits {
            self.pages.push(Vec::with_capacity(PAGE.max(need)));
        }
        let page_no = self.pages.len() - 1;
        let page = &mut self.pages[page_no];
        let at = ((page_no as u64) << 32) | page.len() as u64;
        push_varint(page, row);
        push_varint(page, key.len() as u64);
        page.extend_from_slice(key);
        let (pages, hasher) = (&self.pages, &self.hasher);
        self.table
            .insert_unique(hash, at, |&at| hasher.hash_one(entry(pages, at).1));
        None
    }
}

fn push_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn read_varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// The row and key of the entry at `at` (a place this set wrote).
fn entry(pages: &[Vec<u8>], at: u64) -> (u64, &[u8]) {
    let buf = &pages[(at >> 32) as usize];
    let mut at = (at & u64::from(u32::MAX)) as usize;
    let row = read_varint(buf, &mut at);
    let len = read_varint(buf, &mut at) as usize;
    (row, &buf[at..at + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_first_row_of_each_key() {
        let mut seen = Seen::default();
        assert_eq!(seen.first_or_insert(b"S1", 1), None);
        assert_eq!(seen.first_or_insert(b"S2", 2), None);
        assert_eq!(seen.first_or_insert(b"", 3), None);
        assert_eq!(seen.first_or_insert(b"S1", 4), Some(1));
        assert_eq!(seen.first_or_insert(b"S1", 5), Some(1));
        assert_eq!(seen.first_or_insert(b"", 6), Some(3));
        // Many keys: the table grows and rehashes from the buffer.
        for i in 0..100_000u64 {
            assert_eq!(
                seen.first_or_insert(format!("K{i}").as_bytes(), 10 + i),
                None
            );
        }
        for i in (0..100_000u64).step_by(997) {
            assert_eq!(
                seen.first_or_insert(format!("K{i}").as_bytes(), 0),
                Some(10 + i)
            );
        }
        assert_eq!(seen.first_or_insert(b"S2", 7), Some(2));
        // Rows and keys of every size survive the varints.
        let long = vec![b'x'; 300];
        assert_eq!(seen.first_or_insert(&long, u64::MAX), None);
        assert_eq!(seen.first_or_insert(&long, 1), Some(u64::MAX));
        // A key longer than a page gets one of its own; the keys before it stay found.
        let huge = vec![b'y'; PAGE + 5];
        assert_eq!(seen.first_or_insert(&huge, 42), None);
        assert_eq!(seen.first_or_insert(&huge, 1), Some(42));
        assert_eq!(seen.first_or_insert(b"K99999", 0), Some(10 + 99_999));
        assert!(seen.pages.len() >= 2, "the keys spread over pages");
    }
}
