//! Permit holders' sign-in: the mainland mobile number verified during an application and
//! the password chosen then. Lock-out and sessions follow the staff rules.

use crate::auth::{password_matches, random_token, token_hash};
use crate::{App, Result, ServiceError};
use chrono::Duration;
use exitentry_domain::temporary_permit::MobileNumber;
use exitentry_storage::accounts::Accounts;
use exitentry_storage::holders;

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
    crate::auth::check_password(
        app,
        Accounts::Holders,
        account.id,
        account.locked_until,
        &account.password_hash,
        password,
    )
    .await?;
    open_session(app, &account).await
}

/// Opens a session for an account whose holder has just proved who they are.
async fn open_session(
    app: &App,
    account: &holders::HolderRecord,
) -> Result<(String, HolderSession)> {
    let (token, csrf_token) = crate::auth::open_session(app, Accounts::Holders, account.id).await?;
    Ok((
        token,
        HolderSession {
            account_id: account.id,
            person_id: account.person_id,
            mobile: account.mobile.clone(),
            csrf_token,
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
    crate::auth::end_session(app, Accounts::Holders, token).await
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

/// What an applicant enters to create their sign-in.
#[derive(Debug, Clone, Default)]
pub struct SignupInput {
    pub id_kind: String,
    pub id_number: String,
    /// As on the identity card: Chinese or Latin script.
    pub name: String,
    pub mobile: String,
    pub password: String,
}

/// Minutes an SMS code of a sign-up stays valid, and tries allowed.
const SIGNUP_CODE_MINUTES: i64 = 5;
const SIGNUP_MAX_TRIES: i64 = 5;

/// Starts a sign-up: the identity must be in the registry under this name (one answer for
/// every mismatch, so the form cannot probe the registry); an SMS code goes to the mobile.
/// Returns the sign-up id for the code step.
pub async fn start_signup(app: &App, input: &SignupInput) -> Result<String> {
    use exitentry_domain::Invalid;
    let no_match = || {
        ServiceError::invalid(
            "id_number",
            Invalid::new(
                "no_matching_person",
                "nobody with this identity number and name is in the registry",
            ),
        )
    };
    let kind = exitentry_domain::ids::IdKind::parse(&input.id_kind)
        .map_err(|e| ServiceError::invalid("id_kind", e))?;
    let number = exitentry_domain::ids::IdentityNumber::parse(kind, &input.id_number, app.today())
        .map_err(|e| ServiceError::invalid("id_number", e))?;
    let mobile =
        MobileNumber::parse(&input.mobile).map_err(|e| ServiceError::invalid("mobile", e))?;
    exitentry_domain::staff::check_password_strength(&input.password)
        .map_err(|e| ServiceError::invalid("password", e))?;
    let person = {
        let mut conn = app.db.conn().await?;
        exitentry_storage::people::by_id_number(&mut conn, number.as_str())
            .await?
            .into_iter()
            .find(|p| p.person.id_kind == kind)
    };
    let Some(person) = person
        .filter(|p| exitentry_domain::temporary_permit::name_matches(&input.name, &p.person.names))
    else {
        return Err(no_match());
    };
    let hash = crate::auth::hash_password(&input.password)?;
    let id = random_token()[..24].to_string();
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let now = app.now();
    let mut tx = app.db.begin().await?;
    holders::insert_signup(
        &mut tx,
        &holders::SignupRecord {
            id: id.clone(),
            person_id: person.id,
            mobile: mobile.as_str().to_string(),
            password_hash: hash,
            code_hash: token_hash(&format!("{id}:{code}")),
            code_expires_at: (now + Duration::minutes(SIGNUP_CODE_MINUTES)).timestamp_micros(),
            attempts: 0,
            completed_at: None,
        },
        now.timestamp_micros(),
    )
    .await?;
    let sms = serde_json::json!({"to": mobile.as_str(), "text": format!(
        "【出入境】账号验证码 {code}，{SIGNUP_CODE_MINUTES} 分钟内有效。Sign-up code {code}, valid {SIGNUP_CODE_MINUTES} minutes.")});
    exitentry_storage::jobs::enqueue(
        &mut tx,
        "sms",
        &sms.to_string(),
        now.timestamp_micros(),
        now.timestamp_micros(),
    )
    .await?;
    crate::audit::record(
        app,
        &mut tx,
        &format!("signup:{id}"),
        "holder.signup_start",
        &format!("person:{}", person.person.external_id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(id)
}

/// Confirms the SMS code of a sign-up: the mobile number becomes the person's sign-in (a
/// recycled number changes hands) and a session opens.
pub async fn confirm_signup(app: &App, id: &str, code: &str) -> Result<(String, HolderSession)> {
    use exitentry_domain::Invalid;
    let bad_code =
        || ServiceError::invalid("code", Invalid::new("wrong_code", "the code is wrong"));
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let s = holders::signup(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("sign-up"))?;
    if s.completed_at.is_some() {
        return Err(ServiceError::Conflict {
            code: "already_done",
            message: "this sign-up is complete; sign in".into(),
        });
    }
    if now.timestamp_micros() > s.code_expires_at {
        return Err(ServiceError::invalid(
            "code",
            Invalid::new("code_expired", "the code has expired; start again"),
        ));
    }
    if holders::signup_attempt(&mut tx, id, SIGNUP_MAX_TRIES)
        .await?
        .is_none()
    {
        tx.commit()
            .await
            .map_err(exitentry_storage::StorageError::from)?;
        return Err(ServiceError::invalid(
            "code",
            Invalid::new("too_many_tries", "too many wrong codes; start again"),
        ));
    }
    if !crate::auth::constant_time_eq(&s.code_hash, &token_hash(&format!("{id}:{}", code.trim()))) {
        // The attempt is counted even though the code was wrong.
        tx.commit()
            .await
            .map_err(exitentry_storage::StorageError::from)?;
        return Err(bad_code());
    }
    if !holders::complete_signup(&mut tx, id, now.timestamp_micros()).await? {
        return Err(ServiceError::Conflict {
            code: "already_done",
            message: "this sign-up is complete; sign in".into(),
        });
    }
    let account_id = holders::upsert(
        &mut tx,
        &s.mobile,
        s.person_id,
        &s.password_hash,
        now.timestamp_micros(),
    )
    .await?;
    crate::audit::record(
        app,
        &mut tx,
        &format!("holder:{account_id}"),
        "holder.signup",
        &format!("holder:{account_id}"),
        serde_json::json!({"signup": id}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    let mut conn = app.db.conn().await?;
    let account = holders::by_mobile(&mut conn, &s.mobile)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    drop(conn);
    open_session(app, &account).await
}
