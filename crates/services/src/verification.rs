//! The checks relying parties call: is this permit genuine and valid, are this travel
//! permit and residence permit the same person's, is this credential acceptable. Answers
//! are yes/no with a reason code; nothing else about the person leaves the platform.

use crate::partners::{PartnerContext, take_quota};
use crate::{App, Result, ServiceError};
use crate::{AtField, ErrorCode};
use exitentry_domain::document::{DocumentStatus, effective_status};
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::partners::{Scope, regions_agree};
use exitentry_domain::person::parse_date;
use exitentry_domain::temporary_permit::name_matches;
use exitentry_storage::check_log::LogRecord;
use exitentry_storage::lookups::Holding;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct PermitCheck {
    pub document_kind: String,
    pub document_number: String,
    pub name: String,
    pub date_of_birth: String,
    /// The 2-digit issue count printed on a home return permit; empty when not read. Given,
    /// it names one card under a number kept for life (a lost 02 is not the valid 03).
    pub issue_count: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitAnswer {
    /// A document with this number exists for a person with this name and birth date.
    pub matched: bool,
    /// …and it is valid today.
    pub valid: bool,
    /// `valid`, `no_match`, or the document's status (`expired`, `reported_lost`, …).
    pub reason: &'static str,
}

#[derive(Debug, Clone)]
pub struct LinkageCheck {
    pub travel_document_kind: String,
    pub travel_document_number: String,
    pub residence_permit_number: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageAnswer {
    pub linked: bool,
    /// `linked`, `no_match`, `region_mismatch`, `travel_document_not_valid`,
    /// `residence_permit_not_valid`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialAnswer {
    pub valid: bool,
    pub reason: &'static str,
    pub kind: String,
    /// What the credential is for, as signed (empty when not limited or not authentic).
    pub permitted_uses: Vec<String>,
    /// Unix seconds.
    pub valid_until: Option<i64>,
}

/// Handles of `exitentry_verifications_total`, one per partner, kind and result: building
/// the labels and finding the series again for every check cost it about 2 % of its time.
#[derive(Default)]
pub struct CheckCounters(Mutex<HashMap<CounterKey, (String, metrics::Counter)>>);

/// Partner id, kind and result.
type CounterKey = (i64, &'static str, &'static str);

impl CheckCounters {
    fn increment(&self, ctx: &PartnerContext, kind: &'static str, result: &'static str) {
        let mut handles = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (name, counter) = handles
            .entry((ctx.partner_id, kind, result))
            .or_insert_with(|| (String::new(), metrics::Counter::noop()));
        // A renamed partner counts under its new name from its next check.
        if *name != ctx.name {
            *name = ctx.name.clone();
            *counter = metrics::counter!("exitentry_verifications_total", "partner" => ctx.name.clone(), "kind" => kind, "result" => result);
        }
        counter.increment(1);
    }
}

fn record(
    app: &App,
    ctx: &PartnerContext,
    kind: &'static str,
    result: &'static str,
    reason: &'static str,
    started: Instant,
    subject: &str,
) {
    app.check_counters.increment(ctx, kind, result);
    if let Some(log) = &app.usage {
        log.record(LogRecord {
            at: app.now_micros(),
            partner_id: ctx.partner_id,
            key_id: ctx.key_id.clone(),
            kind,
            result,
            reason,
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
            subject_hash: log.subject_hash(subject),
        });
    }
}

/// How a check is let in: one by one (scope and quota each time), or as a line of a batch
/// whose quota was taken for all lines at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Single,
    InBatch,
}

/// Counts a single check against the quota once its input is known to be well formed (a
/// refused request costs the partner nothing); a batch paid for its lines up front.
async fn count(app: &App, ctx: &PartnerContext, how: Admission) -> Result<()> {
    match how {
        Admission::Single => take_quota(app, ctx, 1).await,
        Admission::InBatch => Ok(()),
    }
}

/// Takes the quota for a whole batch of `n` checks up front, and confirms the key once
/// for all its lines.
pub async fn admit_batch(app: &App, ctx: &mut PartnerContext, n: usize) -> Result<()> {
    crate::partners::confirm(app, ctx).await?;
    take_quota(app, ctx, i64::try_from(n).unwrap_or(i64::MAX)).await
}

/// A document number of a kind, each fault named by its own field.
fn parse_number(
    app: &App,
    (kind_field, field): (&'static str, &'static str),
    kind: &str,
    number: &str,
) -> Result<DocumentNumber> {
    let kind = DocumentKind::parse(kind).at_field(kind_field)?;
    DocumentNumber::parse(kind, number, app.today()).at_field(field)
}

/// The document's status today (a stored `valid` past its expiry reads `expired`).
fn status_now(app: &App, d: &Holding) -> DocumentStatus {
    effective_status(&app.policy, d.kind, d.status, d.expires_on, app.today())
}

/// The documents under the numbers, read fresh; the calling key is confirmed live in the
/// same read when it was not read for this request.
async fn lookup(app: &App, ctx: &PartnerContext, numbers: &[&str]) -> Result<Vec<Holding>> {
    match app
        .db
        .check_documents(numbers, ctx.unconfirmed_key())
        .await?
    {
        Some(found) => Ok(found),
        None => {
            app.partner_cache.clear_keys();
            Err(ServiceError::Unauthenticated)
        }
    }
}

/// A permit check with its input parsed.
struct PermitQuery {
    number: DocumentNumber,
    issue_count: Option<u8>,
    dob: chrono::NaiveDate,
    name: String,
}

fn parse_permit(app: &App, ctx: &PartnerContext, q: &PermitCheck) -> Result<PermitQuery> {
    // The scope first: a partner without it learns nothing, not even about its input.
    ctx.require(Scope::VerifyPermit)?;
    let number = parse_number(
        app,
        ("document_kind", "document_number"),
        &q.document_kind,
        &q.document_number,
    )?;
    let issue_count = exitentry_domain::numbers::parse_issue_count(number.kind(), &q.issue_count)
        .at_field("issue_count")?;
    let dob = parse_date(&q.date_of_birth).at_field("date_of_birth")?;
    if q.name.trim().is_empty() {
        return Err(ServiceError::bad_input(
            "name",
            ErrorCode::BadName,
            "give the name as on the document",
        ));
    }
    Ok(PermitQuery {
        number,
        issue_count,
        dob,
        name: q.name.clone(),
    })
}

/// The answer to a permit check from the documents under its number.
fn judge_permit(app: &App, q: &PermitQuery, docs: &[&Holding]) -> PermitAnswer {
    // The newest document under the number that belongs to this name and birth date.
    let hit = docs
        .iter()
        .filter(|d| {
            d.kind == q.number.kind()
                // A card stored without its count is the first under its number.
                && q.issue_count.is_none_or(|n| d.issue_count.unwrap_or(1) == n)
                && d.date_of_birth == q.dob
                && name_matches(&q.name, &d.names)
        })
        .max_by_key(|d| (d.issued_on, d.issue_count));
    let Some(d) = hit else {
        return PermitAnswer {
            matched: false,
            valid: false,
            reason: "no_match",
        };
    };
    let status = status_now(app, d);
    // A lost card carries its successor's number: without the count printed on the card in
    // hand, the answer cannot say which of the two it is.
    let lost_sibling = q.issue_count.is_none()
        && docs.iter().any(|o| {
            o.document_id != d.document_id
                && o.kind == d.kind
                && o.status == DocumentStatus::ReportedLost
        });
    if status == DocumentStatus::Valid && lost_sibling {
        return PermitAnswer {
            matched: true,
            valid: false,
            reason: "issue_count_required",
        };
    }
    PermitAnswer {
        matched: true,
        valid: status == DocumentStatus::Valid,
        reason: status.code(),
    }
}

fn record_permit(
    app: &App,
    ctx: &PartnerContext,
    q: &PermitQuery,
    a: &PermitAnswer,
    started: Instant,
) {
    let result = match (a.matched, a.valid) {
        (true, true) => "valid",
        (true, false) => "invalid",
        _ => "no_match",
    };
    record(
        app,
        ctx,
        "permit",
        result,
        a.reason,
        started,
        q.number.as_str(),
    );
}

pub async fn verify_permit(
    app: &App,
    ctx: &PartnerContext,
    q: &PermitCheck,
    how: Admission,
) -> Result<PermitAnswer> {
    let started = Instant::now();
    let q = parse_permit(app, ctx, q)?;
    count(app, ctx, how).await?;
    let docs = lookup(app, ctx, &[q.number.as_str()]).await?;
    let answer = judge_permit(app, &q, &docs.iter().collect::<Vec<_>>());
    record_permit(app, ctx, &q, &answer, started);
    Ok(answer)
}

/// A linkage check with its input parsed.
struct LinkageQuery {
    travel: DocumentNumber,
    rp: DocumentNumber,
    name: String,
}

fn parse_linkage(app: &App, ctx: &PartnerContext, q: &LinkageCheck) -> Result<LinkageQuery> {
    ctx.require(Scope::VerifyLinkage)?;
    let travel = parse_number(
        app,
        ("travel_document_kind", "travel_document_number"),
        &q.travel_document_kind,
        &q.travel_document_number,
    )?;
    if !matches!(
        travel.kind(),
        DocumentKind::Hrp | DocumentKind::HrpNonChinese | DocumentKind::Twp
    ) {
        return Err(ServiceError::bad_input(
            "travel_document_kind",
            ErrorCode::KindNotLinkable,
            "linkage is between an HRP or TWP and a residence permit",
        ));
    }
    let rp = parse_number(
        app,
        ("residence_permit_number", "residence_permit_number"),
        "residence_permit",
        &q.residence_permit_number,
    )?;
    if q.name.trim().is_empty() {
        return Err(ServiceError::bad_input(
            "name",
            ErrorCode::BadName,
            "give the name as on the documents",
        ));
    }
    Ok(LinkageQuery {
        travel,
        rp,
        name: q.name.clone(),
    })
}

/// The answer to a linkage check from the documents under its two numbers (read together).
fn judge_linkage(app: &App, q: &LinkageQuery, docs: &[&Holding]) -> LinkageAnswer {
    let newest = |number: &DocumentNumber| {
        docs.iter()
            .filter(|d| {
                d.number == number.as_str()
                    && d.kind == number.kind()
                    && name_matches(&q.name, &d.names)
            })
            .max_by_key(|d| (d.issued_on, d.issue_count))
    };
    let answer = |linked, reason| LinkageAnswer { linked, reason };
    match (newest(&q.travel), newest(&q.rp)) {
        (Some(t), Some(r)) if t.person_id == r.person_id => {
            if !regions_agree(&q.travel, &q.rp) {
                answer(false, "region_mismatch")
            } else if status_now(app, t) != DocumentStatus::Valid {
                answer(false, "travel_document_not_valid")
            } else if status_now(app, r) != DocumentStatus::Valid {
                answer(false, "residence_permit_not_valid")
            } else {
                answer(true, "linked")
            }
        }
        // Unknown number, another person's document or a name that does not fit: one
        // answer, so the check cannot be used to learn whose document is whose.
        _ => answer(false, "no_match"),
    }
}

fn record_linkage(
    app: &App,
    ctx: &PartnerContext,
    q: &LinkageQuery,
    a: &LinkageAnswer,
    started: Instant,
) {
    let result = if a.linked { "linked" } else { "not_linked" };
    record(
        app,
        ctx,
        "linkage",
        result,
        a.reason,
        started,
        q.travel.as_str(),
    );
}

pub async fn verify_linkage(
    app: &App,
    ctx: &PartnerContext,
    q: &LinkageCheck,
    how: Admission,
) -> Result<LinkageAnswer> {
    let started = Instant::now();
    let q = parse_linkage(app, ctx, q)?;
    count(app, ctx, how).await?;
    // Both documents in one statement.
    let docs = lookup(app, ctx, &[q.travel.as_str(), q.rp.as_str()]).await?;
    let answer = judge_linkage(app, &q, &docs.iter().collect::<Vec<_>>());
    record_linkage(app, ctx, &q, &answer, started);
    Ok(answer)
}

/// Temporary e-permits and linkage proofs: signature, window, live revocation, use.
pub async fn verify_credential(
    app: &App,
    ctx: &PartnerContext,
    payload: &str,
    use_: Option<&str>,
    how: Admission,
) -> Result<CredentialAnswer> {
    let started = Instant::now();
    ctx.require(Scope::VerifyCredential)?;
    if payload.len() > 8_192 {
        return Err(ServiceError::bad_input(
            "payload",
            ErrorCode::PayloadTooLong,
            "a credential payload is at most 8 KB",
        ));
    }
    count(app, ctx, how).await?;
    let use_ = use_.map(str::trim).filter(|u| !u.is_empty());
    let v = crate::credentials::check_live(app, payload.trim(), use_).await?;
    if v.use_required(use_) {
        return Err(ServiceError::bad_input(
            "use",
            ErrorCode::UseRequired,
            format!(
                "say what the credential is presented for (`use`): it is for {} only",
                v.permitted_uses().join(", ")
            ),
        ));
    }
    let answer = CredentialAnswer {
        permitted_uses: v.permitted_uses().to_vec(),
        valid: v.valid,
        reason: v.reason.code(),
        kind: serde_json::to_value(v.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
        valid_until: v.valid_until,
    };
    let subject = v
        .claims
        .as_ref()
        .map(|c| String::from_utf8_lossy(&c.cti).into_owned())
        .unwrap_or_default();
    record(
        app,
        ctx,
        "credential",
        if answer.valid { "valid" } else { "invalid" },
        answer.reason,
        started,
        &subject,
    );
    Ok(answer)
}

/// One line of a batch.
#[derive(Debug, Clone)]
pub enum Check {
    Permit(PermitCheck),
    Linkage(LinkageCheck),
    Credential {
        payload: String,
        use_: Option<String>,
    },
}

/// The answer to one line of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Permit(PermitAnswer),
    Linkage(LinkageAnswer),
    Credential(CredentialAnswer),
}

/// Numbers read per statement when a batch looks its documents up.
const BATCH_LOOKUP: usize = 250;

/// Answers the lines of a batch admitted with [`admit_batch`], in order: each line's
/// input is checked on its own, and the documents of all lines are read a few hundred
/// numbers per lookup, the lookups all in flight at once. An `Err` of the whole is the database failing, not a line.
pub async fn verify_many(
    app: &App,
    ctx: &PartnerContext,
    checks: Vec<Check>,
) -> Result<Vec<Result<Answer>>> {
    let started = Instant::now();
    enum Parsed {
        Permit(PermitQuery),
        Linkage(LinkageQuery),
        Credential(String, Option<String>),
        Refused(ServiceError),
    }
    let parsed: Vec<Parsed> = checks
        .into_iter()
        .map(|c| {
            let p = match c {
                Check::Permit(q) => parse_permit(app, ctx, &q).map(Parsed::Permit),
                Check::Linkage(q) => parse_linkage(app, ctx, &q).map(Parsed::Linkage),
                Check::Credential { payload, use_ } => Ok(Parsed::Credential(payload, use_)),
            };
            p.unwrap_or_else(Parsed::Refused)
        })
        .collect();
    let mut numbers: Vec<&str> = Vec::with_capacity(parsed.len());
    for p in &parsed {
        match p {
            Parsed::Permit(q) => numbers.push(q.number.as_str()),
            Parsed::Linkage(q) => numbers.extend([q.travel.as_str(), q.rp.as_str()]),
            _ => {}
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    let mut by_number: HashMap<String, Vec<Holding>> = HashMap::with_capacity(numbers.len());
    // All at once: the node reads them together, several per read.
    let reads = numbers
        .chunks(BATCH_LOOKUP)
        .map(|chunk| lookup(app, ctx, chunk));
    for h in futures_util::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
    {
        by_number.entry(h.number.clone()).or_default().push(h);
    }
    let under = |numbers: &[&DocumentNumber]| -> Vec<&Holding> {
        numbers
            .iter()
            .filter_map(|n| by_number.get(n.as_str()))
            .flatten()
            .collect()
    };
    let mut answers = Vec::with_capacity(parsed.len());
    for p in parsed {
        answers.push(match p {
            Parsed::Permit(q) => {
                let a = judge_permit(app, &q, &under(&[&q.number]));
                record_permit(app, ctx, &q, &a, started);
                Ok(Answer::Permit(a))
            }
            Parsed::Linkage(q) => {
                let a = judge_linkage(app, &q, &under(&[&q.travel, &q.rp]));
                record_linkage(app, ctx, &q, &a, started);
                Ok(Answer::Linkage(a))
            }
            Parsed::Credential(payload, use_) => {
                verify_credential(app, ctx, &payload, use_.as_deref(), Admission::InBatch)
                    .await
                    .map(Answer::Credential)
            }
            Parsed::Refused(e) => Err(e),
        });
    }
    Ok(answers)
}
