//! Online payments: UnionPay, Yang Cheng Tong, Alipay and WeChat Pay behind one trait. The
//! shape of a real adapter: create an order (the applicant is sent to the provider's page or
//! shown its QR), then an asynchronous signed callback says paid or failed; callbacks are
//! verified, recorded once per event and applied idempotently; they may come before the
//! browser returns, twice, out of order, or never (a job asks the provider about pending
//! orders). A paid subject that gets a second payment is refunded.
//!
//! Each provider name has its own adapter (`endorsements.online`): the development sandbox
//! (a pay page with Pay and Fail buttons that fires callbacks signed with
//! `endorsements.sandbox_secret`), or WeChat Pay Native for `wechat_pay` ([`wechat`]).

mod provider;
pub mod wechat;

pub use provider::*;

use crate::BoxFuture;
use crate::ErrorCode;
use crate::{App, Result, ServiceError, audit};
use exitentry_config::{Config, OnlineAdapter};
use exitentry_domain::products::Money;
use exitentry_domain::states::{CounterPaymentState, PaymentOrderState};
use exitentry_storage::AnyConnection;
use exitentry_storage::online_payments as store;
pub use exitentry_storage::online_payments::OrderRow;
pub use reqwest::header::HeaderMap;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const PROVIDERS: [&str; 4] = ["unionpay", "yang_cheng_tong", "alipay", "wechat_pay"];

/// The adapter of each provider name; a name without one is not configured.
#[derive(Clone, Default)]
pub struct OnlineProviders {
    by_name: HashMap<&'static str, Arc<dyn OnlineProvider>>,
}

impl OnlineProviders {
    /// One adapter per name as `endorsements.online` says: the sandbox only where the
    /// development sandbox runs; an adapter that cannot be set up is logged and left out.
    pub fn from_config(config: &Config, sandbox: Option<&Arc<Sandbox>>) -> Self {
        let mut out = OnlineProviders::default();
        for name in PROVIDERS {
            let adapter: Option<Arc<dyn OnlineProvider>> = match config
                .endorsements
                .online
                .get(name)
            {
                OnlineAdapter::None => None,
                OnlineAdapter::Sandbox => sandbox.map(|sandbox| {
                    Arc::new(SandboxProvider {
                        sandbox: sandbox.clone(),
                        secret: sandbox_provider_secret(
                            config.endorsements.sandbox_secret.expose(),
                            name,
                        ),
                    }) as Arc<dyn OnlineProvider>
                }),
                OnlineAdapter::WechatNative if name == "wechat_pay" => {
                    match wechat::WechatNative::from_config(config) {
                        Ok(w) => Some(Arc::new(w)),
                        Err(e) => {
                            tracing::error!(provider = name, error = %e, "WeChat Pay set-up failed");
                            None
                        }
                    }
                }
                OnlineAdapter::WechatNative => {
                    tracing::error!(provider = name, "wechat_native serves wechat_pay only");
                    None
                }
            };
            if let Some(a) = adapter {
                out.by_name.insert(name, a);
            }
        }
        out
    }

    /// Puts `adapter` behind `name` (one of [`PROVIDERS`]; other names are ignored).
    pub fn insert(&mut self, name: &str, adapter: Arc<dyn OnlineProvider>) {
        if let Some(n) = PROVIDERS.iter().find(|p| **p == name) {
            self.by_name.insert(n, adapter);
        }
    }

    /// The adapter of a provider, or `payment_provider_not_configured`.
    pub fn get(&self, name: &str) -> Result<&dyn OnlineProvider> {
        self.by_name
            .get(name)
            .map(|a| a.as_ref())
            .ok_or(ServiceError::unavailable(
                ErrorCode::PaymentProviderNotConfigured,
                format!("online payment with {name} is not configured"),
            ))
    }

    /// Whether any provider is configured (the pending-order query job has work).
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The sandbox's memory of what the applicant did on its pay page.
#[derive(Default)]
pub struct Sandbox {
    outcomes: Mutex<HashMap<String, Outcome>>,
}

impl Sandbox {
    /// The applicant pressed Pay or Fail on the sandbox page; returns the callback (body,
    /// signature) the sandbox sends, signed with the order's provider's own key derived from
    /// the sandbox secret `secret`.
    pub fn decide(&self, secret: &str, order: &OrderRow, outcome: Outcome) -> (String, String) {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(order.id.clone(), outcome);
        let cb = Callback {
            event_id: format!("sbx-{}-{}", order.id, outcome.code()),
            order_id: order.id.clone(),
            outcome,
            amount_cents: order.amount.cents,
            provider_ref: format!("SBX{}", &order.id[..12]),
        };
        let body = serde_json::to_string(&cb).unwrap_or_default();
        let sig = sign(&sandbox_provider_secret(secret, &order.provider), &body);
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
    fn checkout<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move { Ok(Checkout::Redirect(format!("/dev/pay/{}", order.id))) })
    }

    fn query<'a>(&'a self, order: &'a OrderRow) -> BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move { Ok(self.sandbox.query(&order.id)) })
    }

    fn refund<'a>(&'a self, _order: &'a OrderRow) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { Ok(()) })
    }

    fn parse_callback(&self, body: &str, headers: &HeaderMap) -> Result<Callback> {
        let signature = headers
            .get("x-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !verify_signature(&self.secret, body, signature) {
            return Err(ServiceError::Forbidden);
        }
        serde_json::from_str(body).map_err(|_| bad_callback())
    }
}

/// The sandbox's key for one provider: each provider signs with its own, as real ones do,
/// so one provider's callback can never pass as another's.
pub fn sandbox_provider_secret(secret: &str, provider: &str) -> String {
    sign(secret, &format!("sandbox provider {provider}"))
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
    app.sandbox.as_deref().ok_or(ServiceError::unavailable(
        ErrorCode::PaymentProviderNotConfigured,
        "no online payment provider is configured",
    ))
}

/// Starts paying for `subject`: a pending order, created at the provider, and where the
/// applicant pays it. An order the provider refused is marked failed at once.
pub async fn start(
    app: &App,
    subject: &str,
    provider: &str,
    amount_cents: i64,
    actor: &str,
) -> Result<(OrderRow, Checkout)> {
    if !PROVIDERS.contains(&provider) {
        return Err(ServiceError::bad_input(
            "provider",
            ErrorCode::BadProvider,
            "pay with unionpay, yang_cheng_tong, alipay or wechat_pay",
        ));
    }
    let p = app.online.get(provider)?;
    let order = new_order(app, subject, provider, amount_cents, actor).await?;
    match p.checkout(&order).await {
        Ok(checkout) => Ok((order, checkout)),
        Err(e) => {
            // Nobody can pay it, so the query job need not ask about it for a day.
            tracing::warn!(order = %order.id, provider, error = %e, "checkout failed");
            if let Ok(mut conn) = app.db.conn().await {
                let _ = store::mark_failed(&mut conn, &order.id, app.now_micros()).await;
            }
            Err(e)
        }
    }
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
        id: crate::tokens::random_token()[..32].to_string(),
        subject: subject.to_string(),
        provider: provider.to_string(),
        amount: Money::cny(amount_cents),
        status: PaymentOrderState::Pending,
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
    tx.commit().await?;
    Ok(order)
}

/// What a subject does once paid (the endorsement becomes ready to print).
pub type OnPaid =
    for<'a> fn(&'a App, &'a mut AnyConnection, &'a str) -> crate::BoxFuture<'a, Result<bool>>;

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
    let order = store::order(&mut tx, order_id)
        .await?
        .ok_or(ServiceError::NotFound("order"))?;
    // An order is settled only by its own provider's verified callback.
    if let Some(e) = &event
        && e.provider != order.provider
    {
        audit::record(
            app,
            &mut tx,
            &format!("provider:{}", e.provider),
            "payment.wrong_provider",
            &order.subject,
            json!({"order": order.id, "order_provider": order.provider, "event": e.id}),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(order = %order.id, provider = e.provider, "callback for another provider's order");
        return Err(ServiceError::conflict(
            ErrorCode::WrongProvider,
            "this order belongs to another payment provider",
        ));
    }
    if let Some(e) = &event
        && !store::record_callback(&mut tx, e.provider, e.id, order_id, e.outcome, now).await?
    {
        return Ok(false);
    }
    if let Some(a) = amount_cents
        && a != order.amount.cents
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
        tx.commit().await?;
        return Err(ServiceError::conflict(
            ErrorCode::AmountMismatch,
            "the amount paid is not the amount ordered",
        ));
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
                    audit_refund(app, &mut tx, &order, "not payable").await?;
                    give_back = Some(order.clone());
                }
                true
            } else if !matches!(
                order.status,
                PaymentOrderState::Paid | PaymentOrderState::Refunded
            ) {
                // Another order of the same subject was paid first: this is a second payment.
                if store::refund_second_payment(&mut tx, order_id, provider_ref, now).await? {
                    audit_refund(app, &mut tx, &order, "paid twice").await?;
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
    tx.commit().await?;
    if let Some(o) = give_back {
        refund_at_provider(app, &o).await;
    }
    Ok(changed)
}

/// Gives money back through whoever took it: the counter or kiosk terminal, or the online
/// provider. A failure is logged and audited for staff; the record already says refunded.
/// Audits giving `order` back, and why.
async fn audit_refund(
    app: &App,
    conn: &mut AnyConnection,
    order: &OrderRow,
    why: &str,
) -> Result<()> {
    let detail = json!({"order": order.id, "why": why});
    audit::record(
        app,
        conn,
        "system",
        "payment.refund",
        &order.subject,
        detail,
    )
    .await
}

async fn refund_at_provider(app: &App, o: &OrderRow) {
    let result = if o.provider == "terminal:cash" {
        // Cash goes back at the till: nothing to call, but the counter must see it is owed.
        match app.db.conn().await {
            Ok(mut conn) => audit::record(
                app,
                &mut conn,
                "system",
                "payment.cash_to_hand_back",
                &o.subject,
                json!({"order": o.id, "amount_cents": o.amount.cents}),
            )
            .await
            .map(|_| ()),
            Err(e) => Err(e.into()),
        }
    } else if o.provider.starts_with("terminal:") {
        match app.providers.payments() {
            Ok(t) => t.refund(&o.id, o.amount.cents).await,
            Err(e) => Err(e),
        }
    } else {
        match app.online.get(&o.provider) {
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

/// Handles a provider's callback: its adapter reads it from the raw body and headers and
/// checks the signature; the same event twice is applied once. Says whether the order
/// changed and how to answer the provider.
pub async fn callback(
    app: &App,
    provider: &str,
    body: &str,
    headers: &HeaderMap,
    on_paid: OnPaid,
) -> Result<Handled> {
    if !PROVIDERS.contains(&provider) {
        return Err(ServiceError::NotFound("provider"));
    }
    let p = app.online.get(provider)?;
    let cb = p.parse_callback(body, headers).map_err(|e| {
        if matches!(e, ServiceError::Forbidden) {
            tracing::warn!(provider, "payment callback with a bad signature");
        }
        e
    })?;
    let outcome = cb.outcome.code();
    let event = Event {
        provider,
        id: &cb.event_id,
        outcome,
    };
    let changed = apply(
        app,
        &cb.order_id,
        cb.outcome,
        &cb.provider_ref,
        Some(cb.amount_cents),
        Some(event),
        on_paid,
    )
    .await?;
    Ok(Handled {
        changed,
        ack: p.acknowledgement(),
    })
}

/// Asks the provider about orders still pending after the configured delay (callbacks get
/// lost), for a day at most (abandoned checkouts stay pending); returns how many changed.
pub async fn query_pending(app: &App, on_paid: OnPaid) -> Result<usize> {
    if app.online.is_empty() {
        return Ok(0);
    }
    let before = app.now_micros() - app.config.endorsements.query_pending_after_seconds * 1_000_000;
    let pending = {
        let mut conn = app.db.conn().await?;
        store::pending_between(&mut conn, before - 86_400_000_000, before, 100).await?
    };
    let mut changed = 0;
    for o in pending {
        // Terminal payments and providers no longer configured have nobody to ask.
        let Ok(p) = app.online.get(&o.provider) else {
            continue;
        };
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
        .find(|o| o.status == PaymentOrderState::Paid);
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
    /// Orders made on the day, and of those the ones still pending or failed.
    pub orders: i64,
    /// Payments received on the day (whenever the order was made).
    pub paid: i64,
    pub paid_cents: i64,
    /// Refunds made on the day.
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
    let from = exitentry_domain::time::day_start_micros(day);
    let to = exitentry_domain::time::day_start_micros(day + chrono::Duration::days(1));
    let mut conn = app.db.conn().await?;
    let mut orders = store::between(&mut conn, provider, from, to).await?;
    // The counter's terminal takes the same providers' money for the hall's applications:
    // those payments settle in the same file, so they count here too.
    if let Some(method) = provider.strip_prefix("terminal:") {
        for p in exitentry_storage::centre::payments_between(&mut conn, method, from, to).await? {
            orders.push(OrderRow {
                id: p.id,
                subject: format!("application:{}", p.application_id),
                provider: provider.to_string(),
                amount: p.amount,
                status: match p.status {
                    CounterPaymentState::Paid => PaymentOrderState::Paid,
                    CounterPaymentState::Declined => PaymentOrderState::Failed,
                },
                provider_ref: p.provider_ref,
                created_at: p.created_at,
                paid_at: p.paid_at,
                refunded_at: None,
            });
        }
    }
    let within = |t: Option<i64>| t.is_some_and(|t| t >= from && t < to);
    let mut r = Reconciliation {
        provider: provider.to_string(),
        day: day.to_string(),
        ..Default::default()
    };
    for o in &orders {
        // Money in on the day it was paid, out on the day it was refunded; orders still
        // open or failed count on the day they were made.
        if within(o.paid_at) {
            r.paid += 1;
            r.paid_cents += o.amount.cents;
        }
        if within(o.refunded_at) {
            r.refunded += 1;
            r.refunded_cents += o.amount.cents;
        }
        if within(Some(o.created_at)) {
            r.orders += 1;
            match o.status {
                PaymentOrderState::Pending => r.pending += 1,
                PaymentOrderState::Failed => r.failed += 1,
                PaymentOrderState::Paid | PaymentOrderState::Refunded => {}
            }
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
    let mut headers = HeaderMap::new();
    if let Ok(v) = sig.parse() {
        headers.insert("x-signature", v);
    }
    callback(app, &o.provider, &body, &headers, on_paid).await?;
    order(app, order_id).await
}
