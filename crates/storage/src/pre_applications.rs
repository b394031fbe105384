//! Applicants' accounts (email + password, verified by a link) and the non-Chinese home
//! return permit's pre-applications with their review history. State changes are
//! conditional UPDATEs, so two reviewers never both claim or decide one application.

use crate::error::decode;
use crate::{Result, StorageError};
use exitentry_domain::states::PreApplicationState;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub lang: String,
    pub verified_at: Option<i64>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

const ACCOUNT_COLUMNS: &str =
    "a.id, a.email, a.password_hash, a.lang, a.verified_at, a.failed_logins, a.locked_until";

fn account(r: &AnyRow) -> Result<AccountRow> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        lang: r.try_get("lang")?,
        verified_at: r.try_get("verified_at")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
    })
}

/// A new account without a password (set with the emailed link); `Conflict` when the
/// address is taken.
pub async fn insert_account(
    conn: &mut AnyConnection,
    email: &str,
    lang: &str,
    verify_token_hash: &str,
    verify_expires_at: i64,
    now: i64,
) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO applicant_accounts (email, password_hash, lang, verify_token_hash, \
         verify_expires_at, failed_logins, created_at, updated_at) \
         VALUES ($1, '', $2, $3, $4, 0, $5, $5) RETURNING id",
    )
    .bind(email.to_string())
    .bind(lang.to_string())
    .bind(verify_token_hash.to_string())
    .bind(verify_expires_at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "applicant account"))
}

pub async fn account_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM applicant_accounts a WHERE a.email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(account).transpose()
}

pub async fn account_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<AccountRow>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM applicant_accounts a WHERE a.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(account).transpose()
}

/// Uses the link carrying this token (once, before it expires): the address is verified,
/// the password set, the lock-out lifted and the account's sessions ended. Returns the account.
pub async fn verify(
    conn: &mut AnyConnection,
    token_hash: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE applicant_accounts SET verified_at = COALESCE(verified_at, $2), \
         verify_token_hash = NULL, password_hash = $3, failed_logins = 0, locked_until = NULL, \
         updated_at = $2 WHERE verify_token_hash = $1 AND verify_expires_at > $2 RETURNING id",
    )
    .bind(token_hash.to_string())
    .bind(now)
    .bind(password_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = id {
        sqlx::query("DELETE FROM applicant_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// Whether a link's token is still usable.
pub async fn token_valid(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM applicant_accounts WHERE verify_token_hash = $1 AND verify_expires_at > $2",
    )
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A new link for an account (the last one sent is the one that works).
pub async fn renew_verification(
    conn: &mut AnyConnection,
    id: i64,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE applicant_accounts SET verify_token_hash = $2, verify_expires_at = $3, updated_at = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(token_hash.to_string())
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub account: AccountRow,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<SessionRow>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS}, s.csrf_token, s.last_seen_at, s.expires_at \
         FROM applicant_sessions s JOIN applicant_accounts a ON a.id = s.user_id WHERE s.token_hash = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(SessionRow {
        account: account(&r)?,
        csrf_token: r.try_get("csrf_token")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: String,
    pub reference: String,
    pub account_id: i64,
    /// `used` once the counter accepted it (`used_by` names that application).
    pub status: PreApplicationState,
    /// The form as JSON (kept as typed between saves).
    pub form: String,
    /// Set once the form is complete: the permanent identity card it is for.
    pub id_kind: Option<String>,
    pub id_number: Option<String>,
    pub round: i64,
    pub claimed_by: Option<String>,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub used_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, reference, account_id, status, form, id_kind, id_number, round, claimed_by, \
     submitted_at, decided_at, used_by, created_at, updated_at";

fn application(r: &AnyRow) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        account_id: r.try_get("account_id")?,
        status: decode(r, "status")?,
        form: r.try_get("form")?,
        id_kind: r.try_get("id_kind")?,
        id_number: r.try_get("id_number")?,
        round: r.try_get("round")?,
        claimed_by: r.try_get("claimed_by")?,
        submitted_at: r.try_get("submitted_at")?,
        decided_at: r.try_get("decided_at")?,
        used_by: r.try_get("used_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A new draft; `Conflict` when the account already has one in progress.
pub async fn insert(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO hrp_applications (id, reference, account_id, status, form, round, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(a.id.clone())
    .bind(a.reference.clone())
    .bind(a.account_id)
    .bind(a.status.code())
    .bind(a.form.clone())
    .bind(a.round)
    .bind(a.created_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| StorageError::from_write(e, "application in progress"))?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM hrp_applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application).transpose()
}

pub async fn for_account(conn: &mut AnyConnection, account_id: i64) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hrp_applications WHERE account_id = $1 ORDER BY created_at DESC LIMIT 50"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(application).collect()
}

/// Applications in `status`, oldest submission first (the review queue).
pub async fn with_status(
    conn: &mut AnyConnection,
    status: PreApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hrp_applications WHERE status = $1 ORDER BY submitted_at, id LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(status.code())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(application).collect()
}

/// Saves the form of a draft or of an application waiting for supplements.
pub async fn save_form(conn: &mut AnyConnection, id: &str, form: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE hrp_applications SET form = $2, updated_at = $3 \
         WHERE id = $1 AND status IN ($4, $5)",
    )
    .bind(id.to_string())
    .bind(form.to_string())
    .bind(now)
    .bind(PreApplicationState::Draft.code())
    .bind(PreApplicationState::SupplementRequested.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Submits (or resubmits) a complete application: the identity it is for is recorded, the
/// round counted, the claim released.
pub async fn submit(
    conn: &mut AnyConnection,
    id: &str,
    id_kind: &str,
    id_number: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE hrp_applications SET status = $5, id_kind = $2, id_number = $3, \
         round = round + 1, claimed_by = NULL, submitted_at = $4, updated_at = $4 \
         WHERE id = $1 AND status IN ($6, $7)",
    )
    .bind(id.to_string())
    .bind(id_kind.to_string())
    .bind(id_number.to_string())
    .bind(now)
    .bind(PreApplicationState::Submitted.code())
    .bind(PreApplicationState::Draft.code())
    .bind(PreApplicationState::SupplementRequested.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A reviewer claims a submitted application: `false` when someone else was quicker.
pub async fn claim(conn: &mut AnyConnection, id: &str, reviewer: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE hrp_applications SET status = $5, claimed_by = $2, updated_at = $3 \
         WHERE id = $1 AND status = $4",
    )
    .bind(id.to_string())
    .bind(reviewer.to_string())
    .bind(now)
    .bind(PreApplicationState::Submitted.code())
    .bind(PreApplicationState::InReview.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The claiming reviewer decides: `to` is `supplement_requested`, `approved` or `rejected`.
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    reviewer: &str,
    to: PreApplicationState,
    now: i64,
) -> Result<bool> {
    let from = PreApplicationState::InReview;
    debug_assert!(from.can_become(to), "{from} -> {to}");
    let r = sqlx::query(
        "UPDATE hrp_applications SET status = $3, decided_at = $4, updated_at = $4 \
         WHERE id = $1 AND status = $5 AND claimed_by = $2",
    )
    .bind(id.to_string())
    .bind(reviewer.to_string())
    .bind(to.code())
    .bind(now)
    .bind(from.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The latest approved or used pre-application of this identity card: whether one is
/// approved now (booking, the counter) and whose account to email about the permit.
pub async fn latest_granted_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hrp_applications WHERE id_kind = $1 AND id_number = $2 \
         AND status IN ($3, $4) ORDER BY decided_at DESC LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_kind.to_string())
        .bind(id_number.to_string())
        .bind(PreApplicationState::Approved.code())
        .bind(PreApplicationState::Used.code())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application).transpose()
}

/// Marks an approved pre-application used by the centre application `by`; `false` when it
/// is no longer approved (used meanwhile by another counter).
pub async fn mark_used(conn: &mut AnyConnection, id: &str, by: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE hrp_applications SET status = $5, used_by = $2, updated_at = $3 \
         WHERE id = $1 AND status = $4",
    )
    .bind(id.to_string())
    .bind(by.to_string())
    .bind(now)
    .bind(PreApplicationState::Approved.code())
    .bind(PreApplicationState::Used.code())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub round: i64,
    pub kind: String,
    pub actor: String,
    /// JSON array of item codes.
    pub items: String,
    pub note: String,
    pub created_at: i64,
}

pub async fn add_event(conn: &mut AnyConnection, application_id: &str, e: &EventRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO hrp_application_events (application_id, round, kind, actor, items, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(application_id.to_string())
    .bind(e.round)
    .bind(e.kind.clone())
    .bind(e.actor.clone())
    .bind(e.items.clone())
    .bind(e.note.clone())
    .bind(e.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn events(conn: &mut AnyConnection, application_id: &str) -> Result<Vec<EventRow>> {
    let rows = sqlx::query(
        "SELECT round, kind, actor, items, note, created_at FROM hrp_application_events \
         WHERE application_id = $1 ORDER BY id",
    )
    .bind(application_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                round: r.try_get("round")?,
                kind: r.try_get("kind")?,
                actor: r.try_get("actor")?,
                items: r.try_get("items")?,
                note: r.try_get("note")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
