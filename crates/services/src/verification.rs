//! The checks relying parties call: is this permit genuine and valid, are this travel
//! permit and residence permit the same person's, is this credential acceptable. Answers
//! are yes/no with a reason code; nothing else about the person leaves the platform.

use crate::partners::{PartnerContext, take_quota};
use crate::{App, Result, ServiceError};
use crate::{AtField, ErrorCode};
use exitentry_domain::document::DocumentStatus;
use exitentry_domain::numbers::{DocumentKind, DocumentNumber};
use exitentry_domain::partners::{Scope, regions_agree};
use exitentry_domain::person::parse_date;
use exitentry_domain::temporary_permit::name_matches;
use exitentry_storage::documents;
use exitentry_storage::partners::LogRecord;
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

/// The keyed hash under which a document number is logged: lets staff count repeated
/// checks of one document without the log holding the number itself.
fn subject_hash(app: &App, subject: &str) -> String {
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        app.config.security.log_hash_secret.expose().as_bytes(),
    );
    hex::encode(&ring::hmac::sign(&key, subject.as_bytes()).as_ref()[..16])
}

fn record(
    app: &App,
    ctx: &PartnerContext,
    kind: &str,
    result: &str,
    reason: &str,
    started: Instant,
    subject: &str,
) {
    metrics::counter!("exitentry_verifications_total", "partner" => ctx.name.clone(), "kind" => kind.to_string(), "result" => result.to_string())
        .increment(1);
    if let Some(log) = &app.usage {
        log.record(LogRecord {
            at: app.now_micros(),
            partner_id: ctx.partner_id,
            key_id: ctx.key_id.clone(),
            kind: kind.into(),
            result: result.into(),
            reason: reason.into(),
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
            subject_hash: subject_hash(app, subject),
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

/// Takes the quota for a whole batch of `n` checks up front.
pub async fn admit_batch(app: &App, ctx: &PartnerContext, n: usize) -> Result<()> {
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

fn status_now(app: &App, d: &documents::StoredDocument) -> DocumentStatus {
    app.document_status(&d.doc, app.today())
}

pub async fn verify_permit(
    app: &App,
    ctx: &PartnerContext,
    q: &PermitCheck,
    how: Admission,
) -> Result<PermitAnswer> {
    let started = Instant::now();
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
    count(app, ctx, how).await?;
    let mut conn = app.db.conn().await?;
    let docs = documents::by_number(&mut conn, number.as_str()).await?;
    drop(conn);
    // The newest document under the number that belongs to this name and birth date.
    let hit = docs
        .iter()
        .filter(|(d, p)| {
            d.doc.kind == number.kind()
                // A card stored without its count is the first under its number.
                && issue_count.is_none_or(|n| d.doc.issue_count.unwrap_or(1) == n)
                && p.person.date_of_birth == dob
                && name_matches(&q.name, &p.person.names)
        })
        .max_by_key(|(d, _)| (d.doc.issued_on, d.doc.issue_count));
    let answer = match hit {
        None => PermitAnswer {
            matched: false,
            valid: false,
            reason: "no_match",
        },
        Some((d, _)) => {
            let status = status_now(app, d);
            // A lost card carries its successor's number: without the count printed on the
            // card in hand, the answer cannot say which of the two it is.
            let lost_sibling = issue_count.is_none()
                && docs.iter().any(|(o, _)| {
                    o.id != d.id
                        && o.doc.kind == d.doc.kind
                        && o.doc.status == DocumentStatus::ReportedLost
                });
            if status == DocumentStatus::Valid && lost_sibling {
                PermitAnswer {
                    matched: true,
                    valid: false,
                    reason: "issue_count_required",
                }
            } else {
                PermitAnswer {
                    matched: true,
                    valid: status == DocumentStatus::Valid,
                    reason: status.code(),
                }
            }
        }
    };
    let result = match (answer.matched, answer.valid) {
        (true, true) => "valid",
        (true, false) => "invalid",
        _ => "no_match",
    };
    record(
        app,
        ctx,
        "permit",
        result,
        answer.reason,
        started,
        number.as_str(),
    );
    Ok(answer)
}

pub async fn verify_linkage(
    app: &App,
    ctx: &PartnerContext,
    q: &LinkageCheck,
    how: Admission,
) -> Result<LinkageAnswer> {
    let started = Instant::now();
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
    count(app, ctx, how).await?;
    let mut conn = app.db.conn().await?;
    let travel_docs = documents::by_number(&mut conn, travel.as_str()).await?;
    let rp_docs = documents::by_number(&mut conn, rp.as_str()).await?;
    drop(conn);
    let newest = |docs: &[(
        documents::StoredDocument,
        exitentry_storage::people::StoredPerson,
    )],
                  kind| {
        docs.iter()
            .filter(|(d, p)| d.doc.kind == kind && name_matches(&q.name, &p.person.names))
            .max_by_key(|(d, _)| (d.doc.issued_on, d.doc.issue_count))
            .cloned()
    };
    let answer = match (
        newest(&travel_docs, travel.kind()),
        newest(&rp_docs, DocumentKind::ResidencePermit),
    ) {
        (Some((t, tp)), Some((r, rpp))) if tp.id == rpp.id => {
            if !regions_agree(&travel, &rp) {
                LinkageAnswer {
                    linked: false,
                    reason: "region_mismatch",
                }
            } else if status_now(app, &t) != DocumentStatus::Valid {
                LinkageAnswer {
                    linked: false,
                    reason: "travel_document_not_valid",
                }
            } else if status_now(app, &r) != DocumentStatus::Valid {
                LinkageAnswer {
                    linked: false,
                    reason: "residence_permit_not_valid",
                }
            } else {
                LinkageAnswer {
                    linked: true,
                    reason: "linked",
                }
            }
        }
        // Unknown number, another person's document or a name that does not fit: one
        // answer, so the check cannot be used to learn whose document is whose.
        _ => LinkageAnswer {
            linked: false,
            reason: "no_match",
        },
    };
    let result = if answer.linked {
        "linked"
    } else {
        "not_linked"
    };
    record(
        app,
        ctx,
        "linkage",
        result,
        answer.reason,
        started,
        travel.as_str(),
    );
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
