//! Registry import: validation reports, all-or-nothing, idempotence. Both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_demo as demo;
use exitentry_domain::policy::Policy;
use exitentry_services::audit::{self, Verdict};
use exitentry_services::import::ImportKind;
use exitentry_storage::testing::TestDb;
use exitentry_storage::{documents, people};
use exitentry_test_support::backend_tests;
use exitentry_test_support::{OFFICES, app, import, problems};

const PEOPLE_HEADER: &str =
    "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number\n";
const DOCS_HEADER: &str =
    "person_external_id,kind,number,issue_count,issued_on,expires_on,status,office_code\n";

fn rows(p: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    p.iter()
        .map(|(r, c, k)| (*r, c.to_string(), k.to_string()))
        .collect()
}

async fn generated_demo_registry_imports_cleanly_and_reimport_changes_nothing(t: &TestDb) {
    let (app, _) = app(t);
    let s = import(&app, ImportKind::Offices, OFFICES, false).await;
    assert_eq!((s.inserted, s.problems.len()), (2, 0));
    let files = demo::generate(
        7,
        400,
        app.today(),
        &Policy::builtin(),
        &["GZ-TH-001".into(), "GZ-TH-002".into()],
    );
    let p = import(&app, ImportKind::People, &files.people_csv, false).await;
    assert_eq!(p.problems, vec![], "generated people must be valid");
    assert_eq!(p.inserted as usize, files.people);
    let d = import(&app, ImportKind::Documents, &files.documents_csv, false).await;
    assert_eq!(d.problems, vec![], "generated documents must be valid");
    assert_eq!(d.inserted as usize, files.documents);
    let audit_before = match audit::verify(&app).await.unwrap() {
        Verdict::Intact { entries } => entries,
        v => panic!("{v:?}"),
    };
    assert_eq!(audit_before, 3, "one audit entry per import");

    // The same files again: nothing changes, nothing is audited.
    for (kind, csv, n) in [
        (ImportKind::People, &files.people_csv, files.people),
        (ImportKind::Documents, &files.documents_csv, files.documents),
    ] {
        let again = import(&app, kind, csv, false).await;
        assert_eq!(
            (again.inserted, again.unchanged as usize, again.committed),
            (0, n, false),
            "{kind:?}"
        );
        assert!(again.problems.is_empty());
    }
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(people::count(&mut c).await.unwrap() as usize, files.people);
    assert_eq!(
        documents::count(&mut c).await.unwrap() as usize,
        files.documents
    );
    assert_eq!(
        audit::verify(&app).await.unwrap(),
        Verdict::Intact { entries: 3 }
    );
}

async fn each_invalid_person_row_is_reported_and_nothing_is_imported(t: &TestDb) {
    let (app, _) = app(t);
    let csv = format!(
        "{PEOPLE_HEADER}\
         P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002x\n\
         P2,王伟,WANG WEI,F,1949-12-31,mainland,CHN,prc_resident_id,110105194912310021\n\
         P3,王伟,WANG WEI,M,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n\
         P4,陳大文,CHAN TAI MAN,M,1985-03-15,hong_kong,CHN,hkid,A123456(4)\n\
         P5,林志豪,LIN CHIH-HAO,M,1990-08-08,taiwan,CHN,taiwan_id,A123456788\n\
         P6,,,M,2090-01-01,mars,XX,passport,AB\n\
         P7,張三,ZHANG SAN,M,1980-01-01,hong_kong,CHN,prc_resident_id,110105198001010016\n\
         P8,,SMITH JOHN,M,1978-11-02,taiwan,GBR,passport,K1234567\n\
         P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n"
    );
    let s = import(&app, ImportKind::People, &csv, false).await;
    let mut got = problems(&s);
    got.sort();
    let mut want = rows(&[
        (2, "id_number", "bad_check_digit"),
        (3, "id_number", "sex_mismatch"),
        (4, "id_number", "bad_check_digit"),
        (5, "id_number", "bad_check_digit"),
        (6, "date_of_birth", "future_birth_date"),
        (6, "id_number", "bad_format"),
        (6, "name_latin", "missing_latin_name"),
        (6, "nationality", "bad_nationality"),
        (6, "region", "bad_region"),
        (7, "id_kind", "id_kind_region_mismatch"),
        (8, "nationality", "nationality_region_mismatch"),
        (9, "external_id", "duplicate_in_file"),
    ]);
    want.sort();
    assert_eq!(got, want);
    assert!(!s.committed);
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(people::count(&mut c).await.unwrap(), 0, "nothing imported");
    let report = s.report_csv();
    assert!(report.starts_with("row,column,code,message\n"));
    assert!(report.contains("2,id_number,bad_check_digit,"), "{report}");

    // With skip_invalid the one good row goes in.
    let s = import(&app, ImportKind::People, &csv, true).await;
    assert_eq!((s.inserted, s.committed), (1, true));
    assert_eq!(people::count(&mut c).await.unwrap(), 1);
}

async fn identity_numbers_already_registered_to_someone_else_are_refused(t: &TestDb) {
    let (app, _) = app(t);
    let first = format!(
        "{PEOPLE_HEADER}P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n"
    );
    assert_eq!(
        import(&app, ImportKind::People, &first, false)
            .await
            .inserted,
        1
    );
    let second = format!(
        "{PEOPLE_HEADER}\
         P9,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n\
         P1,李华,LI HUA,F,1949-12-31,hong_kong,CHN,hkid,A1234563\n"
    );
    let s = import(&app, ImportKind::People, &second, false).await;
    assert_eq!(
        problems(&s),
        rows(&[
            (1, "id_number", "identity_taken"),
            (2, "external_id", "conflicts_with_registry")
        ])
    );
}

async fn each_invalid_document_row_is_reported(t: &TestDb) {
    let (app, _) = app(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let people = format!(
        "{PEOPLE_HEADER}\
         M1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n\
         H1,陳大文,CHAN TAI MAN,M,1985-03-15,hong_kong,CHN,hkid,A1234563\n\
         F1,,SMITH JOHN,M,1978-11-02,hong_kong,GBR,hkid,C6686689\n"
    );
    let p = import(&app, ImportKind::People, &people, false).await;
    assert_eq!(p.problems, vec![], "{:?}", p.problems);
    let rp_hk = exitentry_domain::ids::make_residence_permit_number(
        exitentry_domain::person::Region::HongKong,
        chrono::NaiveDate::from_ymd_opt(1985, 3, 15).unwrap(),
        1,
    );
    let rp_mo = exitentry_domain::ids::make_residence_permit_number(
        exitentry_domain::person::Region::Macao,
        chrono::NaiveDate::from_ymd_opt(1985, 3, 15).unwrap(),
        1,
    );
    let csv = format!(
        "{DOCS_HEADER}\
         M1,eep_card,CA1234567,,2024-03-10,2034-03-09,valid,GZ-TH-001\n\
         M1,eep_card,CI1234567,,2024-03-10,2034-03-09,valid,GZ-TH-001\n\
         H1,hrp,M12345678,03,2024-03-10,2034-03-09,valid,\n\
         H1,residence_permit,{rp_mo},,2024-03-10,2029-03-09,valid,\n\
         M1,eep_booklet,C12345678,,2019-09-13,2024-09-12,valid,\n\
         H1,hrp,H12345678,01,2024-03-10,2034-03-09,expired,\n\
         NOBODY,twp,12345678,,2024-03-10,2029-03-09,valid,\n\
         M1,eep_card,CB1234567,,2024-03-10,2034-03-09,valid,GZ-XX-999\n\
         F1,hrp,H12345670,,2024-03-10,2034-03-09,valid,\n\
         M1,eep_card,CC1234567,,2020-03-10,2034-03-09,valid,\n\
         H1,hrp,H12345678,02,2024-03-10,2034-03-09,valid,\n\
         H1,residence_permit,{rp_hk},,2024-03-10,2029-03-09,valid,\n\
         H1,hrp,H12345678,02,2024-03-10,2034-03-09,valid,\n"
    );
    let s = import(&app, ImportKind::Documents, &csv, false).await;
    let mut got = problems(&s);
    got.sort();
    let mut want = rows(&[
        (2, "number", "bad_format"),
        (3, "number", "region_mismatch"),
        (4, "number", "region_mismatch"),
        (5, "issued_on", "booklet_after_void_date"),
        (6, "status", "status_conflict"),
        (7, "person_external_id", "unknown_person"),
        (8, "office_code", "unknown_office"),
        (9, "kind", "nationality_mismatch"),
        (10, "expires_on", "validity_too_long"),
        (13, "number", "duplicate_in_file"),
    ]);
    want.sort();
    assert_eq!(got, want);
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(documents::count(&mut c).await.unwrap(), 0);
    let s = import(&app, ImportKind::Documents, &csv, true).await;
    assert_eq!(s.inserted, 3, "rows 1, 11 and 12 are valid");
}

async fn a_broken_header_stops_the_import_even_when_skipping(t: &TestDb) {
    let (app, _) = app(t);
    let csv = "external_id,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number,colour\nP1,LI,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X,red\n";
    let s = import(&app, ImportKind::People, csv, true).await;
    assert_eq!(
        problems(&s),
        rows(&[
            (0, "colour", "unknown_column"),
            (0, "name_zh", "missing_column")
        ])
    );
    assert!(!s.committed);
    let s = import(
        &app,
        ImportKind::People,
        "\u{feff}external_id\n\"unterminated\n",
        false,
    )
    .await;
    assert!(!s.problems.is_empty());
    // NUL bytes never reach the database (PostgreSQL would reject them mid-import).
    let nul = format!(
        "{PEOPLE_HEADER}P1,李\u{0}华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X\n"
    );
    let s = import(&app, ImportKind::People, &nul, false).await;
    assert_eq!(problems(&s), rows(&[(1, "name_zh", "bad_name")]));
    let offices = exitentry_test_support::OFFICES
        .replace("Tianhe Exit-Entry Hall", "Tianhe Exit-Entry Hall\u{0}");
    let s = import(&app, ImportKind::Offices, &offices, false).await;
    assert_eq!(problems(&s), rows(&[(1, "name_en", "bad_value")]));
}

/// The optional `hukou_area` column: a mainland division code, for mainland residents only,
/// kept on the person.
async fn the_hukou_area_is_imported_and_checked(t: &TestDb) {
    let (app, _) = app(t);
    let header = PEOPLE_HEADER.replace('\n', ",hukou_area\n");
    let bad = format!(
        "{header}\
         P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X,4401\n\
         P2,陳大文,CHAN TAI MAN,M,1985-03-15,hong_kong,CHN,hkid,A1234563,440106\n"
    );
    let s = import(&app, ImportKind::People, &bad, false).await;
    assert_eq!(
        problems(&s),
        rows(&[
            (1, "hukou_area", "bad_hukou_area"),
            (2, "hukou_area", "hukou_not_mainland")
        ])
    );
    let good = format!(
        "{header}P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X,440106\n"
    );
    assert_eq!(
        import(&app, ImportKind::People, &good, false)
            .await
            .inserted,
        1
    );
    let mut c = app.db.conn().await.unwrap();
    let p = people::by_id_number(&mut c, "11010519491231002X")
        .await
        .unwrap();
    assert_eq!(p[0].person.hukou_area.as_deref(), Some("440106"));
}

/// The file streams through in chunks of a few thousand rows, written as they are checked:
/// a problem on the last row still leaves nothing behind, a duplicate is found across chunks
/// against its first row, and the audit names the file by the hash of all its bytes.
async fn a_problem_chunks_into_the_file_rolls_back_every_row_before_it(t: &TestDb) {
    use sha2::{Digest, Sha256};
    let (app, _) = app(t);
    import(&app, ImportKind::Offices, OFFICES, false).await;
    let files = demo::generate(11, 12_000, app.today(), &Policy::builtin(), &[]);
    let first_row = files.people_csv.lines().nth(1).unwrap();
    let last = files.people + 1;
    let csv = format!("{}{first_row}\n", files.people_csv);

    let s = import(&app, ImportKind::People, &csv, false).await;
    assert_eq!(
        problems(&s),
        rows(&[(last as u64, "external_id", "duplicate_in_file")])
    );
    assert!(
        s.problems[0].message.ends_with("also on row 1"),
        "{:?}",
        s.problems
    );
    assert_eq!((s.rows as usize, s.inserted, s.committed), (last, 0, false));
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(people::count(&mut c).await.unwrap(), 0, "all or nothing");
    drop(c);

    let s = import(&app, ImportKind::People, &csv, true).await;
    assert_eq!(
        (s.inserted as usize, s.skipped, s.committed),
        (files.people, 1, true)
    );
    assert_eq!(s.sha256, hex::encode(Sha256::digest(csv.as_bytes())));
    let mut c = t.db.conn().await.unwrap();
    assert_eq!(people::count(&mut c).await.unwrap() as usize, files.people);
}

backend_tests!(
    the_hukou_area_is_imported_and_checked,
    generated_demo_registry_imports_cleanly_and_reimport_changes_nothing,
    each_invalid_person_row_is_reported_and_nothing_is_imported,
    identity_numbers_already_registered_to_someone_else_are_refused,
    each_invalid_document_row_is_reported,
    a_broken_header_stops_the_import_even_when_skipping,
    a_problem_chunks_into_the_file_rolls_back_every_row_before_it,
);
