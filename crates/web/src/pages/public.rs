//! Public pages: home and the office directory.

use super::common::{Cx, page_template, render, urlencoding_min};
use crate::AppState;
use crate::error::PageResult;
use crate::extract::PageQuery;
use crate::session::MaybeStaff;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use exitentry_domain::office::Office;
use exitentry_services::offices::{self, DistrictSummary, OfficeFilter, OfficePage};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/offices", get(directory))
        .route("/offices/{code}", get(office))
}

page_template! {
    Home = "public/home.html" {
        offices: i64,
        open_24h: i64,
        cities: usize,
    }
}

async fn home(cx: Cx, MaybeStaff(staff): MaybeStaff) -> PageResult {
    let page = cx.page(staff, "home-title");
    let ds = offices::districts(cx.app())
        .await
        .map_err(cx.fail(&page.path))?;
    let mut cities: Vec<&str> = ds.iter().map(|d| d.city.as_str()).collect();
    cities.dedup();
    Ok(render(&Home {
        offices: ds.iter().map(|d| d.offices).sum(),
        open_24h: ds.iter().map(|d| d.open_24h).sum(),
        cities: cities.len(),
        page,
    }))
}

#[derive(Deserialize, Default)]
pub struct DirectoryQuery {
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub open24: String,
    #[serde(default)]
    pub devices: String,
    #[serde(default)]
    pub page: Option<i64>,
}

/// Cities with their districts, for the grouped select.
pub struct CityGroup {
    pub city: String,
    pub districts: Vec<DistrictSummary>,
}

page_template! {
    Directory = "public/offices.html" {
        groups: Vec<CityGroup>,
        q: DirectoryQuery,
        result: OfficePage,
    }
}

impl Directory {
    fn page_href(&self, n: i64) -> String {
        format!(
            "/offices?district={}&open24={}&devices={}&page={n}",
            urlencoding_min(&self.q.district),
            self.q.open24,
            self.q.devices
        )
    }
}

async fn directory(
    cx: Cx,
    MaybeStaff(staff): MaybeStaff,
    PageQuery(q): PageQuery<DirectoryQuery>,
) -> PageResult {
    let page = cx.page(staff, "offices-title");
    let path = page.path.clone();
    let fail = cx.fail(&path);
    let ds = offices::districts(cx.app()).await.map_err(&fail)?;
    let mut groups: Vec<CityGroup> = Vec::new();
    for d in ds {
        match groups.last_mut() {
            Some(g) if g.city == d.city => g.districts.push(d),
            _ => groups.push(CityGroup {
                city: d.city.clone(),
                districts: vec![d],
            }),
        }
    }
    let filter = OfficeFilter {
        district: Some(q.district.clone()).filter(|d| !d.is_empty()),
        open_24h: !q.open24.is_empty(),
        with_devices: !q.devices.is_empty(),
        ..Default::default()
    };
    let result = offices::directory(cx.app(), filter, q.page.unwrap_or(1))
        .await
        .map_err(&fail)?;
    Ok(render(&Directory {
        page,
        groups,
        q,
        result,
    }))
}

page_template! {
    OfficeDetail = "public/office.html" {
        office: Office,
    }
}

async fn office(cx: Cx, MaybeStaff(staff): MaybeStaff, Path(code): Path<String>) -> PageResult {
    let mut page = cx.page(staff, "offices-title");
    let office = offices::get(cx.app(), &code)
        .await
        .map_err(cx.fail(&page.path))?;
    page.title = page.office_name(&office);
    Ok(render(&OfficeDetail { page, office }))
}
