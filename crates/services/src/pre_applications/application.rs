//! The applicant's pre-application: start, save, uploads, submit, the documents on record.

use super::*;
use crate::ErrorCode;
use crate::OnConflict;
use crate::auth::StaffSession;
use crate::email::{self, Email};
use crate::tokens::random_token;
use crate::{App, Result, ServiceError, audit, uploads};
use exitentry_domain::hrp::{self, FieldError, Form};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::PreApplicationState;
use exitentry_storage::AnyConnection;
use exitentry_storage::pre_applications::{self as store, ApplicationRow, EventRow};
use serde::Serialize;
use serde_json::json;

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
    pub status: PreApplicationState,
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

pub(super) fn owner(id: &str) -> String {
    format!("hrp_application:{id}")
}

pub(super) async fn detail(app: &App, a: &ApplicationRow, for_staff: bool) -> Result<Detail> {
    let form: Form = serde_json::from_str(&a.form).unwrap_or_default();
    let docs = uploads::list(app, &owner(&a.id)).await?;
    let mut conn = app.db.conn().await?;
    let events = store::events(&mut conn, &a.id).await?;
    let account = account_by_id(&mut conn, a.account_id).await?;
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
    let requested = (a.status == PreApplicationState::SupplementRequested)
        .then(|| {
            history
                .iter()
                .rev()
                .find(|e| e.kind == PreApplicationState::SupplementRequested.code())
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
        status: a.status,
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
pub(super) async fn on_record(
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
pub(super) fn completeness(
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
                    // Named by the document, so the page can say which one to upload.
                    field: r,
                    code: ErrorCode::DocumentMissing,
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
    pub status: PreApplicationState,
    pub name: String,
    pub submitted_at: Option<i64>,
    pub round: i64,
    pub claimed_by: Option<String>,
}

pub(super) fn summary(a: &ApplicationRow) -> Summary {
    let form: Form = serde_json::from_str(&a.form).unwrap_or_default();
    Summary {
        id: a.id.clone(),
        reference: a.reference.clone(),
        status: a.status,
        name: form.name_latin,
        submitted_at: a.submitted_at,
        round: a.round,
        claimed_by: a.claimed_by.clone(),
    }
}

pub(super) async fn own(app: &App, s: &ApplicantSession, id: &str) -> Result<ApplicationRow> {
    let mut conn = app.db.conn().await?;
    // Someone else's application looks exactly like one that does not exist.
    store::get(&mut conn, id)
        .await?
        .filter(|a| a.account_id == s.account_id)
        .ok_or(ServiceError::NotFound("application"))
}

/// A step in an application's history: in which round, what happened (`submitted`,
/// `claimed`, a decision's state …), by whom, and the items asked for and a note, if any.
pub(super) struct Step<'a> {
    pub(super) round: i64,
    pub(super) kind: &'a str,
    pub(super) actor: &'a str,
    pub(super) items: &'a [String],
    pub(super) note: &'a str,
}

impl<'a> Step<'a> {
    /// A step without items or a note.
    pub(super) fn new(round: i64, kind: &'a str, actor: &'a str) -> Step<'a> {
        Step {
            round,
            kind,
            actor,
            items: &[],
            note: "",
        }
    }
}

/// Records a step in the application's history and the audit log, in the caller's transaction.
pub(super) async fn event(
    conn: &mut AnyConnection,
    app: &App,
    a: &ApplicationRow,
    step: Step<'_>,
) -> Result<()> {
    let Step {
        round,
        kind,
        actor,
        items,
        note,
    } = step;
    let row = EventRow {
        round,
        kind: kind.into(),
        actor: actor.into(),
        items: serde_json::to_string(items).unwrap_or_else(|_| "[]".into()),
        note: note.into(),
        created_at: app.now_micros(),
    };
    store::add_event(conn, &a.id, &row).await?;
    let action = format!("hrp_application.{kind}");
    let detail = json!({"round": round, "items": items});
    audit::record(app, conn, actor, &action, &owner(&a.id), detail).await
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
        status: PreApplicationState::Draft,
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
    store::insert(&mut tx, &row).await.on_conflict(|| {
        ServiceError::conflict(
            ErrorCode::ApplicationInProgress,
            "you already have an application in progress; continue it",
        )
    })?;
    audit::record(
        app,
        &mut tx,
        &s.actor(),
        "hrp_application.start",
        &owner(&row.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
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
    if !a.status.is_editable() {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
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
        return Err(ServiceError::bad_input(
            "form",
            ErrorCode::BadText,
            "a field is far too long",
        ));
    }
    let json = serde_json::to_string(form).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut conn = app.db.conn().await?;
    if !store::save_form(&mut conn, &a.id, &json, app.now_micros()).await? {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
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
    if !a.status.is_editable() {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
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
        return Err(ServiceError::bad_input(
            "purpose",
            ErrorCode::BadPurpose,
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
    if !a.status.is_editable() {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
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
    if !a.status.is_editable() {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
            format!("this application is {}", a.status),
        ));
    }
    if let Some(p) = d.problems.first() {
        return Err(ServiceError::bad_input(
            p.field,
            p.code,
            d.problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    let applicant = hrp::check(&d.form, app.today()).map_err(|_| {
        ServiceError::bad_input("form", ErrorCode::Incomplete, "the form is not complete")
    })?;
    let mut tx = app.db.begin().await?;
    let resubmit = a.status == PreApplicationState::SupplementRequested;
    if !store::submit(
        &mut tx,
        &a.id,
        applicant.id_kind().code(),
        applicant.permanent_id.as_str(),
        app.now_micros(),
    )
    .await?
    {
        return Err(ServiceError::conflict(
            ErrorCode::NotEditable,
            "this application changed meanwhile",
        ));
    }
    let kind = if resubmit { "resubmitted" } else { "submitted" };
    event(&mut tx, app, &a, Step::new(a.round + 1, kind, &s.actor())).await?;
    // The confirmation, in the account's language, commits with the submission.
    let account = account_by_id(&mut tx, a.account_id).await?;
    let mail = Email::Submitted {
        reference: a.reference.clone(),
        link: email::link(app, &format!("/apply/applications/{}", a.id)),
    };
    mail_account(app, &mut tx, &account, &mail).await?;
    tx.commit().await?;
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
