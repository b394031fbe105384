//! Three `exitentry serve` processes on one PostgreSQL database with Redis: keys rotated
//! with no restart, a permit issued on one node verified on the others, a retired signer
//! refused on the very next check on every node, one rate limit and
//! one exact daily quota for the system, a revoked key refused on the very next request on
//! every node, and nothing acknowledged lost when a node is killed mid-load.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use base64::Engine;
use exitentry_services::{App, SystemClock};
use exitentry_storage::Backend;
use exitentry_storage::testing::{TestDb, enabled};
use exitentry_test_support::{TINY_PNG, chan_expiry, csrf_field, seed_registry};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_exitentry");
const KEK: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const PASSWORD: &str = "a long staff password";

struct Cluster {
    url: String,
    dir: tempfile::TempDir,
    redis_prefix: String,
}

impl Cluster {
    /// The operator's command on the shared database, with the keys folder; it must succeed.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let out = self.output(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The operator's command, however it ends.
    fn output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("DATABASE_URL", &self.url)
            .env("EXITENTRY_LOG__FILTER", "warn")
            .env(
                "EXITENTRY_CREDENTIALS__KEYS_DIR",
                self.dir.path().join("operator-keys"),
            )
            .env("EXITENTRY_CREDENTIALS__KEY_ENCRYPTION_KEY", KEK)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// A partner's key (the last line `partners create` prints).
    fn partner(&self, name: &str, more: &[&str]) -> String {
        let mut args = vec!["partners", "create", "--name", name, "--kind", "airline"];
        args.extend(["--scopes", "verify_credential"]);
        args.extend(more);
        let out = self.run(&args, None);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    }

    /// A node: its own (empty) keys folder and uploads folder, the shared database and Redis.
    fn node(&self, n: usize) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = |what: &str| self.dir.path().join(format!("{what}{n}"));
        let child = Command::new(BIN)
            .args([
                "serve",
                "--dev-providers",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("DATABASE_URL", &self.url)
            .env("EXITENTRY_LOG__FILTER", "warn")
            .env("EXITENTRY_CREDENTIALS__KEYS_DIR", folder("keys"))
            .env("EXITENTRY_CREDENTIALS__KEY_ENCRYPTION_KEY", KEK)
            .env("EXITENTRY_UPLOADS__DIR", folder("uploads"))
            .env("EXITENTRY_CLUSTER__REDIS_URL", "redis://127.0.0.1:6379")
            .env("EXITENTRY_CLUSTER__REDIS_PREFIX", &self.redis_prefix)
            .env("EXITENTRY_SECURITY__LOGIN_ATTEMPTS_PER_MINUTE", "100000")
            .env("EXITENTRY_SECURITY__SMS_REQUESTS_PER_MINUTE", "100000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Node {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

struct Node {
    base: String,
    child: Child,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    exitentry_services::providers::install_tls_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Asks `what` again (every 20 ms, for at most `secs`) until it answers `Some`: for
/// processes starting and background work (the job worker) that a test cannot drive.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    secs: u64,
    what: impl Fn() -> F,
) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = what().await {
            return v;
        }
        assert!(Instant::now() < until, "gave up waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a request the test expects an answer to.
async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

async fn verify(c: &reqwest::Client, node: &Node, key: &str, payload: &str) -> reqwest::Response {
    let body = json!({"payload": payload, "use": "domestic_flight"});
    send(
        c.post(node.url("/api/v1/verify/credential"))
            .bearer_auth(key)
            .json(&body),
    )
    .await
}

async fn valid_at(c: &reqwest::Client, node: &Node, key: &str, payload: &str) -> Value {
    let r = verify(c, node, key, payload).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// 陳大文's temporary permit through `node`'s app API (SMS code from the outbox, face
/// check): the signed payload.
async fn permit_on(node: &Node, expiry: &str, mobile: &str) -> String {
    let c = client();
    let body = json!({"document_kind": "hrp", "document_number": "H12345678",
        "name": "陳大文", "document_expiry": expiry, "sex": "M",
        "mobile": mobile, "password": "a long holder password"});
    let r = send(
        c.post(node.url("/api/v1/temporary-permits/applications"))
            .json(&body),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["application_id"]
        .as_str()
        .unwrap()
        .to_string();
    let sms = outbox_body(&c, node, mobile).await;
    let code: String = sms.chars().filter(char::is_ascii_digit).take(6).collect();
    let at = node.url(&format!("/api/v1/temporary-permits/applications/{id}"));
    let r = send(
        c.post(format!("{at}/sms-code"))
            .json(&json!({"code": code})),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let image = base64::engine::general_purpose::STANDARD.encode(TINY_PNG);
    let r = send(c.post(format!("{at}/face")).json(&json!({"image": image}))).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["payload"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn trust_list(c: &reqwest::Client, node: &Node) -> (String, u64) {
    let doc = send(c.get(node.url("/api/v1/trust-list")))
        .await
        .text()
        .await
        .unwrap();
    let version = serde_json::from_str::<Value>(&doc).unwrap()["version"]
        .as_u64()
        .unwrap();
    (doc, version)
}

/// Signs in as `username` through `node_base`'s form: the signed-in client, `Ok(None)` when
/// the sign-in was refused, `Err` when no answer came (the node was killed).
async fn sign_in(node_base: &str, username: &str) -> Result<Option<reqwest::Client>, ()> {
    let c = client();
    let page = c.get(format!("{node_base}/staff/login")).send().await;
    let page = page.map_err(drop)?.text().await.map_err(drop)?;
    let csrf = csrf_field(&page);
    let form = [
        ("username", username),
        ("password", PASSWORD),
        ("csrf", &csrf),
        ("next", "/staff"),
    ];
    let url = format!("{node_base}/staff/login");
    let r = c.post(url).form(&form).send().await.map_err(drop)?;
    Ok((r.status() == StatusCode::SEE_OTHER).then_some(c))
}

/// The newest development-outbox message to `recipient` through `node` (the job worker
/// sends it shortly).
async fn outbox_body(c: &reqwest::Client, node: &Node, recipient: &str) -> String {
    eventually(20, || async {
        let r = c.get(node.url("/api/v1/dev/outbox")).send().await.ok()?;
        let outbox: Value = r.json().await.ok()?;
        let m = outbox
            .as_array()?
            .iter()
            .find(|m| m["recipient"] == recipient)?;
        Some(m["body"].as_str()?.to_string())
    })
    .await
}

/// An applicant registered through `node` by the emailed link: its client and CSRF token.
async fn applicant_on(node: &Node, email: &str) -> (reqwest::Client, String) {
    let c = client();
    let csrf = |c: reqwest::Client, path: String| async move {
        csrf_field(&c.get(path).send().await.unwrap().text().await.unwrap())
    };
    let token = csrf(c.clone(), node.url("/apply/register")).await;
    let form = [("csrf", token.as_str()), ("email", email), ("lang", "en")];
    let r = send(c.post(node.url("/apply/register")).form(&form)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let body = outbox_body(&c, node, email).await;
    let link: String = body
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take(64)
        .collect();
    let token = csrf(c.clone(), node.url(&format!("/apply/verify?token={link}"))).await;
    let form = [
        ("csrf", token.as_str()),
        ("token", &link),
        ("password", "correct horse battery"),
    ];
    let r = send(c.post(node.url("/apply/verify")).form(&form)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let token = csrf(c.clone(), node.url("/apply/applications")).await;
    (c, token)
}

/// A 5 MiB passport scan uploaded through `a` reads back, byte for byte, through `b`.
async fn upload_on_a_read_on_b(a: &Node, b: &Node) {
    let (c, csrf) = applicant_on(a, "upload@example.org").await;
    let form = [("csrf", csrf.as_str())];
    let r = send(c.post(a.url("/apply/applications")).form(&form)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()["location"].to_str().unwrap().to_string();
    let mut scan = TINY_PNG.to_vec();
    scan.resize(5 * 1024 * 1024, 7);
    let part = reqwest::multipart::Part::bytes(scan.clone()).file_name("passport.png");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("purpose", "passport")
        .part("file", part);
    let started = Instant::now();
    let r = send(c.post(a.url(&format!("{at}/documents"))).multipart(form)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let uploaded = started.elapsed();
    let page = send(c.get(b.url(&at))).await.text().await.unwrap();
    let link = format!("href=\"{at}/documents/");
    let doc = page.split(&link).nth(1).unwrap().split('"').next().unwrap();
    let started = Instant::now();
    let r = send(c.get(b.url(&format!("{at}/documents/{doc}")))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.bytes().await.unwrap().as_ref() == scan.as_slice(),
        "the same bytes on B"
    );
    eprintln!(
        "5 MiB upload over HTTP: on A {uploaded:?}, read on B {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_are_one_system() {
    if !enabled(Backend::Postgres) {
        return;
    }
    let t = TestDb::new(Backend::Postgres).await;
    let cluster = Cluster {
        url: t.url.clone(),
        dir: tempfile::tempdir().unwrap(),
        redis_prefix: format!("exitentry-cluster-test:{}:", std::process::id()),
    };
    let seeding = App::new(t.db.clone(), Default::default(), Arc::new(SystemClock));
    seed_registry(&seeding, 0, true).await;
    let expiry = chan_expiry(&seeding).await;
    cluster.run(&["keys", "init"], None);
    for name in ["staff0", "staff1"] {
        let create = format!("users create --username {name} --role admin --password-stdin");
        let create: Vec<&str> = create.split(' ').collect();
        cluster.run(&create, Some(PASSWORD));
    }
    let checker = cluster.partner("Check Air", &["--rate", "100000"]);
    let nodes: Vec<Node> = (0..3).map(|n| cluster.node(n)).collect();
    let c = client();
    for node in &nodes {
        let ready: Value = eventually(60, || async {
            let r = c.get(node.url("/readyz")).send().await.ok()?;
            (r.status() == StatusCode::OK).then_some(r.json().await.ok()?)
        })
        .await;
        assert_eq!(ready["redis"], "ok");
        assert_eq!(ready["keys"], "loaded");
    }
    let [a, b, cc] = [&nodes[0], &nodes[1], &nodes[2]];

    // A permit issued on A verifies on B and C.
    let first = permit_on(a, &expiry, "13900139001").await;
    for node in [b, cc] {
        assert_eq!(valid_at(&c, node, &checker, &first).await["valid"], true);
    }

    // Keys rotated by the operator reach every node without a restart: the same trust
    // list bytes (version 2) everywhere; a permit signed on B after it verifies on A and C.
    let (before, _) = trust_list(&c, a).await;
    cluster.run(&["keys", "rotate"], None);
    let rotated_at = Instant::now();
    let mut lists = Vec::new();
    for node in &nodes {
        lists.push(
            eventually(5, || async {
                let (doc, version) = trust_list(&c, node).await;
                (version == 2).then_some(doc)
            })
            .await,
        );
    }
    eprintln!(
        "rotation reached all three nodes in {:?}",
        rotated_at.elapsed()
    );
    assert_ne!(lists[0], before);
    assert!(lists.iter().all(|l| *l == lists[0]), "one trust list");
    let second = permit_on(b, &expiry, "13900139002").await;
    for node in [a, cc] {
        assert_eq!(valid_at(&c, node, &checker, &second).await["valid"], true);
        assert_eq!(valid_at(&c, node, &checker, &first).await["valid"], true);
    }

    // The first signer retired by the operator: the very next check on B and C (and A)
    // refuses the permit it signed, and all three serve one trust list (version 3) without
    // it, against which the permit fails offline too. The signer in use is refused.
    let kid_of = |payload: &str| {
        let out = cluster.run(&["credential", "decode", payload], None);
        let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
        decoded["kid"].as_str().unwrap().to_string()
    };
    let (retired, current) = (kid_of(&first), kid_of(&second));
    let refused = cluster.output(&["keys", "retire", &current], None);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("signer_in_use"),
        "{said}"
    );
    cluster.run(&["keys", "retire", &retired], None);
    for node in [b, cc, a] {
        let v = valid_at(&c, node, &checker, &first).await;
        assert_eq!(v["reason"], "unknown_signer", "{}", node.base);
        assert_eq!(v["valid"], false);
        assert_eq!(valid_at(&c, node, &checker, &second).await["valid"], true);
    }
    let mut lists = Vec::new();
    for node in &nodes {
        let (doc, version) = trust_list(&c, node).await;
        assert_eq!(version, 3, "{}", node.base);
        lists.push(doc);
    }
    assert!(lists.iter().all(|l| *l == lists[0]), "one trust list");
    let signers: Value = serde_json::from_str(&lists[0]).unwrap();
    let kids: Vec<&str> = signers["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [current.as_str()]);
    let list_file = cluster.dir.path().join("trust-list.json");
    std::fs::write(&list_file, &lists[0]).unwrap();
    let list_file = list_file.display().to_string();
    let offline = |payload: &str| {
        let args = ["credential", "verify", "--trust-list", &list_file];
        let args = [&args[..], &["--use", "domestic_flight", payload]].concat();
        let out = cluster.output(&args, None);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["reason"].clone()
    };
    assert_eq!(offline(&first), "unknown_signer");
    assert_eq!(offline(&second), "valid");

    upload_on_a_read_on_b(a, b).await;

    // One rate limit for the system: 10 a second over three nodes.
    let limited = cluster.partner("Rate Air", &["--rate", "10"]);
    let started = Instant::now();
    let mut passed = 0;
    for i in 0..60 {
        if verify(&c, &nodes[i % 3], &limited, &second).await.status() == StatusCode::OK {
            passed += 1;
        }
    }
    let allowed = 10 + (started.elapsed().as_secs_f64() * 10.0).ceil() as usize;
    assert!(
        (10..=allowed).contains(&passed),
        "{passed} passed, at most {allowed} allowed"
    );

    // One exact daily quota: the first 90 checks pass wherever they land, none after.
    let quota = cluster.partner("Quota Air", &["--rate", "100000", "--daily-quota", "90"]);
    for i in 0..120 {
        let r = verify(&c, &nodes[i % 3], &quota, &second).await;
        if i < 90 {
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "check {i} refused with quota left"
            );
        } else {
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "check {i}");
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait > 0 && wait <= 24 * 3600, "{wait}");
        }
    }

    // A revoked key is refused on the very next request on every node.
    for node in &nodes {
        assert_eq!(
            verify(&c, node, &checker, &second).await.status(),
            StatusCode::OK
        );
    }
    let key_id = checker.split_once('.').unwrap().0;
    cluster.run(&["partners", "revoke-key", key_id], None);
    for node in &nodes {
        let r = verify(&c, node, &checker, &second).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{}", node.base);
    }

    // C is killed (SIGKILL) while staff sign in through it: every sign-in it acknowledged
    // holds on A.
    let target = cc.base.clone();
    let signed_in = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load: Vec<_> = (0..2)
        .map(|n| {
            let (target, signed_in) = (target.clone(), signed_in.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let name = format!("staff{n}");
                // Until the node dies: refused attempts are tried again.
                while let Ok(answer) = sign_in(&target, &name).await {
                    if let Some(c) = answer {
                        acknowledged.push(c);
                        signed_in.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                acknowledged
            })
        })
        .collect();
    let load_is_running =
        || async { (signed_in.load(std::sync::atomic::Ordering::SeqCst) >= 8).then_some(()) };
    eventually(60, load_is_running).await;
    let mut nodes = nodes;
    let mut killed = nodes.pop().unwrap();
    killed.child.kill().unwrap();
    let _ = killed.child.wait();
    let mut acknowledged = Vec::new();
    for l in load {
        acknowledged.extend(l.await.unwrap());
    }
    assert!(!acknowledged.is_empty());
    for staff in &acknowledged {
        let r = staff.get(nodes[0].url("/staff")).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "an acknowledged sign-in was lost"
        );
    }
    eprintln!(
        "{} sign-ins acknowledged by the killed node, all kept",
        acknowledged.len()
    );
    drop(nodes);
    t.cleanup().await;
}
