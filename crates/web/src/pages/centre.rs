//! Staff pages in the building: the reception desk (check-in and walk-in tickets), the
//! photo station and its receipt, the counter (call, recall, skip, transfer, accept), the
//! application with payment, the printable receipt, and the processing / uncollected lists.

use super::common::{
    CsrfForm, CsrfMultipart, CsrfOnly, MultipartRefused, Page, Pairs, StaffWith, TicketForm,
    TicketQuery, Up, back, bookable, csrf_field, need, redirect_or_again, render, ticket_for,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::office::Service;
use exitentry_domain::products::{self, Product};
use exitentry_domain::staff::Permission;
use exitentry_services::ServiceError;
use exitentry_services::auth::StaffSession;
use exitentry_services::centre::{
    self, AcceptRequest, ApplicationView, CounterState, Desk, PhotoView, TicketView,
};
use serde::Deserialize;

back!(CounterPage = "/staff/centre/counter");

csrf_field!(ActionForm, PayForm);

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

#[derive(Template)]
#[template(path = "centre/hub.html")]
struct Hub {
    page: Page,
    office: String,
}

async fn hub(
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
) -> Result<Response, PageError> {
    let office = staff.office_code.clone().unwrap_or_default();
    Ok(render(&Hub {
        page: Page::new(lang, &uri, Some(staff), "centre-title"),
        office,
    }))
}

// ---- reception: check-in and walk-in ----

#[derive(Template)]
#[template(path = "centre/reception.html")]
struct Reception {
    page: Page,
    action: &'static str,
    csrf: String,
    services: Vec<Service>,
    ticket: Option<TicketView>,
    error: Option<String>,
}

async fn reception(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    Query(q): Query<TicketQuery>,
) -> Result<Response, PageError> {
    let ticket = match q.ticket {
        Some(id) => centre::ticket(&s.app, Desk::Staff(&staff), id).await.ok(),
        None => None,
    };
    let csrf = staff.csrf_token.clone();
    Ok(render(&Reception {
        page: Page::new(lang, &uri, Some(staff), "reception-title"),
        action: "/staff/centre/reception",
        csrf,
        services: bookable(),
        ticket,
        error: None,
    }))
}

async fn reception_post(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    CsrfForm(f, _): CsrfForm<TicketForm>,
) -> Result<Response, PageError> {
    let result = ticket_for(&s, Desk::Staff(&staff), &f).await;
    let csrf = staff.csrf_token.clone();
    let page = Page::new(lang, &uri, Some(staff), "reception-title");
    // Post, redirect, get: reloading the page never prints a second ticket.
    let (status, ticket, error) = match result {
        Ok(t) => {
            return Ok(
                Redirect::to(&format!("/staff/centre/reception?ticket={}", t.id)).into_response(),
            );
        }
        Err(e) if inline(&e) => (status_for(&e), None, Some(message_for(&e, lang))),
        Err(e) => return Err(PageError::at(lang, "/staff/centre/reception")(e)),
    };
    Ok((
        status,
        render(&Reception {
            page,
            action: "/staff/centre/reception",
            csrf,
            services: bookable(),
            ticket,
            error,
        }),
    )
        .into_response())
}

// ---- photo station ----

#[derive(Template)]
#[template(path = "centre/photo.html")]
struct PhotoForm {
    page: Page,
    error: Option<String>,
}

async fn photo_form(
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
) -> Result<Response, PageError> {
    Ok(render(&PhotoForm {
        page: Page::new(lang, &uri, Some(staff), "photo-title"),
        error: None,
    }))
}

async fn photo_post(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    // The role first: a clerk's form is read only for those who may use it.
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    form: Result<CsrfMultipart, MultipartRefused>,
) -> Result<Response, PageError> {
    let form = match form {
        Ok(form) => form,
        Err(MultipartRefused::Csrf(refused)) => return Ok(refused),
        Err(MultipartRefused::NotMultipart(_)) => {
            return Err(PageError::at(lang, "/staff/centre/photo")(
                ServiceError::bad_input(
                    "photo",
                    exitentry_domain::ErrorCode::BadForm,
                    "send the photo with the page's form",
                ),
            ));
        }
    };
    let too_large = form.part_failed || form.stream_failed;
    let photo = form.bytes("photo");
    let result = if too_large {
        Err(ServiceError::bad_input(
            "photo",
            exitentry_domain::ErrorCode::PhotoTooLarge,
            "the photo is too large",
        ))
    } else {
        centre::take_photo(&s.app, &staff, &photo).await
    };
    match result {
        Ok(p) => {
            Ok(Redirect::to(&format!("/staff/centre/photos/{}", p.receipt_code)).into_response())
        }
        Err(e) if inline(&e) => Ok((
            status_for(&e),
            render(&PhotoForm {
                error: Some(message_for(&e, lang)),
                page: Page::new(lang, &uri, Some(staff), "photo-title"),
            }),
        )
            .into_response()),
        Err(e) => Err(PageError::at(lang, "/staff/centre/photo")(e)),
    }
}

#[derive(Template)]
#[template(path = "centre/photo_receipt.html")]
struct PhotoReceipt {
    page: Page,
    photo: PhotoView,
    barcode: String,
}

async fn photo_receipt(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    let photo = centre::photo_receipt(&s.app, &staff, &code)
        .await
        .map_err(PageError::at(lang, &path))?;
    Ok(render(&PhotoReceipt {
        barcode: code128_svg(&photo.receipt_code),
        photo,
        page: Page::new(lang, &uri, Some(staff), "photo-receipt-title"),
    }))
}

async fn photo_image(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (mime, bytes) = centre::photo_image(&s.app, &staff, id)
        .await
        .map_err(PageError::at(lang, uri.0.path()))?;
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

#[derive(Template)]
#[template(path = "centre/counter.html")]
struct Counter {
    page: Page,
    state: CounterState,
    csrf: String,
    products: Vec<&'static Product>,
    product: Option<&'static Product>,
    draft: Draft,
    services: Vec<Service>,
    error: Option<String>,
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

async fn counter_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    counter: &str,
    draft: Draft,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let state = centre::counter_state(&s.app, &staff, counter)
        .await
        .map_err(PageError::at(lang, "/staff/centre/counter"))?;
    let products = state
        .serving
        .as_ref()
        .and_then(|t| Service::parse(&t.service).ok())
        .map(products::for_service)
        .unwrap_or_default();
    let product = draft
        .product
        .as_deref()
        .and_then(|p| products.iter().find(|x| x.code == p).copied())
        .or_else(|| products.first().copied());
    let csrf = staff.csrf_token.clone();
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&Counter {
            page: Page::new(lang, uri, Some(staff), "counter-title"),
            state,
            csrf,
            products,
            product,
            draft,
            services: bookable(),
            error,
        }),
    )
        .into_response())
}

async fn counter(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter>,
    Query(q): Query<CounterQuery>,
) -> Result<Response, PageError> {
    let counter = q
        .counter
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "1".into());
    let draft = Draft {
        product: q.product,
        ..Default::default()
    };
    counter_page(&s, lang, &uri, staff, &counter, draft, None).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    counter: String,
    /// `call`, `recall`, `skip`, `done` or `transfer`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    ticket_id: Option<i64>,
    #[serde(default)]
    service: String,
}

async fn counter_action(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter, CounterPage>,
    CsrfForm(f, _): CsrfForm<ActionForm, CounterPage>,
) -> Result<Response, PageError> {
    let id = f.ticket_id.unwrap_or(0);
    // Post, then redirect: the counter page shows the new state and a reload repeats nothing.
    let result: Result<(), ServiceError> = match f.action.as_str() {
        "call" => centre::call_next(&s.app, &staff, &f.counter, &[])
            .await
            .map(|_| ()),
        "recall" => centre::recall(&s.app, &staff, id).await.map(|_| ()),
        "skip" => centre::finish(&s.app, &staff, id, true).await,
        "done" => centre::finish(&s.app, &staff, id, false).await,
        "transfer" => centre::transfer(&s.app, &staff, id, &f.service)
            .await
            .map(|_| ()),
        _ => Err(ServiceError::bad_input(
            "action",
            exitentry_domain::ErrorCode::BadAction,
            "unknown action",
        )),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!(
            "/staff/centre/counter?counter={}",
            urlenc(&f.counter)
        ))
        .into_response()),
        Err(e) if inline(&e) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            counter_page(&s, lang, &uri, staff, &f.counter, Draft::default(), err).await
        }
        Err(e) => Err(PageError::at(lang, "/staff/centre/counter")(e)),
    }
}

fn urlenc(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

async fn accept(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter, CounterPage>,
    CsrfForm(pairs, _): CsrfForm<Pairs, CounterPage>,
) -> Result<Response, PageError> {
    let get = |k: &str| pairs.get(k);
    let req = AcceptRequest {
        ticket_id: get("ticket_id").parse().unwrap_or(0),
        product: get("product"),
        checklist: pairs
            .iter()
            .filter(|(n, _)| n == "checklist")
            .map(|(_, v)| v.clone())
            .collect(),
        photo_receipt: get("photo_receipt"),
        id_number: Some(get("id_number")).filter(|v| !v.trim().is_empty()),
    };
    let counter = get("counter");
    match centre::accept(&s.app, &staff, &req).await {
        Ok(a) => Ok(Redirect::to(&format!("/staff/centre/applications/{}", a.id)).into_response()),
        Err(e) if inline(&e) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            let draft = Draft {
                product: Some(req.product),
                ticked: req.checklist,
                photo_receipt: req.photo_receipt,
                id_number: req.id_number.unwrap_or_default(),
            };
            counter_page(&s, lang, &uri, staff, &counter, draft, err).await
        }
        Err(e) => Err(PageError::at(lang, "/staff/centre/counter")(e)),
    }
}

// ---- applications, payment, receipt ----

#[derive(Template)]
#[template(path = "centre/application.html")]
struct Application {
    page: Page,
    a: ApplicationView,
    csrf: String,
    can_pay: bool,
    can_process: bool,
    error: Option<String>,
}

async fn application_page(
    s: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    staff: StaffSession,
    id: &str,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let path = format!("/staff/centre/applications/{id}");
    let a = centre::application(&s.app, &staff, id)
        .await
        .map_err(PageError::at(lang, &path))?;
    let csrf = staff.csrf_token.clone();
    let (can_pay, can_process) = (
        staff.role.can(Permission::ServeCounter),
        staff.role.can(Permission::ProcessApplications),
    );
    let (status, error) = super::common::status_and_error(error);
    Ok((
        status,
        render(&Application {
            page: Page::new(lang, uri, Some(staff), "application-title"),
            a,
            csrf,
            can_pay,
            can_process,
            error,
        }),
    )
        .into_response())
}

async fn application(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    application_page(&s, lang, &uri, staff, &id, None).await
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
}

async fn pay(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ServeCounter, Up>,
    Path(id): Path<String>,
    CsrfForm(f, _): CsrfForm<PayForm, Up>,
) -> Result<Response, PageError> {
    let path = format!("/staff/centre/applications/{id}");
    match centre::pay(&s.app, &staff, &id, &f.method).await {
        Ok(a) => Ok(
            Redirect::to(&format!("/staff/centre/applications/{}/receipt", a.id)).into_response(),
        ),
        Err(e) if inline(&e) => {
            let err = Some((status_for(&e), message_for(&e, lang)));
            application_page(&s, lang, &uri, staff, &id, err).await
        }
        Err(e) => Err(PageError::at(lang, &path)(e)),
    }
}

async fn ready(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    StaffWith(staff, _): StaffWith<need::ProcessApplications, Up>,
    Path(id): Path<String>,
    _: CsrfForm<CsrfOnly, Up>,
) -> Result<Response, PageError> {
    let path = format!("/staff/centre/applications/{id}");
    redirect_or_again(
        centre::mark_ready(&s.app, &staff, &id).await,
        |_| path.to_string(),
        inline,
        |err| application_page(&s, lang, &uri, staff, &id, err),
        lang,
        &path,
    )
    .await
}

#[derive(Template)]
#[template(path = "centre/receipt.html")]
struct Receipt {
    page: Page,
    a: ApplicationView,
    barcode: String,
    /// The office's name in the reader's language (its code when the office is gone).
    office: String,
}

async fn receipt(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let path = uri.0.path().to_string();
    let a = centre::application(&s.app, &staff, &id)
        .await
        .map_err(PageError::at(lang, &path))?;
    if a.paid.is_none() {
        return Ok(Redirect::to(&format!("/staff/centre/applications/{id}")).into_response());
    }
    let page = Page::new(lang, &uri, Some(staff), "receipt-title");
    let office = match exitentry_services::offices::get(&s.app, &a.office_code).await {
        Ok(o) => page.office_name(&o),
        Err(_) => a.office_code.clone(),
    };
    Ok(render(&Receipt {
        barcode: code128_svg(&a.reference),
        a,
        office,
        page,
    }))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "centre/applications.html")]
struct Applications {
    page: Page,
    status: String,
    list: Vec<(ApplicationView, i64)>,
}

async fn applications(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Staff(staff): Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let status = q.status.unwrap_or_else(|| {
        exitentry_domain::states::CentreApplicationState::Paid
            .code()
            .into()
    });
    let list = if status == exitentry_domain::states::CentreApplicationState::Ready.code() {
        centre::uncollected(&s.app, &staff).await
    } else {
        centre::applications(&s.app, &staff, &status)
            .await
            .map(|l| l.into_iter().map(|a| (a, 0)).collect())
    }
    .map_err(PageError::at(lang, "/staff/centre/applications"))?;
    Ok(render(&Applications {
        page: Page::new(lang, &uri, Some(staff), "applications-title"),
        status,
        list,
    }))
}
