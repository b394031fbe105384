//! Applicants' accounts: registration by email, the verification link, sign-in and sessions.

use super::*;
use crate::email::{self, Email};
use crate::tokens::{random_token, token_hash};
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::Duration;
use exitentry_storage::AnyConnection;
use exitentry_storage::accounts::Accounts;
use exitentry_storage::pre_applications::{self as store, AccountRow};
use serde_json::json;

/// A signed-in applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantSession {
    pub account_id: i64,
    pub email: String,
    pub lang: String,
    pub csrf_token: String,
}

impl ApplicantSession {
    /// The session of `account` whose requests carry `csrf_token`.
    fn of(account: &AccountRow, csrf_token: String) -> Self {
        ApplicantSession {
            account_id: account.id,
            email: account.email.clone(),
            lang: account.lang.clone(),
            csrf_token,
        }
    }

    pub fn actor(&self) -> String {
        format!("applicant:{}", self.account_id)
    }
}

/// An email address in the form we store it (trimmed, lower case), or why not.
pub(super) fn parse_email(s: &str) -> Result<String> {
    let e = s.trim().to_ascii_lowercase();
    email::check_address(&e)?;
    Ok(e)
}

/// A supplement item as the applicant reads it in an email (the pages use the locales).
pub(super) fn supplement_text(item: &str, lang: email::Lang) -> &'static str {
    use email::Lang::*;
    match (item, lang) {
        ("id_card_front", En) => "A clear copy of the identity card's front",
        ("id_card_front", ZhHans) => "清晰的身份证正面",
        ("id_card_front", ZhHant) => "清晰的身份證正面",
        ("id_card_back", En) => "A clear copy of the identity card's back",
        ("id_card_back", ZhHans) => "清晰的身份证背面",
        ("id_card_back", ZhHant) => "清晰的身份證背面",
        ("pr_notice", En) => "The Immigration Department's notice of permanent-resident status",
        ("pr_notice", ZhHans) => "入境事务处发出的永久性居民身份通知书",
        ("pr_notice", ZhHant) => "入境事務處發出的永久性居民身份通知書",
        ("passport", En) => "A clear copy of the passport's data page",
        ("passport", ZhHans) => "清晰的护照资料页",
        ("passport", ZhHant) => "清晰的護照資料頁",
        ("details_mismatch", En) => "Details that match your documents",
        ("details_mismatch", ZhHans) => "与证件一致的个人资料",
        ("details_mismatch", ZhHant) => "與證件一致的個人資料",
        ("guardian_consent", En) => "The guardian's consent and identity card",
        ("guardian_consent", ZhHans) => "监护人同意书及其身份证",
        ("guardian_consent", ZhHant) => "監護人同意書及其身份證",
        ("photo_quality", En) => "Sharper scans or photos of the documents",
        ("photo_quality", ZhHans) => "更清晰的证件扫描件或照片",
        ("photo_quality", ZhHant) => "更清晰的證件掃描件或照片",
        _ => "",
    }
}

/// The language of an account's emails.
pub(super) fn mail_lang(code: &str) -> email::Lang {
    email::Lang::from_code(code).unwrap_or(email::Lang::En)
}

/// The applicant account behind an application.
pub(super) async fn account_by_id(conn: &mut AnyConnection, id: i64) -> Result<AccountRow> {
    store::account_by_id(conn, id)
        .await?
        .ok_or(ServiceError::NotFound("account"))
}

/// Queues `mail` to an account in its language; it is sent only if the caller commits.
pub(super) async fn mail_account(
    app: &App,
    conn: &mut AnyConnection,
    account: &AccountRow,
    mail: &Email,
) -> Result<()> {
    email::enqueue(app, conn, &account.email, mail_lang(&account.lang), mail).await?;
    Ok(())
}

/// Emails a link to `email_addr` with which its owner chooses the password: it creates the
/// account, verifies the address, and serves as the reset of a forgotten password. The
/// password is set only by whoever opens the mailbox, so nobody can prepare an account for
/// someone else's address; the answer is the same whether or not the address is known.
pub async fn register(app: &App, email_addr: &str, lang: &str) -> Result<()> {
    let addr = parse_email(email_addr)?;
    let lang = if LANGS.contains(&lang) { lang } else { "en" };
    let token = random_token();
    let now = app.now();
    let expires = (now + Duration::hours(VERIFY_HOURS)).timestamp_micros();
    let mut tx = app.db.begin().await?;
    let account = match store::account_by_email(&mut tx, &addr).await? {
        Some(a) => {
            store::renew_verification(
                &mut tx,
                a.id,
                &token_hash(&token),
                expires,
                now.timestamp_micros(),
            )
            .await?;
            a
        }
        None => {
            let id = store::insert_account(
                &mut tx,
                &addr,
                lang,
                &token_hash(&token),
                expires,
                now.timestamp_micros(),
            )
            .await?;
            account_by_id(&mut tx, id).await?
        }
    };
    crate::limits::take(
        app,
        &mut tx,
        &[(
            format!("email:{}", account.email),
            crate::limits::EMAIL_PER_ADDRESS,
        )],
    )
    .await?;
    let link = email::link(app, &format!("/apply/verify?token={token}"));
    mail_account(app, &mut tx, &account, &Email::VerifyAddress { link }).await?;
    audit::record(
        app,
        &mut tx,
        &format!("applicant:{}", account.id),
        "applicant.link_sent",
        &format!("applicant:{}", account.id),
        json!({"verified": account.verified_at.is_some()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a link is still good (the page asks for the password only then).
pub async fn link_valid(app: &App, token: &str) -> Result<bool> {
    let mut conn = app.db.conn().await?;
    Ok(store::token_valid(&mut conn, &token_hash(token.trim()), app.now_micros()).await?)
}

/// Follows the emailed link with the chosen password: the address is verified, the
/// password set (other sessions of the account end), and the applicant signed in. A link
/// works once.
pub async fn verify_email(
    app: &App,
    token: &str,
    password: &str,
) -> Result<(String, ApplicantSession)> {
    exitentry_domain::staff::check_password_strength(password).at_field("password")?;
    let hash = crate::auth::hash_password_off_thread(password).await?;
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let Some(id) = store::verify(&mut tx, &token_hash(token.trim()), &hash, now).await? else {
        return Err(ServiceError::conflict(
            ErrorCode::LinkExpired,
            "this link has expired or was used already; ask for a new one",
        ));
    };
    audit::record(
        app,
        &mut tx,
        &format!("applicant:{id}"),
        "applicant.verify",
        &format!("applicant:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let mut conn = app.db.conn().await?;
    let account = account_by_id(&mut conn, id).await?;
    drop(conn);
    open_session(app, &account).await
}

/// Signs in with email and password; unverified addresses are refused until the link is
/// followed; repeated failures lock the account like staff accounts.
pub async fn login(
    app: &App,
    email_addr: &str,
    password: &str,
) -> Result<(String, ApplicantSession)> {
    login_from(app, email_addr, password, None)
        .await
        .map(|(token, session, _)| (token, session))
}

/// [`login`] from a client that may present a known-device token; returns a new device
/// token when the client was new to this account.
pub async fn login_from(
    app: &App,
    email_addr: &str,
    password: &str,
    device: Option<&str>,
) -> Result<(String, ApplicantSession, Option<String>)> {
    let Ok(addr) = parse_email(email_addr) else {
        crate::auth::verify_password(password, None).await;
        return Err(ServiceError::BadCredentials);
    };
    let account = {
        let mut conn = app.db.conn().await?;
        store::account_by_email(&mut conn, &addr).await?
    };
    let checked = crate::auth::check_sign_in(
        app,
        crate::auth::SignIn {
            kind: Accounts::Applicants,
            login: &addr,
            account: account.as_ref().map(|a| (a.id, a.password_hash.as_str())),
            device,
            password,
        },
    )
    .await?;
    // An unverified account has no password yet, so it never passes.
    let Some(account) = account.filter(|_| checked == crate::auth::Checked::Passed) else {
        return Err(checked.into_error());
    };
    let new_device =
        crate::auth::passed_device(app, Accounts::Applicants, account.id, device).await?;
    if new_device.is_some() {
        let mut tx = app.db.begin().await?;
        let subject = format!("applicant:{}", account.id);
        audit::record(
            app,
            &mut tx,
            &subject,
            "applicant.new_device",
            &subject,
            json!({}),
        )
        .await?;
        tx.commit().await?;
    }
    let (token, session) = open_session(app, &account).await?;
    Ok((token, session, new_device))
}

pub(super) async fn open_session(
    app: &App,
    account: &AccountRow,
) -> Result<(String, ApplicantSession)> {
    let (token, csrf_token) =
        crate::auth::open_session(app, Accounts::Applicants, account.id).await?;
    Ok((token, ApplicantSession::of(account, csrf_token)))
}

/// The session behind a cookie token, if still alive.
pub async fn session(app: &App, token: &str) -> Result<Option<ApplicantSession>> {
    let live = crate::auth::live_session(app, Accounts::Applicants, token, store::session).await?;
    Ok(live.map(|s| ApplicantSession::of(&s.account, s.csrf_token)))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    crate::auth::end_session(app, Accounts::Applicants, token).await
}
