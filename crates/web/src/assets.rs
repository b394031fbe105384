//! Static files compiled into the binary: kiosks and centres may have no internet, so
//! nothing comes from a CDN. Third-party files (htmx, cborg, jsQR) live in `assets/vendor/`.

use crate::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "vendor/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/htmx.min.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "print.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/print.js"),
    ),
    (
        "kiosk.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/kiosk.js"),
    ),
    (
        "emblem.svg",
        "image/svg+xml",
        include_bytes!("../assets/emblem.svg"),
    ),
];

/// The offline verifier's files (`pages::verifier`); its service worker keeps them all.
const VERIFIER: &[(&str, &str, &[u8])] = &[
    (
        "verifier.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/verifier.css"),
    ),
    (
        "verifier-page.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/verifier-page.js"),
    ),
    (
        "verifier-core.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/verifier-core.js"),
    ),
    (
        "verifier-x509.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/verifier-x509.js"),
    ),
    (
        "verifier-zlib.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/verifier-zlib.js"),
    ),
    (
        "vendor/cborg.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/cborg.js"),
    ),
    (
        "vendor/jsqr.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/jsqr.js"),
    ),
];

/// The verifier's files by name (with the shared ones its page uses), for its service worker.
pub fn verifier_files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    let shared = FILES
        .iter()
        .filter(|(name, _, _)| matches!(*name, "app.css" | "emblem.svg"));
    shared
        .chain(VERIFIER.iter())
        .map(|(name, _, body)| (*name, *body))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{file}", get(asset))
        .route("/assets/vendor/{file}", get(vendor_asset))
}

async fn vendor_asset(Path(file): Path<String>) -> Response {
    asset(Path(format!("vendor/{file}"))).await
}

async fn asset(Path(file): Path<String>) -> Response {
    match FILES
        .iter()
        .chain(VERIFIER.iter())
        .find(|(name, _, _)| *name == file)
    {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
