//! The online pre-application for the non-Chinese home return permit (under `/apply`; the
//! accounts are in `apply_account`, booking in `apply_booking`): the form saved as typed,
//! documents uploaded, check your answers, submission and what happens next, what a
//! reviewer asked to supplement, the history. Problems are shown only once the applicant
//! saves or continues (`?check=1`), in an error summary that links to each field; every
//! action redirects to a page a GET reloads, errors carried in the flash (`Cx::failed_to`).

use super::common::{
    CsrfForm, CsrfMultipart, CsrfOnly, Cx, Up, conflict, csrf_field, file_response,
    invalid_or_conflict, page_template, redirect_or_again,
};
use crate::AppState;
use crate::error::PageResult;
use crate::i18n::Lang;
use crate::session::Applicant;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use exitentry_domain::ErrorCode;
use exitentry_domain::countries::{self, NameLang};
use exitentry_domain::hrp::Form as HrpForm;
use exitentry_domain::states::PreApplicationState;
use exitentry_services::ServiceError;
use exitentry_services::appointments as ap;
use exitentry_services::pre_applications::{
    self as hrp, ApplicantSession, Detail, Reader, Summary,
};
use serde::Deserialize;

/// Uploads are refused above the uploads' own limits; this only stops absurd bodies early.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(start))
        .route("/apply/applications/{id}", get(show).post(save))
        .route(
            "/apply/applications/{id}/documents",
            post(upload).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/apply/applications/{id}/documents/{doc}", get(document))
        .route(
            "/apply/applications/{id}/documents/{doc}/remove",
            post(remove),
        )
        .route("/apply/applications/{id}/check", get(check))
        .route("/apply/applications/{id}/submit", post(submit))
        .route("/apply/applications/{id}/submitted", get(submitted))
}

/// An application's page, for forms on it (`/apply/applications/{id}/…`).
struct ApplicationPage;

impl super::common::Back for ApplicationPage {
    fn path(request_path: &str) -> String {
        request_path
            .split('/')
            .take(4)
            .collect::<Vec<_>>()
            .join("/")
    }
}

csrf_field!(SaveForm);

// ---- applications ----

page_template! {
    List = "apply/list.html" {
        me: ApplicantSession,
        list: Vec<Summary>,
    }
}

const LIST: &str = "/apply/applications";

async fn list_page(cx: &Cx, me: ApplicantSession) -> PageResult {
    let list = hrp::mine(cx.app(), &me).await.map_err(cx.fail(LIST))?;
    Ok(cx.render(&List {
        page: cx.page(None, "apply-list-title"),
        me,
        list,
    }))
}

async fn list(cx: Cx, Applicant(a): Applicant) -> PageResult {
    list_page(&cx, a).await
}

async fn start(cx: Cx, Applicant(a): Applicant, _: CsrfForm<CsrfOnly>) -> PageResult {
    redirect_or_again(
        &cx,
        hrp::start(cx.app(), &a).await,
        |x| format!("{LIST}/{}", x.id),
        conflict,
        async |cx| list_page(cx, a).await,
        LIST,
    )
    .await
}

/// The documents a form can name (`purpose` of an upload).
const DOCUMENTS: [&str; 5] = [
    "id_card_front",
    "id_card_back",
    "pr_notice",
    "passport",
    "other",
];

fn name_lang(lang: Lang) -> NameLang {
    match lang {
        Lang::En => NameLang::En,
        Lang::ZhHans => NameLang::ZhHans,
        Lang::ZhHant => NameLang::ZhHant,
    }
}

/// The fields and documents in the order the page shows them: the error summary follows it,
/// so its first entry is the first problem on the page.
const PAGE_ORDER: [&str; 20] = [
    "purpose",
    "current_permit",
    "name_latin",
    "sex",
    "date_of_birth",
    "nationality",
    "region",
    "permanent_id",
    "passport_number",
    "passport_expiry",
    "address",
    "phone",
    "guardian_name",
    "guardian_relation",
    "guardian_id",
    "guardian_consent",
    "id_card_front",
    "id_card_back",
    "pr_notice",
    "passport",
];

/// A problem as the error summary and its field show it: where it links and what it says.
struct Shown {
    anchor: String,
    message: String,
}

page_template! {
    Show = "apply/application.html" {
        me: ApplicantSession,
        d: Detail,
        editable: bool,
        purposes: Vec<&'static str>,
        /// The booking at the centre once approved and booked (Beijing time).
        booking: Option<String>,
        /// The applicant saved or continued: problems are shown (never on a fresh draft).
        show_errors: bool,
        /// Nationalities for the picker: code and name in the reader's language, by name.
        countries: Vec<(&'static str, &'static str)>,
        /// Why the last upload failed, naming the document.
        upload_error: Option<String>,
    }
}

impl Show {
    fn has_document(&self, purpose: &str) -> bool {
        self.d.documents.iter().any(|x| x.purpose == purpose)
    }

    /// What a problem says, in plain words: "enter …" for an empty field, "upload …" for a
    /// missing document, else the error's own message.
    fn message(&self, field: &str, code: ErrorCode, fallback: &str) -> String {
        let t = |k: &str| self.page.lang.try_t(k);
        let specific = match code {
            ErrorCode::Required => t(&format!("apply-required-{field}")),
            ErrorCode::DocumentMissing => t(&format!("apply-missing-{field}")),
            ErrorCode::BadNationality => t("apply-required-nationality"),
            _ => None,
        };
        specific
            .or_else(|| t(&format!("err-{}", code.code())))
            .unwrap_or_else(|| fallback.to_string())
    }

    fn problem(&self, field: &str) -> Option<String> {
        if !self.show_errors {
            return None;
        }
        let p = self.d.problems.iter().find(|p| p.field == field)?;
        Some(self.message(p.field, p.code, &p.message))
    }

    /// The attributes of a field in error: marked invalid and described by its message.
    fn invalid_attrs(&self, field: &str) -> String {
        if self.problem(field).is_some() {
            format!(r#" aria-invalid="true" aria-describedby="{field}-error""#)
        } else {
            String::new()
        }
    }

    /// Every problem, in the order of the page, for the error summary.
    fn summary(&self) -> Vec<Shown> {
        if !self.show_errors {
            return Vec::new();
        }
        let mut problems: Vec<_> = self.d.problems.iter().collect();
        problems.sort_by_key(|p| PAGE_ORDER.iter().position(|f| *f == p.field));
        problems
            .into_iter()
            .map(|p| Shown {
                anchor: match p.field {
                    "purpose" => "app-purpose".to_string(),
                    f if DOCUMENTS.contains(&f) => format!("doc-{f}"),
                    f => f.to_string(),
                },
                message: self.message(p.field, p.code, &p.message),
            })
            .collect()
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// `1` once the applicant saved or continued: show what still stops submission.
    #[serde(default)]
    check: String,
}

async fn show_page(cx: &Cx, me: ApplicantSession, id: &str, q: ShowQuery) -> PageResult {
    let d = hrp::get(cx.app(), &me, id)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?;
    let editable = d.status.is_editable();
    let mut purposes = d.required_documents.clone();
    purposes.push("other");
    let booking = ap::applicant_booking(cx.app(), &me)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?
        .map(|b| b.start.format("%Y-%m-%d %H:%M").to_string());
    let lang = name_lang(cx.lang);
    let countries = countries::sorted(lang)
        .filter(|c| !countries::PARTS_OF_CHINA.contains(&c.alpha3))
        .map(|c| (c.alpha3, c.name(lang)))
        .collect();
    // An upload's error names its document (the upload leaves which one it was for), next
    // to the documents; any other error is the page's.
    let mut cx = cx.clone();
    let failed_doc = cx
        .made::<String>()
        .filter(|d| DOCUMENTS.contains(&d.as_str()));
    let upload_error = match (&cx.outcome, failed_doc) {
        (Some(Err(failed)), Some(doc)) => {
            let document = cx.lang.t(&format!("doc-purpose-{doc}"));
            let reason = failed.said.text(cx.lang).to_string();
            let args = [("document", document), ("reason", reason)];
            let shown = cx.lang.t_args("apply-upload-failed", &args);
            cx.outcome = None;
            Some(shown)
        }
        _ => None,
    };
    let show_errors = q.check == "1" && editable && !d.problems.is_empty();
    let mut page = cx.page(None, "apply-application-title");
    if show_errors {
        page.title = cx
            .lang
            .t_args("apply-error-title", &[("title", page.title)]);
    }
    Ok(cx.render(&Show {
        page,
        me,
        d,
        editable,
        purposes,
        booking,
        show_errors,
        countries,
        upload_error,
    }))
}

async fn show(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    show_page(&cx, a, &id, q).await
}

/// Where an action on the application's page leads: the page (at `anchor`), or the page
/// with the error the action met (by its code), or the error page for anything else.
fn on_application<T>(
    cx: &Cx,
    id: &str,
    done: Result<T, ServiceError>,
    anchor: &str,
    shown: fn(&ServiceError) -> bool,
) -> PageResult {
    let path = format!("{LIST}/{id}");
    match done {
        Ok(_) => Ok(Redirect::to(&format!("{path}{anchor}")).into_response()),
        Err(e) if shown(&e) => Ok(cx.failed_to(&path, cx.shown(&e))),
        Err(e) => Err(cx.fail(&path)(e)),
    }
}

/// The page showing what still stops submission, from its first problem on.
fn to_problems(id: &str) -> String {
    format!("{LIST}/{id}?check=1#error-summary")
}

#[derive(Deserialize, Default)]
struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: HrpFormFields,
}

/// The form's fields as posted (the checkbox is absent when unticked).
#[derive(Deserialize, Default)]
struct HrpFormFields {
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    current_permit: String,
    #[serde(default)]
    name_latin: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    permanent_id: String,
    #[serde(default)]
    passport_number: String,
    #[serde(default)]
    passport_expiry: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    guardian_name: String,
    #[serde(default)]
    guardian_relation: String,
    #[serde(default)]
    guardian_id: String,
    #[serde(default)]
    guardian_consent: Option<String>,
    #[serde(default)]
    child_holds_id_card: Option<String>,
}

impl From<HrpFormFields> for HrpForm {
    fn from(f: HrpFormFields) -> Self {
        HrpForm {
            purpose: f.purpose,
            current_permit: f.current_permit,
            name_latin: f.name_latin,
            name_zh: f.name_zh,
            sex: f.sex,
            date_of_birth: f.date_of_birth,
            nationality: f.nationality.trim().to_ascii_uppercase(),
            region: f.region,
            permanent_id: f.permanent_id,
            passport_number: f.passport_number,
            passport_expiry: f.passport_expiry,
            address: f.address,
            phone: f.phone,
            guardian_name: f.guardian_name,
            guardian_relation: f.guardian_relation,
            guardian_id: f.guardian_id,
            guardian_consent: f.guardian_consent.is_some(),
            child_holds_id_card: f.child_holds_id_card.is_some(),
        }
    }
}

/// Saves the form as typed; then to the first problem in it, if any, else on to the
/// documents.
async fn save(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<SaveForm>,
) -> PageResult {
    match hrp::save(cx.app(), &a, &id, &f.form.into()).await {
        Ok(d) if d.problems.iter().any(|p| !DOCUMENTS.contains(&p.field)) => {
            Ok(Redirect::to(&to_problems(&id)).into_response())
        }
        done => on_application(&cx, &id, done, "#documents", invalid_or_conflict),
    }
}

async fn upload(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    form: CsrfMultipart<Up>,
) -> PageResult {
    let purpose = form.text("purpose");
    let (name, bytes) = match form.part("file") {
        Some(p) => (p.file_name.clone().unwrap_or_default(), p.bytes.clone()),
        None => (String::new(), Vec::new()),
    };
    match hrp::upload(cx.app(), &a, &id, &purpose, &name, &bytes).await {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}/{id}#documents")).into_response()),
        // The error names the document it was for.
        Err(e) if invalid_or_conflict(&e) => {
            let doc = if DOCUMENTS.contains(&purpose.as_str()) {
                purpose.as_str()
            } else {
                ""
            };
            let to = format!("{LIST}/{id}#documents");
            Ok(cx.showing(&doc).failed_to(&to, cx.shown(&e)))
        }
        Err(e) => Err(cx.fail(&format!("{LIST}/{id}"))(e)),
    }
}

async fn document(
    cx: Cx,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
) -> PageResult {
    let (d, bytes) = hrp::document(cx.app(), Reader::Applicant(&a), &id, &doc)
        .await
        .map_err(cx.fail(&format!("{LIST}/{id}")))?;
    Ok(file_response(&d.name, &d.content_type, bytes))
}

async fn remove(
    cx: Cx,
    Applicant(a): Applicant,
    Path((id, doc)): Path<(String, String)>,
    _: CsrfForm<CsrfOnly, ApplicationPage>,
) -> PageResult {
    let done = hrp::remove_document(cx.app(), &a, &id, &doc).await;
    on_application(&cx, &id, done, "#documents", conflict)
}

// ---- check your answers, submit, what happens next ----

page_template! {
    Check = "apply/check.html" {
        me: ApplicantSession,
        d: Detail,
        nationality: String,
    }
}

/// Every answer and document once more before submitting; with anything still missing,
/// the form at its first problem instead.
async fn check(cx: Cx, Applicant(a): Applicant, Path(id): Path<String>) -> PageResult {
    let path = format!("{LIST}/{id}");
    let d = hrp::get(cx.app(), &a, &id).await.map_err(cx.fail(&path))?;
    let editable = d.status.is_editable();
    if !editable {
        return Ok(Redirect::to(&path).into_response());
    }
    if !d.problems.is_empty() {
        return Ok(Redirect::to(&to_problems(&id)).into_response());
    }
    let nationality = countries::by_alpha3(&d.form.nationality)
        .map(|c| c.name(name_lang(cx.lang)).to_string())
        .unwrap_or_else(|| d.form.nationality.clone());
    Ok(cx.render(&Check {
        page: cx.page(None, "apply-check-title"),
        me: a,
        d,
        nationality,
    }))
}

async fn submit(
    cx: Cx,
    Applicant(a): Applicant,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> PageResult {
    match hrp::submit(cx.app(), &a, &id).await {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}/{id}/submitted")).into_response()),
        Err(ServiceError::Invalid { .. }) => Ok(Redirect::to(&to_problems(&id)).into_response()),
        done => on_application(&cx, &id, done, "", conflict),
    }
}

page_template! {
    Submitted = "apply/submitted.html" {
        d: Detail,
    }
}

/// After submitting: the reference, the confirmation email, and what happens next.
async fn submitted(cx: Cx, Applicant(a): Applicant, Path(id): Path<String>) -> PageResult {
    let path = format!("{LIST}/{id}");
    let d = hrp::get(cx.app(), &a, &id).await.map_err(cx.fail(&path))?;
    let waiting = matches!(
        d.status,
        PreApplicationState::Submitted | PreApplicationState::InReview
    );
    if !waiting {
        return Ok(Redirect::to(&path).into_response());
    }
    Ok(cx.render(&Submitted {
        page: cx.page(None, "apply-submitted-title"),
        d,
    }))
}
