//! Staff pages in the building: the reception desk (check-in and walk-in tickets), the
//! photo station and its receipt, the counter (call, recall, skip, transfer, accept), the
//! application with payment, the printable receipt, and the processing / uncollected lists.

use super::common::{
    CounterPayment, CsrfForm, CsrfMultipart, CsrfOnly, Cx, MultipartRefused, OfficeNames, Pairs,
    StaffWith, TicketForm, TicketQuery, Up, back, bookable, csrf_field, form_fields, need,
    page_template, redirect_or_again, render, ticket_for,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Staff;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::office::Service;
use exitentry_domain::products::{self, Product};
use exitentry_domain::staff::Permission;
use exitentry_domain::states::CentreApplicationState;
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{
    self, AcceptRequest, ApplicationView, CounterState, Desk, PhotoView, TicketView,
};
use serde::Deserialize;

back!(CounterPage = "/staff/centre/counter");

csrf_field!(ActionForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/centre", get(hub))
        .route(
            "/staff/centre/reception",
            get(reception).post(reception_post),
        )
        .route(
            "/staff/centre/photo",
            get(photo_form)
                .post(photo_post)
                .layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/staff/centre/photos/{code}", get(photo_receipt))
        .route("/staff/centre/photos/{id}/image", get(photo_image))
        .route("/staff/centre/counter", get(counter))
        .route("/staff/centre/counter/action", post(counter_action))
        .route("/staff/centre/accept", post(accept))
        .route("/staff/centre/applications", get(applications))
        .route("/staff/centre/applications/{id}", get(application))
        .route("/staff/centre/applications/{id}/pay", post(pay))
        .route("/staff/centre/applications/{id}/ready", post(ready))
        .route("/staff/centre/applications/{id}/receipt", get(receipt))
}

/// A Code 128 barcode as inline SVG (photo receipts, payment receipts).
pub fn code128_svg(text: &str) -> String {
    use barcoders::generators::svg::SVG;
    use barcoders::sym::code128::Code128;
    Code128::new(format!("\u{0181}{text}"))
        .ok()
        .and_then(|c| SVG::new(70).generate(c.encode()).ok())
        .unwrap_or_default()
}

/// Errors a clerk can act on are shown on the page; the rest become error pages.
fn inline(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::NotFound(_)
            | ServiceError::Unavailable { .. }
    )
}

// ---- hub ----

page_template! {
    Hub = "centre/hub.html" {
        office: String,
    }
}

async fn hub(cx: Cx, StaffWith(staff, _): StaffWith<need::ServeCounter>) -> Response {
    let code = staff.office_code.clone().unwrap_or_default();
    let office = OfficeNames::of(&cx, [code.as_str()]).await.name(&code);
    render(&Hub {
        page: cx.page(Some(staff), "centre-title"),
        office,
    })
}

// ---- reception: check-in and walk-in ----

page_template! {
    Reception = "centre/reception.html" {
        action: &'static str,
        csrf: String,
        services: Vec<Service>,
        ticket: Option<TicketView>,
        /// The ticket's office by its name in the reader's language.
        office: String,
        /// What was typed, kept after a refusal.
        form: TicketForm,
    }
}

const RECEPTION: &str = "/staff/centre/reception";

async fn reception_page(cx: &Cx, staff: StaffSession, ticket: Option<TicketView>) -> Response {
    let csrf = staff.csrf_token.clone();
    let code = ticket.as_ref().map(|t| t.office_code.as_str());
    let office = match code {
        Some(c) => OfficeNames::of(cx, [c]).await.name(c),
        None => String::new(),
    };
    cx.render(&Reception {
        page: cx.page(Some(staff), "reception-title"),
        action: RECEPTION,
        csrf,
        services: bookable(),
        ticket,
        office,
        form: cx.kept().unwrap_or_default(),
    })
}

async fn reception(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    Query(q): Query<TicketQuery>,
) -> Response {
    let ticket = match q.ticket {
        Some(id) => centre::ticket(cx.app(), Desk::Staff(&staff), id).await.ok(),
        None => None,
    };
    reception_page(&cx, staff, ticket).await
}

async fn reception_post(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    CsrfForm(f, _): CsrfForm<TicketForm>,
) -> PageResult {
    // Post, redirect, get: reloading the page never prints a second ticket.
    redirect_or_again(
        &cx,
        ticket_for(&cx.s, Desk::Staff(&staff), &f).await,
        |t| format!("{RECEPTION}?ticket={}", t.id),
        inline,
        async |cx| Ok(reception_page(cx, staff, None).await),
        RECEPTION,
    )
    .await
}

// ---- photo station ----

page_template! {
    PhotoForm = "centre/photo.html" {}
}

const PHOTO: &str = "/staff/centre/photo";

fn photo_page(cx: &Cx, staff: StaffSession) -> Response {
    cx.render(&PhotoForm {
        page: cx.page(Some(staff), "photo-title"),
    })
}

async fn photo_form(cx: Cx, StaffWith(staff, _): StaffWith<need::ServeCounter>) -> Response {
    photo_page(&cx, staff)
}

async fn photo_post(
    cx: Cx,
    // The role first: a clerk's form is read only for those who may use it.
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    form: Result<CsrfMultipart, MultipartRefused>,
) -> PageResult {
    let form = match form {
        Ok(form) => form,
        Err(MultipartRefused::Csrf(refused)) => return Ok(refused),
        Err(MultipartRefused::NotMultipart(_)) => {
            return Err(cx.fail(PHOTO)(ServiceError::bad_input(
                "photo",
                exitentry_domain::ErrorCode::BadForm,
                "send the photo with the page's form",
            )));
        }
    };
    let done = if form.part_failed || form.stream_failed {
        Err(ServiceError::bad_input(
            "photo",
            exitentry_domain::ErrorCode::PhotoTooLarge,
            "the photo is too large",
        ))
    } else {
        centre::take_photo(cx.app(), &staff, &form.bytes("photo")).await
    };
    redirect_or_again(
        &cx,
        done,
        |p| format!("/staff/centre/photos/{}", p.receipt_code),
        inline,
        async |cx| Ok(photo_page(cx, staff)),
        PHOTO,
    )
    .await
}

page_template! {
    PhotoReceipt = "centre/photo_receipt.html" {
        photo: PhotoView,
        barcode: String,
        /// Where the photo was taken, by its name in the reader's language.
        office: String,
    }
}

async fn photo_receipt(cx: Cx, Staff(staff): Staff, Path(code): Path<String>) -> PageResult {
    let photo = centre::photo_receipt(cx.app(), &staff, &code)
        .await
        .map_err(cx.fail(cx.path()))?;
    let office = OfficeNames::of(&cx, [photo.office_code.as_str()])
        .await
        .name(&photo.office_code);
    Ok(render(&PhotoReceipt {
        office,
        barcode: code128_svg(&photo.receipt_code),
        photo,
        page: cx.page(Some(staff), "photo-receipt-title"),
    }))
}

async fn photo_image(cx: Cx, Staff(staff): Staff, Path(id): Path<i64>) -> PageResult {
    let (mime, bytes) = centre::photo_image(cx.app(), &staff, id)
        .await
        .map_err(cx.fail(cx.path()))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

// ---- counter ----

#[derive(Deserialize, Default)]
struct CounterQuery {
    #[serde(default)]
    counter: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

page_template! {
    Counter = "centre/counter.html" {
        state: CounterState,
        csrf: String,
        products: Vec<&'static Product>,
        product: Option<&'static Product>,
        draft: Draft,
        services: Vec<Service>,
    }
}

/// What the clerk entered in the acceptance form, shown again after an error.
#[derive(Default)]
struct Draft {
    product: Option<String>,
    ticked: Vec<String>,
    photo_receipt: String,
    id_number: String,
}

impl Draft {
    fn ticked(&self, item: &str) -> bool {
        self.ticked.iter().any(|t| t == item)
    }
}

const COUNTER: &str = "/staff/centre/counter";

async fn counter_page(cx: &Cx, staff: StaffSession, counter: &str, draft: Draft) -> PageResult {
    let state = centre::counter_state(cx.app(), &staff, counter)
        .await
        .map_err(cx.fail(COUNTER))?;
    let products = state
        .serving
        .as_ref()
        .and_then(|t| Service::parse(&t.service).ok())
        .map(products::for_service)
        .unwrap_or_default();
    let chosen = match draft.product.as_deref() {
        Some(p) => products.iter().find(|x| x.code == p).copied(),
        None => holders_renewal(cx, &staff, state.serving.as_ref(), &products).await,
    };
    let product = chosen.or_else(|| products.first().copied());
    let csrf = staff.csrf_token.clone();
    Ok(cx.render(&Counter {
        page: cx.page(Some(staff), "counter-title"),
        state,
        csrf,
        products,
        product,
        draft,
        services: bookable(),
    }))
}

/// For a person who already holds a document the service issues, its renewal (the clerk
/// can still choose another): a card holder is rarely a first application.
async fn holders_renewal(
    cx: &Cx,
    staff: &StaffSession,
    serving: Option<&TicketView>,
    products: &[&'static Product],
) -> Option<&'static Product> {
    let person = serving?.person_id?;
    let (_, documents) = exitentry_services::registry::person(cx.app(), staff, person)
        .await
        .ok()?;
    products
        .iter()
        .find(|p| {
            p.reason == products::IssueReason::Renewal
                && documents.iter().any(|d| d.kind == p.issues)
        })
        .copied()
}

async fn counter(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    Query(q): Query<CounterQuery>,
) -> PageResult {
    let counter = q
        .counter
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "1".into());
    // An acceptance the rules refused comes back with what the clerk entered.
    let draft = match cx
        .kept::<Pairs>()
        .filter(|p| !p.get("ticket_id").is_empty())
    {
        Some(p) => Draft {
            product: Some(p.get("product")),
            ticked: p.all("checklist"),
            photo_receipt: p.get("photo_receipt"),
            id_number: p.get("id_number"),
        },
        None => Draft {
            product: q.product,
            ..Default::default()
        },
    };
    counter_page(&cx, staff, &counter, draft).await
}

/// The counter's page address (post, redirect, get: where its forms' answers are shown).
fn counter_at(counter: &str) -> String {
    format!("{COUNTER}?counter={}", urlenc(counter))
}

form_fields!(ActionForm {
    counter: String,
    /// `call`, `recall`, `skip`, `done` or `transfer`.
    action: String,
    ticket_id: Option<i64>,
    service: String,
});

async fn counter_action(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter, CounterPage>,
    CsrfForm(f, _): CsrfForm<ActionForm, CounterPage>,
) -> PageResult {
    let (app, id) = (cx.app(), f.ticket_id.unwrap_or(0));
    let done: Result<(), ServiceError> = match f.action.as_str() {
        "call" => centre::call_next(app, &staff, &f.counter, &[])
            .await
            .map(|_| ()),
        "recall" => centre::recall(app, &staff, id).await.map(|_| ()),
        "skip" => centre::finish(app, &staff, id, true).await,
        "done" => centre::finish(app, &staff, id, false).await,
        "transfer" => centre::transfer(app, &staff, id, &f.service)
            .await
            .map(|_| ()),
        _ => Err(ServiceError::bad_input(
            "action",
            exitentry_domain::ErrorCode::BadAction,
            "unknown action",
        )),
    };
    // Post, then redirect: the counter page shows the new state and a reload repeats nothing.
    redirect_or_again(
        &cx.at(&counter_at(&f.counter)),
        done,
        |()| counter_at(&f.counter),
        inline,
        async |cx| counter_page(cx, staff, &f.counter, Draft::default()).await,
        COUNTER,
    )
    .await
}

fn urlenc(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

async fn accept(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter, CounterPage>,
    CsrfForm(pairs, _): CsrfForm<Pairs, CounterPage>,
) -> PageResult {
    let get = |k: &str| pairs.get(k);
    let req = AcceptRequest {
        ticket_id: get("ticket_id").parse().unwrap_or(0),
        product: get("product"),
        checklist: pairs.all("checklist"),
        photo_receipt: get("photo_receipt"),
        id_number: Some(get("id_number")).filter(|v| !v.trim().is_empty()),
    };
    let counter = get("counter");
    let accepted = centre::accept(cx.app(), &staff, &req).await;
    if accepted.is_ok() {
        // The ticket's business is done once its application is accepted (the fee is taken
        // on the application's page): the counter is ready to call the next person.
        let _ = centre::finish(cx.app(), &staff, req.ticket_id, false).await;
    }
    redirect_or_again(
        &cx.at(&counter_at(&counter)),
        accepted,
        |a| format!("/staff/centre/applications/{}", a.id),
        inline,
        async |cx| {
            let draft = Draft {
                product: Some(req.product),
                ticked: req.checklist,
                photo_receipt: req.photo_receipt,
                id_number: req.id_number.unwrap_or_default(),
            };
            counter_page(cx, staff, &counter, draft).await
        },
        COUNTER,
    )
    .await
}

// ---- applications, payment, receipt ----

page_template! {
    Application = "centre/application.html" {
        a: ApplicationView,
        /// Where it was accepted, by its name in the reader's language.
        office: String,
        csrf: String,
        can_pay: bool,
        can_process: bool,
    }
}

async fn application_page(cx: &Cx, staff: StaffSession, id: &str) -> PageResult {
    let path = format!("/staff/centre/applications/{id}");
    let a = centre::application(cx.app(), &staff, id)
        .await
        .map_err(cx.fail(&path))?;
    let csrf = staff.csrf_token.clone();
    let (can_pay, can_process) = (
        staff.role.can(Permission::ServeCounter),
        staff.role.can(Permission::ProcessApplications),
    );
    let office = OfficeNames::of(cx, [a.office_code.as_str()])
        .await
        .name(&a.office_code);
    Ok(cx.render(&Application {
        page: cx.page(Some(staff), "application-title"),
        office,
        a,
        csrf,
        can_pay,
        can_process,
    }))
}

async fn application(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    application_page(&cx, staff, &id).await
}

async fn pay(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ServeCounter, Up>,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<CounterPayment, Up>,
) -> PageResult {
    let path = format!("/staff/centre/applications/{id}");
    redirect_or_again(
        &cx,
        centre::pay(cx.app(), &staff, &id, &f.method).await,
        |a| format!("/staff/centre/applications/{}/receipt", a.id),
        inline,
        async |cx| application_page(cx, staff, &id).await,
        &path,
    )
    .await
}

async fn ready(
    cx: Cx,
    StaffWith(staff, _): StaffWith<need::ProcessApplications, Up>,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> PageResult {
    let path = format!("/staff/centre/applications/{id}");
    redirect_or_again(
        &cx,
        centre::mark_ready(cx.app(), &staff, &id).await,
        |_| path.to_string(),
        inline,
        async |cx| application_page(cx, staff, &id).await,
        &path,
    )
    .await
}

page_template! {
    Receipt = "centre/receipt.html" {
        a: ApplicationView,
        barcode: String,
        /// The office's name in the reader's language (its code when the office is gone).
        office: String,
        /// Its address in the reader's language ("" when the office is gone).
        address: String,
    }
}

async fn receipt(cx: Cx, Staff(staff): Staff, Path(id): Path<String>) -> PageResult {
    let a = centre::application(cx.app(), &staff, &id)
        .await
        .map_err(cx.fail(cx.path()))?;
    if a.paid.is_none() {
        return Ok(Redirect::to(&format!("/staff/centre/applications/{id}")).into_response());
    }
    let (office, address) = match exitentry_services::offices::get(cx.app(), &a.office_code).await {
        Ok(o) => (
            super::common::office_name(cx.lang, &o),
            super::common::office_address(cx.lang, &o),
        ),
        Err(_) => (a.office_code.clone(), String::new()),
    };
    Ok(render(&Receipt {
        barcode: code128_svg(&a.reference),
        a,
        office,
        address,
        page: cx.page(Some(staff), "receipt-title"),
    }))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
}

page_template! {
    Applications = "centre/applications.html" {
        status: String,
        tabs: [CentreApplicationState; 4],
        /// The uncollected documents (`ready`), with the days each has waited.
        uncollected: bool,
        list: Vec<(ApplicationView, i64)>,
        offices: OfficeNames,
    }
}

async fn applications(cx: Cx, Staff(staff): Staff, Query(q): Query<ListQuery>) -> PageResult {
    let status = q
        .status
        .unwrap_or_else(|| CentreApplicationState::Paid.code().into());
    let uncollected = status == CentreApplicationState::Ready.code();
    let list = if uncollected {
        centre::uncollected(cx.app(), &staff).await
    } else {
        centre::applications(cx.app(), &staff, &status)
            .await
            .map(|l| l.into_iter().map(|a| (a, 0)).collect())
    }
    .map_err(cx.fail("/staff/centre/applications"))?;
    let offices = OfficeNames::of(&cx, list.iter().map(|(a, _)| a.office_code.as_str())).await;
    Ok(render(&Applications {
        page: cx.page(Some(staff), "applications-title"),
        status,
        tabs: centre::LISTED,
        uncollected,
        list,
        offices,
    }))
}
