//! A lookup row read into what a check needs the same way from every driver: the SQLite
//! readers' `rusqlite` rows, PostgreSQL's own rows and sqlx `Any` rows (an in-memory
//! database) all answer these few column reads.

use crate::Result;
use crate::codes::FromCode;
use crate::error::corrupt;
use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::Names;

/// What a check reads of a document under a looked-up number and of its holder: what its
/// answer is made of and nothing more (no identity numbers, no addresses, no other person's
/// data leaves the database for a check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub document_id: i64,
    pub person_id: i64,
    pub kind: DocumentKind,
    pub number: String,
    /// Home return permits: which card under the number (`None` when stored without one).
    pub issue_count: Option<u8>,
    pub issued_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// As stored; a reader derives today's status from it and the expiry.
    pub status: DocumentStatus,
    pub names: Names,
    pub date_of_birth: NaiveDate,
}

/// The columns [`holding`] reads, from `document_checks c` (migration 0026: a document and
/// its holder in one row under its number, kept current by triggers).
pub(crate) const CHECK_COLUMNS: &str = "c.document_id, c.person_id, c.kind, c.number, \
     c.issue_count, c.issued_on, c.expires_on, c.status, c.name_zh, c.name_latin, c.date_of_birth";

/// The column reads a lookup row needs, by position.
pub(super) trait Columns {
    fn int(&self, i: usize) -> Result<i64>;
    fn text(&self, i: usize) -> Result<String>;
    fn maybe_text(&self, i: usize) -> Result<Option<String>>;
    /// The column's text handed to `f` without a copy.
    fn with_text<T>(&self, i: usize, f: impl FnOnce(&str) -> T) -> Result<T>;

    /// A stored code read into its domain type; an unknown one is corrupt data.
    fn code<T: FromCode>(&self, i: usize) -> Result<T> {
        self.with_text(i, T::from_code)?
            .map_err(|e| corrupt(format!("column {i}: {e}")))
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn maybe_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn with_text<T>(&self, i: usize, f: impl FnOnce(&str) -> T) -> Result<T> {
        let value = self.get_ref(i)?;
        let text = value
            .as_str()
            .map_err(|e| corrupt(format!("column {i}: {e}")))?;
        Ok(f(text))
    }
}

/// sqlx rows read alike whatever their database.
macro_rules! sqlx_columns {
    ($($row:ty),+) => {$(
        impl Columns for $row {
            fn int(&self, i: usize) -> Result<i64> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn text(&self, i: usize) -> Result<String> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn maybe_text(&self, i: usize) -> Result<Option<String>> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn with_text<T>(&self, i: usize, f: impl FnOnce(&str) -> T) -> Result<T> {
                Ok(f(sqlx::Row::try_get::<&str, _>(self, i)?))
            }
        }
    )+};
}

sqlx_columns!(sqlx::postgres::PgRow, sqlx::any::AnyRow);

/// A document and its holder from the columns [`CHECK_COLUMNS`] starting at `at`.
pub(super) fn holding(r: &impl Columns, at: usize) -> Result<Holding> {
    let issue_count = r.int(at + 4)?;
    Ok(Holding {
        document_id: r.int(at)?,
        person_id: r.int(at + 1)?,
        kind: r.code(at + 2)?,
        number: r.text(at + 3)?,
        issue_count: (issue_count > 0).then(|| u8::try_from(issue_count).unwrap_or(u8::MAX)),
        issued_on: r.code(at + 5)?,
        expires_on: r.code(at + 6)?,
        status: r.code(at + 7)?,
        names: Names {
            zh: r.maybe_text(at + 8)?,
            latin: r.text(at + 9)?,
        },
        date_of_birth: r.code(at + 10)?,
    })
}
