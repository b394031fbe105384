//! Booking forms: the offices offering a service and the open slots of a day.

use crate::extract::context::Cx;
use crate::render::office_name;
use chrono::{Duration, NaiveDate};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, SlotView};
use exitentry_services::offices;

/// The day picker of a booking form and the open slots it found.
pub struct SlotSearch {
    pub date: String,
    pub min_date: String,
    pub max_date: String,
    /// An office and a day were chosen: the slots were looked for.
    pub searched: bool,
    pub slots: Vec<SlotView>,
}

/// The slots with a place left of `service` at `office` on `date` (tomorrow picked when
/// there is no date; the picker runs from today to the booking horizon), and why they could
/// not be listed.
pub async fn slot_search(
    cx: &Cx,
    office: &str,
    service: Service,
    date: &str,
) -> (SlotSearch, Option<crate::render::Failed>) {
    let today = cx.app().today();
    let date = date.parse::<NaiveDate>().ok();
    let searched = !office.is_empty() && date.is_some();
    let (slots, error) = match (searched, date) {
        (true, Some(day)) => match ap::slots(cx.app(), office, service.code(), day, day).await {
            Ok(list) => (list.into_iter().filter(|s| s.available > 0).collect(), None),
            Err(e) => (Vec::new(), Some(cx.shown(&e))),
        },
        _ => (Vec::new(), None),
    };
    let horizon = cx.app().config.centre.booking_horizon_days;
    let search = SlotSearch {
        date: date.unwrap_or(today + Duration::days(1)).to_string(),
        min_date: today.to_string(),
        max_date: (today + Duration::days(horizon)).to_string(),
        searched,
        slots,
    };
    (search, error)
}

/// The offices offering `service`: code and name in the reader's language, for a picker.
pub async fn office_choices(
    cx: &Cx,
    service: Service,
) -> Result<Vec<(String, String)>, ServiceError> {
    Ok(offices::offering(cx.app(), Some(service))
        .await?
        .iter()
        .map(|o| (o.code.as_str().to_string(), office_name(cx.lang, o)))
        .collect())
}
