//! Pure rules of the exit-entry registry: parsed value types, documents, offices and
//! policies. No I/O and no clock: "today" always comes in as an argument.

pub mod centre;
pub mod countries;
pub mod document;
pub mod endorsements;
mod error_code;
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
pub mod states;
pub mod temporary_permit;
pub mod time;

pub use error_code::ErrorCode;
pub use invalid::Invalid;
