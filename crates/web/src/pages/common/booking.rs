//! Booking forms: the offices offering a service, grouped by city with the person's own
//! city first, each with its earliest free time; and the open slots of a day that a person
//! may still book (none inside the change cut-off).

use crate::extract::context::Cx;
use crate::render::{beijing, office_address, office_name};
use chrono::{Duration, NaiveDate};
use exitentry_domain::office::Service;
use exitentry_services::ServiceError;
use exitentry_services::appointments::{self as ap, Booker, SlotView};
use serde::Deserialize;

/// What a booking page is asked for in its address.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BookingQuery {
    pub office: String,
    /// The service, on pages that book more than one.
    pub service: String,
    pub date: String,
    /// `1`: moving an existing booking instead of making a new one.
    pub r#move: String,
}

/// A booking form for `service`: the offices offering it with the chosen one selected, the
/// open slots of the chosen day (else of the office's earliest free one), and the context
/// that shows the last attempt's refusal or why the slots could not be listed.
pub async fn booking_form(
    cx: &Cx,
    booker: Booker<'_>,
    service: Service,
    q: &BookingQuery,
) -> Result<(Cx, OfficePicker, SlotSearch), ServiceError> {
    let picker = office_picker(cx, booker, service, &q.office).await?;
    let day = picker.earliest_day;
    let (search, refusal) = slot_search(cx, &picker.selected, service, &q.date, day).await;
    let cx = cx.or_failed(refusal);
    Ok((cx, picker, search))
}

/// The day picker of a booking form and the open slots it found.
pub struct SlotSearch {
    pub date: String,
    pub min_date: String,
    pub max_date: String,
    /// An office and a day were chosen: the slots were looked for.
    pub searched: bool,
    pub slots: Vec<SlotView>,
    /// Free times of that day left out because they start inside the change cut-off:
    /// from when on times can be booked (Beijing time), when any were.
    pub too_soon_before: Option<String>,
}

/// The slots with a place left of `service` at `office` on `date` that a person may book
/// (none inside the change cut-off; the page says so when that hid some), and why they
/// could not be listed. The picker runs from today to the booking horizon; without a date
/// the day is the office's earliest free one (`earliest`), else tomorrow.
async fn slot_search(
    cx: &Cx,
    office: &str,
    service: Service,
    date: &str,
    earliest: Option<NaiveDate>,
) -> (SlotSearch, Option<crate::render::Failed>) {
    let today = cx.app().today();
    let date = date.parse::<NaiveDate>().ok().or(earliest);
    let searched = !office.is_empty() && date.is_some();
    let from = ap::bookable_from(cx.app());
    let mut too_soon_before = None;
    let (slots, error) = match (searched, date) {
        (true, Some(day)) => match ap::slots(cx.app(), office, service.code(), day, day).await {
            Ok(list) => {
                let free: Vec<SlotView> = list.into_iter().filter(|s| s.available > 0).collect();
                if free.iter().any(|s| s.start < from) {
                    too_soon_before = Some(beijing(from, "%H:%M"));
                }
                (free.into_iter().filter(|s| s.start >= from).collect(), None)
            }
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
        too_soon_before,
    };
    (search, error)
}

/// One office in the picker: its code, its name and address in the reader's language and
/// its earliest free time ("" when it has none within the horizon).
pub struct OfficeOption {
    pub code: String,
    pub name: String,
    pub address: String,
    pub earliest: String,
}

/// The offices of one city, under the city's name in the reader's language.
pub struct CityGroup {
    pub label: String,
    pub offices: Vec<OfficeOption>,
}

/// The office picker of a booking form: offices offering the service grouped by city (the
/// person's city first), and the office selected (the one asked for, else the earliest free
/// one in the person's city).
pub struct OfficePicker {
    pub groups: Vec<CityGroup>,
    pub selected: String,
    /// The selected office's earliest free day, to show its times at once.
    pub earliest_day: Option<NaiveDate>,
}

impl OfficePicker {
    pub fn is_selected(&self, code: &str) -> bool {
        self.selected == code
    }

    /// The selected office's address (shown under the picker: where the times are).
    pub fn selected_address(&self) -> Option<&str> {
        self.groups
            .iter()
            .flat_map(|g| &g.offices)
            .find(|o| o.code == self.selected)
            .map(|o| o.address.as_str())
            .filter(|a| !a.is_empty())
    }
}

/// The picker for `service` as `booker` sees it, with `chosen` selected when it offers it.
async fn office_picker(
    cx: &Cx,
    booker: Booker<'_>,
    service: Service,
    chosen: &str,
) -> Result<OfficePicker, ServiceError> {
    let p = ap::picker(cx.app(), booker, service).await?;
    let selected = p
        .offices
        .iter()
        .find(|o| o.office.code.as_str() == chosen)
        .map(|o| &o.office)
        .or_else(|| p.default_office());
    let earliest_day = selected.and_then(|s| {
        p.offices
            .iter()
            .find(|o| o.office.code == s.code)
            .and_then(|o| o.earliest)
            .map(|t| t.date_naive())
    });
    let selected = selected
        .map(|o| o.code.as_str().to_string())
        .unwrap_or_default();
    let place = |city: &str| {
        cx.lang
            .try_t(&format!("place-{city}"))
            .unwrap_or_else(|| city.to_string())
    };
    let mut cities: Vec<&str> = p.offices.iter().map(|o| o.office.city.as_str()).collect();
    cities.sort_by_key(|c| (Some(*c) != p.home_city.as_deref(), place(c)));
    cities.dedup();
    let groups = cities
        .into_iter()
        .map(|city| CityGroup {
            label: place(city),
            offices: p
                .offices
                .iter()
                .filter(|o| o.office.city == city)
                .map(|o| OfficeOption {
                    code: o.office.code.as_str().to_string(),
                    name: office_name(cx.lang, &o.office),
                    address: office_address(cx.lang, &o.office),
                    earliest: o
                        .earliest
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    Ok(OfficePicker {
        groups,
        selected,
        earliest_day,
    })
}
