//! What migrations do to data an earlier version left, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_storage::Backend;
use exitentry_storage::backend_tests;
use exitentry_storage::testing::TestDb;
use sqlx::Row;

async fn exec(t: &TestDb, sql: &str) {
    let mut c = t.db.conn().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *c)
        .await
        .unwrap();
}

/// Migration 0018: a sign-in the old web sign-up bound (a phone, no face) is closed, its
/// sessions end and its number is asked to sign up again; one a temporary permit's face
/// check bound stays; the one-person-one-sign-in index holds afterwards.
async fn phone_only_sign_ins_are_closed_by_0018(backend: Backend) {
    let t = TestDb::unmigrated(backend).await;
    t.db.migrate_to(17).await.unwrap();
    for (id, ext, number) in [
        (1, "P1", "11010519491231002X"),
        (2, "P2", "440106199001010011"),
    ] {
        exec(
            &t,
            &format!(
                "INSERT INTO people (id, external_id, name_latin, sex, date_of_birth, region, \
                 nationality, id_kind, id_number, created_at, updated_at) VALUES \
                 ({id}, '{ext}', 'LI HUA', 'F', '1949-12-31', 'mainland', 'CHN', \
                 'prc_resident_id', '{number}', 0, 0)"
            ),
        )
        .await;
    }
    exec(
        &t,
        "INSERT INTO documents (id, person_id, kind, number, issue_count, issued_on, expires_on, \
         status, created_at, updated_at) VALUES (1, 2, 'hrp', 'H12345678', 1, '2020-01-01', \
         '2030-01-01', 'valid', 0, 0)",
    )
    .await;
    // Person 1: bound by the old sign-up. Person 2: by a temporary permit (face checked).
    for (id, person, mobile) in [(1, 1, "13700137000"), (2, 2, "13800138000")] {
        exec(
            &t,
            &format!(
                "INSERT INTO holder_accounts (id, mobile, person_id, password_hash, failed_logins, \
                 created_at, updated_at) VALUES ({id}, '{mobile}', {person}, 'h', 0, 0, 0)"
            ),
        )
        .await;
        exec(
            &t,
            &format!(
                "INSERT INTO holder_sessions (token_hash, user_id, csrf_token, created_at, \
                 last_seen_at, expires_at) VALUES ('t{id}', {id}, 'c', 0, 0, 1)"
            ),
        )
        .await;
        exec(
            &t,
            &format!(
                "INSERT INTO holder_signups (id, person_id, mobile, password_hash, code_hash, \
                 code_expires_at, attempts, created_at, completed_at) VALUES \
                 ('s{id}', {person}, '{mobile}', 'h', 'c', 0, 1, 0, 1)"
            ),
        )
        .await;
    }
    exec(
        &t,
        "INSERT INTO temporary_permit_applications (id, person_id, document_id, mobile, \
         password_hash, state, sms_code_hash, sms_sent_at, sms_expires_at, sms_tries, \
         created_at, updated_at) VALUES ('a', 2, 1, '13800138000', 'h', 'issued', 'c', 0, 0, 1, 0, 0)",
    )
    .await;

    t.db.migrate().await.unwrap();

    let mut c = t.db.conn().await.unwrap();
    let accounts: Vec<i64> = sqlx::query_scalar("SELECT id FROM holder_accounts ORDER BY id")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    assert_eq!(accounts, [2], "the phone-only sign-in is closed");
    let sessions: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM holder_sessions ORDER BY token_hash")
            .fetch_all(&mut *c)
            .await
            .unwrap();
    assert_eq!(sessions, ["t2"]);
    let jobs = sqlx::query("SELECT kind, payload FROM jobs")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let payload: String = jobs[0].try_get("payload").unwrap();
    let sms: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(sms["to"], "13700137000");
    assert!(sms["text"].as_str().unwrap().contains("/my/signup"));
    drop(c);
    t.cleanup().await;
}

backend_tests!(phone_only_sign_ins_are_closed_by_0018);

/// Migration 0019: the days held without an office were the mainland's public holidays and
/// make-up working days, and stay so; an office's closure stays its own; every office
/// follows the mainland's calendar until it is told otherwise.
async fn calendar_days_become_the_mainlands_in_0019(backend: Backend) {
    let t = TestDb::unmigrated(backend).await;
    t.db.migrate_to(18).await.unwrap();
    exec(
        &t,
        "INSERT INTO offices (code, name_zh_hans, name_zh_hant, name_en, city, district, address, \
         level, open_24h, opening_hours, self_service_devices, services, created_at, updated_at) \
         VALUES ('GZ-YX-002', 'a', 'a', 'a', 'Guangzhou', 'Yuexiu', 'a', 'prefecture', 0, '', 4, \
         'collection', 0, 0)",
    )
    .await;
    for (day, office, kind) in [
        ("2027-01-01", "", "holiday"),
        ("2026-10-10", "", "workday"),
        ("2026-11-30", "GZ-YX-002", "closure"),
    ] {
        exec(
            &t,
            &format!(
                "INSERT INTO calendar_days (day, office_code, kind, name, created_at) \
                 VALUES ('{day}', '{office}', '{kind}', 'n', 0)"
            ),
        )
        .await;
    }

    t.db.migrate().await.unwrap();

    let mut c = t.db.conn().await.unwrap();
    let rows =
        sqlx::query("SELECT day, calendar, office_code, kind FROM calendar_days ORDER BY day")
            .fetch_all(&mut *c)
            .await
            .unwrap();
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("day").unwrap(),
                r.try_get("calendar").unwrap(),
                r.try_get("office_code").unwrap(),
                r.try_get("kind").unwrap(),
            )
        })
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        got,
        [
            row("2026-10-10", "mainland", "", "workday"),
            row("2026-11-30", "", "GZ-YX-002", "closure"),
            row("2027-01-01", "mainland", "", "holiday"),
        ]
    );
    let calendar: String = sqlx::query_scalar("SELECT calendar FROM offices")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(calendar, "mainland");
    // The same day may now be a holiday of Hong Kong's calendar too.
    sqlx::query(
        "INSERT INTO calendar_days (day, calendar, office_code, kind, name, created_at) \
         VALUES ('2027-01-01', 'hong_kong', '', 'holiday', 'n', 0)",
    )
    .execute(&mut *c)
    .await
    .unwrap();
    drop(c);
    t.cleanup().await;
}

backend_tests!(calendar_days_become_the_mainlands_in_0019);
