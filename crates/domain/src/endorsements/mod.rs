//! Endorsements on the Exit-Entry Permit: types, destinations, the variants each type comes
//! in (validity, trips, stay per trip) by issue date, fees, the eligibility rules, and what a
//! border crossing may do with an endorsement. Pure: dates come in.

use crate::ErrorCode;
use crate::Invalid;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    HongKong,
    Macao,
}

impl Destination {
    pub const ALL: [Destination; 2] = [Destination::HongKong, Destination::Macao];

    pub fn code(self) -> &'static str {
        match self {
            Destination::HongKong => "hong_kong",
            Destination::Macao => "macao",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Destination::ALL
            .into_iter()
            .find(|d| d.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadDestination,
                    "destination is hong_kong or macao",
                )
            })
    }
}

/// Endorsement types (签注种类).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndorsementType {
    /// Individual tourism (个人旅游).
    G,
    /// Group tourism (团队旅游).
    L,
    /// Family visit (探亲).
    T,
    /// Business (商务).
    S,
    /// Other: medical, funeral, lawsuit … (其他).
    Q,
    /// Stay (逗留), per the Hong Kong / Macao approval.
    D,
    /// Talent (人才).
    Talent,
}

impl EndorsementType {
    pub const ALL: [EndorsementType; 7] = [
        EndorsementType::G,
        EndorsementType::L,
        EndorsementType::T,
        EndorsementType::S,
        EndorsementType::Q,
        EndorsementType::D,
        EndorsementType::Talent,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EndorsementType::G => "G",
            EndorsementType::L => "L",
            EndorsementType::T => "T",
            EndorsementType::S => "S",
            EndorsementType::Q => "Q",
            EndorsementType::D => "D",
            EndorsementType::Talent => "talent",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        EndorsementType::ALL
            .into_iter()
            .find(|t| t.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadEndorsementType,
                    "type is G, L, T, S, Q, D or talent",
                )
            })
    }
}

/// How many crossings an endorsement allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trips {
    Count(u32),
    Multiple,
}

impl Trips {
    /// `1`, `2` … or `multiple`.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("multiple") {
            return Ok(Trips::Multiple);
        }
        match s.parse::<u32>() {
            Ok(n) if (1..=99).contains(&n) => Ok(Trips::Count(n)),
            _ => Err(Invalid::new(
                ErrorCode::BadTrips,
                "trips is a number from 1 to 99 or 'multiple'",
            )),
        }
    }

    pub fn code(self) -> String {
        match self {
            Trips::Count(n) => n.to_string(),
            Trips::Multiple => "multiple".into(),
        }
    }
}

/// The relative visited on a family-visit (T) endorsement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Spouse,
    Parent,
    Child,
    Sibling,
    Grandparent,
}

impl Relation {
    pub const ALL: [Relation; 5] = [
        Relation::Spouse,
        Relation::Parent,
        Relation::Child,
        Relation::Sibling,
        Relation::Grandparent,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Relation::Spouse => "spouse",
            Relation::Parent => "parent",
            Relation::Child => "child",
            Relation::Sibling => "sibling",
            Relation::Grandparent => "grandparent",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Relation::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| {
                Invalid::new(
                    ErrorCode::BadRelation,
                    "relation is spouse, parent, child, sibling or grandparent",
                )
            })
    }

    /// Spouse, parents and children get multiple trips and the long stay of the spouse types.
    fn close(self) -> bool {
        matches!(self, Relation::Spouse | Relation::Parent | Relation::Child)
    }
}

/// One kind of endorsement that can be issued: validity in months, trips, stay per trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub kind: EndorsementType,
    pub destination: Destination,
    pub validity_months: u32,
    pub trips: Trips,
    pub stay_days: u32,
}

/// The endorsement numbers that change over time, each with the day it took effect
/// (part of the versioned policy, `Policy::endorsements`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndorsementRules {
    /// Days per stay on business (S) endorsements, by issue date.
    pub business_stay: Vec<(NaiveDate, u32)>,
    /// Fees by application date.
    pub fees: Vec<(NaiveDate, FeeTable)>,
}

/// Fees in CNY cents: per single trip, for two trips, and multiple trips by validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeTable {
    pub single: i64,
    pub double: i64,
    pub multi_up_to_1y: i64,
    pub multi_up_to_2y: i64,
    pub multi_under_3y: i64,
    pub multi_3y_or_more: i64,
}

impl FeeTable {
    /// 15 / 30 / 80 / 120 / 160 / 240 CNY, the fees since 2003 (and for any earlier date).
    pub const SINCE_2003: FeeTable = FeeTable {
        single: 1500,
        double: 3000,
        multi_up_to_1y: 8000,
        multi_up_to_2y: 12000,
        multi_under_3y: 16000,
        multi_3y_or_more: 24000,
    };
}

const fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("date"),
    }
}

impl Default for EndorsementRules {
    /// The rules of DOMAIN.md: S stays 7 days, 14 for endorsements issued from 2024-05-06;
    /// fees 15 / 30 / 80 / 120 / 160 / 240 CNY.
    fn default() -> Self {
        EndorsementRules {
            business_stay: vec![(day(2003, 1, 1), 7), (day(2024, 5, 6), 14)],
            fees: vec![(day(2003, 1, 1), FeeTable::SINCE_2003)],
        }
    }
}

impl EndorsementRules {
    fn on<T: Copy>(list: &[(NaiveDate, T)], on: NaiveDate) -> Option<T> {
        list.iter()
            .filter(|(from, _)| *from <= on)
            .max_by_key(|(from, _)| *from)
            .map(|(_, v)| *v)
    }

    /// Days per stay of a business endorsement issued on `on`.
    pub fn business_stay_days(&self, on: NaiveDate) -> u32 {
        Self::on(&self.business_stay, on).unwrap_or(7)
    }

    /// The fee in CNY cents for an endorsement applied for on `on`.
    pub fn fee_cents(&self, trips: Trips, validity_months: u32, on: NaiveDate) -> i64 {
        let t = Self::on(&self.fees, on).unwrap_or(FeeTable::SINCE_2003);
        match trips {
            Trips::Count(1) => t.single,
            Trips::Count(_) => t.double,
            Trips::Multiple => match validity_months {
                0..=12 => t.multi_up_to_1y,
                13..=24 => t.multi_up_to_2y,
                25..=35 => t.multi_under_3y,
                _ => t.multi_3y_or_more,
            },
        }
    }
}

/// Who applies, as far as the variants depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Circumstances {
    /// For T: the relative visited.
    pub relation: Option<Relation>,
    /// For T: the applicant is 60 or older, or a spouse travelling with minor children.
    pub long_family_visit: bool,
}

/// The variants of a type issued on `issued_on` (D's validity and stay come from the
/// Hong Kong / Macao approval and are not listed).
pub fn variants(
    kind: EndorsementType,
    destination: Destination,
    issued_on: NaiveDate,
    c: Circumstances,
    rules: &EndorsementRules,
) -> Vec<Variant> {
    use EndorsementType::*;
    let v = |months, trips, stay| Variant {
        kind,
        destination,
        validity_months: months,
        trips,
        stay_days: stay,
    };
    let one_or_two = |stay| {
        let mut out = Vec::new();
        for months in [3, 12] {
            out.push(v(months, Trips::Count(1), stay));
            // Macao individual tourism is single-trip only.
            if !(kind == G && destination == Destination::Macao) {
                out.push(v(months, Trips::Count(2), stay));
            }
        }
        out
    };
    match kind {
        G | L => one_or_two(7),
        T => match c.relation {
            None => Vec::new(),
            Some(r) if !r.close() => vec![v(3, Trips::Count(1), 14)],
            Some(r) => {
                // Visiting a spouse allows 90 days per stay; parents and children 14.
                let stay = if r == Relation::Spouse { 90 } else { 14 };
                let mut out = vec![v(3, Trips::Multiple, stay)];
                if c.long_family_visit {
                    out.push(v(12, Trips::Multiple, stay));
                }
                out
            }
        },
        S => {
            let stay = rules.business_stay_days(issued_on);
            vec![
                v(3, Trips::Count(1), stay),
                v(3, Trips::Multiple, stay),
                v(12, Trips::Multiple, stay),
            ]
        }
        Q => vec![v(3, Trips::Count(1), 14), v(3, Trips::Count(2), 14)],
        D => Vec::new(),
        Talent => [12, 36, 60]
            .into_iter()
            .map(|m| v(m, Trips::Multiple, 30))
            .collect(),
    }
}

/// The one of `variants` with the validity and trips asked for.
pub fn variant_with(
    variants: Vec<Variant>,
    validity_months: u32,
    trips: Trips,
) -> Result<Variant, Invalid> {
    variants
        .into_iter()
        .find(|v| v.validity_months == validity_months && v.trips == trips)
        .ok_or_else(|| {
            Invalid::new(
                ErrorCode::NoSuchVariant,
                "this endorsement is not issued with this validity and trips",
            )
        })
}

/// The last day of an endorsement valid `months` from `from`.
pub fn valid_until(from: NaiveDate, months: u32) -> Option<NaiveDate> {
    from.checked_add_months(Months::new(months))?.pred_opt()
}

/// The 20-day rule: the permit must remain valid more than 20 days beyond the endorsement.
pub fn permit_outlasts(permit_expires: NaiveDate, endorsement_until: NaiveDate) -> bool {
    (permit_expires - endorsement_until).num_days() > 20
}

/// Who may apply online or at a kiosk (a "repeat endorsement").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applicant {
    /// Holds a valid EEP card (not a booklet).
    pub holds_card: bool,
    /// Has held an endorsement before (not a first-time applicant).
    pub had_endorsement: bool,
    /// Registered state personnel (报备人员) apply at their unit's office.
    pub state_personnel: bool,
    /// The household registration is in a city of the individual-visit scheme.
    pub hukou_in_scheme_city: bool,
}

/// Checks an online or kiosk application of `kind`; the reason code when refused.
pub fn check_self_service(a: &Applicant, kind: EndorsementType) -> Result<(), Invalid> {
    if !a.holds_card {
        return Err(Invalid::new(
            ErrorCode::CardRequired,
            "online endorsements are for holders of a valid EEP card",
        ));
    }
    if !a.had_endorsement {
        return Err(Invalid::new(
            ErrorCode::FirstTimeAtCounter,
            "a first endorsement is applied for at the counter",
        ));
    }
    if a.state_personnel {
        return Err(Invalid::new(
            ErrorCode::StatePersonnel,
            "registered state personnel apply through their unit",
        ));
    }
    check_scheme_city(a, kind)?;
    if !matches!(kind, EndorsementType::G | EndorsementType::L) {
        // Only tourism is self-service (since 2019-04-01); the others need documents a
        // clerk or a reviewer checks.
        return Err(Invalid::new(
            ErrorCode::CounterOnly,
            "this type is applied for at the counter",
        ));
    }
    Ok(())
}

/// Checks an application of `kind` at a counter: any type, first endorsements included, on a
/// valid card; G still needs a household registration in a scheme city.
pub fn check_counter(a: &Applicant, kind: EndorsementType) -> Result<(), Invalid> {
    if !a.holds_card {
        return Err(Invalid::new(
            ErrorCode::CardRequired,
            "endorsements are printed on a valid EEP card; apply for the card first",
        ));
    }
    check_scheme_city(a, kind)
}

/// Individual tourism (G), wherever applied for, needs a household registration in a city
/// of the scheme.
fn check_scheme_city(a: &Applicant, kind: EndorsementType) -> Result<(), Invalid> {
    if kind == EndorsementType::G && !a.hukou_in_scheme_city {
        return Err(Invalid::new(
            ErrorCode::NotSchemeCity,
            "individual tourism needs a household registration in a scheme city",
        ));
    }
    Ok(())
}

/// What the clerk checks before accepting an application of `kind` at the counter; state
/// personnel also bring their unit's approval.
pub fn counter_checklist(kind: EndorsementType, state_personnel: bool) -> Vec<&'static str> {
    let mut out = vec!["identity_card", "eep_card", "application_form"];
    out.push(match kind {
        EndorsementType::G | EndorsementType::L => "hukou_booklet",
        EndorsementType::T => "relation_proof",
        EndorsementType::S => "business_documents",
        EndorsementType::Q => "supporting_documents",
        EndorsementType::D => "stay_approval",
        EndorsementType::Talent => "talent_approval",
    });
    if state_personnel {
        out.push("unit_approval");
    }
    out
}

/// Whether a reviewer must confirm the application before it is printed: the declared
/// relative of a family visit is checked against the proof.
pub fn needs_review(kind: EndorsementType) -> bool {
    kind == EndorsementType::T
}

/// The variant of a stay (D) endorsement: multiple trips, valid until the end of the Hong
/// Kong / Macao approval, with its stay per trip. Refused when the approval has ended or
/// would make an endorsement longer than five years.
pub fn stay_variant(
    destination: Destination,
    issued_on: NaiveDate,
    approved_until: NaiveDate,
    stay_days: u32,
) -> Result<Variant, Invalid> {
    if approved_until <= issued_on {
        return Err(Invalid::new(
            ErrorCode::ApprovalEnded,
            "the stay approval has already ended",
        ));
    }
    if !(1..=1826).contains(&stay_days) {
        return Err(Invalid::new(
            ErrorCode::BadStayDays,
            "the stay per trip is between 1 and 1826 days",
        ));
    }
    let mut months = 1;
    while valid_until(issued_on, months).is_some_and(|u| u < approved_until) {
        months += 1;
        if months > 60 {
            return Err(Invalid::new(
                ErrorCode::ApprovalTooLong,
                "a stay endorsement is issued for at most five years",
            ));
        }
    }
    Ok(Variant {
        kind: EndorsementType::D,
        destination,
        validity_months: months,
        trips: Trips::Multiple,
        stay_days,
    })
}

/// An endorsement as recorded, for the border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub trips: Trips,
    pub trips_used: u32,
    pub stay_days: u32,
}

impl Issued {
    pub fn trips_left(&self) -> Option<u32> {
        match self.trips {
            Trips::Count(n) => Some(n.saturating_sub(self.trips_used)),
            Trips::Multiple => None,
        }
    }
}

/// Whether an exit on `on` may use this endorsement; the refusal reason otherwise.
pub fn exit_allowed(e: &Issued, on: NaiveDate) -> Result<(), &'static str> {
    if on < e.valid_from || on > e.valid_until {
        return Err("endorsement_expired");
    }
    if e.trips_left() == Some(0) {
        return Err("no_trips_left");
    }
    Ok(())
}

/// Whether a return on `back` after leaving on `left` overstayed (days counted inclusive of
/// both, as immigration counts them).
pub fn overstayed(stay_days: u32, left: NaiveDate, back: NaiveDate) -> bool {
    (back - left).num_days() + 1 > i64::from(stay_days)
}

#[cfg(test)]
mod tests;
