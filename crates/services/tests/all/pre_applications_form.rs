//! The pre-application form as an applicant meets it, on both backends: the nationality is
//! a country of the list, each missing document is named, and submitting is confirmed by
//! email in the applicant's language.

use super::pre_applications::{applicant, form, last_email, seeded_with_clock, submitted};
use exitentry_services::pre_applications as hrp;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;

async fn nationality_from_the_list_and_documents_by_name(t: &TestDb) {
    let (app, _clock, _k, _u) = seeded_with_clock(t).await;
    let me = applicant(&app, "ana@example.org", "en").await;
    let a = hrp::start(&app, &me).await.unwrap();
    let problem = |d: &hrp::Detail, field: &str| {
        d.problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.code.code())
    };
    for (typed, wanted) in [
        ("XYZ", Some("bad_nationality")),
        ("HKG", Some("bad_nationality")),
        ("CHN", Some("chinese_national")),
        ("", Some("required")),
        ("PRT", None),
    ] {
        let f = exitentry_domain::hrp::Form {
            nationality: typed.into(),
            ..form()
        };
        let d = hrp::save(&app, &me, &a.id, &f).await.unwrap();
        assert_eq!(problem(&d, "nationality"), wanted, "{typed}");
    }
    // With the form complete, each missing document is its own problem, named.
    let d = hrp::save(&app, &me, &a.id, &form()).await.unwrap();
    let fields: Vec<&str> = d.problems.iter().map(|p| p.field).collect();
    assert_eq!(fields, ["id_card_front", "id_card_back", "passport"]);
    assert!(
        d.problems
            .iter()
            .all(|p| p.code.code() == "document_missing")
    );
}

async fn submitting_is_confirmed_by_email(t: &TestDb) {
    let (app, _clock, _k, _u) = seeded_with_clock(t).await;
    let me = applicant(&app, "chan@example.org", "zh-Hant").await;
    let id = submitted(&app, &me, &form()).await;
    let d = hrp::get(&app, &me, &id).await.unwrap();
    let (subject, body) = last_email(&app, "chan@example.org").await;
    assert!(subject.contains(&d.reference), "{subject}");
    assert!(
        subject.contains("已收到申請"),
        "in Traditional Chinese: {subject}"
    );
    assert!(
        body.contains(&format!("/apply/applications/{id}")),
        "{body}"
    );
}

backend_tests!(
    nationality_from_the_list_and_documents_by_name,
    submitting_is_confirmed_by_email,
);
