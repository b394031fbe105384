//! The registry rows services read by key — a person, a document, an office — answering
//! "not found" when there is none.

use crate::{Result, ServiceError};
use exitentry_domain::office::{Office, OfficeCode};
use exitentry_storage::documents::{self, StoredDocument};
use exitentry_storage::people::{self, StoredPerson};
use exitentry_storage::{AnyConnection, offices};

pub(crate) async fn person(conn: &mut AnyConnection, id: i64) -> Result<StoredPerson> {
    people::get(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("person"))
}

pub(crate) async fn document(conn: &mut AnyConnection, id: i64) -> Result<StoredDocument> {
    documents::get(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("document"))
}

pub(crate) async fn office(conn: &mut AnyConnection, code: &OfficeCode) -> Result<Office> {
    offices::get(conn, code)
        .await?
        .ok_or(ServiceError::NotFound("office"))
}
