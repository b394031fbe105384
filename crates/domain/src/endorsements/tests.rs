//! Endorsements: types and destinations, validity and trips, fees, the 20-day rule, who may apply where, what a crossing may do.

use super::*;

use crate::time::testing::d;

/// The variants of `kind` to `destination` issued `on`, under the built-in rules.
fn offered(kind: EndorsementType, destination: Destination, on: &str) -> Vec<Variant> {
    let rules = EndorsementRules::default();
    variants(kind, destination, d(on), Circumstances::default(), &rules)
}

/// The family visits (T) to Hong Kong issued on 2026-11-22 to visit `relation`, for a long
/// visit (60 or older, or a spouse with minor children) or not.
fn visiting(relation: Relation, long_family_visit: bool) -> Vec<Variant> {
    let c = Circumstances {
        relation: Some(relation),
        long_family_visit,
    };
    let (kind, to) = (EndorsementType::T, Destination::HongKong);
    variants(kind, to, d("2026-11-22"), c, &EndorsementRules::default())
}

#[test]
fn business_stay_is_fourteen_days_from_may_2024() {
    let before = offered(EndorsementType::S, Destination::HongKong, "2024-05-05");
    let after = offered(EndorsementType::S, Destination::HongKong, "2024-05-06");
    assert!(before.iter().all(|v| v.stay_days == 7));
    assert!(after.iter().all(|v| v.stay_days == 14));
    assert_eq!(after.len(), 3);
}

#[test]
fn macao_individual_tourism_is_single_trip_only() {
    let macao = offered(EndorsementType::G, Destination::Macao, "2026-11-22");
    assert!(macao.iter().all(|v| v.trips == Trips::Count(1)));
    let hk = offered(EndorsementType::G, Destination::HongKong, "2026-11-22");
    assert!(hk.iter().any(|v| v.trips == Trips::Count(2)));
    assert!(
        hk.iter()
            .all(|v| v.stay_days == 7 && [3, 12].contains(&v.validity_months))
    );
    // Group tourism to Macao may have two trips.
    let l = offered(EndorsementType::L, Destination::Macao, "2026-11-22");
    assert!(l.iter().any(|v| v.trips == Trips::Count(2)));
}

#[test]
fn family_visits_depend_on_the_relative() {
    // Without a relative declared there is nothing to visit.
    assert!(offered(EndorsementType::T, Destination::HongKong, "2026-11-22").is_empty());
    let sib = visiting(Relation::Sibling, false);
    assert_eq!(
        sib,
        vec![Variant {
            kind: EndorsementType::T,
            destination: Destination::HongKong,
            validity_months: 3,
            trips: Trips::Count(1),
            stay_days: 14
        }]
    );
    let spouse = visiting(Relation::Spouse, false);
    assert_eq!(
        (spouse.len(), spouse[0].trips, spouse[0].stay_days),
        (1, Trips::Multiple, 90)
    );
    let long = visiting(Relation::Parent, true);
    assert!(long.iter().any(|v| v.validity_months == 12));
    assert!(
        long.iter()
            .all(|v| v.stay_days == 14 && v.trips == Trips::Multiple)
    );
}

#[test]
fn fees_by_trips_and_length() {
    let r = EndorsementRules::default();
    let on = d("2026-11-22");
    assert_eq!(r.fee_cents(Trips::Count(1), 3, on), 1500);
    assert_eq!(r.fee_cents(Trips::Count(2), 12, on), 3000);
    assert_eq!(r.fee_cents(Trips::Multiple, 12, on), 8000);
    assert_eq!(r.fee_cents(Trips::Multiple, 24, on), 12000);
    assert_eq!(r.fee_cents(Trips::Multiple, 35, on), 16000);
    assert_eq!(r.fee_cents(Trips::Multiple, 36, on), 24000);
    assert_eq!(r.fee_cents(Trips::Multiple, 60, on), 24000);
}

#[test]
fn policy_changes_take_effect_on_their_date() {
    let mut r = EndorsementRules::default();
    let mut table = r.fees[0].1;
    table.single = 2000;
    r.fees.push((d("2027-01-01"), table));
    assert_eq!(r.fee_cents(Trips::Count(1), 3, d("2026-12-31")), 1500);
    assert_eq!(r.fee_cents(Trips::Count(1), 3, d("2027-01-01")), 2000);
    assert_eq!(r.business_stay_days(d("2024-05-05")), 7);
    assert_eq!(r.business_stay_days(d("2024-05-06")), 14);
}

#[test]
fn the_permit_must_outlast_the_endorsement_by_more_than_twenty_days() {
    let until = valid_until(d("2026-11-22"), 3).unwrap();
    assert_eq!(until, d("2027-02-21"));
    assert!(
        !permit_outlasts(d("2027-03-13"), until),
        "exactly 20 days is not enough"
    );
    assert!(permit_outlasts(d("2027-03-14"), until));
}

#[test]
fn self_service_rules() {
    let ok = Applicant {
        holds_card: true,
        had_endorsement: true,
        state_personnel: false,
        hukou_in_scheme_city: true,
    };
    assert!(check_self_service(&ok, EndorsementType::G).is_ok());
    let code = |a: Applicant, k| check_self_service(&a, k).unwrap_err().code;
    assert_eq!(
        code(
            Applicant {
                holds_card: false,
                ..ok
            },
            EndorsementType::L
        ),
        "card_required"
    );
    assert_eq!(
        code(
            Applicant {
                had_endorsement: false,
                ..ok
            },
            EndorsementType::L
        ),
        "first_time_at_counter"
    );
    assert_eq!(
        code(
            Applicant {
                state_personnel: true,
                ..ok
            },
            EndorsementType::L
        ),
        "state_personnel"
    );
    assert_eq!(
        code(
            Applicant {
                hukou_in_scheme_city: false,
                ..ok
            },
            EndorsementType::G
        ),
        "not_scheme_city"
    );
    assert!(
        check_self_service(
            &Applicant {
                hukou_in_scheme_city: false,
                ..ok
            },
            EndorsementType::L
        )
        .is_ok()
    );
    assert_eq!(code(ok, EndorsementType::T), "counter_only");
    // Only tourism is self-service: business and other visits go to the counter too.
    for kind in [
        EndorsementType::S,
        EndorsementType::Q,
        EndorsementType::D,
        EndorsementType::Talent,
    ] {
        assert_eq!(code(ok, kind), "counter_only", "{kind:?}");
    }
}

#[test]
fn the_counter_takes_first_endorsements_and_state_personnel() {
    let first = Applicant {
        holds_card: true,
        had_endorsement: false,
        state_personnel: true,
        hukou_in_scheme_city: false,
    };
    for kind in EndorsementType::ALL {
        if kind != EndorsementType::G {
            assert!(check_counter(&first, kind).is_ok(), "{kind:?}");
        }
    }
    assert_eq!(
        check_counter(&first, EndorsementType::G).unwrap_err().code,
        "not_scheme_city"
    );
    assert_eq!(
        check_counter(
            &Applicant {
                holds_card: false,
                ..first
            },
            EndorsementType::L
        )
        .unwrap_err()
        .code,
        "card_required"
    );
    assert!(counter_checklist(EndorsementType::T, false).contains(&"relation_proof"));
    assert!(!counter_checklist(EndorsementType::T, false).contains(&"unit_approval"));
    assert!(counter_checklist(EndorsementType::S, true).contains(&"unit_approval"));
    assert!(needs_review(EndorsementType::T));
    assert!(!needs_review(EndorsementType::S));
}

#[test]
fn stay_endorsements_follow_the_approval() {
    let on = d("2026-11-22");
    let v = stay_variant(Destination::HongKong, on, d("2027-05-21"), 180).unwrap();
    assert_eq!(v.validity_months, 6);
    assert_eq!(v.trips, Trips::Multiple);
    assert_eq!(v.stay_days, 180);
    assert_eq!(
        stay_variant(Destination::HongKong, on, d("2027-05-22"), 180)
            .unwrap()
            .validity_months,
        7
    );
    assert_eq!(
        stay_variant(Destination::Macao, on, on, 30)
            .unwrap_err()
            .code,
        "approval_ended"
    );
    assert_eq!(
        stay_variant(Destination::Macao, on, d("2032-01-01"), 30)
            .unwrap_err()
            .code,
        "approval_too_long"
    );
    assert_eq!(
        stay_variant(Destination::Macao, on, d("2027-01-01"), 0)
            .unwrap_err()
            .code,
        "bad_stay_days"
    );
}

#[test]
fn border_trips_and_stays() {
    let e = Issued {
        valid_from: d("2026-11-01"),
        valid_until: d("2027-01-31"),
        trips: Trips::Count(2),
        trips_used: 1,
        stay_days: 7,
    };
    assert_eq!(e.trips_left(), Some(1));
    assert!(exit_allowed(&e, d("2026-12-01")).is_ok());
    assert_eq!(
        exit_allowed(&Issued { trips_used: 2, ..e }, d("2026-12-01")),
        Err("no_trips_left")
    );
    assert_eq!(
        exit_allowed(&e, d("2027-02-01")),
        Err("endorsement_expired")
    );
    assert_eq!(
        exit_allowed(&e, d("2026-10-31")),
        Err("endorsement_expired")
    );
    assert!(!overstayed(7, d("2026-12-01"), d("2026-12-07")));
    assert!(overstayed(7, d("2026-12-01"), d("2026-12-08")));
    let multi = Issued {
        trips: Trips::Multiple,
        trips_used: 40,
        ..e
    };
    assert_eq!(multi.trips_left(), None);
    assert!(exit_allowed(&multi, d("2026-12-01")).is_ok());
}

#[test]
fn parsing() {
    assert_eq!(
        EndorsementType::parse("talent").unwrap(),
        EndorsementType::Talent
    );
    assert_eq!(EndorsementType::parse("g").unwrap(), EndorsementType::G);
    assert_eq!(
        EndorsementType::parse("X").unwrap_err().code,
        "bad_endorsement_type"
    );
    assert_eq!(Trips::parse("multiple").unwrap(), Trips::Multiple);
    assert_eq!(Trips::parse("2").unwrap(), Trips::Count(2));
    assert_eq!(Trips::parse("0").unwrap_err().code, "bad_trips");
    assert_eq!(Destination::parse("macao").unwrap(), Destination::Macao);
}

#[test]
fn a_variant_is_picked_by_its_validity_and_trips() {
    let hk = offered(EndorsementType::G, Destination::HongKong, "2026-11-22");
    let picked = variant_with(hk.clone(), 12, Trips::Count(2)).unwrap();
    assert_eq!(
        (picked.validity_months, picked.trips),
        (12, Trips::Count(2))
    );
    let refused = variant_with(hk, 6, Trips::Count(1)).unwrap_err();
    assert_eq!(refused.code, "no_such_variant");
}
