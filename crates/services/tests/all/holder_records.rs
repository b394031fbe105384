//! "My records" on both backends: a mainland holder sees their documents and their
//! application at a service centre with its office and collection date, and is offered
//! appointments and endorsements only; a Hong Kong holder is offered temporary e-permits,
//! linkage proofs (he has a residence permit) and appointments.

use super::centre::holder;
use super::collection::ready_renewal;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::Region;
use exitentry_domain::states::CentreApplicationState;
use exitentry_services::holders::{self, Offers};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{backend_tests, seeded};

async fn a_mainland_holder_sees_his_records_and_only_his_offers(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 20).await;
    let h = holder(&app).await;
    let before = holders::records(&app, &h).await.unwrap();
    assert!(before.centre_applications.is_empty());
    assert_eq!(before.region, Region::Mainland);
    let card = before
        .documents
        .iter()
        .find(|d| d.kind == DocumentKind::EepCard)
        .expect("his card");
    assert_eq!(card.status, DocumentStatus::Valid);

    let (accepted, paid) = ready_renewal(&app, &clock).await;
    let r = holders::records(&app, &h).await.unwrap();
    let [a] = r.centre_applications.as_slice() else {
        panic!("one application: {:?}", r.centre_applications)
    };
    assert_eq!(a.reference, accepted.reference);
    assert_eq!(a.product, "eep_card_renewal");
    assert_eq!(a.status, CentreApplicationState::Ready);
    assert_eq!(a.office_code, "GZ-TH-001");
    assert!(a.office.as_ref().is_some_and(|o| !o.name_en.is_empty()));
    assert_eq!(a.collection_date, paid.collection_date);
    assert!(a.collection_date.is_some());
    assert_eq!(
        r.offers,
        Offers {
            appointments: true,
            endorsements: true,
            temporary_permit: false,
            linkage_proof: false,
        }
    );
}

backend_tests!(a_mainland_holder_sees_his_records_and_only_his_offers);

async fn a_hong_kong_holder_is_offered_temporary_permits_and_linkage_proofs(t: &TestDb) {
    let (app, _clock, _k) = seeded(t, 0).await;
    holders::create_for_identity(
        &app,
        "test",
        "A1234563",
        "13900139001",
        "a long holder password",
    )
    .await
    .unwrap();
    let h = holders::login(&app, "13900139001", "a long holder password")
        .await
        .unwrap()
        .1;
    let r = holders::records(&app, &h).await.unwrap();
    assert_eq!(r.region, Region::HongKong);
    assert!(
        r.documents
            .iter()
            .any(|d| d.kind == DocumentKind::Hrp && d.status == DocumentStatus::Valid)
    );
    assert_eq!(
        r.offers,
        Offers {
            appointments: true,
            endorsements: false,
            temporary_permit: true,
            linkage_proof: true,
        }
    );
    assert!(r.centre_applications.is_empty() && r.endorsement_applications.is_empty());
}

backend_tests!(a_hong_kong_holder_is_offered_temporary_permits_and_linkage_proofs);
