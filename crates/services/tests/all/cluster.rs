//! Several nodes (apps) on one database: changes reach every node when they commit, the
//! daily quota is exact with no early refusal, rate limits hold across nodes in Redis,
//! signing keys rotate everywhere without a restart, uploads read from any node, checks go on
//! when the database ends their connections. On SQLite (one node) the same calls hold for the
//! one app.

use crate::temporary_permits::full_journey;
use exitentry_config::Config;
use exitentry_credentials::{Alg, Reason, VerifyOptions, open_trust_list, verify};
use exitentry_services::partners::{self, NewPartner};
use exitentry_services::rate::{Limit, RateLimits};
use exitentry_services::verification::{self as v, Admission, PermitCheck};
use exitentry_services::{App, Backend, Clock, ErrorCode, ManualClock, credentials, keys, uploads};
use exitentry_storage::testing::TestDb;
use exitentry_test_support::fixtures::Services;
use exitentry_test_support::{TINY_PNG, backend_tests, seed_registry, seeded};
use std::sync::Arc;
use std::time::Duration;

const KEK: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Another node on the same database, with its own (empty) folders, once it and `app`
/// listen to the change feed (PostgreSQL): a change committed before a node listens would
/// reach it only as the "forget everything" of its first connection.
async fn node(app: &App, clock: &Arc<ManualClock>, dir: &tempfile::TempDir, n: usize) -> App {
    let mut config: Config = (*app.config).clone();
    config.credentials.keys_dir = dir.path().join(format!("keys{n}")).display().to_string();
    config.uploads.dir = dir.path().join(format!("uploads{n}")).display().to_string();
    let node = App::new(app.db.clone(), config, clock.clone());
    if node.db.backend() == Backend::Postgres {
        for listening in [app, &node] {
            let mut feed = listening.changes_applied();
            tokio::time::timeout(Duration::from_secs(10), feed.wait_for(|n| *n > 0))
                .await
                .expect("the node listens to the change feed")
                .unwrap();
        }
    }
    node
}

/// Waits until `node` has acted on one more change from the feed (PostgreSQL); on SQLite
/// there is one node and nothing to wait for.
async fn after_change(mut seen: tokio::sync::watch::Receiver<u64>, backend: Backend) {
    if backend == Backend::Postgres {
        tokio::time::timeout(Duration::from_secs(10), seen.changed())
            .await
            .expect("the change reached the node")
            .unwrap();
    }
}

fn partner(name: &str, quota: i64) -> NewPartner {
    NewPartner {
        daily_quota: Some(quota),
        ..exitentry_test_support::partner(name, "airline", "verify_permit")
    }
}

/// A revoked key and a disabled partner are refused by the other node on its next request
/// (PostgreSQL reads the key on every request; the change feed still reaches the node).
async fn revocation_reaches_every_node_when_it_commits(t: &TestDb) {
    let s = Services::new(t.db.clone(), false, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let b = node(&s.app, &s.clock, &dir, 2).await;
    let (_, key) = partners::create(&s.app, "test", &partner("Air One", 10))
        .await
        .unwrap();
    let key_id = key.split_once('.').unwrap().0.to_string();
    partners::authenticate(&b, &key).await.unwrap();
    let seen = b.changes_applied();
    partners::revoke_key(&s.app, "test", &key_id).await.unwrap();
    after_change(seen, t.backend()).await;
    let refused = if t.backend() == Backend::Postgres {
        &b
    } else {
        &s.app
    };
    assert!(partners::authenticate(refused, &key).await.is_err());

    let (_, key) = partners::create(&s.app, "test", &partner("Air Two", 10))
        .await
        .unwrap();
    partners::authenticate(&b, &key).await.unwrap();
    let seen = b.changes_applied();
    partners::disable(&s.app, "test", "Air Two").await.unwrap();
    after_change(seen, t.backend()).await;
    assert!(partners::authenticate(refused, &key).await.is_err());
}

/// 450 checks a day over three nodes (one on SQLite): every one of the first 450 passes,
/// wherever it lands and whatever leases the others hold, and nothing after them.
async fn the_quota_is_exact_with_no_early_refusal(t: &TestDb) {
    let s = Services::new(t.db.clone(), false, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let nodes = if t.backend() == Backend::Postgres {
        vec![
            s.app.clone(),
            node(&s.app, &s.clock, &dir, 2).await,
            node(&s.app, &s.clock, &dir, 3).await,
        ]
    } else {
        vec![s.app.clone()]
    };
    let (_, key) = partners::create(&s.app, "test", &partner("Big Bank", 450))
        .await
        .unwrap();
    let ctx = partners::authenticate(&s.app, &key).await.unwrap();
    // The last node takes one check (and a lease), then sees no traffic: its lease must
    // still reach the others.
    partners::take_quota(nodes.last().unwrap(), &ctx, 1)
        .await
        .unwrap();
    for i in 1..450 {
        let node = &nodes[i % nodes.len().min(2)];
        let r = partners::take_quota(node, &ctx, 1).await;
        assert!(r.is_ok(), "check {i} refused with quota left: {r:?}");
    }
    for (i, node) in nodes.iter().enumerate() {
        let e = partners::take_quota(node, &ctx, 1).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::DailyQuotaExceeded.code(), "node {i}");
    }
    let used = |app: App| async move {
        let mut c = app.db.conn().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT used FROM partner_daily_use WHERE partner_id = $1")
            .bind(ctx.partner_id)
            .fetch_one(&mut *c)
            .await
            .unwrap()
    };
    assert_eq!(used(s.app.clone()).await, 450, "never more than the quota");

    // A node that stops gives back what it leased and did not use.
    let (_, key) = partners::create(&s.app, "test", &partner("Small Bank", 1000))
        .await
        .unwrap();
    let small = partners::authenticate(&s.app, &key).await.unwrap();
    partners::take_quota(&nodes[0], &small, 1).await.unwrap();
    partners::give_back_leases(&nodes[0], None).await;
    let mut c = s.app.db.conn().await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT used FROM partner_daily_use WHERE partner_id = $1")
        .bind(small.partner_id)
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

/// A node with the registry and keys published (the signer sealed under the key-encryption
/// key), and a second node on the same database that never had the keys folder; the folder
/// returned last keeps the nodes' own folders.
async fn two_nodes_with_published_keys(
    t: &TestDb,
) -> (Services, App, keys::KeyStore, tempfile::TempDir) {
    let s = Services::new(t.db.clone(), true, |c| {
        c.credentials.key_encryption_key = exitentry_config::Secret(KEK.into());
    });
    seed_registry(&s.app, 0, true).await;
    let dir = tempfile::tempdir().unwrap();
    let b = node(&s.app, &s.clock, &dir, 2).await;
    let folder = keys::KeyStore::new(&s.app.config.credentials.keys_dir);
    assert_eq!(keys::publish(&s.app, &folder).await.unwrap(), 1);
    keys::start(&b).await.unwrap();
    (s, b, folder, dir)
}

/// A permit issued on one node verifies on another; a rotation published on one node is
/// signed with and served, byte for byte, by the other without a restart. The other node
/// never had the keys folder: it reads the signer sealed under the key-encryption key.
async fn keys_rotate_on_every_node_without_a_restart(t: &TestDb) {
    let (s, b, folder, _dir) = two_nodes_with_published_keys(t).await;
    let permit = full_journey(&s.app).await.unwrap();
    let v = credentials::check_live(&b, &permit.payload, None)
        .await
        .unwrap();
    assert!(v.valid, "{:?}", v.reason);

    let seen = b.changes_applied();
    // Signer files sort by creation time: the new one is made later.
    s.clock.advance(chrono::Duration::minutes(1));
    let new_kid = folder
        .rotate(Alg::Es256, s.clock.now().timestamp())
        .unwrap();
    assert_eq!(keys::publish(&s.app, &folder).await.unwrap(), 2);
    after_change(seen, t.backend()).await;
    if t.backend() == Backend::Sqlite {
        keys::reload(&b).await.unwrap();
    }
    let list = credentials::trust_list(&b).unwrap();
    assert_eq!(list, credentials::trust_list(&s.app).unwrap(), "same bytes");
    let root = credentials::root_certificate(&b).unwrap();
    let (trust, info) = open_trust_list(&list, Some(&root)).unwrap();
    assert_eq!(info.version, 2);
    assert!(trust.kids().contains(&new_kid));
    assert_eq!(b.keys.get().unwrap().current().unwrap().kid(), new_kid);
    // Signed before the rotation on A, still valid on B; signed after it on B, valid on A.
    let v = credentials::check_live(&b, &permit.payload, None)
        .await
        .unwrap();
    assert!(v.valid, "{:?}", v.reason);
    let second = full_journey(&b).await.unwrap();
    let v = credentials::check_live(&s.app, &second.payload, None)
        .await
        .unwrap();
    assert!(v.valid, "{:?}", v.reason);
    // Without the key-encryption key a node can verify but not sign, and says why.
    let mut config: Config = (*b.config).clone();
    config.credentials.key_encryption_key = Default::default();
    let c = App::new(b.db.clone(), config, s.clock.clone());
    keys::reload(&c).await.unwrap();
    assert!(
        credentials::check_live(&c, &second.payload, None)
            .await
            .unwrap()
            .valid
    );
    assert!(c.keys.get().unwrap().current().is_err());
}

/// `keys retire`: the signer that signs now is refused until a rotation replaces it; once
/// retired, the very next live check on another node answers `unknown_signer` for what it
/// signed (before any notification: the check reads the published version), and both nodes
/// serve one trust list without it, against which the permit fails offline too. Recorded in
/// the audit trail; publishing the folder again does not bring the signer back.
async fn a_retired_signer_is_refused_on_every_node(t: &TestDb) {
    let (s, b, folder, _dir) = two_nodes_with_published_keys(t).await;
    let first = hex::encode(s.app.keys.get().unwrap().current().unwrap().kid());
    let permit = full_journey(&s.app).await.unwrap();
    let code = |r: Result<i64, exitentry_services::ServiceError>| r.unwrap_err().error_code();

    // The only signer, and after a rotation the new one, sign now: refused.
    let (app, store) = (&s.app, &folder);
    let retire = move |kid: String| async move { keys::retire(app, store, "test", &kid).await };
    assert_eq!(code(retire(first.clone()).await), ErrorCode::SignerInUse);
    assert_eq!(code(retire("00".repeat(8)).await), ErrorCode::NotFound);
    s.clock.advance(chrono::Duration::minutes(1));
    let second = folder
        .rotate(Alg::Es256, s.clock.now().timestamp())
        .unwrap();
    assert_eq!(keys::publish(&s.app, &folder).await.unwrap(), 2);
    let live = |app: App, payload: String| async move {
        credentials::check_live(&app, &payload, None)
            .await
            .unwrap()
            .reason
    };
    assert_eq!(live(b.clone(), permit.payload.clone()).await, Reason::Valid);
    let (before, _) = open_trust_list(&credentials::trust_list(&b).unwrap(), None).unwrap();
    assert_eq!(
        code(retire(hex::encode(second)).await),
        ErrorCode::SignerInUse
    );

    // Two retirements of the first signer at once: one wins, the other is told.
    let seen = b.changes_applied();
    let (one, other) = tokio::join!(retire(first.clone()), retire(first.clone()));
    let version = match (one, other) {
        (Ok(v), Err(e)) | (Err(e), Ok(v)) => {
            assert_eq!(e.error_code(), ErrorCode::SignerRetired);
            v
        }
        (one, other) => panic!("{one:?} {other:?}"),
    };
    assert_eq!(version, 3);
    assert_eq!(
        live(b.clone(), permit.payload.clone()).await,
        Reason::UnknownSigner,
        "the very next check on B"
    );
    assert_eq!(
        live(s.app.clone(), permit.payload.clone()).await,
        Reason::UnknownSigner
    );
    after_change(seen, t.backend()).await;
    let list = credentials::trust_list(&b).unwrap();
    assert_eq!(list, credentials::trust_list(&s.app).unwrap(), "same bytes");
    let root = credentials::root_certificate(&b).unwrap();
    let (trust, info) = open_trust_list(&list, Some(&root)).unwrap();
    assert_eq!((info.version, trust.kids()), (3, vec![second]));
    let offline = |trust: &exitentry_credentials::TrustStore| {
        let opts = VerifyOptions::at(s.clock.now().timestamp());
        verify(&permit.payload, trust, &opts).reason
    };
    assert_eq!(offline(&before), Reason::Valid);
    assert_eq!(offline(&trust), Reason::UnknownSigner);

    // Signing goes on with the replacement; the trail names the retirement.
    let after = full_journey(&b).await.unwrap();
    assert_eq!(live(s.app.clone(), after.payload).await, Reason::Valid);
    let trail = exitentry_services::audit::recent(&s.app, 20).await.unwrap();
    let entry = trail
        .iter()
        .find(|e| e.entry.action == "signer_retired")
        .expect("an audit entry");
    assert_eq!(entry.entry.subject, format!("signer:{first}"));
    assert_eq!(code(retire(first.clone()).await), ErrorCode::SignerRetired);
    assert_eq!(keys::publish(&s.app, &folder).await.unwrap(), 3);
    assert_eq!(credentials::trust_list(&s.app).unwrap(), list);
    let ready = exitentry_services::cluster::readiness(&b).await;
    assert_eq!(ready.keys, "loaded");
}

/// A 5 MB upload accepted through one node is read through another (PostgreSQL keeps the
/// bytes with their record); on SQLite the one node reads it back.
async fn uploads_are_read_from_any_node(t: &TestDb) {
    let s = Services::new(t.db.clone(), false, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let a = node(&s.app, &s.clock, &dir, 1).await;
    let b = node(&s.app, &s.clock, &dir, 2).await;
    let mut png = TINY_PNG.to_vec();
    png.resize(5 * 1024 * 1024, 7);
    let started = std::time::Instant::now();
    let u = uploads::accept(
        &a,
        "applicant:1",
        "hrp_application:A1",
        "passport",
        "p.png",
        &png,
    )
    .await
    .unwrap();
    let wrote = started.elapsed();
    let reader = if t.backend() == Backend::Postgres {
        &b
    } else {
        &a
    };
    let started = std::time::Instant::now();
    let (_, bytes) = uploads::open(reader, &u.id).await.unwrap();
    let read = started.elapsed();
    assert!(bytes == png, "the same bytes");
    eprintln!(
        "5 MB upload on {}: accepted in {wrote:?}, read in {read:?}",
        t.backend().name()
    );
    let on_disk = std::fs::read_dir(dir.path().join("uploads1")).map_or(0, |d| d.count());
    assert_eq!(on_disk, usize::from(t.backend() == Backend::Sqlite));
    uploads::remove(&b, "applicant:1", &u.id).await.unwrap();
    assert!(uploads::open(&a, &u.id).await.is_err());
}

/// Rate limits in this process, and in Redis shared by two nodes: a burst of 5 a minute
/// lets 5 through in all, then one more each 12 s of the (held) clock.
#[tokio::test]
async fn rate_limits_hold_in_memory_and_across_nodes_in_redis() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let limit = Limit::per_minute(5);
    let prefix = format!("exitentry-test:{}:{}:", std::process::id(), rand_suffix());
    let url = std::env::var("EXITENTRY_TEST_REDIS").unwrap_or("redis://127.0.0.1:6379".into());
    let memory = RateLimits::memory(clock.clone());
    let a = RateLimits::redis(&url, &prefix, clock.clone()).unwrap();
    let b = RateLimits::redis(&url, &prefix, clock.clone()).unwrap();
    assert!(
        a.ping().await.unwrap().is_ok(),
        "Redis is expected at {url}"
    );
    for nodes in [vec![&memory], vec![&a, &b]] {
        let mut passed = 0;
        for i in 0..9 {
            if nodes[i % nodes.len()]
                .check("login:10.0.0.1", limit)
                .await
                .is_ok()
            {
                passed += 1;
            }
        }
        assert_eq!(passed, 5);
        let wait = nodes[0].check("login:10.0.0.1", limit).await.unwrap_err();
        assert_eq!(wait, Duration::from_secs(12));
        // Another client is counted apart.
        assert!(nodes[0].check("login:10.0.0.2", limit).await.is_ok());
        clock.advance(chrono::Duration::seconds(12));
        assert!(
            nodes[nodes.len() - 1]
                .check("login:10.0.0.1", limit)
                .await
                .is_ok()
        );
        assert!(nodes[0].check("login:10.0.0.1", limit).await.is_err());
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The database ends the connections of a node's check lookups (a restart, a timeout, an
/// operator): the next check reads on a new connection instead of failing.
async fn checks_go_on_when_the_database_ends_their_connections(t: &TestDb) {
    let (app, _, _k) = seeded(t, 300).await;
    let (date_of_birth, _) = crate::verification::chan(&app).await;
    let airline = exitentry_test_support::partner("Air Macau", "airline", "verify_permit");
    let (_, key) = partners::create(&app, "test", &airline).await.unwrap();
    let ctx = partners::authenticate(&app, &key).await.unwrap();
    let check = PermitCheck {
        document_kind: "hrp".into(),
        document_number: "H12345678".into(),
        name: "陳大文".into(),
        date_of_birth,
        ..Default::default()
    };
    let answer = async || v::verify_permit(&app, &ctx, &check, Admission::Single).await;
    let before = answer().await.unwrap();
    assert!(before.valid, "{before:?}");
    if t.backend() == Backend::Postgres {
        let ended: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'SELECT ARRAY(SELECT k.id%') AS t",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert!(ended >= 1, "the lookups' connections were found");
    }
    for _ in 0..3 {
        assert_eq!(answer().await.unwrap(), before);
    }
}

backend_tests!(
    checks_go_on_when_the_database_ends_their_connections,
    revocation_reaches_every_node_when_it_commits,
    the_quota_is_exact_with_no_early_refusal,
    keys_rotate_on_every_node_without_a_restart,
    a_retired_signer_is_refused_on_every_node,
    uploads_are_read_from_any_node,
);
