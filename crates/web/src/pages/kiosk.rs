//! Machines in the hall: a device signs in once with its token (kept in a cookie) and then
//! runs as a ticket printer (check-in and walk-in tickets) or a collection kiosk. The call
//! display for the waiting room is public: it shows ticket numbers only.

use super::common::{
    CsrfForm, Cx, Failed, Page, TicketForm, TicketQuery, Up, bookable, chosen_endorsement,
    csrf_field, form_fields, office_name, page_template, render, ticket_for, with_anon_csrf,
};
use crate::AppState;
use crate::error::PageResult;
use crate::session::{
    DEVICE_COOKIE, Device, KioskDevice, MaybeDevice, TicketPrinter, anon_csrf, set_cookie,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::office::Service;
use exitentry_domain::states::{EndorsementApplicationState, PrintJobState};
use exitentry_services::ServiceError;
use exitentry_services::centre::{self, Board, Collected, Desk, DeviceSession, TicketView};
use exitentry_services::endorsement_applications as ea;
use serde::Deserialize;

csrf_field!(CollectForm, EndorsementForm, PairForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(home))
        .route("/kiosk/start", get(start))
        .route("/kiosk/collected", get(collected))
        .route("/kiosk/pair", post(pair))
        .route("/kiosk/unpair", post(unpair))
        .route("/kiosk/ticket", post(ticket))
        .route("/kiosk/collect", post(collect))
        .route("/display/{office}", get(display))
        .route("/display/{office}/board", get(board))
        .merge(endorsement_routes())
}

page_template! {
    Pair = "kiosk/pair.html" {
        csrf: String,
    }
}

page_template! {
    Tickets = "kiosk/tickets.html" {
        /// The device's office by its name in the reader's language.
        office: String,
        action: &'static str,
        csrf: String,
        services: Vec<Service>,
        ticket: Option<TicketView>,
        /// What was typed, kept after a refusal.
        form: TicketForm,
    }
}

page_template! {
    Collect = "kiosk/collect.html" {
        /// The device's office by its name in the reader's language.
        office: String,
        csrf: String,
        collected: Option<CollectedView>,
        /// What was typed into either form, kept after a refusal.
        form: CollectForm,
        end: EndorsementForm,
    }
}

/// What the collection kiosk handed out, carried to `/kiosk/collected`.
#[derive(serde::Serialize, Deserialize)]
struct CollectedView {
    document_number: String,
    expires_on: String,
    surrendered: Option<String>,
}

impl From<Collected> for CollectedView {
    fn from(c: Collected) -> Self {
        CollectedView {
            document_number: c.document_number,
            expires_on: c.expires_on.to_string(),
            surrendered: c.surrendered,
        }
    }
}

const HOME: &str = "/kiosk";
/// Where a kiosk with nothing to show starts over.
const START: &str = "/kiosk/start";

fn kiosk_page(cx: &Cx) -> Page {
    cx.page(None, "kiosk-title")
}

/// Where the device stands: its office's name in the reader's language (the kiosk's own
/// title if the office cannot be read), never its code.
async fn office_of(cx: &Cx, device: &DeviceSession) -> String {
    match exitentry_services::offices::get(cx.app(), &device.office_code).await {
        Ok(o) => office_name(cx.lang, &o),
        Err(_) => cx.lang.t("kiosk-title"),
    }
}

/// The ticket printer's screen: the ticket just printed, or why none was.
async fn tickets_page(
    cx: &Cx,
    csrf: &str,
    device: DeviceSession,
    ticket: Option<TicketView>,
) -> Response {
    let page = Tickets {
        page: kiosk_page(cx),
        office: office_of(cx, &device).await,
        action: "/kiosk/ticket",
        csrf: csrf.to_string(),
        services: bookable(),
        ticket,
        form: cx.kept().unwrap_or_default(),
    };
    with_anon_csrf(csrf, cx.render(&page))
}

/// The collection kiosk's screen: what was handed out, or why nothing was.
async fn collect_page(
    cx: &Cx,
    csrf: &str,
    device: DeviceSession,
    collected: Option<CollectedView>,
) -> Response {
    // A refused form comes back with what was typed in it (the endorsement form posts an
    // `action`; the collection form does not).
    let end: EndorsementForm = cx.kept().unwrap_or_default();
    let form = match end.action.is_empty() {
        true => cx.kept().unwrap_or_default(),
        false => CollectForm::default(),
    };
    let end = match end.action.is_empty() {
        true => EndorsementForm::default(),
        false => end,
    };
    let page = Collect {
        page: kiosk_page(cx),
        office: office_of(cx, &device).await,
        csrf: csrf.to_string(),
        collected,
        form,
        end,
    };
    with_anon_csrf(csrf, cx.render(&page))
}

/// Pairing: the device's token, or why it was refused.
fn pair_page(cx: &Cx, csrf: &str) -> Response {
    let page = Pair {
        page: kiosk_page(cx),
        csrf: csrf.to_string(),
    };
    with_anon_csrf(csrf, cx.render(&page))
}

async fn home(
    cx: Cx,
    headers: HeaderMap,
    MaybeDevice(device): MaybeDevice,
    Query(q): Query<TicketQuery>,
) -> Response {
    let csrf = anon_csrf(&headers);
    match device {
        None => pair_page(&cx, &csrf),
        Some(d) if d.kind == "kiosk" => collect_page(&cx, &csrf, d, None).await,
        Some(d) => {
            let ticket = match q.ticket {
                Some(id) => centre::ticket(cx.app(), Desk::Device(&d), id).await.ok(),
                None => None,
            };
            tickets_page(&cx, &csrf, d, ticket).await
        }
    }
}

form_fields!(PairForm { token: String });

/// The screen for the next person: whatever the last one typed or was shown is gone (the
/// idle timer of `kiosk.js` comes here).
async fn start(cx: Cx) -> Response {
    let secure = cx.app().config.server.secure_cookies;
    let clear = set_cookie(crate::extract::flash::FLASH_COOKIE, "", Some(0), secure);
    ([(header::SET_COOKIE, clear)], Redirect::to(HOME)).into_response()
}

/// What the collection kiosk just handed out (after the redirect), else the start.
async fn collected(cx: Cx, headers: HeaderMap, Device(device, _): Device<KioskDevice>) -> Response {
    match cx.made::<CollectedView>() {
        Some(c) => collect_page(&cx, &anon_csrf(&headers), device, Some(c)).await,
        None => Redirect::to(START).into_response(),
    }
}

async fn pair(cx: Cx, headers: HeaderMap, CsrfForm(f, _): CsrfForm<PairForm, Up>) -> Response {
    let cx = cx.at(HOME);
    let token = f.token.trim();
    match centre::device_session(cx.app(), token).await {
        Ok(Some(_)) => {
            let secure = cx.app().config.server.secure_cookies;
            let c = set_cookie(DEVICE_COOKIE, token, Some(400 * 24 * 3600), secure);
            ([(header::SET_COOKIE, c)], Redirect::to("/kiosk")).into_response()
        }
        _ => {
            let refused = Failed::key(StatusCode::UNAUTHORIZED, "kiosk-bad-token");
            pair_page(&cx.after(Err(refused)), &anon_csrf(&headers))
        }
    }
}

async fn unpair(_: CsrfForm<PairForm, Up>) -> Response {
    let c = set_cookie(DEVICE_COOKIE, "", Some(0), false);
    ([(header::SET_COOKIE, c)], Redirect::to("/kiosk")).into_response()
}

async fn ticket(
    cx: Cx,
    headers: HeaderMap,
    Device(device, _): Device<TicketPrinter>,
    CsrfForm(f, _): CsrfForm<TicketForm, Up>,
) -> Response {
    match ticket_for(&cx.s, Desk::Device(&device), &f).await {
        // Post, redirect, get: a reload never prints a second ticket.
        Ok(t) => Redirect::to(&format!("/kiosk?ticket={}", t.id)).into_response(),
        Err(e) => {
            tickets_page(
                &cx.at(HOME).after(Err(cx.shown(&e))),
                &anon_csrf(&headers),
                device,
                None,
            )
            .await
        }
    }
}

form_fields!(CollectForm {
    /// The receipt's barcode, scanned or typed.
    reference: String,
    id_number: String,
    /// Read from the old permit in the card slot (renewals, damaged permits).
    old_permit: String,
});

async fn collect(
    cx: Cx,
    headers: HeaderMap,
    Device(device, _): Device<KioskDevice>,
    CsrfForm(f, _): CsrfForm<CollectForm, Up>,
) -> Response {
    let done = centre::collect(cx.app(), &device, &f.reference, &f.id_number, &f.old_permit).await;
    let csrf = anon_csrf(&headers);
    match done {
        Ok(c) => {
            let c = CollectedView::from(c);
            let cx = cx.at("/kiosk/collected").showing(&c);
            collect_page(&cx, &csrf, device, Some(c)).await
        }
        Err(e) => collect_page(&cx.at(HOME).after(Err(cx.shown(&e))), &csrf, device, None).await,
    }
}

page_template! {
    Display = "kiosk/display.html" {
        board: Board,
    }
}

page_template! {
    BoardPart = "kiosk/board.html" {
        board: Board,
    }
}

/// The office's call board (`Display` with the page around it, `BoardPart` alone).
async fn board_of<T: Template>(
    cx: &Cx,
    office: &str,
    page: impl FnOnce(Page, Board) -> T,
) -> PageResult {
    let board = centre::board(cx.app(), office)
        .await
        .map_err(cx.fail(cx.path()))?;
    Ok(render(&page(cx.page(None, "display-title"), board)))
}

async fn display(cx: Cx, Path(office): Path<String>) -> PageResult {
    board_of(&cx, &office, |page, board| Display { page, board }).await
}

/// The board alone, fetched every two seconds by the display page.
async fn board(cx: Cx, Path(office): Path<String>) -> PageResult {
    board_of(&cx, &office, |page, board| BoardPart { page, board }).await
}

// ---- endorsements at the kiosk: identify with the card, pay, print, apply and print ----

const ENDORSEMENTS: &str = "/kiosk/endorsements";

pub fn endorsement_routes() -> Router<AppState> {
    Router::new().route(ENDORSEMENTS, get(endorsements_again).post(endorsements))
}

form_fields!(EndorsementForm {
    /// The card's number or its machine-readable line.
    card: String,
    id_number: String,
    /// `show`, `pay`, `print` or `apply`.
    action: String,
    application: String,
    method: String,
    /// `destination|kind|months|trips` for apply-and-print.
    choice: String,
});

page_template! {
    KioskEndorsements = "kiosk/endorsements.html" {
        /// The device's office by its name in the reader's language.
        office: String,
        csrf: String,
        card: String,
        id_number: String,
        applications: Vec<ea::ApplicationView>,
        /// Today (`YYYY-MM-DD`): counter applications print from their `ready_on`.
        today: String,
        choices: Vec<ea::Choice>,
        printed: Option<PrintedView>,
    }
}

/// What the kiosk just printed, carried to the page after the redirect.
#[derive(serde::Serialize, Deserialize)]
struct PrintedView {
    destination: String,
    kind: String,
    status: EndorsementApplicationState,
    valid_from: String,
    valid_until: String,
    job_status: PrintJobState,
}

impl From<ea::Printed> for PrintedView {
    fn from(p: ea::Printed) -> Self {
        PrintedView {
            destination: p.application.destination,
            kind: p.application.kind,
            status: p.application.status,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            job_status: p.job_status,
        }
    }
}

/// The endorsements page again (reload, language switch): the person is identified anew
/// from the card and number kept from the form; the action is not repeated.
async fn endorsements_again(
    cx: Cx,
    headers: HeaderMap,
    Device(device, _): Device<KioskDevice>,
) -> Response {
    let Some(f) = cx.kept::<EndorsementForm>() else {
        return Redirect::to(START).into_response();
    };
    let csrf = anon_csrf(&headers);
    let person = match ea::identify(cx.app(), &device, &f.card, &f.id_number).await {
        Ok(p) => p,
        Err(_) => return Redirect::to(START).into_response(),
    };
    let printed = cx.made::<PrintedView>();
    endorsements_page(&cx, &csrf, device, person, f, printed).await
}

async fn endorsements(
    cx: Cx,
    headers: HeaderMap,
    Device(device, _): Device<KioskDevice>,
    CsrfForm(f, _): CsrfForm<EndorsementForm, Up>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let app = cx.app();
    let person = match ea::identify(app, &device, &f.card, &f.id_number).await {
        Ok(p) => p,
        Err(e) => {
            let cx = cx.at(HOME).after(Err(cx.shown(&e)));
            return collect_page(&cx, &csrf, device, None).await;
        }
    };
    let mut printed = None;
    let outcome: Result<(), ServiceError> = match f.action.as_str() {
        "pay" => ea::pay_at_kiosk(app, &device, person, &f.application, &f.method)
            .await
            .map(|_| ()),
        "print" => ea::print_here(app, &device, person, &f.application)
            .await
            .map(|p| {
                printed = Some(PrintedView::from(p));
            }),
        "apply" => {
            let req = chosen_endorsement(&f.choice);
            ea::apply(app, person, "kiosk", &device.actor(), &req)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    let mut cx = cx
        .at(ENDORSEMENTS)
        .or_failed(outcome.err().map(|e| cx.shown(&e)));
    if let Some(p) = &printed {
        cx = cx.showing(p);
    }
    endorsements_page(&cx, &csrf, device, person, f, printed).await
}

/// The person's open applications, what they may apply for, and what was just printed.
async fn endorsements_page(
    cx: &Cx,
    csrf: &str,
    device: DeviceSession,
    person: i64,
    f: EndorsementForm,
    printed: Option<PrintedView>,
) -> Response {
    let app = cx.app();
    let applications = ea::mine(app, person)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            use EndorsementApplicationState as E;
            matches!(
                a.status,
                E::AwaitingPayment | E::UnderReview | E::ReadyToPrint
            )
        })
        .collect();
    let choices = ea::choices(app, person).await.unwrap_or_default();
    let page = KioskEndorsements {
        page: kiosk_page(cx),
        office: office_of(cx, &device).await,
        csrf: csrf.to_string(),
        card: f.card,
        id_number: f.id_number,
        applications,
        today: app.today().to_string(),
        choices,
        printed,
    };
    with_anon_csrf(csrf, cx.render(&page))
}
