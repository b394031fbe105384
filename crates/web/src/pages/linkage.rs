//! Linkage proofs on the web: the holder's own (online) and the counter's (paper), both
//! shown on a printable page with the QR.

use super::common::{
    CsrfForm, CsrfOnly, Page, StaffWith, csrf_field, need, qr_svg, redirect_or_again, render,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::{Holder, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exitentry_domain::staff::Permission;
use exitentry_services::ServiceError;
use exitentry_services::holders::HolderSession;
use exitentry_services::linkage_proofs::{self as lp, PaperRequest, ProofView};
use serde::Deserialize;

csrf_field!(PaperForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/linkage-proof", get(my_proofs).post(my_issue))
        .route("/my/linkage-proofs/{id}", get(my_print))
        .route("/staff/linkage-proofs", get(paper_form).post(paper_issue))
        .route("/staff/linkage-proofs/{id}", get(staff_print))
}

/// A proof ready for the page: times in Beijing, the QR as inline SVG.
pub struct ProofCard {
    pub id: String,
    pub payload: String,
    pub qr_svg: String,
    pub valid_from: String,
    pub valid_until: String,
    pub holder_name: String,
    pub travel_kind: String,
    pub travel_number: String,
    pub residence_permit: String,
    pub channel: String,
    pub office: String,
    pub status: &'static str,
}

impl From<ProofView> for ProofCard {
    fn from(p: ProofView) -> Self {
        let fmt = "%Y-%m-%d %H:%M";
        ProofCard {
            qr_svg: qr_svg(&p.payload).unwrap_or_default(),
            id: p.id,
            payload: p.payload,
            valid_from: super::common::beijing(p.valid_from, fmt),
            valid_until: super::common::beijing(p.valid_until, fmt),
            holder_name: p.holder_name,
            travel_kind: p.travel_document_kind,
            travel_number: p.travel_document_number,
            residence_permit: p.residence_permit_number,
            channel: p.channel,
            office: p.office_code.unwrap_or_default(),
            status: p.status,
        }
    }
}

#[derive(Template)]
#[template(path = "holder/linkage.html")]
struct MyProofs {
    page: Page,
    holder: HolderSession,
    proofs: Vec<ProofCard>,
    error: Option<String>,
}

async fn my_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    holder: HolderSession,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, uri, None, "lp-title");
    let proofs = lp::holder_proofs(&s.app, &holder)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&MyProofs {
            page,
            holder,
            proofs: proofs.into_iter().map(ProofCard::from).collect(),
            error,
        }),
    )
        .into_response())
}

async fn my_proofs(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
) -> Result<Response, PageError> {
    my_page(&s, lang, &uri, h, None).await
}

async fn my_issue(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    _: CsrfForm<CsrfOnly>,
) -> Result<Response, PageError> {
    redirect_or_again(
        lp::issue_online(&s.app, &h).await,
        |p| format!("/my/linkage-proofs/{}", p.id),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Unavailable { .. }
            )
        },
        |err| my_page(&s, lang, &uri, h, err),
        lang,
        "/my/linkage-proof",
    )
    .await
}

#[derive(Template)]
#[template(path = "linkage_print.html")]
struct Print {
    page: Page,
    proof: ProofCard,
    back: &'static str,
}

async fn my_print(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let page = Page::new(lang, &uri, None, "lp-title");
    let proof = lp::for_print(&s.app, &id, Some(&h), None)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    Ok(render(&Print {
        page,
        proof: proof.into(),
        back: "/my/linkage-proof",
    }))
}

async fn staff_print(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let who = staff.clone();
    let page = Page::new(lang, &uri, Some(staff), "lp-title");
    let proof = lp::for_print(&s.app, &id, None, Some(&who))
        .await
        .map_err(PageError::at(lang, &page.path))?;
    Ok(render(&Print {
        page,
        proof: proof.into(),
        back: "/staff/linkage-proofs",
    }))
}

#[derive(Deserialize, Default)]
struct PaperForm {
    #[serde(default)]
    travel_document_kind: String,
    #[serde(default)]
    travel_document_number: String,
    #[serde(default)]
    residence_permit_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "staff/linkage_proof.html")]
struct Paper {
    page: Page,
    form: PaperForm,
    error: Option<String>,
}

async fn paper_form(
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
) -> Result<Response, PageError> {
    staff
        .require(Permission::PrintLinkageProofs)
        .map_err(PageError::at(lang, uri.0.path()))?;
    Ok(render(&Paper {
        page: Page::new(lang, &uri, Some(staff), "lp-paper-title"),
        form: PaperForm {
            travel_document_kind: "hrp".into(),
            ..Default::default()
        },
        error: None,
    }))
}

async fn paper_issue(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::PrintLinkageProofs>,
    CsrfForm(f, _): CsrfForm<PaperForm>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    let q = PaperRequest {
        travel_document_kind: f.travel_document_kind.clone(),
        travel_document_number: f.travel_document_number.clone(),
        residence_permit_number: f.residence_permit_number.clone(),
        name: f.name.clone(),
    };
    match lp::issue_paper(&s.app, &staff, &q).await {
        Ok(p) => Ok(Redirect::to(&format!("/staff/linkage-proofs/{}", p.id)).into_response()),
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => Ok((
            status_for(&e),
            render(&Paper {
                error: Some(message_for(&e, lang)),
                page: Page::new(lang, &uri, Some(staff), "lp-paper-title"),
                form: f,
            }),
        )
            .into_response()),
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}
