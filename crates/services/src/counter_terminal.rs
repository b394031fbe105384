//! Taking money at the counter. Card schemes and wallets (UnionPay, Alipay, WeChat Pay,
//! Yang Cheng Tong on the mainland; EPS, Octopus and credit cards at a Hong Kong centre)
//! sit behind one trait; cash needs no provider. The development sandbox takes the means of
//! the charge's currency (a Hong Kong terminal has no Alipay, a mainland one no Octopus)
//! and approves every charge except amounts ending in 99 cents, which it declines, so both
//! outcomes can be tried.

use crate::BoxFuture;
use crate::ErrorCode;
use crate::{Result, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Our payment id, sent as the merchant reference (idempotency key at the provider).
    pub payment_id: String,
    pub method: String,
    pub amount_cents: i64,
    pub currency: String,
    /// What the applicant sees on their statement.
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Paid { provider_ref: String },
    Declined { reason: String },
}

/// A payment terminal or wallet at the counter.
pub trait CounterPayments: Send + Sync {
    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, Result<ChargeOutcome>>;
    /// Gives a charge back (voids it the same day), by our payment id.
    fn refund<'a>(&'a self, payment_id: &'a str, amount_cents: i64) -> BoxFuture<'a, Result<()>>;
}

/// The development sandbox.
pub struct SandboxPayments;

impl CounterPayments for SandboxPayments {
    fn charge<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, Result<ChargeOutcome>> {
        Box::pin(async move {
            let takes = exitentry_domain::products::Currency::parse(&charge.currency)
                .is_ok_and(|c| c.methods().contains(&charge.method.as_str()));
            if !takes || charge.method == "cash" {
                return Ok(ChargeOutcome::Declined {
                    reason: format!(
                        "this terminal does not take {} in {}",
                        charge.method, charge.currency
                    ),
                });
            }
            if charge.amount_cents % 100 == 99 {
                return Ok(ChargeOutcome::Declined {
                    reason: "sandbox declines amounts ending in .99".into(),
                });
            }
            Ok(ChargeOutcome::Paid {
                provider_ref: format!(
                    "SBX-{}-{}",
                    charge.method.to_ascii_uppercase(),
                    charge.payment_id.chars().take(12).collect::<String>()
                ),
            })
        })
    }

    fn refund<'a>(&'a self, _payment_id: &'a str, _amount_cents: i64) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

pub fn unavailable() -> ServiceError {
    ServiceError::unavailable(
        ErrorCode::PaymentTerminalNotConfigured,
        "no payment terminal is configured for card or wallet payments; take cash",
    )
}
