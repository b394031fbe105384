//! The document upload store on both backends: types from the bytes, limits, PDF bombs and
//! encryption, random stored names, digests checked on reading, the per-owner limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_config::Config;
use exitentry_services::uploads::{self, FileType};
use exitentry_services::{App, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha2::{Digest, Sha256};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---- allocation tracking (per thread, only while switched on) ----

/// Counts the bytes the current thread holds while tracking is on, to show that
/// checking a bomb never allocates anything near its inflated size.
struct Tracking;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = TRACK.try_with(|t| {
        if t.get() {
            let now = LIVE.get() + delta;
            LIVE.set(now);
            PEAK.set(PEAK.get().max(now));
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            note(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        note(-(l.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            note(new as isize - l.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// The most bytes the current thread held at once while running `f`.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, isize) {
    LIVE.set(0);
    PEAK.set(0);
    TRACK.set(true);
    let out = f();
    TRACK.set(false);
    (out, PEAK.get())
}

// ---- fixtures ----

/// A complete 1×1 JPEG (arithmetic-coded baseline, 134 bytes).
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x01, 0x00, 0x48,
    0x00, 0x48, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x02, 0x02, 0x02, 0x03,
    0x02, 0x02, 0x02, 0x03, 0x03, 0x03, 0x03, 0x04, 0x06, 0x04, 0x04, 0x04, 0x04, 0x04, 0x08, 0x06,
    0x06, 0x05, 0x06, 0x09, 0x08, 0x0A, 0x0A, 0x09, 0x08, 0x09, 0x09, 0x0A, 0x0C, 0x0F, 0x0C, 0x0A,
    0x0B, 0x0E, 0x0B, 0x09, 0x09, 0x0D, 0x11, 0x0D, 0x0E, 0x0F, 0x10, 0x10, 0x11, 0x10, 0x0A, 0x0C,
    0x12, 0x13, 0x12, 0x10, 0x13, 0x0F, 0x10, 0x10, 0x10, 0xFF, 0xC9, 0x00, 0x0B, 0x08, 0x00, 0x01,
    0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xCC, 0x00, 0x06, 0x00, 0x10, 0x10, 0x05, 0xFF, 0xDA,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0xD2, 0xCF, 0x20, 0xFF, 0xD9,
];

use exitentry_test_support::TINY_PNG as PNG;

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A one-page PDF whose content stream is `stream` under `filter`, with `trailer_extra`
/// added to the trailer dictionary.
fn pdf(stream: &[u8], filter: &str, trailer_extra: &str) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n\
        1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
        2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n\
        3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n"
        .to_vec();
    v.extend(
        format!(
            "4 0 obj\n<< /Length {} /Filter {filter} >>\nstream\n",
            stream.len()
        )
        .bytes(),
    );
    v.extend(stream);
    v.extend(b"\nendstream\nendobj\n");
    v.extend(format!("trailer\n<< /Size 5 /Root 1 0 R {trailer_extra}>>\n%%EOF\n").bytes());
    v
}

fn small_pdf() -> Vec<u8> {
    pdf(
        &zlib(b"BT /F1 24 Tf 72 720 Td (Passport data page) Tj ET"),
        "/FlateDecode",
        "",
    )
}

/// `mib` MiB of zeros, zlib-compressed without ever holding them (about 1000:1).
fn zeros_compressed(mib: usize) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..mib {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap()
}

struct Setup {
    app: App,
    store: PathBuf,
    _tmp: tempfile::TempDir,
}

fn setup_with(t: &TestDb, f: impl FnOnce(&mut Config)) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut config = Config::default();
    config.uploads.dir = store.display().to_string();
    // These tests look at the files in the folder; the database store is tested with the
    // cluster (tests/all/cluster.rs).
    config.uploads.store = "directory".into();
    config.uploads.max_files_per_owner = 3;
    f(&mut config);
    let (app, _) = exitentry_test_support::app_with_config(t, config);
    Setup {
        app,
        store,
        _tmp: tmp,
    }
}

fn setup(t: &TestDb) -> Setup {
    setup_with(t, |_| {})
}

const OWNER: &str = "hrp_application:A1";

async fn accept(s: &Setup, name: &str, bytes: &[u8]) -> Result<uploads::Upload, ServiceError> {
    uploads::accept(&s.app, "applicant:1", OWNER, "hkid_front", name, bytes).await
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> (String, String) {
    let e = r.expect_err("expected a refusal");
    (e.code().to_string(), e.to_string())
}

/// Every entry under `dir`, recursively, as paths relative to it.
fn files_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if e.file_type().unwrap().is_dir() {
                out.push(format!("{name}/"));
                out.extend(
                    files_in(&e.path())
                        .into_iter()
                        .map(|f| format!("{name}/{f}")),
                );
            } else {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

fn is_random_name(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---- tests ----

async fn valid_files_are_kept_and_read_back_unchanged(t: &TestDb) {
    let s = setup(t);
    let the_pdf = small_pdf();
    for (name, bytes, mime) in [
        ("hkid.jpg", JPEG, "image/jpeg"),
        ("hkid back.png", PNG, "image/png"),
        ("passport.pdf", the_pdf.as_slice(), "application/pdf"),
    ] {
        let u = accept(&s, name, bytes).await.unwrap();
        assert_eq!(u.content_type, mime);
        assert_eq!(u.display_name, name);
        assert_eq!(u.size, bytes.len() as i64);
        assert_eq!(u.sha256, hex::encode(Sha256::digest(bytes)));
        assert_eq!(
            (u.owner.as_str(), u.purpose.as_str()),
            (OWNER, "hkid_front")
        );
        let (again, read) = uploads::open(&s.app, &u.id).await.unwrap();
        assert_eq!(read, bytes, "{name} round-trips");
        assert_eq!(again, u);
    }
    let listed = uploads::list(&s.app, OWNER).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        uploads::list(&s.app, "hrp_application:other")
            .await
            .unwrap()
            .is_empty()
    );
    let stored = files_in(&s.store);
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored.iter().all(|f| is_random_name(f)), "{stored:?}");
    let entries = exitentry_services::audit::recent(&s.app, 10).await.unwrap();
    let accepts: Vec<_> = entries
        .iter()
        .filter(|e| e.entry.action == "upload.accept")
        .collect();
    assert_eq!(accepts.len(), 3);
    let detail: serde_json::Value = serde_json::from_str(&accepts[0].entry.detail).unwrap();
    assert_eq!(detail["owner"], OWNER);
    assert!(detail["sha256"].as_str().is_some_and(|h| h.len() == 64));
    assert!(detail.get("bytes").is_none() && accepts[0].entry.detail.len() < 400);
}

async fn the_bytes_decide_the_type_not_the_name(t: &TestDb) {
    let s = setup(t);
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00passport.jpgxxxxxxxxxxxx".to_vec();
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    for bytes in [zip, elf, gif] {
        let (c, msg) = code(accept(&s, "passport.jpg", &bytes).await);
        assert_eq!(c, "bad_file_type");
        assert!(
            msg.contains("JPEG") && msg.contains("PNG") && msg.contains("PDF"),
            "{msg}"
        );
    }
    // A PNG named .pdf is a PNG, shown with the right extension.
    let u = accept(&s, "scan.pdf", PNG).await.unwrap();
    assert_eq!(
        (u.content_type.as_str(), u.display_name.as_str()),
        ("image/png", "scan.png")
    );
    // A JPEG signature with no readable header is not an image.
    let (c, _) = code(accept(&s, "x.jpg", &[0xFF, 0xD8, 0xFF, 0x00, 0x01]).await);
    assert_eq!(c, "bad_image");
    assert_eq!(
        files_in(&s.store).len(),
        1,
        "refused files leave nothing behind"
    );
}

async fn empty_and_oversize_files_are_refused(t: &TestDb) {
    let s = setup_with(t, |c| {
        c.uploads.max_image_bytes = 1024 * 1024;
        c.uploads.max_pdf_bytes = 2 * 1024 * 1024;
    });
    assert_eq!(code(accept(&s, "a.jpg", b"").await).0, "empty_file");
    let mut big_png = PNG.to_vec();
    big_png.resize(1024 * 1024 + 1, 0);
    let (c, msg) = code(accept(&s, "a.png", &big_png).await);
    assert_eq!(c, "file_too_large");
    assert!(msg.contains("1 MB"), "{msg}");
    let mut big_pdf = small_pdf();
    big_pdf.splice(9..9, std::iter::repeat_n(b'%', 2 * 1024 * 1024));
    let (c, msg) = code(accept(&s, "a.pdf", &big_pdf).await);
    assert_eq!(c, "file_too_large");
    assert!(msg.contains("2 MB"), "{msg}");
    // Just under the limit is fine.
    big_png.truncate(1024 * 1024);
    accept(&s, "a.png", &big_png).await.unwrap();
}

async fn pdf_bombs_are_refused_quickly_in_fixed_memory(t: &TestDb) {
    let s = setup(t);
    let bomb = pdf(&zeros_compressed(200), "/FlateDecode", "");
    assert!(
        bomb.len() < 1024 * 1024,
        "the bomb is small: {}",
        bomb.len()
    );

    let start = Instant::now();
    let (c, _) = code(accept(&s, "bomb.pdf", &bomb).await);
    let took = start.elapsed();
    assert_eq!(c, "pdf_too_complex");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Checking it holds a small fixed buffer, nowhere near the 200 MiB it inflates to.
    let limits = s.app.config.uploads.clone();
    let (r, peak) = peak_bytes(|| uploads::inspect(&limits, &bomb));
    assert_eq!(r.unwrap_err().code(), "pdf_too_complex");
    assert!(peak < 2 * 1024 * 1024, "peak {peak} bytes");

    // The absolute cap holds when the ratio would allow more.
    let mut loose = limits.clone();
    loose.max_pdf_ratio = 1_000_000;
    loose.max_pdf_inflated_bytes = 8 * 1024 * 1024;
    let (r, peak) = peak_bytes(|| uploads::inspect(&loose, &bomb));
    assert_eq!(r.unwrap_err().code(), "pdf_too_complex");
    assert!(peak < 2 * 1024 * 1024, "peak {peak} bytes");

    // Compressed twice ([/FlateDecode /FlateDecode]) is followed through both layers.
    let double = pdf(
        &zlib(&zeros_compressed(200)),
        "[/FlateDecode /FlateDecode]",
        "",
    );
    assert!(double.len() < 16 * 1024, "{}", double.len());
    let mut ratio_only = limits.clone();
    ratio_only.max_pdf_ratio = 1_000_000;
    assert_eq!(
        code(accept(&s, "double.pdf", &double).await).0,
        "pdf_too_complex"
    );
    assert_eq!(
        uploads::inspect(&ratio_only, &double).unwrap_err().code(),
        "pdf_too_complex"
    );
    // A filter placed before Flate would hide a bomb from the check: refused.
    let hex = pdf(b"78DA>", "[/ASCIIHexDecode /FlateDecode]", "");
    assert_eq!(code(accept(&s, "hex.pdf", &hex).await).0, "pdf_too_complex");
    assert!(files_in(&s.store).is_empty());
    // An ordinary compressed PDF passes the same check.
    assert_eq!(
        uploads::inspect(&limits, &small_pdf()).unwrap(),
        FileType::Pdf
    );
}

async fn encrypted_and_damaged_pdfs_are_refused(t: &TestDb) {
    let s = setup(t);
    let encrypted = pdf(
        &zlib(b"garbled"),
        "/FlateDecode",
        "/Encrypt 5 0 R /ID [<01><02>] ",
    );
    let (c, msg) = code(accept(&s, "locked.pdf", &encrypted).await);
    assert_eq!(c, "pdf_encrypted");
    assert!(msg.contains("password"), "{msg}");
    let mut cut = small_pdf();
    cut.truncate(cut.len() - 8);
    assert_eq!(code(accept(&s, "cut.pdf", &cut).await).0, "pdf_damaged");
    assert!(files_in(&s.store).is_empty());
}

async fn client_names_never_reach_the_disk(t: &TestDb) {
    let s = setup_with(t, |c| c.uploads.max_files_per_owner = 10);
    let the_pdf = small_pdf();
    let cases: [(&str, &[u8], &str); 4] = [
        ("../../etc/passwd.pdf", &the_pdf, "passwd.pdf"),
        ("C:\\Windows\\x.png", PNG, "x.png"),
        ("a\0b\r\nc.pdf", &the_pdf, "abc.pdf"),
        ("/", JPEG, "file.jpg"),
    ];
    for (name, bytes, shown) in cases {
        let u = accept(&s, name, bytes).await.unwrap();
        assert_eq!(u.display_name, shown, "{name:?}");
        assert_eq!(uploads::open(&s.app, &u.id).await.unwrap().1, bytes);
    }
    let stored = files_in(&s.store);
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.iter().all(|f| is_random_name(f)), "{stored:?}");
    // Nothing was written next to the folder either.
    let parent = files_in(s.store.parent().unwrap());
    assert!(parent.iter().all(|f| f.starts_with("store/")), "{parent:?}");
    assert_eq!(parent.len(), 5, "{parent:?}");
}

async fn an_altered_or_missing_file_is_not_served(t: &TestDb) {
    let s = setup(t);
    let u = accept(&s, "a.png", PNG).await.unwrap();
    let name = files_in(&s.store).pop().unwrap();
    let path = s.store.join(&name);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let e = uploads::open(&s.app, &u.id).await.unwrap_err();
    assert!(matches!(e, ServiceError::Internal(_)), "{e:?}");
    std::fs::remove_file(&path).unwrap();
    let e = uploads::open(&s.app, &u.id).await.unwrap_err();
    assert!(matches!(e, ServiceError::Internal(_)), "{e:?}");
    assert!(matches!(
        uploads::open(&s.app, "0123").await,
        Err(ServiceError::NotFound(_))
    ));
}

async fn an_owner_has_a_limited_number_of_files(t: &TestDb) {
    let s = setup(t);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(accept(&s, "a.png", PNG).await.unwrap().id);
    }
    let (c, msg) = code(accept(&s, "a.png", PNG).await);
    assert_eq!(c, "too_many_files");
    assert!(msg.contains('3'), "{msg}");
    // Another owner is not affected.
    uploads::accept(
        &s.app,
        "applicant:2",
        "hrp_application:B",
        "passport_page",
        "p.png",
        PNG,
    )
    .await
    .unwrap();
    // Removing one gives the place back; the removed file is gone and not served.
    uploads::remove(&s.app, "applicant:1", &ids[0])
        .await
        .unwrap();
    assert!(matches!(
        uploads::open(&s.app, &ids[0]).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        uploads::remove(&s.app, "applicant:1", &ids[0]).await,
        Err(ServiceError::NotFound(_))
    ));
    assert_eq!(uploads::list(&s.app, OWNER).await.unwrap().len(), 2);
    assert_eq!(files_in(&s.store).len(), 3);
    accept(&s, "a.png", PNG).await.unwrap();
    assert_eq!(code(accept(&s, "a.png", PNG).await).0, "too_many_files");
    let entries = exitentry_services::audit::recent(&s.app, 20).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.action == "upload.remove")
            .count(),
        1
    );
}

async fn concurrent_uploads_never_pass_the_limit(t: &TestDb) {
    let s = setup(t);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let app = s.app.clone();
        set.spawn(async move {
            uploads::accept(
                &app,
                "applicant:1",
                OWNER,
                "hkid_front",
                &format!("{i}.png"),
                PNG,
            )
            .await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "too_many_files", "{e:?}"),
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(uploads::list(&s.app, OWNER).await.unwrap().len(), 3);
    assert_eq!(files_in(&s.store).len(), 3, "refused uploads leave no file");
}

backend_tests!(
    valid_files_are_kept_and_read_back_unchanged,
    the_bytes_decide_the_type_not_the_name,
    empty_and_oversize_files_are_refused,
    pdf_bombs_are_refused_quickly_in_fixed_memory,
    encrypted_and_damaged_pdfs_are_refused,
    client_names_never_reach_the_disk,
    an_altered_or_missing_file_is_not_served,
    an_owner_has_a_limited_number_of_files,
    concurrent_uploads_never_pass_the_limit,
);
