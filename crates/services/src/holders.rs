//! Permit holders' sign-in: the mainland mobile number verified during an application and
//! the password chosen then. Lock-out and sessions follow the staff rules.

use crate::auth::{password_matches, random_token, token_hash};
use crate::{App, Result, ServiceError};
use chrono::Duration;
use exitentry_domain::temporary_permit::MobileNumber;
use exitentry_storage::accounts::{self, Accounts};
use exitentry_storage::{from_micros, holders};

/// The signed-in holder behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSession {
    pub account_id: i64,
    pub person_id: i64,
    pub mobile: String,
    pub csrf_token: String,
}

impl HolderSession {
    pub fn actor(&self) -> String {
        format!("holder:{}", self.account_id)
    }

    /// The number with the middle digits hidden, for page headers.
    pub fn masked_mobile(&self) -> String {
        let m = &self.mobile;
        if m.len() == 11 {
            format!("{}****{}", &m[..3], &m[7..])
        } else {
            m.clone()
        }
    }
}

/// Checks mobile number and password and opens a session; returns the cookie token.
pub async fn login(app: &App, mobile: &str, password: &str) -> Result<(String, HolderSession)> {
    let sec = &app.config.security;
    let now = app.now();
    let Ok(mobile) = MobileNumber::parse(mobile) else {
        password_matches(password, &crate::auth::DUMMY_HASH);
        return Err(ServiceError::BadCredentials);
    };
    let mut conn = app.db.conn().await?;
    let Some(account) = holders::by_mobile(&mut conn, mobile.as_str()).await? else {
        password_matches(password, &crate::auth::DUMMY_HASH);
        return Err(ServiceError::BadCredentials);
    };
    drop(conn);
    if let Some(until) = account.locked_until.map(from_micros)
        && until > now
    {
        return Err(ServiceError::Locked { until });
    }
    if !password_matches(password, &account.password_hash) {
        let lock_until = now + Duration::minutes(sec.lockout_minutes);
        let mut conn = app.db.conn().await?;
        let failures = accounts::record_failure(
            &mut conn,
            Accounts::Holders,
            account.id,
            sec.max_failed_logins,
            lock_until.timestamp_micros(),
            now.timestamp_micros(),
        )
        .await?;
        if failures >= sec.max_failed_logins {
            return Err(ServiceError::Locked { until: lock_until });
        }
        return Err(ServiceError::BadCredentials);
    }
    let token = random_token();
    let csrf = random_token();
    let expires = now + Duration::hours(sec.session_max_hours);
    let mut tx = app.db.begin().await?;
    accounts::record_success(
        &mut tx,
        Accounts::Holders,
        account.id,
        now.timestamp_micros(),
    )
    .await?;
    accounts::create_session(
        &mut tx,
        Accounts::Holders,
        &token_hash(&token),
        account.id,
        &csrf,
        now.timestamp_micros(),
        expires.timestamp_micros(),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok((
        token,
        HolderSession {
            account_id: account.id,
            person_id: account.person_id,
            mobile: account.mobile,
            csrf_token: csrf,
        },
    ))
}

/// The session behind a cookie token, if it is still alive (idle and absolute limits).
pub async fn session(app: &App, token: &str) -> Result<Option<HolderSession>> {
    let th = token_hash(token);
    let mut conn = app.db.conn().await?;
    let Some(s) = holders::session(&mut conn, &th).await? else {
        return Ok(None);
    };
    if !crate::auth::keep_alive(
        app,
        &mut conn,
        Accounts::Holders,
        &th,
        s.last_seen_at,
        s.expires_at,
    )
    .await?
    {
        return Ok(None);
    }
    Ok(Some(HolderSession {
        account_id: s.account.id,
        person_id: s.account.person_id,
        mobile: s.account.mobile,
        csrf_token: s.csrf_token,
    }))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    let mut conn = app.db.conn().await?;
    accounts::delete_session(&mut conn, Accounts::Holders, &token_hash(token)).await?;
    Ok(())
}

/// Creates (or hands over) the sign-in of the person with this identity number, for
/// operators and the demo: the mobile number is taken as verified. Returns the account id.
pub async fn create_for_identity(
    app: &App,
    actor: &str,
    id_number: &str,
    mobile: &str,
    password: &str,
) -> Result<i64> {
    let mobile = MobileNumber::parse(mobile).map_err(|e| ServiceError::invalid("mobile", e))?;
    exitentry_domain::staff::check_password_strength(password)
        .map_err(|e| ServiceError::invalid("password", e))?;
    let hash = crate::auth::hash_password(password)?;
    let mut tx = app.db.begin().await?;
    let found =
        exitentry_storage::people::by_id_number(&mut tx, &id_number.trim().to_ascii_uppercase())
            .await?;
    let [person] = found.as_slice() else {
        return Err(ServiceError::NotFound("person"));
    };
    let id = holders::upsert(&mut tx, mobile.as_str(), person.id, &hash, app.now_micros()).await?;
    crate::audit::record(
        app,
        &mut tx,
        actor,
        "holder.create",
        &format!("holder:{id}"),
        serde_json::json!({"person": person.person.external_id}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(id)
}
