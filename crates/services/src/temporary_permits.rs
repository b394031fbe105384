//! Temporary e-permits: apply with permit details, confirm the SMS code, pass the face
//! check, and receive a signed QR credential — within the monthly limit.

use crate::credentials::Draft;
pub use crate::email::Lang;
use crate::holders::HolderSession;
use crate::providers::FaceSubject;
use crate::records;
use crate::sms::{self, Sms};
use crate::tokens::token_hash;
use crate::{App, Result, ServiceError, audit};
use crate::{AtField, ErrorCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use exitentry_credentials::CredentialKind;
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::person::{Sex, parse_date};
use exitentry_domain::staff::{Permission, check_password_strength};
use exitentry_domain::states::{TemporaryPermitApplicationState as Step, TemporaryPermitState};
use exitentry_domain::temporary_permit::{
    MobileNumber, PermittedUse, check_eligible, check_eligible_on, month_key, name_matches,
    next_month_start, validity,
};
use exitentry_storage::from_micros;
use exitentry_storage::temporary_permits::{self as store, ApplicationRecord, PermitRecord};
use exitentry_storage::{AnyConnection, documents};
use serde_json::json;

/// What the applicant enters on the first screen (or the app sends).
#[derive(Debug, Clone)]
pub struct ApplyInput {
    pub document_kind: String,
    pub document_number: String,
    pub name: String,
    pub document_expiry: String,
    pub sex: String,
    pub mobile: String,
    pub password: String,
    /// The language of the SMS code (the page's or the app's).
    pub lang: Lang,
}

fn no_match() -> ServiceError {
    // One answer for every mismatch, so the form cannot be used to probe the registry.
    ServiceError::bad_input(
        "document_number",
        ErrorCode::NoMatchingPermit,
        "no permit matches the type, number, name, expiry date and sex entered",
    )
}

fn code_hash(application_id: &str, code: &str) -> String {
    token_hash(&format!("{application_id}:{code}"))
}

/// The first screen on its own: the permit type (HRP or TWP), a well-formed number for it,
/// and a name. The registry is not asked until everything is entered.
pub fn check_step_one(
    app: &App,
    document_kind: &str,
    document_number: &str,
    name: &str,
) -> Result<()> {
    let kind = DocumentKind::parse(document_kind).at_field("document_kind")?;
    if !matches!(kind, DocumentKind::Hrp | DocumentKind::Twp) {
        return Err(ServiceError::bad_input(
            "document_kind",
            ErrorCode::KindNotEligible,
            "temporary permits stand in for a home return permit or a Taiwan residents' permit",
        ));
    }
    DocumentNumber::parse(kind, document_number, app.today()).at_field("document_number")?;
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::bad_input(
            "name",
            ErrorCode::BadName,
            "enter the name as on the permit",
        ));
    }
    Ok(())
}

/// Checks the details against the registry, stores the application and queues the SMS
/// code (same transaction). Returns the application id.
pub async fn apply(app: &App, input: &ApplyInput) -> Result<String> {
    let rules = &app.policy.temporary_permit;
    let today = app.today();
    // Refuse at once rather than queue a code that could never be sent.
    app.providers.sms()?;
    let kind = DocumentKind::parse(&input.document_kind).at_field("document_kind")?;
    if !matches!(kind, DocumentKind::Hrp | DocumentKind::Twp) {
        return Err(
            check_eligible(kind, exitentry_domain::document::DocumentStatus::Valid)
                .err()
                .map(|e| ServiceError::invalid("document_kind", e))
                .unwrap_or_else(no_match),
        );
    }
    let number =
        DocumentNumber::parse(kind, &input.document_number, today).at_field("document_number")?;
    let expiry: NaiveDate = parse_date(&input.document_expiry).at_field("document_expiry")?;
    let sex = Sex::parse(&input.sex).at_field("sex")?;
    let mobile = MobileNumber::parse(&input.mobile).at_field("mobile")?;
    check_password_strength(&input.password).at_field("password")?;
    if today < rules.available_from {
        return Err(ServiceError::bad_input(
            "document_kind",
            ErrorCode::NotAvailable,
            "temporary permits are not issued yet",
        ));
    }

    let mut conn = app.db.conn().await?;
    let candidates = documents::by_number(&mut conn, number.as_str()).await?;
    // The newest card under the number (HRP numbers are for life; issue counts grow).
    let Some((doc, holder)) = candidates.into_iter().find(|(d, _)| d.doc.kind == kind) else {
        return Err(no_match());
    };
    if !name_matches(&input.name, &holder.person.names)
        || doc.doc.expires_on != expiry
        || holder.person.sex != sex
    {
        return Err(no_match());
    }
    let status = app.document_status(&doc.doc, today);
    check_eligible_on(kind, status, doc.doc.expires_on, today).at_field("document_number")?;
    // The month's limit is told now, before an SMS and a face photo are asked for; it is
    // still taken atomically at issuance.
    let now = app.now();
    if store::issued_in_month(&mut conn, holder.id, &month_key(now)).await?
        >= rules.per_calendar_month
    {
        return Err(ServiceError::limit_reached(
            ErrorCode::MonthlyLimitReached,
            next_month_start(now),
        ));
    }
    drop(conn);

    let id = format!("TPA-{}", &crate::tokens::random_token()[..20]);
    let code = new_code();
    let record = ApplicationRecord {
        id: id.clone(),
        person_id: holder.id,
        document_id: doc.id,
        mobile: mobile.as_str().to_string(),
        password_hash: crate::auth::hash_password_off_thread(&input.password).await?,
        state: Step::AwaitingSms,
        sms_code_hash: code_hash(&id, &code),
        sms_sent_at: now.timestamp_micros(),
        sms_expires_at: (now + Duration::minutes(rules.sms_code_minutes)).timestamp_micros(),
        sms_tries: 0,
        sms_sends: 1,
        permit_id: None,
    };
    let mut tx = app.db.begin().await?;
    store::insert_application(&mut tx, &record, now.timestamp_micros()).await?;
    crate::limits::take_sms(app, &mut tx, mobile.as_str(), holder.id).await?;
    queue_code(app, &mut tx, mobile.as_str(), &code, input.lang, now).await?;
    tx.commit().await?;
    Ok(id)
}

fn new_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// Queues the SMS with the code in the caller's transaction.
async fn queue_code(
    app: &App,
    tx: &mut AnyConnection,
    mobile: &str,
    code: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    let minutes = app.policy.temporary_permit.sms_code_minutes;
    sms::queue(
        tx,
        mobile,
        &Sms::TemporaryPermitCode { code, minutes },
        lang,
        now,
    )
    .await
}

async fn load(app: &App, id: &str) -> Result<ApplicationRecord> {
    let mut conn = app.db.conn().await?;
    store::application(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

fn wrong_state(state: Step) -> ServiceError {
    ServiceError::conflict(
        ErrorCode::WrongStep,
        format!("the application is at step {state}"),
    )
}

/// Confirms the SMS code: 6 digits, valid for minutes, a limited number of tries.
pub async fn confirm_sms_code(app: &App, id: &str, code: &str) -> Result<()> {
    let rules = &app.policy.temporary_permit;
    let a = load(app, id).await?;
    if a.state != Step::AwaitingSms {
        return Err(wrong_state(a.state));
    }
    let now = app.now_micros();
    if a.sms_tries >= rules.sms_max_tries {
        return Err(ServiceError::bad_input(
            "code",
            ErrorCode::TooManyAttempts,
            "too many wrong codes; start a new application",
        ));
    }
    if now > a.sms_expires_at {
        return Err(ServiceError::bad_input(
            "code",
            ErrorCode::SmsCodeExpired,
            "the code has expired; start a new application",
        ));
    }
    let mut tx = app.db.begin().await?;
    let tries = store::count_sms_try(&mut tx, id, now).await?;
    let ok = code.trim().len() == 6
        && code_hash(id, code.trim()) == a.sms_code_hash
        && tries <= rules.sms_max_tries;
    if ok {
        store::advance(
            &mut tx,
            id,
            Step::AwaitingSms,
            Step::AwaitingFace,
            None,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    if ok {
        Ok(())
    } else if tries >= rules.sms_max_tries {
        Err(ServiceError::bad_input(
            "code",
            ErrorCode::TooManyAttempts,
            "too many wrong codes; start a new application",
        ))
    } else {
        Err(ServiceError::bad_input(
            "code",
            ErrorCode::SmsCodeInvalid,
            format!("wrong code; {} tries left", rules.sms_max_tries - tries),
        ))
    }
}

/// An issued temporary permit as the holder sees it.
#[derive(Debug, Clone)]
pub struct IssuedPermit {
    pub permit_id: String,
    pub payload: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub permitted_uses: Vec<&'static str>,
}

/// Face checks allowed per application, and the minutes after the last code within which
/// they must happen.
pub const MAX_FACE_TRIES: i64 = 5;
const FACE_MINUTES: i64 = 30;

/// The face check, then issuance: monthly slot, status-list index, signed credential and
/// the application's final step, all in one transaction.
pub async fn submit_face(app: &App, id: &str, image: &[u8]) -> Result<IssuedPermit> {
    let rules = app.policy.temporary_permit.clone();
    let face = app.providers.face()?;
    let a = load(app, id).await?;
    if a.state != Step::AwaitingFace {
        return Err(wrong_state(a.state));
    }
    crate::providers::check_image(image)?;
    // A face is checked a few times per application, within the time its code allowed:
    // the binding of the holder's sign-in rests on it.
    let deadline = from_micros(a.sms_sent_at) + Duration::minutes(FACE_MINUTES);
    if app.now() > deadline {
        return Err(ServiceError::bad_input(
            "image",
            ErrorCode::ApplicationExpired,
            "this application has expired; start again",
        ));
    }
    {
        let mut conn = app.db.conn().await?;
        if !store::take_face_attempt(&mut conn, id, MAX_FACE_TRIES).await? {
            return Err(crate::providers::too_many_face_checks());
        }
    }
    let subject = {
        let mut conn = app.db.conn().await?;
        let doc = records::document(&mut conn, a.document_id).await?;
        FaceSubject {
            document_kind: doc.doc.kind.code().to_string(),
            document_number: doc.doc.number,
        }
    };
    if !face.verify(&subject, image).await? {
        return Err(crate::providers::face_mismatch());
    }
    let signer = crate::credentials::current_signer(app)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let doc = records::document(&mut tx, a.document_id).await?;
    let holder = records::person(&mut tx, a.person_id).await?;
    // The registry may have changed since the first step (a day passed, the permit was
    // cancelled): the same check again, a clear answer and never an unsignable credential.
    let today = app.today();
    let status = app.document_status(&doc.doc, today);
    check_eligible_on(doc.doc.kind, status, doc.doc.expires_on, today)
        .at_field("document_number")?;
    let month = month_key(now);
    if !store::take_month_slot(&mut tx, a.person_id, &month, rules.per_calendar_month).await? {
        return Err(ServiceError::limit_reached(
            ErrorCode::MonthlyLimitReached,
            next_month_start(now),
        ));
    }
    let index = store::next_status_index(&mut tx).await?;
    let (from, until) = validity(&rules, now, doc.doc.expires_on);
    if until <= from {
        return Err(ServiceError::bad_input(
            "document_number",
            ErrorCode::PermitExpired,
            "the permit has expired",
        ));
    }
    let permit_id = format!("TP-{}", &crate::tokens::random_token()[..20]);
    let uses: Vec<&'static str> = PermittedUse::ALL.iter().map(|u| u.code()).collect();
    let payload = Draft::new(
        app,
        CredentialKind::TemporaryPermit,
        &permit_id,
        &holder,
        &doc,
    )
    .valid(from, until)
    .uses(&uses)
    .status_index(index)?
    .sign(app, &signer)?;
    let record = PermitRecord {
        id: permit_id.clone(),
        person_id: a.person_id,
        document_id: a.document_id,
        status_index: index,
        month_key: month,
        valid_from: from.timestamp_micros(),
        valid_until: until.timestamp_micros(),
        status: TemporaryPermitState::Valid,
        revoked_reason: None,
        payload: payload.clone(),
    };
    store::insert(&mut tx, &record, now.timestamp_micros()).await?;
    if !store::advance(
        &mut tx,
        id,
        Step::AwaitingFace,
        Step::Issued,
        Some(&permit_id),
        now.timestamp_micros(),
    )
    .await?
    {
        return Err(wrong_state(Step::Issued));
    }
    // The SMS code proved the number and the face check the person: the number becomes
    // (or stays) this holder's one sign-in.
    let account = crate::holders::bind_person(
        app,
        &mut tx,
        &format!("temporary_permit_application:{id}"),
        &a.mobile,
        a.person_id,
        &a.password_hash,
        crate::holders::Proof::TemporaryPermit,
    )
    .await?;
    audit::record(
        app,
        &mut tx,
        &format!("holder:{account}"),
        "temporary_permit.issue",
        &format!("temporary_permit:{permit_id}"),
        json!({"application": id, "status_index": index}),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedPermit {
        permit_id,
        payload,
        valid_from: from,
        valid_until: until,
        permitted_uses: uses,
    })
}

/// A new code for an application still waiting for one: at most one a minute and a few
/// per application. Returns when the next resend is possible.
pub async fn resend_sms_code(app: &App, id: &str, lang: Lang) -> Result<DateTime<Utc>> {
    let rules = &app.policy.temporary_permit;
    let a = load(app, id).await?;
    if a.state != Step::AwaitingSms {
        return Err(wrong_state(a.state));
    }
    let now = app.now();
    let wait = Duration::seconds(rules.sms_resend_secs);
    let code = new_code();
    let mut tx = app.db.begin().await?;
    let replaced = store::replace_sms_code(
        &mut tx,
        id,
        &code_hash(id, &code),
        now.timestamp_micros(),
        (now + Duration::minutes(rules.sms_code_minutes)).timestamp_micros(),
        (now - wait).timestamp_micros(),
        rules.sms_max_sends,
    )
    .await?;
    if !replaced {
        drop(tx);
        if a.sms_sends >= rules.sms_max_sends {
            return Err(ServiceError::bad_input(
                "code",
                ErrorCode::TooManyCodes,
                "no more codes can be sent for this application; start a new application",
            ));
        }
        let next = from_micros(a.sms_sent_at) + wait;
        return Err(ServiceError::too_soon(
            ErrorCode::ResendTooSoon,
            next,
            (next - now).num_seconds().max(1),
        ));
    }
    crate::limits::take_sms(app, &mut tx, &a.mobile, a.person_id).await?;
    queue_code(app, &mut tx, &a.mobile, &code, lang, now).await?;
    tx.commit().await?;
    Ok(now + wait)
}

/// Where an application stands; the permit once issued (and still valid).
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub id: String,
    pub state: Step,
    pub mobile_masked: String,
    /// When a new SMS code may be asked for (while awaiting the code).
    pub resend_at: Option<DateTime<Utc>>,
    pub permit: Option<PermitView>,
}

pub async fn application(app: &App, id: &str) -> Result<ApplicationView> {
    let a = load(app, id).await?;
    let permit = match &a.permit_id {
        Some(pid) => {
            let mut conn = app.db.conn().await?;
            let p = store::permit(&mut conn, pid)
                .await?
                .ok_or(ServiceError::NotFound("temporary_permit"))?;
            Some(view(app, &mut conn, p).await?)
        }
        None => None,
    };
    let wait = Duration::seconds(app.policy.temporary_permit.sms_resend_secs);
    Ok(ApplicationView {
        id: a.id,
        resend_at: (a.state == Step::AwaitingSms).then(|| from_micros(a.sms_sent_at) + wait),
        mobile_masked: mask_mobile(&a.mobile),
        state: a.state,
        permit,
    })
}

fn mask_mobile(m: &str) -> String {
    if m.len() == 11 && m.is_ascii() {
        format!("{}****{}", &m[..3], &m[7..])
    } else {
        "***".into()
    }
}

/// A temporary permit as the holder and officers see it.
#[derive(Debug, Clone)]
pub struct PermitView {
    pub id: String,
    /// As a reader sees it now (`Expired` once past its end).
    pub status: TemporaryPermitState,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub permitted_uses: Vec<&'static str>,
    pub document_kind: String,
    pub document_number: String,
    pub holder_name: String,
    pub reason: Option<String>,
    /// The QR payload; only while the permit is valid.
    pub payload: Option<String>,
}

async fn view(app: &App, conn: &mut AnyConnection, p: PermitRecord) -> Result<PermitView> {
    let doc = records::document(conn, p.document_id).await?;
    let holder = records::person(conn, p.person_id).await?;
    let row = store::PermitListRow {
        document_kind: doc.doc.kind.code().to_string(),
        document_number: doc.doc.number,
        name_zh: holder.person.names.zh,
        name_latin: holder.person.names.latin,
        created_at: p.valid_from,
        permit: p,
    };
    Ok(list_view(app, row))
}

fn list_view(app: &App, r: store::PermitListRow) -> PermitView {
    let status = r.permit.status.on(r.permit.valid_until, app.now_micros());
    PermitView {
        id: r.permit.id,
        status,
        valid_from: from_micros(r.permit.valid_from),
        valid_until: from_micros(r.permit.valid_until),
        issued_at: from_micros(r.created_at),
        permitted_uses: PermittedUse::ALL.iter().map(|u| u.code()).collect(),
        document_kind: r.document_kind,
        document_number: r.document_number,
        holder_name: match r.name_zh {
            Some(zh) => format!("{zh} {}", r.name_latin),
            None => r.name_latin,
        },
        reason: r.permit.revoked_reason,
        payload: (status == TemporaryPermitState::Valid).then_some(r.permit.payload),
    }
}

/// The signed-in holder's temporary permits, newest first.
pub async fn holder_permits(app: &App, holder: &HolderSession) -> Result<Vec<PermitView>> {
    let mut conn = app.db.conn().await?;
    let mut out = Vec::new();
    for p in store::for_person(&mut conn, holder.person_id).await? {
        out.push(view(app, &mut conn, p).await?);
    }
    Ok(out)
}

/// Ends a valid permit (`cancelled` by its holder, `revoked` by an officer) with an audit
/// entry in the same transaction. From then on the status list and the live check refuse it.
async fn end(
    app: &App,
    id: &str,
    actor: &str,
    status: TemporaryPermitState,
    reason: Option<&str>,
) -> Result<()> {
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let p = store::permit(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("temporary_permit"))?;
    if p.status.on(p.valid_until, now) != TemporaryPermitState::Valid
        || !store::end(&mut tx, id, status, reason, now).await?
    {
        return Err(ServiceError::conflict(
            ErrorCode::PermitNotValid,
            "the permit is no longer valid",
        ));
    }
    audit::record(
        app,
        &mut tx,
        actor,
        &format!(
            "temporary_permit.{}",
            if status == TemporaryPermitState::Revoked {
                "revoke"
            } else {
                "cancel"
            }
        ),
        &format!("temporary_permit:{id}"),
        json!({"reason": reason, "status_index": p.status_index}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The holder cancels one of their own permits (another person's is simply not found).
pub async fn cancel(app: &App, holder: &HolderSession, id: &str) -> Result<()> {
    let mut conn = app.db.conn().await?;
    let owned = store::permit(&mut conn, id)
        .await?
        .is_some_and(|p| p.person_id == holder.person_id);
    drop(conn);
    if !owned {
        return Err(ServiceError::NotFound("temporary_permit"));
    }
    end(
        app,
        id,
        &holder.actor(),
        TemporaryPermitState::Cancelled,
        None,
    )
    .await
}

/// The officer list's filter as typed on the page or in the query string.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Issue date (Beijing), YYYY-MM-DD.
    pub date: Option<String>,
    pub status: Option<String>,
    pub document_number: Option<String>,
}

/// What the officer list filters on (every state a reader can see).
pub const STATUSES: [&str; 4] = [
    TemporaryPermitState::Valid.code(),
    TemporaryPermitState::Expired.code(),
    TemporaryPermitState::Cancelled.code(),
    TemporaryPermitState::Revoked.code(),
];

/// Issued temporary permits for officers, newest first (at most 200).
pub async fn list(
    app: &App,
    who: &crate::auth::StaffSession,
    q: &ListQuery,
) -> Result<Vec<PermitView>> {
    who.require(Permission::ViewTemporaryPermits)?;
    let mut f = store::PermitFilter {
        now: app.now_micros(),
        ..Default::default()
    };
    if let Some(d) = q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        let day = parse_date(d).at_field("date")?;
        let start = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(exitentry_domain::time::cst()).single())
            .ok_or_else(|| ServiceError::bad_input("date", ErrorCode::BadDate, "not a date"))?;
        f.issued_from = Some(start.timestamp_micros());
        f.issued_to = Some((start + Duration::days(1)).timestamp_micros());
    }
    if let Some(s) = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let Some(state) = STATUSES
            .contains(&s)
            .then(|| TemporaryPermitState::parse(s).ok())
            .flatten()
        else {
            return Err(ServiceError::bad_input(
                "status",
                ErrorCode::BadStatus,
                "status must be valid, expired, cancelled or revoked",
            ));
        };
        f.status = Some(state);
    }
    if let Some(n) = q
        .document_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let n = n.to_ascii_uppercase();
        if n.len() > 20 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ServiceError::bad_input(
                "document_number",
                ErrorCode::BadDocumentNumber,
                "a permit number is letters and digits",
            ));
        }
        f.document_number = Some(n);
    }
    let mut conn = app.db.conn().await?;
    let rows = store::list(&mut conn, &f, 200).await?;
    Ok(rows.into_iter().map(|r| list_view(app, r)).collect())
}

/// One permit for officers, with its audit trail (oldest first).
pub async fn detail(
    app: &App,
    who: &crate::auth::StaffSession,
    id: &str,
) -> Result<(PermitView, Vec<exitentry_storage::audit::StoredAudit>)> {
    who.require(Permission::ViewTemporaryPermits)?;
    let mut conn = app.db.conn().await?;
    let p = store::permit(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("temporary_permit"))?;
    let mut v = view(app, &mut conn, p).await?;
    // Officers never need the credential itself.
    v.payload = None;
    let trail =
        exitentry_storage::audit::for_subject(&mut conn, &format!("temporary_permit:{id}")).await?;
    Ok((v, trail))
}

/// An officer revokes a permit; the reason is required and kept in the audit log.
pub async fn revoke(
    app: &App,
    who: &crate::auth::StaffSession,
    id: &str,
    reason: &str,
) -> Result<()> {
    who.require(Permission::RevokeTemporaryPermits)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ServiceError::bad_input(
            "reason",
            ErrorCode::BadReason,
            "give a reason of at most 500 characters",
        ));
    }
    end(
        app,
        id,
        &who.actor(),
        TemporaryPermitState::Revoked,
        Some(reason),
    )
    .await
}
