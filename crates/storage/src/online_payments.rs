//! Online payment orders and the callbacks providers send about them. Marking an order paid
//! is a conditional UPDATE and a subject can have one paid order only, so a storm of
//! duplicate or out-of-order callbacks credits once.

use crate::error::{decode, money};
use crate::{Result, StorageError};
use exitentry_domain::products::Money;
use exitentry_domain::states::PaymentOrderState;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: String,
    /// What is paid for, e.g. `endorsement_application:ID`.
    pub subject: String,
    pub provider: String,
    pub amount: Money,
    pub status: PaymentOrderState,
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub refunded_at: Option<i64>,
}

const COLUMNS: &str = "id, subject, provider, amount_cents, currency, status, provider_ref, created_at, paid_at, refunded_at";

fn from_row(r: &AnyRow) -> Result<OrderRow> {
    Ok(OrderRow {
        id: r.try_get("id")?,
        subject: r.try_get("subject")?,
        provider: r.try_get("provider")?,
        amount: money(r, "amount_cents", "currency")?,
        status: decode(r, "status")?,
        provider_ref: r.try_get("provider_ref")?,
        created_at: r.try_get("created_at")?,
        paid_at: r.try_get("paid_at")?,
        refunded_at: r.try_get("refunded_at")?,
    })
}

/// Records a new order, always `pending` (whatever the row says).
pub async fn insert_order(conn: &mut AnyConnection, o: &OrderRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO payment_orders (id, subject, provider, amount_cents, currency, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $7, $6, $6)",
    )
    .bind(o.id.clone())
    .bind(o.subject.clone())
    .bind(o.provider.clone())
    .bind(o.amount.cents)
    .bind(o.amount.currency.code())
    .bind(o.created_at)
    .bind(PaymentOrderState::Pending.code())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn order(conn: &mut AnyConnection, id: &str) -> Result<Option<OrderRow>> {
    let sql = format!("SELECT {COLUMNS} FROM payment_orders WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn orders_for(conn: &mut AnyConnection, subject: &str) -> Result<Vec<OrderRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM payment_orders WHERE subject = $1 ORDER BY created_at");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Pending online orders created in [from, before), newest first (for the job that asks
/// the provider; older ones are abandoned checkouts; terminal payments are not asked about).
pub async fn pending_between(
    conn: &mut AnyConnection,
    from: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<OrderRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_orders WHERE status = $4 AND created_at >= $1 \
         AND created_at < $2 AND provider NOT LIKE 'terminal:%' ORDER BY created_at DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(before)
        .bind(limit)
        .bind(PaymentOrderState::Pending.code())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Orders of a provider created, paid or refunded in [from, to), for the daily
/// reconciliation (settlement files go by the day money moved, not the day of the order).
pub async fn between(
    conn: &mut AnyConnection,
    provider: &str,
    from: i64,
    to: i64,
) -> Result<Vec<OrderRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_orders WHERE provider = $1 AND \
         ((created_at >= $2 AND created_at < $3) OR (paid_at >= $2 AND paid_at < $3) \
          OR (refunded_at >= $2 AND refunded_at < $3)) ORDER BY created_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(provider.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Marks a pending (or failed: a late success wins) order paid; `false` when it already was
/// paid or refunded, or its subject has another paid order (the caller refunds this one).
/// Two orders of one subject paid at the same instant: the unique index refuses the second
/// with a `Conflict` (the provider retries the callback and then gets `false`).
pub async fn mark_paid(
    conn: &mut AnyConnection,
    id: &str,
    provider_ref: &str,
    now: i64,
) -> Result<bool> {
    use PaymentOrderState::{Failed, Paid, Pending};
    let r = sqlx::query(
        "UPDATE payment_orders SET status = $4, provider_ref = $2, paid_at = $3, updated_at = $3 \
         WHERE id = $1 AND status IN ($5, $6) AND NOT EXISTS (SELECT 1 FROM payment_orders p \
         WHERE p.subject = payment_orders.subject AND p.status = $4)",
    )
    .bind(id.to_string())
    .bind(provider_ref.to_string())
    .bind(now)
    .bind(Paid.code())
    .bind(Pending.code())
    .bind(Failed.code())
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "paid order"))?;
    Ok(r.rows_affected() == 1)
}

/// Marks a pending order failed; `false` otherwise (a failure never undoes a payment).
pub async fn mark_failed(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE payment_orders SET status = $4, updated_at = $2 WHERE id = $1 AND status = $3",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(PaymentOrderState::Pending.code())
    .bind(PaymentOrderState::Failed.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A second payment for a subject already paid: recorded as paid and refunded at once.
pub async fn refund_second_payment(
    conn: &mut AnyConnection,
    id: &str,
    provider_ref: &str,
    now: i64,
) -> Result<bool> {
    use PaymentOrderState::{Failed, Pending, Refunded};
    let r = sqlx::query(
        "UPDATE payment_orders SET status = $4, provider_ref = $2, paid_at = $3, refunded_at = $3, \
         updated_at = $3 WHERE id = $1 AND status IN ($5, $6)",
    )
    .bind(id.to_string())
    .bind(provider_ref.to_string())
    .bind(now)
    .bind(Refunded.code())
    .bind(Pending.code())
    .bind(Failed.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn mark_refunded(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE payment_orders SET status = $4, refunded_at = $2, updated_at = $2 WHERE id = $1 AND status = $3",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(PaymentOrderState::Paid.code())
    .bind(PaymentOrderState::Refunded.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
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
    let r = sqlx::query(
        "INSERT INTO payment_callbacks (provider, event_id, order_id, outcome, received_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(provider.to_string())
    .bind(event_id.to_string())
    .bind(order_id.to_string())
    .bind(outcome.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    async fn an_unknown_status_in_the_database_is_corrupt_not_a_panic(t: &TestDb) {
        let mut c = t.db.conn().await.unwrap();
        sqlx::query(
            "INSERT INTO payment_orders (id, subject, provider, amount_cents, currency, status, \
             created_at, updated_at) VALUES ($1, 's', 'alipay', 100, 'CNY', $2, 0, 0)",
        )
        .bind("o1")
        .bind("payed")
        .execute(&mut *c)
        .await
        .unwrap();
        let read = order(&mut c, "o1").await;
        assert!(
            matches!(&read, Err(StorageError::Corrupt(m)) if m.contains("payed")),
            "{read:?}"
        );
    }

    crate::backend_tests!(an_unknown_status_in_the_database_is_corrupt_not_a_panic);
}
