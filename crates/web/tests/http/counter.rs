//! Endorsements at the counter over HTTP: the checklist form with CSRF, payment, the
//! reviewers' queue, and state personnel registered on the person page.

use exitentry_domain::states::EndorsementApplicationState;
use exitentry_test_support::{
    Backend, LI_HUA_ID, TestApp, backend_tests, csrf_field, header, person_id,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

async fn endorsements_at_the_counter_and_their_review(backend: Backend) {
    let t = TestApp::seeded(backend, 30).await;
    let clerk = t.staff("clerk").await;
    let page = t
        .text(
            &clerk,
            "/staff/centre/endorsements?id_number=11010519491231002x&kind=T",
        )
        .await;
    assert!(page.contains("CA1234567"), "the card is found");
    assert!(
        page.contains("value=\"relation_proof\""),
        "the family-visit checklist"
    );
    assert!(page.contains("name=\"relative_name\""));
    let csrf = csrf_field(&page);
    let form = |csrf: &str, proof: bool| {
        let mut f = vec![
            ("csrf", csrf.to_string()),
            ("id_number", "11010519491231002X".into()),
            ("kind", "T".into()),
            ("destination", "hong_kong".into()),
            ("variant", "3:multiple".into()),
            ("relation", "child".into()),
            ("relative_name", "李小明".into()),
            ("checklist", "identity_card".into()),
            ("checklist", "eep_card".into()),
            ("checklist", "application_form".into()),
        ];
        if proof {
            f.push(("checklist", "relation_proof".into()));
        }
        f
    };
    let r = t
        .post_form(&clerk, "/staff/centre/endorsements", &form("forged", true))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A missing document: the form comes back (post, redirect, get) with the error and what
    // was typed, and a reload shows it again.
    let r = t
        .post_form(&clerk, "/staff/centre/endorsements", &form(&csrf, false))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&r, LOCATION), "/staff/centre/endorsements");
    for _ in 0..2 {
        let r = t.get(&clerk, "/staff/centre/endorsements").await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("李小明") && body.contains("role=\"alert\""),
            "{body}"
        );
    }
    let r = t
        .post_form(&clerk, "/staff/centre/endorsements", &form(&csrf, true))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = header(&r, LOCATION).to_string();
    let id = at.rsplit('/').next().unwrap().to_string();
    let r = t
        .post_form(
            &clerk,
            &format!("{at}/pay"),
            &[("csrf", csrf.as_str()), ("method", "cash")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let body = t.text(&clerk, &at).await;
    assert!(body.contains("id=\"cend-status\""));
    // The counter cannot review; the reviewer sees the queue and confirms.
    assert_eq!(
        t.status(&clerk, "/staff/endorsements/review").await,
        StatusCode::FORBIDDEN
    );
    let reviewer = t.staff("reviewer").await;
    let queue = t.text(&reviewer, "/staff/endorsements/review").await;
    assert!(queue.contains(&id) && queue.contains("李小明"));
    let page = t.text(&reviewer, &at).await;
    let rcsrf = csrf_field(&page);
    let r = t
        .post_form(
            &reviewer,
            &format!("/staff/endorsements/{id}/review"),
            &[
                ("csrf", rcsrf.as_str()),
                ("decision", "approve"),
                ("note", "birth certificate"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let queue = t.text(&reviewer, "/staff/endorsements/review").await;
    assert!(!queue.contains(&id));
    let li = person_id(&t.app, LI_HUA_ID).await;
    let a = exitentry_services::endorsement_applications::get(&t.app, li, &id)
        .await
        .unwrap();
    assert_eq!(a.status, EndorsementApplicationState::ReadyToPrint);

    // Admins register state personnel on the person page; the counter then asks for the
    // unit's approval. Clerks cannot register anyone.
    let register = async |c: &reqwest::Client, csrf: &str, reason: &str| {
        let form = [("csrf", csrf), ("registered", "1"), ("reason", reason)];
        let path = format!("/staff/people/{li}/state-personnel");
        t.post_form(c, &path, &form).await.status()
    };
    assert_eq!(register(&clerk, &csrf, "x").await, StatusCode::FORBIDDEN);
    let admin = t.staff("admin").await;
    let page = t.text(&admin, &format!("/staff/people/{li}")).await;
    let acsrf = csrf_field(&page);
    let reason = "Register of the provincial personnel office, 2026-11";
    assert_eq!(
        register(&admin, &acsrf, reason).await,
        StatusCode::SEE_OTHER
    );
    let page = t
        .text(
            &clerk,
            "/staff/centre/endorsements?id_number=11010519491231002X&kind=L",
        )
        .await;
    assert!(page.contains("id=\"state-personnel\"") && page.contains("value=\"unit_approval\""));
    let audit = t.text(&admin, "/staff/admin/audit").await;
    assert!(audit.contains("person.state_personnel") && audit.contains("endorsement.approve"));
    t.stop().await;
}

backend_tests!(endorsements_at_the_counter_and_their_review);
