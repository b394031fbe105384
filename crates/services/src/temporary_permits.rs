//! Temporary e-permits: apply with permit details, confirm the SMS code, pass the face
//! check, and receive a signed QR credential — within the monthly limit.

use crate::holders::HolderSession;
use crate::providers::FaceSubject;
use crate::tokens::token_hash;
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use exitentry_credentials::{Claims, CredentialBody, CredentialKind};
use exitentry_domain::Invalid;
use exitentry_domain::document::effective_status;
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::person::{Sex, parse_date};
use exitentry_domain::staff::{Permission, check_password_strength};
use exitentry_domain::temporary_permit::{
    MobileNumber, PermittedUse, check_eligible, check_eligible_on, month_key, name_matches,
    next_month_start, validity,
};
use exitentry_storage::from_micros;
use exitentry_storage::temporary_permits::{self as store, ApplicationRecord, PermitRecord};
use exitentry_storage::{AnyConnection, documents, jobs};
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
}

fn invalid(field: &'static str, code: &'static str, msg: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, Invalid::new(code, msg))
}

fn no_match() -> ServiceError {
    // One answer for every mismatch, so the form cannot be used to probe the registry.
    invalid(
        "document_number",
        "no_matching_permit",
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
    let kind = DocumentKind::parse(document_kind)
        .map_err(|e| ServiceError::invalid("document_kind", e))?;
    if !matches!(kind, DocumentKind::Hrp | DocumentKind::Twp) {
        return Err(invalid(
            "document_kind",
            "kind_not_eligible",
            "temporary permits stand in for a home return permit or a Taiwan residents' permit",
        ));
    }
    DocumentNumber::parse(kind, document_number, app.today())
        .map_err(|e| ServiceError::invalid("document_number", e))?;
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(invalid(
            "name",
            "bad_name",
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
    let kind = DocumentKind::parse(&input.document_kind)
        .map_err(|e| ServiceError::invalid("document_kind", e))?;
    if !matches!(kind, DocumentKind::Hrp | DocumentKind::Twp) {
        return Err(
            check_eligible(kind, exitentry_domain::document::DocumentStatus::Valid)
                .err()
                .map(|e| ServiceError::invalid("document_kind", e))
                .unwrap_or_else(no_match),
        );
    }
    let number = DocumentNumber::parse(kind, &input.document_number, today)
        .map_err(|e| ServiceError::invalid("document_number", e))?;
    let expiry: NaiveDate = parse_date(&input.document_expiry)
        .map_err(|e| ServiceError::invalid("document_expiry", e))?;
    let sex = Sex::parse(&input.sex).map_err(|e| ServiceError::invalid("sex", e))?;
    let mobile =
        MobileNumber::parse(&input.mobile).map_err(|e| ServiceError::invalid("mobile", e))?;
    check_password_strength(&input.password).map_err(|e| ServiceError::invalid("password", e))?;
    if today < rules.available_from {
        return Err(invalid(
            "document_kind",
            "not_available",
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
    let status = effective_status(&app.policy, kind, doc.doc.status, doc.doc.expires_on, today);
    check_eligible_on(kind, status, doc.doc.expires_on, today)
        .map_err(|e| ServiceError::invalid("document_number", e))?;
    // The month's limit is told now, before an SMS and a face photo are asked for; it is
    // still taken atomically at issuance.
    let now = app.now();
    if store::issued_in_month(&mut conn, holder.id, &month_key(now)).await?
        >= rules.per_calendar_month
    {
        return Err(ServiceError::LimitReached {
            code: "monthly_limit_reached",
            until: next_month_start(now),
        });
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
        state: "awaiting_sms".into(),
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
    queue_code(app, &mut tx, mobile.as_str(), &code, now).await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
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
    now: DateTime<Utc>,
) -> Result<()> {
    let minutes = app.policy.temporary_permit.sms_code_minutes;
    let sms = json!({"to": mobile, "text": format!(
        "【出入境】临时电子通行证验证码 {code}，{minutes} 分钟内有效。Verification code {code}, valid {minutes} minutes.")});
    jobs::enqueue(
        tx,
        "sms",
        &sms.to_string(),
        now.timestamp_micros(),
        now.timestamp_micros(),
    )
    .await?;
    Ok(())
}

async fn load(app: &App, id: &str) -> Result<ApplicationRecord> {
    let mut conn = app.db.conn().await?;
    store::application(&mut conn, id)
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

fn wrong_state(state: &str) -> ServiceError {
    ServiceError::Conflict {
        code: "wrong_step",
        message: format!("the application is at step {state}"),
    }
}

/// Confirms the SMS code: 6 digits, valid for minutes, a limited number of tries.
pub async fn confirm_sms_code(app: &App, id: &str, code: &str) -> Result<()> {
    let rules = &app.policy.temporary_permit;
    let a = load(app, id).await?;
    if a.state != "awaiting_sms" {
        return Err(wrong_state(&a.state));
    }
    let now = app.now_micros();
    if a.sms_tries >= rules.sms_max_tries {
        return Err(invalid(
            "code",
            "too_many_attempts",
            "too many wrong codes; start a new application",
        ));
    }
    if now > a.sms_expires_at {
        return Err(invalid(
            "code",
            "sms_code_expired",
            "the code has expired; start a new application",
        ));
    }
    let mut tx = app.db.begin().await?;
    let tries = store::count_sms_try(&mut tx, id, now).await?;
    let ok = code.trim().len() == 6
        && code_hash(id, code.trim()) == a.sms_code_hash
        && tries <= rules.sms_max_tries;
    if ok {
        store::advance(&mut tx, id, "awaiting_sms", "awaiting_face", None, now).await?;
    }
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    if ok {
        Ok(())
    } else if tries >= rules.sms_max_tries {
        Err(invalid(
            "code",
            "too_many_attempts",
            "too many wrong codes; start a new application",
        ))
    } else {
        Err(invalid(
            "code",
            "sms_code_invalid",
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

/// Largest live capture accepted (a phone photo, downscaled by the page or the app).
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;

/// A well-formed JPEG (SOI … EOI) or PNG (signature, IHDR first, IEND last); the real type
/// is read from the bytes, never from a name or a header.
pub(crate) fn check_image(b: &[u8]) -> Result<()> {
    if b.len() > MAX_IMAGE_BYTES {
        return Err(invalid(
            "image",
            "image_too_large",
            format!(
                "the photo is larger than {} MB",
                MAX_IMAGE_BYTES / (1024 * 1024)
            ),
        ));
    }
    let jpeg = b.len() > 4 && b.starts_with(&[0xFF, 0xD8, 0xFF]) && b.ends_with(&[0xFF, 0xD9]);
    let png = b.len() > 20
        && b.starts_with(b"\x89PNG\r\n\x1a\n")
        && &b[12..16] == b"IHDR"
        && b[b.len().saturating_sub(8)..].starts_with(b"IEND");
    if jpeg || png {
        Ok(())
    } else {
        Err(invalid("image", "bad_image", "send a JPEG or PNG photo"))
    }
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
    if a.state != "awaiting_face" {
        return Err(wrong_state(&a.state));
    }
    check_image(image)?;
    // A face is checked a few times per application, within the time its code allowed:
    // the binding of the holder's sign-in rests on it.
    let deadline = from_micros(a.sms_sent_at) + Duration::minutes(FACE_MINUTES);
    if app.now() > deadline {
        return Err(invalid(
            "image",
            "application_expired",
            "this application has expired; start again",
        ));
    }
    {
        let mut conn = app.db.conn().await?;
        if !store::take_face_attempt(&mut conn, id, MAX_FACE_TRIES).await? {
            return Err(invalid(
                "image",
                "too_many_face_checks",
                "too many face checks; start again",
            ));
        }
    }
    let subject = {
        let mut conn = app.db.conn().await?;
        let doc = documents::get(&mut conn, a.document_id)
            .await?
            .ok_or(ServiceError::NotFound("document"))?;
        FaceSubject {
            document_kind: doc.doc.kind.code().to_string(),
            document_number: doc.doc.number,
        }
    };
    if !face.verify(&subject, image).await? {
        return Err(invalid(
            "image",
            "face_mismatch",
            "the face check did not match the photo on record",
        ));
    }
    let keys = app.keys.as_deref().ok_or(ServiceError::Unavailable {
        code: "keys_not_initialised",
        message: "signing keys are not set up".into(),
    })?;
    let signer = keys.current()?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let doc = documents::get(&mut tx, a.document_id)
        .await?
        .ok_or(ServiceError::NotFound("document"))?;
    let holder = exitentry_storage::people::get(&mut tx, a.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
    // The registry may have changed since the first step (a day passed, the permit was
    // cancelled): the same check again, a clear answer and never an unsignable credential.
    let today = app.today();
    let status = effective_status(
        &app.policy,
        doc.doc.kind,
        doc.doc.status,
        doc.doc.expires_on,
        today,
    );
    check_eligible_on(doc.doc.kind, status, doc.doc.expires_on, today)
        .map_err(|e| ServiceError::invalid("document_number", e))?;
    let month = month_key(now);
    if !store::take_month_slot(&mut tx, a.person_id, &month, rules.per_calendar_month).await? {
        return Err(ServiceError::LimitReached {
            code: "monthly_limit_reached",
            until: next_month_start(now),
        });
    }
    let index = store::next_status_index(&mut tx).await?;
    let (from, until) = validity(&rules, now, doc.doc.expires_on);
    if until <= from {
        return Err(invalid(
            "document_number",
            "permit_expired",
            "the permit has expired",
        ));
    }
    let permit_id = format!("TP-{}", &crate::tokens::random_token()[..20]);
    let uses: Vec<&'static str> = PermittedUse::ALL.iter().map(|u| u.code()).collect();
    let claims = Claims {
        iss: app.config.credentials.issuer.clone(),
        iat: now.timestamp(),
        nbf: from.timestamp(),
        exp: until.timestamp(),
        cti: permit_id.as_bytes().to_vec(),
        body: Some(CredentialBody {
            kind: CredentialKind::TemporaryPermit,
            holder_name_zh: holder.person.names.zh.clone(),
            holder_name_latin: holder.person.names.latin.clone(),
            date_of_birth: holder.person.date_of_birth.to_string(),
            sex: holder.person.sex.code().to_string(),
            document_kind: doc.doc.kind.code().to_string(),
            document_number: doc.doc.number.clone(),
            permitted_uses: uses.iter().map(|u| u.to_string()).collect(),
            status_index: u64::try_from(index)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            linked_document_number: None,
        }),
    };
    let payload = exitentry_credentials::issue(&signer, &claims, &app.config.credentials.prefix)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let record = PermitRecord {
        id: permit_id.clone(),
        person_id: a.person_id,
        document_id: a.document_id,
        status_index: index,
        month_key: month,
        valid_from: from.timestamp_micros(),
        valid_until: until.timestamp_micros(),
        status: "valid".into(),
        revoked_reason: None,
        payload: payload.clone(),
    };
    store::insert(&mut tx, &record, now.timestamp_micros()).await?;
    if !store::advance(
        &mut tx,
        id,
        "awaiting_face",
        "issued",
        Some(&permit_id),
        now.timestamp_micros(),
    )
    .await?
    {
        return Err(wrong_state("issued"));
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
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
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
pub async fn resend_sms_code(app: &App, id: &str) -> Result<DateTime<Utc>> {
    let rules = &app.policy.temporary_permit;
    let a = load(app, id).await?;
    if a.state != "awaiting_sms" {
        return Err(wrong_state(&a.state));
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
            return Err(invalid(
                "code",
                "too_many_codes",
                "no more codes can be sent for this application; start a new application",
            ));
        }
        let next = from_micros(a.sms_sent_at) + wait;
        return Err(ServiceError::TooSoon {
            code: "resend_too_soon",
            retry_after: next,
            wait_secs: (next - now).num_seconds().max(1),
        });
    }
    crate::limits::take_sms(app, &mut tx, &a.mobile, a.person_id).await?;
    queue_code(app, &mut tx, &a.mobile, &code, now).await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(now + wait)
}

/// Where an application stands; the permit once issued (and still valid).
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub id: String,
    /// `awaiting_sms`, `awaiting_face` or `issued`.
    pub state: String,
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
        resend_at: (a.state == "awaiting_sms").then(|| from_micros(a.sms_sent_at) + wait),
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
    /// `valid`, `expired`, `cancelled` or `revoked`.
    pub status: &'static str,
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

/// The status a reader should see: a permit past its end is `expired`.
pub fn permit_status(stored: &str, valid_until: i64, now: i64) -> &'static str {
    match stored {
        "cancelled" => "cancelled",
        "revoked" => "revoked",
        _ if valid_until <= now => "expired",
        _ => "valid",
    }
}

async fn view(app: &App, conn: &mut AnyConnection, p: PermitRecord) -> Result<PermitView> {
    let doc = documents::get(conn, p.document_id)
        .await?
        .ok_or(ServiceError::NotFound("document"))?;
    let holder = exitentry_storage::people::get(conn, p.person_id)
        .await?
        .ok_or(ServiceError::NotFound("person"))?;
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
    let status = permit_status(&r.permit.status, r.permit.valid_until, app.now_micros());
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
        payload: (status == "valid").then_some(r.permit.payload),
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
async fn end(app: &App, id: &str, actor: &str, status: &str, reason: Option<&str>) -> Result<()> {
    let now = app.now_micros();
    let mut tx = app.db.begin().await?;
    let p = store::permit(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound("temporary_permit"))?;
    if permit_status(&p.status, p.valid_until, now) != "valid"
        || !store::end(&mut tx, id, status, reason, now).await?
    {
        return Err(ServiceError::Conflict {
            code: "permit_not_valid",
            message: "the permit is no longer valid".into(),
        });
    }
    audit::record(
        app,
        &mut tx,
        actor,
        &format!(
            "temporary_permit.{}",
            if status == "revoked" {
                "revoke"
            } else {
                "cancel"
            }
        ),
        &format!("temporary_permit:{id}"),
        json!({"reason": reason, "status_index": p.status_index}),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
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
    end(app, id, &holder.actor(), "cancelled", None).await
}

/// The officer list's filter as typed on the page or in the query string.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Issue date (Beijing), YYYY-MM-DD.
    pub date: Option<String>,
    pub status: Option<String>,
    pub document_number: Option<String>,
}

pub const STATUSES: [&str; 4] = ["valid", "expired", "cancelled", "revoked"];

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
        let day = parse_date(d).map_err(|e| ServiceError::invalid("date", e))?;
        let start = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(exitentry_domain::time::cst()).single())
            .ok_or_else(|| invalid("date", "bad_date", "not a date"))?;
        f.issued_from = Some(start.timestamp_micros());
        f.issued_to = Some((start + Duration::days(1)).timestamp_micros());
    }
    if let Some(s) = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if !STATUSES.contains(&s) {
            return Err(invalid(
                "status",
                "bad_status",
                "status must be valid, expired, cancelled or revoked",
            ));
        }
        f.status = Some(s.to_string());
    }
    if let Some(n) = q
        .document_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let n = n.to_ascii_uppercase();
        if n.len() > 20 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(
                "document_number",
                "bad_document_number",
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
        return Err(invalid(
            "reason",
            "bad_reason",
            "give a reason of at most 500 characters",
        ));
    }
    end(app, id, &who.actor(), "revoked", Some(reason)).await
}
