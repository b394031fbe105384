//! "My permits" (`/my`): what the signed-in holder holds and has in progress — documents,
//! applications at service centres, online endorsements, appointments, temporary permits,
//! linkage proofs — each with its status in words and a link, and only the offers this
//! person may take up (the rule is `holders::Offers`).

use super::common::{Cx, OfficeNames, beijing, office_name, page_template};
use crate::AppState;
use crate::error::PageResult;
use crate::session::Holder;
use axum::Router;
use axum::routing::get;
use exitentry_services::holders::{self, HolderRecords, HolderSession};

pub fn routes() -> Router<AppState> {
    Router::new().route("/my", get(records))
}

page_template! {
    Records = "holder/records.html" {
        holder: HolderSession,
        r: HolderRecords,
        /// Office names in the reader's language, by code (appointments name only the code).
        office_names: OfficeNames,
    }
}

impl Records {
    fn office(&self, code: &str) -> String {
        self.office_names.name(code)
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
    let mut office_names =
        OfficeNames::of(&cx, r.appointments.iter().map(|a| a.office_code.as_str())).await;
    for a in &r.centre_applications {
        if let Some(o) = &a.office {
            office_names.insert(&a.office_code, office_name(cx.lang, o));
        }
    }
    Ok(cx.render(&Records {
        page,
        holder: h,
        r,
        office_names,
    }))
}
