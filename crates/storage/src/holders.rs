//! Permit holders' accounts (mobile number + password) and their sessions.

use crate::Result;
use crate::accounts::{self, Accounts};
use crate::statement::{changed_one, execute, optional, scalar, scalar_optional, scalars, select};
use exitentry_domain::states::TemporaryPermitApplicationState;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HolderRecord {
    pub id: i64,
    pub mobile: String,
    pub person_id: i64,
    pub password_hash: String,
}

const ACCOUNT_COLUMNS: &str = "a.id, a.mobile, a.person_id, a.password_hash";

/// What binding a sign-in to a person changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub account_id: i64,
    /// The person's previous sign-in (id, mobile), now replaced: its sessions and devices
    /// are gone.
    pub replaced: Option<(i64, String)>,
    /// Another person's account that had this mobile number (id, person); a recycled number
    /// changes hands, so that account is closed.
    pub number_taken_from: Option<(i64, i64)>,
    /// The person's sign-in kept its number and only took the new password.
    pub password_changed: bool,
}

/// Makes `mobile` + password the one sign-in of `person_id`, after both the number (SMS)
/// and the person (face check) were proved. One person, one account: an existing account of
/// the person is updated in place and its sessions end; another person's account holding the
/// number is closed.
///
/// With `keep_same_number`, a sign-in that already has this number only takes the new
/// password and keeps its sessions and devices (a holder applying again is not signed out).
pub async fn bind(
    conn: &mut AnyConnection,
    mobile: &str,
    person_id: i64,
    password_hash: &str,
    now: i64,
    keep_same_number: bool,
) -> Result<Bound> {
    let sql = "SELECT id, person_id FROM holder_accounts WHERE mobile = $1 AND person_id <> $2";
    let other: Option<(i64, i64)> = optional(conn, sql, (mobile, person_id)).await?;
    if let Some((id, _)) = other {
        close(conn, id).await?;
    }
    let sql = "SELECT id, mobile FROM holder_accounts WHERE person_id = $1";
    let own: Option<(i64, String)> = optional(conn, sql, (person_id,)).await?;
    if let Some((id, old_mobile)) = own {
        let same = old_mobile == mobile;
        if !(same && keep_same_number) {
            end_sign_ins(conn, id).await?;
        }
        let sql = "UPDATE holder_accounts SET mobile = $2, password_hash = $3, updated_at = $4 \
                   WHERE id = $1";
        execute(conn, sql, (id, mobile, password_hash, now)).await?;
        let password_changed = same && keep_same_number;
        return Ok(Bound {
            account_id: id,
            replaced: (!password_changed).then_some((id, old_mobile)),
            number_taken_from: other,
            password_changed,
        });
    }
    let sql = "INSERT INTO holder_accounts (mobile, person_id, password_hash, failed_logins, \
               created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $4) RETURNING id";
    let id = scalar(conn, sql, (mobile, person_id, password_hash, now)).await?;
    Ok(Bound {
        account_id: id,
        replaced: None,
        number_taken_from: other,
        password_changed: false,
    })
}

/// Ends every session of an account and forgets its devices.
async fn end_sign_ins(conn: &mut AnyConnection, id: i64) -> Result<()> {
    let sql = "DELETE FROM holder_sessions WHERE user_id = $1";
    execute(conn, sql, (id,)).await?;
    crate::guards::forget_devices(conn, Accounts::Holders, id).await
}

/// Closes an account: its sessions, devices and the account itself.
async fn close(conn: &mut AnyConnection, id: i64) -> Result<()> {
    end_sign_ins(conn, id).await?;
    execute(conn, "DELETE FROM holder_accounts WHERE id = $1", (id,)).await?;
    Ok(())
}

/// The sign-in of a person, if they have one.
pub async fn by_person(conn: &mut AnyConnection, person_id: i64) -> Result<Option<HolderRecord>> {
    let sql = select(ACCOUNT_COLUMNS, "holder_accounts a WHERE a.person_id = $1");
    optional(conn, sql, (person_id,)).await
}

pub async fn by_mobile(conn: &mut AnyConnection, mobile: &str) -> Result<Option<HolderRecord>> {
    let sql = select(ACCOUNT_COLUMNS, "holder_accounts a WHERE a.mobile = $1");
    optional(conn, sql, (mobile,)).await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HolderSessionRecord {
    #[sqlx(flatten)]
    pub account: HolderRecord,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn session(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<HolderSessionRecord>> {
    accounts::session(conn, Accounts::Holders, ACCOUNT_COLUMNS, token_hash).await
}

/// A sign-up waiting for its SMS code.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignupRecord {
    pub id: String,
    pub person_id: i64,
    pub mobile: String,
    pub password_hash: String,
    pub code_hash: String,
    pub code_expires_at: i64,
    pub attempts: i64,
    pub completed_at: Option<i64>,
    /// Set once the SMS code was right; the face check comes next.
    pub code_confirmed_at: Option<i64>,
    pub face_attempts: i64,
    /// SHA-256 of the cookie of the browser that started the sign-up.
    pub browser_hash: String,
}

pub async fn insert_signup(conn: &mut AnyConnection, s: &SignupRecord, now: i64) -> Result<()> {
    let sql = "INSERT INTO holder_signups (id, person_id, mobile, password_hash, code_hash, \
               code_expires_at, attempts, created_at, browser_hash) \
               VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)";
    let binds = (
        &s.id,
        s.person_id,
        &s.mobile,
        &s.password_hash,
        &s.code_hash,
        s.code_expires_at,
        now,
        &s.browser_hash,
    );
    execute(conn, sql, binds).await?;
    Ok(())
}

pub async fn signup(conn: &mut AnyConnection, id: &str) -> Result<Option<SignupRecord>> {
    let sql = "SELECT id, person_id, mobile, password_hash, code_hash, code_expires_at, attempts, \
               completed_at, code_confirmed_at, face_attempts, browser_hash FROM holder_signups \
               WHERE id = $1";
    optional(conn, sql, (id,)).await
}

/// Counts a code attempt; returns the attempts so far, or `None` once `max` are used up.
pub async fn signup_attempt(conn: &mut AnyConnection, id: &str, max: i64) -> Result<Option<i64>> {
    let sql = "UPDATE holder_signups SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 \
               AND completed_at IS NULL RETURNING attempts";
    scalar_optional(conn, sql, (id, max)).await
}

/// Dialect the sign-up done; `false` if it already was (so one code makes one account).
pub async fn complete_signup(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE holder_signups SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL";
    changed_one(conn, sql, (id, now)).await
}

/// Records the right SMS code; `false` if it already was (or the sign-up is complete).
pub async fn confirm_code(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let sql = "UPDATE holder_signups SET code_confirmed_at = $2 WHERE id = $1 \
               AND code_confirmed_at IS NULL AND completed_at IS NULL";
    changed_one(conn, sql, (id, now)).await
}

/// Counts a face check of a sign-up; `None` once `max` are used up (taken before the
/// provider is asked, so concurrent photos cannot exceed it).
pub async fn face_attempt(conn: &mut AnyConnection, id: &str, max: i64) -> Result<Option<i64>> {
    let sql = "UPDATE holder_signups SET face_attempts = face_attempts + 1 WHERE id = $1 \
               AND face_attempts < $2 AND code_confirmed_at IS NOT NULL AND completed_at IS NULL \
               RETURNING face_attempts";
    scalar_optional(conn, sql, (id, max)).await
}

/// Mobile numbers the person proved before (temporary permits issued, sign-ups completed):
/// told when their sign-in changes, since the registry holds no contact of its own.
pub async fn known_mobiles(conn: &mut AnyConnection, person_id: i64) -> Result<Vec<String>> {
    let sql = "SELECT mobile FROM temporary_permit_applications WHERE person_id = $1 \
               AND state = $2 UNION SELECT mobile FROM holder_signups WHERE person_id = $1 \
               AND completed_at IS NOT NULL";
    let issued = TemporaryPermitApplicationState::Issued;
    scalars(conn, sql, (person_id, issued.code())).await
}
