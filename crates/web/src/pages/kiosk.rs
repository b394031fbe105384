//! Machines in the hall: a device signs in once with its token (kept in a cookie) and then
//! runs as a ticket printer (check-in and walk-in tickets) or a collection kiosk. The call
//! display for the waiting room is public: it shows ticket numbers only.

use super::common::{
    CsrfForm, Page, TicketForm, TicketQuery, Up, bookable, csrf_field, render, ticket_for,
};
use crate::AppState;
use crate::error::{PageError, message_for, status_for};
use crate::i18n::Lang;
use crate::session::{
    DEVICE_COOKIE, Device, KioskDevice, MaybeDevice, TicketPrinter, anon_csrf, anon_csrf_cookie,
    set_cookie,
};
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::centre::{self, Board, Collected, Desk, DeviceSession, TicketView};
use exitentry_services::endorsement_applications as ea;
use serde::Deserialize;

csrf_field!(CollectForm, EndorsementForm, PairForm);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/kiosk", get(home))
        .route("/kiosk/pair", post(pair))
        .route("/kiosk/unpair", post(unpair))
        .route("/kiosk/ticket", post(ticket))
        .route("/kiosk/collect", post(collect))
        .route("/display/{office}", get(display))
        .route("/display/{office}/board", get(board))
        .merge(endorsement_routes())
}

#[derive(Template)]
#[template(path = "kiosk/pair.html")]
struct Pair {
    page: Page,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "kiosk/tickets.html")]
struct Tickets {
    page: Page,
    device: DeviceSession,
    action: &'static str,
    csrf: String,
    services: Vec<Service>,
    ticket: Option<TicketView>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "kiosk/collect.html")]
struct Collect {
    page: Page,
    device: DeviceSession,
    csrf: String,
    collected: Option<Collected>,
    error: Option<String>,
}

fn with_csrf(status: StatusCode, csrf: &str, body: Response) -> Response {
    (status, [(header::SET_COOKIE, anon_csrf_cookie(csrf))], body).into_response()
}

fn kiosk_page(lang: Lang, uri: &OriginalUri) -> Page {
    Page::new(lang, uri, None, "kiosk-title")
}

async fn home(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    MaybeDevice(device): MaybeDevice,
    Query(q): Query<TicketQuery>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let page = kiosk_page(lang, &uri);
    let body = match device {
        None => render(&Pair {
            page,
            csrf: csrf.clone(),
            error: None,
        }),
        Some(d) if d.kind == "kiosk" => render(&Collect {
            page,
            device: d,
            csrf: csrf.clone(),
            collected: None,
            error: None,
        }),
        Some(d) => {
            let ticket = match q.ticket {
                Some(id) => centre::ticket(&s.app, Desk::Device(&d), id).await.ok(),
                None => None,
            };
            render(&Tickets {
                page,
                device: d,
                action: "/kiosk/ticket",
                csrf: csrf.clone(),
                services: bookable(),
                ticket,
                error: None,
            })
        }
    };
    with_csrf(StatusCode::OK, &csrf, body)
}

#[derive(Deserialize)]
struct PairForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn pair(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    CsrfForm(f, _): CsrfForm<PairForm, Up>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let token = f.token.trim();
    match centre::device_session(&s.app, token).await {
        Ok(Some(_)) => {
            let c = set_cookie(
                DEVICE_COOKIE,
                token,
                Some(400 * 24 * 3600),
                s.app.config.server.secure_cookies,
            );
            ([(header::SET_COOKIE, c)], Redirect::to("/kiosk")).into_response()
        }
        _ => {
            let body = render(&Pair {
                page: kiosk_page(lang, &uri),
                csrf: csrf.clone(),
                error: Some(lang.t("kiosk-bad-token")),
            });
            with_csrf(StatusCode::UNAUTHORIZED, &csrf, body)
        }
    }
}

async fn unpair(_: CsrfForm<PairForm, Up>) -> Response {
    let c = set_cookie(DEVICE_COOKIE, "", Some(0), false);
    ([(header::SET_COOKIE, c)], Redirect::to("/kiosk")).into_response()
}

async fn ticket(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Device(device, _): Device<TicketPrinter>,
    CsrfForm(f, _): CsrfForm<TicketForm, Up>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let (status, ticket, error) = match ticket_for(&s, Desk::Device(&device), &f).await {
        // Post, redirect, get: a reload never prints a second ticket.
        Ok(t) => return Redirect::to(&format!("/kiosk?ticket={}", t.id)).into_response(),
        Err(e) => (status_for(&e), None, Some(message_for(&e, lang))),
    };
    let body = render(&Tickets {
        page: kiosk_page(lang, &uri),
        device,
        action: "/kiosk/ticket",
        csrf: csrf.clone(),
        services: bookable(),
        ticket,
        error,
    });
    with_csrf(status, &csrf, body)
}

#[derive(Deserialize)]
struct CollectForm {
    #[serde(default)]
    csrf: String,
    /// The receipt's barcode, scanned or typed.
    #[serde(default)]
    reference: String,
    #[serde(default)]
    id_number: String,
    /// Read from the old permit in the card slot (renewals, damaged permits).
    #[serde(default)]
    old_permit: String,
}

async fn collect(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Device(device, _): Device<KioskDevice>,
    CsrfForm(f, _): CsrfForm<CollectForm, Up>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let (status, collected, error) =
        match centre::collect(&s.app, &device, &f.reference, &f.id_number, &f.old_permit).await {
            Ok(c) => (StatusCode::OK, Some(c), None),
            Err(e) => (status_for(&e), None, Some(message_for(&e, lang))),
        };
    let body = render(&Collect {
        page: kiosk_page(lang, &uri),
        device,
        csrf: csrf.clone(),
        collected,
        error,
    });
    with_csrf(status, &csrf, body)
}

#[derive(Template)]
#[template(path = "kiosk/display.html")]
struct Display {
    page: Page,
    board: Board,
}

#[derive(Template)]
#[template(path = "kiosk/board.html")]
struct BoardPart {
    page: Page,
    board: Board,
}

async fn display(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path(office): Path<String>,
) -> Result<Response, PageError> {
    let board = centre::board(&s.app, &office)
        .await
        .map_err(PageError::at(lang, uri.0.path()))?;
    Ok(render(&Display {
        page: Page::new(lang, &uri, None, "display-title"),
        board,
    }))
}

/// The board alone, fetched every two seconds by the display page.
async fn board(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Path(office): Path<String>,
) -> Result<Response, PageError> {
    let board = centre::board(&s.app, &office)
        .await
        .map_err(PageError::at(lang, uri.0.path()))?;
    Ok(render(&BoardPart {
        page: Page::new(lang, &uri, None, "display-title"),
        board,
    }))
}

// ---- endorsements at the kiosk: identify with the card, pay, print, apply and print ----

pub fn endorsement_routes() -> Router<AppState> {
    Router::new().route("/kiosk/endorsements", post(endorsements))
}

#[derive(Deserialize, Default)]
struct EndorsementForm {
    #[serde(default)]
    csrf: String,
    /// The card's number or its machine-readable line.
    #[serde(default)]
    card: String,
    #[serde(default)]
    id_number: String,
    /// `show`, `pay`, `print` or `apply`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    application: String,
    #[serde(default)]
    method: String,
    /// `destination|kind|months|trips` for apply-and-print.
    #[serde(default)]
    choice: String,
}

#[derive(Template)]
#[template(path = "kiosk/endorsements.html")]
struct KioskEndorsements {
    page: Page,
    device: DeviceSession,
    csrf: String,
    card: String,
    id_number: String,
    applications: Vec<ea::ApplicationView>,
    /// Today (`YYYY-MM-DD`): counter applications print from their `ready_on`.
    today: String,
    choices: Vec<ea::Choice>,
    printed: Option<ea::Printed>,
    error: Option<String>,
}

async fn endorsements(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    headers: HeaderMap,
    Device(device, _): Device<KioskDevice>,
    CsrfForm(f, _): CsrfForm<EndorsementForm, Up>,
) -> Response {
    let csrf = anon_csrf(&headers);
    let person = match ea::identify(&s.app, &device, &f.card, &f.id_number).await {
        Ok(p) => p,
        Err(e) => {
            let body = render(&Collect {
                page: kiosk_page(lang, &uri),
                device,
                csrf: csrf.clone(),
                collected: None,
                error: Some(message_for(&e, lang)),
            });
            return with_csrf(status_for(&e), &csrf, body);
        }
    };
    let mut printed = None;
    let outcome: Result<(), ServiceError> = match f.action.as_str() {
        "pay" => ea::pay_at_kiosk(&s.app, &device, person, &f.application, &f.method)
            .await
            .map(|_| ()),
        "print" => ea::print_here(&s.app, &device, person, &f.application)
            .await
            .map(|p| {
                printed = Some(p);
            }),
        "apply" => {
            let parts: Vec<&str> = f.choice.split('|').collect();
            let req = match parts.as_slice() {
                [d, k, m, t] => ea::ApplyRequest {
                    destination: d.to_string(),
                    kind: k.to_string(),
                    validity_months: m.parse().unwrap_or(0),
                    trips: t.to_string(),
                },
                _ => ea::ApplyRequest::default(),
            };
            ea::apply(&s.app, person, "kiosk", &device.actor(), &req)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    let (status, error) = match outcome {
        Ok(()) => (StatusCode::OK, None),
        Err(e) => (status_for(&e), Some(message_for(&e, lang))),
    };
    let applications = ea::mine(&s.app, person)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            use exitentry_domain::states::EndorsementApplicationState as E;
            matches!(
                E::parse(&a.status),
                Ok(E::AwaitingPayment | E::UnderReview | E::ReadyToPrint)
            )
        })
        .collect();
    let choices = ea::choices(&s.app, person).await.unwrap_or_default();
    let body = render(&KioskEndorsements {
        page: kiosk_page(lang, &uri),
        device,
        csrf: csrf.clone(),
        card: f.card,
        id_number: f.id_number,
        applications,
        today: s.app.today().to_string(),
        choices,
        printed,
        error,
    });
    with_csrf(status, &csrf, body)
}
