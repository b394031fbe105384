//! Storage contract: the same tests on SQLite and PostgreSQL (see `backend_tests!`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::{IdKind, make_prc_resident_id};
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::office::{HolidayCalendar, Office, OfficeCode, OfficeLevel, Service};
use exitentry_domain::person::{Names, Nationality, Region, Sex};
use exitentry_domain::states::TemporaryPermitState;
use exitentry_storage::accounts::{self, Accounts};
use exitentry_storage::audit::{self, AuditEntry, Verdict};
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::offices::{self, OfficeFilter};
use exitentry_storage::people::{self, PersonRecord};
use exitentry_storage::testing::TestDb;
use exitentry_storage::{Backend, StorageError, backend_tests, schema, staff};
use sqlx::Executor;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn office(code: &str, district: &str, open_24h: bool, devices: u32) -> Office {
    Office {
        code: OfficeCode::parse(code).unwrap(),
        name_zh_hans: format!("{code} 出入境"),
        name_zh_hant: format!("{code} 出入境"),
        name_en: format!("{code} Exit-Entry"),
        city: "Guangzhou".into(),
        district: district.into(),
        address: "广州市".into(),
        address_zh_hant: "廣州市".into(),
        address_en: "Guangzhou".into(),
        level: OfficeLevel::County,
        calendar: HolidayCalendar::Mainland,
        open_24h,
        opening_hours: "24h".into(),
        self_service_devices: devices,
        services: vec![Service::Endorsement, Service::Collection],
    }
}

fn person(ext: &str, seq: u16) -> PersonRecord {
    let dob = d("1990-05-17");
    PersonRecord {
        external_id: ext.into(),
        names: Names {
            zh: Some("李明".into()),
            latin: "LI MING".into(),
        },
        sex: Sex::Male,
        date_of_birth: dob,
        region: Region::Mainland,
        nationality: Nationality::Chinese,
        id_kind: IdKind::PrcResidentId,
        id_number: make_prc_resident_id("440104", dob, seq),
        hukou_area: None,
    }
}

#[tokio::test]
async fn both_backends_have_identical_tables_and_columns() {
    let lite = TestDb::new(Backend::Sqlite).await;
    let pg = TestDb::new(Backend::Postgres).await;
    let a = schema::columns(&lite.db).await.unwrap();
    let b = schema::columns(&pg.db).await.unwrap();
    assert!(a.len() > 30, "introspection found too little: {a:?}");
    let only_lite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "schemas differ\nonly in sqlite: {only_lite:?}\nonly in postgres: {only_pg:?}"
    );
    lite.cleanup().await;
    pg.cleanup().await;
}

async fn offices_upsert_is_idempotent_and_filters_work(t: &TestDb) {
    let mut c = t.db.conn().await.unwrap();
    let list = vec![
        office("GZ-TH-001", "Tianhe", true, 3),
        office("GZ-TH-002", "Tianhe", false, 0),
        office("GZ-YX-001", "Yuexiu", true, 2),
    ];
    let first = offices::upsert(&mut c, &list, 1).await.unwrap();
    assert_eq!((first.inserted, first.updated, first.unchanged), (3, 0, 0));
    let again = offices::upsert(&mut c, &list, 2).await.unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
    let mut changed = list[1].clone();
    changed.self_service_devices = 4;
    let upd = offices::upsert(&mut c, &[changed], 3).await.unwrap();
    assert_eq!(upd.updated, 1);

    let f = OfficeFilter {
        district: Some("Tianhe".into()),
        open_24h: true,
        limit: 50,
        ..Default::default()
    };
    let (found, total) = offices::list(&mut c, &f).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(found[0].code.as_str(), "GZ-TH-001");
    assert_eq!(found[0], list[0], "round trip keeps every field");

    let f = OfficeFilter {
        with_devices: true,
        limit: 50,
        ..Default::default()
    };
    assert_eq!(offices::list(&mut c, &f).await.unwrap().1, 3);

    let ds = offices::districts(&mut c).await.unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(
        (ds[0].district.as_str(), ds[0].offices, ds[0].open_24h),
        ("Tianhe", 2, 1)
    );
}

async fn people_and_documents_round_trip_and_reimport_changes_nothing(t: &TestDb) {
    let mut tx = t.db.begin().await.unwrap();
    offices::upsert(&mut tx, &[office("GZ-TH-001", "Tianhe", true, 1)], 1)
        .await
        .unwrap();
    let ps = vec![person("P1", 11), person("P2", 12)];
    assert_eq!(people::insert_new(&mut tx, &ps, 1).await.unwrap(), 2);
    assert_eq!(people::insert_new(&mut tx, &ps, 2).await.unwrap(), 0);
    tx.commit().await.unwrap();

    let mut c = t.db.conn().await.unwrap();
    let stored = people::by_external_ids(&mut c, &["P1".into(), "P2".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let p1 = stored
        .iter()
        .find(|p| p.person.external_id == "P1")
        .unwrap();
    assert_eq!(p1.person, ps[0]);

    let owners =
        people::find_identity_owners(&mut c, &[(IdKind::PrcResidentId, ps[1].id_number.clone())])
            .await
            .unwrap();
    assert_eq!(
        owners,
        vec![(
            IdKind::PrcResidentId,
            ps[1].id_number.clone(),
            "P2".to_string()
        )]
    );

    let doc = DocumentRecord {
        person_id: p1.id,
        kind: DocumentKind::EepCard,
        number: "CA1234567".into(),
        issue_count: None,
        issued_on: d("2020-01-02"),
        expires_on: d("2030-01-01"),
        status: DocumentStatus::Valid,
        office_code: Some("GZ-TH-001".into()),
    };
    let hrp = DocumentRecord {
        kind: DocumentKind::Hrp,
        number: "H12345678".into(),
        issue_count: Some(2),
        ..doc.clone()
    };
    assert_eq!(
        documents::insert_new(&mut c, &[doc.clone(), hrp.clone()], 1)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        documents::insert_new(&mut c, std::slice::from_ref(&doc), 2)
            .await
            .unwrap(),
        0
    );
    let renewed = DocumentRecord {
        issue_count: Some(3),
        ..hrp.clone()
    };
    assert_eq!(
        documents::insert_new(&mut c, &[renewed], 3).await.unwrap(),
        1,
        "next HRP card keeps the number"
    );

    let found = documents::by_number(&mut c, "CA1234567").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0.doc, doc);
    assert_eq!(found[0].1.person.external_id, "P1");
    assert_eq!(documents::for_person(&mut c, p1.id).await.unwrap().len(), 3);
    assert_eq!(
        people::by_id_number(&mut c, &ps[0].id_number)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn identity_numbers_are_unique(t: &TestDb) {
    let mut c = t.db.conn().await.unwrap();
    people::insert_new(&mut c, &[person("A", 21)], 1)
        .await
        .unwrap();
    let clash = PersonRecord {
        external_id: "B".into(),
        ..person("A", 21)
    };
    let err = people::insert_new(&mut c, &[clash], 2).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
}

/// One sign-in attempt of the clerk at `now` (three before a lock until `lock_until`).
async fn clerk_attempt(
    c: &mut sqlx::AnyConnection,
    lock_until: i64,
    now: i64,
) -> exitentry_storage::guards::Attempt {
    let key = "staff:clerk";
    exitentry_storage::guards::take_attempt(c, key, 3, lock_until, now)
        .await
        .unwrap()
}

/// When the clerk's lock ends, if the clerk is locked at `now`.
async fn clerk_locked_until(c: &mut sqlx::AnyConnection, now: i64) -> Option<i64> {
    exitentry_storage::guards::locked_until(c, "staff:clerk", now)
        .await
        .unwrap()
}

async fn failed_logins_lock_the_account(t: &TestDb) {
    let mut c = t.db.conn().await.unwrap();
    let id = staff::create(&mut c, "clerk", "hash", "counter_clerk", None, 1)
        .await
        .unwrap();
    let dup = staff::create(&mut c, "clerk", "hash", "admin", None, 1)
        .await
        .unwrap_err();
    assert!(matches!(dup, StorageError::Conflict(_)));
    // Attempts are taken before the check: two granted, the third locks, the fourth waits.
    use exitentry_storage::guards::{self, Attempt};
    for i in 1..=2 {
        let granted = Attempt::Granted { failures: i };
        assert_eq!(clerk_attempt(&mut c, 999, 10).await, granted);
    }
    assert_eq!(clerk_locked_until(&mut c, 10).await, None);
    let third = clerk_attempt(&mut c, 999, 10).await;
    assert_eq!(third, Attempt::Granted { failures: 3 });
    assert_eq!(clerk_locked_until(&mut c, 10).await, Some(999));
    let fourth = clerk_attempt(&mut c, 2000, 11).await;
    assert_eq!(fourth, Attempt::Locked { until: 999 });
    // After the lock ends the count starts again; a success clears it.
    let after_lock = clerk_attempt(&mut c, 2000, 1000).await;
    assert_eq!(after_lock, Attempt::Granted { failures: 1 });
    guards::clear(&mut c, "staff:clerk").await.unwrap();
    let after_clear = clerk_attempt(&mut c, 2000, 1001).await;
    assert_eq!(after_clear, Attempt::Granted { failures: 1 });
    // Send allowances: `max` per window, a new window starts afresh.
    for _ in 0..2 {
        assert!(guards::take_send(&mut c, "sms:1", 0, 2).await.unwrap());
    }
    assert!(!guards::take_send(&mut c, "sms:1", 0, 2).await.unwrap());
    assert!(guards::take_send(&mut c, "sms:1", 60, 2).await.unwrap());
    // Sweeps forget what is old and keep what is running.
    assert_eq!(guards::sweep_send_limits(&mut c, 60).await.unwrap(), 1);
    assert_eq!(
        guards::sweep(&mut c, 1000).await.unwrap(),
        0,
        "updated at 1001"
    );
    assert_eq!(guards::sweep(&mut c, 5000).await.unwrap(), 1);

    accounts::create_session(&mut c, Accounts::Staff, "th", id, "csrf", 5, 100)
        .await
        .unwrap();
    let s = staff::session(&mut c, "th").await.unwrap().unwrap();
    assert_eq!(
        (
            s.user.username.as_str(),
            s.csrf_token.as_str(),
            s.expires_at
        ),
        ("clerk", "csrf", 100)
    );
    accounts::delete_session(&mut c, Accounts::Staff, "th")
        .await
        .unwrap();
    assert!(staff::session(&mut c, "th").await.unwrap().is_none());
}

fn entry(n: u32) -> AuditEntry {
    AuditEntry {
        actor: "staff:admin".into(),
        action: "test.action".into(),
        subject: format!("thing:{n}"),
        before_ref: None,
        after_ref: Some(format!("v{n}")),
        detail: "{}".into(),
    }
}

async fn audit_chain_detects_alteration_and_removal(t: &TestDb) {
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(
        audit::verify(&mut c).await.unwrap(),
        Verdict::Intact { entries: 0 }
    );
    for n in 1..=5 {
        let mut tx = t.db.begin().await.unwrap();
        assert_eq!(
            audit::append(&mut tx, &entry(n), i64::from(n))
                .await
                .unwrap(),
            i64::from(n)
        );
        tx.commit().await.unwrap();
    }
    assert_eq!(
        audit::verify(&mut c).await.unwrap(),
        Verdict::Intact { entries: 5 }
    );

    // The log refuses edits outright…
    let refused = c
        .execute("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
        .await;
    assert!(refused.is_err(), "append-only trigger must refuse updates");

    // …and someone who removes the guard is still caught.
    match t.backend() {
        Backend::Sqlite => {
            c.execute("DROP TRIGGER audit_log_no_update").await.unwrap();
            c.execute("DROP TRIGGER audit_log_no_delete").await.unwrap();
        }
        Backend::Postgres => {
            c.execute("DROP TRIGGER audit_log_no_update ON audit_log")
                .await
                .unwrap();
        }
    }
    let sql = "UPDATE audit_log SET subject = 'thing:99' WHERE seq = 3";
    let altered = verdict_after(&mut c, sql).await;
    assert!(
        matches!(altered, Verdict::Broken { seq: 3, .. }),
        "alteration not caught: {altered:?}"
    );
    let sql = "UPDATE audit_log SET subject = 'thing:3' WHERE seq = 3";
    let restored = verdict_after(&mut c, sql).await;
    assert_eq!(restored, Verdict::Intact { entries: 5 });

    let tail = verdict_after(&mut c, "DELETE FROM audit_log WHERE seq = 5").await;
    assert!(
        matches!(tail, Verdict::Broken { seq: 5, .. }),
        "removed tail not caught: {tail:?}"
    );
    let middle = verdict_after(&mut c, "DELETE FROM audit_log WHERE seq = 2").await;
    assert!(
        matches!(middle, Verdict::Broken { seq: 2, .. }),
        "removed entry not caught: {middle:?}"
    );
}

/// What walking the audit chain finds after `sql` changed the log.
async fn verdict_after(c: &mut sqlx::AnyConnection, sql: &'static str) -> Verdict {
    c.execute(sql).await.unwrap();
    audit::verify(c).await.unwrap()
}

async fn concurrent_audit_appends_form_one_chain(t: &TestDb) {
    let mut handles = Vec::new();
    for n in 0..20 {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            audit::append(&mut tx, &entry(n), 1).await.unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(
        audit::verify(&mut c).await.unwrap(),
        Verdict::Intact { entries: 20 }
    );
}

backend_tests!(
    offices_upsert_is_idempotent_and_filters_work,
    people_and_documents_round_trip_and_reimport_changes_nothing,
    identity_numbers_are_unique,
    failed_logins_lock_the_account,
    audit_chain_detects_alteration_and_removal,
    concurrent_audit_appends_form_one_chain,
);

async fn ten_concurrent_issues_take_exactly_the_two_monthly_slots(t: &TestDb) {
    use exitentry_storage::temporary_permits::{self, PermitRecord};
    let mut c = t.db.conn().await.unwrap();
    let p = PersonRecord {
        region: Region::HongKong,
        ..person("HK1", 31)
    };
    people::insert_new(&mut c, std::slice::from_ref(&p), 1)
        .await
        .unwrap();
    let pid = people::by_external_ids(&mut c, &["HK1".into()])
        .await
        .unwrap()[0]
        .id;
    let doc = DocumentRecord {
        person_id: pid,
        kind: DocumentKind::Hrp,
        number: "H87654321".into(),
        issue_count: Some(1),
        issued_on: d("2020-01-01"),
        expires_on: d("2030-01-01"),
        status: DocumentStatus::ReportedLost,
        office_code: None,
    };
    documents::insert_new(&mut c, &[doc], 1).await.unwrap();
    let doc_id = documents::for_person(&mut c, pid).await.unwrap()[0].id;
    drop(c);

    let mut handles = Vec::new();
    for n in 0..10 {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            if !temporary_permits::take_month_slot(&mut tx, pid, "2026-11", 2)
                .await
                .unwrap()
            {
                return false;
            }
            let index = temporary_permits::next_status_index(&mut tx).await.unwrap();
            let permit = PermitRecord {
                id: format!("TP-{n}"),
                person_id: pid,
                document_id: doc_id,
                status_index: index,
                month_key: "2026-11".into(),
                valid_from: 10,
                valid_until: 20,
                status: TemporaryPermitState::Valid,
                revoked_reason: None,
                payload: "EE1:…".into(),
            };
            temporary_permits::insert(&mut tx, &permit, 10)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            true
        }));
    }
    let mut issued = 0;
    for h in handles {
        issued += usize::from(h.await.unwrap());
    }
    assert_eq!(issued, 2, "exactly two permits in one calendar month");
    let mut c = t.db.conn().await.unwrap();
    let permits = temporary_permits::for_person(&mut c, pid).await.unwrap();
    assert_eq!(permits.len(), 2);
    assert_ne!(
        permits[0].status_index, permits[1].status_index,
        "distinct status-list slots"
    );
    assert_eq!(
        temporary_permits::issued_in_month(&mut c, pid, "2026-11")
            .await
            .unwrap(),
        2
    );

    // A new month starts a new count.
    assert!(
        temporary_permits::take_month_slot(&mut c, pid, "2026-12", 2)
            .await
            .unwrap()
    );

    // Ending a permit once marks its status-list index; a second time changes nothing.
    let id = permits[0].id.clone();
    assert!(
        temporary_permits::end(
            &mut c,
            &id,
            TemporaryPermitState::Revoked,
            Some("fraud"),
            30
        )
        .await
        .unwrap()
    );
    assert!(
        !temporary_permits::end(&mut c, &id, TemporaryPermitState::Cancelled, None, 31)
            .await
            .unwrap()
    );
    assert_eq!(
        temporary_permits::ended_indexes(&mut c).await.unwrap(),
        vec![permits[0].status_index]
    );
}

backend_tests!(ten_concurrent_issues_take_exactly_the_two_monthly_slots);

/// The job a worker claims at `at` with a lease of 1000, if one is due.
async fn claim_at(
    c: &mut sqlx::AnyConnection,
    b: Backend,
    at: i64,
) -> Option<exitentry_storage::jobs::Job> {
    exitentry_storage::jobs::claim(c, b, at, 1000)
        .await
        .unwrap()
}

/// Fails job `id` at `at` with no retry: it is given up.
async fn give_up(c: &mut sqlx::AnyConnection, id: i64, error: &str, at: i64) {
    exitentry_storage::jobs::fail(c, id, error, None, at)
        .await
        .unwrap();
}

async fn jobs_are_claimed_once_retried_and_given_up(t: &TestDb) {
    use exitentry_storage::jobs;
    let b = t.backend();
    let mut c = t.db.conn().await.unwrap();
    let first = jobs::enqueue(&mut c, "sms", "{\"to\":\"1\"}", 100, 1)
        .await
        .unwrap();
    let second = jobs::enqueue(&mut c, "sms", "{\"to\":\"2\"}", 200, 1)
        .await
        .unwrap();
    jobs::enqueue(&mut c, "sms", "{\"to\":\"3\"}", 10_000, 1)
        .await
        .unwrap();

    assert!(claim_at(&mut c, b, 50).await.is_none(), "nothing due yet");
    let j = claim_at(&mut c, b, 300).await.unwrap();
    assert_eq!((j.id, j.attempts), (first, 1), "oldest due first");
    let j2 = claim_at(&mut c, b, 300).await.unwrap();
    assert_eq!(j2.id, second, "a leased job is not handed out twice");
    assert!(claim_at(&mut c, b, 300).await.is_none());

    // The lease runs out (a crashed worker): the job comes back.
    let again = claim_at(&mut c, b, 1300).await.unwrap();
    assert_eq!((again.id, again.attempts), (first, 2));
    jobs::complete(&mut c, first, 1400).await.unwrap();

    jobs::fail(&mut c, second, "gateway timeout", Some(5000), 1400)
        .await
        .unwrap();
    let early = claim_at(&mut c, b, 4999).await;
    assert!(early.is_none(), "retry waits for its time");
    let retried = claim_at(&mut c, b, 5000).await.unwrap();
    assert_eq!((retried.id, retried.attempts), (second, 2));
    give_up(&mut c, second, "gateway refused", 5100).await;
    let failed = jobs::failed(&mut c, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].0.id, failed[0].1.as_str()),
        (second, "gateway refused")
    );
    let later = claim_at(&mut c, b, 9000).await;
    assert!(later.is_none(), "given-up and done jobs stay put");

    jobs::deliver_to_outbox(&mut c, "sms", "13800138000", None, "code 123456", 10)
        .await
        .unwrap();
    let out = jobs::outbox(&mut c, 10).await.unwrap();
    assert_eq!(
        (out[0].recipient.as_str(), out[0].body.as_str()),
        ("13800138000", "code 123456")
    );
}

async fn concurrent_workers_never_run_a_job_twice(t: &TestDb) {
    use exitentry_storage::jobs;
    let mut c = t.db.conn().await.unwrap();
    for n in 0..30 {
        jobs::enqueue(&mut c, "sms", &n.to_string(), 1, 1)
            .await
            .unwrap();
    }
    drop(c);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let db = t.db.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut tx = db.begin().await.unwrap();
                let job = jobs::claim(&mut tx, db.backend(), 10, 1_000_000)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                match job {
                    Some(j) => mine.push(j.id),
                    None => break mine,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(
        (before, all.len()),
        (30, 30),
        "every job claimed exactly once"
    );
}

backend_tests!(
    jobs_are_claimed_once_retried_and_given_up,
    concurrent_workers_never_run_a_job_twice
);

/// A given-up job can be queued again once, with a fresh count of attempts; done and
/// pending jobs cannot.
async fn given_up_jobs_are_retried_with_fresh_attempts(t: &TestDb) {
    use exitentry_storage::jobs;
    let b = t.backend();
    let mut c = t.db.conn().await.unwrap();
    let id = jobs::enqueue(&mut c, "email", "{}", 100, 1).await.unwrap();
    let pending = jobs::enqueue(&mut c, "email", "{}", 50_000, 1)
        .await
        .unwrap();
    assert!(!jobs::retry(&mut c, id, 200).await.unwrap(), "not given up");
    let j = claim_at(&mut c, b, 150).await.unwrap();
    assert_eq!(j.id, id);
    give_up(&mut c, id, "smtp down", 160).await;
    let failed = jobs::failed_jobs(&mut c, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].job.id,
            failed[0].last_error.as_str(),
            failed[0].failed_at
        ),
        (id, "smtp down", 160)
    );
    assert!(jobs::retry(&mut c, id, 300).await.unwrap());
    assert!(!jobs::retry(&mut c, id, 300).await.unwrap(), "once");
    assert!(!jobs::retry(&mut c, pending, 300).await.unwrap());
    assert!(jobs::failed_jobs(&mut c, 10).await.unwrap().is_empty());
    assert!(claim_at(&mut c, b, 299).await.is_none());
    let again = claim_at(&mut c, b, 300).await.unwrap();
    assert_eq!((again.id, again.attempts), (id, 1), "attempts start again");
    jobs::complete(&mut c, id, 310).await.unwrap();
    assert!(
        !jobs::retry(&mut c, id, 400).await.unwrap(),
        "done stays done"
    );
    assert_eq!(jobs::job(&mut c, id).await.unwrap().unwrap().attempts, 1);
    assert!(jobs::job(&mut c, 999_999).await.unwrap().is_none());
}

backend_tests!(given_up_jobs_are_retried_with_fresh_attempts);

/// Each office follows one holiday calendar: Hong Kong's days never close a mainland hall,
/// the mainland's never a CTS centre in Hong Kong; an office's own closure only itself.
async fn holiday_calendars_are_kept_apart(t: &TestDb) {
    use exitentry_storage::appointments::{self as ap, CalendarDay};
    let mut c = t.db.conn().await.unwrap();
    let hall = office("GZ-YX-002", "Yuexiu", false, 4);
    let cts = Office {
        level: OfficeLevel::CtsCentre,
        calendar: HolidayCalendar::HongKong,
        city: "HongKong".into(),
        services: vec![Service::HrpNonChinese, Service::Collection],
        ..office("HK-KLN-001", "YauTsimMong", false, 4)
    };
    offices::upsert(&mut c, &[hall.clone(), cts.clone()], 1)
        .await
        .unwrap();
    let back = offices::get(&mut c, &cts.code).await.unwrap().unwrap();
    assert_eq!(back, cts, "level and calendar round-trip");
    let day = |day: &str, calendar: &str, office: &str, kind: &str| CalendarDay {
        day: day.into(),
        calendar: calendar.into(),
        office_code: office.into(),
        kind: kind.into(),
        name: format!("{kind} {day}"),
    };
    // 2026-10-01 is a holiday in both; Christmas only in Hong Kong; a make-up working
    // Saturday only on the mainland; a closure of the Kowloon centre.
    for d in [
        day("2026-10-01", "mainland", "", "holiday"),
        day("2026-10-01", "hong_kong", "", "holiday"),
        day("2026-12-25", "hong_kong", "", "holiday"),
        day("2026-10-10", "mainland", "", "workday"),
        day("2026-11-30", "", "HK-KLN-001", "closure"),
    ] {
        ap::put_day(&mut c, &d, 1).await.unwrap();
    }
    let days = |list: Vec<CalendarDay>| -> Vec<(String, String)> {
        list.into_iter().map(|d| (d.day, d.kind)).collect()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let hk = ap::calendar(
        &mut c,
        "hong_kong",
        Some("HK-KLN-001"),
        "2026-01-01",
        "2026-12-31",
    )
    .await
    .unwrap();
    assert_eq!(
        days(hk),
        [
            pair("2026-10-01", "holiday"),
            pair("2026-11-30", "closure"),
            pair("2026-12-25", "holiday")
        ]
    );
    let mainland = ap::calendar(
        &mut c,
        "mainland",
        Some("GZ-YX-002"),
        "2026-01-01",
        "2026-12-31",
    )
    .await
    .unwrap();
    assert_eq!(
        days(mainland),
        [pair("2026-10-01", "holiday"), pair("2026-10-10", "workday")]
    );
    // The same day can be a holiday of both calendars and removed from one only.
    assert!(
        ap::remove_day(&mut c, "2026-10-01", "hong_kong", "")
            .await
            .unwrap()
    );
    assert!(
        !ap::remove_day(&mut c, "2026-10-01", "hong_kong", "")
            .await
            .unwrap()
    );
    let still = ap::calendar(&mut c, "mainland", None, "2026-10-01", "2026-10-01")
        .await
        .unwrap();
    assert_eq!(still.len(), 1);

    // A Hong Kong holiday removes the free slots of Hong Kong's offices only.
    let start = 1_800_000_000_000_000_i64;
    for o in ["GZ-YX-002", "HK-KLN-001"] {
        ap::open_slots(
            &mut c,
            o,
            "hrp_non_chinese",
            &[(start, start + 1_800_000_000, 3)],
        )
        .await
        .unwrap();
    }
    let (removed, left) =
        ap::close_slots_in_calendar(&mut c, "hong_kong", start, start + 86_400_000_000)
            .await
            .unwrap();
    assert_eq!((removed, left), (1, 0));
    let gz = ap::slots(&mut c, "GZ-YX-002", "hrp_non_chinese", start, start + 1)
        .await
        .unwrap();
    assert_eq!(gz.len(), 1, "the mainland hall keeps its slot");
}

backend_tests!(holiday_calendars_are_kept_apart);
