//! What a booking picker offers a person: the offices that provide the service, each with
//! its earliest time that can still be booked, and the person's own city to start from.

use super::booking::{Booker, bookable_from};
use crate::{App, Result, records};
use chrono::{DateTime, Duration, FixedOffset};
use exitentry_domain::hrp::Form;
use exitentry_domain::office::{Office, Service, city_of_hukou};
use exitentry_domain::person::HukouArea;
use exitentry_domain::time::cst;
use exitentry_storage::appointments as store;
use exitentry_storage::{AnyConnection, from_micros};

/// An office offering the service, and its earliest free time a person may book.
#[derive(Debug, Clone)]
pub struct PickerOffice {
    pub office: Office,
    pub earliest: Option<DateTime<FixedOffset>>,
}

/// The offices offering one service, and where the person lives when known.
#[derive(Debug, Clone)]
pub struct Picker {
    /// Offices offering the service, the ones with the earliest free time first.
    pub offices: Vec<PickerOffice>,
    /// The person's city as the directory names it, when it has an office for the service.
    pub home_city: Option<String>,
}

impl Picker {
    /// The office to start from: the earliest free one in the person's city, else the
    /// earliest free one anywhere, else the first.
    pub fn default_office(&self) -> Option<&Office> {
        let home = self
            .offices
            .iter()
            .find(|o| Some(&o.office.city) == self.home_city.as_ref());
        home.or_else(|| self.offices.first()).map(|o| &o.office)
    }
}

/// The picker for `service` as `booker` sees it.
pub async fn picker(app: &App, booker: Booker<'_>, service: Service) -> Result<Picker> {
    let mut offices: Vec<PickerOffice> = crate::offices::offering(app, Some(service))
        .await?
        .into_iter()
        .map(|office| PickerOffice {
            office,
            earliest: None,
        })
        .collect();
    let mut conn = app.db.conn().await?;
    let from = bookable_from(app).timestamp_micros();
    let to =
        (app.now() + Duration::days(app.config.centre.booking_horizon_days + 1)).timestamp_micros();
    for e in store::earliest_free(&mut conn, service.code(), from, to).await? {
        if let Some(o) = offices
            .iter_mut()
            .find(|o| o.office.code.as_str() == e.office_code)
        {
            o.earliest = Some(from_micros(e.starts_at).with_timezone(&cst()));
        }
    }
    // Earliest first; offices without a free time last (`None` sorts first otherwise).
    offices.sort_by_key(|o| (o.earliest.is_none(), o.earliest));
    let home_city = home_city(&mut conn, &booker)
        .await?
        .filter(|c| offices.iter().any(|o| &o.office.city == c));
    Ok(Picker { offices, home_city })
}

/// The city a person lives in, as far as we know it: a holder's household registration,
/// an applicant's region of permanent residence on their latest form.
async fn home_city(conn: &mut AnyConnection, booker: &Booker<'_>) -> Result<Option<String>> {
    Ok(match booker {
        Booker::Holder(h) => records::person(conn, h.person_id)
            .await?
            .person
            .hukou_area
            .and_then(|a| HukouArea::parse(&a).ok())
            .and_then(|a| city_of_hukou(&a))
            .map(str::to_string),
        Booker::Applicant(a) => {
            let latest = exitentry_storage::pre_applications::for_account(conn, a.account_id)
                .await?
                .into_iter()
                .next();
            latest
                .and_then(|x| serde_json::from_str::<Form>(&x.form).ok())
                .and_then(|f| (f.region == "hong_kong").then(|| "HongKong".to_string()))
        }
        Booker::Partner(_) | Booker::Staff(_) => None,
    })
}
