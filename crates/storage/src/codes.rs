//! Columns that hold more than their SQL type says: domain codes kept as text, flags kept as
//! integers, amounts with their currency. Row structs read them with
//! `#[sqlx(try_from = "Code<TicketState>")]` (or `Flag`, `Fen`, `flatten, try_from =
//! "Amount"`); a stored code the domain does not know fails with the domain's `Invalid`,
//! which `error.rs` turns into `StorageError::Corrupt` (never a panic further up).

use chrono::NaiveDate;
use exitentry_domain::Invalid;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::IdKind;
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::{Nationality, Region, Sex, parse_date};
use exitentry_domain::products::{Currency, Money};
use exitentry_domain::states::{
    AppointmentState, CentreApplicationState, CounterPaymentState, EndorsementApplicationState,
    EndorsementState, LinkageProofState, PaymentOrderState, PreApplicationState, PrintJobState,
    TemporaryPermitApplicationState, TemporaryPermitState, TicketState,
};
use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, Type};

/// A code column read into its domain type `T` (parsed while the row is decoded).
pub(crate) struct Code<T>(T);

/// A domain type kept as its code.
pub(crate) trait FromCode: Sized {
    fn from_code(code: &str) -> Result<Self, Invalid>;
}

impl<T> Type<Any> for Code<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: FromCode> Decode<'r, Any> for Code<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let code = <&str as Decode<Any>>::decode(value)?;
        Ok(Code(T::from_code(code)?))
    }
}

/// A yes/no column (`0` or `1`: both backends keep flags as integers).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Flag(i64);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

/// An amount in fen, in a table that takes yuan only (no currency column).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Fen(i64);

impl From<Fen> for Money {
    fn from(f: Fen) -> Money {
        Money::cny(f.0)
    }
}

/// An amount in minor units and its currency, the two columns of one `Money`.
#[derive(sqlx::FromRow)]
pub(crate) struct Amount {
    amount_cents: i64,
    #[sqlx(try_from = "Code<Currency>")]
    currency: Currency,
}

impl From<Amount> for Money {
    fn from(a: Amount) -> Money {
        Money::new(a.amount_cents, a.currency)
    }
}

/// `FromCode` and `From<Code<T>>` for each type read from a code column, with the function
/// that parses it (a macro because the orphan rule allows `From<Code<T>> for T` only type by
/// type).
macro_rules! read_from_code {
    ($($t:ty => $parse:path),+ $(,)?) => {$(
        impl FromCode for $t {
            fn from_code(code: &str) -> Result<Self, Invalid> {
                $parse(code)
            }
        }
        impl From<Code<$t>> for $t {
            fn from(c: Code<$t>) -> $t {
                c.0
            }
        }
    )+};
}

/// The lifecycle enums (`domain::states::Lifecycle`), read from their code.
macro_rules! lifecycles {
    ($($state:ident),+ $(,)?) => {
        read_from_code!($($state => $state::parse),+);
    };
}

// Every lifecycle of `domain::states` a row reads (a new one joins this list).
lifecycles!(
    AppointmentState,
    TicketState,
    CentreApplicationState,
    CounterPaymentState,
    EndorsementApplicationState,
    PrintJobState,
    PaymentOrderState,
    PreApplicationState,
    TemporaryPermitState,
    TemporaryPermitApplicationState,
    LinkageProofState,
    EndorsementState,
);

read_from_code!(
    DocumentStatus => DocumentStatus::parse,
    DocumentKind => DocumentKind::parse,
    Currency => Currency::parse,
    Sex => Sex::parse,
    Region => Region::parse,
    Nationality => Nationality::parse,
    IdKind => IdKind::parse,
    NaiveDate => parse_date,
);
