//! The reads every relying-party check makes, on each way they are read.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use chrono::NaiveDate;
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::ids::{IdKind, make_prc_resident_id};
use exitentry_domain::numbers::DocumentKind;
use exitentry_domain::person::{Names, Nationality, Region, Sex};
use exitentry_storage::backend_tests;
use exitentry_storage::documents::{self, DocumentRecord};
use exitentry_storage::people::{self, PersonRecord};
use exitentry_storage::testing::TestDb;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn holder() -> PersonRecord {
    let born = day(1988, 2, 29);
    PersonRecord {
        external_id: "P9".into(),
        names: Names {
            zh: Some("黃小玲".into()),
            latin: "WONG SIU LING".into(),
        },
        sex: Sex::Female,
        date_of_birth: born,
        region: Region::HongKong,
        nationality: Nationality::Chinese,
        id_kind: IdKind::PrcResidentId,
        id_number: make_prc_resident_id("810000", born, 19),
        hukou_area: None,
    }
}

/// A migrated in-memory database (one sqlx connection, no readers of a file).
async fn in_memory() -> exitentry_storage::Db {
    let db = exitentry_storage::Db::open("sqlite::memory:", 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db
}

/// [`holder`] registered, as read back.
async fn insert_holder(c: &mut sqlx::AnyConnection) -> Vec<people::StoredPerson> {
    people::insert_new(c, &[holder()], 1).await.unwrap();
    people::by_external_ids(c, &["P9".into()]).await.unwrap()
}

/// What a check reads of documents under numbers and of their holders: the same on the
/// gathered reads (a SQLite file, PostgreSQL) and on an in-memory database's one connection.
async fn check_lookups_read_documents_and_their_holders(t: &TestDb) {
    lookups_read(&t.db).await;
}

#[tokio::test]
async fn check_lookups_read_documents_and_their_holders_in_memory() {
    lookups_read(&in_memory().await).await;
}

async fn lookups_read(db: &exitentry_storage::Db) {
    let mut c = db.conn().await.unwrap();
    let p = insert_holder(&mut c).await;
    let card = |number: &str, issue_count, status| DocumentRecord {
        person_id: p[0].id,
        kind: DocumentKind::Hrp,
        number: number.into(),
        issue_count,
        issued_on: day(2021, 3, 4),
        expires_on: day(2031, 3, 3),
        status,
        office_code: None,
    };
    let lost = card("H87654321", Some(1), DocumentStatus::ReportedLost);
    let cards = [
        lost,
        card("H87654321", Some(2), DocumentStatus::Valid),
        card("H1", None, DocumentStatus::Valid),
    ];
    documents::insert_new(&mut c, &cards, 1).await.unwrap();
    drop(c);
    let mut found = db
        .check_documents(&["H87654321", "H0"], None)
        .await
        .unwrap()
        .unwrap();
    found.sort_by_key(|h| h.issue_count);
    assert_eq!(found.len(), 2);
    for (h, card) in found.iter().zip(&cards) {
        assert!(h.document_id > 0);
        let doc = (
            h.person_id,
            h.kind,
            h.number.as_str(),
            h.issue_count,
            h.status,
        );
        assert_eq!(
            doc,
            (
                card.person_id,
                card.kind,
                card.number.as_str(),
                card.issue_count,
                card.status
            )
        );
        assert_eq!(
            (h.issued_on, h.expires_on),
            (card.issued_on, card.expires_on)
        );
        assert_eq!(
            (&h.names, h.date_of_birth),
            (&p[0].person.names, p[0].person.date_of_birth)
        );
    }
}

backend_tests!(check_lookups_read_documents_and_their_holders);

/// A check reads every change to a document or its holder from the very next lookup: the
/// rows it reads (`document_checks`) follow the two tables in the same transaction.
async fn check_lookups_follow_every_change(t: &TestDb) {
    lookups_follow(&t.db).await;
}

#[tokio::test]
async fn check_lookups_follow_every_change_in_memory() {
    lookups_follow(&in_memory().await).await;
}

async fn lookups_follow(db: &exitentry_storage::Db) {
    let found = |numbers: &'static [&'static str]| async move {
        let mut found = db.check_documents(numbers, None).await.unwrap().unwrap();
        found.sort_by_key(|h| (h.number.clone(), h.issue_count));
        found
    };
    let mut c = db.conn().await.unwrap();
    let p = insert_holder(&mut c).await;
    let card = DocumentRecord {
        person_id: p[0].id,
        kind: DocumentKind::Hrp,
        number: "H11111111".into(),
        issue_count: Some(1),
        issued_on: day(2021, 3, 4),
        expires_on: day(2031, 3, 3),
        status: DocumentStatus::Valid,
        office_code: None,
    };
    let id = documents::insert_one(&mut c, &card, 1).await.unwrap();
    drop(c);
    let now = found(&["H11111111"]).await;
    assert_eq!(
        (now.len(), now[0].document_id, now[0].status),
        (1, id, DocumentStatus::Valid)
    );

    let mut c = db.conn().await.unwrap();
    let lost = DocumentStatus::ReportedLost;
    assert!(
        documents::change_status(&mut c, id, DocumentStatus::Valid, lost, 2)
            .await
            .unwrap()
    );
    drop(c);
    assert_eq!(found(&["H11111111"]).await[0].status, lost);

    // A holder's names or birth date corrected, a number corrected, a document removed:
    // no code path does these today, the database keeps the check rows right if one does.
    let mut c = db.conn().await.unwrap();
    sqlx::query(
        "UPDATE people SET name_zh = NULL, name_latin = 'WONG SIU LING MARY', \
         date_of_birth = '1988-03-01' WHERE id = $1",
    )
    .bind(p[0].id)
    .execute(&mut *c)
    .await
    .unwrap();
    drop(c);
    let now = found(&["H11111111"]).await;
    let names = Names {
        zh: None,
        latin: "WONG SIU LING MARY".into(),
    };
    assert_eq!(
        (&now[0].names, now[0].date_of_birth),
        (&names, day(1988, 3, 1))
    );

    let mut c = db.conn().await.unwrap();
    sqlx::query("UPDATE documents SET number = 'H22222222' WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    assert!(found(&["H11111111"]).await.is_empty());
    let now = found(&["H22222222"]).await;
    assert_eq!(
        (now.len(), now[0].document_id, &now[0].names),
        (1, id, &names)
    );

    let mut c = db.conn().await.unwrap();
    sqlx::query("DELETE FROM documents WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .unwrap();
    drop(c);
    assert!(found(&["H11111111", "H22222222"]).await.is_empty());
}

backend_tests!(check_lookups_follow_every_change);
