//! Online payments: UnionPay, Yang Cheng Tong, Alipay and WeChat Pay behind one trait. The
//! shape of a real adapter: create an order (the applicant is sent to the provider's page or
//! shown its QR), then an asynchronous signed callback says paid or failed; callbacks are
//! verified, recorded once per event and applied idempotently; they may come before the
//! browser returns, twice, out of order, or never (a job asks the provider about pending
//! orders). A paid subject that gets a second payment is refunded.
//!
//! The development sandbox is the provider in the demo and tests: a pay page with Pay and
//! Fail buttons that fires callbacks signed with `endorsements.sandbox_secret`.

use crate::{App, Result, ServiceError, audit};
use exitentry_storage::payments as store;
pub use exitentry_storage::payments::OrderRow;
use exitentry_storage::{AnyConnection, StorageError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

pub const PROVIDERS: [&str; 4] = ["unionpay", "yang_cheng_tong", "alipay", "wechat_pay"];

/// What a provider tells us about an order, by callback or when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Paid,
    Failed,
    Pending,
}

/// A callback as the provider sends it (JSON body, signature in a header).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Callback {
    pub event_id: String,
    pub order_id: String,
    pub outcome: Outcome,
    pub amount_cents: i64,
    pub provider_ref: String,
}

/// A payment provider (UnionPay, Yang Cheng Tong, Alipay, WeChat Pay): where to send the
/// applicant, what the provider says about an order when asked, refunds, and the check of
/// its callbacks' signatures. The development sandbox implements it; real adapters follow
/// the same shape.
pub trait OnlineProvider: Send + Sync {
    /// Where the applicant pays this order (the provider's page, or a QR payload).
    fn checkout_url(&self, order: &OrderRow) -> String;
    /// The provider's answer when asked about an order (callbacks get lost).
    fn query<'a>(&'a self, order: &'a OrderRow)
    -> crate::providers::BoxFuture<'a, Result<Outcome>>;
    /// Gives the money back.
    fn refund<'a>(&'a self, order: &'a OrderRow) -> crate::providers::BoxFuture<'a, Result<()>>;
    /// Whether a callback body carries the provider's signature.
    fn verify(&self, body: &str, signature: &str) -> bool;
}

/// The sandbox's memory of what the applicant did on its pay page.
#[derive(Default)]
pub struct Sandbox {
    outcomes: Mutex<HashMap<String, Outcome>>,
}

impl Sandbox {
    /// The applicant pressed Pay or Fail on the sandbox page; returns the signed callback
    /// (body, signature) the sandbox sends.
    pub fn decide(&self, secret: &str, order: &OrderRow, outcome: Outcome) -> (String, String) {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(order.id.clone(), outcome);
        let cb = Callback {
            event_id: format!(
                "sbx-{}-{}",
                order.id,
                match outcome {
                    Outcome::Paid => "paid",
                    Outcome::Failed => "failed",
                    Outcome::Pending => "pending",
                }
            ),
            order_id: order.id.clone(),
            outcome,
            amount_cents: order.amount_cents,
            provider_ref: format!("SBX{}", &order.id[..12]),
        };
        let body = serde_json::to_string(&cb).unwrap_or_default();
        let sig = sign(secret, &body);
        (body, sig)
    }

    /// What the provider's query API would answer.
    pub fn query(&self, order_id: &str) -> Outcome {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(order_id)
            .copied()
            .unwrap_or(Outcome::Pending)
    }
}

/// The sandbox as a provider: its own pay page, its memory for queries, instant refunds,
/// and callbacks signed with the configured secret.
pub struct SandboxProvider {
    pub sandbox: std::sync::Arc<Sandbox>,
    pub secret: String,
}

impl OnlineProvider for SandboxProvider {
    fn checkout_url(&self, order: &OrderRow) -> String {
        format!("/dev/pay/{}", order.id)
    }

    fn query<'a>(
        &'a self,
        order: &'a OrderRow,
    ) -> crate::providers::BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move { Ok(self.sandbox.query(&order.id)) })
    }

    fn refund<'a>(&'a self, _order: &'a OrderRow) -> crate::providers::BoxFuture<'a, Result<()>> {
        Box::pin(async move { Ok(()) })
    }

    fn verify(&self, body: &str, signature: &str) -> bool {
        verify_signature(&self.secret, body, signature)
    }
}

/// HMAC-SHA256 of the body, hex.
pub fn sign(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(ring::hmac::sign(&key, body.as_bytes()).as_ref())
}

/// Constant-time check of a callback's signature.
fn verify_signature(secret: &str, body: &str, signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, body.as_bytes(), &sig).is_ok()
}

fn sandbox(app: &App) -> Result<&Sandbox> {
    app.sandbox.as_deref().ok_or(ServiceError::Unavailable {
        code: "payment_provider_not_configured",
        message: "no online payment provider is configured".into(),
    })
}

fn provider(app: &App) -> Result<&dyn OnlineProvider> {
    app.online.as_deref().ok_or(ServiceError::Unavailable {
        code: "payment_provider_not_configured",
        message: "no online payment provider is configured".into(),
    })
}

/// Starts paying for `subject`: a pending order and where to send the applicant.
pub async fn start(
    app: &App,
    subject: &str,
    provider: &str,
    amount_cents: i64,
    actor: &str,
) -> Result<(OrderRow, String)> {
    if !PROVIDERS.contains(&provider) {
        return Err(ServiceError::invalid(
            "provider",
            exitentry_domain::Invalid::new(
                "bad_provider",
                "pay with unionpay, yang_cheng_tong, alipay or wechat_pay",
            ),
        ));
    }
    let p = self::provider(app)?;
    let order = new_order(app, subject, provider, amount_cents, actor).await?;
    let url = p.checkout_url(&order);
    Ok((order, url))
}

/// Records a payment taken at a counter or kiosk terminal (`terminal:METHOD`), pending until
/// the terminal answers; refunds of it go back through the terminal.
pub async fn start_terminal(
    app: &App,
    subject: &str,
    method: &str,
    amount_cents: i64,
    actor: &str,
) -> Result<OrderRow> {
    new_order(
        app,
        subject,
        &format!("terminal:{method}"),
        amount_cents,
        actor,
    )
    .await
}

/// A pending order in CNY, recorded and audited.
async fn new_order(
    app: &App,
    subject: &str,
    provider: &str,
    amount_cents: i64,
    actor: &str,
) -> Result<OrderRow> {
    let order = OrderRow {
        id: crate::auth::random_token()[..32].to_string(),
        subject: subject.to_string(),
        provider: provider.to_string(),
        amount_cents,
        currency: "CNY".into(),
        status: "pending".into(),
        provider_ref: None,
        created_at: app.now_micros(),
        paid_at: None,
        refunded_at: None,
    };
    let mut tx = app.db.begin().await?;
    store::insert_order(&mut tx, &order).await?;
    audit::record(
        app,
        &mut tx,
        actor,
        "payment.start",
        subject,
        json!({"order": order.id, "provider": provider, "amount_cents": amount_cents}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(order)
}

/// What a subject does once paid (the endorsement becomes ready to print).
pub type OnPaid = for<'a> fn(
    &'a App,
    &'a mut AnyConnection,
    &'a str,
) -> crate::providers::BoxFuture<'a, Result<bool>>;

/// A callback's event, recorded in the same transaction as its effect: if applying it
/// fails, the provider's retry is processed instead of being taken for a repeat.
struct Event<'a> {
    provider: &'a str,
    id: &'a str,
    outcome: &'a str,
}

/// Applies a verified outcome to an order once; returns whether anything changed. Money to
/// give back is refunded at the provider after the commit.
async fn apply(
    app: &App,
    order_id: &str,
    outcome: Outcome,
    provider_ref: &str,
    amount_cents: Option<i64>,
    event: Option<Event<'_>>,
    on_paid: OnPaid,
) -> Result<bool> {
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    if let Some(e) = &event
        && !store::record_callback(&mut tx, e.provider, e.id, order_id, e.outcome, now).await?
    {
        return Ok(false);
    }
    let order = store::order(&mut tx, order_id)
        .await?
        .ok_or(ServiceError::NotFound("order"))?;
    if let Some(a) = amount_cents
        && a != order.amount_cents
    {
        // Never credited: the order leaves "pending" so the query job cannot credit it either.
        store::mark_failed(&mut tx, order_id, now).await?;
        audit::record(
            app,
            &mut tx,
            "system",
            "payment.amount_mismatch",
            &order.subject,
            json!({"order": order.id, "amount_cents": a}),
        )
        .await?;
        tx.commit().await.map_err(StorageError::from)?;
        return Err(ServiceError::Conflict {
            code: "amount_mismatch",
            message: "the amount paid is not the amount ordered".into(),
        });
    }
    let mut give_back = None;
    let changed = match outcome {
        Outcome::Paid => {
            if store::mark_paid(&mut tx, order_id, provider_ref, now).await? {
                let took = on_paid(app, &mut tx, &order.subject).await?;
                audit::record(
                    app,
                    &mut tx,
                    &format!("provider:{}", order.provider),
                    "payment.paid",
                    &order.subject,
                    json!({"order": order.id, "ref": provider_ref}),
                )
                .await?;
                if !took {
                    // Paid for something no longer payable (cancelled meanwhile): give it back.
                    store::mark_refunded(&mut tx, order_id, now).await?;
                    audit::record(
                        app,
                        &mut tx,
                        "system",
                        "payment.refund",
                        &order.subject,
                        json!({"order": order.id, "why": "not payable"}),
                    )
                    .await?;
                    give_back = Some(order.clone());
                }
                true
            } else if order.status != "paid" && order.status != "refunded" {
                // Another order of the same subject was paid first: this is a second payment.
                if store::refund_second_payment(&mut tx, order_id, provider_ref, now).await? {
                    audit::record(
                        app,
                        &mut tx,
                        "system",
                        "payment.refund",
                        &order.subject,
                        json!({"order": order.id, "why": "paid twice"}),
                    )
                    .await?;
                    give_back = Some(order.clone());
                    true
                } else {
                    false
                }
            } else {
                false
            }
        }
        Outcome::Failed => store::mark_failed(&mut tx, order_id, now).await?,
        Outcome::Pending => false,
    };
    tx.commit().await.map_err(StorageError::from)?;
    if let Some(o) = give_back {
        refund_at_provider(app, &o).await;
    }
    Ok(changed)
}

/// Gives money back through whoever took it: the counter or kiosk terminal, or the online
/// provider. A failure is logged and audited for staff; the record already says refunded.
async fn refund_at_provider(app: &App, o: &OrderRow) {
    let result = if o.provider.starts_with("terminal:") {
        match app.providers.payments() {
            Ok(t) => t.refund(&o.id, o.amount_cents).await,
            Err(e) => Err(e),
        }
    } else {
        match provider(app) {
            Ok(p) => p.refund(o).await,
            Err(e) => Err(e),
        }
    };
    if let Err(e) = result {
        tracing::error!(order = %o.id, error = %e, "refund at the provider failed; refund by hand");
        if let Ok(mut conn) = app.db.conn().await {
            let _ = audit::record(
                app,
                &mut conn,
                "system",
                "payment.refund_failed",
                &o.subject,
                json!({"order": o.id, "error": e.to_string()}),
            )
            .await;
        }
    }
}

/// Handles a provider's callback: the signature must verify; the same event twice is
/// applied once. Returns whether the order changed.
pub async fn callback(
    app: &App,
    provider: &str,
    body: &str,
    signature: &str,
    on_paid: OnPaid,
) -> Result<bool> {
    if !PROVIDERS.contains(&provider) {
        return Err(ServiceError::NotFound("provider"));
    }
    if !self::provider(app)?.verify(body, signature) {
        tracing::warn!(provider, "payment callback with a bad signature");
        return Err(ServiceError::Forbidden);
    }
    let cb: Callback = serde_json::from_str(body).map_err(|_| {
        ServiceError::invalid(
            "body",
            exitentry_domain::Invalid::new("bad_callback", "the callback body is not understood"),
        )
    })?;
    let outcome = match cb.outcome {
        Outcome::Paid => "paid",
        Outcome::Failed => "failed",
        Outcome::Pending => "pending",
    };
    let event = Event {
        provider,
        id: &cb.event_id,
        outcome,
    };
    apply(
        app,
        &cb.order_id,
        cb.outcome,
        &cb.provider_ref,
        Some(cb.amount_cents),
        Some(event),
        on_paid,
    )
    .await
}

/// Asks the provider about orders still pending after the configured delay (callbacks get
/// lost), for a day at most (abandoned checkouts stay pending); returns how many changed.
pub async fn query_pending(app: &App, on_paid: OnPaid) -> Result<usize> {
    let Some(p) = app.online.as_deref() else {
        return Ok(0);
    };
    let before = app.now_micros() - app.config.endorsements.query_pending_after_seconds * 1_000_000;
    let pending = {
        let mut conn = app.db.conn().await?;
        store::pending_between(&mut conn, before - 86_400_000_000, before, 100).await?
    };
    let mut changed = 0;
    for o in pending {
        // One order the provider cannot answer for must not hold up the others.
        match p.query(&o).await {
            Ok(Outcome::Pending) => {}
            Ok(outcome) => match apply(
                app,
                &o.id,
                outcome,
                &format!("query:{}", o.id),
                None,
                None,
                on_paid,
            )
            .await
            {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(order = %o.id, error = %e, "applying a queried payment failed")
                }
            },
            Err(e) => tracing::warn!(order = %o.id, error = %e, "querying a payment failed"),
        }
    }
    Ok(changed)
}

/// Refunds the paid order of a subject (a failed print, a cancelled application) in the
/// caller's transaction; returns the order to give the money back for once committed.
pub async fn refund(
    app: &App,
    conn: &mut AnyConnection,
    subject: &str,
    why: &str,
) -> Result<Option<OrderRow>> {
    let paid = store::orders_for(conn, subject)
        .await?
        .into_iter()
        .find(|o| o.status == "paid");
    let Some(o) = paid else {
        return Ok(None);
    };
    // Recorded first: of two racing refunds only one gets here with `true`.
    if !store::mark_refunded(conn, &o.id, app.now_micros()).await? {
        return Ok(None);
    }
    audit::record(
        app,
        conn,
        "system",
        "payment.refund",
        subject,
        json!({"order": o.id, "why": why}),
    )
    .await?;
    Ok(Some(o))
}

/// Gives the money of a refunded order back, after the transaction that recorded it.
pub async fn give_back(app: &App, order: Option<OrderRow>) {
    if let Some(o) = order {
        refund_at_provider(app, &o).await;
    }
}

/// The day's figures of one provider, to compare with its settlement file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Reconciliation {
    pub provider: String,
    pub day: String,
    pub orders: i64,
    pub paid: i64,
    pub paid_cents: i64,
    pub refunded: i64,
    pub refunded_cents: i64,
    pub pending: i64,
    pub failed: i64,
}

pub async fn reconciliation(
    app: &App,
    provider: &str,
    day: chrono::NaiveDate,
) -> Result<Reconciliation> {
    let from = crate::appointments::day_start_micros(day);
    let to = crate::appointments::day_start_micros(day + chrono::Duration::days(1));
    let mut conn = app.db.conn().await?;
    let orders = store::between(&mut conn, provider, from, to).await?;
    let mut r = Reconciliation {
        provider: provider.to_string(),
        day: day.to_string(),
        orders: orders.len() as i64,
        ..Default::default()
    };
    for o in &orders {
        match o.status.as_str() {
            "paid" => {
                r.paid += 1;
                r.paid_cents += o.amount_cents;
            }
            "refunded" => {
                r.refunded += 1;
                r.refunded_cents += o.amount_cents;
            }
            "pending" => r.pending += 1,
            _ => r.failed += 1,
        }
    }
    Ok(r)
}

/// An order, for the sandbox's pay page.
pub async fn order(app: &App, id: &str) -> Result<OrderRow> {
    sandbox(app)?;
    let mut conn = app.db.conn().await?;
    store::order(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("order"))
}

/// The sandbox's pay page was answered: remember it and fire the signed callback the way a
/// provider would (through the same verification as any callback).
pub async fn sandbox_decide(
    app: &App,
    order_id: &str,
    outcome: Outcome,
    on_paid: OnPaid,
) -> Result<OrderRow> {
    let sb = sandbox(app)?;
    let o = order(app, order_id).await?;
    let (body, sig) = sb.decide(app.config.endorsements.sandbox_secret.expose(), &o, outcome);
    callback(app, &o.provider, &body, &sig, on_paid).await?;
    order(app, order_id).await
}
