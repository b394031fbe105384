//! Staff accounts, login with lock-out, and database-backed sessions.

use crate::{App, Result, ServiceError, audit};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use chrono::Duration;
use exitentry_domain::office::OfficeCode;
use exitentry_domain::staff::{Permission, Role, check_password_strength, parse_username};
use exitentry_storage::accounts::{self, Accounts};
use exitentry_storage::{from_micros, offices, staff};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The signed-in staff member behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub office_code: Option<String>,
    /// Double-submit value every state-changing form must echo.
    pub csrf_token: String,
}

impl StaffSession {
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    pub fn actor(&self) -> String {
        format!("staff:{}", self.username)
    }
}

/// A random 256-bit token, hex encoded.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
}

pub(crate) fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifying against this when the user does not exist keeps the response time the same,
/// so timing does not reveal which usernames exist.
pub(crate) static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("dummy password for timing").unwrap_or_default());

/// Creates a staff account; `actor` is who did it (an admin, or `cli` for the operator).
pub async fn create_staff(
    app: &App,
    actor: &str,
    username: &str,
    password: &str,
    role: &str,
    office: Option<&str>,
) -> Result<i64> {
    let username = parse_username(username).map_err(|e| ServiceError::invalid("username", e))?;
    let role = Role::parse(role).map_err(|e| ServiceError::invalid("role", e))?;
    check_password_strength(password).map_err(|e| ServiceError::invalid("password", e))?;
    let office = match office.filter(|o| !o.trim().is_empty()) {
        Some(o) => Some(OfficeCode::parse(o).map_err(|e| ServiceError::invalid("office", e))?),
        None => None,
    };
    let hash = hash_password(password)?;
    let mut tx = app.db.begin().await?;
    if let Some(code) = &office
        && offices::get(&mut tx, code).await?.is_none()
    {
        return Err(ServiceError::invalid(
            "office",
            exitentry_domain::Invalid::new(
                "unknown_office",
                format!("no office {}", code.as_str()),
            ),
        ));
    }
    let id = staff::create(
        &mut tx,
        &username,
        &hash,
        role.code(),
        office.as_ref().map(|o| o.as_str()),
        app.now_micros(),
    )
    .await
    .map_err(|e| match e {
        exitentry_storage::StorageError::Conflict(_) => ServiceError::Conflict {
            code: "username_taken",
            message: format!("the username {username} is taken"),
        },
        other => other.into(),
    })?;
    let entry = audit::AuditEntry {
        actor: actor.to_string(),
        action: "staff.create".into(),
        subject: format!("staff:{username}"),
        before_ref: None,
        after_ref: Some(format!("staff_users:{id}")),
        detail: String::new(),
    };
    let detail = json!({"role": role.code(), "office": office.as_ref().map(|o| o.as_str())});
    audit::record_change(app, &mut tx, entry, detail).await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(id)
}

/// Checks the password and opens a session; returns the session token (for the cookie).
pub async fn login(app: &App, username: &str, password: &str) -> Result<(String, StaffSession)> {
    let sec = &app.config.security;
    let now = app.now();
    // A name that could never have been created is simply unknown (and never reaches SQL).
    let Ok(username) = parse_username(username) else {
        password_matches(password, &DUMMY_HASH);
        return Err(ServiceError::BadCredentials);
    };
    let mut conn = app.db.conn().await?;
    let user = staff::by_username(&mut conn, &username).await?;
    let Some(user) = user else {
        password_matches(password, &DUMMY_HASH);
        return Err(ServiceError::BadCredentials);
    };
    if let Some(until) = user.locked_until.map(from_micros)
        && until > now
    {
        return Err(ServiceError::Locked { until });
    }
    if user.disabled || !password_matches(password, &user.password_hash) {
        let lock_until = now + Duration::minutes(sec.lockout_minutes);
        let mut tx = app.db.begin().await?;
        let failures = accounts::record_failure(
            &mut tx,
            Accounts::Staff,
            user.id,
            sec.max_failed_logins,
            lock_until.timestamp_micros(),
            now.timestamp_micros(),
        )
        .await?;
        if failures == sec.max_failed_logins {
            audit::record(
                app,
                &mut tx,
                "system",
                "staff.locked",
                &format!("staff:{}", user.username),
                json!({"failed_logins": failures}),
            )
            .await?;
        }
        tx.commit()
            .await
            .map_err(exitentry_storage::StorageError::from)?;
        tracing::warn!(user = %user.username, failures, "failed staff login");
        if failures >= sec.max_failed_logins {
            return Err(ServiceError::Locked { until: lock_until });
        }
        return Err(ServiceError::BadCredentials);
    }
    let role = Role::parse(&user.role).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let token = random_token();
    let csrf = random_token();
    let expires = now + Duration::hours(sec.session_max_hours);
    let mut tx = app.db.begin().await?;
    accounts::record_success(&mut tx, Accounts::Staff, user.id, now.timestamp_micros()).await?;
    accounts::create_session(
        &mut tx,
        Accounts::Staff,
        &token_hash(&token),
        user.id,
        &csrf,
        now.timestamp_micros(),
        expires.timestamp_micros(),
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &format!("staff:{}", user.username),
        "staff.login",
        &format!("staff:{}", user.username),
        json!({}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok((
        token,
        StaffSession {
            user_id: user.id,
            username: user.username,
            role,
            office_code: user.office_code,
            csrf_token: csrf,
        },
    ))
}

/// The password check of holders' and applicants' accounts (staff add an audit entry on
/// lock-out): a running lock refuses at once; a wrong password counts a failure and locks
/// the account once the configured number is reached.
pub(crate) async fn check_password(
    app: &App,
    which: Accounts,
    id: i64,
    locked_until: Option<i64>,
    password_hash: &str,
    password: &str,
) -> Result<()> {
    let sec = &app.config.security;
    let now = app.now();
    if let Some(until) = locked_until.map(from_micros)
        && until > now
    {
        return Err(ServiceError::Locked { until });
    }
    if password_matches(password, password_hash) {
        return Ok(());
    }
    let lock_until = now + Duration::minutes(sec.lockout_minutes);
    let mut conn = app.db.conn().await?;
    let failures = accounts::record_failure(
        &mut conn,
        which,
        id,
        sec.max_failed_logins,
        lock_until.timestamp_micros(),
        now.timestamp_micros(),
    )
    .await?;
    if failures >= sec.max_failed_logins {
        return Err(ServiceError::Locked { until: lock_until });
    }
    Err(ServiceError::BadCredentials)
}

/// Opens a session for account `id` of `which` kind (its failures cleared); returns the
/// cookie token and the session's CSRF token.
pub(crate) async fn open_session(app: &App, which: Accounts, id: i64) -> Result<(String, String)> {
    let now = app.now();
    let token = random_token();
    let csrf = random_token();
    let expires = now + Duration::hours(app.config.security.session_max_hours);
    let mut tx = app.db.begin().await?;
    accounts::record_success(&mut tx, which, id, now.timestamp_micros()).await?;
    accounts::create_session(
        &mut tx,
        which,
        &token_hash(&token),
        id,
        &csrf,
        now.timestamp_micros(),
        expires.timestamp_micros(),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok((token, csrf))
}

/// Applies the idle and absolute limits to a session: ends it (false) or refreshes its
/// last-seen time (at most once a minute: a write per request would serialise SQLite).
pub(crate) async fn keep_alive(
    app: &App,
    conn: &mut exitentry_storage::AnyConnection,
    kind: Accounts,
    token_hash: &str,
    last_seen_at: i64,
    expires_at: i64,
) -> Result<bool> {
    let now = app.now_micros();
    let idle_limit = Duration::minutes(app.config.security.session_idle_minutes)
        .num_microseconds()
        .unwrap_or(i64::MAX);
    if now >= expires_at || now - last_seen_at > idle_limit {
        accounts::delete_session(conn, kind, token_hash).await?;
        return Ok(false);
    }
    if now - last_seen_at > 60_000_000 {
        accounts::touch_session(conn, kind, token_hash, now).await?;
    }
    Ok(true)
}

/// The session behind a cookie token, if it is still alive (idle and absolute limits).
pub async fn session(app: &App, token: &str) -> Result<Option<StaffSession>> {
    let th = token_hash(token);
    let mut conn = app.db.conn().await?;
    let Some(s) = staff::session(&mut conn, &th).await? else {
        return Ok(None);
    };
    if s.user.disabled
        || !keep_alive(
            app,
            &mut conn,
            Accounts::Staff,
            &th,
            s.last_seen_at,
            s.expires_at,
        )
        .await?
    {
        return Ok(None);
    }
    let role = Role::parse(&s.user.role).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Some(StaffSession {
        user_id: s.user.id,
        username: s.user.username,
        role,
        office_code: s.user.office_code,
        csrf_token: s.csrf_token,
    }))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    end_session(app, Accounts::Staff, token).await
}

/// Ends the session behind a cookie token of `which` kind of account (signing out).
pub(crate) async fn end_session(app: &App, which: Accounts, token: &str) -> Result<()> {
    let mut conn = app.db.conn().await?;
    accounts::delete_session(&mut conn, which, &token_hash(token)).await?;
    Ok(())
}

/// Staff accounts for the admin page (never the password hashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSummary {
    pub username: String,
    pub role: String,
    pub office_code: Option<String>,
    pub locked: bool,
}

pub async fn list_staff(app: &App, who: &StaffSession) -> Result<Vec<StaffSummary>> {
    who.require(Permission::ManageStaff)?;
    let now = app.now_micros();
    let mut conn = app.db.conn().await?;
    Ok(staff::list(&mut conn)
        .await?
        .into_iter()
        .map(|u| StaffSummary {
            username: u.username,
            role: u.role,
            office_code: u.office_code,
            locked: u.locked_until.is_some_and(|t| t > now),
        })
        .collect())
}
