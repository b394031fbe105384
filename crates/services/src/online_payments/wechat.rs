//! WeChat Pay Native (QR code) payments, API v2: XML over HTTPS, with every request, answer
//! and notification signed by HMAC-SHA256 under the merchant's API key.
//!
//! Checkout creates the order at WeChat (`/pay/unifiedorder`) and the applicant scans its
//! `code_url`; WeChat posts a signed notification to the notify URL once paid; pending
//! orders are asked about (`/pay/orderquery`); refunds (`/secapi/pay/refund`) need the
//! merchant's client certificate.

use super::provider::{
    Ack, Callback, Checkout, HeaderMap, OnlineProvider, OrderRow, Outcome, bad_callback,
};
use crate::BoxFuture;
use crate::ErrorCode;
use crate::providers::install_tls_provider;
use crate::{Result, ServiceError};
use exitentry_config::Config;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use std::collections::BTreeMap;
use std::time::Duration;

/// A message's fields by name; sorted, as the signature needs them.
pub type Params = BTreeMap<String, String>;

/// The only signature type this adapter asks for and accepts (no MD5).
pub const SIGN_TYPE: &str = "HMAC-SHA256";

/// What WeChat must read to stop re-sending a notification.
pub const SUCCESS_ACK: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// The v2 signature: the non-empty fields other than `sign`, sorted by name in byte order,
/// as `k=v&…&key=API_KEY`, HMAC-SHA256 keyed with the API key, upper-case hex.
pub fn sign(api_key: &str, params: &Params) -> String {
    let tag = ring::hmac::sign(
        &hmac_key(api_key),
        string_to_sign(api_key, params).as_bytes(),
    );
    hex::encode_upper(tag.as_ref())
}

/// Whether `params` carry the right `sign` (compared in constant time).
pub fn verify(api_key: &str, params: &Params) -> bool {
    let Some(Ok(tag)) = params.get("sign").map(|s| hex::decode(s.trim())) else {
        return false;
    };
    let text = string_to_sign(api_key, params);
    ring::hmac::verify(&hmac_key(api_key), text.as_bytes(), &tag).is_ok()
}

fn hmac_key(api_key: &str) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, api_key.as_bytes())
}

fn string_to_sign(api_key: &str, params: &Params) -> String {
    let mut s = String::new();
    for (k, v) in params {
        // Fields WeChat adds later are signed too, so every field but `sign` counts.
        if k == "sign" || v.is_empty() {
            continue;
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('&');
    }
    s.push_str("key=");
    s.push_str(api_key);
    s
}

/// `<xml><name>value</name>…</xml>`, values escaped.
pub fn to_xml(params: &Params) -> String {
    let mut w = quick_xml::Writer::new(Vec::new());
    // Writing into a Vec cannot fail; the results only carry io errors.
    let _ = w.write_event(Event::Start(BytesStart::new("xml")));
    for (k, v) in params {
        let _ = w
            .create_element(k.as_str())
            .write_text_content(BytesText::new(v));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("xml")));
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// Reads WeChat's flat `<xml><name>value</name>…</xml>` (text or CDATA values). A DTD,
/// nested elements, a repeated name or an unknown entity make it unreadable: WeChat sends
/// none of them, and accepting them would leave room for entity tricks or two values
/// behind one signed name.
pub fn from_xml(xml: &str) -> Option<Params> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Params::new();
    let mut depth = 0u8;
    let mut root_seen = false;
    let mut field: Option<String> = None;
    let mut text = String::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => match depth {
                0 if !root_seen && e.name().0 == "xml" => {
                    root_seen = true;
                    depth = 1;
                }
                1 => {
                    field = Some(e.name().0.to_string());
                    text.clear();
                    depth = 2;
                }
                _ => return None,
            },
            Event::Empty(e) if depth == 1 => {
                if out.insert(e.name().0.to_string(), String::new()).is_some() {
                    return None;
                }
            }
            Event::End(_) => match depth {
                2 => {
                    let name = field.take()?;
                    if out.insert(name, std::mem::take(&mut text)).is_some() {
                        return None;
                    }
                    depth = 1;
                }
                1 => depth = 0,
                _ => return None,
            },
            Event::Text(t) if depth == 2 => text.push_str(&t.xml10_content()),
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::CData(c) if depth == 2 => text.push_str(&c.xml10_content()),
            Event::GeneralRef(g) if depth == 2 => match g.resolve_char_ref().ok()? {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_xml_entity(&g)?),
            },
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Eof => break,
            _ => return None,
        }
    }
    (root_seen && depth == 0).then_some(out)
}

fn unavailable(message: impl Into<String>) -> ServiceError {
    ServiceError::unavailable(ErrorCode::ProviderUnavailable, message.into())
}

fn field<'a>(p: &'a Params, name: &str) -> &'a str {
    p.get(name).map(String::as_str).unwrap_or("")
}

/// The WeChat Pay v2 Native adapter of `wechat_pay`.
pub struct WechatNative {
    app_id: String,
    mch_id: String,
    api_key: String,
    notify_url: String,
    base_url: String,
    server_ip: String,
    description: String,
    http: reqwest::Client,
    /// Presents the merchant's client certificate when one is configured (refunds).
    refund_http: reqwest::Client,
}

impl WechatNative {
    /// From `endorsements.wechat_pay`; refuses an account without app id, merchant number
    /// or API key, and a configured client certificate that cannot be loaded.
    pub fn from_config(config: &Config) -> Result<Self> {
        let w = &config.endorsements.wechat_pay;
        if w.app_id.is_empty() || w.mch_id.is_empty() || w.api_key.expose().is_empty() {
            return Err(ServiceError::unavailable(
                ErrorCode::PaymentProviderNotConfigured,
                "endorsements.wechat_pay needs app_id, mch_id and api_key",
            ));
        }
        let notify_url = if w.notify_url.is_empty() {
            format!(
                "{}/api/v1/payments/callbacks/wechat_pay",
                config.server.public_url.trim_end_matches('/')
            )
        } else {
            w.notify_url.clone()
        };
        let timeout = Duration::from_secs(config.providers.timeout_seconds.max(1));
        install_tls_provider();
        let http = client(timeout, None)?;
        let refund_http = match (w.client_cert_path.as_str(), w.client_key_path.as_str()) {
            ("", "") => {
                tracing::warn!(
                    "endorsements.wechat_pay has no client certificate: refunds will be refused by WeChat"
                );
                http.clone()
            }
            (cert, key) => client(timeout, Some(identity(cert, key)?))?,
        };
        Ok(WechatNative {
            app_id: w.app_id.clone(),
            mch_id: w.mch_id.clone(),
            api_key: w.api_key.expose().to_string(),
            notify_url,
            base_url: w.base_url.trim_end_matches('/').to_string(),
            server_ip: w.server_ip.clone(),
            description: w.description.clone(),
            http,
            refund_http,
        })
    }

    /// Signs and posts one request; the answer must say `return_code` SUCCESS and carry a
    /// valid signature. `result_code` is left to the caller.
    async fn call(&self, http: &reqwest::Client, path: &str, mut params: Params) -> Result<Params> {
        params.insert("appid".into(), self.app_id.clone());
        params.insert("mch_id".into(), self.mch_id.clone());
        params.insert(
            "nonce_str".into(),
            crate::tokens::random_token()[..32].to_string(),
        );
        params.insert("sign_type".into(), SIGN_TYPE.into());
        let signature = sign(&self.api_key, &params);
        params.insert("sign".into(), signature);
        let res = http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "text/xml; charset=utf-8")
            .body(to_xml(&params))
            .send()
            .await
            .map_err(|e| unavailable(format!("WeChat Pay {path}: {}", e.without_url())))?;
        if !res.status().is_success() {
            return Err(unavailable(format!(
                "WeChat Pay {path} answered {}",
                res.status()
            )));
        }
        let body = res
            .text()
            .await
            .map_err(|e| unavailable(format!("WeChat Pay {path}: {}", e.without_url())))?;
        let answer = from_xml(&body)
            .ok_or_else(|| unavailable(format!("WeChat Pay {path}: answer not understood")))?;
        if field(&answer, "return_code") != "SUCCESS" {
            return Err(unavailable(format!(
                "WeChat Pay {path} refused the request: {}",
                field(&answer, "return_msg")
            )));
        }
        if !verify(&self.api_key, &answer) {
            return Err(unavailable(format!(
                "WeChat Pay {path}: the answer's signature does not verify"
            )));
        }
        Ok(answer)
    }
}

/// A business refusal (`result_code` FAIL) as an error naming WeChat's code.
fn business(path: &str, answer: &Params) -> Option<ServiceError> {
    (field(answer, "result_code") != "SUCCESS").then(|| {
        unavailable(format!(
            "WeChat Pay {path}: {} {}",
            field(answer, "err_code"),
            field(answer, "err_code_des")
        ))
    })
}

fn client(timeout: Duration, identity: Option<reqwest::Identity>) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder().timeout(timeout);
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build()
        .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))
}

/// The merchant's client certificate and key (PEM files) as one TLS identity.
fn identity(cert_path: &str, key_path: &str) -> Result<reqwest::Identity> {
    let read = |path: &str| {
        std::fs::read(path).map_err(|e| {
            ServiceError::unavailable(
                ErrorCode::PaymentProviderNotConfigured,
                format!("WeChat Pay client certificate file {path}: {e}"),
            )
        })
    };
    let mut pem = read(cert_path)?;
    pem.push(b'\n');
    pem.extend(read(key_path)?);
    reqwest::Identity::from_pem(&pem).map_err(|e| {
        ServiceError::unavailable(
            ErrorCode::PaymentProviderNotConfigured,
            format!("WeChat Pay client certificate: {e}"),
        )
    })
}

impl OnlineProvider for WechatNative {
    fn checkout<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            let path = "/pay/unifiedorder";
            let params = Params::from([
                ("body".into(), self.description.clone()),
                ("out_trade_no".into(), order.id.clone()),
                ("total_fee".into(), order.amount.cents.to_string()),
                ("spbill_create_ip".into(), self.server_ip.clone()),
                ("notify_url".into(), self.notify_url.clone()),
                ("trade_type".into(), "NATIVE".into()),
                // Native orders must name a product; ours is the order itself.
                ("product_id".into(), order.id.clone()),
            ]);
            let answer = self.call(&self.http, path, params).await?;
            if let Some(e) = business(path, &answer) {
                return Err(e);
            }
            match field(&answer, "code_url") {
                "" => Err(unavailable("WeChat Pay gave no code_url")),
                code_url => Ok(Checkout::Qr(code_url.to_string())),
            }
        })
    }

    fn query<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let path = "/pay/orderquery";
            let params = Params::from([("out_trade_no".into(), order.id.clone())]);
            let answer = self.call(&self.http, path, params).await?;
            if let Some(e) = business(path, &answer) {
                return Err(e);
            }
            match field(&answer, "trade_state") {
                "SUCCESS" => {
                    // Never credit an amount other than the one ordered.
                    if field(&answer, "total_fee") != order.amount.cents.to_string() {
                        return Err(unavailable(format!(
                            "WeChat Pay reports {} fen paid for an order of {}",
                            field(&answer, "total_fee"),
                            order.amount.cents
                        )));
                    }
                    Ok(Outcome::Paid)
                }
                "NOTPAY" | "USERPAYING" => Ok(Outcome::Pending),
                // REFUND: paid and refunded at the merchant platform; not ours to credit.
                "CLOSED" | "PAYERROR" | "REVOKED" | "REFUND" => Ok(Outcome::Failed),
                other => Err(unavailable(format!("WeChat Pay trade_state {other}"))),
            }
        })
    }

    fn refund<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let path = "/secapi/pay/refund";
            let fee = order.amount.cents.to_string();
            let params = Params::from([
                ("out_trade_no".into(), order.id.clone()),
                // One refund per order: the same number on a retry cannot refund twice.
                ("out_refund_no".into(), format!("R{}", order.id)),
                ("total_fee".into(), fee.clone()),
                ("refund_fee".into(), fee),
            ]);
            let answer = self.call(&self.refund_http, path, params).await?;
            match business(path, &answer) {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    fn parse_callback(&self, body: &str, _headers: &HeaderMap) -> Result<Callback> {
        let p = from_xml(body).ok_or_else(bad_callback)?;
        // A communication failure notice carries no signature and no order.
        if field(&p, "return_code") != "SUCCESS" {
            return Err(bad_callback());
        }
        if !verify(&self.api_key, &p) {
            return Err(ServiceError::Forbidden);
        }
        if field(&p, "appid") != self.app_id || field(&p, "mch_id") != self.mch_id {
            tracing::warn!("WeChat Pay notification for another app id or merchant");
            return Err(ServiceError::Forbidden);
        }
        let order_id = field(&p, "out_trade_no");
        let amount_cents: i64 = field(&p, "total_fee").parse().map_err(|_| bad_callback())?;
        let transaction_id = field(&p, "transaction_id");
        let paid = field(&p, "result_code") == "SUCCESS";
        if order_id.is_empty() || (paid && transaction_id.is_empty()) {
            return Err(bad_callback());
        }
        let (outcome, event_id) = if paid {
            (Outcome::Paid, format!("{transaction_id}-paid"))
        } else {
            (Outcome::Failed, format!("{order_id}-failed"))
        };
        Ok(Callback {
            event_id,
            order_id: order_id.to_string(),
            outcome,
            amount_cents,
            provider_ref: transaction_id.to_string(),
        })
    }

    fn acknowledgement(&self) -> Ack {
        Ack::Body {
            content_type: "text/xml; charset=utf-8",
            body: SUCCESS_ACK.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The example of WeChat Pay's v2 security specification ("签名算法"): these fields and
    /// key give `6A9AE165…DACD6` with HMAC-SHA256 (and `9A0A8659…` with MD5).
    #[test]
    fn signs_the_documented_example() {
        let key = "192006250b4c09247ec02edce69f6a2d";
        let p = params(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]);
        assert_eq!(
            string_to_sign(key, &p),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(
            sign(key, &p),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn empty_fields_and_the_sign_itself_are_not_signed() {
        let key = "k";
        let mut p = params(&[("b", "2"), ("a", "1"), ("empty", "")]);
        let s = sign(key, &p);
        p.insert("sign".into(), s.clone());
        assert!(verify(key, &p));
        p.remove("empty");
        assert!(verify(key, &p), "an empty field is as if absent");
        p.insert("c".into(), "3".into());
        assert!(!verify(key, &p), "an added field breaks the signature");
        p.remove("c");
        p.insert("sign".into(), s.to_lowercase());
        assert!(verify(key, &p), "hex case does not matter");
        assert!(!verify("other key", &p));
        p.insert("sign".into(), "not hex".into());
        assert!(!verify(key, &p));
        p.remove("sign");
        assert!(!verify(key, &p), "no sign, no trust");
    }

    #[test]
    fn xml_round_trips_with_escaping_and_reads_cdata() {
        let p = params(&[("body", "签注 <&> \"费\""), ("total_fee", "1500")]);
        let xml = to_xml(&p);
        assert!(xml.starts_with("<xml><body>"), "{xml}");
        assert_eq!(from_xml(&xml), Some(p));
        let wechat = "<xml>\n  <return_code><![CDATA[SUCCESS]]></return_code>\n  \
                      <total_fee>1</total_fee><msg>a &amp; b &#x4E2D;</msg><empty/>\n</xml>";
        assert_eq!(
            from_xml(wechat),
            Some(params(&[
                ("return_code", "SUCCESS"),
                ("total_fee", "1"),
                ("msg", "a & b 中"),
                ("empty", ""),
            ]))
        );
    }

    #[test]
    fn odd_xml_is_refused() {
        for bad in [
            "",
            "not xml",
            "<xml><a>1</a>",
            "<xml><a>1</a><a>2</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<other><a>1</a></other>",
            "<xml><a>1</a></xml><xml><b>2</b></xml>",
            "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><a>&x;</a></xml>",
            "<xml><a>&unknown;</a></xml>",
            "<xml>text</xml>",
        ] {
            assert_eq!(from_xml(bad), None, "{bad}");
        }
    }
}
