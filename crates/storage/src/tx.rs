//! The write transaction services hold: repository functions take `&mut *tx` (the
//! connection inside), and `commit` answers our own error so a service writes
//! `tx.commit().await?`. Dropped without a commit, it rolls back.

use crate::Result;
use sqlx::{Any, AnyConnection};
use std::ops::{Deref, DerefMut};

/// A transaction on either backend, begun by [`crate::Db::begin`] (`BEGIN IMMEDIATE` on
/// SQLite).
pub struct Tx(sqlx::Transaction<'static, Any>);

impl Tx {
    pub(crate) fn new(inner: sqlx::Transaction<'static, Any>) -> Self {
        Tx(inner)
    }

    /// Commits every write made through this transaction.
    pub async fn commit(self) -> Result<()> {
        Ok(self.0.commit().await?)
    }

    /// Undoes every write made through this transaction (dropping it does the same).
    pub async fn rollback(self) -> Result<()> {
        Ok(self.0.rollback().await?)
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}
