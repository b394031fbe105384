//! Repeat endorsements for card holders: apply online, pay through a provider (the sandbox's
//! pay page in development), then print at a kiosk.

use super::common::{
    Cancel, Confirm, CsrfForm, Cx, Up, cancel, cancel_form, chosen_endorsement, conflict,
    csrf_field, form_fields, page_template, qr_svg, redirect_or_again, render,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Holder;
use axum::Router;
use axum::extract::{Form, Path};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use exitentry_domain::states::EndorsementApplicationState;
use exitentry_services::ServiceError;
use exitentry_services::endorsement_applications::{self as ea, ApplicationView, Choice};
use exitentry_services::holders::HolderSession;
use exitentry_services::online_payments::{self as op, Outcome};
use serde::Deserialize;

csrf_field!(ApplyForm, PayForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(apply))
        .route("/my/endorsements/{id}", get(show))
        .route("/my/endorsements/{id}/pay", get(pay_qr).post(pay))
        .route(
            "/my/endorsements/{id}/cancel",
            get(cancel_form::<CancelApplication>).post(cancel::<CancelApplication>),
        )
        .route("/dev/pay/{order}", get(sandbox_page).post(sandbox_answer))
}

page_template! {
    List = "holder/endorsements.html" {
        holder: HolderSession,
        choices: Vec<Choice>,
        applications: Vec<ApplicationView>,
        /// The choice a refused application posted (kept on reload), else "".
        chosen: String,
    }
}

impl List {
    /// A choice as its radio button posts it (`destination|kind|months|trips`).
    fn value_of(&self, c: &Choice) -> String {
        format!(
            "{}|{}|{}|{}",
            c.destination, c.kind, c.validity_months, c.trips
        )
    }

    /// Whether `c` is ticked: the choice a refused application posted, else the first.
    fn ticked(&self, c: &Choice, first: &bool) -> bool {
        match self.choices.iter().any(|o| self.value_of(o) == self.chosen) {
            true => self.value_of(c) == self.chosen,
            false => *first,
        }
    }
}

const LIST: &str = "/my/endorsements";

async fn list_page(cx: &Cx, h: HolderSession) -> PageResult {
    let mut page = cx.page(None, "end-title");
    let applications = ea::mine(cx.app(), h.person_id)
        .await
        .map_err(cx.fail(&page.path))?;
    let choices = match ea::choices(cx.app(), h.person_id).await {
        Ok(c) => c,
        Err(e) => {
            // Nothing may be applied for today: said on the page, which still answers 200.
            let why = cx.shown_or_fail(e, conflict, &page.path)?;
            page.error = page.error.or(Some(why.said.text(cx.lang).to_string()));
            Vec::new()
        }
    };
    let chosen = cx.kept::<ApplyForm>().map(|f| f.choice).unwrap_or_default();
    Ok(cx.render(&List {
        chosen,
        page,
        holder: h,
        choices,
        applications,
    }))
}

async fn list(cx: Cx, Holder(h): Holder) -> PageResult {
    list_page(&cx, h).await
}

form_fields!(ApplyForm {
    /// `destination|kind|months|trips`.
    choice: String,
});

/// Errors the page shows (anything but a failure of ours).
fn shown(e: &ServiceError) -> bool {
    !matches!(e, ServiceError::Internal(_))
}

async fn apply(cx: Cx, Holder(h): Holder, CsrfForm(f, _): CsrfForm<ApplyForm>) -> PageResult {
    let req = chosen_endorsement(&f.choice);
    redirect_or_again(
        &cx,
        ea::apply(cx.app(), h.person_id, "online", &h.actor(), &req).await,
        |a| format!("{LIST}/{}", a.id),
        shown,
        async |cx| list_page(cx, h).await,
        LIST,
    )
    .await
}

page_template! {
    Show = "holder/endorsement.html" {
        holder: HolderSession,
        a: ApplicationView,
        providers: [&'static str; 4],
    }
}

async fn show_page(cx: &Cx, h: HolderSession, id: &str) -> PageResult {
    let page = cx.page(None, "end-title");
    let a = ea::get(cx.app(), h.person_id, id)
        .await
        .map_err(cx.fail(&page.path))?;
    Ok(cx.render(&Show {
        page,
        holder: h,
        a,
        providers: op::PROVIDERS,
    }))
}

async fn show(cx: Cx, Holder(h): Holder, Path(id): Path<String>) -> PageResult {
    show_page(&cx, h, &id).await
}

form_fields!(PayForm { provider: String });

async fn pay(
    cx: Cx,
    Holder(h): Holder,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<PayForm, Up>,
) -> PageResult {
    let path = format!("{LIST}/{id}");
    match ea::pay_online(cx.app(), &h, &id, &f.provider).await {
        Ok((_, op::Checkout::Redirect(url))) => Ok(Redirect::to(&url).into_response()),
        Ok((order, op::Checkout::Qr(payload))) => {
            let qr = QrToPay {
                provider: order.provider.clone(),
                amount_cents: order.amount.cents,
                payload,
            };
            let cx = cx.at(&format!("{path}/pay")).showing(&qr);
            Ok(pay_qr_page(&cx, qr, path))
        }
        Err(e) => {
            let err = cx.shown_or_fail(e, shown, &path)?;
            show_page(&cx.at(&path).after(Err(err)), h, &id).await
        }
    }
}

/// A QR to pay by scanning, carried from the payment's POST to its page.
#[derive(serde::Serialize, Deserialize)]
struct QrToPay {
    provider: String,
    amount_cents: i64,
    payload: String,
}

fn pay_qr_page(cx: &Cx, qr: QrToPay, back: String) -> Response {
    cx.render(&PayQr {
        page: cx.page(None, "payqr-title"),
        qr_svg: qr_svg(&qr.payload),
        provider: qr.provider,
        amount_cents: qr.amount_cents,
        back,
    })
}

/// The QR to pay (reload, language switch), else the application.
async fn pay_qr(cx: Cx, Holder(_): Holder, Path(id): Path<String>) -> Response {
    let back = format!("{LIST}/{id}");
    match cx.made::<QrToPay>() {
        Some(qr) => pay_qr_page(&cx, qr, back),
        None => Redirect::to(&back).into_response(),
    }
}

/// Cancelling an application, after a confirmation: which one, and that it ends (a paid one
/// is refunded).
struct CancelApplication;

impl Cancel for CancelApplication {
    type Owner = Holder;
    type Form = PayForm;
    type Back = Up;

    async fn confirm(cx: &Cx, Holder(h): &Holder, id: &str) -> PageResult {
        let page = cx.page(None, "end-cancel-title");
        let a = ea::get(cx.app(), h.person_id, id)
            .await
            .map_err(cx.fail(&page.path))?;
        let lang = cx.lang;
        let what = lang.t_args(
            "end-cancel-what",
            &[
                (
                    "what",
                    format!(
                        "{} · {}",
                        lang.t(&format!("dest-{}", a.destination)),
                        lang.t(&format!("etype-{}", a.kind))
                    ),
                ),
                ("reference", a.reference),
            ],
        );
        let to = [format!("{LIST}/{id}/cancel"), format!("{LIST}/{id}")];
        Confirm::cancel(cx, page, "end-cancel", what, to, &h.csrf_token)
    }

    async fn cancel(cx: &Cx, Holder(h): &Holder, id: &str) -> Result<String, ServiceError> {
        ea::cancel(cx.app(), h.person_id, id, &h.actor()).await?;
        Ok(Self::fails_at(id))
    }

    fn fails_at(id: &str) -> String {
        format!("{LIST}/{id}")
    }
}

page_template! {
    /// A provider paid by scanning (WeChat Pay Native): its QR code, then back to the
    /// application, whose status the provider's notification updates.
    PayQr = "holder/pay_qr.html" {
        provider: String,
        amount_cents: i64,
        qr_svg: Option<String>,
        back: String,
    }
}

page_template! {
    SandboxPay = "holder/sandbox_pay.html" {
        order: op::OrderRow,
    }
}

/// The development sandbox's pay page (stands in for the provider's page or QR).
async fn sandbox_page(cx: Cx, Path(order): Path<String>) -> PageResult {
    let order = op::order(cx.app(), &order)
        .await
        .map_err(cx.fail(cx.path()))?;
    Ok(render(&SandboxPay {
        page: cx.page(None, "sandbox-title"),
        order,
    }))
}

#[derive(Deserialize, Default)]
struct SandboxForm {
    #[serde(default)]
    outcome: String,
}

async fn sandbox_answer(
    cx: Cx,
    Path(order): Path<String>,
    Form(f): Form<SandboxForm>,
) -> PageResult {
    let outcome = if f.outcome == "paid" {
        Outcome::Paid
    } else {
        Outcome::Failed
    };
    let o = op::sandbox_decide(cx.app(), &order, outcome, ea::on_paid)
        .await
        .map_err(cx.fail(cx.path()))?;
    // Back to the merchant's page, as a provider redirects after paying.
    let back = o
        .subject
        .strip_prefix("endorsement_application:")
        .map(|id| format!("{LIST}/{id}"))
        .unwrap_or_else(|| "/my".into());
    Ok(Redirect::to(&back).into_response())
}
