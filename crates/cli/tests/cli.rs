//! The binary as operators use it: exit codes, reports, and the same binary on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use exitentry_storage::Backend;
use exitentry_storage::testing::{TestDb, enabled};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_exitentry");

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--database-url")
        .arg(url)
        .env_remove("DATABASE_URL")
        .env("EXITENTRY_LOG__FILTER", "warn")
        .output()
        .expect("run exitentry")
}

/// Runs the binary with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("EXITENTRY_LOG__FILTER", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `exitentry partners create` with a name, a kind and scopes, and any further flags.
fn create_partner(url: &str, name: &str, kind: &str, scopes: &str, more: &[&str]) -> Output {
    let mut args = vec![
        "partners", "create", "--name", name, "--kind", kind, "--scopes", scopes,
    ];
    args.extend(more);
    run(url, &args)
}

/// The binary with `args` and nothing else (no database named, the default log filter).
fn alone(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `exitentry serve` on an in-memory database and a free port, with `env` set (a refused
/// start ends at once).
fn serve_with(env: &[(&str, &str)]) -> Output {
    let args = [
        "serve",
        "--database-url",
        "sqlite::memory:",
        "--listen",
        "127.0.0.1:0",
    ];
    Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The command failed with exit code 1, saying `words` on standard error.
fn assert_refused(out: &Output, words: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(words), "{err}");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &std::path::Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn config_print_default_is_the_full_file() {
    let out = alone(&["config", "print-default"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    for key in [
        "[database]",
        "url = \"sqlite://./data/exitentry.db\"",
        "[server]",
        "[security]",
        "max_failed_logins",
        "[log]",
    ] {
        assert!(s.contains(key), "missing {key} in\n{s}");
    }
}

#[test]
fn a_mistyped_database_url_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["migrate", "--database-url", "sqlit://./data/x.db"])
        .output()
        .unwrap();
    assert_refused(&out, "unsupported database URL scheme");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );
}

#[test]
fn usage_errors_exit_with_two() {
    let out = alone(&["import", "people"]);
    assert_eq!(out.status.code(), Some(2));
}

const PEOPLE_OK: &str =
    "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
P1,李华,LI HUA,F,1949-12-31,mainland,CHN,prc_resident_id,11010519491231002X
P2,陳大文,CHAN TAI MAN,M,1985-03-15,hong_kong,CHN,hkid,A123456(3)
";

const PEOPLE_BAD: &str =
    "external_id,name_zh,name_latin,sex,date_of_birth,region,nationality,id_kind,id_number
P3,王伟,WANG WEI,M,1980-01-01,mainland,CHN,prc_resident_id,110105198001010017
P4,林志豪,LIN CHIH-HAO,M,1990-08-08,taiwan,CHN,taiwan_id,A123456789
";

async fn import_reports_rows_and_reimport_is_a_no_op(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.csv", PEOPLE_BAD);
    let report = dir.path().join("report.csv");
    let out = run(
        &t.url,
        &[
            "import",
            "people",
            &bad,
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("nothing imported"));
    let rep = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        rep.lines().collect::<Vec<_>>()[..2],
        [
            "row,column,code,message",
            "1,id_number,bad_check_digit,check character should be 6"
        ]
    );

    let out = run(&t.url, &["import", "people", &bad, "--skip-invalid"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid rows still fail the run"
    );
    assert!(
        text(&out.stdout).contains("1 inserted"),
        "{}",
        text(&out.stdout)
    );

    let ok = write(dir.path(), "ok.csv", PEOPLE_OK);
    let out = run(&t.url, &["import", "people", &ok]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 inserted"));
    let out = run(&t.url, &["import", "people", &ok]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("0 inserted, 0 updated, 2 unchanged"),
        "{}",
        text(&out.stdout)
    );
}

async fn audit_verify_names_the_tampered_entry(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.csv", PEOPLE_OK);
    assert!(run(&t.url, &["import", "people", &ok]).status.success());
    let created = run_with_stdin(
        &[
            "users",
            "create",
            "--username",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
            "--database-url",
            &t.url,
        ],
        b"a long enough password\n",
    );
    assert!(created.status.success());

    let out = run(&t.url, &["audit", "verify"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "audit log intact: 2 entries");

    // An administrator with database access edits history behind the application's back.
    let guard_off = match t.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::query(guard_off).execute(t.db.pool()).await.unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
        .execute(t.db.pool())
        .await
        .unwrap();
    let out = run(&t.url, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("broken at entry 1"),
        "{}",
        text(&out.stdout)
    );
}

async fn the_same_binary_serves_on_this_backend(t: &TestDb) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &t.url,
        ])
        .env("EXITENTRY_LOG__FILTER", "info")
        .env(
            "EXITENTRY_SECURITY__LOG_HASH_SECRET",
            "a long random production key",
        )
        .env(
            "EXITENTRY_SERVER__METRICS_TOKEN",
            "a long random metrics token",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the log line, not a fixed time.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("listening on"));
    assert!(ready, "server did not start");
    exitentry_services::providers::install_tls_provider();
    let body: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(body["database"], t.backend().name());
    assert_eq!(body["status"], "ready");
}

async fn partners_get_a_key_on_the_last_line_and_lose_it_on_revocation(t: &TestDb) {
    let limits = ["--rate", "50", "--daily-quota", "1000"];
    let scopes = "verify_permit,verify_credential";
    let out = create_partner(&t.url, "China Southern", "airline", scopes, &limits);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let key = stdout.lines().last().unwrap();
    assert!(
        key.starts_with("eek_") && key.len() == 81,
        "the key alone on the last line: {key:?}"
    );
    let key_id = key.split('.').next().unwrap();
    // The same name twice, a bad scope: exit 1 with the code.
    for (name, kind, scopes, code) in [
        (
            "China Southern",
            "airline",
            "verify_permit",
            "partner_exists",
        ),
        ("X Rail", "railway", "verify_all", "bad_scope"),
    ] {
        assert_refused(&create_partner(&t.url, name, kind, scopes, &[]), code);
    }
    let out = run(&t.url, &["partners", "revoke-key", key_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        run(&t.url, &["partners", "revoke-key", key_id])
            .status
            .code(),
        Some(1)
    );
    assert!(
        run(&t.url, &["partners", "disable", "China Southern"])
            .status
            .success()
    );
    assert_eq!(
        run(&t.url, &["partners", "disable", "Nobody"])
            .status
            .code(),
        Some(1)
    );
}

/// The service-centre and endorsement operations: opening slots (twice is a no-op), a device
/// token alone on the last line, marking state personnel, and the reconciliation as JSON.
async fn centre_operations_from_the_command_line(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let offices = write(
        dir.path(),
        "offices.csv",
        "code,name_zh_hans,name_zh_hant,name_en,city,district,address,level,open_24h,self_service_devices
GZ-TH-001,天河区分局出入境接待大厅,天河區分局出入境接待大廳,Tianhe Exit-Entry Hall,Guangzhou,Tianhe,广州市天河区天河北路1号,county,0,4
",
    );
    assert!(
        run(&t.url, &["import", "offices", &offices])
            .status
            .success()
    );
    let open = |days: &str| {
        run(
            &t.url,
            &[
                "slots",
                "open",
                "--office",
                "GZ-TH-001",
                "--service",
                "eep_application",
                "--from",
                "2030-01-07",
                "--days",
                days,
            ],
        )
    };
    let out = open("7");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Monday to Friday 09:00-17:00 in 15 minutes (32) and Saturday morning (12).
    assert!(
        text(&out.stdout).contains("opened 172 new slots"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&open("7").stdout).contains("opened 0 new slots"));
    let bad = run(
        &t.url,
        &[
            "slots",
            "open",
            "--office",
            "GZ-XX-999",
            "--service",
            "eep_application",
            "--from",
            "2030-01-07",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));

    let create_kiosk = [
        "devices",
        "create",
        "--office",
        "GZ-TH-001",
        "--name",
        "th-kiosk-1",
    ];
    let out = run(&t.url, &create_kiosk);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().lines().last().unwrap().to_string();
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    // The same name again is refused.
    assert_eq!(run(&t.url, &create_kiosk).status.code(), Some(1));

    let people = write(dir.path(), "people.csv", PEOPLE_OK);
    assert!(run(&t.url, &["import", "people", &people]).status.success());
    let out = run(&t.url, &["people", "state-personnel", "11010519491231002X"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        run(&t.url, &["people", "state-personnel", "440106199001010010"])
            .status
            .code(),
        Some(1)
    );

    let out = run(
        &t.url,
        &[
            "payments",
            "reconcile",
            "--provider",
            "alipay",
            "--day",
            "2030-01-07",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["provider"].as_str(), v["orders"].as_i64()),
        (Some("alipay"), Some(0))
    );
    assert_eq!(v["counter"]["provider"], "terminal:alipay");
}

exitentry_storage::backend_tests!(
    centre_operations_from_the_command_line,
    partners_get_a_key_on_the_last_line_and_lose_it_on_revocation,
    import_reports_rows_and_reimport_is_a_no_op,
    audit_verify_names_the_tampered_entry,
    the_same_binary_serves_on_this_backend,
);

#[test]
fn both_backends_are_enabled_by_default() {
    if std::env::var("EXITENTRY_TEST_BACKENDS").is_err() {
        assert!(enabled(Backend::Sqlite) && enabled(Backend::Postgres));
    }
}

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../credentials/tests/vectors")
}

fn verify_cmd(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(BIN)
        .args(["credential", "verify"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json)
}

#[test]
fn credential_verify_gives_a_json_verdict_and_exit_status() {
    let v = vectors();
    let payload = std::fs::read_to_string(v.join("es256-permit.payload.txt")).unwrap();
    let cert = v.join("signer-es256.pem");
    let cert = cert.to_str().unwrap();
    // 2026-01-01T02:00:00Z is inside the vector's validity window.
    let at = "2026-01-01T10:00:00+08:00";
    // The vector checked against its signer at `when`, for `use_`.
    let verify_for = |when: &str, use_: &str| {
        verify_cmd(&["--cert", cert, "--at", when, "--use", use_, payload.trim()])
    };
    let (code, json) = verify_for(at, "domestic_flight");
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["reason"], "valid");
    assert_eq!(json["kind"], "temporary_permit");

    let (code, json) = verify_for(at, "border");
    assert_eq!(
        (code, json["reason"].as_str()),
        (Some(1), Some("wrong_use"))
    );
    assert_eq!(json["permitted_uses"][0], "domestic_flight");
    let (code, json) = verify_for("2027-01-01T00:00:00Z", "domestic_rail");
    assert_eq!((code, json["reason"].as_str()), (Some(1), Some("expired")));
    // Without saying what it is checked for, a permit limited to uses is not judged.
    let (code, json) = verify_cmd(&["--cert", cert, "--at", at, payload.trim()]);
    assert_eq!(
        (code, json["reason"].as_str()),
        (Some(2), Some("use_required")),
        "{json}"
    );

    // The served trust list as it is, with the status list: a revoked credential fails.
    let revoked = std::fs::read_to_string(v.join("es256-revoked.payload.txt")).unwrap();
    let tl = v.join("trust-list.json");
    let sl = v.join("status-list.json");
    let root = v.join("root.pem");
    let (code, json) = verify_cmd(&[
        "--trust-list",
        tl.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--status-list",
        sl.to_str().unwrap(),
        "--at",
        at,
        "--use",
        "domestic_flight",
        revoked.trim(),
    ]);
    assert_eq!(
        (code, json["reason"].as_str()),
        (Some(1), Some("revoked")),
        "{json}"
    );

    // A payload read from standard input, one character changed: never valid.
    let mut tampered = payload.trim().to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let out = run_with_stdin(
        &["credential", "verify", "--cert", cert, "--at", at, "-"],
        tampered.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));

    // Usage errors: no key material at all.
    let (code, _) = verify_cmd(&[payload.trim()]);
    assert_eq!(code, Some(2));
}

/// An ES384 signer from another implementation, its certificate given as PEM wrapped at 76
/// columns and as DER.
#[test]
fn credential_verify_takes_es384_and_any_certificate_encoding() {
    let v = vectors();
    let payload = std::fs::read_to_string(v.join("es384-hcert.payload.txt")).unwrap();
    for cert in ["es384-hcert.cert.pem", "es384-hcert.cert.der"] {
        let cert = v.join(cert);
        let (code, json) = verify_cmd(&[
            "--cert",
            cert.to_str().unwrap(),
            "--prefix",
            "HC1:",
            "--at",
            "2026-01-02T00:00:00Z",
            payload.trim(),
        ]);
        assert_eq!(code, Some(0), "{cert:?}: {json}");
        assert_eq!(json["reason"], "valid");
    }
}

#[test]
fn credential_decode_prints_claims_without_checking() {
    let payload = std::fs::read_to_string(vectors().join("es256-permit.payload.txt")).unwrap();
    let out = alone(&["credential", "decode", payload.trim()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["claims"]["body"]["document_number"], "H12345678");
    assert_eq!(json["signature_checked"], false);
    let out = alone(&["credential", "decode", "XX1:garbage"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("bad_prefix"));
}

#[test]
fn keys_init_rotate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let db = format!("sqlite://{}", dir.path().join("keys.db").display());
    let run_keys = |what: &str| {
        Command::new(BIN)
            .args(["keys", what])
            .env("EXITENTRY_CREDENTIALS__KEYS_DIR", &keys)
            .env("DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    assert!(run_keys("init").status.success());
    assert_eq!(
        run_keys("init").status.code(),
        Some(1),
        "init refuses to overwrite"
    );
    assert!(run_keys("rotate").status.success());
    let list = text(&run_keys("list").stdout);
    assert_eq!(
        list.lines().filter(|l| l.starts_with("signer")).count(),
        2,
        "{list}"
    );
    assert_eq!(list.lines().filter(|l| l.contains("(signing)")).count(), 1);
}

#[test]
fn serve_refuses_development_providers_unless_asked_by_flag() {
    let out = serve_with(&[("EXITENTRY_SERVER__DEV_PROVIDERS", "true")]);
    assert_refused(&out, "--dev-providers");
}

#[test]
fn serve_refuses_development_secrets_naming_each_key() {
    let out = serve_with(&[
        (
            "EXITENTRY_SERVER__PUBLIC_URL",
            "https://exitentry.example.gov",
        ),
        (
            "EXITENTRY_PROVIDERS__SMS_GATEWAY_URL",
            "https://sms.example.gov",
        ),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for key in [
        "security.log_hash_secret",
        "providers.sms_gateway_secret",
        "server.secure_cookies",
    ] {
        assert!(err.contains(key), "{key}: {err}");
    }
}
