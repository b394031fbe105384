//! The relying parties' API: permit, linkage and credential checks, one by one or as an
//! NDJSON batch. Every request carries a partner key (`Authorization: Bearer …`).

use crate::AppState;
use crate::error::{ApiError, ErrorDetail, message_for};
use crate::extract::ApiJson;
use crate::extract::context::Cx;
use crate::i18n::Lang;
use axum::Json;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use exitentry_domain::ErrorCode;
use exitentry_domain::partners::Scope;
use exitentry_services::ServiceError;
use exitentry_services::partners::{self, PartnerContext};
use exitentry_services::rate::Limit;
use exitentry_services::verification::{
    self as v, Admission, CredentialAnswer, LinkageAnswer, LinkageCheck, PermitAnswer, PermitCheck,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The calling partner, authenticated by key (confirmed live for this request), within its
/// rate and bound certificate.
pub struct Partner(pub PartnerContext);

impl FromRequestParts<AppState> for Partner {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let mut p = authenticated(parts, s).await?;
        confirmed(&mut p, parts, s).await?;
        Ok(Partner(p))
    }
}

/// Confirms a key the node had cached is still live (PostgreSQL), for routes whose own
/// lookup does not carry the check.
async fn confirmed(
    p: &mut PartnerContext,
    parts: &mut Parts,
    s: &AppState,
) -> Result<(), Response> {
    if let Err(e) = partners::confirm(&s.app, p).await {
        return Err(refuse(parts, e));
    }
    Ok(())
}

/// A relying party's refusal, in the caller's language (read only when refusing: the
/// answered checks need no language).
fn refuse(parts: &Parts, e: ServiceError) -> Response {
    ApiError::for_partner(e, Lang::for_api(&parts.headers)).into_response()
}

/// The partner a key names, within its rate and bound certificate; on PostgreSQL possibly
/// from this node's cache (`key_read` false), to be confirmed before answering.
async fn authenticated(parts: &mut Parts, s: &AppState) -> Result<PartnerContext, Response> {
    let unauthenticated = |parts: &Parts| refuse(parts, ServiceError::Unauthenticated);
    let Some(key) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Err(unauthenticated(parts));
    };
    let ctx = partners::authenticate(&s.app, key)
        .await
        .map_err(|e| refuse(parts, e))?;
    // A partner bound to a client certificate must present it; the TLS terminator
    // passes its fingerprint in the configured header.
    if let Some(want) = &ctx.client_cert_sha256 {
        let header_name = &s.app.config.server.client_cert_header;
        let got = (!header_name.is_empty())
            .then(|| parts.headers.get(header_name.as_str()))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace(':', "").to_ascii_lowercase());
        if got.as_deref() != Some(want.as_str()) {
            return Err(unauthenticated(parts));
        }
    }
    // Per key, for all nodes together when Redis is configured.
    let limit = Limit::per_second(ctx.rate_per_second);
    let key = format!("key:{}", ctx.key_id);
    if let Err(wait) = s.app.limits.check(&key, limit).await {
        // Whole seconds, at least one (`Retry-After` is set from the error).
        let wait = wait.as_secs_f64().ceil().max(1.0) as i64;
        let at = s.app.now() + chrono::Duration::seconds(wait);
        let refused = ServiceError::too_soon(ErrorCode::RateLimited, at, wait);
        return Err(refuse(parts, refused));
    }
    Ok(ctx)
}

/// Scopes a route needs (any of them).
pub trait NeedsScope {
    const ANY_OF: &'static [Scope];
    /// The route's own lookup confirms the key is live (in the same read as its documents),
    /// so the extractor need not read it first.
    const LOOKUP_CONFIRMS_KEY: bool = false;
}

/// A partner whose key carries a scope the route needs, checked before the body is read:
/// a partner without it is refused (403) and learns nothing from validation errors.
pub struct Scoped<S>(pub PartnerContext, pub std::marker::PhantomData<S>);

impl<S: NeedsScope> FromRequestParts<AppState> for Scoped<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let mut p = authenticated(parts, s).await?;
        if S::ANY_OF.iter().any(|scope| p.require(*scope).is_ok()) {
            if !S::LOOKUP_CONFIRMS_KEY {
                confirmed(&mut p, parts, s).await?;
            }
            return Ok(Scoped(p, std::marker::PhantomData));
        }
        Err(refuse(parts, ServiceError::Forbidden))
    }
}

macro_rules! scope_marker {
    ($($name:ident => [$($scope:ident),+] $(confirmed by lookup $by:literal)?),+ $(,)?) => {$(
        pub struct $name;
        impl NeedsScope for $name {
            const ANY_OF: &'static [Scope] = &[$(Scope::$scope),+];
            $(const LOOKUP_CONFIRMS_KEY: bool = $by;)?
        }
    )+};
}

// Permit and linkage checks read the key with their documents; a batch confirms it once
// when it is admitted (`verification::admit_batch`).
scope_marker!(
    VerifyPermitScope => [VerifyPermit] confirmed by lookup true,
    VerifyLinkageScope => [VerifyLinkage] confirmed by lookup true,
    VerifyCredentialScope => [VerifyCredential],
    AnyVerifyScope => [VerifyPermit, VerifyLinkage, VerifyCredential] confirmed by lookup true,
    BorderScope => [Border],
    BookScope => [BookAppointments],
);

#[derive(Deserialize, ToSchema)]
pub struct PermitJson {
    /// `eep_card`, `hrp`, `hrp_non_chinese`, `twp`, `residence_permit`, …
    pub document_kind: String,
    pub document_number: String,
    /// As on the document: Chinese or Latin script.
    pub name: String,
    /// YYYY-MM-DD.
    pub date_of_birth: String,
    /// Home return permits only: the 2-digit issue count printed on the card, which tells
    /// successive cards under the same number apart. Optional; without it the newest card
    /// under the number answers.
    #[serde(default)]
    pub issue_count: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PermitAnswerJson {
    /// A document with this number exists for a person with this name and birth date.
    #[serde(rename = "match")]
    pub matched: bool,
    /// …and it is valid today.
    pub valid: bool,
    /// `valid`, `no_match`, `expired`, `reported_lost`, `damaged`, `surrendered`, `cancelled`,
    /// or `issue_count_required` (an older card under the number is lost: send the count).
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LinkageJson {
    /// `hrp`, `hrp_non_chinese` or `twp`.
    pub travel_document_kind: String,
    pub travel_document_number: String,
    pub residence_permit_number: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct LinkageAnswerJson {
    pub linked: bool,
    /// `linked`, `no_match`, `region_mismatch`, `travel_document_not_valid`,
    /// `residence_permit_not_valid`.
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CredentialJson {
    /// The QR payload (`EE1:…`).
    pub payload: String,
    /// What it is presented for: `domestic_flight`, `domestic_rail`, … Required for
    /// credentials limited to uses (temporary permits): without it the answer is
    /// `400 use_required`, naming the credential's uses.
    #[serde(rename = "use", default)]
    pub use_: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CredentialAnswerJson {
    pub valid: bool,
    /// `valid`, `expired`, `not_yet_valid`, `revoked`, `wrong_use`, `bad_signature`, …
    pub reason: String,
    /// `temporary_permit`, `linkage_proof` or `unknown`.
    pub kind: String,
    /// What the credential is for, as signed: `domestic_flight`, `domestic_rail` for a
    /// temporary permit (never border control); empty when not limited or not authentic.
    pub permitted_uses: Vec<String>,
    /// RFC 3339, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl From<CredentialAnswer> for CredentialAnswerJson {
    fn from(a: CredentialAnswer) -> Self {
        CredentialAnswerJson {
            valid: a.valid,
            reason: a.reason.into(),
            kind: a.kind,
            permitted_uses: a.permitted_uses,
            valid_until: a
                .valid_until
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.to_rfc3339()),
        }
    }
}

/// Does a document with this number belong to a person with this name and birth date, and
/// is it valid today? Nothing else about the person is returned.
#[utoipa::path(post, path = "/api/v1/verify/permit", request_body = PermitJson,
    security(("partner_key" = [])),
    responses((status = 200, body = PermitAnswerJson), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn permit(
    cx: Cx,
    Scoped(p, _): Scoped<VerifyPermitScope>,
    ApiJson(b): ApiJson<PermitJson>,
) -> Result<Json<PermitAnswerJson>, ApiError> {
    let a = v::verify_permit(cx.app(), &p, &permit_check(b), Admission::Single)
        .await
        .map_err(cx.partner_err())?;
    Ok(Json(a.into()))
}

impl From<PermitAnswer> for PermitAnswerJson {
    fn from(a: PermitAnswer) -> Self {
        PermitAnswerJson {
            matched: a.matched,
            valid: a.valid,
            reason: a.reason.into(),
        }
    }
}

impl From<LinkageAnswer> for LinkageAnswerJson {
    fn from(a: LinkageAnswer) -> Self {
        LinkageAnswerJson {
            linked: a.linked,
            reason: a.reason.into(),
        }
    }
}

fn permit_check(b: PermitJson) -> PermitCheck {
    PermitCheck {
        document_kind: b.document_kind,
        document_number: b.document_number,
        name: b.name,
        date_of_birth: b.date_of_birth,
        issue_count: b.issue_count.unwrap_or_default(),
    }
}

fn linkage_check(b: LinkageJson) -> LinkageCheck {
    LinkageCheck {
        travel_document_kind: b.travel_document_kind,
        travel_document_number: b.travel_document_number,
        residence_permit_number: b.residence_permit_number,
        name: b.name,
    }
}

/// Are this travel permit and this residence permit valid and the same person's, with
/// agreeing regions (810000 Hong Kong HRP, 820000 Macao HRP, 830000 TWP)?
#[utoipa::path(post, path = "/api/v1/verify/linkage", request_body = LinkageJson,
    security(("partner_key" = [])),
    responses((status = 200, body = LinkageAnswerJson), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn linkage(
    cx: Cx,
    Scoped(p, _): Scoped<VerifyLinkageScope>,
    ApiJson(b): ApiJson<LinkageJson>,
) -> Result<Json<LinkageAnswerJson>, ApiError> {
    let a = v::verify_linkage(cx.app(), &p, &linkage_check(b), Admission::Single)
        .await
        .map_err(cx.partner_err())?;
    Ok(Json(a.into()))
}

/// A temporary e-permit or linkage proof: signature, validity window, revocation (live),
/// permitted use.
#[utoipa::path(post, path = "/api/v1/verify/credential", request_body = CredentialJson,
    security(("partner_key" = [])),
    responses((status = 200, body = CredentialAnswerJson), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn credential(
    cx: Cx,
    Scoped(p, _): Scoped<VerifyCredentialScope>,
    ApiJson(b): ApiJson<CredentialJson>,
) -> Result<Json<CredentialAnswerJson>, ApiError> {
    let a = v::verify_credential(
        cx.app(),
        &p,
        &b.payload,
        b.use_.as_deref(),
        Admission::Single,
    )
    .await
    .map_err(cx.partner_err())?;
    Ok(Json(a.into()))
}

/// Most lines in one batch.
pub const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
enum BatchLine {
    Permit(PermitJson),
    Linkage(LinkageJson),
    Credential(CredentialJson),
}

/// One answer line: the line number, what was checked, and the answer or the error.
#[derive(Serialize)]
struct AnswerLine<A> {
    line: usize,
    check: &'static str,
    #[serde(flatten)]
    answer: A,
}

#[derive(Serialize)]
struct ErrorLine {
    line: usize,
    error: ErrorDetail,
}

/// NDJSON in, NDJSON out: one check per line (`{"check": "permit" | "linkage" |
/// "credential", …fields}`), up to 10,000; each answer line carries `line` (1-based) and
/// either the answer or an `error`. The quota is taken for all lines up front.
#[utoipa::path(post, path = "/api/v1/verify/batch", request_body(content = String, content_type = "application/x-ndjson"),
    security(("partner_key" = [])),
    responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn batch(
    cx: Cx,
    Scoped(mut p, _): Scoped<AnyVerifyScope>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            ServiceError::bad_input("body", ErrorCode::BadNdjson, "the body is not UTF-8"),
            cx.lang,
        )
    })?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    if lines.is_empty() || lines.len() > MAX_BATCH {
        return Err(ApiError::new(
            ServiceError::bad_input(
                "body",
                ErrorCode::BadBatchSize,
                format!("send 1 to {MAX_BATCH} checks, one per line"),
            ),
            cx.lang,
        ));
    }
    v::admit_batch(cx.app(), &mut p, lines.len())
        .await
        .map_err(cx.partner_err())?;
    // Lines that are not JSON are answered in place; the rest are checked together.
    let mut checks = Vec::with_capacity(lines.len());
    let mut unreadable = Vec::new();
    for (n, line) in &lines {
        match serde_json::from_str::<BatchLine>(line) {
            Ok(BatchLine::Permit(b)) => checks.push(v::Check::Permit(permit_check(b))),
            Ok(BatchLine::Linkage(b)) => checks.push(v::Check::Linkage(linkage_check(b))),
            Ok(BatchLine::Credential(b)) => checks.push(v::Check::Credential {
                payload: b.payload,
                use_: b.use_,
            }),
            Err(e) => unreadable.push((
                *n,
                ServiceError::bad_input("line", ErrorCode::BadJson, format!("line {n}: {e}")),
            )),
        }
    }
    let answers = v::verify_many(cx.app(), &p, checks)
        .await
        .map_err(cx.partner_err())?;
    let mut answers = answers.into_iter();
    let mut unreadable = unreadable.into_iter().peekable();
    let mut out = Vec::with_capacity(lines.len() * 64);
    for (n, _) in lines {
        let result = match unreadable.next_if(|(u, _)| *u == n) {
            Some((_, e)) => Err(e),
            None => answers.next().unwrap_or(Err(ServiceError::Internal(
                "a batch line went unanswered".into(),
            ))),
        };
        write_line(&mut out, n, result, cx.lang);
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
}

fn write_line(out: &mut Vec<u8>, line: usize, result: Result<v::Answer, ServiceError>, lang: Lang) {
    let written = match result {
        Ok(v::Answer::Permit(a)) => serde_json::to_writer(
            &mut *out,
            &AnswerLine {
                line,
                check: "permit",
                answer: PermitAnswerJson::from(a),
            },
        ),
        Ok(v::Answer::Linkage(a)) => serde_json::to_writer(
            &mut *out,
            &AnswerLine {
                line,
                check: "linkage",
                answer: LinkageAnswerJson::from(a),
            },
        ),
        Ok(v::Answer::Credential(a)) => serde_json::to_writer(
            &mut *out,
            &AnswerLine {
                line,
                check: "credential",
                answer: CredentialAnswerJson::from(a),
            },
        ),
        Err(e) => {
            let field = match &e {
                ServiceError::Invalid { field, .. } => Some((*field).to_string()),
                _ => None,
            };
            let error = ErrorDetail {
                code: e.error_code(),
                message: message_for(&e, lang),
                field,
                available_from: None,
            };
            serde_json::to_writer(&mut *out, &ErrorLine { line, error })
        }
    };
    // Writing plain structs into a Vec cannot fail; a failure would only shorten the line.
    let _ = written;
    out.push(b'\n');
}

#[derive(Serialize, ToSchema)]
pub struct UsageJson {
    /// Beijing date, YYYY-MM-DD.
    pub day: String,
    /// `permit`, `linkage` or `credential`.
    pub check: String,
    pub result: String,
    pub count: i64,
}

/// The calling partner's own checks of the last 30 days, per day, check and result (any
/// key of the partner; no scope needed).
#[utoipa::path(get, path = "/api/v1/verify/usage", security(("partner_key" = [])),
    responses((status = 200, body = Vec<UsageJson>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn usage(cx: Cx, Partner(p): Partner) -> Result<Json<Vec<UsageJson>>, ApiError> {
    let rows = partners::own_usage(cx.app(), &p, 30)
        .await
        .map_err(cx.partner_err())?;
    Ok(Json(
        rows.into_iter()
            .map(|r| UsageJson {
                day: r.day.to_string(),
                check: r.kind,
                result: r.result,
                count: r.count,
            })
            .collect(),
    ))
}
