//! All SQL of the platform. One repository layer over sqlx's `Any` driver, running the
//! same statements on SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! Repository functions take `&mut AnyConnection` so the caller (a service) decides the
//! transaction: a business write and its audit entry commit together or not at all.

pub mod accounts;
pub mod appointments;
pub mod audit;
mod bulk;
pub mod centre;
pub mod changes;
pub mod check_log;
mod codes;
mod db;
pub mod documents;
pub mod endorsement_applications;
pub mod endorsements;
mod error;
pub mod guards;
pub mod holders;
pub mod jobs;
pub mod linkage_proofs;
pub mod lookups;
pub mod migrations;
pub mod offices;
pub mod online_payments;
pub mod partners;
pub mod people;
pub mod pre_applications;
pub mod schema;
pub mod signing_keys;
pub mod staff;
mod statement;
pub mod temporary_permits;
pub mod testing;
mod time;
mod tx;
pub mod uploads;
mod url;

pub use db::{Backend, Db};
pub use error::StorageError;
pub use sqlx::AnyConnection;
pub use time::{from_micros, to_micros};
pub use tx::Tx;
pub use url::DatabaseUrl;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
