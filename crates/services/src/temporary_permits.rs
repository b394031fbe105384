//! Temporary e-permits: apply with permit details, confirm the SMS code, pass the face
//! check, and receive a signed QR credential — within the monthly limit.

use crate::auth::{hash_password, token_hash};
use crate::{App, Result, ServiceError, audit};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use exitentry_credentials::{Claims, CredentialBody, CredentialKind};
use exitentry_domain::Invalid;
use exitentry_domain::document::effective_status;
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::person::{Sex, parse_date};
use exitentry_domain::staff::check_password_strength;
use exitentry_domain::temporary_permit::{
    MobileNumber, PermittedUse, check_eligible, month_key, name_matches, next_month_start, validity,
};
use exitentry_storage::temporary_permits::{self as store, ApplicationRecord, PermitRecord};
use exitentry_storage::{documents, jobs};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;

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

/// The face-verification provider: live capture against the photo on record.
pub trait FaceVerifier: Send + Sync {
    fn verify<'a>(
        &'a self,
        person_id: i64,
        image: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>>;
}

/// Development double: accepts any well-formed image unless configured to refuse.
pub struct DevFaceVerifier {
    pub accept: bool,
}

impl FaceVerifier for DevFaceVerifier {
    fn verify<'a>(
        &'a self,
        _: i64,
        _: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>> {
        let accept = self.accept;
        Box::pin(async move { Ok(accept) })
    }
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

/// Checks the details against the registry, stores the application and queues the SMS
/// code (same transaction). Returns the application id.
pub async fn apply(app: &App, input: &ApplyInput) -> Result<String> {
    let rules = &app.policy.temporary_permit;
    let today = app.today();
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
    check_eligible(kind, status).map_err(|e| ServiceError::invalid("document_number", e))?;
    drop(conn);

    let id = format!("TPA-{}", &crate::auth::random_token()[..20]);
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let now = app.now();
    let record = ApplicationRecord {
        id: id.clone(),
        person_id: holder.id,
        document_id: doc.id,
        mobile: mobile.as_str().to_string(),
        password_hash: hash_password(&input.password)?,
        state: "awaiting_sms".into(),
        sms_code_hash: code_hash(&id, &code),
        sms_sent_at: now.timestamp_micros(),
        sms_expires_at: (now + Duration::minutes(rules.sms_code_minutes)).timestamp_micros(),
        sms_tries: 0,
        permit_id: None,
    };
    let mut tx = app.db.begin().await?;
    store::insert_application(&mut tx, &record, now.timestamp_micros()).await?;
    let sms = json!({"to": mobile.as_str(), "text": format!(
        "【出入境】临时电子通行证验证码 {code}，{} 分钟内有效。Verification code {code}, valid {} minutes.",
        rules.sms_code_minutes, rules.sms_code_minutes)});
    jobs::enqueue(
        &mut tx,
        "sms",
        &sms.to_string(),
        now.timestamp_micros(),
        now.timestamp_micros(),
    )
    .await?;
    tx.commit()
        .await
        .map_err(exitentry_storage::StorageError::from)?;
    Ok(id)
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

fn is_jpeg_or_png(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xD8, 0xFF]) || b.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// The face check, then issuance: monthly slot, status-list index, signed credential and
/// the application's final step, all in one transaction.
pub async fn submit_face(
    app: &App,
    id: &str,
    image: &[u8],
    face: &dyn FaceVerifier,
) -> Result<IssuedPermit> {
    let rules = app.policy.temporary_permit.clone();
    let a = load(app, id).await?;
    if a.state != "awaiting_face" {
        return Err(wrong_state(&a.state));
    }
    if !is_jpeg_or_png(image) {
        return Err(invalid("image", "bad_image", "send a JPEG or PNG photo"));
    }
    if !face.verify(a.person_id, image).await? {
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
    let month = month_key(now);
    if !store::take_month_slot(&mut tx, a.person_id, &month, rules.per_calendar_month).await? {
        let next = next_month_start(now).with_timezone(&exitentry_domain::temporary_permit::cst());
        return Err(ServiceError::Conflict {
            code: "monthly_limit_reached",
            message: format!(
                "{} temporary permits were issued this month; the next one is possible from {}",
                rules.per_calendar_month,
                next.format("%Y-%m-%d %H:%M (UTC+8)")
            ),
        });
    }
    let index = store::next_status_index(&mut tx).await?;
    let (from, until) = validity(&rules, now, doc.doc.expires_on);
    let permit_id = format!("TP-{}", &crate::auth::random_token()[..20]);
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
    audit::record(
        app,
        &mut tx,
        &format!("holder:{}", a.person_id),
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

/// Runs due jobs; the development SMS provider delivers to the outbox. Returns how many ran.
pub async fn run_due_jobs(app: &App) -> Result<usize> {
    let mut ran = 0;
    loop {
        let now = app.now_micros();
        let mut tx = app.db.begin().await?;
        let Some(job) = jobs::claim(&mut tx, app.db.backend(), now, 60_000_000).await? else {
            return Ok(ran);
        };
        let msg: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        match job.kind.as_str() {
            "sms" => match (msg["to"].as_str(), msg["text"].as_str()) {
                (Some(to), Some(text)) => {
                    jobs::deliver_to_outbox(&mut tx, "sms", to, None, text, now).await?;
                    jobs::complete(&mut tx, job.id, now).await?;
                }
                _ => jobs::fail(&mut tx, job.id, "malformed sms job", None, now).await?,
            },
            other => {
                jobs::fail(
                    &mut tx,
                    job.id,
                    &format!("unknown job kind {other}"),
                    None,
                    now,
                )
                .await?
            }
        }
        tx.commit()
            .await
            .map_err(exitentry_storage::StorageError::from)?;
        ran += 1;
    }
}

/// Messages the development providers delivered, newest first.
pub async fn outbox(app: &App, limit: i64) -> Result<Vec<jobs::OutboxMessage>> {
    let mut conn = app.db.conn().await?;
    Ok(jobs::outbox(&mut conn, limit).await?)
}

/// The background worker: runs due jobs about once a second until the process ends.
pub async fn run_worker(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = run_due_jobs(&app).await {
            tracing::warn!(error = %e, "job run failed");
        }
    }
}
