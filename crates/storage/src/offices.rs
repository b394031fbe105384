//! Offices: upsert from imports, directory queries.

use crate::error::corrupt;
use crate::statement::{Binds, all, scalar, scalars};
use crate::{Result, StorageError};
use exitentry_domain::office::{HolidayCalendar, Office, OfficeCode, OfficeLevel, Service};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

const COLUMNS: &str = "code, name_zh_hans, name_zh_hant, name_en, city, district, address, level, \
     open_24h, opening_hours, self_service_devices, services, calendar, address_zh_hant, address_en";

/// What an upsert did, for import reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

fn services_text(s: &[Service]) -> String {
    s.iter().map(|s| s.code()).collect::<Vec<_>>().join(";")
}

fn from_row(r: &AnyRow) -> Result<Office> {
    let text = |c: &str| -> Result<String> { Ok(r.try_get::<String, _>(c)?) };
    Ok(Office {
        code: OfficeCode::parse(&text("code")?).map_err(corrupt)?,
        name_zh_hans: text("name_zh_hans")?,
        name_zh_hant: text("name_zh_hant")?,
        name_en: text("name_en")?,
        city: text("city")?,
        district: text("district")?,
        address: text("address")?,
        address_zh_hant: text("address_zh_hant")?,
        address_en: text("address_en")?,
        level: OfficeLevel::parse(&text("level")?).map_err(corrupt)?,
        calendar: HolidayCalendar::parse(&text("calendar")?).map_err(corrupt)?,
        open_24h: r.try_get::<i64, _>("open_24h")? != 0,
        opening_hours: text("opening_hours")?,
        self_service_devices: u32::try_from(r.try_get::<i64, _>("self_service_devices")?)
            .map_err(corrupt)?,
        services: Service::parse_list(&text("services")?).map_err(corrupt)?,
    })
}

/// Binds an office's columns ($1 code … $12 services, $13 calendar), then `now` ($14), then
/// the translated addresses ($15 Traditional Chinese, $16 English).
fn bind_office<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    o: &Office,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(o.code.as_str().to_string())
        .bind(o.name_zh_hans.clone())
        .bind(o.name_zh_hant.clone())
        .bind(o.name_en.clone())
        .bind(o.city.clone())
        .bind(o.district.clone())
        .bind(o.address.clone())
        .bind(o.level.code())
        .bind(i64::from(o.open_24h))
        .bind(o.opening_hours.clone())
        .bind(i64::from(o.self_service_devices))
        .bind(services_text(&o.services))
        .bind(o.calendar.code())
        .bind(now)
        .bind(o.address_zh_hant.clone())
        .bind(o.address_en.clone())
}

/// Inserts new offices and updates changed ones; identical rows are left alone so a
/// re-import changes nothing.
pub async fn upsert(
    conn: &mut AnyConnection,
    offices: &[Office],
    now: i64,
) -> Result<UpsertCounts> {
    let mut counts = UpsertCounts::default();
    for o in offices {
        let existing = get(conn, &o.code).await?;
        match existing {
            Some(e) if &e == o => counts.unchanged += 1,
            Some(_) => {
                let q = sqlx::query(
                    "UPDATE offices SET name_zh_hans=$2, name_zh_hant=$3, name_en=$4, city=$5, \
                     district=$6, address=$7, level=$8, open_24h=$9, opening_hours=$10, \
                     self_service_devices=$11, services=$12, calendar=$13, updated_at=$14, \
                     address_zh_hant=$15, address_en=$16 WHERE code=$1",
                );
                bind_office(q, o, now).execute(&mut *conn).await?;
                counts.updated += 1;
            }
            None => {
                let q = sqlx::query(
                    "INSERT INTO offices (code, name_zh_hans, name_zh_hant, name_en, city, district, \
                     address, level, open_24h, opening_hours, self_service_devices, services, \
                     calendar, created_at, updated_at, address_zh_hant, address_en) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15,$16)",
                );
                bind_office(q, o, now)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| StorageError::from(e).or_conflict(o.code.as_str()))?;
                counts.inserted += 1;
            }
        }
    }
    Ok(counts)
}

pub async fn get(conn: &mut AnyConnection, code: &OfficeCode) -> Result<Option<Office>> {
    let sql = format!("SELECT {COLUMNS} FROM offices WHERE code = $1");
    let args = (code.as_str(),).into_args()?;
    let row = sqlx::query_with(AssertSqlSafe(sql), args)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Directory filter; every field optional.
#[derive(Debug, Default, Clone)]
pub struct OfficeFilter {
    pub city: Option<String>,
    pub district: Option<String>,
    pub open_24h: bool,
    pub with_devices: bool,
    pub limit: i64,
    pub offset: i64,
}

/// A page of offices ordered by city, district, code, and the total matching.
pub async fn list(conn: &mut AnyConnection, f: &OfficeFilter) -> Result<(Vec<Office>, i64)> {
    // Fixed placeholders with "IS NULL OR" keep one statement text for every filter combination.
    let cond = "($1 = '' OR city = $1) AND ($2 = '' OR district = $2) \
                AND ($3 = 0 OR open_24h = 1) AND ($4 = 0 OR self_service_devices > 0)";
    let city = f.city.as_deref().unwrap_or_default();
    let district = f.district.as_deref().unwrap_or_default();
    let (open_24h, with_devices) = (i64::from(f.open_24h), i64::from(f.with_devices));
    let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM offices WHERE {cond}"));
    let total = scalar(conn, sql, (city, district, open_24h, with_devices)).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM offices WHERE {cond} ORDER BY city, district, code LIMIT $5 OFFSET $6"
    );
    let (limit, offset) = (f.limit.clamp(1, 1000), f.offset.max(0));
    let args = (city, district, open_24h, with_devices, limit, offset).into_args()?;
    let rows = sqlx::query_with(AssertSqlSafe(sql), args)
        .fetch_all(&mut *conn)
        .await?;
    let offices = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok((offices, total))
}

/// One district of the directory with its counts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DistrictSummary {
    pub city: String,
    pub district: String,
    pub offices: i64,
    pub open_24h: i64,
}

pub async fn districts(conn: &mut AnyConnection) -> Result<Vec<DistrictSummary>> {
    let sql = "SELECT city, district, COUNT(*) AS offices, \
               COUNT(CASE WHEN open_24h = 1 THEN 1 END) AS open_24h FROM offices \
               GROUP BY city, district ORDER BY city, district";
    all(conn, sql, ()).await
}

/// All office codes, for validating references in imports.
pub async fn all_codes(conn: &mut AnyConnection) -> Result<Vec<String>> {
    scalars(conn, "SELECT code FROM offices", ()).await
}
