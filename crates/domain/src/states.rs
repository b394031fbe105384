//! Every lifecycle the platform stores, one enum each: the code kept in the database
//! (`code()`, never renamed: rows written by earlier versions must still read), parsing
//! (an unknown code is an [`Invalid`] with code `bad_status`), every variant (`ALL`), and
//! the moves the services make (`next()` / `can_become()`), all of it through [`Lifecycle`].
//!
//! Storage decodes a row's status once into these enums and binds `code()` in conditional
//! updates (`… SET status = $to WHERE id = $1 AND status = $from`); services compare the
//! enums. To add a state: add the variant with its code here and `=> [the states it may
//! move to]`, and write the service that makes the move (the tests below walk both).
//! Serialized (JSON) and displayed (`{}`), a state is its code.

use crate::{ErrorCode, Invalid};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

pub use crate::document::DocumentStatus;

/// What every lifecycle enum offers: its states, their stored codes and the moves between
/// them (for code generic over lifecycles: storage's conditional updates, the tests below).
pub trait Lifecycle: Copy + Eq + fmt::Debug + fmt::Display + 'static {
    /// Every state, in the order of the lifecycle.
    const ALL: &'static [Self];
    /// The code stored in the database (and shown in JSON).
    fn code(self) -> &'static str;
    /// The state a stored code names; `bad_status` for any other text.
    fn parse(s: &str) -> Result<Self, Invalid>;
    /// The states this one may move to.
    fn next(self) -> &'static [Self];
    /// Whether the lifecycle allows the move from `self` to `next`.
    fn can_become(self, next: Self) -> bool {
        self.next().contains(&next)
    }
}

/// Declares a lifecycle enum: each state with its stored code and `=> [the states it may
/// move to]` (none when left out), and the impls every lifecycle shares.
macro_rules! lifecycle {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal $(=> [$($to:ident),* $(,)?])? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every state, in the order of the lifecycle.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code stored in the database (and shown in JSON).
            pub const fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The state a stored code names; `bad_status` for any other text.
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(Invalid::new(
                        ErrorCode::BadStatus,
                        format!(
                            concat!("{:?} is not a ", $what, " status (one of {})"),
                            s,
                            [$($code),+].join(", ")
                        ),
                    )),
                }
            }

            /// The states this one may move to.
            pub fn next(self) -> &'static [Self] {
                match self {
                    $($name::$variant => &[$($($name::$to),*)?]),+
                }
            }

            /// Whether the lifecycle allows the move from `self` to `next`.
            pub fn can_become(self, next: Self) -> bool {
                self.next().contains(&next)
            }
        }

        impl Lifecycle for $name {
            const ALL: &'static [Self] = $name::ALL;
            fn code(self) -> &'static str {
                $name::code(self)
            }
            fn parse(s: &str) -> Result<Self, Invalid> {
                $name::parse(s)
            }
            fn next(self) -> &'static [Self] {
                $name::next(self)
            }
        }

        impl FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                $name::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

lifecycle! {
    /// A booked appointment (slot) at a service centre: booked until cancelled, checked in at
    /// the hall, or marked a no-show after the slot. A reschedule moves the slot, not the
    /// state.
    AppointmentState, "appointment" {
        Booked = "booked" => [Cancelled, CheckedIn, NoShow],
        Cancelled = "cancelled",
        CheckedIn = "checked_in",
        /// The slot ended without a check-in.
        NoShow = "no_show",
    }
}

lifecycle! {
    /// A queue ticket in the hall: called to a counter; there served (`done`), skipped, or
    /// sent back to wait in the queue of another service (a transfer).
    TicketState, "ticket" {
        Waiting = "waiting" => [Called],
        Called = "called" => [Done, Skipped, Waiting],
        Done = "done",
        Skipped = "skipped",
    }
}

lifecycle! {
    /// An application accepted at a centre's counter (a document to produce).
    CentreApplicationState, "application" {
        Accepted = "accepted" => [Paid],
        Paid = "paid" => [Ready],
        /// Produced, waiting for collection.
        Ready = "ready" => [Collected, UncollectedCancelled],
        Collected = "collected",
        /// Named by the schema since the first version; nothing moves an application here.
        Cancelled = "cancelled",
        /// Not collected in time (the reminder went out a month before).
        UncollectedCancelled = "uncollected_cancelled",
    }
}

impl CentreApplicationState {
    /// Still going (not collected, not cancelled): one per person and product.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CentreApplicationState::Accepted
                | CentreApplicationState::Paid
                | CentreApplicationState::Ready
        )
    }
}

lifecycle! {
    /// A payment taken at a centre's counter (cash or the terminal), recorded once in its
    /// final state; it never moves.
    CounterPaymentState, "payment" {
        Paid = "paid",
        Declined = "declined",
    }
}

lifecycle! {
    /// An endorsement application: online, at a kiosk or at a counter.
    EndorsementApplicationState, "endorsement application" {
        AwaitingPayment = "awaiting_payment" => [ReadyToPrint, UnderReview, Cancelled],
        /// A family visit waiting for a reviewer to confirm the declared relative.
        UnderReview = "under_review" => [ReadyToPrint, Rejected, Refunded],
        ReadyToPrint = "ready_to_print" => [Printing, Refunded],
        /// A failed print goes back to the queue until the attempts run out.
        Printing = "printing" => [Printed, ReadyToPrint, Refunded],
        Printed = "printed",
        /// Cancelled before it was paid.
        Cancelled = "cancelled",
        /// The reviewer refused the declared relative (the fee is refunded).
        Rejected = "rejected",
        /// Paid, then cancelled or refused on the print day (the fee is refunded).
        Refunded = "refunded",
    }
}

impl EndorsementApplicationState {
    /// Not yet printed, cancelled or refunded: one open application per card and
    /// destination.
    pub fn is_open(self) -> bool {
        use EndorsementApplicationState::*;
        matches!(
            self,
            AwaitingPayment | UnderReview | ReadyToPrint | Printing
        )
    }

    /// Whether the move records the payment (`paid_at`): out of `awaiting_payment` into
    /// the review or the print queue.
    pub fn pays(self, next: Self) -> bool {
        use EndorsementApplicationState::*;
        self == AwaitingPayment && matches!(next, ReadyToPrint | UnderReview)
    }
}

lifecycle! {
    /// A print job of an endorsement at a kiosk.
    PrintJobState, "print job" {
        Queued = "queued" => [Printing],
        Printing = "printing" => [Printed, Failed],
        Printed = "printed",
        /// The printer failed, or the kiosk stopped mid-print (`interrupted`); a retry is a
        /// new job.
        Failed = "failed",
    }
}

lifecycle! {
    /// An online (or terminal) payment order. A late success wins over a failure; a second
    /// payment of a subject already paid is recorded as refunded at once; a paid order may
    /// be refunded.
    PaymentOrderState, "payment order" {
        Pending = "pending" => [Paid, Failed, Refunded],
        Paid = "paid" => [Refunded],
        Failed = "failed" => [Paid, Refunded],
        Refunded = "refunded",
    }
}

lifecycle! {
    /// The non-Chinese home return permit's online pre-application.
    PreApplicationState, "pre-application" {
        Draft = "draft" => [Submitted],
        Submitted = "submitted" => [InReview],
        /// Claimed by a reviewer.
        InReview = "in_review" => [SupplementRequested, Approved, Rejected],
        SupplementRequested = "supplement_requested" => [Submitted],
        Approved = "approved" => [Used],
        Rejected = "rejected",
        /// An approved pre-application taken into an application at the counter.
        Used = "used",
    }
}

impl PreApplicationState {
    /// The applicant may change the form (a draft, or supplements asked for).
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            PreApplicationState::Draft | PreApplicationState::SupplementRequested
        )
    }
}

lifecycle! {
    /// A temporary e-permit as stored, plus `expired`, which is never stored: a valid
    /// permit past its end reads as expired ([`TemporaryPermitState::on`]).
    TemporaryPermitState, "temporary permit" {
        Valid = "valid" => [Cancelled, Revoked],
        /// Only ever produced by [`TemporaryPermitState::on`].
        Expired = "expired",
        /// Cancelled by its holder.
        Cancelled = "cancelled",
        /// Revoked by an officer.
        Revoked = "revoked",
    }
}

impl TemporaryPermitState {
    /// The state a reader sees at `now`: a stored `valid` ending at or before `now` is
    /// `expired` (instants in any one unit).
    pub fn on(self, valid_until: i64, now: i64) -> Self {
        match self {
            TemporaryPermitState::Valid if valid_until <= now => TemporaryPermitState::Expired,
            other => other,
        }
    }
}

lifecycle! {
    /// An application for a temporary e-permit: the SMS code, then the face check.
    TemporaryPermitApplicationState, "temporary permit application" {
        AwaitingSms = "awaiting_sms" => [AwaitingFace],
        AwaitingFace = "awaiting_face" => [Issued],
        Issued = "issued",
    }
}

lifecycle! {
    /// A linkage proof as stored, plus `expired` (never stored) as for temporary permits.
    /// Issued valid; no service revokes a proof yet (the status list is ready for it).
    LinkageProofState, "linkage proof" {
        Valid = "valid",
        /// Only ever produced by [`LinkageProofState::on`].
        Expired = "expired",
        Revoked = "revoked",
    }
}

impl LinkageProofState {
    /// The state a reader sees at `now` (a valid proof past its end is `expired`).
    pub fn on(self, valid_until: i64, now: i64) -> Self {
        match self {
            LinkageProofState::Valid if valid_until <= now => LinkageProofState::Expired,
            other => other,
        }
    }
}

lifecycle! {
    /// An endorsement on an Exit-Entry Permit (imported, or printed by the platform).
    EndorsementState, "endorsement" {
        Valid = "valid",
        /// Arrives cancelled from the registry's import; the platform does not cancel.
        Cancelled = "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Calls `$check::<T>()` for every lifecycle `T`.
    macro_rules! each {
        ($check:ident) => {
            $check::<AppointmentState>();
            $check::<TicketState>();
            $check::<CentreApplicationState>();
            $check::<CounterPaymentState>();
            $check::<EndorsementApplicationState>();
            $check::<PrintJobState>();
            $check::<PaymentOrderState>();
            $check::<PreApplicationState>();
            $check::<TemporaryPermitState>();
            $check::<TemporaryPermitApplicationState>();
            $check::<LinkageProofState>();
            $check::<EndorsementState>();
        };
    }

    fn codes_round_trip<T: Lifecycle>() {
        let mut seen = HashSet::new();
        for &s in T::ALL {
            assert_eq!(T::parse(s.code()), Ok(s), "{s:?}");
            assert!(seen.insert(s.code()), "{s:?}: code {} twice", s.code());
            assert!(
                s.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{s:?}: codes are snake_case"
            );
        }
        assert_eq!(T::parse("no_such_state").unwrap_err().code, "bad_status");
        assert!(
            T::parse(&T::ALL[0].code().to_uppercase()).is_err(),
            "codes are exact"
        );
    }

    #[test]
    fn every_state_parses_from_its_code_and_nothing_else_does() {
        each!(codes_round_trip);
    }

    fn moves_stay_inside<T: Lifecycle>() {
        for &s in T::ALL {
            for n in s.next() {
                assert!(T::ALL.contains(n), "{s:?} -> {n:?}");
                assert_ne!(s, *n, "{s:?} never moves to itself");
            }
        }
    }

    #[test]
    fn transitions_lead_to_known_states_and_never_in_place() {
        each!(moves_stay_inside);
    }

    /// Every move the services make, as (from, to) codes; anything else is refused.
    fn table<T: Lifecycle>(expected: &[(&str, &str)]) {
        for &from in T::ALL {
            for &to in T::ALL {
                let allowed = from.can_become(to);
                let listed = expected.contains(&(from.code(), to.code()));
                assert_eq!(allowed, listed, "{} -> {}", from.code(), to.code());
            }
        }
    }

    #[test]
    fn appointments_are_cancelled_checked_in_or_missed_while_booked() {
        table::<AppointmentState>(&[
            ("booked", "cancelled"),
            ("booked", "checked_in"),
            ("booked", "no_show"),
        ]);
    }

    #[test]
    fn tickets_are_called_then_served_skipped_or_transferred() {
        table::<TicketState>(&[
            ("waiting", "called"),
            ("called", "done"),
            ("called", "skipped"),
            ("called", "waiting"),
        ]);
    }

    #[test]
    fn centre_applications_are_paid_made_and_collected_or_cancelled_uncollected() {
        table::<CentreApplicationState>(&[
            ("accepted", "paid"),
            ("paid", "ready"),
            ("ready", "collected"),
            ("ready", "uncollected_cancelled"),
        ]);
        let open: Vec<_> = CentreApplicationState::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.code())
            .collect();
        assert_eq!(open, ["accepted", "paid", "ready"]);
    }

    #[test]
    fn counter_payments_never_move() {
        table::<CounterPaymentState>(&[]);
    }

    #[test]
    fn endorsement_applications_follow_payment_review_and_print() {
        use EndorsementApplicationState as E;
        table::<E>(&[
            ("awaiting_payment", "ready_to_print"),
            ("awaiting_payment", "under_review"),
            ("awaiting_payment", "cancelled"),
            ("under_review", "ready_to_print"),
            ("under_review", "rejected"),
            ("under_review", "refunded"),
            ("ready_to_print", "printing"),
            ("ready_to_print", "refunded"),
            ("printing", "printed"),
            ("printing", "ready_to_print"),
            ("printing", "refunded"),
        ]);
        let open: Vec<_> = E::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.code())
            .collect();
        assert_eq!(
            open,
            [
                "awaiting_payment",
                "under_review",
                "ready_to_print",
                "printing"
            ]
        );
        for &from in E::ALL {
            for &to in E::ALL {
                let pays =
                    from == E::AwaitingPayment && (to == E::ReadyToPrint || to == E::UnderReview);
                assert_eq!(from.pays(to), pays, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn print_jobs_print_or_fail_once() {
        table::<PrintJobState>(&[
            ("queued", "printing"),
            ("printing", "printed"),
            ("printing", "failed"),
        ]);
    }

    #[test]
    fn payment_orders_are_paid_once_and_refunded() {
        table::<PaymentOrderState>(&[
            ("pending", "paid"),
            ("pending", "failed"),
            ("pending", "refunded"),
            ("failed", "paid"),
            ("failed", "refunded"),
            ("paid", "refunded"),
        ]);
    }

    #[test]
    fn pre_applications_go_through_review_rounds_to_one_use() {
        table::<PreApplicationState>(&[
            ("draft", "submitted"),
            ("supplement_requested", "submitted"),
            ("submitted", "in_review"),
            ("in_review", "supplement_requested"),
            ("in_review", "approved"),
            ("in_review", "rejected"),
            ("approved", "used"),
        ]);
        let editable: Vec<_> = PreApplicationState::ALL
            .iter()
            .filter(|s| s.is_editable())
            .map(|s| s.code())
            .collect();
        assert_eq!(editable, ["draft", "supplement_requested"]);
    }

    #[test]
    fn temporary_permits_end_by_their_holder_or_an_officer_and_expire_on_reading() {
        use TemporaryPermitState as T;
        table::<T>(&[("valid", "cancelled"), ("valid", "revoked")]);
        assert_eq!(T::Valid.on(10, 9), T::Valid);
        assert_eq!(T::Valid.on(10, 10), T::Expired);
        assert_eq!(T::Revoked.on(10, 20), T::Revoked);
        assert_eq!(T::Cancelled.on(10, 5), T::Cancelled);
    }

    #[test]
    fn temporary_permit_applications_take_the_code_then_the_face() {
        table::<TemporaryPermitApplicationState>(&[
            ("awaiting_sms", "awaiting_face"),
            ("awaiting_face", "issued"),
        ]);
    }

    #[test]
    fn linkage_proofs_and_endorsements_are_not_moved_by_the_platform() {
        table::<LinkageProofState>(&[]);
        assert_eq!(
            LinkageProofState::Valid.on(10, 10),
            LinkageProofState::Expired
        );
        assert_eq!(
            LinkageProofState::Revoked.on(10, 5),
            LinkageProofState::Revoked
        );
        table::<EndorsementState>(&[]);
    }

    #[test]
    fn a_state_is_its_code_in_text_and_its_parse_errors_name_the_lifecycle() {
        assert_eq!(PreApplicationState::InReview.to_string(), "in_review");
        assert_eq!(
            "supplement_requested".parse::<PreApplicationState>(),
            Ok(PreApplicationState::SupplementRequested)
        );
        let err = PaymentOrderState::parse("payed").unwrap_err();
        assert!(err.message.contains("payment order"), "{}", err.message);
    }
}
