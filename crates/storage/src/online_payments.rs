//! Online payment orders and the callbacks providers send about them. Marking an order paid
//! is a conditional UPDATE and a subject can have one paid order only, so a storm of
//! duplicate or out-of-order callbacks credits once.

use crate::Result;
use crate::codes::{Amount, Code};
use crate::statement::{all, changed_one, execute, optional, select, transition};
use exitentry_domain::products::Money;
use exitentry_domain::states::PaymentOrderState::{self, Failed, Paid, Pending, Refunded};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderRow {
    pub id: String,
    /// What is paid for, e.g. `endorsement_application:ID`.
    pub subject: String,
    pub provider: String,
    #[sqlx(flatten, try_from = "Amount")]
    pub amount: Money,
    #[sqlx(try_from = "Code<PaymentOrderState>")]
    pub status: PaymentOrderState,
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub refunded_at: Option<i64>,
}

const COLUMNS: &str = "id, subject, provider, amount_cents, currency, status, provider_ref, \
     created_at, paid_at, refunded_at";

/// Records a new order, always `pending` (whatever the row says).
pub async fn insert_order(conn: &mut AnyConnection, o: &OrderRow) -> Result<()> {
    let sql = "INSERT INTO payment_orders (id, subject, provider, amount_cents, currency, status, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $7, $6, $6)";
    let amount = &o.amount;
    let binds = (
        &o.id,
        &o.subject,
        &o.provider,
        amount.cents,
        amount.currency.code(),
        o.created_at,
        Pending.code(),
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn order(conn: &mut AnyConnection, id: &str) -> Result<Option<OrderRow>> {
    optional(conn, select(COLUMNS, "payment_orders WHERE id = $1"), (id,)).await
}

pub async fn orders_for(conn: &mut AnyConnection, subject: &str) -> Result<Vec<OrderRow>> {
    let sql = select(
        COLUMNS,
        "payment_orders WHERE subject = $1 ORDER BY created_at",
    );
    all(conn, sql, (subject,)).await
}

/// Pending online orders created in [from, before), newest first (for the job that asks
/// the provider; older ones are abandoned checkouts; terminal payments are not asked about).
pub async fn pending_between(
    conn: &mut AnyConnection,
    from: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<OrderRow>> {
    let rows = "payment_orders WHERE status = $4 AND created_at >= $1 AND created_at < $2 \
                AND provider NOT LIKE 'terminal:%' ORDER BY created_at DESC LIMIT $3";
    let sql = select(COLUMNS, rows);
    all(conn, sql, (from, before, limit, Pending.code())).await
}

/// Orders of a provider created, paid or refunded in [from, to), for the daily
/// reconciliation (settlement files go by the day money moved, not the day of the order).
pub async fn between(
    conn: &mut AnyConnection,
    provider: &str,
    from: i64,
    to: i64,
) -> Result<Vec<OrderRow>> {
    let rows = "payment_orders WHERE provider = $1 AND ((created_at >= $2 AND created_at < $3) \
                OR (paid_at >= $2 AND paid_at < $3) OR (refunded_at >= $2 AND refunded_at < $3)) \
                ORDER BY created_at";
    all(conn, select(COLUMNS, rows), (provider, from, to)).await
}

/// Dialect a pending (or failed: a late success wins) order paid; `false` when it already was
/// paid or refunded, or its subject has another paid order (the caller refunds this one).
/// Two orders of one subject paid at the same instant: the unique index refuses the second
/// with a `Conflict` (the provider retries the callback and then gets `false`).
pub async fn mark_paid(
    conn: &mut AnyConnection,
    id: &str,
    provider_ref: &str,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE payment_orders SET status = $4, provider_ref = $2, paid_at = $3, updated_at = $3 \
         WHERE id = $1 AND status IN ($5, $6) AND NOT EXISTS (SELECT 1 FROM payment_orders p \
         WHERE p.subject = payment_orders.subject AND p.status = $4)";
    let binds = (
        id,
        provider_ref,
        now,
        Paid.code(),
        Pending.code(),
        Failed.code(),
    );
    changed_one(conn, sql, binds)
        .await
        .map_err(|e| e.or_conflict("paid order"))
}

/// Dialect a pending order failed; `false` otherwise (a failure never undoes a payment).
pub async fn mark_failed(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql =
        "UPDATE payment_orders SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Pending, Failed), (now,)).await
}

/// A second payment for a subject already paid: recorded as paid and refunded at once.
pub async fn refund_second_payment(
    conn: &mut AnyConnection,
    id: &str,
    provider_ref: &str,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE payment_orders SET status = $4, provider_ref = $2, paid_at = $3, \
         refunded_at = $3, updated_at = $3 WHERE id = $1 AND status IN ($5, $6)";
    let binds = (
        id,
        provider_ref,
        now,
        Refunded.code(),
        Pending.code(),
        Failed.code(),
    );
    changed_one(conn, sql, binds).await
}

pub async fn mark_refunded(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE payment_orders SET status = $3, refunded_at = $4, updated_at = $4 \
               WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Paid, Refunded), (now,)).await
}

/// Stores a callback; `false` when this event was received before.
pub async fn record_callback(
    conn: &mut AnyConnection,
    provider: &str,
    event_id: &str,
    order_id: &str,
    outcome: &str,
    now: i64,
) -> Result<bool> {
    let sql = "INSERT INTO payment_callbacks (provider, event_id, order_id, outcome, received_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING";
    changed_one(conn, sql, (provider, event_id, order_id, outcome, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StorageError;
    use crate::testing::TestDb;

    /// Reads back an order written straight into the table with `currency` and `status`.
    async fn stored(t: &TestDb, currency: &str, status: &str) -> Result<Option<OrderRow>> {
        let mut c = t.db.conn().await.unwrap();
        sqlx::query(
            "INSERT INTO payment_orders (id, subject, provider, amount_cents, currency, status, \
             created_at, updated_at) VALUES ('o1', 's', 'alipay', 100, $1, $2, 0, 0)",
        )
        .bind(currency)
        .bind(status)
        .execute(&mut *c)
        .await
        .unwrap();
        order(&mut c, "o1").await
    }

    async fn an_unknown_status_in_the_database_is_corrupt_not_a_panic(t: &TestDb) {
        let read = stored(t, "CNY", "payed").await;
        assert!(
            matches!(&read, Err(StorageError::Corrupt(m)) if m.contains("payed")),
            "{read:?}"
        );
    }

    /// The currency is read inside the amount (a flattened part of the row): still
    /// `Corrupt`, named by its column.
    async fn an_unknown_currency_is_corrupt_too(t: &TestDb) {
        let read = stored(t, "XYZ", Pending.code()).await;
        assert!(
            matches!(&read, Err(StorageError::Corrupt(m)) if m.starts_with("currency:")),
            "{read:?}"
        );
    }

    crate::backend_tests!(
        an_unknown_status_in_the_database_is_corrupt_not_a_panic,
        an_unknown_currency_is_corrupt_too,
    );
}
