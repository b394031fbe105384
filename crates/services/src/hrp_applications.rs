//! The non-Chinese home return permit's online pre-application: applicants' accounts
//! (email verified by a link), the form saved as typed, the documents uploaded, submission,
//! and the review loop — claim, then approve, ask for supplements (by email, in the
//! applicant's language) or reject — repeated until approval. Every step is kept in the
//! application's history and the audit log. Booking the permit's service needs approval.

use crate::auth::{StaffSession, random_token, token_hash};
use crate::email::{self, Email};
use crate::{App, Result, ServiceError, audit, uploads};
use chrono::Duration;
use exitentry_domain::Invalid;
use exitentry_domain::hrp::{self, FieldError, Form};
use exitentry_domain::staff::Permission;
use exitentry_storage::accounts::Accounts;
use exitentry_storage::hrp_applications::{self as store, AccountRow, ApplicationRow, EventRow};
use exitentry_storage::{AnyConnection, StorageError};
use serde::Serialize;
use serde_json::json;

/// How long a verification link works.
const VERIFY_HOURS: i64 = 48;
/// Languages an applicant may choose for their emails.
pub const LANGS: [&str; 3] = ["zh-Hans", "zh-Hant", "en"];

fn bad(field: &'static str, code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, message))
}

fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Conflict {
        code,
        message: message.into(),
    }
}

/// A signed-in applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantSession {
    pub account_id: i64,
    pub email: String,
    pub lang: String,
    pub csrf_token: String,
}

impl ApplicantSession {
    pub fn actor(&self) -> String {
        format!("applicant:{}", self.account_id)
    }
}

/// An email address in the form we store it (trimmed, lower case), or why not.
fn parse_email(s: &str) -> Result<String> {
    let e = s.trim().to_ascii_lowercase();
    email::check_address(&e)?;
    Ok(e)
}

/// A supplement item as the applicant reads it in an email (the pages use the locales).
fn supplement_text(item: &str, lang: email::Lang) -> &'static str {
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
fn mail_lang(code: &str) -> email::Lang {
    email::Lang::from_code(code).unwrap_or(email::Lang::En)
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
            store::account_by_id(&mut tx, id)
                .await?
                .ok_or(ServiceError::NotFound("account"))?
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
    email::enqueue(
        app,
        &mut tx,
        &account.email,
        mail_lang(&account.lang),
        &Email::VerifyAddress {
            link: email::link(app, &format!("/apply/verify?token={token}")),
        },
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &format!("applicant:{}", account.id),
        "applicant.link_sent",
        &format!("applicant:{}", account.id),
        json!({"verified": account.verified_at.is_some()}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
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
    exitentry_domain::staff::check_password_strength(password)
        .map_err(|e| ServiceError::invalid("password", e))?;
    let hash = crate::auth::hash_password_off_thread(password).await?;
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let Some(id) = store::verify(&mut tx, &token_hash(token.trim()), &hash, now).await? else {
        return Err(conflict(
            "link_expired",
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
    tx.commit().await.map_err(StorageError::from)?;
    let mut conn = app.db.conn().await?;
    let account = store::account_by_id(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
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
        tx.commit().await.map_err(StorageError::from)?;
    }
    let (token, session) = open_session(app, &account).await?;
    Ok((token, session, new_device))
}

async fn open_session(app: &App, account: &AccountRow) -> Result<(String, ApplicantSession)> {
    let (token, csrf_token) =
        crate::auth::open_session(app, Accounts::Applicants, account.id).await?;
    Ok((
        token,
        ApplicantSession {
            account_id: account.id,
            email: account.email.clone(),
            lang: account.lang.clone(),
            csrf_token,
        },
    ))
}

/// The session behind a cookie token, if still alive.
pub async fn session(app: &App, token: &str) -> Result<Option<ApplicantSession>> {
    let th = token_hash(token);
    let mut conn = app.db.conn().await?;
    let Some(s) = store::session(&mut conn, &th).await? else {
        return Ok(None);
    };
    if !crate::auth::keep_alive(
        app,
        &mut conn,
        Accounts::Applicants,
        &th,
        s.last_seen_at,
        s.expires_at,
    )
    .await?
    {
        return Ok(None);
    }
    Ok(Some(ApplicantSession {
        account_id: s.account.id,
        email: s.account.email,
        lang: s.account.lang,
        csrf_token: s.csrf_token,
    }))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    crate::auth::end_session(app, Accounts::Applicants, token).await
}

// ---- the application ----

/// One step of the history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    pub round: i64,
    pub kind: String,
    /// Staff are shown as "reviewer" to applicants; staff see the account name.
    pub actor: String,
    pub items: Vec<String>,
    pub note: String,
    pub at: i64,
}

/// An uploaded document as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub purpose: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
}

/// Everything about one application, for its owner or a reviewer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Detail {
    pub id: String,
    pub reference: String,
    pub status: String,
    pub round: i64,
    pub form: Form,
    /// What still stops submission (form fields and missing documents).
    pub problems: Vec<FieldError>,
    pub required_documents: Vec<&'static str>,
    pub documents: Vec<Document>,
    /// The last supplement request while one is open: what exactly was asked.
    pub requested: Option<Event>,
    pub history: Vec<Event>,
    pub claimed_by: Option<String>,
    pub email: String,
    /// For staff: the registry's cards under the number a renewal or replacement names.
    pub on_record: Vec<OnRecord>,
}

/// A card the registry holds under the number a pre-application names, as a reviewer sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OnRecord {
    pub number: String,
    pub issue_count: Option<u8>,
    pub status: String,
    pub expires_on: chrono::NaiveDate,
    /// Whether the card's holder has the identity card the form gives.
    pub same_holder: bool,
}

fn owner(id: &str) -> String {
    format!("hrp_application:{id}")
}

fn editable(status: &str) -> bool {
    matches!(status, "draft" | "supplement_requested")
}

async fn detail(app: &App, a: &ApplicationRow, for_staff: bool) -> Result<Detail> {
    let form: Form = serde_json::from_str(&a.form).unwrap_or_default();
    let docs = uploads::list(app, &owner(&a.id)).await?;
    let mut conn = app.db.conn().await?;
    let events = store::events(&mut conn, &a.id).await?;
    let account = store::account_by_id(&mut conn, a.account_id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    // Checked once: for what still stops submission and for the holder on record.
    let checked = hrp::check(&form, app.today());
    let on_record = if for_staff {
        let id = checked.as_ref().ok().map(|a| a.permanent_id.as_str());
        on_record(app, &mut conn, &form, id).await?
    } else {
        Vec::new()
    };
    drop(conn);
    let history: Vec<Event> = events
        .iter()
        .map(|e| Event {
            round: e.round,
            kind: e.kind.clone(),
            actor: if for_staff || e.actor.starts_with("applicant:") {
                e.actor.clone()
            } else {
                "reviewer".into()
            },
            items: serde_json::from_str(&e.items).unwrap_or_default(),
            note: e.note.clone(),
            at: e.created_at,
        })
        .collect();
    let requested = (a.status == "supplement_requested")
        .then(|| {
            history
                .iter()
                .rev()
                .find(|e| e.kind == "supplement_requested")
                .cloned()
        })
        .flatten();
    let documents: Vec<Document> = docs
        .iter()
        .map(|u| Document {
            id: u.id.clone(),
            purpose: u.purpose.clone(),
            name: u.display_name.clone(),
            content_type: u.content_type.clone(),
            size: u.size,
        })
        .collect();
    let (problems, required_documents) = completeness(checked, &documents);
    Ok(Detail {
        id: a.id.clone(),
        reference: a.reference.clone(),
        status: a.status.clone(),
        round: a.round,
        form,
        problems,
        required_documents,
        documents,
        requested,
        history,
        claimed_by: a.claimed_by.clone(),
        email: account.email,
        on_record,
    })
}

/// The non-Chinese permits registered under the form's current-permit number, newest first;
/// `id` is the form's identity card once the form passes its checks.
async fn on_record(
    app: &App,
    conn: &mut AnyConnection,
    form: &Form,
    id: Option<&str>,
) -> Result<Vec<OnRecord>> {
    use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
    let Ok(number) = DocumentNumber::parse(
        DocumentKind::HrpNonChinese,
        &form.current_permit,
        app.today(),
    ) else {
        return Ok(Vec::new());
    };
    Ok(
        exitentry_storage::documents::by_number(conn, number.as_str())
            .await?
            .into_iter()
            .filter(|(d, _)| d.doc.kind == DocumentKind::HrpNonChinese)
            .map(|(d, p)| OnRecord {
                number: d.doc.number,
                issue_count: d.doc.issue_count,
                status: d.doc.status.code().to_string(),
                expires_on: d.doc.expires_on,
                same_holder: id == Some(p.person.id_number.as_str()),
            })
            .collect(),
    )
}

/// The form's problems (from its check) plus the documents still missing.
fn completeness(
    checked: Result<hrp::Applicant, Vec<FieldError>>,
    docs: &[Document],
) -> (Vec<FieldError>, Vec<&'static str>) {
    match checked {
        Ok(applicant) => {
            let required = applicant.required_documents();
            let missing = required
                .iter()
                .filter(|r| !docs.iter().any(|d| d.purpose == **r))
                .map(|r| FieldError {
                    field: "documents",
                    code: "document_missing",
                    message: format!("upload: {r}"),
                })
                .collect();
            (missing, required)
        }
        Err(problems) => (
            problems,
            vec!["id_card_front", "id_card_back", "pr_notice", "passport"],
        ),
    }
}

/// A summary for lists.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub reference: String,
    pub status: String,
    pub name: String,
    pub submitted_at: Option<i64>,
    pub round: i64,
    pub claimed_by: Option<String>,
}

fn summary(a: &ApplicationRow) -> Summary {
    let form: Form = serde_json::from_str(&a.form).unwrap_or_default();
    Summary {
        id: a.id.clone(),
        reference: a.reference.clone(),
        status: a.status.clone(),
        name: form.name_latin,
        submitted_at: a.submitted_at,
        round: a.round,
        claimed_by: a.claimed_by.clone(),
    }
}

async fn own(app: &App, s: &ApplicantSession, id: &str) -> Result<ApplicationRow> {
    let mut conn = app.db.conn().await?;
    // Someone else's application looks exactly like one that does not exist.
    store::get(&mut conn, id)
        .await?
        .filter(|a| a.account_id == s.account_id)
        .ok_or(ServiceError::NotFound("application"))
}

/// Records a step in the application's history and the audit log, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn event(
    conn: &mut AnyConnection,
    app: &App,
    a: &ApplicationRow,
    round: i64,
    kind: &str,
    actor: &str,
    items: &[String],
    note: &str,
) -> Result<()> {
    store::add_event(
        conn,
        &a.id,
        &EventRow {
            round,
            kind: kind.into(),
            actor: actor.into(),
            items: serde_json::to_string(items).unwrap_or_else(|_| "[]".into()),
            note: note.into(),
            created_at: app.now_micros(),
        },
    )
    .await?;
    audit::record(
        app,
        conn,
        actor,
        &format!("hrp_application.{kind}"),
        &owner(&a.id),
        json!({"round": round, "items": items}),
    )
    .await
}

/// The applicant's applications, newest first.
pub async fn mine(app: &App, s: &ApplicantSession) -> Result<Vec<Summary>> {
    let mut conn = app.db.conn().await?;
    Ok(store::for_account(&mut conn, s.account_id)
        .await?
        .iter()
        .map(summary)
        .collect())
}

/// Starts a draft (one application in progress per account). A returning applicant (a
/// renewal years later) starts from their last form's details; what the application is for,
/// the guardian's consent and the documents are asked afresh.
pub async fn start(app: &App, s: &ApplicantSession) -> Result<Summary> {
    let mut conn = app.db.conn().await?;
    let earlier = store::for_account(&mut conn, s.account_id).await?;
    drop(conn);
    let form = earlier
        .first()
        .and_then(|a| serde_json::from_str::<Form>(&a.form).ok())
        .map(|f| Form {
            purpose: String::new(),
            current_permit: String::new(),
            guardian_consent: false,
            ..f
        })
        .unwrap_or_default();
    let row = ApplicationRow {
        id: random_token()[..24].to_string(),
        reference: format!("N{:011}", rand::random::<u64>() % 100_000_000_000),
        account_id: s.account_id,
        status: "draft".into(),
        form: serde_json::to_string(&form).unwrap_or_else(|_| "{}".into()),
        id_kind: None,
        id_number: None,
        round: 0,
        claimed_by: None,
        submitted_at: None,
        decided_at: None,
        used_by: None,
        created_at: app.now_micros(),
        updated_at: app.now_micros(),
    };
    let mut tx = app.db.begin().await?;
    match store::insert(&mut tx, &row).await {
        Err(StorageError::Conflict(_)) => {
            return Err(conflict(
                "application_in_progress",
                "you already have an application in progress; continue it",
            ));
        }
        other => other?,
    }
    audit::record(
        app,
        &mut tx,
        &s.actor(),
        "hrp_application.start",
        &owner(&row.id),
        json!({}),
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(summary(&row))
}

pub async fn get(app: &App, s: &ApplicantSession, id: &str) -> Result<Detail> {
    let a = own(app, s, id).await?;
    detail(app, &a, false).await
}

/// Saves the form as typed (save and continue later); returns the application with what
/// still stops submission.
pub async fn save(app: &App, s: &ApplicantSession, id: &str, form: &Form) -> Result<Detail> {
    let a = own(app, s, id).await?;
    if !editable(&a.status) {
        return Err(conflict(
            "not_editable",
            format!("this application is {} and cannot be changed now", a.status),
        ));
    }
    // Kept as typed, so bounded as typed: every text field.
    let too_long = [
        &form.purpose,
        &form.current_permit,
        &form.name_latin,
        &form.name_zh,
        &form.sex,
        &form.date_of_birth,
        &form.nationality,
        &form.region,
        &form.permanent_id,
        &form.passport_number,
        &form.passport_expiry,
        &form.address,
        &form.phone,
        &form.guardian_name,
        &form.guardian_relation,
        &form.guardian_id,
    ]
    .iter()
    .any(|v| v.chars().count() > 500);
    if too_long {
        return Err(bad("form", "bad_text", "a field is far too long"));
    }
    let json = serde_json::to_string(form).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut conn = app.db.conn().await?;
    if !store::save_form(&mut conn, &a.id, &json, app.now_micros()).await? {
        return Err(conflict(
            "not_editable",
            "this application changed meanwhile",
        ));
    }
    drop(conn);
    get(app, s, id).await
}

/// Adds a document of `purpose` (the standard ones, or `other` for a supplement).
pub async fn upload(
    app: &App,
    s: &ApplicantSession,
    id: &str,
    purpose: &str,
    name: &str,
    bytes: &[u8],
) -> Result<Detail> {
    let a = own(app, s, id).await?;
    if !editable(&a.status) {
        return Err(conflict(
            "not_editable",
            format!("this application is {} and cannot be changed now", a.status),
        ));
    }
    if ![
        "id_card_front",
        "id_card_back",
        "pr_notice",
        "passport",
        "other",
    ]
    .contains(&purpose)
    {
        return Err(bad(
            "purpose",
            "bad_purpose",
            "choose what this document is",
        ));
    }
    uploads::accept(app, &s.actor(), &owner(&a.id), purpose, name, bytes).await?;
    get(app, s, id).await
}

/// Removes one of the applicant's documents while the application can be changed.
pub async fn remove_document(
    app: &App,
    s: &ApplicantSession,
    id: &str,
    upload_id: &str,
) -> Result<Detail> {
    let a = own(app, s, id).await?;
    if !editable(&a.status) {
        return Err(conflict(
            "not_editable",
            "this application cannot be changed now",
        ));
    }
    let docs = uploads::list(app, &owner(&a.id)).await?;
    if !docs.iter().any(|d| d.id == upload_id) {
        return Err(ServiceError::NotFound("document"));
    }
    uploads::remove(app, &s.actor(), upload_id).await?;
    get(app, s, id).await
}

/// Submits a complete application (again after supplements); refused with the list of what
/// is missing otherwise.
pub async fn submit(app: &App, s: &ApplicantSession, id: &str) -> Result<Detail> {
    let a = own(app, s, id).await?;
    let d = detail(app, &a, false).await?;
    if !editable(&a.status) {
        return Err(conflict(
            "not_editable",
            format!("this application is {}", a.status),
        ));
    }
    if let Some(p) = d.problems.first() {
        return Err(ServiceError::invalid(
            p.field,
            Invalid::new(
                p.code,
                d.problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ));
    }
    let applicant = hrp::check(&d.form, app.today())
        .map_err(|_| bad("form", "incomplete", "the form is not complete"))?;
    let mut tx = app.db.begin().await?;
    let resubmit = a.status == "supplement_requested";
    if !store::submit(
        &mut tx,
        &a.id,
        applicant.id_kind().code(),
        applicant.permanent_id.as_str(),
        app.now_micros(),
    )
    .await?
    {
        return Err(conflict(
            "not_editable",
            "this application changed meanwhile",
        ));
    }
    event(
        &mut tx,
        app,
        &a,
        a.round + 1,
        if resubmit { "resubmitted" } else { "submitted" },
        &s.actor(),
        &[],
        "",
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    get(app, s, id).await
}

/// Who is asking for a document's bytes.
pub enum Reader<'a> {
    Applicant(&'a ApplicantSession),
    Staff(&'a StaffSession),
}

/// A document of an application, for its applicant or staff who review or accept it;
/// anyone else gets "not found", whatever ids they guess.
pub async fn document(
    app: &App,
    reader: Reader<'_>,
    id: &str,
    upload_id: &str,
) -> Result<(Document, Vec<u8>)> {
    let a = match reader {
        Reader::Applicant(s) => own(app, s, id).await?,
        Reader::Staff(staff) => {
            if staff.require(Permission::ReviewPreApplications).is_err() {
                staff.require(Permission::ServeCounter)?;
            }
            let mut conn = app.db.conn().await?;
            staff_visible(store::get(&mut conn, id).await?)?
        }
    };
    let docs = uploads::list(app, &owner(&a.id)).await?;
    let Some(u) = docs.into_iter().find(|d| d.id == upload_id) else {
        return Err(ServiceError::NotFound("document"));
    };
    let (u, bytes) = uploads::open(app, &u.id).await?;
    Ok((
        Document {
            id: u.id.clone(),
            purpose: u.purpose.clone(),
            name: u.display_name.clone(),
            content_type: u.content_type.clone(),
            size: u.size,
        },
        bytes,
    ))
}

// ---- review ----

/// The review queue: submitted applications, oldest first, and those this reviewer holds.
pub async fn queue(app: &App, staff: &StaffSession) -> Result<(Vec<Summary>, Vec<Summary>)> {
    staff.require(Permission::ReviewPreApplications)?;
    let mut conn = app.db.conn().await?;
    let waiting = store::with_status(&mut conn, "submitted", 200).await?;
    let mine = store::with_status(&mut conn, "in_review", 500)
        .await?
        .into_iter()
        .filter(|a| a.claimed_by.as_deref() == Some(staff.username.as_str()))
        .collect::<Vec<_>>();
    Ok((
        waiting.iter().map(summary).collect(),
        mine.iter().map(summary).collect(),
    ))
}

pub async fn staff_get(app: &App, staff: &StaffSession, id: &str) -> Result<Detail> {
    if staff.require(Permission::ReviewPreApplications).is_err() {
        staff.require(Permission::ServeCounter)?;
    }
    let mut conn = app.db.conn().await?;
    let a = staff_visible(store::get(&mut conn, id).await?)?;
    drop(conn);
    detail(app, &a, true).await
}

/// An application as staff may see it: a draft is the applicant's alone (form and passport
/// scan included) until it is submitted, so staff get "not found" as for any unknown id.
fn staff_visible(a: Option<ApplicationRow>) -> Result<ApplicationRow> {
    a.filter(|a| a.status != "draft")
        .ok_or(ServiceError::NotFound("application"))
}

/// Takes a submitted application to review; two reviewers never both get it.
pub async fn claim(app: &App, staff: &StaffSession, id: &str) -> Result<Detail> {
    staff.require(Permission::ReviewPreApplications)?;
    let mut tx = app.db.begin().await?;
    let a = store::get(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    if !store::claim(&mut tx, id, &staff.username, app.now_micros()).await? {
        return Err(conflict(
            "already_claimed",
            format!("this application is {}", a.status),
        ));
    }
    event(
        &mut tx,
        app,
        &a,
        a.round,
        "claimed",
        &staff.actor(),
        &[],
        "",
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    staff_get(app, staff, id).await
}

/// A reviewer's decision.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve,
    RequestSupplements { items: Vec<String>, note: String },
    Reject { reason: String },
}

/// Decides a claimed application and emails the applicant in their language.
pub async fn decide(app: &App, staff: &StaffSession, id: &str, d: &Decision) -> Result<Detail> {
    staff.require(Permission::ReviewPreApplications)?;
    let (to, items, note) = match d {
        Decision::Approve => ("approved", Vec::new(), String::new()),
        Decision::RequestSupplements { items, note } => {
            let items = hrp::check_supplement(items, note)
                .map_err(|e| ServiceError::invalid("items", e))?;
            ("supplement_requested", items, note.trim().to_string())
        }
        Decision::Reject { reason } => {
            let r = reason.trim();
            if r.is_empty() || r.chars().count() > 1000 {
                return Err(bad(
                    "reason",
                    "reason_required",
                    "say why the application is rejected (at most 1000 characters)",
                ));
            }
            ("rejected", Vec::new(), r.to_string())
        }
    };
    let mut tx = app.db.begin().await?;
    let a = store::get(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))?;
    if !store::decide(&mut tx, id, &staff.username, to, app.now_micros()).await? {
        return Err(conflict(
            "not_claimed_by_you",
            "claim this application first (it may be with another reviewer)",
        ));
    }
    event(&mut tx, app, &a, a.round, to, &staff.actor(), &items, &note).await?;
    let account = store::account_by_id(&mut tx, a.account_id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    let mail = match d {
        Decision::Approve => Email::Approved {
            reference: a.reference.clone(),
            booking_link: email::link(app, &format!("/apply/applications/{}/book", a.id)),
        },
        Decision::RequestSupplements { .. } => Email::SupplementRequested {
            reference: a.reference.clone(),
            items: items
                .iter()
                .map(|i| supplement_text(i, mail_lang(&account.lang)).to_string())
                .collect(),
            note: (!note.is_empty()).then(|| note.clone()),
            link: email::link(app, &format!("/apply/applications/{}", a.id)),
        },
        Decision::Reject { .. } => Email::Rejected {
            reference: a.reference.clone(),
            reason: note.clone(),
        },
    };
    email::enqueue(
        app,
        &mut tx,
        &account.email,
        mail_lang(&account.lang),
        &mail,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    staff_get(app, staff, id).await
}

/// The approved pre-application of this identity card, if any (booking and the counter
/// need one). Only the latest approval counts: an older one, still unused, was overtaken
/// by it, and once the latest is used there is none until the next.
pub async fn approved_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<ApplicationRow>> {
    Ok(store::latest_granted_for(conn, id_kind, id_number)
        .await?
        .filter(|a| a.status == "approved"))
}

/// Marks the approved pre-application used by the centre application `by` (once).
pub async fn mark_used(conn: &mut AnyConnection, id: &str, by: &str, now: i64) -> Result<bool> {
    Ok(store::mark_used(conn, id, by, now).await?)
}

/// Where to email the holder of this identity card about their permit: the account of the
/// latest approved (or used) pre-application (address and language), if any.
pub async fn contact_for(
    conn: &mut AnyConnection,
    id_kind: &str,
    id_number: &str,
) -> Result<Option<(String, email::Lang)>> {
    let Some(a) = store::latest_granted_for(conn, id_kind, id_number).await? else {
        return Ok(None);
    };
    Ok(store::account_by_id(conn, a.account_id)
        .await?
        .map(|acc| (acc.email, mail_lang(&acc.lang))))
}
