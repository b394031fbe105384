//! Applicants' accounts (email + password, verified by a link) and the non-Chinese home
//! return permit's pre-applications with their review history. State changes are
//! conditional UPDATEs, so two reviewers never both claim or decide one application.

use crate::Result;
use crate::accounts::{self, Accounts};
use crate::codes::Code;
use crate::statement::{
    all, changed_one, counts_any, execute, insert_unique, inserted_id, optional, scalar_optional,
    select, transition,
};
use exitentry_domain::states::PreApplicationState::{
    self, Approved, Draft, InReview, Submitted, SupplementRequested, Used,
};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub lang: String,
    pub verified_at: Option<i64>,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.email, a.password_hash, a.lang, a.verified_at";

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
    let sql = "INSERT INTO applicant_accounts (email, password_hash, lang, verify_token_hash, \
               verify_expires_at, failed_logins, created_at, updated_at) \
               VALUES ($1, '', $2, $3, $4, 0, $5, $5) RETURNING id";
    let binds = (email, lang, verify_token_hash, verify_expires_at, now);
    inserted_id(conn, sql, binds, "applicant account").await
}

pub async fn account_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<AccountRow>> {
    let sql = select(ACCOUNT_COLUMNS, "applicant_accounts a WHERE a.email = $1");
    optional(conn, sql, (email,)).await
}

pub async fn account_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<AccountRow>> {
    let sql = select(ACCOUNT_COLUMNS, "applicant_accounts a WHERE a.id = $1");
    optional(conn, sql, (id,)).await
}

/// Uses the link carrying this token (once, before it expires): the address is verified,
/// the password set, the lock-out lifted and the account's sessions ended. Returns the account.
pub async fn verify(
    conn: &mut AnyConnection,
    token_hash: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<i64>> {
    let sql = "UPDATE applicant_accounts SET verified_at = COALESCE(verified_at, $2), \
               verify_token_hash = NULL, password_hash = $3, failed_logins = 0, \
               locked_until = NULL, updated_at = $2 \
               WHERE verify_token_hash = $1 AND verify_expires_at > $2 RETURNING id";
    let id = scalar_optional(conn, sql, (token_hash, now, password_hash)).await?;
    if let Some(id) = id {
        let sql = "DELETE FROM applicant_sessions WHERE user_id = $1";
        execute(conn, sql, (id,)).await?;
    }
    Ok(id)
}

/// Whether a link's token is still usable.
pub async fn token_valid(conn: &mut AnyConnection, token_hash: &str, now: i64) -> Result<bool> {
    let sql = "SELECT COUNT(*) FROM applicant_accounts WHERE verify_token_hash = $1 \
               AND verify_expires_at > $2";
    counts_any(conn, sql, (token_hash, now)).await
}

/// A new link for an account (the last one sent is the one that works).
pub async fn renew_verification(
    conn: &mut AnyConnection,
    id: i64,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE applicant_accounts SET verify_token_hash = $2, verify_expires_at = $3, \
               updated_at = $4 WHERE id = $1";
    changed_one(conn, sql, (id, token_hash, expires_at, now)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub account: AccountRow,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<SessionRow>> {
    accounts::session(conn, Accounts::Applicants, ACCOUNT_COLUMNS, token_hash).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: String,
    pub reference: String,
    pub account_id: i64,
    /// `used` once the counter accepted it (`used_by` names that application).
    #[sqlx(try_from = "Code<PreApplicationState>")]
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

const COLUMNS: &str = "id, reference, account_id, status, form, id_kind, id_number, round, \
     claimed_by, submitted_at, decided_at, used_by, created_at, updated_at";

/// A new draft; `Conflict` when the account already has one in progress.
pub async fn insert(conn: &mut AnyConnection, a: &ApplicationRow) -> Result<()> {
    let sql = "INSERT INTO hrp_applications (id, reference, account_id, status, form, round, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    let binds = (
        &a.id,
        &a.reference,
        a.account_id,
        a.status.code(),
        &a.form,
        a.round,
        a.created_at,
    );
    insert_unique(conn, sql, binds, "application in progress").await
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRow>> {
    let sql = select(COLUMNS, "hrp_applications WHERE id = $1");
    optional(conn, sql, (id,)).await
}

pub async fn for_account(conn: &mut AnyConnection, account_id: i64) -> Result<Vec<ApplicationRow>> {
    let rows = "hrp_applications WHERE account_id = $1 ORDER BY created_at DESC LIMIT 50";
    all(conn, select(COLUMNS, rows), (account_id,)).await
}

/// Applications in `status`, oldest submission first (the review queue).
pub async fn with_status(
    conn: &mut AnyConnection,
    status: PreApplicationState,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let rows = "hrp_applications WHERE status = $1 ORDER BY submitted_at, id LIMIT $2";
    all(conn, select(COLUMNS, rows), (status.code(), limit)).await
}

/// Saves the form of a draft or of an application waiting for supplements.
pub async fn save_form(conn: &mut AnyConnection, id: &str, form: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE hrp_applications SET form = $2, updated_at = $3 \
               WHERE id = $1 AND status IN ($4, $5)";
    let binds = (id, form, now, Draft.code(), SupplementRequested.code());
    changed_one(conn, sql, binds).await
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
    let sql = "UPDATE hrp_applications SET status = $5, id_kind = $2, id_number = $3, \
               round = round + 1, claimed_by = NULL, submitted_at = $4, updated_at = $4 \
               WHERE id = $1 AND status IN ($6, $7)";
    let from = (Draft.code(), SupplementRequested.code());
    let binds = (
        id,
        id_kind,
        id_number,
        now,
        Submitted.code(),
        from.0,
        from.1,
    );
    changed_one(conn, sql, binds).await
}

/// A reviewer claims a submitted application: `false` when someone else was quicker.
pub async fn claim(conn: &mut AnyConnection, id: &str, reviewer: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE hrp_applications SET status = $3, claimed_by = $4, updated_at = $5 \
               WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Submitted, InReview), (reviewer, now)).await
}

/// The claiming reviewer decides: `to` is `supplement_requested`, `approved` or `rejected`.
pub async fn decide(
    conn: &mut AnyConnection,
    id: &str,
    reviewer: &str,
    to: PreApplicationState,
    now: i64,
) -> Result<bool> {
    let sql = "UPDATE hrp_applications SET status = $3, decided_at = $5, updated_at = $5 \
               WHERE id = $1 AND status = $2 AND claimed_by = $4";
    transition(conn, sql, id, (InReview, to), (reviewer, now)).await
}

/// The latest approved or used pre-application of this identity card: whether one is
/// approved now (booking, the counter) and whose account to email about the permit.
pub async fn latest_granted_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = select(
        COLUMNS,
        "hrp_applications WHERE id_kind = $1 AND id_number = $2 AND status IN ($3, $4) \
         ORDER BY decided_at DESC LIMIT 1",
    );
    let binds = (id_kind, id_number, Approved.code(), Used.code());
    optional(conn, sql, binds).await
}

/// Dialect an approved pre-application used by the centre application `by`; `false` when it
/// is no longer approved (used meanwhile by another counter).
pub async fn mark_used(conn: &mut AnyConnection, id: &str, by: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE hrp_applications SET status = $3, used_by = $4, updated_at = $5 \
               WHERE id = $1 AND status = $2";
    transition(conn, sql, id, (Approved, Used), (by, now)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    let sql = "INSERT INTO hrp_application_events (application_id, round, kind, actor, items, \
               note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let binds = (
        application_id,
        e.round,
        &e.kind,
        &e.actor,
        &e.items,
        &e.note,
        e.created_at,
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn events(conn: &mut AnyConnection, application_id: &str) -> Result<Vec<EventRow>> {
    let sql = "SELECT round, kind, actor, items, note, created_at FROM hrp_application_events \
               WHERE application_id = $1 ORDER BY id";
    all(conn, sql, (application_id,)).await
}
