//! Database URLs, checked before anything connects: a typo must be an error, never a new
//! empty database in an unexpected place.

use crate::StorageError;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file; its folder is created on first use.
    Sqlite {
        path: PathBuf,
    },
    /// An in-memory SQLite database (tests).
    SqliteMemory,
    Postgres {
        url: String,
    },
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, StorageError> {
        let raw = raw.trim();
        let (scheme, rest) = raw.split_once(':').ok_or_else(|| {
            StorageError::BadUrl(format!(
                "database URL {:?} has no scheme; expected sqlite://PATH or postgres://HOST/DB",
                shown(raw)
            ))
        })?;
        match scheme {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split('?').next().unwrap_or("");
                if path == ":memory:" {
                    return Ok(DatabaseUrl::SqliteMemory);
                }
                if path.is_empty() {
                    return Err(StorageError::BadUrl(
                        "sqlite URL has no file path; expected sqlite://./data/exitentry.db".into(),
                    ));
                }
                Ok(DatabaseUrl::Sqlite { path: path.into() })
            }
            "postgres" | "postgresql" => {
                if !rest.starts_with("//") {
                    return Err(StorageError::BadUrl(
                        "postgres URL must look like postgres://USER@HOST:PORT/DB".into(),
                    ));
                }
                Ok(DatabaseUrl::Postgres {
                    url: raw.to_string(),
                })
            }
            other => Err(StorageError::BadUrl(format!(
                "unsupported database URL scheme {other:?}; expected sqlite:// or postgres://"
            ))),
        }
    }

    /// The URL handed to sqlx; SQLite files are opened read-write-create.
    pub(crate) fn connect_url(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path } => format!("sqlite://{}?mode=rwc", path.display()),
            DatabaseUrl::SqliteMemory => "sqlite::memory:".into(),
            DatabaseUrl::Postgres { url } => url.clone(),
        }
    }
}

/// The URL without credentials, for messages.
fn shown(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/x.db").unwrap(),
            DatabaseUrl::Sqlite {
                path: "./data/x.db".into()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db?mode=rwc").unwrap(),
            DatabaseUrl::Sqlite {
                path: "/tmp/x.db".into()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap(),
            DatabaseUrl::SqliteMemory
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@localhost/db").unwrap(),
            DatabaseUrl::Postgres { .. }
        ));
    }

    #[test]
    fn typos_are_errors() {
        for bad in [
            "sqlit://x.db",
            "postgre://h/db",
            "./data/x.db",
            "sqlite://",
            "postgres:h/db",
            "mysql://h/db",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(bad), Err(StorageError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_do_not_appear_in_errors() {
        let e = DatabaseUrl::parse("postgress://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
