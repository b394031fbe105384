//! Relying parties: keys, scopes, quotas, and every answer of the three checks, on both
//! backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_domain::numbers::DocumentKind;
use exitentry_services::import::ImportKind;
use exitentry_services::partners::{self, NewPartner, PartnerContext};
use exitentry_services::verification::{self as v, Admission, LinkageCheck, PermitCheck};
use exitentry_services::{App, ServiceError};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::{assert_refused, backend_tests, error_code};
use exitentry_test_support::{import, seeded, staff_session};

fn partner(name: &str, scopes: &str, quota: Option<i64>) -> NewPartner {
    NewPartner {
        daily_quota: quota,
        ..exitentry_test_support::partner(name, "airline", scopes)
    }
}

async fn ctx(app: &App, name: &str, scopes: &str, quota: Option<i64>) -> (PartnerContext, String) {
    let (_, key) = partners::create(app, "test", &partner(name, scopes, quota))
        .await
        .unwrap();
    (partners::authenticate(app, &key).await.unwrap(), key)
}

const ALL: &str = "verify_permit,verify_linkage,verify_credential";

/// 陳大文: his current HRP (expiry), date of birth and residence permit number.
pub(crate) async fn chan(app: &App) -> (String, String) {
    let mut c = app.db.conn().await.unwrap();
    let (_, person) = exitentry_storage::documents::by_number(&mut c, "H12345678")
        .await
        .unwrap()
        .remove(0);
    let docs = exitentry_storage::documents::for_person(&mut c, person.id)
        .await
        .unwrap();
    let rp = docs
        .iter()
        .find(|d| d.doc.kind == DocumentKind::ResidencePermit)
        .unwrap();
    (
        person.person.date_of_birth.to_string(),
        rp.doc.number.clone(),
    )
}

async fn set_status(app: &App, number: &str, status: &str) {
    let mut c = app.db.conn().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE documents SET status = '{status}' WHERE number = '{number}'"
    )))
    .execute(&mut *c)
    .await
    .unwrap();
}

async fn keys_work_until_revoked_or_the_partner_is_disabled(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (created, key) = partners::create(&app, "test", &partner("China Southern", ALL, None))
        .await
        .unwrap();
    assert_eq!(
        created.scopes,
        "verify_permit,verify_linkage,verify_credential"
    );
    assert!(key.starts_with("eek_"));
    let c = partners::authenticate(&app, &key).await.unwrap();
    assert_eq!(c.name, "China Southern");
    // A key with one character changed, a malformed one, an unknown id: all refused.
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    for bad in [tampered.as_str(), "eek_", "Bearer x", "eek_000000000000.00"] {
        assert_eq!(
            error_code(partners::authenticate(&app, bad)).await,
            "unauthenticated",
            "{bad}"
        );
    }
    partners::revoke_key(&app, "test", &c.key_id).await.unwrap();
    assert_refused!(partners::authenticate(&app, &key), "unauthenticated");
    assert_refused!(partners::revoke_key(&app, "test", &c.key_id), "not_found");

    let (_, key2) = partners::create(&app, "test", &partner("12306", ALL, None))
        .await
        .unwrap();
    partners::authenticate(&app, &key2).await.unwrap();
    partners::disable(&app, "test", "12306").await.unwrap();
    assert_refused!(partners::authenticate(&app, &key2), "unauthenticated");
    for (p, code) in [
        (partner("China Southern", ALL, None), "partner_exists"),
        (
            NewPartner {
                kind: "bakery".into(),
                ..partner("Bakery", ALL, None)
            },
            "bad_partner_kind",
        ),
        (partner("Scopeless", "verify_everything", None), "bad_scope"),
        (
            NewPartner {
                rate_per_second: Some(0),
                ..partner("Slow", ALL, None)
            },
            "bad_rate",
        ),
    ] {
        assert_eq!(
            error_code(partners::create(&app, "test", &p)).await,
            code,
            "{}",
            p.name
        );
    }
}

async fn scopes_and_the_daily_quota_are_enforced(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 300).await;
    let (dob, rp) = chan(&app).await;
    let permit = PermitCheck {
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
        name: "陳大文".into(),
        date_of_birth: dob.clone(),
        ..Default::default()
    };
    let link = LinkageCheck {
        travel_document_kind: "hrp".into(),
        travel_document_number: "H12345678".into(),
        residence_permit_number: rp,
        name: "CHAN TAI MAN".into(),
    };
    let (only_permits, _) = ctx(&app, "Bank of Permits", "verify_permit", Some(3)).await;
    assert_eq!(
        error_code(v::verify_linkage(
            &app,
            &only_permits,
            &link,
            Admission::Single
        ))
        .await,
        "forbidden"
    );
    assert_eq!(
        error_code(v::verify_credential(
            &app,
            &only_permits,
            "EE1:x",
            None,
            Admission::Single
        ))
        .await,
        "forbidden"
    );
    for _ in 0..3 {
        v::verify_permit(&app, &only_permits, &permit, Admission::Single)
            .await
            .unwrap();
    }
    let e = v::verify_permit(&app, &only_permits, &permit, Admission::Single)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "daily_quota_exceeded");
    // Next midnight in Beijing (the test clock is 2026-11-22 10:00 Beijing time).
    assert_eq!(
        e.available_from().unwrap().to_rfc3339(),
        "2026-11-22T16:00:00+00:00"
    );
    clock.advance(chrono::Duration::hours(14));
    v::verify_permit(&app, &only_permits, &permit, Admission::Single)
        .await
        .unwrap();
    // A batch takes its quota up front, all or nothing.
    assert_refused!(
        v::admit_batch(&app, &mut only_permits.clone(), 3),
        "daily_quota_exceeded"
    );
    v::admit_batch(&app, &mut only_permits.clone(), 2)
        .await
        .unwrap();
    // Bad input is an error before any quota is spent.
    let (fresh, _) = ctx(&app, "Fresh", ALL, Some(1)).await;
    let bad = PermitCheck {
        date_of_birth: "1990-02-30".into(),
        ..permit.clone()
    };
    assert_refused!(
        v::verify_permit(&app, &fresh, &bad, Admission::Single),
        "bad_date"
    );
    v::verify_permit(&app, &fresh, &permit, Admission::Single)
        .await
        .unwrap();
}

async fn permit_checks_answer_match_valid_and_reason(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (p, _) = ctx(&app, "Airline", ALL, None).await;
    let (dob, _) = chan(&app).await;
    let q = |number: &str, name: &str, dob: &str| PermitCheck {
        document_kind: "hrp".into(),
        document_number: number.into(),
        name: name.into(),
        date_of_birth: dob.into(),
        ..Default::default()
    };
    let ask = async |q: &PermitCheck| {
        let a = v::verify_permit(&app, &p, q, Admission::Single)
            .await
            .unwrap();
        (a.matched, a.valid, a.reason)
    };
    // The number is for life: the issue count on the card names one of its cards (the
    // showcase holds 02, handed in, and 03).
    let card = |count: &str| PermitCheck {
        issue_count: count.into(),
        ..q("H12345678", "陳大文", &dob)
    };
    for (q, want) in [
        (q("h12345678", "chan tai man", &dob), (true, true, "valid")),
        (q("H12345678", "陳大文", &dob), (true, true, "valid")),
        (q("H12345678", "陳小文", &dob), (false, false, "no_match")),
        (
            q("H12345678", "陳大文", "1900-01-01"),
            (false, false, "no_match"),
        ),
        (q("H99999999", "陳大文", &dob), (false, false, "no_match")),
        (card("02"), (true, false, "surrendered")),
        (card("3"), (true, true, "valid")),
        (card("04"), (false, false, "no_match")),
    ] {
        assert_eq!(ask(&q).await, want, "{q:?}");
    }
    // With an older card reported lost, a check without the count cannot say which card
    // is in hand.
    {
        let mut c = app.db.conn().await.unwrap();
        sqlx::query(
            "UPDATE documents SET status = 'reported_lost' \
             WHERE number = 'H12345678' AND issue_count = 2",
        )
        .execute(&mut *c)
        .await
        .unwrap();
    }
    for (q, want) in [
        (
            q("H12345678", "陳大文", &dob),
            (true, false, "issue_count_required"),
        ),
        (card("02"), (true, false, "reported_lost")),
        (card("03"), (true, true, "valid")),
    ] {
        assert_eq!(ask(&q).await, want, "{q:?} with 02 reported lost");
    }
    for (q, want) in [
        (card("x"), "bad_issue_count"),
        (q("X1", "a", &dob), "bad_format"),
    ] {
        let refused = error_code(v::verify_permit(&app, &p, &q, Admission::Single)).await;
        assert_eq!(refused, want, "{q:?}");
    }
    for status in ["reported_lost", "cancelled", "damaged"] {
        set_status(&app, "H12345678", status).await;
        assert_eq!(
            ask(&q("H12345678", "陳大文", &dob)).await,
            (true, false, status)
        );
    }
}

async fn linkage_needs_both_valid_documents_of_one_person(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (p, _) = ctx(&app, "Telecom", ALL, None).await;
    let (_, rp) = chan(&app).await;
    let q = |travel: &str, rp: &str, name: &str| LinkageCheck {
        travel_document_kind: "hrp".into(),
        travel_document_number: travel.into(),
        residence_permit_number: rp.into(),
        name: name.into(),
    };
    let ask = async |q: &LinkageCheck| {
        let a = v::verify_linkage(&app, &p, q, Admission::Single)
            .await
            .unwrap();
        (a.linked, a.reason)
    };
    // Somebody else's residence permit (any other valid one in the registry).
    let other = {
        let mut c = app.db.conn().await.unwrap();
        let n: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT number FROM documents WHERE kind = 'residence_permit' AND number <> '{rp}' LIMIT 1"
        )))
        .fetch_one(&mut *c)
        .await
        .unwrap();
        n
    };
    // A TWP cannot be linked to a Hong Kong residence permit.
    let twp = LinkageCheck {
        travel_document_kind: "twp".into(),
        ..q("12345678", &rp, "LIN CHIH-HAO")
    };
    for (q, want) in [
        (q("H12345678", &rp, "CHAN TAI MAN"), (true, "linked")),
        (q("H12345678", &rp, "LIN CHIH-HAO"), (false, "no_match")),
        (q("H12345678", &other, "CHAN TAI MAN"), (false, "no_match")),
        (twp, (false, "no_match")),
    ] {
        assert_eq!(ask(&q).await, want, "{q:?}");
    }
    // Either document no longer valid.
    let chan = q("H12345678", &rp, "CHAN TAI MAN");
    set_status(&app, &rp, "cancelled").await;
    assert_eq!(ask(&chan).await, (false, "residence_permit_not_valid"));
    set_status(&app, "H12345678", "reported_lost").await;
    assert_eq!(ask(&chan).await, (false, "travel_document_not_valid"));
    let eep = LinkageCheck {
        travel_document_kind: "eep_card".into(),
        ..q("CA1234567", &rp, "LI HUA")
    };
    assert_refused!(
        v::verify_linkage(&app, &p, &eep, Admission::Single),
        "kind_not_linkable"
    );
}

/// 陳大文 gets a temporary permit through the whole journey (which also creates his
/// holder account: 13800138000 / "a long holder password").
async fn issue_temporary_permit(app: &App) -> exitentry_services::temporary_permits::IssuedPermit {
    use exitentry_services::temporary_permits as tp;
    let expiry = {
        let mut c = app.db.conn().await.unwrap();
        let docs = exitentry_storage::documents::by_number(&mut c, "H12345678")
            .await
            .unwrap();
        docs.iter()
            .find(|(d, _)| d.doc.issue_count == Some(3))
            .unwrap()
            .0
            .doc
            .expires_on
            .to_string()
    };
    let id = tp::apply(
        app,
        &tp::ApplyInput {
            document_kind: "hrp".into(),
            document_number: "H12345678".into(),
            name: "陳大文".into(),
            document_expiry: expiry,
            sex: "M".into(),
            mobile: "13800138000".into(),
            password: "a long holder password".into(),
            lang: tp::Lang::En,
        },
    )
    .await
    .unwrap();
    exitentry_services::jobs::run_due(app).await.unwrap();
    let code: String = {
        let mut c = app.db.conn().await.unwrap();
        exitentry_storage::jobs::outbox(&mut c, 1).await.unwrap()[0]
            .body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect()
    };
    tp::confirm_sms_code(app, &id, &code).await.unwrap();
    tp::submit_face(app, &id, exitentry_test_support::TINY_PNG)
        .await
        .unwrap()
}

async fn holders_and_counters_get_linkage_proofs_that_verify(t: &TestDb) {
    use exitentry_domain::staff::Role;
    use exitentry_services::linkage_proofs::{self as lp, PaperRequest};
    let (app, _, _k) = seeded(t, 300).await;
    issue_temporary_permit(&app).await;
    let (_, holder) =
        exitentry_services::holders::login(&app, "13800138000", "a long holder password")
            .await
            .unwrap();
    let (_, rp) = chan(&app).await;
    let proof = lp::issue_online(&app, &holder).await.unwrap();
    assert_eq!(proof.residence_permit_number, rp);
    assert_eq!(proof.travel_document_number, "H12345678");
    assert!(proof.valid_until <= app.now() + chrono::Duration::days(90));
    let live = exitentry_services::credentials::check_live(&app, &proof.payload, None)
        .await
        .unwrap();
    assert!(live.valid, "{:?}", live.reason);
    let body = live.claims.unwrap().body.unwrap();
    assert_eq!(body.linked_document_number.as_deref(), Some(rp.as_str()));
    let (p, _) = ctx(&app, "Bank", ALL, None).await;
    let a = v::verify_credential(&app, &p, &proof.payload, None, Admission::Single)
        .await
        .unwrap();
    assert_eq!((a.valid, a.kind.as_str()), (true, "linkage_proof"));
    assert_eq!(lp::holder_proofs(&app, &holder).await.unwrap().len(), 1);

    // A residence permit expiring in 10 days caps the proof at the end of that day.
    {
        let mut c = app.db.conn().await.unwrap();
        let soon = (app.today() + chrono::Duration::days(10)).to_string();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE documents SET expires_on = '{soon}' WHERE number = '{rp}'"
        )))
        .execute(&mut *c)
        .await
        .unwrap();
    }
    let capped = lp::issue_online(&app, &holder).await.unwrap();
    assert_eq!(
        capped.valid_until.to_rfc3339(),
        format!(
            "{}T16:00:00+00:00",
            app.today() + chrono::Duration::days(10)
        ),
        "the end of the expiry day in Beijing"
    );

    // At the counter: clerks of county-level offices; not below; not reviewers.
    let staff = |role: Role, office: &str| staff_session(role, "clerk1", Some(office));
    let q = PaperRequest {
        travel_document_kind: "hrp".into(),
        travel_document_number: "h12345678".into(),
        residence_permit_number: rp.clone(),
        name: "CHAN TAI MAN".into(),
    };
    let paper = lp::issue_paper(&app, &staff(Role::CounterClerk, "GZ-TH-001"), &q)
        .await
        .unwrap();
    assert_eq!(paper.channel, "paper");
    assert_eq!(paper.office_code.as_deref(), Some("GZ-TH-001"));
    import(&app, ImportKind::Offices, "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices\nGZ-TH-P01,天河派出所窗口,天河派出所窗口,Tianhe Police Window,Guangzhou,Tianhe,广州市天河区,point,0,0\n", false).await;
    let wrong_name = PaperRequest {
        name: "LIN CHIH-HAO".into(),
        ..q.clone()
    };
    for (who, req, want) in [
        (
            staff(Role::CounterClerk, "GZ-TH-P01"),
            &q,
            "office_level_too_low",
        ),
        (staff(Role::Reviewer, "GZ-TH-001"), &q, "forbidden"),
        (
            staff(Role::CounterClerk, "GZ-TH-001"),
            &wrong_name,
            "no_match",
        ),
    ] {
        let refused = error_code(lp::issue_paper(&app, &who, req)).await;
        assert_eq!(refused, want, "{who:?} {req:?}");
    }
    set_status(&app, &rp, "cancelled").await;
    let clerk = staff(Role::CounterClerk, "GZ-TH-001");
    assert_refused!(
        lp::issue_paper(&app, &clerk, &q),
        "residence_permit_not_valid"
    );
    assert_refused!(lp::issue_online(&app, &holder), "no_valid_residence_permit");
}

async fn credential_checks_read_revocation_live_and_every_check_is_recorded(t: &TestDb) {
    use exitentry_services::temporary_permits as tp;
    let (app, _, _k) = seeded(t, 300).await;
    let (p, _) = ctx(&app, "Railway", ALL, None).await;
    let (dob, _) = chan(&app).await;
    let issued = issue_temporary_permit(&app).await;

    let check = |payload: String, use_: Option<&'static str>| {
        let (app, p) = (app.clone(), p.clone());
        async move {
            let a = v::verify_credential(&app, &p, &payload, use_, Admission::Single)
                .await
                .unwrap();
            (a.valid, a.reason, a.kind)
        }
    };
    assert_eq!(
        check(issued.payload.clone(), Some("domestic_rail")).await,
        (true, "valid", "temporary_permit".to_string())
    );
    assert_eq!(
        check(issued.payload.clone(), Some("border")).await.1,
        "wrong_use"
    );
    // A temporary permit is for some uses only: the relying party must say which it checks
    // for, and every answer lists them.
    let e = v::verify_credential(&app, &p, &issued.payload, None, Admission::Single)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "use_required");
    let a = v::verify_credential(&app, &p, &issued.payload, Some("border"), Admission::Single)
        .await
        .unwrap();
    assert_eq!(a.permitted_uses, ["domestic_flight", "domestic_rail"]);
    assert_eq!(check("HC1:abc".into(), None).await.1, "bad_prefix");
    assert_eq!(check("EE1:@@@".into(), None).await.1, "bad_base45");
    tp::cancel(
        &app,
        &exitentry_services::holders::login(&app, "13800138000", "a long holder password")
            .await
            .unwrap()
            .1,
        &issued.permit_id,
    )
    .await
    .unwrap();
    assert_eq!(
        check(issued.payload.clone(), Some("domestic_rail")).await.1,
        "revoked"
    );

    // Every check so far is in the log, the document number only as a keyed hash.
    let permit = PermitCheck {
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
        name: "陳大文".into(),
        date_of_birth: dob,
        ..Default::default()
    };
    v::verify_permit(&app, &p, &permit, Admission::Single)
        .await
        .unwrap();
    app.usage.as_ref().unwrap().flush().await;
    let mut c = app.db.conn().await.unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kind, result, subject_hash FROM verification_log ORDER BY id")
            .fetch_all(&mut *c)
            .await
            .unwrap();
    // The refused check without a use is a client error and not recorded.
    assert_eq!(rows.len(), 7);
    assert_eq!(
        (rows[6].0.as_str(), rows[6].1.as_str()),
        ("permit", "valid")
    );
    assert!(
        rows.iter()
            .all(|r| !r.2.contains("H12345678") && r.2.len() == 32)
    );
}

/// Two nodes sharing the database reserve quota in leases; together they never give out
/// more than the quota, and the last checks of the day are counted one by one.
async fn nodes_share_the_daily_quota_exactly(t: &TestDb) {
    let (app, clock, _k) = seeded(t, 300).await;
    let other_node = App::new(app.db.clone(), (*app.config).clone(), clock.clone());
    let (p, _) = ctx(&app, "Big Bank", ALL, Some(450)).await;
    let mut granted = 0;
    for i in 0..600 {
        let node = if i % 3 == 0 { &other_node } else { &app };
        if partners::take_quota(node, &p, 1).await.is_ok() {
            granted += 1;
        }
    }
    // Each node leases a sixteenth of what is left, so near the end checks are counted one
    // by one.
    assert_eq!(granted, 450, "exactly the quota, never more");
    let mut c = app.db.conn().await.unwrap();
    let used: i64 = sqlx::query_scalar("SELECT used FROM partner_daily_use")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(used, 450);
}

/// Another node (or the command line) revokes a key or disables a partner: nothing tells
/// this node's cache, and still the very next check with the key is refused.
async fn a_key_revoked_elsewhere_is_refused_on_the_very_next_check(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (dob, rp) = chan(&app).await;
    let permit = PermitCheck {
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
        name: "陳大文".into(),
        date_of_birth: dob,
        ..Default::default()
    };
    let linkage = LinkageCheck {
        travel_document_kind: "hrp".into(),
        travel_document_number: "H12345678".into(),
        residence_permit_number: rp,
        name: "陳大文".into(),
    };
    let behind_its_back = [
        "UPDATE partner_keys SET revoked_at = 1",
        "UPDATE partners SET disabled = 1",
    ];
    for (i, sql) in behind_its_back.into_iter().enumerate() {
        let (_, key) = ctx(&app, &format!("Airline {i}"), ALL, None).await;
        // A request a moment ago: on PostgreSQL this node now holds the key in its cache.
        let p = partners::authenticate(&app, &key).await.unwrap();
        v::verify_permit(&app, &p, &permit, Admission::Single)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(app.db.pool())
            .await
            .unwrap();
        let next = async |how: &str| {
            let mut p = partners::authenticate(&app, &key).await?;
            match how {
                "permit" => v::verify_permit(&app, &p, &permit, Admission::Single)
                    .await
                    .map(drop),
                "linkage" => v::verify_linkage(&app, &p, &linkage, Admission::Single)
                    .await
                    .map(drop),
                "batch" => v::admit_batch(&app, &mut p, 1).await,
                _ => partners::confirm(&app, &mut p).await,
            }
        };
        for how in ["permit", "linkage", "batch", "other"] {
            assert_refused!(next(how), "unauthenticated");
        }
    }
}

/// Checks in flight at once (on PostgreSQL answered together by one statement) each get
/// exactly the answer they get alone; a key revoked meanwhile is refused among live ones.
async fn checks_sent_together_each_get_their_own_answer(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (_, live_key) = ctx(&app, "Airline", ALL, None).await;
    let (_, doomed_key) = ctx(&app, "Railway", ALL, None).await;
    // Both keys as a node holds them from a request a moment ago: each check confirms its
    // key in its own lookup.
    let live = partners::authenticate(&app, &live_key).await.unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT d.kind, d.number, p.name_latin, p.date_of_birth FROM documents d \
         JOIN people p ON p.id = d.person_id WHERE d.kind IN ('hrp', 'twp', 'eep_card') \
         ORDER BY d.id LIMIT 24",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let mut checks: Vec<PermitCheck> = rows
        .into_iter()
        .map(|(kind, number, name, dob)| PermitCheck {
            document_kind: kind,
            document_number: number,
            name,
            date_of_birth: dob,
            ..Default::default()
        })
        .collect();
    // Another person's name under a number, and a number nobody holds.
    let mut wrong_name = checks[0].clone();
    wrong_name.name = checks[1].name.clone();
    let mut unknown = checks[0].clone();
    unknown.document_kind = "hrp".into();
    unknown.document_number = "H99999999".into();
    checks.extend([wrong_name, unknown]);
    let mut alone = Vec::new();
    for q in &checks {
        let a = v::verify_permit(&app, &live, q, Admission::Single).await;
        alone.push(a.unwrap());
    }
    assert!(
        alone.iter().filter(|a| a.matched).count() >= 20,
        "{alone:?}"
    );
    assert!(
        alone.iter().filter(|a| !a.matched).count() >= 2,
        "{alone:?}"
    );
    // The second partner's key is read, then revoked behind the node's back.
    let doomed = partners::authenticate(&app, &doomed_key).await.unwrap();
    sqlx::query(
        "UPDATE partner_keys SET revoked_at = 1 \
         WHERE partner_id = (SELECT id FROM partners WHERE name = 'Railway')",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let mut together = tokio::task::JoinSet::new();
    for (i, q) in checks.iter().enumerate() {
        for (who, p) in [("live", &live), ("doomed", &doomed)] {
            let (app, p, q) = (app.clone(), p.clone(), q.clone());
            together.spawn(async move {
                let a = v::verify_permit(&app, &p, &q, Admission::Single).await;
                (i, who, a)
            });
        }
    }
    let mut answered = 0;
    while let Some(done) = together.join_next().await {
        let (i, who, a) = done.unwrap();
        match who {
            "live" => assert_eq!(a.unwrap(), alone[i], "{:?}", checks[i]),
            _ => assert!(matches!(a, Err(ServiceError::Unauthenticated)), "{a:?}"),
        }
        answered += 1;
    }
    assert_eq!(answered, checks.len() * 2);
    // Beneath the answers: each lookup gets the documents under its own numbers, no more.
    let ids = |found: Option<Vec<exitentry_storage::lookups::Holding>>| {
        let mut ids: Vec<i64> = found.unwrap().iter().map(|h| h.document_id).collect();
        ids.sort_unstable();
        ids
    };
    let mut alone = Vec::new();
    for q in &checks {
        alone.push(ids(app
            .db
            .check_documents(&[&q.document_number], None)
            .await
            .unwrap()));
    }
    let mut together = tokio::task::JoinSet::new();
    for (i, q) in checks.iter().enumerate() {
        let (app, number) = (app.clone(), q.document_number.clone());
        together.spawn(async move { (i, app.db.check_documents(&[&number], None).await) });
    }
    while let Some(done) = together.join_next().await {
        let (i, found) = done.unwrap();
        assert_eq!(ids(found.unwrap()), alone[i], "{:?}", checks[i]);
    }
}

/// A batch reads its documents many numbers at a time; each line answers exactly as the
/// same check sent alone, and a refused line does not stop the others.
async fn a_batch_answers_each_line_as_a_single_check_would(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (p, _) = ctx(&app, "Airline", ALL, None).await;
    let (dob, rp) = chan(&app).await;
    let permit = |number: &str, name: &str, count: &str| PermitCheck {
        document_kind: "hrp".into(),
        document_number: number.into(),
        name: name.into(),
        date_of_birth: dob.clone(),
        issue_count: count.into(),
    };
    let linkage = |travel: &str, rp: &str| LinkageCheck {
        travel_document_kind: "hrp".into(),
        travel_document_number: travel.into(),
        residence_permit_number: rp.into(),
        name: "CHAN TAI MAN".into(),
    };
    let mut checks = vec![
        v::Check::Permit(permit("H12345678", "陳大文", "")),
        v::Check::Permit(permit("h12345678", "chan tai man", "02")),
        v::Check::Permit(permit("H12345678", "陳小文", "")),
        v::Check::Permit(permit("H99999999", "陳大文", "")),
        v::Check::Permit(permit("H1", "陳大文", "")),
        v::Check::Linkage(linkage("H12345678", &rp)),
        v::Check::Linkage(linkage("H12345678", "810000199001010013")),
        v::Check::Credential {
            payload: "EE1:x".into(),
            use_: None,
        },
    ];
    // Far more numbers than one statement reads.
    for i in 0..600 {
        checks.push(v::Check::Permit(permit(
            &format!("H{:08}", 10_000_000 + i),
            "陳大文",
            "",
        )));
    }
    let mut admitted = p.clone();
    v::admit_batch(&app, &mut admitted, checks.len())
        .await
        .unwrap();
    let answers = v::verify_many(&app, &admitted, checks.clone())
        .await
        .unwrap();
    assert_eq!(answers.len(), checks.len());
    for (check, answer) in checks.iter().zip(answers) {
        let alone = match check {
            v::Check::Permit(q) => v::verify_permit(&app, &p, q, Admission::Single)
                .await
                .map(v::Answer::Permit),
            v::Check::Linkage(q) => v::verify_linkage(&app, &p, q, Admission::Single)
                .await
                .map(v::Answer::Linkage),
            v::Check::Credential { payload, use_ } => {
                v::verify_credential(&app, &p, payload, use_.as_deref(), Admission::Single)
                    .await
                    .map(v::Answer::Credential)
            }
        };
        match (answer, alone) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{check:?}"),
            (Err(a), Err(b)) => assert_eq!(a.code(), b.code(), "{check:?}"),
            (a, b) => panic!("{check:?}: in a batch {a:?}, alone {b:?}"),
        }
    }
    // Spot checks, so the comparison above cannot pass by both being wrong.
    let again = v::verify_many(&app, &admitted, checks[..7].to_vec())
        .await
        .unwrap();
    let reasons: Vec<String> = again
        .iter()
        .map(|a| match a {
            Ok(v::Answer::Permit(a)) => a.reason.to_string(),
            Ok(v::Answer::Linkage(a)) => a.reason.to_string(),
            Ok(v::Answer::Credential(a)) => a.reason.to_string(),
            Err(e) => e.code().to_string(),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "valid",
            "surrendered",
            "no_match",
            "no_match",
            "bad_format",
            "linked",
            "bad_check_digit"
        ]
    );
}

backend_tests!(
    checks_sent_together_each_get_their_own_answer,
    a_key_revoked_elsewhere_is_refused_on_the_very_next_check,
    a_batch_answers_each_line_as_a_single_check_would,
    holders_and_counters_get_linkage_proofs_that_verify,
    nodes_share_the_daily_quota_exactly,
    keys_work_until_revoked_or_the_partner_is_disabled,
    scopes_and_the_daily_quota_are_enforced,
    permit_checks_answer_match_valid_and_reason,
    linkage_needs_both_valid_documents_of_one_person,
    credential_checks_read_revocation_live_and_every_check_is_recorded,
);
