//! Documents applicants upload (identity cards, passport data pages): checked before
//! anything is kept, stored under a random name in `uploads.dir`, read back only when
//! the digest still matches. This module does not decide who may read or remove a file;
//! the feature that owns the upload checks that before calling it.
//!
//! The type always comes from the bytes: JPEG, PNG or PDF. PDFs are refused when
//! encrypted (staff must read them) or when their compressed streams inflate past
//! `uploads.max_pdf_inflated_bytes` or `uploads.max_pdf_ratio` times the file size;
//! inflation runs through a fixed buffer and stops at the limit.

use crate::ErrorCode;
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Utc};
use exitentry_config::UploadsConfig;
use exitentry_storage::{from_micros, uploads as store};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// Images wider or taller than this are refused: no document scan needs more, and a
/// viewer decoding a huge bitmap would need gigabytes.
const MAX_IMAGE_SIDE: usize = 16_384;
const MAX_IMAGE_PIXELS: usize = 80_000_000;
/// `%%EOF` must be within this many bytes of the end (writers may add a little after it).
const PDF_EOF_WINDOW: usize = 1024;
/// Nested FlateDecode layers followed inside one stream (`[/FlateDecode /FlateDecode]`).
const MAX_FLATE_LAYERS: u32 = 4;
/// Each compressed stream costs a fresh inflater (tens of KB to set up), so a file of
/// thousands of tiny streams would cost CPU without ever reaching the size caps.
const MAX_PDF_STREAMS: usize = 10_000;
/// Filters applied before FlateDecode would hide a bomb from the zlib check below, so
/// PDFs naming them are refused; scanners and "print to PDF" do not produce them.
const UNCHECKED_FILTERS: [&[u8]; 3] = [b"/ASCIIHexDecode", b"/ASCII85Decode", b"/LZWDecode"];
const DISPLAY_STEM_CHARS: usize = 80;

/// What an upload really is, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileType {
    Jpeg,
    Png,
    Pdf,
}

impl FileType {
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Pdf => "application/pdf",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png)
    }

    /// Extensions a display name may keep; the first is the one given otherwise.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Jpeg => &["jpg", "jpeg"],
            FileType::Png => &["png"],
            FileType::Pdf => &["pdf"],
        }
    }
}

/// The type from the magic bytes; a name or a declared content type never decides it.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileType::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileType::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else {
        None
    }
}

/// Width and height from a JPEG or PNG header, without decoding the image (shared with
/// the photo station). `None` when the header cannot be read.
pub(crate) fn image_size(bytes: &[u8]) -> Option<(usize, usize)> {
    // imagesize reads a PNG's size at a fixed offset; make sure that is really IHDR.
    if sniff(bytes) == Some(FileType::Png) && bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return None;
    }
    let s = imagesize::blob_size(bytes).ok()?;
    Some((s.width, s.height))
}

/// An accepted upload as callers see it (no path: files are reached through [`open`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upload {
    pub id: String,
    pub owner: String,
    pub purpose: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

fn view(r: &store::UploadRow) -> Upload {
    Upload {
        id: r.id.clone(),
        owner: r.owner.clone(),
        purpose: r.purpose.clone(),
        content_type: r.content_type.clone(),
        size: r.size,
        sha256: r.sha256.clone(),
        display_name: r.display_name.clone(),
        created_at: from_micros(r.created_at),
    }
}

/// A limit in MB as people read it ("5 MB", "0.5 MB").
fn mb(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m.fract() == 0.0 {
        format!("{m:.0} MB")
    } else {
        format!("{m:.1} MB")
    }
}

/// Checks the bytes against every rule that needs no database: not empty, a JPEG, PNG
/// or PDF by its bytes, within its size limit, a readable image header with sane
/// dimensions, or a complete, unencrypted PDF that is no decompression bomb. Returns
/// the real type. Synchronous and CPU-bound (PDF inflation): run it off the async threads.
pub fn inspect(limits: &UploadsConfig, bytes: &[u8]) -> Result<FileType> {
    if bytes.is_empty() {
        return Err(ServiceError::bad_input(
            "file",
            ErrorCode::EmptyFile,
            "the file is empty",
        ));
    }
    let kind = sniff(bytes).ok_or_else(|| {
        ServiceError::bad_input(
            "file",
            ErrorCode::BadFileType,
            "only JPEG or PNG images and PDF documents are accepted",
        )
    })?;
    let limit = if kind.is_image() {
        limits.max_image_bytes
    } else {
        limits.max_pdf_bytes
    };
    if bytes.len() > limit {
        let what = if kind.is_image() {
            "an image"
        } else {
            "a PDF document"
        };
        return Err(ServiceError::bad_input(
            "file",
            ErrorCode::FileTooLarge,
            format!("{what} may have at most {}", mb(limit as u64)),
        ));
    }
    if kind.is_image() {
        let (w, h) = image_size(bytes).ok_or_else(|| {
            ServiceError::bad_input("file", ErrorCode::BadImage, "this image cannot be read")
        })?;
        if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE || w * h > MAX_IMAGE_PIXELS
        {
            return Err(ServiceError::bad_input(
                "file",
                ErrorCode::BadImage,
                format!("an image may have at most {MAX_IMAGE_SIDE} pixels on a side"),
            ));
        }
    } else {
        check_pdf(limits, bytes)?;
    }
    Ok(kind)
}

fn check_pdf(limits: &UploadsConfig, bytes: &[u8]) -> Result<()> {
    let tail = &bytes[bytes.len().saturating_sub(PDF_EOF_WINDOW)..];
    if find(tail, b"%%EOF").is_none() {
        return Err(ServiceError::bad_input(
            "file",
            ErrorCode::PdfDamaged,
            "this PDF is incomplete or damaged",
        ));
    }
    if has_name(bytes, b"/Encrypt") {
        return Err(ServiceError::bad_input(
            "file",
            ErrorCode::PdfEncrypted,
            "this PDF is password-protected; send it without a password",
        ));
    }
    if UNCHECKED_FILTERS.iter().any(|f| has_name(bytes, f)) {
        return Err(too_complex());
    }
    let cap = limits
        .max_pdf_inflated_bytes
        .min(limits.max_pdf_ratio.saturating_mul(bytes.len() as u64));
    let budget = Budget {
        used: Cell::new(0),
        cap,
    };
    // One buffer for every stream: memory stays fixed whatever the streams inflate to.
    let mut buf = vec![0u8; 64 * 1024];
    let compressed = stream_starts(bytes).filter(|d| is_zlib_header(d));
    for (n, data) in compressed.enumerate() {
        if n >= MAX_PDF_STREAMS {
            return Err(too_complex());
        }
        let mut layer = Counted {
            inner: flate2::bufread::ZlibDecoder::new(data),
            budget: &budget,
        };
        drain(&mut layer, 1, &budget, &mut buf);
        if budget.over() {
            return Err(too_complex());
        }
    }
    Ok(())
}

fn too_complex() -> ServiceError {
    ServiceError::bad_input(
        "file",
        ErrorCode::PdfTooComplex,
        "this PDF cannot be checked safely; scan the document again or send a photo of it",
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether the PDF name `name` (with its slash) occurs as a whole token: `/Encrypt` but
/// not `/EncryptMetadata`.
fn has_name(bytes: &[u8], name: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = find(&bytes[from..], name) {
        let end = from + i + name.len();
        match bytes.get(end) {
            None => return true,
            Some(c) if !is_regular(*c) => return true,
            _ => from = end,
        }
    }
    false
}

/// PDF "regular" characters: neither white space nor a delimiter.
fn is_regular(c: u8) -> bool {
    !matches!(
        c,
        b'\0'
            | b'\t'
            | b'\n'
            | 0x0C
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// The data after each `stream` keyword (to the end of the file: the decoder stops at
/// the end of its own stream, so a wrong or indirect `/Length` does not matter).
fn stream_starts(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let i = from + find(&bytes[from..], b"stream")?;
            from = i + 6;
            if i >= 3 && &bytes[i - 3..i] == b"end" {
                continue;
            }
            let rest = &bytes[from..];
            let data = if rest.starts_with(b"\r\n") {
                &rest[2..]
            } else if rest.starts_with(b"\n") || rest.starts_with(b"\r") {
                &rest[1..]
            } else {
                continue;
            };
            return Some(data);
        }
    })
}

/// A zlib header as FlateDecode streams begin: deflate method, a valid check value and no
/// preset dictionary.
fn is_zlib_header(b: &[u8]) -> bool {
    match b {
        [cmf, flg, ..] => {
            cmf & 0x0F == 8
                && cmf >> 4 <= 7
                && flg & 0x20 == 0
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// The inflated bytes counted so far against the cap.
struct Budget {
    used: Cell<u64>,
    cap: u64,
}

impl Budget {
    fn over(&self) -> bool {
        self.used.get() > self.cap
    }
}

/// A reader whose output is counted; it fails as soon as the budget is passed, which
/// stops every layer above it.
struct Counted<'a, R> {
    inner: R,
    budget: &'a Budget,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.budget.over() {
            return Err(std::io::Error::other("inflation budget passed"));
        }
        let n = self.inner.read(buf)?;
        self.budget
            .used
            .set(self.budget.used.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Reads `r` to its end (or its first error), following a nested zlib layer when the
/// output starts with one. Both layers' output counts, so a broken inner layer cannot hide
/// what the outer one inflates to.
fn drain(r: &mut dyn Read, depth: u32, budget: &Budget, buf: &mut [u8]) {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match r.read(&mut head[got..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => got += n,
        }
    }
    if depth < MAX_FLATE_LAYERS && is_zlib_header(&head) {
        let mut rest = Cursor::new(head).chain(&mut *r);
        let mut inner = Counted {
            inner: flate2::read::ZlibDecoder::new(&mut rest),
            budget,
        };
        drain(&mut inner, depth + 1, budget, buf);
    }
    while !budget.over() {
        match r.read(buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The client's file name made safe to show and to offer as a download name: the last
/// path component only, no control or direction-changing characters, limited length, and
/// the extension of the real type. Never used for a path.
pub fn display_name(declared: &str, kind: FileType) -> String {
    let last = declared.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .map(|c| if c == ':' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e))
            if !e.is_empty() && e.len() <= 5 && e.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (s.trim_end(), Some(e))
        }
        _ => (cleaned, None),
    };
    let ext = ext
        .filter(|e| kind.extensions().iter().any(|k| k.eq_ignore_ascii_case(e)))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| kind.extensions()[0].to_string());
    let stem: String = stem.chars().take(DISPLAY_STEM_CHARS).collect();
    let stem = stem.trim();
    let stem = if stem.is_empty() { "file" } else { stem };
    format!("{stem}.{ext}")
}

fn random_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A stored name is 32 hex digits; anything else read back from the database is refused
/// rather than joined to a path.
fn is_stored_name(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> ServiceError {
    tracing::error!(path = %path.display(), error = %e, "uploads: {what} failed");
    ServiceError::Internal(format!("upload store: {what} failed"))
}

/// Writes the bytes under a new random name: a temporary file first, synced, then renamed,
/// so a crash never leaves a partial file under a name the database knows.
fn write_file(dir: &Path, bytes: &[u8]) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| io_error("creating the folder", dir, e))?;
    let name = random_hex();
    let tmp = dir.join(format!(".tmp-{name}"));
    let result = (|| {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(&name))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("writing", &tmp, e));
    }
    Ok(name)
}

fn remove_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "uploads: could not remove a file");
    }
}

fn check_owner_and_purpose(owner: &str, purpose: &str) -> Result<()> {
    if owner.is_empty() || owner.len() > 200 || owner.chars().any(char::is_control) {
        return Err(ServiceError::bad_input(
            "owner",
            ErrorCode::BadOwner,
            "an upload needs an owner",
        ));
    }
    let purpose_ok = !purpose.is_empty()
        && purpose.len() <= 64
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !purpose_ok {
        return Err(ServiceError::bad_input(
            "purpose",
            ErrorCode::BadPurpose,
            "a purpose is a short code such as hkid_front",
        ));
    }
    Ok(())
}

fn too_many(max: i64) -> ServiceError {
    ServiceError::conflict(
        ErrorCode::TooManyFiles,
        format!("at most {max} files may be uploaded here; remove one first"),
    )
}

/// Checks and stores a file for `owner` (e.g. `hrp_application:ID`) and `purpose` (e.g.
/// `passport_page`). `declared_name` is the client's file name, kept only for display.
/// `actor` is who uploads, for the audit log.
pub async fn accept(
    app: &App,
    actor: &str,
    owner: &str,
    purpose: &str,
    declared_name: &str,
    bytes: &[u8],
) -> Result<Upload> {
    check_owner_and_purpose(owner, purpose)?;
    let limits = app.config.uploads.clone();
    let max_files = limits.max_files_per_owner;
    // A cheap early refusal; the place taken in the transaction below is what counts.
    {
        let mut conn = app.db.conn().await?;
        if store::count_for_owner(&mut conn, owner).await? >= max_files {
            return Err(too_many(max_files));
        }
    }
    if bytes.len() > limits.max_image_bytes.max(limits.max_pdf_bytes) {
        // Refused before copying; `inspect` gives the message with the type's limit.
        inspect(&limits, bytes)?;
    }
    let bytes = bytes.to_vec();
    let dir = PathBuf::from(&limits.dir);
    // On a shared database every node must read the file: its bytes go into the database
    // with its record; the single-node SQLite default keeps them on disk (docs/UPLOADS.md).
    let in_db = match app.config.uploads.store.as_str() {
        "database" => true,
        "directory" => false,
        _ => app.db.backend() == crate::Backend::Postgres,
    };
    let (kind, sha256, stored_name, size, contents) = tokio::task::spawn_blocking(move || {
        let kind = inspect(&limits, &bytes)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;
        if in_db {
            return Ok::<_, ServiceError>((kind, sha256, random_hex(), size, Some(bytes)));
        }
        let stored = write_file(&dir, &bytes)?;
        Ok((kind, sha256, stored, size, None))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("upload check: {e}")))??;
    let row = store::UploadRow {
        id: random_hex(),
        owner: owner.to_string(),
        purpose: purpose.to_string(),
        content_type: kind.mime().to_string(),
        size,
        sha256,
        display_name: display_name(declared_name, kind),
        stored_name,
        created_at: app.now_micros(),
        deleted_at: None,
    };
    let path = Path::new(&app.config.uploads.dir).join(&row.stored_name);
    match record_accept(app, actor, &row, contents.as_deref(), max_files).await {
        Ok(()) => Ok(view(&row)),
        Err(e) => {
            if contents.is_none() {
                remove_file(&path);
            }
            Err(e)
        }
    }
}

async fn record_accept(
    app: &App,
    actor: &str,
    row: &store::UploadRow,
    contents: Option<&[u8]>,
    max_files: i64,
) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::take_place(&mut tx, &row.owner, max_files).await? {
        return Err(too_many(max_files));
    }
    store::insert(&mut tx, row).await?;
    if let Some(bytes) = contents {
        store::insert_contents(&mut tx, &row.id, bytes).await?;
    }
    let mut detail = what_is_audited(row);
    detail["content_type"] = json!(row.content_type);
    audit::record(
        app,
        &mut tx,
        actor,
        "upload.accept",
        &row_subject(row),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The audit subject of an upload.
fn row_subject(row: &store::UploadRow) -> String {
    format!("upload:{}", row.id)
}

/// What the audit keeps of an upload: whose, what for, its digest and size (never the
/// client's file name).
fn what_is_audited(row: &store::UploadRow) -> serde_json::Value {
    json!({"owner": row.owner, "purpose": row.purpose, "sha256": row.sha256, "size": row.size})
}

async fn live(app: &App, id: &str) -> Result<store::UploadRow> {
    let mut conn = app.db.conn().await?;
    store::get(&mut conn, id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(ServiceError::NotFound("upload"))
}

/// The upload and its bytes, after checking they still have the recorded digest. The
/// caller must have checked that the reader may see this owner's files.
pub async fn open(app: &App, id: &str) -> Result<(Upload, Vec<u8>)> {
    let row = live(app, id).await?;
    let in_db = {
        let mut conn = app.db.conn().await?;
        store::contents(&mut conn, &row.id).await?
    };
    if let Some(bytes) = in_db {
        if hex::encode(Sha256::digest(&bytes)) != row.sha256 {
            tracing::error!(upload = %row.id, "uploads: stored bytes do not match their SHA-256");
            return Err(ServiceError::Internal(
                "upload store: file does not match its digest".into(),
            ));
        }
        return Ok((view(&row), bytes));
    }
    if !is_stored_name(&row.stored_name) {
        tracing::error!(upload = %row.id, "uploads: stored name is not a random name");
        return Err(ServiceError::Internal(
            "upload store: bad stored name".into(),
        ));
    }
    let path = Path::new(&app.config.uploads.dir).join(&row.stored_name);
    let expected = row.sha256.clone();
    let (bytes, digest) = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|e| io_error("reading", &path, e))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        Ok::<_, ServiceError>((bytes, digest))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("upload read: {e}")))??;
    if digest != expected {
        tracing::error!(upload = %row.id, "uploads: stored file does not match its SHA-256");
        return Err(ServiceError::Internal(
            "upload store: file does not match its digest".into(),
        ));
    }
    Ok((view(&row), bytes))
}

/// An owner's uploads, oldest first.
pub async fn list(app: &App, owner: &str) -> Result<Vec<Upload>> {
    let mut conn = app.db.conn().await?;
    Ok(store::for_owner(&mut conn, owner)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// Removes an upload: the record is kept as deleted (for the audit trail), the file goes
/// and the owner's place is given back.
pub async fn remove(app: &App, actor: &str, id: &str) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let row = store::get(&mut tx, id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(ServiceError::NotFound("upload"))?;
    if !store::mark_deleted(&mut tx, id, app.now_micros()).await? {
        return Err(ServiceError::NotFound("upload"));
    }
    store::release_place(&mut tx, &row.owner).await?;
    store::delete_contents(&mut tx, id).await?;
    let detail = what_is_audited(&row);
    audit::record(
        app,
        &mut tx,
        actor,
        "upload.remove",
        &row_subject(&row),
        detail,
    )
    .await?;
    tx.commit().await?;
    // After the commit: a file left behind by a failed removal is only logged, never
    // served (its record is deleted).
    if is_stored_name(&row.stored_name) {
        remove_file(&Path::new(&app.config.uploads.dir).join(&row.stored_name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(FileType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(FileType::Png));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b"\x7fELF"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[test]
    fn display_names_are_last_components_without_controls() {
        let n = |s: &str, k| display_name(s, k);
        assert_eq!(n("../../etc/passwd.pdf", FileType::Pdf), "passwd.pdf");
        assert_eq!(n("C:\\Windows\\x.png", FileType::Png), "x.png");
        assert_eq!(n("a\0b\nc.pdf", FileType::Pdf), "abc.pdf");
        assert_eq!(n("", FileType::Jpeg), "file.jpg");
        assert_eq!(n("..", FileType::Pdf), "file.pdf");
        assert_eq!(n("scan.JPEG", FileType::Jpeg), "scan.jpeg");
        assert_eq!(n("scan.jpg", FileType::Png), "scan.png");
        assert_eq!(n("護照 資料頁", FileType::Pdf), "護照 資料頁.pdf");
        assert_eq!(n("x\u{202E}gpj.exe", FileType::Jpeg), "xgpj.jpg");
        assert_eq!(n("C:x.png", FileType::Png), "C_x.png");
        let long = n(&"a".repeat(500), FileType::Pdf);
        assert_eq!(long.chars().count(), DISPLAY_STEM_CHARS + 4);
    }

    #[test]
    fn names_match_whole_tokens_only() {
        assert!(has_name(b"trailer << /Encrypt 5 0 R >>", b"/Encrypt"));
        assert!(has_name(b"<</Encrypt<</V 2>>>>", b"/Encrypt"));
        assert!(!has_name(b"<< /EncryptMetadata false >>", b"/Encrypt"));
        assert!(has_name(b"x /Encrypt", b"/Encrypt"));
    }

    #[test]
    fn zlib_headers_and_stream_starts() {
        assert!(is_zlib_header(&[0x78, 0x9C]));
        assert!(is_zlib_header(&[0x78, 0x01]));
        assert!(!is_zlib_header(&[0xFF, 0xD8]));
        assert!(!is_zlib_header(b"BT"));
        let pdf = b"1 0 obj<<>>stream\r\nAB\nendstream\n2 0 obj<<>>stream\nCD\nendstream";
        let starts: Vec<&[u8]> = stream_starts(pdf).map(|d| &d[..2]).collect();
        assert_eq!(starts, vec![b"AB".as_slice(), b"CD".as_slice()]);
    }

    #[test]
    fn too_many_compressed_streams_are_refused() {
        let one = {
            use flate2::write::ZlibEncoder;
            let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b"q Q").unwrap();
            e.finish().unwrap()
        };
        let pdf = |streams: usize| {
            let mut v = b"%PDF-1.7\n".to_vec();
            for _ in 0..streams {
                v.extend(b"<< /Filter /FlateDecode >>\nstream\n");
                v.extend(&one);
                v.extend(b"\nendstream\n");
            }
            v.extend(b"%%EOF\n");
            v
        };
        let limits = UploadsConfig::default();
        assert_eq!(inspect(&limits, &pdf(100)).unwrap(), FileType::Pdf);
        let many = inspect(&limits, &pdf(MAX_PDF_STREAMS + 1)).unwrap_err();
        assert_eq!(many.code(), "pdf_too_complex");
    }

    #[test]
    fn megabytes_read_naturally() {
        assert_eq!(mb(5 * 1024 * 1024), "5 MB");
        assert_eq!(mb(512 * 1024), "0.5 MB");
    }
}
