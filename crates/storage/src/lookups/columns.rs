//! A lookup row read into its records the same way from either driver: the SQLite readers'
//! `rusqlite` rows and PostgreSQL's own rows both answer these few column reads.

use crate::Result;
use crate::codes::FromCode;
use crate::documents::{DocumentRecord, StoredDocument};
use crate::error::corrupt;
use crate::people::{PersonRecord, StoredPerson};
use exitentry_domain::person::Names;

/// A document under a looked-up number, with its holder.
pub type Holding = (StoredDocument, StoredPerson);

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

impl Columns for sqlx::postgres::PgRow {
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

/// A document and its holder from the columns `documents::COLUMNS, documents::HOLDER_COLUMNS`
/// starting at `at`.
pub(super) fn holding(r: &impl Columns, at: usize) -> Result<Holding> {
    let issue_count = r.int(at + 4)?;
    let document = StoredDocument {
        id: r.int(at)?,
        doc: DocumentRecord {
            person_id: r.int(at + 1)?,
            kind: r.code(at + 2)?,
            number: r.text(at + 3)?,
            issue_count: (issue_count > 0).then(|| u8::try_from(issue_count).unwrap_or(u8::MAX)),
            issued_on: r.code(at + 5)?,
            expires_on: r.code(at + 6)?,
            status: r.code(at + 7)?,
            office_code: r.maybe_text(at + 8)?,
        },
    };
    let h = at + 9;
    let person = StoredPerson {
        id: document.doc.person_id,
        person: PersonRecord {
            external_id: r.text(h)?,
            names: Names {
                zh: r.maybe_text(h + 1)?,
                latin: r.text(h + 2)?,
            },
            sex: r.code(h + 3)?,
            date_of_birth: r.code(h + 4)?,
            region: r.code(h + 5)?,
            nationality: r.code(h + 6)?,
            id_kind: r.code(h + 7)?,
            id_number: r.text(h + 8)?,
            hukou_area: r.maybe_text(h + 9)?,
        },
    };
    Ok((document, person))
}
