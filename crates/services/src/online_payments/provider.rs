//! What every online payment provider implements (the sandbox and WeChat Pay Native), and
//! what it tells us: an outcome, a checkout, a verified callback and its acknowledgement.

use crate::BoxFuture;
use crate::ErrorCode;
use crate::{Result, ServiceError};
pub use exitentry_storage::online_payments::OrderRow;
pub use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// What a provider tells us about an order, by callback or when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Paid,
    Failed,
    Pending,
}

impl Outcome {
    /// The name serde gives it on the wire (`paid`, `failed`, `pending`).
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Failed => "failed",
            Outcome::Pending => "pending",
        }
    }
}

/// A verified callback, whatever the provider's wire format (the sandbox sends exactly
/// this as JSON, signature in the `x-signature` header).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Callback {
    pub event_id: String,
    pub order_id: String,
    pub outcome: Outcome,
    pub amount_cents: i64,
    pub provider_ref: String,
}

/// Where the applicant pays an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// Send the browser to this page (the provider's, or the sandbox's).
    Redirect(String),
    /// Show this payload as a QR code for the provider's app to scan (WeChat's `code_url`).
    Qr(String),
}

impl Checkout {
    /// The URL or QR payload.
    pub fn target(&self) -> &str {
        match self {
            Checkout::Redirect(s) | Checkout::Qr(s) => s,
        }
    }

    /// `redirect` or `qr`, as the app API names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Checkout::Redirect(_) => "redirect",
            Checkout::Qr(_) => "qr",
        }
    }
}

/// How a verified callback is answered, so that the provider stops sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Our JSON `{"result": "ok", "changed": …}` (the sandbox).
    Json,
    /// This body with this content type (WeChat's XML `SUCCESS`).
    Body {
        content_type: &'static str,
        body: String,
    },
}

/// What handling a callback did: whether the order changed, and how to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub changed: bool,
    pub ack: Ack,
}

/// A payment provider (UnionPay, Yang Cheng Tong, Alipay, WeChat Pay): where the applicant
/// pays, what the provider says about an order when asked, refunds, and reading its
/// callbacks. The development sandbox and WeChat Pay Native implement it.
pub trait OnlineProvider: Send + Sync {
    /// Creates the order at the provider if it needs one, and says where the applicant pays.
    fn checkout<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Checkout>>;
    /// The provider's answer when asked about an order (callbacks get lost).
    fn query<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Outcome>>;
    /// Gives the money back.
    fn refund<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<()>>;
    /// Reads a callback from its raw body and headers once its signature verifies:
    /// `Forbidden` when it does not, `Invalid` when the body is not understood.
    fn parse_callback(&self, body: &str, headers: &HeaderMap) -> Result<Callback>;
    /// The answer to a callback taken (applied, or a repeat).
    fn acknowledgement(&self) -> Ack {
        Ack::Json
    }
}

/// A verified callback whose body is not understood.
pub(crate) fn bad_callback() -> ServiceError {
    ServiceError::bad_input(
        "body",
        ErrorCode::BadCallback,
        "the callback body is not understood",
    )
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn an_outcome_code_is_its_name_on_the_wire() {
        for o in [Outcome::Paid, Outcome::Failed, Outcome::Pending] {
            let wire = serde_json::to_string(&o).unwrap_or_default();
            assert_eq!(wire, format!("\"{}\"", o.code()));
        }
    }
}
