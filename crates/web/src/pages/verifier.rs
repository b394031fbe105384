//! The offline verifier for gate staff (`/verifier`): the page, its web app manifest and its
//! service worker. The checks run in the browser (`assets/verifier-*.js`) against the signed
//! trust list and status list the page keeps, with the root certificate pinned in the page;
//! no scan is ever sent to the server (docs/VERIFIER.md).

use super::common::{Page, render};
use crate::AppState;
use crate::error::PageError;
use crate::extract::PageQuery;
use crate::i18n::Lang;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// How old the revocation list may be before the page warns (the CLI's default too).
const STATUS_FRESH_SECS: i64 = 24 * 3600;
/// How old the trust list may be before the page warns (signers rotate far less often).
const TRUST_FRESH_SECS: i64 = 7 * 24 * 3600;

/// The uses a gate agent can check for, as signed in `permitted_uses`.
const USES: [&str; 4] = [
    "domestic_flight",
    "domestic_rail",
    "document_linkage",
    "border",
];

/// Document kinds a credential may name, shown with the site's own words for them.
const DOCUMENT_KINDS: [&str; 6] = [
    "hrp",
    "hrp_non_chinese",
    "twp",
    "eep_card",
    "eep_booklet",
    "residence_permit",
];

/// Words the script shows (verdicts, reasons, list states), in the page's language.
const MESSAGES: &[&str] = &[
    "vf-valid",
    "vf-not-valid",
    "vf-holder",
    "vf-document",
    "vf-credential-id",
    "vf-validity",
    "vf-uses",
    "vf-uses-none",
    "vf-linked",
    "vf-checked-for",
    "vf-beijing",
    "vf-kind-temporary_permit",
    "vf-kind-linkage_proof",
    "vf-kind-unknown",
    "vf-reason-valid",
    "vf-reason-bad_prefix",
    "vf-reason-bad_base45",
    "vf-reason-bad_compression",
    "vf-reason-bad_cose",
    "vf-reason-bad_claims",
    "vf-reason-unknown_signer",
    "vf-reason-bad_signature",
    "vf-reason-not_yet_valid",
    "vf-reason-expired",
    "vf-reason-revoked",
    "vf-reason-wrong_use",
    "vf-reason-unsupported",
    "vf-reason-no_lists",
    "vf-reason-no_use",
    "vf-lists-none",
    "vf-lists-fetched",
    "vf-lists-status-issued",
    "vf-lists-trust-version",
    "vf-lists-age",
    "vf-lists-stale-status",
    "vf-lists-stale-trust",
    "vf-lists-refreshed",
    "vf-lists-offline",
    "vf-lists-bad",
    "vf-lists-checking",
    "vf-unit-min",
    "vf-unit-h",
    "vf-unit-d",
    "vf-camera-unavailable",
    "vf-camera-looking",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verifier", get(page))
        .route("/verifier/manifest.webmanifest", get(manifest))
        .route("/verifier/sw.js", get(service_worker))
}

#[derive(Deserialize, Default)]
struct VerifierQuery {
    /// `en`, `zh-Hans` or `zh-Hant`: the page's language without the cookie, so the
    /// service worker can keep all three for use offline.
    #[serde(default)]
    lang: String,
}

pub struct LangChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "public/verifier.html")]
struct VerifierPage {
    page: Page,
    langs: Vec<LangChoice>,
    uses: Vec<(&'static str, String)>,
    /// JSON for the script, safe inside `<script type="application/json">`.
    config: String,
}

async fn page(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    PageQuery(q): PageQuery<VerifierQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_tag(&q.lang).unwrap_or(lang);
    let page = Page::new(lang, &uri, None, "vf-title");
    let root = exitentry_services::credentials::root_certificate(&s.app)
        .map_err(PageError::at(lang, &page.path))?;
    let mut messages = serde_json::Map::new();
    let keys = MESSAGES.iter().map(|k| (*k).to_string());
    let uses = USES.iter().map(|u| format!("vf-use-{u}"));
    let kinds = DOCUMENT_KINDS.iter().map(|k| format!("kind-{k}"));
    for key in keys.chain(uses).chain(kinds) {
        messages.insert(key.clone(), lang.t(&key).into());
    }
    let config = serde_json::json!({
        "lang": lang.code(),
        "prefix": s.app.config.credentials.prefix,
        "root": base64::engine::general_purpose::STANDARD.encode(root),
        "status_fresh_secs": STATUS_FRESH_SECS,
        "trust_fresh_secs": TRUST_FRESH_SECS,
        "messages": messages,
    });
    let mut res = render(&VerifierPage {
        langs: Lang::ALL
            .into_iter()
            .map(|l| LangChoice {
                code: l.code(),
                name: l.native_name(),
                active: l == lang,
            })
            .collect(),
        uses: USES
            .iter()
            .map(|u| (*u, lang.t(&format!("vf-use-{u}"))))
            .collect(),
        config: script_json(&config),
        page,
    });
    // Nothing personal on this page: the service worker keeps a copy for use offline.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    Ok(res)
}

/// JSON that cannot end its `<script>` element or open a comment.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn manifest(lang: Lang, PageQuery(q): PageQuery<VerifierQuery>) -> Response {
    let lang = Lang::from_tag(&q.lang).unwrap_or(lang);
    let body = serde_json::json!({
        "name": lang.t("vf-title"),
        "short_name": lang.t("vf-short-name"),
        "lang": lang.code(),
        "start_url": format!("/verifier?lang={}", lang.code()),
        "scope": "/verifier",
        "display": "standalone",
        "background_color": "#f6f8fa",
        "theme_color": "#0b4f8a",
        "icons": [{ "src": "/assets/emblem.svg", "sizes": "any", "type": "image/svg+xml" }],
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

const SERVICE_WORKER: &str = include_str!("../../assets/verifier-sw.js");

/// The service worker, with the version of the files it keeps: a new build with changed
/// assets installs a new worker, which replaces the old copies.
async fn service_worker() -> Response {
    static BODY: OnceLock<String> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        let mut hash = Sha256::new();
        for (name, bytes) in crate::assets::verifier_files() {
            hash.update(name.as_bytes());
            hash.update(bytes);
        }
        let version = hex::encode(&hash.finalize()[..8]);
        SERVICE_WORKER.replace("__VERSION__", &version)
    });
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Served below /verifier/ but controls the page /verifier itself.
            (
                header::HeaderName::from_static("service-worker-allowed"),
                "/verifier",
            ),
        ],
        body.as_str(),
    )
        .into_response()
}
