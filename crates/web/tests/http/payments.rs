//! Online payments over HTTP: the sandbox's signed callbacks and WeChat Pay's XML
//! notifications (forged ones refused, repeats applied once), and border crossings by scope.

use exitentry_domain::states::EndorsementApplicationState as E;
use exitentry_services::endorsement_applications::{self as ea, ApplicationView};
use exitentry_services::import::ImportKind;
use exitentry_test_support::{
    Backend, LI_HUA_ID, TestApp, backend_tests, import, paid_in_sandbox, person_id,
};
use reqwest::StatusCode;

/// 李华's card with a 2024 Hong Kong endorsement, and her online application for another
/// (awaiting payment): her registry id and the application.
async fn applied_online(t: &TestApp) -> (i64, ApplicationView) {
    let past = "document_number,destination,type,trips,valid_from,valid_until,stay_days
CA1234567,hong_kong,L,1,2024-05-01,2024-07-31,7
";
    import(&t.app, ImportKind::Endorsements, past, false).await;
    let li = person_id(&t.app, LI_HUA_ID).await;
    let req = ea::ApplyRequest {
        destination: "hong_kong".into(),
        kind: "L".into(),
        validity_months: 3,
        trips: "1".into(),
    };
    let a = ea::apply(&t.app, li, "online", "test", &req).await.unwrap();
    (li, a)
}

/// Payment callbacks over HTTP: a forged signature is refused with 403, a verified one is
/// acknowledged and applied once; border control needs the `border` scope.
async fn payment_callbacks_and_border_crossings(backend: Backend) {
    let t = TestApp::seeded_with_keys(backend, 0).await;
    let c = t.client();
    let (li, a) = applied_online(&t).await;
    let (_, (body, sig)) = paid_in_sandbox(&t.app, &a, "wechat_pay").await;
    let post = |sig: String| {
        c.post(t.url("/api/v1/payments/callbacks/wechat_pay"))
            .header("x-signature", sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(
        post("ab".repeat(32)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let first: serde_json::Value = post(sig.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first["changed"], true);
    let again: serde_json::Value = post(sig.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(
        (again["result"].as_str(), again["changed"].as_bool()),
        (Some("ok"), Some(false))
    );
    let status = ea::get(&t.app, li, &a.id).await.unwrap().status;
    assert_eq!(status, E::ReadyToPrint);

    let key = t.partner_key("border-control", "border", None).await;
    let body = serde_json::json!({"document_number": "CA1234567", "destination": "hong_kong", "direction": "exit", "at": "2026-11-23T09:00:00+08:00"});
    let r = t
        .post_json(&c, "/api/v1/border/crossings", Some(&key), &body)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    // Paid but not yet printed: only the 2024 endorsement is on the card.
    assert_eq!(
        (v["allowed"].as_bool(), v["reason"].as_str()),
        (Some(false), Some("endorsement_expired"))
    );
    let airline = t.partner_key("airline-x", "verify_permit", None).await;
    let r = t
        .post_json(&c, "/api/v1/border/crossings", Some(&airline), &body)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    t.stop().await;
}

backend_tests!(payment_callbacks_and_border_crossings);

/// WeChat Pay's XML notifications over HTTP: a correctly signed one is answered with
/// WeChat's XML SUCCESS (again for a repeat) and makes the application ready to print; a
/// forged one gets 403 and changes nothing.
async fn wechat_pay_notifications_over_http(backend: Backend) {
    use exitentry_services::online_payments::wechat;
    let key = "merchant api key of 32 characters";
    let t = TestApp::spawn_configured(backend, |c| {
        c.endorsements.online.wechat_pay = exitentry_config::OnlineAdapter::WechatNative;
        c.endorsements.wechat_pay.app_id = "wx2421b1c4370ec43b".into();
        c.endorsements.wechat_pay.mch_id = "10000100".into();
        c.endorsements.wechat_pay.api_key = exitentry_config::Secret(key.into());
    })
    .await;
    t.seed(0).await;
    let (li, a) = applied_online(&t).await;
    // The order as checkout would have recorded it (WeChat itself is not called here).
    let order = exitentry_storage::online_payments::OrderRow {
        id: "0123456789abcdef0123456789abcdef".into(),
        subject: format!("endorsement_application:{}", a.id),
        provider: "wechat_pay".into(),
        amount: exitentry_domain::products::Money::cny(a.fee_cents),
        status: exitentry_domain::states::PaymentOrderState::Pending,
        provider_ref: None,
        created_at: t.app.now_micros(),
        paid_at: None,
        refunded_at: None,
    };
    {
        let mut conn = t.app.db.conn().await.unwrap();
        exitentry_storage::online_payments::insert_order(&mut conn, &order)
            .await
            .unwrap();
    }
    let notify = |key: &str| {
        let mut p: wechat::Params = [
            ("appid", "wx2421b1c4370ec43b"),
            ("mch_id", "10000100"),
            ("nonce_str", "5d2b6c2a8db53831f7eda20af46e531c"),
            ("out_trade_no", order.id.as_str()),
            ("result_code", "SUCCESS"),
            ("return_code", "SUCCESS"),
            ("total_fee", &a.fee_cents.to_string()),
            ("transaction_id", "4200000001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = wechat::sign(key, &p);
        p.insert("sign".into(), s);
        wechat::to_xml(&p)
    };
    let c = t.client();
    let post = |body: String| {
        c.post(t.url("/api/v1/payments/callbacks/wechat_pay"))
            .header("content-type", "text/xml")
            .body(body)
            .send()
    };
    assert_eq!(
        post(notify("not the key")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let status = || async { ea::get(&t.app, li, &a.id).await.unwrap().status };
    assert_eq!(status().await, E::AwaitingPayment);
    for _ in 0..2 {
        let r = post(notify(key)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/xml; charset=utf-8");
        assert_eq!(r.text().await.unwrap(), wechat::SUCCESS_ACK);
    }
    assert_eq!(status().await, E::ReadyToPrint);
    t.stop().await;
}

backend_tests!(wechat_pay_notifications_over_http);
