//! The platform's signing keys on disk: one root (signs trust lists and signer
//! certificates) and document signers, newest last. Private keys are written 0600 and
//! never logged; rotating adds a signer and keeps the old ones so their credentials verify
//! until they expire, or until the signer is retired (`keys/published.rs`).

use crate::ErrorCode;
use crate::{Result, ServiceError};
use exitentry_credentials::{Alg, GeneratedKey, SigningKey, generate_root, generate_signer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

mod published;
pub use published::{publish, reload, retire, start};
pub(crate) use published::{published_version, up_to_date};

/// Root certificates live 20 years, signers 2; credentials last days.
const ROOT_YEARS: i64 = 20;
const SIGNER_YEARS: i64 = 2;
const YEAR_SECS: i64 = 365 * 24 * 3600;

pub struct KeyStore {
    dir: PathBuf,
}

/// Loaded keys: the root and every signer in service, oldest first; the last one signs.
/// Read from the database, the root and the older signers come without their private keys
/// (empty), and retired signers are left out.
pub struct KeySet {
    pub root: GeneratedKey,
    pub signers: Vec<GeneratedKey>,
    /// The trust list the root signed when these keys were published: every node serves
    /// these bytes. `None` for keys read from the folder only (signed on request).
    pub trust_list: Option<String>,
    /// That trust list's version (`None` for keys read from the folder only).
    pub version: Option<i64>,
}

/// The keys a node signs and verifies with now; replaced while serving when a rotation or
/// a retirement is published (see [`reload`]).
#[derive(Default)]
pub struct LiveKeys {
    keys: RwLock<Option<Arc<KeySet>>>,
    /// One reload at a time, so that an older read never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl LiveKeys {
    pub fn get(&self) -> Option<Arc<KeySet>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, keys: KeySet) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(keys));
    }

    /// The published trust list version these keys came with.
    pub(crate) fn version(&self) -> Option<i64> {
        self.get().and_then(|k| k.version)
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySet {{ signers: {} }}", self.signers.len())
    }
}

impl KeySet {
    pub fn current(&self) -> Result<SigningKey> {
        let g = self
            .signers
            .last()
            .ok_or_else(|| ServiceError::Internal("no signer key".into()))?;
        if g.pkcs8_der.is_empty() {
            return Err(ServiceError::unavailable(
                ErrorCode::KeysNotInitialised,
                "this node cannot read the current signer's private key: set \
                 credentials.key_encryption_key (docs/CREDENTIALS.md)",
            ));
        }
        g.to_signing_key()
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    pub fn root_key(&self) -> Result<SigningKey> {
        self.root
            .to_signing_key()
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

fn io(e: std::io::Error, what: &Path) -> ServiceError {
    ServiceError::Internal(format!("{}: {e}", what.display()))
}

/// Writes a private key readable by the owner only, refusing to overwrite.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path).map_err(|e| io(e, path))?;
    f.write_all(bytes).map_err(|e| io(e, path))
}

impl KeyStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn signers_dir(&self) -> PathBuf {
        self.dir.join("signers")
    }

    pub fn exists(&self) -> bool {
        self.dir.join("root.key").exists()
    }

    /// Creates the root and a first signer. Refuses when keys already exist.
    pub fn init(&self, alg: Alg, now: i64) -> Result<[u8; 8]> {
        if self.exists() {
            return Err(ServiceError::conflict(
                ErrorCode::KeysExist,
                format!(
                    "keys already exist in {}; use `keys rotate`",
                    self.dir.display()
                ),
            ));
        }
        std::fs::create_dir_all(self.signers_dir()).map_err(|e| io(e, &self.dir))?;
        let root = generate_root("exitentry root", alg, now, now + ROOT_YEARS * YEAR_SECS)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        write_private(&self.dir.join("root.key"), &root.pkcs8_der)?;
        std::fs::write(self.dir.join("root.crt"), &root.cert_der).map_err(|e| io(e, &self.dir))?;
        std::fs::write(self.dir.join("root.alg"), alg.code()).map_err(|e| io(e, &self.dir))?;
        self.add_signer(&root, alg, now)
    }

    /// Adds a new signer issued by the root; it signs from now on.
    pub fn rotate(&self, alg: Alg, now: i64) -> Result<[u8; 8]> {
        let set = self.load()?;
        self.add_signer(&set.root, alg, now)
    }

    fn add_signer(&self, root: &GeneratedKey, alg: Alg, now: i64) -> Result<[u8; 8]> {
        let g = generate_signer(
            root,
            "exitentry document signer",
            alg,
            now,
            now + SIGNER_YEARS * YEAR_SECS,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let kid = g
            .to_signing_key()
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .kid();
        // Names sort by creation time, so the newest signer is last.
        let stem = format!("{now:012}-{}-{}", alg.code(), hex::encode(kid));
        let dir = self.signers_dir();
        write_private(&dir.join(format!("{stem}.key")), &g.pkcs8_der)?;
        std::fs::write(dir.join(format!("{stem}.crt")), &g.cert_der).map_err(|e| io(e, &dir))?;
        Ok(kid)
    }

    pub fn load(&self) -> Result<KeySet> {
        let read = |p: PathBuf| std::fs::read(&p).map_err(|e| io(e, &p));
        let root_alg = String::from_utf8(read(self.dir.join("root.alg"))?).unwrap_or_default();
        let root_alg = Alg::parse(root_alg.trim())
            .ok_or_else(|| ServiceError::Internal("bad root.alg".into()))?;
        let root = GeneratedKey {
            alg: root_alg,
            pkcs8_der: read(self.dir.join("root.key"))?,
            cert_der: read(self.dir.join("root.crt"))?,
        };
        let mut names: Vec<String> = std::fs::read_dir(self.signers_dir())
            .map_err(|e| io(e, &self.dir))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".key"))
            .collect();
        names.sort();
        let mut signers = Vec::new();
        for n in names {
            let stem = n.trim_end_matches(".key");
            let alg = stem
                .split('-')
                .nth(1)
                .and_then(Alg::parse)
                .ok_or_else(|| ServiceError::Internal(format!("bad signer file name {n}")))?;
            signers.push(GeneratedKey {
                alg,
                pkcs8_der: read(self.signers_dir().join(&n))?,
                cert_der: read(self.signers_dir().join(format!("{stem}.crt")))?,
            });
        }
        if signers.is_empty() {
            return Err(ServiceError::Internal(format!(
                "no signers in {}",
                self.signers_dir().display()
            )));
        }
        Ok(KeySet {
            root,
            signers,
            trust_list: None,
            version: None,
        })
    }
}
