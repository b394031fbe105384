//! Permit holders' sign-in: a mainland mobile number and a password, bound to one person of
//! the registry only after the person was proved (a face check against the registry, by the
//! web sign-up or a temporary e-permit application), never by the phone alone. One person,
//! one sign-in; replacing it ends the old sessions and tells the old number. Lock-out and
//! sessions follow the staff rules.

use crate::OnConflict;
use crate::auth::{Checked, SignIn};
use crate::providers::FaceSubject;
use crate::records;
use crate::tokens::{random_token, token_hash};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::Duration;
use exitentry_domain::temporary_permit::MobileNumber;
use exitentry_storage::accounts::Accounts;
use exitentry_storage::{AnyConnection, holders};
use serde_json::json;

mod overview;
pub use overview::{CentreApplicationView, HolderRecords, Offers, records};

/// The signed-in holder behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSession {
    pub account_id: i64,
    pub person_id: i64,
    pub mobile: String,
    pub csrf_token: String,
}

impl HolderSession {
    /// The session of `account` whose requests carry `csrf_token`.
    fn of(account: &holders::HolderRecord, csrf_token: String) -> Self {
        HolderSession {
            account_id: account.id,
            person_id: account.person_id,
            mobile: account.mobile.clone(),
            csrf_token,
        }
    }

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
    login_from(app, mobile, password, None)
        .await
        .map(|(token, session, _)| (token, session))
}

/// [`login`] from a client that may present a known-device token; a new device is audited
/// on the person and its token returned for the client to keep.
pub async fn login_from(
    app: &App,
    mobile: &str,
    password: &str,
    device: Option<&str>,
) -> Result<(String, HolderSession, Option<String>)> {
    let Ok(mobile) = MobileNumber::parse(mobile) else {
        crate::auth::verify_password(password, None).await;
        return Err(ServiceError::BadCredentials);
    };
    let account = {
        let mut conn = app.db.conn().await?;
        holders::by_mobile(&mut conn, mobile.as_str()).await?
    };
    let checked = crate::auth::check_sign_in(
        app,
        SignIn {
            kind: Accounts::Holders,
            login: mobile.as_str(),
            account: account.as_ref().map(|a| (a.id, a.password_hash.as_str())),
            device,
            password,
        },
    )
    .await?;
    let Some(account) = account.filter(|_| checked == Checked::Passed) else {
        return Err(checked.into_error());
    };
    let new_device = crate::auth::passed_device(app, Accounts::Holders, account.id, device).await?;
    if new_device.is_some() {
        let mut tx = app.db.begin().await?;
        let subject = person_subject(&mut tx, account.person_id).await?;
        audit::record(
            app,
            &mut tx,
            &format!("holder:{}", account.id),
            "holder.new_device",
            &subject,
            json!({"mobile": mask(&account.mobile)}),
        )
        .await?;
        tx.commit().await?;
    }
    let (token, session) = open_session(app, &account).await?;
    Ok((token, session, new_device))
}

/// The audit subject of a person (what the officer's person page reads).
async fn person_subject(conn: &mut AnyConnection, person_id: i64) -> Result<String> {
    let p = records::person(conn, person_id).await?;
    Ok(format!("person:{}", p.person.external_id))
}

/// A mobile number with its middle digits hidden.
fn mask(m: &str) -> String {
    if m.len() == 11 {
        format!("{}****{}", &m[..3], &m[7..])
    } else {
        "*".repeat(m.len())
    }
}

/// Audits a step of sign-up `id` on the person it is for (`person:<external id>`), with the
/// mobile number masked.
async fn audit_signup(
    app: &App,
    tx: &mut AnyConnection,
    (id, step): (&str, &str),
    subject: &str,
    mobile: &str,
) -> Result<()> {
    let detail = json!({"mobile": mask(mobile)});
    audit::record(app, tx, &format!("signup:{id}"), step, subject, detail).await
}

/// How a binding was proved, for the audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// SMS code and face check of the web sign-up.
    SignupFace,
    /// SMS code and face check of a temporary e-permit application.
    TemporaryPermit,
    /// An operator (CLI, demo seeding) who checked the person in person.
    Operator,
}

impl Proof {
    fn code(self) -> &'static str {
        match self {
            Proof::SignupFace => "sms_and_face",
            Proof::TemporaryPermit => "temporary_permit_face",
            Proof::Operator => "operator",
        }
    }
}

/// Binds `mobile` + password as the one sign-in of `person_id` (after the person was
/// proved), in the caller's transaction: audits it on the person and tells the previous
/// mobile of the person's sign-in that it was replaced.
pub(crate) async fn bind_person(
    app: &App,
    tx: &mut AnyConnection,
    actor: &str,
    mobile: &str,
    person_id: i64,
    password_hash: &str,
    proof: Proof,
) -> Result<i64> {
    let now = app.now_micros();
    // Told of the change: numbers the person proved before, read before this binding.
    let known = holders::known_mobiles(tx, person_id).await?;
    let keep_same_number = proof == Proof::TemporaryPermit;
    let bound = holders::bind(tx, mobile, person_id, password_hash, now, keep_same_number)
        .await
        .on_conflict(|| {
            ServiceError::conflict(
                ErrorCode::SignupInProgress,
                "another sign-up for this person finished at the same moment; sign in",
            )
        })?;
    let subject = person_subject(tx, person_id).await?;
    let action = if bound.password_changed {
        "holder.password_changed"
    } else if bound.replaced.is_some() {
        "holder.sign_in_replaced"
    } else {
        "holder.bound"
    };
    audit::record(
        app,
        tx,
        actor,
        action,
        &subject,
        json!({
            "account": bound.account_id,
            "mobile": mask(mobile),
            "proof": proof.code(),
            "previous_mobile": bound.replaced.as_ref().map(|(_, m)| mask(m)),
            "number_taken_from_account": bound.number_taken_from.map(|(id, _)| id),
        }),
    )
    .await?;
    if let Some((old_id, other_person)) = bound.number_taken_from {
        let other = person_subject(tx, other_person).await?;
        audit::record(
            app,
            tx,
            actor,
            "holder.closed_number_reassigned",
            &other,
            json!({"account": old_id, "mobile": mask(mobile)}),
        )
        .await?;
    }
    // Every other number the person used hears of a new sign-in, so a takeover never goes
    // unnoticed: the replaced sign-in's number and those proved in earlier journeys.
    let mut tell: Vec<String> = bound.replaced.iter().map(|(_, m)| m.clone()).collect();
    tell.extend(known);
    tell.sort();
    tell.dedup();
    tell.retain(|m| m != mobile);
    if !bound.password_changed {
        let when = (app.now() + Duration::hours(8)).format("%Y-%m-%d %H:%M");
        for old_mobile in tell {
            let sms = json!({"to": old_mobile, "text": format!(
                "【出入境】您的出入境账号登录方式已于 {when} 设为手机 {new}，原登录已失效。如非本人操作，请致电 12367。\
                 Your exit-entry sign-in was set to mobile {new} on {when} (Beijing time); any earlier sign-in has ended. \
                 If this was not you, call 12367.", new = mask(mobile))});
            exitentry_storage::jobs::enqueue(tx, "sms", &sms.to_string(), now, now).await?;
        }
    }
    Ok(bound.account_id)
}

/// Opens a session for an account whose holder has just proved who they are.
async fn open_session(
    app: &App,
    account: &holders::HolderRecord,
) -> Result<(String, HolderSession)> {
    let (token, csrf_token) = crate::auth::open_session(app, Accounts::Holders, account.id).await?;
    Ok((token, HolderSession::of(account, csrf_token)))
}

/// The session behind a cookie token, if it is still alive (idle and absolute limits).
pub async fn session(app: &App, token: &str) -> Result<Option<HolderSession>> {
    let live = crate::auth::live_session(app, Accounts::Holders, token, holders::session).await?;
    Ok(live.map(|s| HolderSession::of(&s.account, s.csrf_token)))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    crate::auth::end_session(app, Accounts::Holders, token).await
}

/// Creates (or replaces) the sign-in of the person with this identity number, for
/// operators and the demo, who have checked the person themselves; the mobile number is
/// taken as verified. Returns the account id.
pub async fn create_for_identity(
    app: &App,
    actor: &str,
    id_number: &str,
    mobile: &str,
    password: &str,
) -> Result<i64> {
    let mobile = MobileNumber::parse(mobile).at_field("mobile")?;
    exitentry_domain::staff::check_password_strength(password).at_field("password")?;
    let hash = crate::auth::hash_password(password)?;
    let mut tx = app.db.begin().await?;
    let found =
        exitentry_storage::people::by_id_number(&mut tx, &id_number.trim().to_ascii_uppercase())
            .await?;
    let [person] = found.as_slice() else {
        return Err(ServiceError::NotFound("person"));
    };
    let id = bind_person(
        app,
        &mut tx,
        actor,
        mobile.as_str(),
        person.id,
        &hash,
        Proof::Operator,
    )
    .await?;
    tx.commit().await?;
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
    /// The language of the SMS code (the page's).
    pub lang: crate::email::Lang,
}

/// Minutes an SMS code of a sign-up stays valid, and tries allowed.
const SIGNUP_CODE_MINUTES: i64 = 5;
const SIGNUP_MAX_TRIES: i64 = 5;
/// Minutes after the code was sent within which the face check must pass, and its tries.
const SIGNUP_FACE_MINUTES: i64 = 15;
pub const SIGNUP_MAX_FACE_TRIES: i64 = 3;

/// Starts a sign-up: the identity must be in the registry under this name (one answer for
/// every mismatch, so the form cannot probe the registry); an SMS code goes to the mobile.
/// Returns the sign-up id for the code step and the browser token that alone may continue
/// it (kept in a cookie). Nothing is bound yet.
pub async fn start_signup(app: &App, input: &SignupInput) -> Result<(String, String)> {
    let no_match = || {
        ServiceError::bad_input(
            "id_number",
            ErrorCode::NoMatchingPerson,
            "nobody with this identity number and name is in the registry",
        )
    };
    app.providers.sms()?;
    let kind = exitentry_domain::ids::IdKind::parse(&input.id_kind).at_field("id_kind")?;
    let number = exitentry_domain::ids::IdentityNumber::parse(kind, &input.id_number, app.today())
        .at_field("id_number")?;
    let mobile = MobileNumber::parse(&input.mobile).at_field("mobile")?;
    exitentry_domain::staff::check_password_strength(&input.password).at_field("password")?;
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
    let hash = crate::auth::hash_password_off_thread(&input.password).await?;
    let id = random_token()[..24].to_string();
    let browser = random_token();
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
            code_confirmed_at: None,
            face_attempts: 0,
            browser_hash: token_hash(&browser),
        },
        now.timestamp_micros(),
    )
    .await?;
    crate::limits::take_sms(app, &mut tx, mobile.as_str(), person.id).await?;
    let sms = crate::sms::Sms::SignUpCode {
        code: &code,
        minutes: SIGNUP_CODE_MINUTES,
    };
    crate::sms::queue(&mut tx, mobile.as_str(), &sms, input.lang, now).await?;
    let subject = format!("person:{}", person.person.external_id);
    let step = (id.as_str(), "holder.signup_start");
    audit_signup(app, &mut tx, step, &subject, mobile.as_str()).await?;
    tx.commit().await?;
    Ok((id, browser))
}

/// A sign-up, for the browser that started it only (anyone else: not found).
async fn signup_for(
    conn: &mut AnyConnection,
    id: &str,
    browser: &str,
) -> Result<holders::SignupRecord> {
    holders::signup(conn, id)
        .await?
        .filter(|s| crate::tokens::constant_time_eq(&s.browser_hash, &token_hash(browser)))
        .ok_or(ServiceError::NotFound("sign-up"))
}

/// Where a sign-up stands, for its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupStep {
    Code,
    Face,
    Done,
}

pub async fn signup_step(app: &App, id: &str, browser: &str) -> Result<SignupStep> {
    let mut conn = app.db.conn().await?;
    let s = signup_for(&mut conn, id, browser).await?;
    Ok(if s.completed_at.is_some() {
        SignupStep::Done
    } else if s.code_confirmed_at.is_some() {
        SignupStep::Face
    } else {
        SignupStep::Code
    })
}

fn already_done() -> ServiceError {
    ServiceError::conflict(ErrorCode::AlreadyDone, "this sign-up is complete; sign in")
}

/// Confirms the SMS code of a sign-up: the number is proved; the person is not yet, so no
/// account is bound and nothing of the person is visible until the face check passes.
pub async fn confirm_signup(app: &App, id: &str, browser: &str, code: &str) -> Result<()> {
    let bad_code = || ServiceError::bad_input("code", ErrorCode::WrongCode, "the code is wrong");
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let s = signup_for(&mut tx, id, browser).await?;
    if s.completed_at.is_some() || s.code_confirmed_at.is_some() {
        return Err(already_done());
    }
    if now.timestamp_micros() > s.code_expires_at {
        return Err(ServiceError::bad_input(
            "code",
            ErrorCode::CodeExpired,
            "the code has expired; start again",
        ));
    }
    if holders::signup_attempt(&mut tx, id, SIGNUP_MAX_TRIES)
        .await?
        .is_none()
    {
        tx.commit().await?;
        return Err(ServiceError::bad_input(
            "code",
            ErrorCode::TooManyTries,
            "too many wrong codes; start again",
        ));
    }
    if !crate::tokens::constant_time_eq(&s.code_hash, &token_hash(&format!("{id}:{}", code.trim())))
    {
        // The attempt is counted even though the code was wrong.
        tx.commit().await?;
        return Err(bad_code());
    }
    if !holders::confirm_code(&mut tx, id, now.timestamp_micros()).await? {
        return Err(already_done());
    }
    let subject = person_subject(&mut tx, s.person_id).await?;
    let step = (id, "holder.signup_mobile_proved");
    audit_signup(app, &mut tx, step, &subject, &s.mobile).await?;
    tx.commit().await?;
    Ok(())
}

/// The face check of a sign-up against the person's photo on record; on a match the
/// sign-in is bound to the person (replacing any earlier one) and a session opens. Returns
/// the session token, the session and the new device's token.
pub async fn submit_signup_face(
    app: &App,
    id: &str,
    browser: &str,
    image: &[u8],
) -> Result<(String, HolderSession, Option<String>)> {
    let face = app.providers.face()?;
    crate::providers::check_image(image)?;
    let now = app.now();
    let s = {
        let mut conn = app.db.conn().await?;
        signup_for(&mut conn, id, browser).await?
    };
    if s.completed_at.is_some() {
        return Err(already_done());
    }
    if s.code_confirmed_at.is_none() {
        return Err(ServiceError::conflict(
            ErrorCode::WrongStep,
            "confirm the SMS code first",
        ));
    }
    let deadline = s.code_expires_at
        + Duration::minutes(SIGNUP_FACE_MINUTES - SIGNUP_CODE_MINUTES)
            .num_microseconds()
            .unwrap_or(0);
    if now.timestamp_micros() > deadline {
        return Err(ServiceError::bad_input(
            "image",
            ErrorCode::SignupExpired,
            "this sign-up has expired; start again",
        ));
    }
    let person = {
        let mut conn = app.db.conn().await?;
        let taken = holders::face_attempt(&mut conn, id, SIGNUP_MAX_FACE_TRIES).await?;
        if taken.is_none() {
            return Err(crate::providers::too_many_face_checks());
        }
        records::person(&mut conn, s.person_id).await?
    };
    let subject = FaceSubject {
        document_kind: person.person.id_kind.code().to_string(),
        document_number: person.person.id_number.clone(),
    };
    // Outside any transaction: the provider may be slow.
    if !face.verify(&subject, image).await? {
        let mut tx = app.db.begin().await?;
        let person = format!("person:{}", person.person.external_id);
        let step = (id, "holder.signup_face_mismatch");
        audit_signup(app, &mut tx, step, &person, &s.mobile).await?;
        tx.commit().await?;
        return Err(crate::providers::face_mismatch());
    }
    let mut tx = app.db.begin().await?;
    if !holders::complete_signup(&mut tx, id, now.timestamp_micros()).await? {
        return Err(already_done());
    }
    let account_id = bind_person(
        app,
        &mut tx,
        &format!("signup:{id}"),
        &s.mobile,
        s.person_id,
        &s.password_hash,
        Proof::SignupFace,
    )
    .await?;
    tx.commit().await?;
    let account = {
        let mut conn = app.db.conn().await?;
        holders::by_person(&mut conn, s.person_id)
            .await?
            .filter(|a| a.id == account_id)
            .ok_or(ServiceError::NotFound("account"))?
    };
    let device = crate::auth::passed_device(app, Accounts::Holders, account.id, None).await?;
    let (token, session) = open_session(app, &account).await?;
    Ok((token, session, device))
}

/// A person's sign-in as officers see it: the masked mobile and the history of sign-ups,
/// bindings and new devices (from the audit log).
#[derive(Debug, Clone)]
pub struct AccountHistory {
    pub mobile_masked: Option<String>,
    pub events: Vec<exitentry_storage::audit::StoredAudit>,
}

pub async fn history_for_person(
    app: &App,
    who: &crate::auth::StaffSession,
    person_id: i64,
) -> Result<AccountHistory> {
    who.require(exitentry_domain::staff::Permission::SearchRegistry)?;
    let mut conn = app.db.conn().await?;
    let subject = person_subject(&mut conn, person_id).await?;
    let account = holders::by_person(&mut conn, person_id).await?;
    let events = exitentry_storage::audit::for_subject(&mut conn, &subject)
        .await?
        .into_iter()
        .filter(|e| e.entry.action.starts_with("holder."))
        .collect();
    Ok(AccountHistory {
        mobile_masked: account.map(|a| mask(&a.mobile)),
        events,
    })
}
