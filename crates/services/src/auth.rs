//! Staff accounts, login with lock-out, and database-backed sessions.

use crate::OnConflict;
use crate::tokens::{random_token, token_hash};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use chrono::{DateTime, Duration, Utc};
use exitentry_domain::office::OfficeCode;
use exitentry_domain::staff::{Permission, Role, check_password_strength, parse_username};
use exitentry_storage::accounts::{self, Accounts};
use exitentry_storage::guards::{self, Attempt};
use exitentry_storage::{AnyConnection, Result as StorageResult, from_micros, offices, staff};
use serde_json::json;
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

/// [`hash_password`] on the blocking pool, behind the same limit as password checks:
/// for requests anyone can send (sign-ups, applications).
pub async fn hash_password_off_thread(password: &str) -> Result<String> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
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
    let username = parse_username(username).at_field("username")?;
    let role = Role::parse(role).at_field("role")?;
    check_password_strength(password).at_field("password")?;
    let office = match office.filter(|o| !o.trim().is_empty()) {
        Some(o) => Some(OfficeCode::parse(o).at_field("office")?),
        None => None,
    };
    let hash = hash_password(password)?;
    let mut tx = app.db.begin().await?;
    if let Some(code) = &office
        && offices::get(&mut tx, code).await?.is_none()
    {
        return Err(ServiceError::bad_input(
            "office",
            ErrorCode::UnknownOffice,
            format!("no office {}", code.as_str()),
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
    .on_conflict(|| {
        ServiceError::conflict(
            ErrorCode::UsernameTaken,
            format!("the username {username} is taken"),
        )
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
    tx.commit().await?;
    Ok(id)
}

/// Checks the password and opens a session; returns the session token (for the cookie).
pub async fn login(app: &App, username: &str, password: &str) -> Result<(String, StaffSession)> {
    login_from(app, username, password, None)
        .await
        .map(|(token, session, _)| (token, session))
}

/// [`login`] from a client that may present a known-device token; returns the session
/// token, the session, and a device token to remember when this client was new.
pub async fn login_from(
    app: &App,
    username: &str,
    password: &str,
    device: Option<&str>,
) -> Result<(String, StaffSession, Option<String>)> {
    // A name that could never have been created is simply unknown (and never reaches SQL).
    let Ok(username) = parse_username(username) else {
        verify_password(password, None).await;
        return Err(ServiceError::BadCredentials);
    };
    let user = {
        let mut conn = app.db.conn().await?;
        staff::by_username(&mut conn, &username).await?
    };
    let account = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| (u.id, u.password_hash.as_str()));
    let checked = check_sign_in(
        app,
        SignIn {
            kind: Accounts::Staff,
            login: &username,
            account,
            device,
            password,
        },
    )
    .await?;
    let user = match (checked, user) {
        (Checked::Passed, Some(user)) => user,
        (checked, user) => {
            if let (
                Checked::Failed {
                    newly_locked: true, ..
                },
                Some(u),
            ) = (&checked, &user)
            {
                let mut tx = app.db.begin().await?;
                audit::record(
                    app,
                    &mut tx,
                    "system",
                    "staff.locked",
                    &format!("staff:{}", u.username),
                    json!({"failed_logins": app.config.security.max_failed_logins}),
                )
                .await?;
                tx.commit().await?;
            }
            tracing::warn!(user = %username, "failed staff login");
            return Err(checked.into_error());
        }
    };
    let new_device = passed_device(app, Accounts::Staff, user.id, device).await?;
    let role = Role::parse(&user.role).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (token, csrf) = open_session(app, Accounts::Staff, user.id).await?;
    let mut tx = app.db.begin().await?;
    let subject = format!("staff:{}", user.username);
    audit::record(app, &mut tx, &subject, "staff.login", &subject, json!({})).await?;
    if new_device.is_some() {
        audit::record(
            app,
            &mut tx,
            &subject,
            "staff.new_device",
            &subject,
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((
        token,
        StaffSession {
            user_id: user.id,
            username: user.username,
            role,
            office_code: user.office_code,
            csrf_token: csrf,
        },
        new_device,
    ))
}

/// A sign-in as the guard sees it.
pub(crate) struct SignIn<'a> {
    pub kind: Accounts,
    /// The normalised sign-in name (username, mobile number or email address).
    pub login: &'a str,
    /// The account's id and password hash; `None` for unknown (or disabled) names, which
    /// are guarded and timed exactly like real ones so that nothing reveals existence.
    pub account: Option<(i64, &'a str)>,
    /// The known-device token the client presented, if any.
    pub device: Option<&'a str>,
    pub password: &'a str,
}

/// What the guard decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Passed,
    /// Locked before the attempt: no password was checked.
    Locked(DateTime<Utc>),
    /// A wrong password (or no such account); `locked_until` once the limit is reached.
    Failed {
        locked_until: Option<DateTime<Utc>>,
        newly_locked: bool,
    },
}

impl Checked {
    /// The error every kind of account answers for anything but a pass.
    pub(crate) fn into_error(self) -> ServiceError {
        match self {
            Checked::Locked(until)
            | Checked::Failed {
                locked_until: Some(until),
                ..
            } => ServiceError::Locked { until },
            Checked::Passed | Checked::Failed { .. } => ServiceError::BadCredentials,
        }
    }
}

/// The guard of a sign-in: one attempt is taken atomically before the password is checked
/// (so at most `max_failed_logins` checks run per lock window, on any number of nodes), no
/// connection is held while the hash runs, and the hash runs off the async workers.
/// A client with a known-device token of this account is counted apart from strangers.
pub(crate) async fn check_sign_in(app: &App, s: SignIn<'_>) -> Result<Checked> {
    let sec = &app.config.security;
    let now = app.now();
    let account_key = format!("{}:{}", s.kind.code(), s.login);
    let key = match (s.account, s.device) {
        (Some((id, _)), Some(device)) => {
            let th = token_hash(device);
            let mut conn = app.db.conn().await?;
            if guards::device_of(&mut conn, &th, s.kind, id).await? {
                format!("{account_key}#{}", &th[..16])
            } else {
                account_key
            }
        }
        _ => account_key,
    };
    let lock_until = now + Duration::minutes(sec.lockout_minutes);
    let attempt = {
        let mut conn = app.db.conn().await?;
        guards::take_attempt(
            &mut conn,
            &key,
            sec.max_failed_logins,
            lock_until.timestamp_micros(),
            now.timestamp_micros(),
        )
        .await?
    };
    let failures = match attempt {
        Attempt::Locked { until } => return Ok(Checked::Locked(from_micros(until))),
        Attempt::Granted { failures } => failures,
    };
    if verify_password(s.password, s.account.map(|a| a.1)).await && s.account.is_some() {
        let mut conn = app.db.conn().await?;
        guards::clear(&mut conn, &key).await?;
        return Ok(Checked::Passed);
    }
    let locked = failures >= sec.max_failed_logins;
    Ok(Checked::Failed {
        locked_until: locked.then_some(lock_until),
        newly_locked: failures == sec.max_failed_logins,
    })
}

/// After a passed check: refreshes a known device, or remembers a new one and returns its
/// token for the client to keep.
pub(crate) async fn passed_device(
    app: &App,
    kind: Accounts,
    id: i64,
    device: Option<&str>,
) -> Result<Option<String>> {
    let now = app.now_micros();
    let mut conn = app.db.conn().await?;
    if let Some(d) = device {
        let th = token_hash(d);
        if guards::device_of(&mut conn, &th, kind, id).await? {
            guards::remember_device(&mut conn, &th, kind, id, now).await?;
            return Ok(None);
        }
    }
    let token = random_token();
    guards::remember_device(&mut conn, &token_hash(&token), kind, id, now).await?;
    Ok(Some(token))
}

/// Forgets sign-in guards and message windows untouched for a day, and devices unseen for a
/// year (names nobody uses
/// would otherwise pile up); returns how many rows went.
pub async fn sweep_guards(app: &App) -> Result<u64> {
    let before = (app.now() - Duration::days(1)).timestamp_micros();
    // A device unseen for a year is forgotten (its cookie has expired by then too).
    let devices_before = (app.now() - Duration::days(366)).timestamp_micros();
    let mut conn = app.db.conn().await?;
    Ok(guards::sweep(&mut conn, before).await?
        + guards::sweep_send_limits(&mut conn, before).await?
        + guards::sweep_devices(&mut conn, devices_before).await?)
}

/// Password checks in flight at once: argon2 is CPU- and memory-bound, so more than the
/// cores would only queue inside the blocking pool.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Verifies a password off the async workers (against a dummy hash when there is no
/// account, so the time taken is the same).
pub(crate) async fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    let password = password.to_string();
    let stored = stored.map(str::to_string);
    tokio::task::spawn_blocking(
        move || match stored.filter(|h| PasswordHash::new(h).is_ok()) {
            Some(h) => password_matches(&password, &h),
            // No account, or one without a password yet (an unverified applicant): the same
            // work, so the time taken tells nothing.
            None => {
                password_matches(&password, &DUMMY_HASH);
                false
            }
        },
    )
    .await
    .unwrap_or(false)
}

/// Opens a session for account `id` of `which` kind; returns the cookie token and the
/// session's CSRF token.
pub(crate) async fn open_session(app: &App, which: Accounts, id: i64) -> Result<(String, String)> {
    let now = app.now();
    let token = random_token();
    let csrf = random_token();
    let expires = now + Duration::hours(app.config.security.session_max_hours);
    let mut conn = app.db.conn().await?;
    accounts::create_session(
        &mut conn,
        which,
        &token_hash(&token),
        id,
        &csrf,
        now.timestamp_micros(),
        expires.timestamp_micros(),
    )
    .await?;
    Ok((token, csrf))
}

/// A stored session as its limits see it.
pub(crate) trait StoredSession {
    /// When it was last seen and when it ends at the latest (microseconds).
    fn times(&self) -> (i64, i64);
}

impl StoredSession for staff::SessionRecord {
    fn times(&self) -> (i64, i64) {
        (self.last_seen_at, self.expires_at)
    }
}

impl StoredSession for exitentry_storage::holders::HolderSessionRecord {
    fn times(&self) -> (i64, i64) {
        (self.last_seen_at, self.expires_at)
    }
}

impl StoredSession for exitentry_storage::pre_applications::SessionRow {
    fn times(&self) -> (i64, i64) {
        (self.last_seen_at, self.expires_at)
    }
}

/// The session behind a cookie token as `find` reads it, if the idle and absolute limits
/// keep it alive: an ended one is deleted, a live one's last-seen time refreshed (at most
/// once a minute: a write per request would serialise SQLite).
pub(crate) async fn live_session<S: StoredSession>(
    app: &App,
    kind: Accounts,
    token: &str,
    find: impl AsyncFn(&mut AnyConnection, &str) -> StorageResult<Option<S>>,
) -> Result<Option<S>> {
    let th = token_hash(token);
    let mut conn = app.db.conn().await?;
    let Some(s) = find(&mut conn, &th).await? else {
        return Ok(None);
    };
    let (last_seen_at, expires_at) = s.times();
    let now = app.now_micros();
    let idle_limit = Duration::minutes(app.config.security.session_idle_minutes)
        .num_microseconds()
        .unwrap_or(i64::MAX);
    if now >= expires_at || now - last_seen_at > idle_limit {
        accounts::delete_session(&mut conn, kind, &th).await?;
        return Ok(None);
    }
    if now - last_seen_at > 60_000_000 {
        accounts::touch_session(&mut conn, kind, &th, now).await?;
    }
    Ok(Some(s))
}

/// The session behind a cookie token, if it is still alive (idle and absolute limits).
pub async fn session(app: &App, token: &str) -> Result<Option<StaffSession>> {
    // A disabled account's sessions are left as they are and read as none.
    let enabled = async |c: &mut AnyConnection, th: &str| {
        Ok(staff::session(c, th).await?.filter(|s| !s.user.disabled))
    };
    let Some(s) = live_session(app, Accounts::Staff, token, enabled).await? else {
        return Ok(None);
    };
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

/// Lifts a staff account's lock (strangers' failures), for an administrator or the
/// operator (`actor`), audited. The account's known devices were never locked.
pub async fn unlock_staff(app: &App, actor: &str, username: &str) -> Result<()> {
    let username = parse_username(username).at_field("username")?;
    let mut tx = app.db.begin().await?;
    if staff::by_username(&mut tx, &username).await?.is_none() {
        return Err(ServiceError::NotFound("staff"));
    }
    guards::clear(&mut tx, &format!("staff:{username}")).await?;
    let subject = format!("staff:{username}");
    audit::record(app, &mut tx, actor, "staff.unlocked", &subject, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// [`unlock_staff`] by a signed-in administrator.
pub async fn unlock_by_admin(app: &App, who: &StaffSession, username: &str) -> Result<()> {
    who.require(Permission::ManageStaff)?;
    unlock_staff(app, &who.actor(), username).await
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
    let mut out = Vec::new();
    for u in staff::list(&mut conn).await? {
        let key = format!("staff:{}", u.username);
        let locked = guards::locked_until(&mut conn, &key, now).await?.is_some();
        out.push(StaffSummary {
            username: u.username,
            role: u.role,
            office_code: u.office_code,
            locked,
        });
    }
    Ok(out)
}
