//! Linkage proofs on the web: the holder's own (online) and the counter's (paper), both
//! shown on a printable page with the QR.

use super::common::{
    CsrfForm, CsrfOnly, Cx, OfficeNames, StaffWith, beijing, csrf_field, form_fields,
    invalid_or_conflict, need, page_template, qr_svg, redirect_or_again, render,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::{Holder, Staff};
use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use exitentry_domain::states::LinkageProofState;
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::holders::HolderSession;
use exitentry_services::linkage_proofs::{self as lp, PaperRequest, ProofView};

csrf_field!(PaperForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(MINE, get(my_proofs).post(my_issue))
        .route("/my/linkage-proofs/{id}", get(my_print))
        .route(PAPER, get(paper_form).post(paper_issue))
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
    pub status: LinkageProofState,
}

impl From<ProofView> for ProofCard {
    fn from(p: ProofView) -> Self {
        let fmt = "%Y-%m-%d %H:%M";
        ProofCard {
            qr_svg: qr_svg(&p.payload).unwrap_or_default(),
            id: p.id,
            payload: p.payload,
            valid_from: beijing(p.valid_from, fmt),
            valid_until: beijing(p.valid_until, fmt),
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

page_template! {
    MyProofs = "holder/linkage.html" {
        holder: HolderSession,
        proofs: Vec<ProofCard>,
    }
}

const MINE: &str = "/my/linkage-proof";

async fn my_page(cx: &Cx, holder: HolderSession) -> PageResult {
    let page = cx.page(None, "lp-title");
    let proofs = lp::holder_proofs(cx.app(), &holder)
        .await
        .map_err(cx.fail(&page.path))?;
    Ok(cx.render(&MyProofs {
        page,
        holder,
        proofs: proofs.into_iter().map(ProofCard::from).collect(),
    }))
}

async fn my_proofs(cx: Cx, Holder(h): Holder) -> PageResult {
    my_page(&cx, h).await
}

async fn my_issue(cx: Cx, Holder(h): Holder, _: CsrfForm<CsrfOnly>) -> PageResult {
    redirect_or_again(
        &cx,
        lp::issue_online(cx.app(), &h).await,
        |p| format!("/my/linkage-proofs/{}", p.id),
        |e| {
            matches!(
                e,
                ServiceError::Conflict { .. } | ServiceError::Unavailable { .. }
            )
        },
        async |cx| my_page(cx, h).await,
        MINE,
    )
    .await
}

page_template! {
    Print = "linkage_print.html" {
        proof: ProofCard,
        back: &'static str,
    }
}

/// A proof's printable page, for its holder or for the counter's clerk.
async fn print_page(
    cx: &Cx,
    id: &str,
    holder: Option<HolderSession>,
    staff: Option<StaffSession>,
    back: &'static str,
) -> PageResult {
    let proof = lp::for_print(cx.app(), id, holder.as_ref(), staff.as_ref())
        .await
        .map_err(cx.fail(&cx.here()))?;
    let mut proof = ProofCard::from(proof);
    // The issuing office by its name in the reader's language, never its code.
    proof.office = OfficeNames::of(cx, [proof.office.as_str()])
        .await
        .name(&proof.office);
    Ok(render(&Print {
        page: cx.page(staff, "lp-title"),
        proof,
        back,
    }))
}

async fn my_print(cx: Cx, Holder(h): Holder, Path(id): Path<String>) -> PageResult {
    print_page(&cx, &id, Some(h), None, MINE).await
}

async fn staff_print(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    print_page(&cx, &id, None, Some(staff), PAPER).await
}

form_fields!(PaperForm {
    travel_document_kind: String,
    travel_document_number: String,
    residence_permit_number: String,
    name: String,
});

page_template! {
    Paper = "staff/linkage_proof.html" {
        form: PaperForm,
    }
}

const PAPER: &str = "/staff/linkage-proofs";

fn paper_page(cx: &Cx, staff: StaffSession, form: PaperForm) -> Response {
    cx.render(&Paper {
        page: cx.page(Some(staff), "lp-paper-title"),
        form,
    })
}

async fn paper_form(cx: Cx, StaffWith(staff, _): StaffWith<need::PrintLinkageProofs>) -> Response {
    // A refused proof comes back with what was typed.
    let form = cx.kept().unwrap_or_else(|| PaperForm {
        travel_document_kind: "hrp".into(),
        ..Default::default()
    });
    paper_page(&cx, staff, form)
}

async fn paper_issue(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::PrintLinkageProofs>,
    CsrfForm(f, _): CsrfForm<PaperForm>,
) -> PageResult {
    let q = PaperRequest {
        travel_document_kind: f.travel_document_kind.clone(),
        travel_document_number: f.travel_document_number.clone(),
        residence_permit_number: f.residence_permit_number.clone(),
        name: f.name.clone(),
    };
    redirect_or_again(
        &cx,
        lp::issue_paper(cx.app(), &staff, &q).await,
        |p| format!("{PAPER}/{}", p.id),
        invalid_or_conflict,
        async |cx| Ok(paper_page(cx, staff, f)),
        PAPER,
    )
    .await
}
