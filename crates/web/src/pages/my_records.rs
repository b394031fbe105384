//! "My permits" (`/my`): what the signed-in holder holds and has in progress — documents,
//! applications at service centres, online endorsements, appointments, temporary permits,
//! linkage proofs — each with its status in words and a link, and only the offers this
//! person may take up (the rule is `holders::Offers`).

use super::common::{Cx, beijing, office_name, page_template};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Holder;
use axum::Router;
use axum::routing::get;
use exitentry_services::holders::{self, HolderRecords, HolderSession};
use exitentry_services::offices;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/my", get(records))
}

page_template! {
    Records = "holder/records.html" {
        holder: HolderSession,
        r: HolderRecords,
        /// Office names in the reader's language, by code (appointments name only the code).
        office_names: BTreeMap<String, String>,
    }
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

async fn records(cx: Cx, Holder(h): Holder) -> PageResult {
    let page = cx.page(None, "my-records-title");
    let r = holders::records(cx.app(), &h)
        .await
        .map_err(cx.fail(&page.path))?;
    let mut office_names = BTreeMap::new();
    for a in &r.centre_applications {
        if let Some(o) = &a.office {
            office_names.insert(a.office_code.clone(), office_name(cx.lang, o));
        }
    }
    for a in &r.appointments {
        if office_names.contains_key(&a.office_code) {
            continue;
        }
        if let Ok(o) = offices::get(cx.app(), &a.office_code).await {
            office_names.insert(a.office_code.clone(), office_name(cx.lang, &o));
        }
    }
    Ok(cx.render(&Records {
        page,
        holder: h,
        r,
        office_names,
    }))
}
