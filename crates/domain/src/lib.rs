//! Pure rules of the exit-entry registry: parsed value types, documents, offices and
//! policies. No I/O and no clock: "today" always comes in as an argument.

pub mod centre;
pub mod document;
pub mod endorsements;
pub mod hrp;
pub mod ids;
mod invalid;
pub mod numbers;
pub mod office;
pub mod partners;
pub mod person;
pub mod policy;
pub mod products;
pub mod staff;
pub mod temporary_permit;
pub mod time;

pub use invalid::Invalid;
