//! WeChat Pay Native (API v2) against an in-process fake of WeChat's API, on both backends:
//! the QR checkout, signed notifications applied once, forged or tampered ones refused, a
//! lost notification caught by asking, refunds, and adapters chosen per provider name.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use exitentry_config::{Config, OnlineAdapter, Secret, WechatPayConfig};
use exitentry_domain::states::PaymentOrderState;
use exitentry_services::BoxFuture;
use exitentry_services::online_payments::wechat::{self, Params, from_xml, sign, to_xml, verify};
use exitentry_services::online_payments::{self as op, Ack, Checkout, HeaderMap, OnlineProvider};
use exitentry_services::{App, ServiceError};
use exitentry_storage::AnyConnection;
use exitentry_storage::testing::TestDb;
use exitentry_test_support::backend_tests;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const APP_ID: &str = "wx2421b1c4370ec43b";
const MCH_ID: &str = "10000100";

#[derive(Default)]
struct Fake {
    /// (path, fields) of every correctly signed request.
    seen: Vec<(String, Params)>,
    /// Requests whose signature did not verify.
    bad_signatures: usize,
    /// `trade_state` and `total_fee` of each order created, for `orderquery`.
    orders: HashMap<String, (String, String)>,
    /// Sign answers with the wrong key (a forged answer).
    forge: bool,
}

type Shared = Arc<Mutex<Fake>>;

/// WeChat's three endpoints: checks the request's signature, answers signed XML.
async fn endpoint(f: Shared, path: &'static str, body: String) -> String {
    let req = from_xml(&body).unwrap_or_default();
    let mut f = f.lock().unwrap();
    if !verify(KEY, &req) || req.get("sign_type").map(String::as_str) != Some("HMAC-SHA256") {
        f.bad_signatures += 1;
        return "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[签名错误]]></return_msg></xml>".into();
    }
    f.seen.push((path.to_string(), req.clone()));
    let trade_no = req.get("out_trade_no").cloned().unwrap_or_default();
    let mut a = Params::from([
        ("return_code".into(), "SUCCESS".into()),
        ("return_msg".into(), "OK".into()),
        ("appid".into(), APP_ID.into()),
        ("mch_id".into(), MCH_ID.into()),
        ("nonce_str".into(), "5K8264ILTKCH16CQ".into()),
        ("result_code".into(), "SUCCESS".into()),
    ]);
    match path {
        "/pay/unifiedorder" if req["total_fee"] == "666" => {
            a.insert("result_code".into(), "FAIL".into());
            a.insert("err_code".into(), "SYSTEMERROR".into());
        }
        "/pay/unifiedorder" => {
            f.orders.insert(
                trade_no.clone(),
                ("NOTPAY".into(), req["total_fee"].clone()),
            );
            a.insert("trade_type".into(), "NATIVE".into());
            a.insert("prepay_id".into(), format!("wx{}", &trade_no[..8]));
            a.insert("code_url".into(), code_url(&trade_no));
        }
        "/pay/orderquery" => match f.orders.get(&trade_no) {
            Some((state, fee)) => {
                a.insert("trade_state".into(), state.clone());
                a.insert("total_fee".into(), fee.clone());
                a.insert("out_trade_no".into(), trade_no.clone());
                if state == "SUCCESS" {
                    a.insert("transaction_id".into(), format!("42{}", &trade_no[..8]));
                }
            }
            None => {
                a.insert("result_code".into(), "FAIL".into());
                a.insert("err_code".into(), "ORDERNOTEXIST".into());
            }
        },
        _ => {
            a.insert("refund_id".into(), "50000000382019052709732678859".into());
            a.insert("refund_fee".into(), req["refund_fee"].clone());
        }
    }
    let signature = sign(if f.forge { "not the key" } else { KEY }, &a);
    a.insert("sign".into(), signature);
    to_xml(&a)
}

fn code_url(trade_no: &str) -> String {
    format!("weixin://wxpay/bizpayurl?pr={}", &trade_no[..8])
}

/// Starts the fake on a free port; returns its base URL and its state.
async fn fake_wechat() -> (String, Shared) {
    let state: Shared = Arc::default();
    let mut app = Router::new();
    for path in ["/pay/unifiedorder", "/pay/orderquery", "/secapi/pay/refund"] {
        app = app.route(
            path,
            post(move |State(f): State<Shared>, body: String| endpoint(f, path, body)),
        );
    }
    let app = app.with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), state)
}

fn wechat_config(base_url: &str) -> WechatPayConfig {
    WechatPayConfig {
        app_id: APP_ID.into(),
        mch_id: MCH_ID.into(),
        api_key: Secret(KEY.into()),
        base_url: base_url.into(),
        ..Default::default()
    }
}

/// The sandbox for the other providers, WeChat Pay Native for `wechat_pay`.
fn config(base_url: &str) -> Config {
    let mut c = Config::default();
    c.server.dev_providers = true;
    c.endorsements.online.wechat_pay = OnlineAdapter::WechatNative;
    c.endorsements.wechat_pay = wechat_config(base_url);
    c
}

/// Every subject is payable here (the endorsement flow's own hook is tested elsewhere).
fn payable<'a>(
    _: &'a App,
    _: &'a mut AnyConnection,
    _: &'a str,
) -> BoxFuture<'a, Result<bool, ServiceError>> {
    Box::pin(async { Ok(true) })
}

/// A payment notification as WeChat sends it (CDATA values), signed with `key`.
fn notify(key: &str, order_id: &str, total_fee: &str, transaction_id: &str) -> Params {
    let mut p: Params = [
        ("appid", APP_ID),
        ("bank_type", "CFT"),
        ("cash_fee", total_fee),
        ("fee_type", "CNY"),
        ("is_subscribe", "N"),
        ("mch_id", MCH_ID),
        ("nonce_str", "5d2b6c2a8db53831f7eda20af46e531c"),
        ("openid", "oUpF8uMEb4qRXf22hE3X68TekukE"),
        ("out_trade_no", order_id),
        ("result_code", "SUCCESS"),
        ("return_code", "SUCCESS"),
        ("time_end", "20261122100301"),
        ("total_fee", total_fee),
        ("trade_type", "NATIVE"),
        ("transaction_id", transaction_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let s = sign(key, &p);
    p.insert("sign".into(), s);
    p
}

fn cdata(p: &Params) -> String {
    let fields: String = p
        .iter()
        .map(|(k, v)| format!("<{k}><![CDATA[{v}]]></{k}>"))
        .collect();
    format!("<xml>{fields}</xml>")
}

async fn status(app: &App, order_id: &str) -> (PaymentOrderState, Option<String>) {
    let mut c = app.db.conn().await.unwrap();
    let o = exitentry_storage::online_payments::order(&mut c, order_id)
        .await
        .unwrap()
        .unwrap();
    (o.status, o.provider_ref)
}

async fn wechat_native_checkout_notify_query_and_refund(t: &TestDb) {
    let (base, fake) = fake_wechat().await;
    let (app, clock) = exitentry_test_support::app_with_config(t, config(&base));
    let no_headers = HeaderMap::new();

    // Checkout creates the order at WeChat and returns its code_url for the QR.
    let (order, checkout) = op::start(&app, "test:one", "wechat_pay", 1500, "test")
        .await
        .unwrap();
    assert_eq!(checkout, Checkout::Qr(code_url(&order.id)));
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.bad_signatures, 0);
        let (path, req) = &f.seen[0];
        assert_eq!(path, "/pay/unifiedorder");
        for (k, v) in [
            ("appid", APP_ID),
            ("mch_id", MCH_ID),
            ("out_trade_no", order.id.as_str()),
            ("product_id", order.id.as_str()),
            ("total_fee", "1500"),
            ("trade_type", "NATIVE"),
            ("sign_type", "HMAC-SHA256"),
            ("spbill_create_ip", "127.0.0.1"),
            (
                "notify_url",
                "http://127.0.0.1:8080/api/v1/payments/callbacks/wechat_pay",
            ),
        ] {
            assert_eq!(req.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(req["nonce_str"].len(), 32);
    }
    // The other providers keep the sandbox.
    let (_, sbx) = op::start(&app, "test:sandbox", "alipay", 100, "test")
        .await
        .unwrap();
    assert!(matches!(sbx, Checkout::Redirect(ref u) if u.starts_with("/dev/pay/")));

    // The same signed notification ten times credits once, and each is acknowledged.
    let body = cdata(&notify(KEY, &order.id, "1500", "4200000001"));
    let mut changed = 0;
    for _ in 0..10 {
        let h = op::callback(&app, "wechat_pay", &body, &no_headers, payable)
            .await
            .unwrap();
        assert_eq!(
            h.ack,
            Ack::Body {
                content_type: "text/xml; charset=utf-8",
                body: wechat::SUCCESS_ACK.into()
            }
        );
        changed += usize::from(h.changed);
    }
    assert_eq!(changed, 1);
    assert_eq!(
        status(&app, &order.id).await,
        (PaymentOrderState::Paid, Some("4200000001".into()))
    );

    // Forged, tampered or foreign notifications are refused and credit nothing.
    let (two, _) = op::start(&app, "test:two", "wechat_pay", 1500, "test")
        .await
        .unwrap();
    let good = notify(KEY, &two.id, "1500", "4200000002");
    let forged = cdata(&notify("not the key", &two.id, "1500", "4200000002"));
    let mut tampered = good.clone();
    tampered.insert("total_fee".into(), "1".into());
    let mut unsigned = good.clone();
    unsigned.remove("sign");
    let mut foreign = good.clone();
    foreign.insert("appid".into(), "wx0000000000000000".into());
    let s = sign(KEY, &foreign);
    foreign.insert("sign".into(), s);
    for bad in [forged, cdata(&tampered), cdata(&unsigned), cdata(&foreign)] {
        let e = op::callback(&app, "wechat_pay", &bad, &no_headers, payable)
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden), "{e:?} for {bad}");
    }
    assert_eq!(
        status(&app, &two.id).await,
        (PaymentOrderState::Pending, None)
    );
    let e = op::callback(&app, "wechat_pay", "<xml><a>", &no_headers, payable)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_callback");
    // A correctly signed notification of another amount is never credited.
    let other_amount = cdata(&notify(KEY, &two.id, "1", "4200000002"));
    let e = op::callback(&app, "wechat_pay", &other_amount, &no_headers, payable)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "amount_mismatch");
    assert_eq!(status(&app, &two.id).await.0, PaymentOrderState::Failed);

    // Lost notifications: the query job asks WeChat.
    let mut ids = Vec::new();
    for subject in ["test:three", "test:four", "test:five"] {
        let (o, _) = op::start(&app, subject, "wechat_pay", 2000, "test")
            .await
            .unwrap();
        ids.push(o.id);
    }
    {
        let mut f = fake.lock().unwrap();
        f.orders.get_mut(&ids[0]).unwrap().0 = "SUCCESS".into();
        f.orders.get_mut(&ids[2]).unwrap().0 = "CLOSED".into();
    }
    assert_eq!(
        op::query_pending(&app, payable).await.unwrap(),
        0,
        "too early"
    );
    clock.advance(chrono::Duration::minutes(3));
    assert_eq!(op::query_pending(&app, payable).await.unwrap(), 2);
    assert_eq!(status(&app, &ids[0]).await.0, PaymentOrderState::Paid);
    assert_eq!(
        status(&app, &ids[1]).await.0,
        PaymentOrderState::Pending,
        "NOTPAY waits"
    );
    assert_eq!(
        status(&app, &ids[2]).await.0,
        PaymentOrderState::Failed,
        "CLOSED"
    );
    let queried: Vec<String> = fake
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|(p, _)| p == "/pay/orderquery")
        .map(|(_, r)| r["out_trade_no"].clone())
        .collect();
    assert_eq!(queried.len(), 3, "{queried:?}");
    assert!(ids.iter().all(|id| queried.contains(id)));

    // A refund goes to WeChat, once per order under one refund number.
    let back = {
        let mut c = app.db.conn().await.unwrap();
        op::refund(&app, &mut c, "test:three", "test")
            .await
            .unwrap()
    };
    assert!(back.is_some());
    op::give_back(&app, back).await;
    {
        let f = fake.lock().unwrap();
        let (path, req) = f.seen.last().unwrap();
        assert_eq!(path, "/secapi/pay/refund");
        assert_eq!(req["out_trade_no"], ids[0]);
        assert_eq!(req["out_refund_no"], format!("R{}", ids[0]));
        assert_eq!((&*req["total_fee"], &*req["refund_fee"]), ("2000", "2000"));
        assert_eq!(f.bad_signatures, 0);
    }
    assert_eq!(status(&app, &ids[0]).await.0, PaymentOrderState::Refunded);

    // WeChat refusing the order, or an answer not signed with our key: no QR, and the
    // order is failed at once.
    let e = op::start(&app, "test:six", "wechat_pay", 666, "test")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "provider_unavailable");
    fake.lock().unwrap().forge = true;
    let e = op::start(&app, "test:seven", "wechat_pay", 100, "test")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
    let mut c = app.db.conn().await.unwrap();
    for subject in ["test:six", "test:seven"] {
        let orders = exitentry_storage::online_payments::orders_for(&mut c, subject)
            .await
            .unwrap();
        let statuses: Vec<_> = orders.iter().map(|o| o.status).collect();
        assert_eq!(statuses, [PaymentOrderState::Failed], "{subject}");
    }
}

async fn providers_without_an_adapter_are_not_configured(t: &TestDb) {
    let mut c = config("http://127.0.0.1:9");
    c.endorsements.online.alipay = OnlineAdapter::None;
    // WeChat Native is for wechat_pay only; an incomplete WeChat account is left out.
    c.endorsements.online.unionpay = OnlineAdapter::WechatNative;
    c.endorsements.wechat_pay.api_key = Secret::default();
    let (app, _) = exitentry_test_support::app_with_config(t, c);
    for p in ["alipay", "unionpay", "wechat_pay"] {
        let e = op::start(&app, "test:x", p, 100, "test").await.unwrap_err();
        assert_eq!(e.code(), "payment_provider_not_configured", "{p}");
    }
    assert!(
        op::start(&app, "test:x", "yang_cheng_tong", 100, "test")
            .await
            .is_ok()
    );
    let e = op::callback(&app, "wechat_pay", "<xml/>", &HeaderMap::new(), payable)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "payment_provider_not_configured");
    // The sandbox exists only with the development providers.
    let mut prod = Config::default();
    prod.server.dev_providers = false;
    let (app, _) = exitentry_test_support::app_with_config(t, prod);
    let e = op::start(&app, "test:y", "alipay", 100, "test")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "payment_provider_not_configured");
    assert_eq!(op::query_pending(&app, payable).await.unwrap(), 0);
}

backend_tests!(
    wechat_native_checkout_notify_query_and_refund,
    providers_without_an_adapter_are_not_configured,
);

/// The merchant client certificate for refunds loads from PEM files; a missing or broken
/// one stops the adapter at set-up rather than at the first refund.
#[test]
fn the_client_certificate_is_loaded_for_refunds() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["1900000109".into()]).unwrap();
    let cert = dir.path().join("apiclient_cert.pem");
    let key = dir.path().join("apiclient_key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let mut c = config("http://127.0.0.1:9");
    c.endorsements.wechat_pay.client_cert_path = cert.display().to_string();
    c.endorsements.wechat_pay.client_key_path = key.display().to_string();
    assert!(wechat::WechatNative::from_config(&c).is_ok());
    c.endorsements.wechat_pay.client_key_path = dir.path().join("nope.pem").display().to_string();
    assert!(wechat::WechatNative::from_config(&c).is_err());
    std::fs::write(&key, "not a key").unwrap();
    c.endorsements.wechat_pay.client_key_path = key.display().to_string();
    assert!(wechat::WechatNative::from_config(&c).is_err());
}

/// The adapter as a trait object reads a notification without any header.
#[test]
fn a_notification_needs_no_header() {
    let w = wechat::WechatNative::from_config(&config("http://127.0.0.1:9")).unwrap();
    let cb = w
        .parse_callback(&cdata(&notify(KEY, "o1", "30", "42x")), &HeaderMap::new())
        .unwrap();
    assert_eq!(
        (cb.order_id.as_str(), cb.amount_cents, cb.outcome),
        ("o1", 30, op::Outcome::Paid)
    );
    assert_eq!(
        (cb.event_id.as_str(), cb.provider_ref.as_str()),
        ("42x-paid", "42x")
    );
}
