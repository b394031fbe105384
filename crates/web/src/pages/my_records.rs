//! "My permits" (`/my`): what the signed-in holder holds and has in progress — documents,
//! applications at service centres, online endorsements, appointments, temporary permits,
//! linkage proofs — each with its status in words and a link, and only the offers this
//! person may take up (the rule is `holders::Offers`).

use super::common::{Page, beijing, render};
use crate::AppState;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::session::Holder;
use askama::Template;
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use axum::routing::get;
use exitentry_services::holders::{self, HolderRecords, HolderSession};
use exitentry_services::offices;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/my", get(records))
}

#[derive(Template)]
#[template(path = "holder/records.html")]
struct Records {
    page: Page,
    holder: HolderSession,
    r: HolderRecords,
    /// Office names in the reader's language, by code (appointments name only the code).
    office_names: BTreeMap<String, String>,
}

impl Records {
    fn office(&self, code: &str) -> String {
        self.office_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    fn day(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        beijing(*t, "%Y-%m-%d %H:%M")
    }
}

async fn records(
    State(s): State<AppState>,
    lang: Lang,
    uri: OriginalUri,
    Holder(h): Holder,
) -> Result<Response, PageError> {
    let page = Page::new(lang, &uri, None, "my-records-title");
    let r = holders::records(&s.app, &h)
        .await
        .map_err(PageError::at(lang, &page.path))?;
    let mut office_names = BTreeMap::new();
    for a in &r.centre_applications {
        if let Some(o) = &a.office {
            office_names.insert(a.office_code.clone(), page.office_name(o));
        }
    }
    for a in &r.appointments {
        if office_names.contains_key(&a.office_code) {
            continue;
        }
        if let Ok(o) = offices::get(&s.app, &a.office_code).await {
            office_names.insert(a.office_code.clone(), page.office_name(&o));
        }
    }
    Ok(render(&Records {
        page,
        holder: h,
        r,
        office_names,
    }))
}
